//! `appflow-retry status` and `appflow-retry cancel`, the built binary,
//! against moto running statemachines/retry.asl.json: executions in each
//! state (two pending restarts in WaitBackoff, a restart done, a give-up, a
//! skip, one stopped by `cancel`), asserted on in the table and the JSON.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failure report

use std::process::{Command, Output};
use std::time::Duration;

use appflow_retry_policy::naming::execution_name;
use appflow_retry_testkit::moto::Moto;
use appflow_retry_testkit::service::{self, ASL};
use aws_sdk_sfn::types::ExecutionStatus;
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_appflow-retry");

struct World {
    moto: Moto,
    sfn: aws_sdk_sfn::Client,
    sqs: aws_sdk_sqs::Client,
    arn: String,
}

fn input(flow: &str, run: &str, action: &str, delay: u64, class: &str, reason: &str) -> Value {
    json!({
        "flow_name": flow,
        "execution_id": run,
        "error_message": "Read timed out",
        "decision": {
            "flow": flow, "execution_id": run, "policy": format!("/appflow-retry/flows/{flow}"),
            "error_class": class, "attempt": 2, "max_retries": 3, "action": action,
            "delay_seconds": delay, "reason": reason, "notify_on": [], "notify": false,
        },
    })
}

impl World {
    async fn new() -> World {
        let moto = Moto::start_async().await.expect("moto starts (run `make venv`)");
        let config = appflow_retry_aws::sdk_config_for_endpoint(moto.endpoint()).await;
        let sfn = aws_sdk_sfn::Client::new(&config);
        let sqs = aws_sdk_sqs::Client::new(&config);
        // The Restart task queues its restart here.
        service::create_restart_queue(&sqs).await.unwrap();
        let definition = service::render_asl(ASL, "arn:aws:sns:us-east-1:123456789012:appflow-retry");
        let arn = service::create_state_machine(&sfn, "appflow-retry", &definition)
            .await
            .unwrap();
        World { moto, sfn, sqs, arn }
    }

    /// Starts the execution the on-failure Lambda would start for `input`.
    async fn start(&self, input: &Value) -> String {
        let name = execution_name(
            input["flow_name"].as_str().unwrap(),
            input["execution_id"].as_str().unwrap(),
        );
        self.sfn
            .start_execution()
            .state_machine_arn(&self.arn)
            .name(&name)
            .input(input.to_string())
            .send()
            .await
            .unwrap();
        name
    }

    fn execution_arn(&self, name: &str) -> String {
        format!("{}:{name}", self.arn.replace(":stateMachine:", ":execution:"))
    }

    async fn states_entered(&self, name: &str) -> Vec<String> {
        let h = self
            .sfn
            .get_execution_history()
            .execution_arn(self.execution_arn(name))
            .max_results(1000)
            .send()
            .await
            .unwrap();
        h.events
            .iter()
            .filter_map(|e| e.state_entered_event_details().map(|d| d.name.clone()))
            .collect()
    }

    /// Waits (bounded) until the execution entered `state`, or ended when `state` is None.
    async fn wait_for(&self, name: &str, state: Option<&str>) {
        for _ in 0..400 {
            let d = self
                .sfn
                .describe_execution()
                .execution_arn(self.execution_arn(name))
                .send()
                .await
                .unwrap();
            let done = match state {
                Some(s) => self.states_entered(name).await.iter().any(|e| e == s),
                None => d.status != ExecutionStatus::Running,
            };
            if done {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("execution {name} never reached {state:?}");
    }

    async fn status_of(&self, name: &str) -> aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput {
        self.sfn
            .describe_execution()
            .execution_arn(self.execution_arn(name))
            .send()
            .await
            .unwrap()
    }

    /// When Step Functions started the execution.
    async fn started_at(&self, name: &str) -> DateTime<Utc> {
        let start = self.status_of(name).await.start_date;
        DateTime::from_timestamp(start.secs(), start.subsec_nanos()).unwrap()
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .args(args)
            .args(["--region", "us-east-1", "--endpoint-url", self.moto.endpoint()])
            .env("APPFLOW_RETRY_STATE_MACHINE_ARN", &self.arn)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("USER", "ops-alice")
            .env("COLUMNS", "160")
            .env_remove("AWS_PROFILE")
            .output()
            .unwrap()
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn describe(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        stdout(o),
        String::from_utf8_lossy(&o.stderr)
    )
}

struct Names {
    done: String,
    gave_up: String,
    skipped: String,
    orders: String,
    events: String,
    billing: String,
}

/// One execution in each state; the three pending ones in WaitBackoff.
async fn populate(w: &World) -> Names {
    // The restart Lambda, played: it answers the one restart queued here.
    let answerer = tokio::spawn(service::answer_restarts(
        w.sqs.clone(),
        w.sfn.clone(),
        vec![service::Answer::Output(
            json!({"outcome": "restarted", "new_execution_id": "run-2", "reason": "restart 1 of 3 after 0s", "notify": false}),
        )],
        Duration::from_secs(20),
    ));
    let done = w
        .start(&input(
            "orders",
            "11111111-0000-4000-8000-000000000001",
            "retry",
            0,
            "transient",
            "restart 1 of 3 after 0s",
        ))
        .await;
    w.wait_for(&done, None).await;
    answerer.await.unwrap().unwrap();
    let gave_up = w
        .start(&input(
            "orders",
            "11111111-0000-4000-8000-000000000002",
            "give_up",
            0,
            "transient",
            "all 3 restarts used",
        ))
        .await;
    let skipped = w
        .start(&input("accounts", "22222222-0000-4000-8000-000000000003", "skip", 0, "permanent", "permanent error: the connector profile's credentials were rejected by the source and a restart cannot fix that"))
        .await;
    w.wait_for(&gave_up, None).await;
    w.wait_for(&skipped, None).await;
    let orders = w
        .start(&input(
            "orders",
            "11111111-0000-4000-8000-000000000004",
            "retry",
            3600,
            "transient",
            "restart 2 of 3 after 1h",
        ))
        .await;
    let events = w
        .start(&input(
            "events",
            "33333333-0000-4000-8000-000000000005",
            "reactivate",
            1800,
            "deactivated",
            "re-activate 1 of 3 after 30m",
        ))
        .await;
    let billing = w
        .start(&input(
            "billing",
            "44444444-0000-4000-8000-000000000006",
            "retry",
            7200,
            "throttled",
            "restart 2 of 3 after 2h",
        ))
        .await;
    for n in [&orders, &events, &billing] {
        w.wait_for(n, Some("WaitBackoff")).await;
    }
    Names {
        done,
        gave_up,
        skipped,
        orders,
        events,
        billing,
    }
}

#[tokio::test]
async fn status_lists_pending_restarts_and_recent_decisions() {
    let w = World::new().await;
    let n = populate(&w).await;

    // The report's clock: 5m30s after the re-activation's execution started,
    // however long the set-up took (half a minute from any rounding of the
    // start). Its relative times are exact; the others started within
    // seconds of it, so each of them reads a few minutes (one width).
    let events_start = w.started_at(&n.events).await;
    let at = events_start + TimeDelta::seconds(330);
    let now = at.to_rfc3339_opts(SecondsFormat::Nanos, true);
    let o = w.run(&["status", "--json", "--now", &now]);
    assert!(o.status.success(), "{}", describe(&o));
    let doc: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(
        doc["generated_at"]
            .as_str()
            .map(|t| t.parse::<DateTime<Utc>>().unwrap()),
        Some(at),
        "the report is made at --now"
    );
    let pending: Vec<&str> = doc["pending"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["execution"].as_str().unwrap())
        .collect();
    assert_eq!(
        pending,
        [n.events.as_str(), n.orders.as_str(), n.billing.as_str()],
        "soonest restart first"
    );
    assert_eq!(doc["pending"][1]["flow"], "orders");
    assert_eq!(doc["pending"][1]["failed_run"], "11111111-0000-4000-8000-000000000004");
    assert_eq!(doc["pending"][1]["state"], "WaitBackoff");
    assert_eq!(doc["examined"], 6);
    assert_eq!(doc["truncated"], false);
    let phase = |name: &str| {
        doc["recent"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["execution"] == name)
            .unwrap()["phase"]
            .clone()
    };
    assert_eq!(phase(&n.done), "succeeded");
    assert_eq!(phase(&n.gave_up), "succeeded");
    assert_eq!(phase(&n.skipped), "succeeded");
    assert_eq!(phase(&n.orders), "pending");

    let o = w.run(&["status", "--now", &now]);
    assert!(o.status.success(), "{}", describe(&o));
    let table = stdout(&o);
    eprintln!("{table}");
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines[0], "Pending restarts");
    assert_eq!(
        lines[1],
        "FLOW     FAILED RUN                            CLASS        ATTEMPT  RESTART AT            LEFT      EXECUTION",
        "{table}"
    );
    // Its restart is due 30m after its start, 24m30s after --now.
    let restart_at = (events_start + TimeDelta::minutes(30)).format("%Y-%m-%d %H:%M:%SZ");
    assert_eq!(
        lines[2],
        format!(
            "events   33333333-0000-4000-8000-000000000005  deactivated  2/3      {restart_at}  in 24m    {}",
            n.events
        ),
        "{table}"
    );
    assert!(
        table.contains("Recent decisions\nTIME    FLOW      ACTION      CLASS        ATTEMPT  STATUS   REASON\n"),
        "{table}"
    );
    assert!(
        table.contains("\n5m ago  events    reactivate  deactivated  2/3      waiting  re-activate 1 of 3 after 30m\n"),
        "{table}"
    );
    assert!(
        table.contains("orders    give_up     transient    2/3      done     all 3 restarts used"),
        "{table}"
    );
    let (pending_part, recent_part) = table.split_once("Recent decisions").unwrap();
    assert!(
        recent_part.lines().all(|l| l.chars().count() <= 160),
        "no recent decision wider than COLUMNS:\n{table}"
    );
    for name in [&n.orders, &n.events, &n.billing] {
        assert!(
            pending_part.contains(&format!("  {name}\n")),
            "execution names are never cut:\n{table}"
        );
    }
    assert!(table.contains("…"), "the long reason is cut:\n{table}");

    // --flow and --since filter.
    let o = w.run(&["status", "--json", "--flow", "accounts", "--since", "1h", "--now", &now]);
    let doc: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(doc["pending"].as_array().unwrap().len(), 0);
    assert_eq!(doc["recent"].as_array().unwrap().len(), 1);
    // --flow draws the flow's timeline: orders had a retry (restarted), a
    // give-up and a retry waiting out its hour, due after now.
    let o = w.run(&["status", "--flow", "orders", "--now", &now]);
    let text = stdout(&o);
    let (_, timeline) = text
        .split_once("Timeline (UTC")
        .unwrap_or_else(|| panic!("{}", describe(&o)));
    let row = |label: &str| {
        timeline
            .lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("no row {label}:\n{timeline}"))
            .to_owned()
    };
    // The axis after the labels: two retries (minutes apart: one column
    // holding `2`, or two `r`), one give-up.
    let axis = |label: &str| row(label)["decided give_up".len()..].to_owned();
    let retry = axis("decided retry");
    assert!(retry.contains('2') || retry.matches('r').count() == 2, "{timeline}");
    assert_eq!(axis("decided give_up").matches('g').count(), 1, "{timeline}");
    let due = row("restart due");
    let (bar, mark) = (due.find('|').unwrap_or(0), due.find('R').unwrap_or(0));
    assert!(
        mark > bar,
        "the restart is due an hour after now, right of the bar:\n{timeline}"
    );
    assert!(due.contains("next at "), "{timeline}");
    // Without --flow, no timeline; with --json, the document alone.
    assert!(!stdout(&w.run(&["status", "--now", &now])).contains("Timeline"));
    let o = w.run(&["status", "--json", "--flow", "orders", "--now", &now]);
    assert!(serde_json::from_str::<Value>(&stdout(&o)).is_ok(), "{}", describe(&o));

    // The bound is said.
    let o = w.run(&["status", "--max-executions", "2"]);
    assert!(
        stdout(&o).contains("only the newest 2 executions were examined"),
        "{}",
        describe(&o)
    );
}

#[tokio::test]
async fn cancel_stops_only_pending_restarts() {
    let w = World::new().await;
    let n = populate(&w).await;

    // A dry run stops nothing.
    let o = w.run(&["cancel", "--flow", "billing", "--dry-run"]);
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    eprint!("{}", stdout(&o));
    assert_eq!(
        stdout(&o),
        format!(
            "would stop {} (flow billing, failed run 44444444-0000-4000-8000-000000000006)\n",
            n.billing
        )
    );
    assert_eq!(w.status_of(&n.billing).await.status, ExecutionStatus::Running);

    // An execution past its Wait, its restart in progress (queued, not yet
    // answered: no one reads the restart queue here), is refused.
    let restarting = w
        .start(&input(
            "orders",
            "11111111-0000-4000-8000-000000000007",
            "retry",
            0,
            "transient",
            "restart 3 of 3 after 0s",
        ))
        .await;
    w.wait_for(&restarting, Some("Restart")).await;
    let o = w.run(&["status", "--json"]);
    let doc: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let row = doc["recent"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["execution"] == restarting.as_str())
        .unwrap()
        .clone();
    assert_eq!(row["phase"], "restarting", "{row}");
    assert_eq!(row["state"], "Restart", "{row}");
    assert!(
        !doc["pending"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["execution"] == restarting.as_str())
    );
    let o = w.run(&["cancel", "--flow", "orders", "--dry-run"]);
    assert_eq!(o.status.code(), Some(1), "{}", describe(&o));
    assert!(
        stdout(&o).contains(&format!("would stop {} (flow orders", n.orders)),
        "{}",
        describe(&o)
    );
    assert!(
        stdout(&o).contains(&format!("refused {restarting} (flow orders, failed run 11111111-0000-4000-8000-000000000007): past its Wait (state Restart entered): a restart that has begun cannot be stopped safely")),
        "{}",
        describe(&o)
    );
    eprint!("{}", stdout(&o));
    let o = w.run(&["cancel", "--execution", &restarting, "--reason", "x"]);
    assert_eq!(o.status.code(), Some(1), "{}", describe(&o));
    assert_eq!(
        w.status_of(&restarting).await.status,
        ExecutionStatus::Running,
        "not stopped"
    );
    assert_eq!(
        w.status_of(&n.orders).await.status,
        ExecutionStatus::Running,
        "a dry run stops nothing"
    );

    // An execution past its Wait (its restart done) is refused.
    let o = w.run(&["cancel", "--execution", &n.done, "--reason", "x"]);
    assert_eq!(o.status.code(), Some(1), "{}", describe(&o));
    eprint!("{}", stdout(&o));
    assert!(
        stdout(&o).starts_with(&format!("refused {} (flow orders", n.done)),
        "{}",
        describe(&o)
    );
    assert!(
        stdout(&o).contains("not running (done): nothing to cancel"),
        "{}",
        describe(&o)
    );
    // A flow without pending restarts: nothing to do.
    let o = w.run(&["cancel", "--flow", "accounts"]);
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    assert_eq!(stdout(&o), "no pending restart of flow accounts\n");
    // An execution that does not exist is an error.
    let o = w.run(&["cancel", "--execution", "no-such-execution"]);
    assert_eq!(o.status.code(), Some(2), "{}", describe(&o));

    let o = w.run(&[
        "cancel",
        "--flow",
        "billing",
        "--reason",
        "source maintenance until 18:00",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    assert_eq!(
        stdout(&o),
        format!(
            "stopped {} (flow billing, failed run 44444444-0000-4000-8000-000000000006)\n",
            n.billing
        )
    );
    eprintln!("{}", stdout(&o));
    // moto stops an execution by signalling its worker thread, which marks
    // it ABORTED a moment later (Step Functions answers ABORTED at once).
    w.wait_for(&n.billing, None).await;
    let d = w.status_of(&n.billing).await;
    assert_eq!(d.status, ExecutionStatus::Aborted);
    // moto drops StopExecution's error and cause (real Step Functions keeps
    // them in DescribeExecution and the ExecutionAborted event); the cause
    // sent is asserted on in the runtime's unit tests.
    if let Some(cause) = d.cause.as_deref() {
        assert_eq!(
            cause,
            "source maintenance until 18:00 (by ops-alice, appflow-retry cancel)"
        );
    }
    // The others still wait.
    assert_eq!(w.status_of(&n.orders).await.status, ExecutionStatus::Running);
    assert_eq!(w.status_of(&n.events).await.status, ExecutionStatus::Running);

    // Status shows it cancelled, with the cause; it never restarts.
    let o = w.run(&["status"]);
    let table = stdout(&o);
    eprintln!("{table}");
    assert!(
        !table.split("Recent decisions").next().unwrap().contains("billing"),
        "{table}"
    );
    assert!(
        table.contains("billing   retry       throttled    2/3      cancelled  "),
        "{table}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!w.states_entered(&n.billing).await.iter().any(|s| s == "Restart"));
    // A cancelled execution is not cancelled twice.
    let o = w.run(&["cancel", "--execution", &n.billing]);
    assert_eq!(o.status.code(), Some(1), "{}", describe(&o));
    assert!(stdout(&o).contains("not running (cancelled)"), "{}", describe(&o));
}
