//! Every AWS action appflow-retry needs, by who needs it: the one table that
//! the deployed roles (terraform/modules/service/iam.tf) and the operator's
//! commands are held to.
//!
//! Two kinds of need:
//! - [`Need::Code`]: a call this crate's adapters make (or, for the state
//!   machine, a Task of statemachines/retry.asl.json). The unit tests below
//!   check that every SDK call in lib.rs and every Task has its row; the
//!   Terraform end to end (`make e2e`) runs the binaries and the state machine
//!   under the deployed roles' own credentials with IAM enforced, and checks
//!   that each role used exactly its `Code` rows, no more, no less: removing
//!   any one of them from a role fails that test.
//! - [`Need::Platform`]: what AWS itself does with the role (Lambda writes
//!   the logs and the on-failure destination's message, decrypts the
//!   environment; Step Functions delivers logs; X-Ray). No emulator performs
//!   these, so the e2e checks them against this table only: each role grants
//!   exactly its rows' actions (Code and Platform), and `*` only where the
//!   row says AWS offers no resource-level permission.
//! - [`Need::Upgrade`]: kept for executions an older version started (they
//!   run the definition they started with); granted and checked like a
//!   Platform row, used by nothing of this version.

use std::collections::BTreeSet;

/// Who acts: the three functions' roles, the state machine's role, and the
/// person running `appflow-retry status`, `cancel` or `redrive`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// The on-failure function.
    OnFailure,
    /// The restart function.
    Restart,
    /// The sweep function.
    Sweep,
    /// The retry state machine.
    StateMachine,
    /// The operator's commands (not a deployed role; README lists it).
    Operator,
}

impl Role {
    /// Every role, in the table's order.
    pub const ALL: [Role; 5] = [
        Role::OnFailure,
        Role::Restart,
        Role::Sweep,
        Role::StateMachine,
        Role::Operator,
    ];

    /// The function's name (`on-failure`, `restart`, `sweep`), for the three
    /// Lambda roles: the key of `function_statements` in iam.tf.
    pub fn function(self) -> Option<&'static str> {
        match self {
            Role::OnFailure => Some("on-failure"),
            Role::Restart => Some("restart"),
            Role::Sweep => Some("sweep"),
            Role::StateMachine | Role::Operator => None,
        }
    }
}

/// Which resources a grant names (iam.tf's locals of the same meaning).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// The policy parameters under the SSM prefix.
    PolicyParameters,
    /// The covered flows (`covered_flows`, or every flow).
    CoveredFlows,
    /// Every flow of the account and region (ListFlows lists them all).
    AccountFlows,
    /// The retry state machine.
    StateMachine,
    /// The retry state machine's executions.
    Executions,
    /// The intake queue in front of on-failure (docs/design.md §5.10).
    IntakeQueue,
    /// The restart queue in front of the restart function (docs/design.md §5.12).
    RestartQueue,
    /// The on-failure function's errors queue.
    ErrorsQueue,
    /// The events and errors queues (redrive).
    Queues,
    /// The service's KMS key.
    Key,
    /// The function's own log group.
    OwnLogGroup,
    /// The restart function (and its versions).
    RestartFunction,
    /// The on-failure function (redrive invokes it).
    OnFailureFunction,
    /// The notification topic.
    Topic,
    /// `*`: the action has no resource-level permissions.
    Any,
}

/// Why a role needs an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// The code calls it (an adapter's SDK call, or a Task of the ASL).
    Code,
    /// AWS calls it with the role on the service's behalf.
    Platform,
    /// Kept for what an older version left running: an execution keeps the
    /// definition it started with, so one that started before an upgrade
    /// still calls what that definition called. Nothing of this version
    /// calls it; it can go once no such execution is left.
    Upgrade,
}

/// One row: `role` needs `action` on `resource`, because `why`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permission {
    /// Who.
    pub role: Role,
    /// The IAM action, `service:Action`.
    pub action: &'static str,
    /// On what.
    pub resource: Resource,
    /// Code or platform.
    pub need: Need,
    /// What it is for.
    pub why: &'static str,
}

const fn row(role: Role, action: &'static str, resource: Resource, need: Need, why: &'static str) -> Permission {
    Permission {
        role,
        action,
        resource,
        need,
        why,
    }
}

use Need::{Code, Platform, Upgrade};
use Resource as R;
use Role::{OnFailure, Operator, Restart, StateMachine, Sweep};

/// Every lambda's platform needs, and its policy reads.
#[rustfmt::skip]
macro_rules! function_rows {
    ($role:expr) => {
        [
            row($role, "ssm:GetParameters", R::PolicyParameters, Code, "read the flow's and the default policy, in one call"),
            row($role, "logs:CreateLogStream", R::OwnLogGroup, Platform, "Lambda writes the function's logs"),
            row($role, "logs:PutLogEvents", R::OwnLogGroup, Platform, "Lambda writes the function's logs"),
            row($role, "kms:Decrypt", R::Key, Platform, "Lambda decrypts the environment encrypted with the key"),
            row($role, "xray:PutTraceSegments", R::Any, Platform, "active tracing"),
            row($role, "xray:PutTelemetryRecords", R::Any, Platform, "active tracing"),
        ]
    };
}

const ON_FAILURE: [Permission; 6] = function_rows!(OnFailure);
const RESTART: [Permission; 6] = function_rows!(Restart);
const SWEEP: [Permission; 6] = function_rows!(Sweep);

#[rustfmt::skip]
const OWN: &[Permission] = &[
    // on-failure
    row(OnFailure, "appflow:DescribeFlowExecutionRecords", R::CoveredFlows, Code, "the failure streak"),
    row(OnFailure, "appflow:DescribeFlow", R::CoveredFlows, Code, "a deactivated flow's threshold"),
    row(OnFailure, "states:StartExecution", R::StateMachine, Code, "start the decision's execution"),
    row(OnFailure, "states:DescribeExecution", R::Executions, Code, "an existing execution's decision (duplicates, conflicts, recoveries)"),
    row(OnFailure, "sqs:ReceiveMessage", R::IntakeQueue, Platform, "the event source mapping polls the intake queue with the function's role"),
    row(OnFailure, "sqs:DeleteMessage", R::IntakeQueue, Platform, "the event source mapping deletes a handled message"),
    row(OnFailure, "sqs:GetQueueAttributes", R::IntakeQueue, Platform, "the event source mapping reads the queue's attributes"),
    row(OnFailure, "sqs:SendMessage", R::ErrorsQueue, Platform, "Lambda parks a failed asynchronous invocation (redrive's) in the on-failure destination"),
    row(OnFailure, "kms:GenerateDataKey", R::Key, Platform, "the errors queue is encrypted with the key"),
    // restart
    row(Restart, "appflow:DescribeFlow", R::CoveredFlows, Code, "the flow's status and trigger before a restart"),
    row(Restart, "appflow:DescribeFlowExecutionRecords", R::CoveredFlows, Code, "a newer run, the failed run's record"),
    row(Restart, "appflow:StartFlow", R::CoveredFlows, Code, "the restart or re-activation"),
    row(Restart, "states:DescribeExecution", R::Executions, Code, "the restart queue: the execution a message names runs, and its start time (not the message's)"),
    row(Restart, "states:SendTaskHeartbeat", R::StateMachine, Code, "the restart queue: the execution still waits (nothing starts otherwise)"),
    row(Restart, "states:SendTaskSuccess", R::StateMachine, Code, "the restart queue: the restart's output to the waiting execution"),
    row(Restart, "states:SendTaskFailure", R::StateMachine, Code, "the restart queue: the restart's error, by its name, to the waiting execution"),
    row(Restart, "sqs:ReceiveMessage", R::RestartQueue, Platform, "the event source mapping polls the restart queue with the function's role"),
    row(Restart, "sqs:DeleteMessage", R::RestartQueue, Platform, "the event source mapping deletes a handled message"),
    row(Restart, "sqs:GetQueueAttributes", R::RestartQueue, Platform, "the event source mapping reads the queue's attributes"),
    // sweep
    row(Sweep, "appflow:ListFlows", R::AccountFlows, Code, "the flows whose last run failed"),
    row(Sweep, "appflow:DescribeFlowExecutionRecords", R::CoveredFlows, Code, "the failed runs of a covered flow"),
    row(Sweep, "states:DescribeExecution", R::Executions, Code, "whether a failed run was handled"),
    row(Sweep, "states:StartExecution", R::StateMachine, Code, "start the decision of a lost failure"),
    row(Sweep, "sqs:GetQueueAttributes", R::IntakeQueue, Code, "the intake backlog, which stretches the grace"),
    row(Sweep, "states:ListExecutions", R::StateMachine, Code, "the running executions: a flow whose decision is under way is not read"),
    // the state machine
    row(StateMachine, "sqs:SendMessage", R::RestartQueue, Code, "the Restart task queues the restart (waitForTaskToken)"),
    row(StateMachine, "lambda:InvokeFunction", R::RestartFunction, Upgrade, "executions started before the restart queue still invoke the function"),
    row(StateMachine, "sns:Publish", R::Topic, Code, "the Notify states"),
    row(StateMachine, "kms:Decrypt", R::Key, Platform, "publishing to the topic and queueing restarts, both encrypted with the key"),
    row(StateMachine, "kms:GenerateDataKey", R::Key, Platform, "publishing to the topic and queueing restarts, both encrypted with the key"),
    row(StateMachine, "logs:CreateLogDelivery", R::Any, Platform, "execution logging"),
    row(StateMachine, "logs:GetLogDelivery", R::Any, Platform, "execution logging"),
    row(StateMachine, "logs:UpdateLogDelivery", R::Any, Platform, "execution logging"),
    row(StateMachine, "logs:DeleteLogDelivery", R::Any, Platform, "execution logging"),
    row(StateMachine, "logs:ListLogDeliveries", R::Any, Platform, "execution logging"),
    row(StateMachine, "logs:PutResourcePolicy", R::Any, Platform, "execution logging"),
    row(StateMachine, "logs:DescribeResourcePolicies", R::Any, Platform, "execution logging"),
    row(StateMachine, "logs:DescribeLogGroups", R::Any, Platform, "execution logging"),
    row(StateMachine, "xray:PutTraceSegments", R::Any, Platform, "tracing"),
    row(StateMachine, "xray:PutTelemetryRecords", R::Any, Platform, "tracing"),
    // the operator's commands
    row(Operator, "states:ListExecutions", R::StateMachine, Code, "status, cancel: the running executions"),
    row(Operator, "states:DescribeExecution", R::Executions, Code, "status, cancel: an execution's input"),
    row(Operator, "states:GetExecutionHistory", R::Executions, Code, "status: the state an execution is in"),
    row(Operator, "states:StopExecution", R::Executions, Code, "cancel"),
    row(Operator, "sqs:ReceiveMessage", R::Queues, Code, "redrive"),
    row(Operator, "sqs:DeleteMessage", R::Queues, Code, "redrive: a replayed message"),
    row(Operator, "sqs:ChangeMessageVisibility", R::Queues, Code, "redrive: a message left for later"),
    row(Operator, "sqs:GetQueueAttributes", R::Queues, Code, "redrive: the count at the start"),
    row(Operator, "lambda:InvokeFunction", R::OnFailureFunction, Code, "redrive: replay into on-failure"),
    row(Operator, "kms:Decrypt", R::Key, Platform, "redrive: the queues are encrypted with the key"),
];

/// Every row of the table.
pub fn permissions() -> impl Iterator<Item = &'static Permission> {
    ON_FAILURE.iter().chain(&RESTART).chain(&SWEEP).chain(OWN)
}

/// The actions `role` needs; only those of `need` when one is given.
pub fn actions(role: Role, need: Option<Need>) -> BTreeSet<&'static str> {
    permissions()
        .filter(|p| p.role == role && need.is_none_or(|n| p.need == n))
        .map(|p| p.action)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The adapters' SDK calls: `.client.<operation>(` in lib.rs, with the
    /// adapter (the `impl` block) they are in.
    fn sdk_calls() -> BTreeSet<(String, String)> {
        let source = include_str!("lib.rs");
        let mut adapter = String::new();
        let mut calls = BTreeSet::new();
        let mut pending_client = false;
        for line in source.lines().map(str::trim) {
            if let Some(rest) = line.strip_prefix("impl ") {
                let name = rest.split(" for ").last().unwrap_or(rest);
                adapter = name.trim_end_matches(" {").trim().to_owned();
            }
            let text = if pending_client {
                line.to_owned()
            } else {
                match line.find(".client") {
                    Some(at) => line[at + ".client".len()..].to_owned(),
                    None => continue,
                }
            };
            pending_client = false;
            match text.strip_prefix('.') {
                Some(call) => {
                    let op: String = call
                        .chars()
                        .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                        .collect();
                    calls.insert((adapter.clone(), op));
                }
                None if text.is_empty() => pending_client = true,
                None => {}
            }
        }
        calls
    }

    fn iam_action(adapter: &str, op: &str) -> String {
        let service = match adapter {
            "SsmParameterStore" => "ssm",
            "AwsAppFlow" => "appflow",
            "SfnStateMachine" | "SfnTaskTokens" => "states",
            "SqsQueue" => "sqs",
            "LambdaInvoker" => "lambda",
            other => panic!("an SDK call in adapter {other}: name its IAM service here"),
        };
        let name: String = match (service, op) {
            // Lambda's Invoke operation is authorized as InvokeFunction.
            ("lambda", "invoke") => "InvokeFunction".to_owned(),
            _ => op
                .split('_')
                .map(|w| {
                    let mut c = w.chars();
                    c.next()
                        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                        .unwrap_or_default()
                })
                .collect(),
        };
        format!("{service}:{name}")
    }

    #[test]
    fn the_scan_finds_every_adapter_call() {
        let calls = sdk_calls();
        // A guard on the scanner itself: it sees calls over several lines.
        assert!(
            calls.contains(&("AwsAppFlow".to_owned(), "list_flows".to_owned())),
            "{calls:?}"
        );
        assert!(
            calls.contains(&("SsmParameterStore".to_owned(), "get_parameters".to_owned())),
            "{calls:?}"
        );
        assert!(calls.len() >= 15, "{calls:?}");
    }

    #[test]
    fn every_sdk_call_has_its_row_and_every_code_row_its_call() {
        let called: BTreeSet<String> = sdk_calls().iter().map(|(a, op)| iam_action(a, op)).collect();
        let code_rows: BTreeSet<String> = permissions()
            .filter(|p| p.need == Need::Code && p.role != Role::StateMachine)
            .map(|p| p.action.to_owned())
            .collect();
        let missing: Vec<&String> = called.difference(&code_rows).collect();
        assert!(
            missing.is_empty(),
            "SDK calls with no row in the permissions table: {missing:?}"
        );
        let unused: Vec<&String> = code_rows.difference(&called).collect();
        assert!(unused.is_empty(), "code rows no adapter calls: {unused:?}");
    }

    #[test]
    fn the_state_machine_rows_are_the_tasks_of_the_definition() {
        let asl: serde_json::Value =
            serde_json::from_str(include_str!("../../../statemachines/retry.asl.json")).unwrap_or_default();
        let mut tasks = BTreeSet::new();
        for state in asl["States"].as_object().into_iter().flat_map(|s| s.values()) {
            if state["Type"] == "Task" {
                let action = match state["Resource"].as_str().unwrap_or_default() {
                    "arn:aws:states:::lambda:invoke" => "lambda:InvokeFunction",
                    "arn:aws:states:::sqs:sendMessage.waitForTaskToken" => "sqs:SendMessage",
                    "arn:aws:states:::sns:publish" => "sns:Publish",
                    other => panic!("a Task with resource {other}: add its IAM action here and its row"),
                };
                tasks.insert(action);
            }
        }
        assert_eq!(tasks, actions(Role::StateMachine, Some(Need::Code)));
    }

    #[test]
    fn rows_are_unique_and_only_platform_and_list_rows_are_unscoped() {
        let mut seen = BTreeSet::new();
        for p in permissions() {
            assert!(seen.insert((p.role, p.action)), "{:?} {} twice", p.role, p.action);
            if p.resource == Resource::Any {
                assert!(
                    p.action.starts_with("xray:") || p.action.starts_with("logs:"),
                    "{} on * : AWS has resource-level permissions for it",
                    p.action
                );
            }
        }
        for role in Role::ALL {
            assert!(!actions(role, Some(Need::Code)).is_empty(), "{role:?}");
        }
    }
}
