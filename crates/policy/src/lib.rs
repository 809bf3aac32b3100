//! The appflow-retry domain: policy model, loading with positions,
//! validation, error classification, backoff and [`decide()`].
//!
//! No AWS SDK and no async runtime: the Lambdas and the CLI feed it plain
//! values (the event JSON, run records, policy texts, the time, a random
//! source) and act on the [`Decision`] it returns.

#![warn(missing_docs)]

pub mod appflow;
pub mod backoff;
pub mod classify;
pub mod conflict;
pub mod decide;
pub mod diagnostic;
pub mod duration;
pub mod field_path;
pub mod model;
pub mod naming;
pub mod outcome;
pub mod plan;
pub mod plan_diff;
pub mod reactivate;
pub mod recover;
pub mod schema;
pub mod set;
pub mod validate;
pub mod yaml;

pub use appflow::{
    DeactivatedKind, DeactivationEvent, EventError, EventKind, EventNote, FailureEvent, HistoryError, IncomingEvent,
    MAX_MESSAGE_BYTES, RunRecord, RunStatus, TriggerType, parse_history, truncate_message,
};
pub use backoff::{RandomSource, SplitMix64, seed_for};
pub use decide::{
    Decision, Pending, Precheck, Redecision, Undecided, decide, failure_message, format_time, history_as_of,
    newer_runs, newest_newer_run, precheck, redecide,
};
pub use diagnostic::{Diagnostic, Position};
pub use duration::Duration;
pub use model::{Action, Backoff, Jitter, Policy, PolicyFile, Reactivate, Strategy};
pub use outcome::{ExecutionStart, PlanOutcome, RestartOutcome};
pub use reactivate::{
    DEACTIVATION_LAG, PendingReactivation, ReactivationPrecheck, ReactivationRedecision, deactivation_evidence,
    deactivation_id_at, deactivations_in_streak, decide_reactivation, failures_before_deactivation,
    reactivation_precheck, redecide_reactivation,
};
pub use recover::{
    NoStreak, PendingRecovery, Recovery, RecoveryPrecheck, Streak, action_of_input, human_duration, recovery_precheck,
};
pub use set::{BrokenPolicy, DEFAULT_SOURCE, FlowPolicy, PolicyError, PolicySet, ResolvedPolicy};
pub use validate::{FileKind, PolicySource, SchemaCheck, SchemaViolation, Validated, validate_sources};
