//! Names derived from flows and runs: SSM parameter names, Step Functions
//! execution names, StartFlow client tokens. Pure functions; Terraform
//! computes the SSM names with the same encoding (a test runs both).

use std::fmt::Write as _;

use crate::backoff::seed_for;

/// The SSM prefix when `APPFLOW_RETRY_POLICY_PREFIX` is not set.
pub const DEFAULT_POLICY_PREFIX: &str = "/appflow-retry";

/// Encodes a flow name into one SSM parameter name segment.
///
/// SSM names allow `[A-Za-z0-9_.-/]`; AppFlow flow names allow
/// `[A-Za-z0-9_!@#.-]`. `_` is the escape character: `_` becomes `__`, and
/// every other byte outside `[A-Za-z0-9.-]` becomes `_` and two uppercase hex
/// digits (`!` → `_21`, `@` → `_40`, `#` → `_23`). Decoding is unambiguous
/// (after `_` comes either `_` or two hex digits), so the encoding is
/// injective: two flows never share a parameter.
pub fn encode_flow_name(flow: &str) -> String {
    let mut out = String::with_capacity(flow.len());
    for b in flow.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' => out.push(char::from(b)),
            b'_' => out.push_str("__"),
            other => {
                let _ = write!(out, "_{other:02X}");
            }
        }
    }
    out
}

/// The inverse of [`encode_flow_name`]; None for text it never produces.
pub fn decode_flow_name(encoded: &str) -> Option<String> {
    let bytes = encoded.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'_' if bytes.get(i + 1) == Some(&b'_') => {
                out.push(b'_');
                i += 2;
            }
            b'_' => {
                let hex = encoded.get(i + 1..i + 3)?;
                if !hex.bytes().all(|c| c.is_ascii_digit() || (b'A'..=b'F').contains(&c)) {
                    return None;
                }
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

fn trim_prefix(prefix: &str) -> &str {
    prefix.trim_end_matches('/')
}

/// `<prefix>/default`.
pub fn default_parameter(prefix: &str) -> String {
    format!("{}/default", trim_prefix(prefix))
}

/// `<prefix>/flows/<encoded flow>`.
pub fn flow_parameter(prefix: &str, flow: &str) -> String {
    format!("{}/flows/{}", trim_prefix(prefix), encode_flow_name(flow))
}

/// The longest Step Functions execution name.
pub const MAX_EXECUTION_NAME: usize = 80;

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// The state machine execution name for one failed run: at most 80
/// characters of `[A-Za-z0-9-_]`, the same for every delivery of the event.
///
/// `<flow, cut to 26>-<16 hex of the flow's hash>-<execution id>`; the
/// execution id is replaced by 16 hex of its hash when it is longer than 36
/// characters (an AppFlow execution id is a 36-character UUID) or holds
/// other characters. The hashes keep names distinct where the readable parts
/// are cut or replaced.
pub fn execution_name(flow: &str, execution_id: &str) -> String {
    let run = if execution_id.len() <= 36 && !execution_id.is_empty() && execution_id.chars().all(is_name_char) {
        execution_id.to_owned()
    } else {
        format!("{:016x}", seed_for(execution_id))
    };
    format!("{}{run}", execution_name_prefix(flow))
}

/// What every [`execution_name`] of `flow` begins with:
/// `<flow, cut to 26>-<16 hex of the flow's hash>-`. The sweep finds a flow's
/// running executions by it (docs/design.md §5.9).
pub fn execution_name_prefix(flow: &str) -> String {
    let readable: String = flow
        .chars()
        .map(|c| if is_name_char(c) { c } else { '-' })
        .take(26)
        .collect();
    format!("{readable}-{:016x}-", seed_for(flow))
}

/// The StartFlow client token for restarting one failed run: the same for
/// every attempt to restart it, so AppFlow starts it at most once (AWS keeps
/// a token 8 hours). Printable ASCII, at most 256 characters.
/// An id with other characters (or none, or too long) gets its hash
/// instead, so two ids never share a token by losing characters.
pub fn client_token(failed_execution_id: &str) -> String {
    let printable = failed_execution_id.chars().all(|c| (' '..='~').contains(&c));
    let token = format!("appflow-retry-{failed_execution_id}");
    if printable && !failed_execution_id.is_empty() && token.len() <= 256 {
        token
    } else {
        format!("appflow-retry-{:016x}", seed_for(failed_execution_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Flow names chosen to break naive encodings; Terraform's test runs the same list.
    pub const TRICKY: &[&str] = &[
        "salesforce-accounts",
        "a!b",
        "a_21b",
        "a__b",
        "a_b",
        "a#b@c!d",
        "__",
        "_21",
        "x.y-z",
        "#!@",
    ];

    #[test]
    fn encodes_as_documented() {
        assert_eq!(encode_flow_name("salesforce-accounts"), "salesforce-accounts");
        assert_eq!(encode_flow_name("a!b"), "a_21b");
        assert_eq!(encode_flow_name("a_21b"), "a__21b");
        assert_eq!(encode_flow_name("a#b@c!d"), "a_23b_40c_21d");
        assert_eq!(flow_parameter("/appflow-retry/", "a_b"), "/appflow-retry/flows/a__b");
        assert_eq!(default_parameter("/appflow-retry"), "/appflow-retry/default");
    }

    #[test]
    fn tricky_names_stay_distinct_and_round_trip() {
        let encoded: std::collections::BTreeSet<_> = TRICKY.iter().map(|f| encode_flow_name(f)).collect();
        assert_eq!(encoded.len(), TRICKY.len());
        for f in TRICKY {
            assert_eq!(decode_flow_name(&encode_flow_name(f)).as_deref(), Some(*f));
        }
        assert_eq!(decode_flow_name("a_2"), None);
        assert_eq!(decode_flow_name("a_zz"), None);
    }

    #[test]
    fn execution_names_fit_and_are_stable() {
        let long = "x".repeat(256);
        for (flow, id) in [
            ("salesforce-accounts", "9aa00099-9943-449a-9c7a-488dbc801242"),
            (long.as_str(), "9aa00099-9943-449a-9c7a-488dbc801242"),
            ("a#b@c!d", "weird id with spaces and more than thirty-six characters"),
            ("f", ""),
        ] {
            let name = execution_name(flow, id);
            assert!(name.len() <= MAX_EXECUTION_NAME, "{name}");
            assert!(name.chars().all(is_name_char), "{name}");
            assert_eq!(name, execution_name(flow, id));
        }
        assert_eq!(
            execution_name("salesforce-accounts", "9aa00099-9943-449a-9c7a-488dbc801242"),
            format!(
                "salesforce-accounts-{:016x}-9aa00099-9943-449a-9c7a-488dbc801242",
                seed_for("salesforce-accounts")
            )
        );
        // Flows equal in their first 26 characters differ by the hash.
        let a = format!("{}a", "x".repeat(30));
        let b = format!("{}b", "x".repeat(30));
        assert_ne!(execution_name(&a, "id"), execution_name(&b, "id"));
        assert_ne!(execution_name("a!b", "id"), execution_name("a@b", "id"));
    }

    #[test]
    fn client_tokens_are_stable_and_printable() {
        assert_eq!(client_token("9aa0"), "appflow-retry-9aa0");
        let long = client_token(&"x".repeat(300));
        assert!(long.len() <= 256 && long == client_token(&"x".repeat(300)));
        assert_ne!(client_token("a"), client_token("b"));
        // Ids that differ only in characters a token cannot hold never share one.
        assert_ne!(client_token("a\u{7}b"), client_token("ab"));
        assert_ne!(client_token("é"), client_token("e"));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3000, rng_seed: proptest::test_runner::RngSeed::Fixed(11), ..ProptestConfig::default() })]

        #[test]
        fn encoding_is_injective_and_ssm_safe(a in "[a-zA-Z0-9_!@#.-]{1,40}", b in "[a-zA-Z0-9_!@#.-]{1,40}") {
            let (ea, eb) = (encode_flow_name(&a), encode_flow_name(&b));
            prop_assert!(ea.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)));
            prop_assert_eq!(decode_flow_name(&ea), Some(a.clone()));
            prop_assert_eq!(a == b, ea == eb);
        }

        #[test]
        fn any_string_round_trips(s in ".{0,40}") {
            prop_assert_eq!(decode_flow_name(&encode_flow_name(&s)), Some(s));
        }
    }
}
