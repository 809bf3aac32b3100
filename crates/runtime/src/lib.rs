//! The appflow-retry runtime: the Lambda handlers (on-failure, restart, the
//! sweep), the policy cache and the redrive of the parked failures,
//! written against small ports so that their logic is tested with in-memory
//! fakes and their AWS adapters against emulators. No AWS SDK here.

#![warn(missing_docs)]

pub mod history;
pub mod intake;
pub mod on_failure;
pub mod operate;
pub mod policy_cache;
pub mod ports;
pub mod queue;
pub mod redrive;
pub mod restart;
pub mod restart_queue;
pub mod sweep;
pub mod telemetry;

#[cfg(test)]
mod conflict_tests;
#[cfg(test)]
mod fakes;
#[cfg(test)]
mod recover_tests;
#[cfg(test)]
mod redrive_tests;
#[cfg(test)]
mod restart_tests;
#[cfg(test)]
mod sweep_tests;
#[cfg(test)]
mod tests;

pub use on_failure::{
    OnFailure, OnFailureError, OnFailureOutput, Origin, RecoveryOutput, Reply, SWEEP_REASON_PREFIX, state_machine_input,
};
pub use policy_cache::{DEFAULT_TTL_SECONDS, LoadedPolicy, PolicyCache};
pub use queue::{BatchMessage, BatchReply, ItemFailure, sqs_batch};
pub use restart::{Restart, RestartError, RestartInput, RestartOutput};
pub use restart_queue::{Handled, RestartPace};
pub use sweep::{
    Coverage, CoverageError, IntakeBacklog, SWEEP_BACKLOG_GRACE_MINUTES, SWEEP_GRACE_MINUTES, Sweep, SweepError,
    SweepLimits, SweepOutput,
};
