//! What the client commands print, as Keto's CLI prints it: its tables (a tuple list, one
//! tuple as a column of fields, a page with its token), Allowed/Denied, the drawn expand
//! tree, and `--format json|json-pretty` for all of them.

use serde_json::{Value, json};

/// Keto's `--format`: `default` (or `table`) is its table, `json` one line (for piping
/// into `create -`), `json-pretty` indented.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Default,
    Table,
    Json,
    JsonPretty,
}

impl Format {
    /// `value` as JSON in this format, or `None` for a table.
    pub(super) fn json(self, value: &Value) -> anyhow::Result<Option<String>> {
        Ok(match self {
            Format::Json => Some(serde_json::to_string(value)?),
            Format::JsonPretty => Some(serde_json::to_string_pretty(value)?),
            Format::Default | Format::Table => None,
        })
    }
}

/// A tuple's four columns in Keto's tables.
fn tuple_columns(t: &Value) -> [String; 4] {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let subject = match t.get("subject_id") {
        Some(id) => text(id),
        None => {
            let set = &t["subject_set"];
            let (ns, obj, rel) = (
                text(&set["namespace"]),
                text(&set["object"]),
                text(&set["relation"]),
            );
            if rel.is_empty() {
                format!("{ns}:{obj}")
            } else {
                format!("{ns}:{obj}#{rel}")
            }
        }
    };
    [
        text(&t["namespace"]),
        text(&t["object"]),
        text(&t["relation"]),
        subject,
    ]
}

/// An expand tree drawn as Keto's CLI draws it: a node's operation and tuple, then its
/// children on box-drawing branches; a leaf is `∋ tuple`.
pub(super) fn tree_text(node: &Value) -> String {
    let [ns, obj, rel, subject] = tuple_columns(&node["tuple"]);
    let label = format!("{ns}:{obj}#{rel}@{subject}");
    let kind = node["type"].as_str().unwrap_or_default();
    if kind == "leaf" {
        return format!("∋ {label}\u{fe0f}");
    }
    let children: Vec<Value> = node["children"].as_array().cloned().unwrap_or_default();
    let drawn: Vec<String> = children
        .iter()
        .enumerate()
        .map(|(i, child)| {
            let indent = if i + 1 == children.len() {
                "   "
            } else {
                "│  "
            };
            tree_text(child).replace('\n', &format!("\n{indent}"))
        })
        .collect();
    let operation = match kind {
        "intersection" => "and",
        "union" => "or",
        "exclusion" => "\\",
        "not" => "not",
        "tuple_to_subject_set" => "┐ tuple to userset",
        "computed_subject_set" => "┐ computed userset",
        _ => "",
    };
    let branch = if drawn.len() == 1 { "└" } else { "├" };
    format!("{operation} {label}\n{branch}──{}", drawn.join("\n└──"))
}

/// Tuples as Keto prints a list of them: a header, a row each, cells tab-separated.
fn tuple_table(tuples: &[Value]) -> String {
    let mut out = String::from("NAMESPACE\tOBJECT\tRELATION NAME\tSUBJECT\t\n");
    for t in tuples {
        out.push_str(&tuple_columns(t).join("\t"));
        out.push_str("\t\n");
    }
    out
}

/// A page of `relation-tuple get` (also the `delete-all` preview) in `format`.
pub(super) fn print_page(page: &Value, format: Format) -> anyhow::Result<()> {
    let tuples = page["relation_tuples"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let token = page["next_page_token"].as_str().unwrap_or_default();
    let shaped = json!({
        "relation_tuples": tuples,
        "is_last_page": token.is_empty(),
        "next_page_token": token,
    });
    match format.json(&shaped)? {
        Some(text) => println!("{text}"),
        None => print!(
            "{}\t\nNEXT PAGE TOKEN\t{token}\t\nIS LAST PAGE\t{}\t\n",
            tuple_table(&tuples),
            token.is_empty()
        ),
    }
    Ok(())
}

/// Parsed tuples as Keto prints them: one tuple as a row (an object in JSON, a column of
/// `FIELD value` lines in the table), several as a list.
pub(super) fn print_parsed(tuples: &[Value], format: Format) -> anyhow::Result<()> {
    if let [one] = tuples {
        match format.json(one)? {
            Some(text) => println!("{text}"),
            None => {
                let fields = ["NAMESPACE", "OBJECT ID", "RELATION NAME", "SUBJECT"];
                for (field, value) in fields.iter().zip(tuple_columns(one)) {
                    println!("{field}\t{value}\t");
                }
            }
        }
        return Ok(());
    }
    print_tuples(tuples, format)
}

/// A list of tuples: Keto's table, or a JSON array.
pub(super) fn print_tuples(tuples: &[Value], format: Format) -> anyhow::Result<()> {
    match format.json(&Value::Array(tuples.to_vec()))? {
        Some(text) => println!("{text}"),
        None => print!("{}", tuple_table(tuples)),
    }
    Ok(())
}
