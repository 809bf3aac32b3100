//! Test support for appflow-retry integration tests and benchmarks.
//!
//! Nothing here is used by the service itself. The crate gives tests and
//! benchmarks (and the demo) four things they all need:
//!
//! - [`ports`]: a free TCP port on the loopback interface.
//! - [`moto`]: a [moto](https://github.com/getmoto/moto) server (the Python
//!   AWS emulator) started on a free loopback port and stopped when its
//!   handle is dropped, with helpers for moto's own control API
//!   (reset, canned Lambda results).
//! - [`lambda_api`]: a minimal local
//!   [AWS Lambda Runtime API](https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html)
//!   server, so the real Lambda binaries (built with the `lambda_runtime`
//!   crate) can be run and invoked on this machine.
//! - [`service`]: the service's AWS side set up on moto: the state machine
//!   rendered as Terraform renders it, policies published to SSM, fast
//!   AppFlow client retry settings.
//!
//! Everything listens on `127.0.0.1` only.

#![warn(missing_docs)]

pub mod lambda_api;
pub mod moto;
pub mod ports;
pub mod service;

use std::fmt;

/// Error returned by the [`moto`] helpers.
///
/// It carries a human-readable message that already includes the cause
/// (for example the tail of moto's log when the server failed to start), so
/// printing it with `{}` is enough to diagnose a failing test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    message: String,
}

impl Error {
    /// Creates an error with the given message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }

    /// The error message (same text as the `Display` output).
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}
