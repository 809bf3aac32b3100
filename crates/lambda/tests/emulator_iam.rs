//! The AppFlow emulator enforces IAM as AppFlow does (issue 17), seen through
//! the service's own adapter and `aws-sdk-appflow`: a role's grants are
//! honoured on exactly their actions and flows, everything else is refused
//! with AppFlow's 403 `AccessDeniedException`, which the adapter reports as a
//! failure (not retried, not taken for a missing flow), and every decision is
//! recorded. The Terraform e2e runs the binaries this way under the deployed
//! roles' policies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use appflow_emulator::{Authorization, Emulator, Flow, Operation, Principal, flow_arn};
use appflow_retry_aws::AwsAppFlow;
use appflow_retry_runtime::ports::{AppFlow, PortError};
use appflow_retry_testkit::service::fast_retry;
use serde_json::{Value, json};

const ROLE: &str = "arn:aws:sts::123456789012:assumed-role/retry-restart/session";
const KEY: &str = "ASIAEMULATORTESTKEY1";

/// The adapter, signing with `key` (and a session token, as a role's
/// credentials do).
async fn adapter(emulator: &Emulator, key: &str) -> AwsAppFlow {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_ssm::config::Credentials::new(
            key,
            "secret",
            Some("session-token".to_owned()),
            None,
            "test",
        ))
        .endpoint_url(emulator.endpoint())
        .load()
        .await;
    AwsAppFlow::new(&config, &fast_retry())
}

fn policy(statements: Value) -> Value {
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// The restart role's statement as iam.tf writes it for `salesforce-*`.
fn restart_role() -> Principal {
    Principal {
        arn: ROLE.to_owned(),
        policies: vec![policy(json!([{
            "Sid": "RestartFlows",
            "Effect": "Allow",
            "Action": ["appflow:DescribeFlow", "appflow:DescribeFlowExecutionRecords", "appflow:StartFlow"],
            "Resource": [flow_arn("salesforce-*")]
        }]))],
    }
}

async fn world(principal: Principal) -> (Emulator, AwsAppFlow) {
    let emulator = Emulator::start().await.unwrap();
    for flow in ["salesforce-accounts", "zendesk-tickets"] {
        emulator.add_flow(Flow::on_demand(flow));
    }
    emulator.enforce_iam([(KEY.to_owned(), principal)]).unwrap();
    let appflow = adapter(&emulator, KEY).await;
    (emulator, appflow)
}

fn denied(result: Result<impl std::fmt::Debug, PortError>, action: &str, resource: &str) {
    match result {
        Err(PortError::Failed(message)) => {
            assert!(message.contains("AccessDeniedException"), "{message}");
            assert!(
                message.contains(&format!("not authorized to perform: {action} on resource: {resource}")),
                "{message}"
            );
            assert!(message.contains(ROLE), "{message}");
        }
        other => panic!("{action} on {resource}: expected AccessDeniedException, got {other:?}"),
    }
}

#[tokio::test]
async fn a_role_may_do_what_it_is_granted_on_its_flows_and_nothing_else() {
    let (emulator, appflow) = world(restart_role()).await;
    assert!(appflow.describe_flow("salesforce-accounts").await.unwrap().is_some());
    appflow.execution_records("salesforce-accounts", None).await.unwrap();
    assert!(
        appflow
            .start_flow("salesforce-accounts", "token-1")
            .await
            .unwrap()
            .is_some()
    );

    let other = flow_arn("zendesk-tickets");
    denied(
        appflow.start_flow("zendesk-tickets", "token-2").await,
        "appflow:StartFlow",
        &other,
    );
    denied(
        appflow.describe_flow("zendesk-tickets").await,
        "appflow:DescribeFlow",
        &other,
    );
    // Not granted at all; authorized against every flow of the account.
    let all = "arn:aws:appflow:us-east-1:123456789012:flow/*";
    denied(appflow.list_flows(None).await, "appflow:ListFlows", all);

    // The refused StartFlow started nothing, and was answered 403 once (not retried).
    assert!(emulator.flow("zendesk-tickets").unwrap().history.is_empty());
    assert_eq!(emulator.flow("salesforce-accounts").unwrap().history.len(), 1);
    assert_eq!(emulator.count(Operation::StartFlow), 2);
    let refused: Vec<u16> = emulator
        .calls()
        .iter()
        .filter(|c| c.flow.as_deref() == Some("zendesk-tickets"))
        .map(|c| c.status)
        .collect();
    assert_eq!(refused, [403, 403]);
    let decided: Vec<(String, String, bool)> = emulator
        .authorizations()
        .into_iter()
        .map(|a: Authorization| {
            assert_eq!(a.access_key_id, KEY);
            assert_eq!(a.principal.as_deref(), Some(ROLE));
            (a.action, a.resource, a.allowed)
        })
        .collect();
    let sf = flow_arn("salesforce-accounts");
    assert_eq!(
        decided,
        [
            ("appflow:DescribeFlow".to_owned(), sf.clone(), true),
            ("appflow:DescribeFlowExecutionRecords".to_owned(), sf.clone(), true),
            ("appflow:StartFlow".to_owned(), sf, true),
            ("appflow:StartFlow".to_owned(), other.clone(), false),
            ("appflow:DescribeFlow".to_owned(), other, false),
            ("appflow:ListFlows".to_owned(), all.to_owned(), false),
        ]
    );
}

#[tokio::test]
async fn list_flows_needs_every_flow_and_a_deny_wins() {
    let sweep = Principal {
        arn: ROLE.to_owned(),
        policies: vec![
            policy(json!({"Effect": "Allow", "Action": "appflow:ListFlows", "Resource": flow_arn("*")})),
            policy(json!([
                {"Effect": "Allow", "Action": "appflow:Describe*", "Resource": "*"},
                {"Effect": "Deny", "Action": "appflow:DescribeFlow", "Resource": flow_arn("zendesk-*")}
            ])),
        ],
    };
    let (_emulator, appflow) = world(sweep).await;
    assert_eq!(appflow.list_flows(None).await.unwrap().flows.len(), 2);
    assert!(appflow.describe_flow("salesforce-accounts").await.unwrap().is_some());
    match appflow.describe_flow("zendesk-tickets").await {
        Err(PortError::Failed(m)) => assert!(m.contains("with an explicit deny"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn unknown_callers_are_refused_and_enforcement_is_off_by_default() {
    let (emulator, _) = world(restart_role()).await;
    let stranger = adapter(&emulator, "ASIASTRANGERKEY00001").await;
    match stranger.describe_flow("salesforce-accounts").await {
        Err(PortError::Failed(m)) => assert!(m.contains("UnrecognizedClientException"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(emulator.authorizations()[0].principal, None);

    let open = Emulator::start().await.unwrap();
    open.add_flow(Flow::on_demand("zendesk-tickets"));
    let anyone = adapter(&open, "ASIASTRANGERKEY00001").await;
    assert!(anyone.start_flow("zendesk-tickets", "t").await.unwrap().is_some());
    assert!(open.authorizations().is_empty());
}

#[tokio::test]
async fn a_policy_the_emulator_cannot_read_is_refused_up_front() {
    let emulator = Emulator::start().await.unwrap();
    let error = emulator
        .enforce_iam([(
            KEY.to_owned(),
            Principal {
                arn: ROLE.to_owned(),
                policies: vec![policy(json!({"Effect": "Allow", "Action": "*"}))],
            },
        )])
        .unwrap_err();
    assert!(error.contains(ROLE) && error.contains("Resource"), "{error}");
}
