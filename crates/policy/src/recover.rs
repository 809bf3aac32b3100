//! Recovery rules (docs/design.md §4, recovery rules): a successful run that
//! ends a failure streak the service restarted (or gave up on) is told once.
//!
//! Phases, so that the Lambda does no I/O it does not need:
//! [`recovery_precheck`] needs only the policy (a flow whose policy does not
//! ask for `recovered` costs no history read); [`PendingRecovery::streak`]
//! needs the run records; [`PendingRecovery::decide`] needs, for the
//! streak's failures, the action the service decided for each (read from
//! the state machine execution named after each failure).

use chrono::{DateTime, TimeDelta, Utc};

use crate::appflow::{FailureEvent, RunRecord, RunStatus};
use crate::decide::{Decision, error_streak, format_time, runs_newest_first};
use crate::duration::Duration;
use crate::model::Action;
use crate::set::{FlowPolicy, ResolvedPolicy};

/// How many of a streak's failures (newest first) have their decision
/// looked up: one more than the largest `max_retries`, so every restart of
/// any policy is counted; a longer streak's older failures were given up on.
pub const MAX_STREAK_LOOKUPS: usize = 101;

/// The outcome of the recovery rules.
#[derive(Debug, Clone, PartialEq)]
pub enum Recovery {
    /// Nothing to tell, and why (logged).
    Nothing(String),
    /// Tell it: the decision for the `recovered` execution.
    Notify(Decision),
}

/// The outcome of the rule that needs only the policy.
#[derive(Debug)]
pub enum RecoveryPrecheck<'a> {
    /// R1 or R2 settled it: nothing to tell (the policy is broken or `notify` lacks
    /// `recovered`), and why; no history is read.
    Nothing(String),
    /// R3–R6 need the flow's run records and the service's decisions: see [`PendingRecovery`].
    NeedsHistory(PendingRecovery<'a>),
}

/// A success event whose policy asks for `recovered`.
#[derive(Debug)]
pub struct PendingRecovery<'a> {
    event: &'a FailureEvent,
    policy: &'a ResolvedPolicy,
}

/// The failure streak a successful run ended (recovery rules R3–R4).
#[derive(Debug, Clone, PartialEq)]
pub struct Streak {
    /// The successful run's time (its record's, else the event's).
    pub success_at: DateTime<Utc>,
    /// When the successful run ended: its record's `lastUpdatedAt`, else
    /// the event's `time`, else its start.
    pub success_ended_at: DateTime<Utc>,
    /// Failures in the streak, counted as rule 7 counts.
    pub len: usize,
    /// The streak's oldest failure's time: the incident's start.
    pub started_at: DateTime<Utc>,
    /// The newest [`MAX_STREAK_LOOKUPS`] failures' execution ids, newest first.
    pub failures: Vec<String>,
}

/// Why a successful run ended no failure streak (R3): nothing to tell.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoStreak {
    /// The successful run is the flow's oldest record read: no run before it.
    #[error("no earlier run: no failure streak ended")]
    NoEarlierRun,
    /// The run just before the success (`execution_id`) ended with `status`, not `Error`.
    #[error("the run before it ({execution_id}) ended {status}: no failure streak ended")]
    EndedWith {
        /// The earlier run's execution id.
        execution_id: String,
        /// Its `executionStatus` as AppFlow spells it.
        status: String,
    },
}

/// R1–R2: the policy must be usable and its `notify` must hold `recovered`.
pub fn recovery_precheck<'a>(event: &'a FailureEvent, policy: &'a FlowPolicy) -> RecoveryPrecheck<'a> {
    match policy {
        FlowPolicy::Broken(b) => RecoveryPrecheck::Nothing(format!(
            "the policy cannot be used ({}): its failures were notified, a success is not",
            b.summary()
        )),
        FlowPolicy::Usable(p) if !p.policy.notifies(Action::Recovered) => {
            RecoveryPrecheck::Nothing("the policy's notify does not hold recovered".into())
        }
        FlowPolicy::Usable(policy) => RecoveryPrecheck::NeedsHistory(PendingRecovery { event, policy }),
    }
}

impl PendingRecovery<'_> {
    /// How far before the success the history matters: the policy's
    /// longest `retry_window` (a streak's failures may be of any class).
    pub fn lookback(&self) -> Duration {
        self.policy.policy.longest_window()
    }

    /// R3–R4: the failure streak the successful run ended, or why there is none.
    pub fn streak(&self, records: &[RunRecord], now: DateTime<Utc>) -> Result<Streak, NoStreak> {
        let own = records.iter().find(|r| r.execution_id == self.event.execution_id);
        let success_at = own
            .and_then(RunRecord::time)
            .or(self.event.start_time)
            .or(self.event.time)
            .unwrap_or(now);
        let success_ended_at = own
            .and_then(|r| r.last_updated_at)
            .or(self.event.time)
            .unwrap_or(success_at)
            .max(success_at);
        // R3. The run just before the success, newest first; at equal times
        // a run that did not fail comes first (rule 7's order); records at
        // the success's own time are ignored.
        let older = runs_newest_first(records, Some(&self.event.execution_id), |t| t < success_at);
        let (newest_at, newest) = match older.first() {
            None => return Err(NoStreak::NoEarlierRun),
            Some((_, r)) if r.status != RunStatus::Error => {
                return Err(NoStreak::EndedWith {
                    execution_id: r.execution_id.clone(),
                    status: r.status.as_str().to_owned(),
                });
            }
            Some((t, r)) => (*t, *r),
        };
        // R4. The streak as rule 7 counts it for its newest failure.
        let window_start = newest_at - self.lookback().as_chrono();
        let (len, oldest) = error_streak(&older, window_start);
        debug_assert!(len >= 1 && older[0].1.execution_id == newest.execution_id);
        Ok(Streak {
            success_at,
            success_ended_at,
            len,
            started_at: oldest.unwrap_or(newest_at),
            failures: older
                .iter()
                .take(len.min(MAX_STREAK_LOOKUPS))
                .map(|(_, r)| r.execution_id.clone())
                .collect(),
        })
    }

    /// R5–R6: given the action the service decided for each of the streak's
    /// failures (`actions[i]` for `streak.failures[i]`; None: no execution
    /// of that name), whether and what to tell.
    pub fn decide(&self, streak: &Streak, actions: &[Option<Action>]) -> Recovery {
        let restarts = actions.iter().filter(|a| **a == Some(Action::Retry)).count();
        let down = human_duration(streak.success_ended_at - streak.started_at);
        let flow = &self.event.flow_name;
        let plural = |n: usize| if n == 1 { "restart" } else { "restarts" };
        let newest = streak.failures.first().map_or("", String::as_str);
        let reason = match actions.first().copied().flatten() {
            Some(Action::Retry) => format!(
                "{flow} recovered after {restarts} {}; down {down} (failure streak of {} runs since {}, ended by run {})",
                plural(restarts),
                streak.len,
                format_time(streak.started_at),
                self.event.execution_id
            ),
            Some(Action::GiveUp) => format!(
                "{flow} recovered after appflow-retry gave up on it ({restarts} {} before): run {} succeeded on its own or was started by hand; down {down} (failure streak of {} runs since {})",
                plural(restarts),
                self.event.execution_id,
                streak.len,
                format_time(streak.started_at)
            ),
            Some(other) => {
                return Recovery::Nothing(format!(
                    "the newest failure {newest} was decided {other}: the service neither restarted nor gave up on it"
                ));
            }
            None => {
                return Recovery::Nothing(format!(
                    "the newest failure {newest} has no state machine execution: the service did not handle it"
                ));
            }
        };
        let p = &self.policy.policy;
        Recovery::Notify(Decision {
            flow: flow.clone(),
            execution_id: self.event.execution_id.clone(),
            failed_run_started_at: streak.started_at,
            policy: self.policy.source.clone(),
            error_class: None,
            attempt: Some(u32::try_from(streak.len).unwrap_or(u32::MAX)),
            max_retries: p.max_retries,
            action: Action::Recovered,
            delay_seconds: None,
            reason,
            notify_on: p.notify.clone(),
            notify: true,
        })
    }
}

/// The action in a state machine input (`decision.action`, docs/design.md
/// §5.4); None when the input holds none this version knows.
pub fn action_of_input(input: &str) -> Option<Action> {
    let v: serde_json::Value = serde_json::from_str(input).ok()?;
    serde_json::from_value(v.pointer("/decision/action")?.clone()).ok()
}

/// A duration for people: its two largest units, `2 h 6 min`, `3 d 4 h`, `45 s`.
pub fn human_duration(d: TimeDelta) -> String {
    let secs = d.num_seconds().max(0);
    let parts = [
        (secs / 86_400, "d"),
        (secs % 86_400 / 3_600, "h"),
        (secs % 3_600 / 60, "min"),
        (secs % 60, "s"),
    ];
    let Some(first) = parts.iter().position(|(n, _)| *n > 0) else {
        return "0 s".into();
    };
    parts[first..]
        .iter()
        .take(2)
        .filter(|(n, _)| *n > 0)
        .map(|(n, u)| format!("{n} {u}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::PolicyFile;

    fn t(hhmm: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(&format!("2026-11-29T{hhmm}:00Z"))
            .unwrap()
            .with_timezone(&Utc)
    }

    fn rec(id: &str, status: RunStatus, at: &str) -> RunRecord {
        RunRecord {
            execution_id: id.into(),
            status,
            started_at: Some(t(at)),
            last_updated_at: Some(t(at) + TimeDelta::minutes(3)),
            message: None,
        }
    }

    fn success_event() -> FailureEvent {
        let e = json!({
            "version": "0", "id": "e", "source": "aws.appflow", "account": "123456789012",
            "detail-type": "AppFlow End Flow Run Report", "time": "2026-11-29T12:09:00Z",
            "region": "us-east-1", "resources": ["x"],
            "detail": {"flow-name": "salesforce-accounts", "execution-id": "ok", "trigger-type": "ONDEMAND",
                       "start-time": "2026-11-29T12:05:00.000Z[UTC]", "status": "Execution Successful"}
        });
        FailureEvent::parse_success(&e).unwrap().0
    }

    fn policy(notify: &str) -> FlowPolicy {
        let file: PolicyFile = serde_yaml::from_str(&format!("notify: {notify}\nretry_window: 6h\n")).unwrap();
        FlowPolicy::Usable(ResolvedPolicy::new("default".into(), crate::Policy::default().merged(&file)).unwrap())
    }

    use RunStatus::{Error as E, Successful as S};

    #[test]
    fn r1_r2_a_policy_that_does_not_ask_stops_before_any_history() {
        let e = success_event();
        for notify in ["[give_up, skip]", "[]"] {
            let p = policy(notify);
            assert!(
                matches!(recovery_precheck(&e, &p), RecoveryPrecheck::Nothing(_)),
                "{notify}"
            );
        }
        let broken = FlowPolicy::Broken(crate::BrokenPolicy {
            source: "/p/flows/x".into(),
            problems: vec![],
        });
        assert!(matches!(recovery_precheck(&e, &broken), RecoveryPrecheck::Nothing(r) if r.contains("/p/flows/x")));
        let p = policy("[recovered]");
        assert!(matches!(recovery_precheck(&e, &p), RecoveryPrecheck::NeedsHistory(_)));
    }

    /// The recovery rules as a table: history (newest first is not
    /// required), each failure's decided action, and what is told.
    #[test]
    fn recovery_rules_table() {
        let e = success_event();
        let p = policy("[give_up, recovered]");
        let RecoveryPrecheck::NeedsHistory(pending) = recovery_precheck(&e, &p) else {
            panic!()
        };
        let ok = rec("ok", S, "12:05");
        type Case<'a> = (
            &'a str,
            Vec<RunRecord>,
            Vec<Option<Action>>,
            Result<(usize, &'a str), &'a str>,
        );
        let cases: Vec<Case> = vec![
            (
                "a streak restarted twice, ended by the second restart",
                vec![
                    ok.clone(),
                    rec("f3", E, "11:40"),
                    rec("f2", E, "10:30"),
                    rec("f1", E, "09:59"),
                    rec("s0", S, "09:00"),
                ],
                vec![Some(Action::Retry), Some(Action::Retry), Some(Action::Retry)],
                Ok((3, "salesforce-accounts recovered after 3 restarts; down 2 h 9 min")),
            ),
            (
                "one restart",
                vec![rec("f1", E, "11:00"), ok.clone()],
                vec![Some(Action::Retry)],
                Ok((1, "salesforce-accounts recovered after 1 restart; down 1 h 8 min")),
            ),
            (
                "a success after a success: nothing",
                vec![ok.clone(), rec("s1", S, "11:00"), rec("f1", E, "10:00")],
                vec![],
                Err("ended Successful: no failure streak ended"),
            ),
            ("no earlier run", vec![ok.clone()], vec![], Err("no earlier run")),
            (
                "a success after a give-up says so",
                vec![
                    ok.clone(),
                    rec("f4", E, "11:00"),
                    rec("f3", E, "10:40"),
                    rec("f2", E, "10:20"),
                    rec("f1", E, "10:00"),
                ],
                vec![
                    Some(Action::GiveUp),
                    Some(Action::Retry),
                    Some(Action::Retry),
                    Some(Action::Retry),
                ],
                Ok((
                    4,
                    "salesforce-accounts recovered after appflow-retry gave up on it (3 restarts before): run ok succeeded on its own or was started by hand; down 2 h 8 min",
                )),
            ),
            (
                "the newest failure was skipped (e.g. auth): nothing",
                vec![ok.clone(), rec("f2", E, "11:00"), rec("f1", E, "10:00")],
                vec![Some(Action::Skip), Some(Action::Retry)],
                Err("decided skip"),
            ),
            (
                "the newest failure has no execution: nothing",
                vec![ok.clone(), rec("f1", E, "11:00")],
                vec![None],
                Err("no state machine execution"),
            ),
            (
                "failures older than retry_window before the newest are another streak",
                vec![ok.clone(), rec("f2", E, "11:00"), rec("f1", E, "04:59")],
                vec![Some(Action::Retry)],
                Ok((1, "recovered after 1 restart; down 1 h 8 min")),
            ),
            (
                "a cancelled run ends the streak, like rule 7",
                vec![
                    ok.clone(),
                    rec("f2", E, "11:00"),
                    rec("c", RunStatus::Canceled, "10:30"),
                    rec("f1", E, "10:00"),
                ],
                vec![Some(Action::Retry)],
                Ok((1, "recovered after 1 restart")),
            ),
            (
                "at equal times a non-failure sorts first and ends the streak",
                vec![ok.clone(), rec("f2", E, "11:00"), rec("s", S, "11:00")],
                vec![],
                Err("ended Successful"),
            ),
            (
                "records at the success's own time are ignored",
                vec![ok.clone(), rec("same", S, "12:05"), rec("f1", E, "11:00")],
                vec![Some(Action::Retry)],
                Ok((1, "recovered after 1 restart")),
            ),
        ];
        for (name, records, actions, want) in cases {
            let got = pending
                .streak(&records, t("13:00"))
                .map_err(|e| e.to_string())
                .and_then(|s| {
                    assert!(s.failures.len() == s.len, "{name}");
                    match pending.decide(&s, &actions) {
                        Recovery::Notify(d) => Ok((s, d)),
                        Recovery::Nothing(why) => Err(why),
                    }
                });
            match (got, want) {
                (Ok((s, d)), Ok((len, text))) => {
                    assert_eq!(s.len, len, "{name}");
                    assert!(d.reason.contains(text), "{name}: {}", d.reason);
                    assert_eq!(
                        (d.action, d.notify, d.attempt),
                        (Action::Recovered, true, Some(len as u32)),
                        "{name}"
                    );
                    assert_eq!(d.execution_id, "ok");
                    assert_eq!(d.failed_run_started_at, s.started_at);
                }
                (Err(why), Err(text)) => assert!(why.contains(text), "{name}: {why}"),
                (got, want) => panic!("{name}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn without_its_record_the_success_is_timed_by_its_event() {
        let e = success_event();
        let p = policy("[recovered]");
        let RecoveryPrecheck::NeedsHistory(pending) = recovery_precheck(&e, &p) else {
            panic!()
        };
        let s = pending.streak(&[rec("f1", E, "10:05")], t("13:00")).unwrap();
        assert_eq!((s.success_at, s.success_ended_at), (t("12:05"), t("12:09")));
        assert_eq!(human_duration(s.success_ended_at - s.started_at), "2 h 4 min");
    }

    #[test]
    fn streak_lookups_are_bounded() {
        let e = success_event();
        let p = policy("[recovered]");
        let RecoveryPrecheck::NeedsHistory(pending) = recovery_precheck(&e, &p) else {
            panic!()
        };
        let records: Vec<RunRecord> = (0..150)
            .map(|i| RunRecord {
                execution_id: format!("f{i}"),
                status: E,
                started_at: Some(t("12:00") - TimeDelta::seconds(i * 60)),
                last_updated_at: None,
                message: None,
            })
            .collect();
        let s = pending.streak(&records, t("13:00")).unwrap();
        assert_eq!((s.len, s.failures.len()), (150, MAX_STREAK_LOOKUPS));
        assert_eq!(s.failures[0], "f0");
    }

    #[test]
    fn durations_read_as_people_write_them() {
        for (secs, want) in [
            (0, "0 s"),
            (45, "45 s"),
            (60, "1 min"),
            (7_565, "2 h 6 min"),
            (7_200, "2 h"),
            (86_400 + 4 * 3_600 + 59, "1 d 4 h"),
            (-5, "0 s"),
        ] {
            assert_eq!(human_duration(TimeDelta::seconds(secs)), want);
        }
    }

    #[test]
    fn the_action_is_read_from_a_state_machine_input() {
        assert_eq!(
            action_of_input(r#"{"decision":{"action":"retry"}}"#),
            Some(Action::Retry)
        );
        assert_eq!(
            action_of_input(r#"{"decision":{"action":"give_up"}}"#),
            Some(Action::GiveUp)
        );
        assert_eq!(action_of_input(r#"{"decision":{"action":"nonsense"}}"#), None);
        assert_eq!(action_of_input("not json"), None);
    }
}
