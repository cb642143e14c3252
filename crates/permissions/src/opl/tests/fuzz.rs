//! Robustness: truncations and random edits of valid models never panic,
//! and every error points inside the source.

use super::example::EXAMPLE;
use crate::opl::parse_partial;

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn check_sane(source: &str) {
    let (_, errors) = parse_partial(source);
    for e in errors {
        assert!(e.offset.end <= source.len(), "{e:?} in {source:?}");
        assert!(e.offset.start <= e.offset.end, "{e:?} in {source:?}");
        assert!(e.line >= 1 && e.column >= 1, "{e:?}");
        assert!(!e.message.is_empty());
        let _ = e.render(source);
    }
}

#[test]
fn every_truncation_of_the_example_is_handled() {
    let mut ends: Vec<usize> = EXAMPLE.char_indices().map(|(i, _)| i).collect();
    ends.push(EXAMPLE.len());
    for end in ends {
        check_sane(&EXAMPLE[..end]);
        check_sane(&EXAMPLE[end..]);
    }
}

#[test]
fn random_edits_never_panic() {
    const PIECES: &[&str] = &[
        "(",
        ")",
        "{",
        "}",
        "[",
        "]",
        "<",
        ">",
        ",",
        ";",
        ":",
        ".",
        "!",
        "||",
        "&&",
        "=>",
        "|",
        "=",
        "this",
        "ctx",
        "class",
        "related",
        "permits",
        "traverse",
        "includes",
        "subject",
        "SubjectSet",
        "Array",
        "\"x\"",
        "'y'",
        "/*",
        "//",
        "\"",
        "\n",
        " ",
        "ü",
        "€",
        "𝄞",
        "#",
        "1",
        "Namespace",
        "implements",
        "\u{0}",
        "\u{feff}",
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let chars: Vec<char> = EXAMPLE.chars().collect();
    for _ in 0..3000 {
        let mut text = chars.clone();
        for _ in 0..=rng.below(4) {
            let at = rng.below(text.len() + 1);
            match rng.below(3) {
                0 if at < text.len() => {
                    let len = rng.below(20).min(text.len() - at);
                    text.drain(at..at + len);
                }
                1 => {
                    let piece = PIECES[rng.below(PIECES.len())];
                    for (k, c) in piece.chars().enumerate() {
                        text.insert(at + k, c);
                    }
                }
                _ => {
                    if at < text.len() {
                        let from = rng.below(text.len());
                        let c = text[from];
                        text[at] = c;
                    }
                }
            }
        }
        check_sane(&text.iter().collect::<String>());
    }
}

#[test]
fn deep_and_long_inputs_are_fine() {
    // Far past the nesting limit, and a very long flat expression.
    let deep = format!(
        "class A implements Namespace {{ permits = {{ p: (ctx) => {}",
        "(".repeat(100_000)
    );
    check_sane(&deep);
    let bangs = format!(
        "class A implements Namespace {{ permits = {{ p: (ctx) => {}",
        "!(".repeat(100_000)
    );
    check_sane(&bangs);
    let long = format!(
        "class A implements Namespace {{ related: {{ r: A[] }} permits = {{ p: (ctx) => {} }} }}",
        vec!["this.related.r.includes(ctx.subject)"; 20_000].join(" || ")
    );
    let (ns, errors) = parse_partial(&long);
    assert!(errors.is_empty());
    let rewrite = ns[0].relation("p").and_then(|r| r.rewrite.clone());
    assert_eq!(
        rewrite.and_then(|r| r.children().map(<[_]>::len)),
        Some(20_000)
    );
}
