//! Which top-level fields of its data a template can read, so a caller whose data is
//! costly to build (the proxy's session: every request header, the match context) builds
//! only those.

use std::collections::BTreeSet;

use crate::ast::{Arg, Node, Pipeline, Tree};

/// The top-level fields `tree` reads, or `None` when it may read the data whole (a bare
/// `.` or `$` where dot is the data, such as `{{ . }}`, `{{ json $ }}`,
/// `{{ template "t" . }}`).
pub(crate) fn of(tree: &Tree) -> Option<BTreeSet<String>> {
    let mut roots = BTreeSet::new();
    nodes(&tree.root, true, &mut roots)?;
    Some(roots)
}

/// `dot_is_data`: whether `.` is the template's data here (not inside `with` or `range`,
/// where it is a value already reached through a field).
fn nodes(list: &[Node], dot_is_data: bool, roots: &mut BTreeSet<String>) -> Option<()> {
    for node in list {
        match node {
            Node::Text(_) | Node::Break | Node::Continue => {}
            Node::Action(p) => pipeline(p, dot_is_data, roots)?,
            Node::If(b) => {
                pipeline(&b.pipe, dot_is_data, roots)?;
                nodes(&b.list, dot_is_data, roots)?;
                nodes(b.else_list.as_deref().unwrap_or(&[]), dot_is_data, roots)?;
            }
            Node::With(b) | Node::Range(b) => {
                pipeline(&b.pipe, dot_is_data, roots)?;
                nodes(&b.list, false, roots)?;
                nodes(b.else_list.as_deref().unwrap_or(&[]), dot_is_data, roots)?;
            }
            // A defined template sees only what it is passed; a bare `.` passes it all.
            Node::Template { pipe, .. } => {
                if let Some(p) = pipe {
                    pipeline(p, dot_is_data, roots)?;
                }
            }
        }
    }
    Some(())
}

fn pipeline(p: &Pipeline, dot_is_data: bool, roots: &mut BTreeSet<String>) -> Option<()> {
    for cmd in &p.cmds {
        for a in &cmd.args {
            arg(a, dot_is_data, roots)?;
        }
    }
    Some(())
}

fn arg(a: &Arg, dot_is_data: bool, roots: &mut BTreeSet<String>) -> Option<()> {
    match a {
        Arg::Dot if dot_is_data => return None,
        Arg::Field(path) if dot_is_data => {
            roots.insert(path.first()?.clone());
        }
        Arg::Var(name, path) if name == "$" => {
            roots.insert(path.first()?.clone());
        }
        Arg::Chain(inner, _) => arg(inner, dot_is_data, roots)?,
        Arg::Pipe(p) => pipeline(p, dot_is_data, roots)?,
        _ => {}
    }
    Some(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use crate::Template;

    fn reads(source: &str) -> Option<Vec<String>> {
        let t = Template::parse_oathkeeper("t", source).unwrap();
        t.reads().map(|r| r.iter().cloned().collect())
    }

    #[test]
    fn fields_read_from_the_data_are_found_wherever_they_appear() {
        let cases: [(&str, &[&str]); 7] = [
            ("{{ print .Subject }}", &["Subject"]),
            ("static text", &[]),
            ("{{ .Extra.identity.traits.email }}", &["Extra"]),
            (r#"{{ .MatchContext.Header.Get "x-a" }}"#, &["MatchContext"]),
            // Inside with/range dot is the value reached, `$` is still the data.
            (
                "{{ with .Extra }}{{ .name }}{{ $.Subject }}{{ else }}{{ .Header }}{{ end }}",
                &["Extra", "Header", "Subject"],
            ),
            (
                "{{ range $k, $v := .Header }}{{ $k }}{{ .Foo }}{{ end }}",
                &["Header"],
            ),
            (
                r#"{{ define "x" }}{{ $ }}{{ end }}{{ if eq (printf "%s" .Subject) "a" }}{{ template "x" .Extra }}{{ end }}"#,
                &["Extra", "Subject"],
            ),
        ];
        for (source, want) in cases {
            let want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
            assert_eq!(reads(source), Some(want), "{source}");
        }
    }

    #[test]
    fn the_whole_data_is_read_through_a_bare_dot_or_dollar() {
        for source in [
            "{{ . }}",
            "{{ print $ }}",
            "{{ $x := . }}{{ $x.Subject }}",
            r#"{{ define "s" }}{{ .Subject }}{{ end }}{{ template "s" . }}"#,
            "{{ if .Subject }}{{ . }}{{ end }}",
        ] {
            assert_eq!(reads(source), None, "{source}");
        }
    }
}
