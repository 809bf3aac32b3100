//! The `appflow-retry` command, as a library so that its tests and benches
//! call the same code the binary runs. `main.rs` only parses arguments.

#![warn(missing_docs)]

pub mod aws_error;
pub mod check_flows;
pub mod explain;
pub mod files;
pub mod plan;
pub mod plan_diff;
pub mod redrive;
pub mod schema_check;
pub mod status;
pub mod terraform;
pub mod timeline;
pub mod validate;

use std::fmt;

/// A failure of the command itself (a file that cannot be read, bad input),
/// as opposed to policy problems, which `validate` lists.
#[derive(Debug)]
pub struct CliError(pub String);

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CliError {}

impl From<String> for CliError {
    fn from(s: String) -> Self {
        CliError(s)
    }
}
