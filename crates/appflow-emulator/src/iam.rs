//! IAM enforcement: the emulator refuses, as AppFlow does, any call its
//! caller's identity policies do not grant (off unless
//! [`crate::Emulator::enforce_iam`] is called).
//!
//! The caller is the access key id of the request's SigV4 `Authorization`
//! header; signatures are not verified (the emulator is not a security
//! boundary; moto checks them for the other services). Evaluation is IAM's
//! for the identity policies of one principal: a matching `Deny` wins, else
//! a matching `Allow` grants, else the call is refused. `*` and `?` are
//! wildcards; actions match case-insensitively, resources case-sensitively.
//! The emulator knows no condition keys, so it fails closed on them: an
//! `Allow` with a `Condition` grants nothing, a `Deny` with one applies.

use serde::Serialize;
use serde_json::Value;

use crate::{ACCOUNT, Operation, REGION, flow_arn};

/// A caller: the principal's ARN (e.g. an assumed role's session) and its
/// identity policy documents (JSON, as IAM returns them).
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    /// `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`, as AWS names the caller.
    pub arn: String,
    /// The principal's identity policies.
    pub policies: Vec<Value>,
}

/// One request decided while enforcement was on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Authorization {
    /// The request's access key id ("" when it had no Authorization header).
    pub access_key_id: String,
    /// The principal the key belongs to; None for an unknown key.
    pub principal: Option<String>,
    /// The IAM action, `appflow:StartFlow`.
    pub action: String,
    /// The resource ARN the action was authorized against.
    pub resource: String,
    /// Whether it was allowed.
    pub allowed: bool,
}

impl Operation {
    /// The IAM action AWS authorizes the operation as.
    pub fn iam_action(self) -> &'static str {
        match self {
            Operation::StartFlow => "appflow:StartFlow",
            Operation::DescribeFlow => "appflow:DescribeFlow",
            Operation::DescribeFlowExecutionRecords => "appflow:DescribeFlowExecutionRecords",
            Operation::ListFlows => "appflow:ListFlows",
        }
    }

    /// The resource AWS authorizes the operation on: the flow's ARN. ListFlows
    /// lists every flow, so it is authorized against all of them (`flow/*`):
    /// the project's belief (the Service Authorization Reference gives
    /// ListFlows the flow resource type without saying which ARN is checked).
    pub fn iam_resource(self, flow: &str) -> String {
        match self {
            Operation::ListFlows => format!("arn:aws:appflow:{REGION}:{ACCOUNT}:flow/*"),
            _ => flow_arn(flow),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    Allow,
    Deny,
}

/// `Action` (the listed patterns) or `NotAction` (everything else); the same
/// for resources.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Patterns {
    Only(Vec<String>),
    AllBut(Vec<String>),
}

impl Patterns {
    fn matches(&self, value: &str, case_insensitive: bool) -> bool {
        let any = |list: &[String]| list.iter().any(|p| wildcard(p, value, case_insensitive));
        match self {
            Patterns::Only(list) => any(list),
            Patterns::AllBut(list) => !any(list),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Statement {
    effect: Effect,
    actions: Patterns,
    resources: Patterns,
    conditional: bool,
}

/// A parsed identity policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Policy {
    statements: Vec<Statement>,
}

/// What the policies say about one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Allowed,
    /// No statement allows it.
    ImplicitDeny,
    /// A Deny statement matches.
    ExplicitDeny,
}

fn strings(statement: usize, field: &str, value: &Value) -> Result<Vec<String>, String> {
    let bad = || format!("Statement[{statement}].{field}: a string or a list of strings");
    match value {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned).ok_or_else(bad))
            .collect(),
        _ => Err(bad()),
    }
}

fn patterns(
    statement: usize,
    object: &serde_json::Map<String, Value>,
    only: &str,
    not: &str,
) -> Result<Patterns, String> {
    match (object.get(only), object.get(not)) {
        (Some(v), None) => Ok(Patterns::Only(strings(statement, only, v)?)),
        (None, Some(v)) => Ok(Patterns::AllBut(strings(statement, not, v)?)),
        (Some(_), Some(_)) => Err(format!("Statement[{statement}]: both {only} and {not}")),
        (None, None) => Err(format!("Statement[{statement}]: neither {only} nor {not}")),
    }
}

impl Policy {
    /// Parses an identity policy document; an element the evaluator does
    /// not know is an error (a test must not pass on a policy it misread).
    pub(crate) fn parse(document: &Value) -> Result<Policy, String> {
        let statements = match document.get("Statement") {
            Some(Value::Array(items)) => items.clone(),
            Some(one @ Value::Object(_)) => vec![one.clone()],
            _ => return Err("Statement: an object or a list of objects".to_owned()),
        };
        let statements = statements
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let object = s.as_object().ok_or_else(|| format!("Statement[{i}]: not an object"))?;
                for key in object.keys() {
                    if !matches!(
                        key.as_str(),
                        "Sid" | "Effect" | "Action" | "NotAction" | "Resource" | "NotResource" | "Condition"
                    ) {
                        return Err(format!("Statement[{i}].{key}: not an element of an identity policy"));
                    }
                }
                let effect = match object.get("Effect").and_then(Value::as_str) {
                    Some("Allow") => Effect::Allow,
                    Some("Deny") => Effect::Deny,
                    _ => return Err(format!("Statement[{i}].Effect: Allow or Deny")),
                };
                Ok(Statement {
                    effect,
                    actions: patterns(i, object, "Action", "NotAction")?,
                    resources: patterns(i, object, "Resource", "NotResource")?,
                    conditional: object.contains_key("Condition"),
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Policy { statements })
    }
}

/// IAM's evaluation of one principal's identity policies.
pub(crate) fn evaluate(policies: &[Policy], action: &str, resource: &str) -> Verdict {
    let mut allowed = false;
    for s in policies.iter().flat_map(|p| &p.statements) {
        if !(s.actions.matches(action, true) && s.resources.matches(resource, false)) {
            continue;
        }
        match s.effect {
            // A condition the emulator cannot evaluate: the Deny applies.
            Effect::Deny => return Verdict::ExplicitDeny,
            // ... and the Allow does not.
            Effect::Allow if s.conditional => {}
            Effect::Allow => allowed = true,
        }
    }
    if allowed {
        Verdict::Allowed
    } else {
        Verdict::ImplicitDeny
    }
}

/// IAM's wildcard match: `*` any run of characters, `?` one character.
fn wildcard(pattern: &str, text: &str, case_insensitive: bool) -> bool {
    let fold = |s: &str| -> Vec<char> {
        if case_insensitive {
            s.to_lowercase().chars().collect()
        } else {
            s.chars().collect()
        }
    };
    let (p, t) = (fold(pattern), fold(text));
    // Iterative match with backtracking to the last `*`.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// The access key id of a SigV4 `Authorization` header
/// (`AWS4-HMAC-SHA256 Credential=AKID/date/region/service/aws4_request, ...`).
pub(crate) fn access_key_id(authorization: &str) -> Option<&str> {
    let credential = authorization.split("Credential=").nth(1)?;
    let key = credential.split('/').next()?;
    (!key.is_empty()).then_some(key)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn policy(statements: Value) -> Vec<Policy> {
        vec![Policy::parse(&json!({"Version": "2012-10-17", "Statement": statements})).unwrap()]
    }

    const SF: &str = "arn:aws:appflow:us-east-1:123456789012:flow/salesforce-accounts";

    #[test]
    fn wildcards_match_as_iam_does() {
        assert!(wildcard("arn:*:flow/sales*", SF, false));
        assert!(wildcard("*", "", false));
        assert!(wildcard("a?c", "abc", false));
        assert!(!wildcard("a?c", "ac", false));
        assert!(!wildcard("arn:*:flow/sap*", SF, false));
        assert!(wildcard("*accounts", SF, false));
        assert!(!wildcard("*Accounts", SF, false), "resources are case-sensitive");
        assert!(wildcard("APPFLOW:start*", "appflow:StartFlow", true), "actions are not");
        assert!(wildcard("a*b*c", "aXbYbZc", false));
        assert!(!wildcard("a*b*c", "aXbYbZ", false));
    }

    #[test]
    fn an_allow_grants_only_its_actions_on_its_resources() {
        let p = policy(json!([{
            "Effect": "Allow",
            "Action": ["appflow:DescribeFlow", "appflow:StartFlow"],
            "Resource": "arn:aws:appflow:us-east-1:123456789012:flow/salesforce-*"
        }]));
        assert_eq!(evaluate(&p, "appflow:StartFlow", SF), Verdict::Allowed);
        assert_eq!(evaluate(&p, "appflow:startflow", SF), Verdict::Allowed);
        assert_eq!(
            evaluate(&p, "appflow:StartFlow", &flow_arn("zendesk-tickets")),
            Verdict::ImplicitDeny
        );
        assert_eq!(
            evaluate(&p, "appflow:DescribeFlowExecutionRecords", SF),
            Verdict::ImplicitDeny
        );
        assert_eq!(
            evaluate(&p, "appflow:ListFlows", &Operation::ListFlows.iam_resource("")),
            Verdict::ImplicitDeny,
            "a grant on some flows does not list the account's flows"
        );
    }

    #[test]
    fn a_deny_wins_and_not_elements_invert() {
        let p = policy(json!([
            {"Effect": "Allow", "Action": "appflow:*", "Resource": "*"},
            {"Effect": "Deny", "NotAction": "appflow:Describe*", "Resource": SF}
        ]));
        assert_eq!(evaluate(&p, "appflow:DescribeFlow", SF), Verdict::Allowed);
        assert_eq!(evaluate(&p, "appflow:StartFlow", SF), Verdict::ExplicitDeny);
        assert_eq!(evaluate(&p, "appflow:StartFlow", &flow_arn("other")), Verdict::Allowed);
        let q = policy(json!({"Effect": "Allow", "Action": "appflow:StartFlow", "NotResource": SF}));
        assert_eq!(evaluate(&q, "appflow:StartFlow", SF), Verdict::ImplicitDeny);
        assert_eq!(evaluate(&q, "appflow:StartFlow", &flow_arn("other")), Verdict::Allowed);
    }

    #[test]
    fn conditions_fail_closed() {
        let condition = json!({"StringEquals": {"aws:SourceAccount": "123456789012"}});
        let allow = policy(json!([{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": condition}]));
        assert_eq!(evaluate(&allow, "appflow:StartFlow", SF), Verdict::ImplicitDeny);
        let deny = policy(json!([
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": condition}
        ]));
        assert_eq!(evaluate(&deny, "appflow:StartFlow", SF), Verdict::ExplicitDeny);
    }

    #[test]
    fn a_policy_it_cannot_read_is_an_error_naming_the_element() {
        let cases = [
            (json!({"Statement": "x"}), "Statement"),
            (
                json!({"Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}]}),
                "Statement[0].Effect",
            ),
            (
                json!({"Statement": [{"Effect": "Allow", "Resource": "*"}]}),
                "neither Action nor NotAction",
            ),
            (
                json!({"Statement": [{"Effect": "Allow", "Action": "*", "NotAction": "x", "Resource": "*"}]}),
                "both Action and NotAction",
            ),
            (
                json!({"Statement": [{"Effect": "Allow", "Action": [1], "Resource": "*"}]}),
                "Statement[0].Action",
            ),
            (
                json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Principal": "*"}]}),
                "Statement[0].Principal",
            ),
        ];
        for (document, expected) in cases {
            let error = Policy::parse(&document).unwrap_err();
            assert!(error.contains(expected), "{document}: {error}");
        }
    }

    #[test]
    fn the_access_key_comes_from_the_credential_scope() {
        assert_eq!(
            access_key_id(
                "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20261204/us-east-1/appflow/aws4_request, SignedHeaders=host, Signature=abc"
            ),
            Some("ASIAEXAMPLE")
        );
        assert_eq!(access_key_id("Bearer x"), None);
        assert_eq!(access_key_id("AWS4-HMAC-SHA256 Credential=/x"), None);
    }
}
