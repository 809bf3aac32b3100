//! Reading policy sets from disk: a directory is `default.yaml` plus
//! `flows/*.yaml`; a single file is checked within the set it belongs to.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use appflow_retry_policy::yaml::MAX_READ_BYTES;
use appflow_retry_policy::{FileKind, PolicySource};

use crate::CliError;

const DEFAULT_NAMES: [&str; 2] = ["default.yaml", "default.yml"];

/// A policy set read from disk.
#[derive(Debug)]
pub struct SetOnDisk {
    /// The policy files, each with its path (as diagnostics name it), text and kind.
    pub sources: Vec<PolicySource>,
    /// `schema.json` beside the policies, when there is one.
    pub schema_file: Option<(PathBuf, String)>,
}

fn is_yaml(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
}

fn read(path: &Path, kind: FileKind) -> Result<PolicySource, CliError> {
    let fail = |e: std::io::Error| CliError(format!("{}: {e}", path.display()));
    // Read at most one byte past the limit: a larger file is reported as too
    // large by the parser, and a huge one costs no memory.
    let mut text = String::new();
    fs::File::open(path)
        .map_err(fail)?
        .take(MAX_READ_BYTES as u64 + 1)
        .read_to_string(&mut text)
        .map_err(fail)?;
    Ok(PolicySource {
        file: path.display().to_string(),
        text,
        kind,
    })
}

/// Reads the policy set in `dir`.
pub fn read_dir(dir: &Path) -> Result<SetOnDisk, CliError> {
    let mut sources = Vec::new();
    if let Some(default) = DEFAULT_NAMES.iter().map(|n| dir.join(n)).find(|p| p.is_file()) {
        sources.push(read(&default, FileKind::Default)?);
    }
    let flows = dir.join("flows");
    if flows.is_dir() {
        let mut paths: Vec<PathBuf> = fs::read_dir(&flows)
            .map_err(|e| CliError(format!("{}: {e}", flows.display())))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && is_yaml(p))
            .collect();
        paths.sort();
        for p in paths {
            sources.push(read(&p, FileKind::Flow)?);
        }
    }
    if sources.is_empty() {
        return Err(CliError(format!(
            "{}: no policies here (expected default.yaml and/or flows/*.yaml)",
            dir.display()
        )));
    }
    let schema_path = dir.join("schema.json");
    let schema_file = match fs::read_to_string(&schema_path) {
        Ok(text) => Some((schema_path, text)),
        Err(_) => None,
    };
    Ok(SetOnDisk { sources, schema_file })
}

/// Reads what a `validate` argument names: a directory (a whole set) or one
/// file. A flow file is checked over the default of its set
/// (`../default.yaml`), when there is one.
pub fn read_path(path: &Path) -> Result<SetOnDisk, CliError> {
    if path.is_dir() {
        return read_dir(path);
    }
    if !path.exists() {
        return Err(CliError(format!("{}: no such file or directory", path.display())));
    }
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    if DEFAULT_NAMES.contains(&name) {
        return Ok(SetOnDisk {
            sources: vec![read(path, FileKind::Default)?],
            schema_file: None,
        });
    }
    let mut sources = Vec::new();
    let set_dir = path.parent().and_then(Path::parent);
    if let Some(default) = set_dir.and_then(|d| DEFAULT_NAMES.iter().map(|n| d.join(n)).find(|p| p.is_file())) {
        sources.push(read(&default, FileKind::Default)?);
    }
    sources.push(read(path, FileKind::Flow)?);
    Ok(SetOnDisk {
        sources,
        schema_file: None,
    })
}

/// Reads a JSON document for `explain`.
pub fn read_json(path: &Path) -> Result<serde_json::Value, CliError> {
    let text = fs::read_to_string(path).map_err(|e| CliError(format!("{}: {e}", path.display())))?;
    serde_json::from_str(&text).map_err(|e| {
        let message = e.to_string();
        let message = message.split(" at line ").next().unwrap_or_default();
        CliError(format!(
            "{}:{}:{}: invalid JSON: {message}",
            path.display(),
            e.line(),
            e.column()
        ))
    })
}
