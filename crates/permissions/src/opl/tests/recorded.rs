//! Cases recorded from Keto's own parser (ory/keto e026d83, `schema.Parse`,
//! errors via `ToAPI`): hand-written models, the reference example,
//! truncated and mutated variants of them, and generated models. Each line of
//! `keto_recorded.jsonl` is `{"name", "source", "keto": {"errors",
//! "namespaces"}}`; every case must come out the same here, errors (message
//! and positions) and namespaces (also those Keto keeps before an error).

use super::keto_json::outcome;
use serde_json::Value;

const RECORDED: &str = include_str!("keto_recorded.jsonl");

#[test]
fn recorded_keto_outcomes_are_reproduced() {
    let mut count = 0;
    let mut failures = Vec::new();
    for line in RECORDED.lines().filter(|l| !l.trim().is_empty()) {
        let case: Value = serde_json::from_str(line).unwrap();
        let source = case["source"].as_str().unwrap();
        let got = outcome(source);
        if got != case["keto"] {
            failures.push(format!(
                "{}:\n  keto: {}\n  ours: {}",
                case["name"], case["keto"], got
            ));
        }
        count += 1;
    }
    assert!(count > 400, "only {count} cases");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
