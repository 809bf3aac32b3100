//! The Terraform root module's outputs, as the commands that act on a
//! deployment (`redrive`, `status`, `cancel`) read them: `terraform output
//! -json` run in the directory given with `--terraform-dir`.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::CliError;

/// The root module's outputs.
#[derive(Debug, Clone)]
pub struct Outputs(Value);

impl Outputs {
    /// Reads what `terraform output -json` printed.
    pub fn parse(json: &str) -> Result<Outputs, CliError> {
        serde_json::from_str(json)
            .map(Outputs)
            .map_err(|e| CliError(format!("terraform output -json: not JSON: {e}")))
    }

    /// Runs `terraform output -json` in `dir`.
    pub fn read(dir: &Path) -> Result<Outputs, CliError> {
        let out = Command::new("terraform")
            .arg(format!("-chdir={}", dir.display()))
            .args(["output", "-json"])
            .output()
            .map_err(|e| CliError(format!("cannot run terraform: {e}")))?;
        if !out.status.success() {
            return Err(CliError(format!(
                "terraform output -json in {} failed: {}",
                dir.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Outputs::parse(&String::from_utf8_lossy(&out.stdout))
    }

    /// The output `name`, a non-empty string.
    pub fn string(&self, name: &str) -> Result<String, CliError> {
        match self.0.get(name).map(|o| o.get("value")) {
            Some(Some(Value::String(s))) if !s.is_empty() => Ok(s.clone()),
            Some(Some(_)) => Err(CliError(format!("terraform output `{name}`: not a non-empty string"))),
            _ => Err(CliError(format!(
                "terraform output `{name}` is missing: is this the appflow-retry root module, applied?"
            ))),
        }
    }
}
