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
        if !dir.is_dir() {
            return Err(CliError(format!(
                "--terraform-dir {}: not a directory (give the Terraform root module you applied, e.g. terraform)",
                dir.display()
            )));
        }
        let out = Command::new("terraform")
            .arg(format!("-chdir={}", dir.display()))
            .args(["output", "-json"])
            .output()
            .map_err(|e| {
                CliError(if e.kind() == std::io::ErrorKind::NotFound {
                    "terraform is not on the PATH: install Terraform, or name the resources with the flags instead of --terraform-dir".to_owned()
                } else {
                    format!("cannot run terraform: {e}")
                })
            })?;
        if !out.status.success() {
            return Err(CliError(format!(
                "terraform output -json in {} failed: {}",
                dir.display(),
                error_line(&String::from_utf8_lossy(&out.stderr))
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

/// Terraform's error as one line: its boxed `Error:` summary and the first
/// line of detail, without the box drawing and the warnings before it.
fn error_line(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(|l| l.trim_start_matches(['│', '╷', '╵', ' ']).trim())
        .collect();
    let Some(at) = lines.iter().position(|l| l.starts_with("Error: ")) else {
        return lines
            .iter()
            .rev()
            .find(|l| !l.is_empty())
            .copied()
            .unwrap_or("no message")
            .to_owned();
    };
    let summary = lines[at].trim_start_matches("Error: ");
    match lines[at + 1..].iter().find(|l| !l.is_empty()) {
        Some(detail) => format!("{summary}: {detail}"),
        None => summary.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terraforms_boxed_error_reads_as_one_line() {
        let stderr = "╷\n│ Warning: Unable to open CLI configuration file\n│ \n│ The CLI configuration file at \"x\" does not exist.\n╵\n╷\n│ Error: Unreadable module directory\n│ \n│ Unable to evaluate directory symlink: lstat nope: no such file or directory\n╵\n";
        assert_eq!(
            error_line(stderr),
            "Unreadable module directory: Unable to evaluate directory symlink: lstat nope: no such file or directory"
        );
        assert_eq!(error_line("plain failure\n\n"), "plain failure");
        assert_eq!(error_line(""), "no message");
    }

    #[test]
    fn a_missing_directory_is_named_before_terraform_runs() {
        let Err(e) = Outputs::read(Path::new("/no/such/terraform/root")) else {
            unreachable!("a missing directory has no outputs")
        };
        assert!(
            e.0.starts_with("--terraform-dir /no/such/terraform/root: not a directory"),
            "{}",
            e.0
        );
    }
}
