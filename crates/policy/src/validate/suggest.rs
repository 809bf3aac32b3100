//! "Did you mean" hints: the closest known name, and the fields the schema
//! allows where an unknown key was written.

use crate::field_path::{PathSeg, display_path};

/// The closest candidate within a third of the word's length (at least 2
/// edits), for "did you mean" hints.
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (levenshtein(word, c), c))
        .filter(|(d, _)| *d <= (word.chars().count() / 3).max(2))
        .min()
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

pub(super) fn unknown_key_message(parent: &[PathSeg], key: &str) -> String {
    let fields = schema_fields(parent);
    let hint = suggest(key, fields.iter().map(String::as_str))
        .map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_default();
    let at = if parent.is_empty() {
        String::new()
    } else {
        format!(" in {}", display_path(parent))
    };
    format!("unknown field `{key}`{at}{hint}")
}

/// The fields the policy schema allows in the mapping at `parent` (empty
/// when it is not a mapping of named fields): what an unknown key is
/// compared with, read from the schema so that it names every field the
/// types have.
fn schema_fields(parent: &[PathSeg]) -> Vec<String> {
    static SCHEMA: std::sync::LazyLock<serde_json::Value> = std::sync::LazyLock::new(crate::schema::policy_schema);
    let root = &*SCHEMA;
    let resolve = |mut node: &'static serde_json::Value| {
        while let Some(target) = node.get("$ref").and_then(serde_json::Value::as_str) {
            match target.strip_prefix('#').and_then(|p| root.pointer(p)) {
                Some(next) => node = next,
                None => break,
            }
        }
        node
    };
    let mut node = resolve(root);
    for seg in parent {
        let next = match seg {
            PathSeg::Key(k) => node.get("properties").and_then(|p| p.get(k)).or_else(|| {
                // A map keyed by pattern (`overrides`): its one value schema.
                node.get("patternProperties")
                    .and_then(serde_json::Value::as_object)
                    .and_then(|m| m.values().next())
            }),
            PathSeg::Index(_) => node.get("items"),
        };
        let Some(next) = next else { return Vec::new() };
        node = resolve(next);
    }
    node.get("properties")
        .and_then(serde_json::Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_are_close_matches_only() {
        assert_eq!(
            suggest("max_retry", ["max_retries", "retry_window"]),
            Some("max_retries")
        );
        assert_eq!(suggest("zzz", ["max_retries"]), None);
    }

    #[test]
    fn unknown_keys_are_matched_against_the_schemas_fields() {
        let key = |k: &str| PathSeg::Key(k.into());
        let top = schema_fields(&[]);
        for f in [
            "flow",
            "enabled",
            "max_retries",
            "retry_window",
            "backoff",
            "skip_errors",
            "error_classes",
        ] {
            assert!(top.iter().any(|t| t == f), "{f} in {top:?}");
        }
        assert!(
            top.iter().any(|t| t == "overrides")
                && top.iter().any(|t| t == "reactivate")
                && top.iter().any(|t| t == "notify")
        );
        let backoff = ["initial_delay", "jitter", "max_delay", "multiplier", "strategy"];
        assert_eq!(schema_fields(&[key("backoff")]), backoff);
        assert_eq!(schema_fields(&[key("overrides"), key("sf"), key("backoff")]), backoff);
        assert_eq!(schema_fields(&[key("reactivate"), key("backoff")]), backoff);
        assert_eq!(
            schema_fields(&[key("overrides"), key("sf")]),
            ["backoff", "max_retries", "retry_window"]
        );
        assert_eq!(
            schema_fields(&[key("error_classes"), PathSeg::Index(0)]),
            ["name", "patterns"]
        );
        assert!(schema_fields(&[key("notify")]).is_empty());
        assert_eq!(
            unknown_key_message(&[key("reactivate")], "max_reactivation"),
            "unknown field `max_reactivation` in reactivate; did you mean `max_reactivations`?"
        );
    }
}
