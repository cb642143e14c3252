//! Password policy as Kratos applies it at registration and password change: a minimum
//! length, a maximum that bcrypt can hash, and no password too similar to an identifier.
//! No network calls (no breach-list lookups).

use crate::flow::ui::UiText;
use serde_json::json;

/// A password closer than this (edit distance) to an identifier is refused.
const MIN_DISTANCE: usize = 5;
/// ... as is one sharing a run longer than this share of its length with an identifier.
const MAX_SHARED_RUN: f64 = 0.5;

/// Checks `password`; the message goes on the `password` node.
pub fn check_password(
    password: &str,
    identifiers: &[String],
    min_length: usize,
    similarity_check: bool,
    max_bytes: Option<usize>,
) -> Result<(), UiText> {
    let chars = password.chars().count();
    if chars < min_length {
        return Err(UiText::error(
            4000032,
            format!("The password must be at least {min_length} characters long, but got {chars}."),
        )
        .with_context(json!({"min_length": min_length, "actual_length": chars})));
    }
    if let Some(max) = max_bytes.filter(|m| password.len() > *m) {
        return Err(UiText::error(
            4000033,
            format!(
                "The password must be at most {max} characters long, but got {}.",
                password.len()
            ),
        )
        .with_context(json!({"max_length": max, "actual_length": password.len()})));
    }
    if similarity_check && identifiers.iter().any(|id| too_similar(id, password)) {
        return Err(UiText::error(
            4000031,
            "The password can not be used because it is too similar to the identifier.",
        ));
    }
    Ok(())
}

fn too_similar(identifier: &str, password: &str) -> bool {
    let id: Vec<char> = identifier.to_lowercase().chars().collect();
    let pw: Vec<char> = password.to_lowercase().chars().collect();
    if id.is_empty() || pw.is_empty() {
        return false;
    }
    levenshtein(&id, &pw) < MIN_DISTANCE
        || longest_common_run(&id, &pw) as f64 / pw.len() as f64 > MAX_SHARED_RUN
}

fn levenshtein(a: &[char], b: &[char]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

fn longest_common_run(a: &[char], b: &[char]) -> usize {
    let mut best = 0;
    let mut prev = vec![0usize; b.len() + 1];
    for ca in a {
        let mut cur = vec![0usize; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            if ca == cb {
                cur[j + 1] = prev[j] + 1;
                best = best.max(cur[j + 1]);
            }
        }
        prev = cur;
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> Vec<String> {
        vec!["ana@example.org".into()]
    }

    #[test]
    fn policy() {
        assert_eq!(
            check_password("short", &ids(), 8, true, None)
                .unwrap_err()
                .id,
            4000032
        );
        assert_eq!(
            check_password(&"x".repeat(73), &ids(), 8, true, Some(72))
                .unwrap_err()
                .id,
            4000033
        );
        assert_eq!(
            check_password("ana@example.org1", &ids(), 8, true, None)
                .unwrap_err()
                .id,
            4000031
        );
        assert_eq!(
            check_password("ANA@EXAMPLE", &ids(), 8, true, None)
                .unwrap_err()
                .id,
            4000031
        );
        assert!(check_password("ana@example.org1", &ids(), 8, false, None).is_ok());
        assert!(check_password("correct horse battery", &ids(), 8, true, Some(72)).is_ok());
        assert!(check_password("ünïcödé pässwörd", &ids(), 8, true, None).is_ok());
    }
}
