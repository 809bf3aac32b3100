//! Reading policy sets from disk: a directory is `default.yaml` plus
//! `flows/*.yaml`; a single file is checked within the set it belongs to.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use appflow_retry_policy::yaml::MAX_READ_BYTES;
use appflow_retry_policy::{Diagnostic, FileKind, PolicySource, Position};

use crate::CliError;

const DEFAULT_NAMES: [&str; 2] = ["default.yaml", "default.yml"];

/// A policy set read from disk.
#[derive(Debug)]
pub struct SetOnDisk {
    /// The policy files, each with its path (as diagnostics name it), text and kind.
    pub sources: Vec<PolicySource>,
    /// `schema.json` beside the policies, when there is one.
    pub schema_file: Option<(PathBuf, String)>,
    /// Policy files that are not UTF-8, each a problem of its file (the
    /// other files are still checked), and the kind of file it is.
    pub not_utf8: Vec<(Diagnostic, FileKind)>,
    /// Files and folders under the directory that are not read, and why:
    /// Terraform does not read them either, so a policy there is never deployed.
    pub unread: Vec<Unread>,
}

/// A file or folder under a policy directory that is not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unread {
    /// Its path.
    pub path: PathBuf,
    /// Why it is not read, and what to do.
    pub why: String,
}

impl std::fmt::Display for Unread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: not read: {}", self.path.display(), self.why)
    }
}

/// Whether `name` is a policy file's extension in another case
/// (`b.YAML`): Terraform's `fileset` is case-sensitive, as these reads are.
fn yaml_in_another_case(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| !is_yaml(path) && matches!(e.to_ascii_lowercase().as_str(), "yaml" | "yml"))
}

/// What under `dir` neither these reads nor Terraform's (`default.yaml` or
/// `default.yml`, `flows/*.yaml` and `flows/*.yml`, `schema.json`) take.
/// Hidden entries (`.gitkeep`, `.DS_Store`) are not reported.
fn unread_in(dir: &Path) -> Vec<Unread> {
    let mut unread = Vec::new();
    let entries = |d: &Path| -> Vec<PathBuf> {
        let mut paths: Vec<PathBuf> = fs::read_dir(d)
            .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        paths.retain(|p| {
            !p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'))
        });
        paths.sort();
        paths
    };
    for path in entries(dir) {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        let why = if path.is_dir() {
            if name == "flows" {
                continue;
            }
            if name.eq_ignore_ascii_case("flows") || name.eq_ignore_ascii_case("flow") {
                format!("a folder: flow files are read from flows/ only (rename {name}/ to flows/)")
            } else {
                "a folder: flow files are read from flows/ only".to_owned()
            }
        } else if DEFAULT_NAMES.contains(&name.as_str()) || name == "schema.json" {
            continue;
        } else if DEFAULT_NAMES.contains(&name.to_ascii_lowercase().as_str()) {
            "the default is read from default.yaml or default.yml, in lower case".to_owned()
        } else if is_yaml(&path) || yaml_in_another_case(&path) {
            "flow files are read from flows/ only (move it there)".to_owned()
        } else {
            "not a policy file (default.yaml, flows/*.yaml)".to_owned()
        };
        unread.push(Unread { path, why });
    }
    for path in entries(&dir.join("flows")) {
        let why = if path.is_dir() {
            "a folder inside flows/: only the files directly in flows/ are read"
        } else if is_yaml(&path) {
            continue;
        } else if yaml_in_another_case(&path) {
            "only .yaml and .yml are read, in lower case (rename it)"
        } else {
            "only .yaml and .yml files are read"
        };
        unread.push(Unread {
            path,
            why: why.to_owned(),
        });
    }
    unread
}

fn is_yaml(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
}

/// A policy file as read: its text, or why it has none (not UTF-8).
enum FileRead {
    Source(PolicySource),
    NotUtf8(Diagnostic),
}

fn read(path: &Path, kind: FileKind) -> Result<FileRead, CliError> {
    let fail = |e: std::io::Error| CliError(format!("{}: {e}", path.display()));
    // Read at most one byte past the limit: a larger file is reported as too
    // large by the parser, and a huge one costs no memory.
    let mut bytes = Vec::new();
    fs::File::open(path)
        .map_err(fail)?
        .take(MAX_READ_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(fail)?;
    let file = path.display().to_string();
    match String::from_utf8(bytes) {
        Ok(text) => Ok(FileRead::Source(PolicySource { file, text, kind })),
        Err(e) => Ok(FileRead::NotUtf8(not_utf8(
            file,
            e.as_bytes(),
            e.utf8_error().valid_up_to(),
        ))),
    }
}

/// Why a file is not UTF-8, where, and what to do: a UTF-16 file (its byte
/// order mark, or NULs between ASCII letters), or the first byte that is not
/// UTF-8 (Latin-1 and Windows-1252 files mostly).
fn not_utf8(file: String, bytes: &[u8], valid_up_to: usize) -> Diagnostic {
    let utf16 = bytes.starts_with(&[0xFF, 0xFE])
        || bytes.starts_with(&[0xFE, 0xFF])
        || bytes.iter().take(64).filter(|b| **b == 0).count() > 8;
    if utf16 {
        return Diagnostic {
            file,
            position: Position::START,
            message: "the file is UTF-16, not UTF-8: save it as UTF-8 (some Windows editors and PowerShell's `>` write UTF-16)".into(),
        };
    }
    let before = &bytes[..valid_up_to];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let line_start = before.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&before[line_start..]).chars().count() + 1;
    Diagnostic {
        file,
        position: Position { line, column },
        message: format!(
            "byte 0x{:02X} is not UTF-8 (a Latin-1 or Windows-1252 file?): save the file as UTF-8",
            bytes[valid_up_to]
        ),
    }
}

/// Reads the policy set in `dir`.
pub fn read_dir(dir: &Path) -> Result<SetOnDisk, CliError> {
    let mut sources = Vec::new();
    let mut not_utf8 = Vec::new();
    let mut take = |read: FileRead, kind: FileKind| match read {
        FileRead::Source(s) => sources.push(s),
        FileRead::NotUtf8(d) => not_utf8.push((d, kind)),
    };
    if let Some(default) = DEFAULT_NAMES.iter().map(|n| dir.join(n)).find(|p| p.is_file()) {
        take(read(&default, FileKind::Default)?, FileKind::Default);
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
            take(read(&p, FileKind::Flow)?, FileKind::Flow);
        }
    }
    let unread = unread_in(dir);
    if sources.is_empty() && not_utf8.is_empty() {
        let seen: Vec<String> = unread.iter().map(ToString::to_string).collect();
        return Err(CliError(format!(
            "{}: no policies here (expected default.yaml and/or flows/*.yaml){}",
            dir.display(),
            if seen.is_empty() {
                String::new()
            } else {
                format!("; {}", seen.join("; "))
            }
        )));
    }
    let schema_path = dir.join("schema.json");
    let schema_file = match fs::read_to_string(&schema_path) {
        Ok(text) => Some((schema_path, text)),
        Err(_) => None,
    };
    Ok(SetOnDisk {
        sources,
        schema_file,
        not_utf8,
        unread,
    })
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
    let mut set = SetOnDisk {
        sources: Vec::new(),
        schema_file: None,
        not_utf8: Vec::new(),
        unread: Vec::new(),
    };
    let mut take = |read: FileRead, kind: FileKind| match read {
        FileRead::Source(s) => set.sources.push(s),
        FileRead::NotUtf8(d) => set.not_utf8.push((d, kind)),
    };
    if DEFAULT_NAMES.contains(&name) {
        take(read(path, FileKind::Default)?, FileKind::Default);
        return Ok(set);
    }
    let set_dir = path.parent().and_then(Path::parent);
    if let Some(default) = set_dir.and_then(|d| DEFAULT_NAMES.iter().map(|n| d.join(n)).find(|p| p.is_file())) {
        take(read(&default, FileKind::Default)?, FileKind::Default);
    }
    take(read(path, FileKind::Flow)?, FileKind::Flow);
    Ok(set)
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
