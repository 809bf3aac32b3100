#![allow(clippy::unwrap_used, clippy::expect_used)]
use std::sync::Mutex;

use chrono::TimeZone;

use super::*;

fn t(h: u32, m: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, h, m, s).unwrap()
}

fn input(flow: &str, run: &str, action: &str, delay: u64, reason: &str) -> String {
    serde_json::json!({
        "flow_name": flow, "execution_id": run, "error_message": "x",
        "decision": {"action": action, "delay_seconds": delay, "error_class": "transient",
                     "attempt": 2, "max_retries": 3, "reason": reason}
    })
    .to_string()
}

struct Exec {
    detail: ExecutionDetail,
    states: Vec<String>,
}

#[derive(Default)]
struct Fake {
    execs: Mutex<Vec<Exec>>,
    calls: Mutex<Vec<String>>,
    /// States an execution enters after its first history read (the race).
    advance: Mutex<Option<(String, String)>>,
}

impl Fake {
    fn add(&self, name: &str, status: RunState, start: DateTime<Utc>, input: String, states: &[&str]) {
        self.execs.lock().unwrap().push(Exec {
            detail: ExecutionDetail {
                arn: format!("arn:x:{name}"),
                name: name.into(),
                status,
                start,
                stop: None,
                input: Some(input),
                error: None,
                cause: None,
            },
            states: states.iter().rev().map(|s| (*s).to_owned()).collect(),
        });
    }
    fn calls(&self, what: &str) -> usize {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.starts_with(what))
            .count()
    }
}

impl Executions for Fake {
    fn arn_of(&self, name: &str) -> String {
        format!("arn:x:{name}")
    }
    async fn list_executions(
        &self,
        status: Option<RunState>,
        next_token: Option<String>,
        max: usize,
    ) -> Result<ExecutionsPage, PortError> {
        self.calls.lock().unwrap().push("list".into());
        let mut all: Vec<ExecutionSummary> = self
            .execs
            .lock()
            .unwrap()
            .iter()
            .filter(|e| status.is_none_or(|s| s == e.detail.status))
            .map(|e| ExecutionSummary {
                arn: e.detail.arn.clone(),
                name: e.detail.name.clone(),
                status: e.detail.status,
                start: e.detail.start,
            })
            .collect();
        all.sort_by_key(|e| std::cmp::Reverse(e.start));
        let from: usize = next_token.map_or(0, |t| t.parse().unwrap());
        let to = (from + max).min(all.len());
        Ok(ExecutionsPage {
            executions: all[from..to].to_vec(),
            next_token: (to < all.len()).then(|| to.to_string()),
        })
    }
    async fn describe_execution(&self, arn: &str) -> Result<ExecutionDetail, PortError> {
        self.calls.lock().unwrap().push("describe".into());
        self.execs
            .lock()
            .unwrap()
            .iter()
            .find(|e| e.detail.arn == arn)
            .map(|e| e.detail.clone())
            .ok_or_else(|| PortError::NotFound(arn.into()))
    }
    async fn states_entered_newest_first(&self, arn: &str, _max: usize) -> Result<Vec<String>, PortError> {
        self.calls.lock().unwrap().push("history".into());
        let mut execs = self.execs.lock().unwrap();
        let e = execs.iter_mut().find(|e| e.detail.arn == arn).unwrap();
        let out = e.states.clone();
        if let Some((name, state)) = self.advance.lock().unwrap().take()
            && name == e.detail.name
        {
            e.states.insert(0, state);
        }
        Ok(out)
    }
    async fn stop_execution(&self, arn: &str, error: &str, cause: &str) -> Result<(), PortError> {
        self.calls.lock().unwrap().push(format!("stop {arn}"));
        let mut execs = self.execs.lock().unwrap();
        let e = execs.iter_mut().find(|e| e.detail.arn == arn).unwrap();
        e.detail.status = RunState::Aborted;
        e.detail.error = Some(error.into());
        e.detail.cause = Some(cause.into());
        Ok(())
    }
}

/// One execution in each state, at 12:00.
fn world() -> Fake {
    let f = Fake::default();
    f.add(
        "done",
        RunState::Succeeded,
        t(11, 0, 0),
        input("orders", "r1", "retry", 0, "restart 1 of 3"),
        &[],
    );
    f.add(
        "gave-up",
        RunState::Succeeded,
        t(11, 10, 0),
        input("orders", "r2", "give_up", 0, "3 restarts used"),
        &[],
    );
    f.add(
        "skipped",
        RunState::Succeeded,
        t(11, 20, 0),
        input("accounts", "r3", "skip", 0, "permanent error: access denied"),
        &[],
    );
    f.add(
        "pending",
        RunState::Running,
        t(11, 56, 0),
        input("orders", "r4", "retry", 480, "restart 2 of 3"),
        &["Route", "WaitBackoff"],
    );
    f.add(
        "restarting",
        RunState::Running,
        t(11, 50, 0),
        input("orders", "r5", "retry", 60, "restart 2 of 3"),
        &["Route", "WaitBackoff", "Restart"],
    );
    f.add(
        "reactivating",
        RunState::Running,
        t(11, 59, 0),
        input("events", "r6", "reactivate", 120, "re-activate 1 of 2"),
        &["Route", "NotifyReactivate", "WaitBackoff"],
    );
    f
}

fn q() -> StatusQuery {
    StatusQuery {
        flow: None,
        since: None,
        max_executions: 100,
        last: 20,
    }
}

#[test]
fn relative_times_use_the_largest_unit() {
    let now = t(12, 0, 0);
    assert_eq!(relative(t(12, 4, 0), now), "in 4m");
    assert_eq!(relative(t(11, 48, 0), now), "12m ago");
    assert_eq!(relative(t(12, 0, 30), now), "in 30s");
    assert_eq!(relative(now, now), "now");
    assert_eq!(relative(t(9, 0, 0), now), "3h ago");
    assert_eq!(relative(t(9, 0, 0) - TimeDelta::days(2), now), "2d3h ago");
    assert_eq!(relative(t(12, 0, 0) - TimeDelta::days(2), now), "2d ago");
    assert_eq!(relative(t(13, 59, 59), now), "in 1h59m");
}

#[test]
fn before_restart_is_the_newest_state_entered() {
    let s = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert_eq!(before_restart(&s(&["WaitBackoff", "Route"])), Some(true));
    assert_eq!(before_restart(&s(&["NotifyRetry", "Route"])), Some(true));
    assert_eq!(before_restart(&s(&["Restart", "WaitBackoff"])), Some(false));
    assert_eq!(before_restart(&s(&["RestartFailedRoute"])), Some(false));
    assert_eq!(before_restart(&[]), None);
}

#[test]
fn tables_align_and_cut_the_last_column_to_the_width() {
    let rows = vec![
        vec![
            "a".to_owned(),
            "long cell".to_owned(),
            "a reason that is much too long for this".to_owned(),
        ],
        vec!["bbbb".to_owned(), "x".to_owned(), "short\nline".to_owned()],
    ];
    let out = render_table(&["A", "B", "REASON"], &rows, 30);
    assert_eq!(
        out,
        "A     B          REASON\n\
         a     long cell  a reason tha…\n\
         bbbb  x          short line\n"
    );
    assert!(out.lines().all(|l| l.chars().count() <= 30));
}

#[tokio::test]
async fn status_finds_each_state() {
    let f = world();
    let s = status(&f, &q(), t(12, 0, 0)).await.unwrap();
    let pending: Vec<_> = s.pending.iter().map(|r| r.execution.as_str()).collect();
    assert_eq!(pending, ["reactivating", "pending"], "soonest restart first");
    assert_eq!(s.pending[1].restart_at, Some(t(12, 4, 0)));
    let phases: Vec<_> = s
        .recent
        .iter()
        .map(|r| (r.execution.as_str(), status_word(r)))
        .collect();
    assert_eq!(
        phases,
        [
            ("reactivating", "waiting"),
            ("pending", "waiting"),
            ("restarting", "restarting"),
            ("skipped", "done"),
            ("gave-up", "done"),
            ("done", "done"),
        ]
    );
    assert_eq!(s.examined, 6);
    assert!(!s.truncated);
    // Only the three running executions with a restart action read history.
    assert_eq!(f.calls("history"), 3);
    assert_eq!(f.calls("describe"), 6);
    let table = render_status(&s, 120);
    assert!(
        table.contains("orders  r4          transient  2/3      2026-11-30 12:04:00Z  in 4m"),
        "{table}"
    );
    assert!(
        table.contains("4m ago   orders    retry       transient  2/3      waiting     restart 2 of 3"),
        "{table}"
    );
}

#[tokio::test]
async fn status_filters_and_bounds() {
    let f = world();
    let s = status(
        &f,
        &StatusQuery {
            flow: Some("orders".into()),
            since: Some(t(11, 5, 0)),
            ..q()
        },
        t(12, 0, 0),
    )
    .await
    .unwrap();
    let recent: Vec<_> = s.recent.iter().map(|r| r.execution.as_str()).collect();
    assert_eq!(recent, ["pending", "restarting", "gave-up"]);
    assert_eq!(s.pending.len(), 1);
    let s = status(
        &f,
        &StatusQuery {
            max_executions: 2,
            ..q()
        },
        t(12, 0, 0),
    )
    .await
    .unwrap();
    assert!(s.truncated);
    assert_eq!(s.recent.len(), 2);
    assert!(render_status(&s, 100).contains("only the newest 2 executions were examined"));
}

#[tokio::test]
async fn cancel_stops_pending_only_and_names_who() {
    let f = world();
    let (lines, truncated) = cancel(&f, &Target::Flow("orders".into()), "bad deploy", "alice", true, 100)
        .await
        .unwrap();
    assert!(!truncated);
    assert_eq!(f.calls("stop"), 0, "a dry run stops nothing");
    let outcomes: Vec<_> = lines.iter().map(|l| (l.execution.as_str(), &l.outcome)).collect();
    assert_eq!(outcomes[0], ("pending", &CancelOutcome::WouldStop));
    assert!(
        matches!(outcomes[1], ("restarting", CancelOutcome::Refused { why }) if why.starts_with("past its Wait (state Restart entered)"))
    );

    let (_, truncated) = cancel(&f, &Target::Flow("orders".into()), "x", "a", true, 1)
        .await
        .unwrap();
    assert!(truncated, "three running executions, a bound of one");
    let (lines, _) = cancel(&f, &Target::Flow("orders".into()), "bad deploy", "alice", false, 100)
        .await
        .unwrap();
    assert_eq!(lines[0].outcome, CancelOutcome::Stopped);
    assert_eq!(f.calls("stop"), 1);
    let d = f.describe_execution("arn:x:pending").await.unwrap();
    assert_eq!(d.error.as_deref(), Some("Cancelled"));
    assert_eq!(d.cause.as_deref(), Some("bad deploy (by alice, appflow-retry cancel)"));

    let s = status(&f, &q(), t(12, 0, 0)).await.unwrap();
    let r = s.recent.iter().find(|r| r.execution == "pending").unwrap();
    assert_eq!(r.phase, Phase::Cancelled);
    assert!(render_status(&s, 200).contains("cancelled   bad deploy (by alice, appflow-retry cancel)"));

    let (lines, _) = cancel(&f, &Target::Execution("done".into()), "x", "alice", false, 100)
        .await
        .unwrap();
    assert_eq!(
        lines[0].outcome,
        CancelOutcome::Refused {
            why: "not running (done): nothing to cancel".into()
        }
    );
    assert!(
        cancel(&f, &Target::Execution("nope".into()), "x", "a", false, 100)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn cancel_rechecks_right_before_stopping() {
    let f = world();
    // The Wait ends between the first read and the re-check.
    *f.advance.lock().unwrap() = Some(("pending".into(), "Restart".into()));
    let (lines, _) = cancel(&f, &Target::Execution("pending".into()), "x", "a", false, 100)
        .await
        .unwrap();
    assert!(matches!(&lines[0].outcome, CancelOutcome::Refused { why } if why.starts_with("past its Wait")));
    assert_eq!(f.calls("stop"), 0);
}
