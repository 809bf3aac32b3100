//! `appflow-retry plan --diff REF`: what a policy change does to each flow,
//! the policies at a git revision against the working tree.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use appflow_retry_policy::plan_diff::{Change, FlowBehaviour, Side, compare};
use appflow_retry_policy::{FileKind, FlowPolicy, PolicySource, Validated, validate_sources};
use serde::Serialize;

use crate::CliError;
use crate::schema_check::JsonSchemaCheck;
use crate::validate::validate_dir;

/// How the flows without a file of their own are named in the report.
pub const WITHOUT_A_FILE: &str = "(flows without a file)";

/// A flow name no policy file can hold (AppFlow's names are
/// `[a-zA-Z0-9][\w!@#.-]+`): resolving it gives the default's behaviour.
const NO_FLOW: &str = " ";

/// One flow's changes.
#[derive(Debug, Serialize)]
pub struct FlowDiff {
    /// The flow, or [`WITHOUT_A_FILE`] for what the default alone governs.
    pub flow: String,
    /// Before → after, in reading order.
    pub changes: Vec<Change>,
}

/// The whole comparison.
#[derive(Debug, Serialize)]
pub struct Diff {
    /// The git revision compared from.
    pub from: String,
    /// The policy directory compared to (the working tree).
    pub to: String,
    /// Flows whose behaviour changes, by name ([`WITHOUT_A_FILE`] first).
    pub flows: Vec<FlowDiff>,
    /// Files whose text changed without changing any flow's behaviour.
    pub unchanged_behaviour: Vec<String>,
}

/// Runs git with `args` in the current directory; its stdout.
fn git(args: &[&str]) -> Result<Vec<u8>, CliError> {
    let out = Command::new("git").args(args).output().map_err(|e| {
        CliError(if e.kind() == std::io::ErrorKind::NotFound {
            "git is not on the PATH: plan --diff reads the policies at a revision with git".to_owned()
        } else {
            format!("cannot run git: {e}")
        })
    })?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let first = err.lines().find(|l| !l.trim().is_empty()).unwrap_or("no message");
        return Err(CliError(format!("git {}: {}", args.join(" "), first.trim())));
    }
    Ok(out.stdout)
}

/// The policy files of `policies` at `rev`, read with git: `default.yaml`
/// (or `.yml`) and `flows/*.yaml` (or `.yml`), as the working tree's are read.
pub fn sources_at(rev: &str, policies: &Path) -> Result<Vec<PolicySource>, CliError> {
    git(&["rev-parse", "--verify", "--quiet", &format!("{rev}^{{commit}}")]).map_err(|_| {
        CliError(format!(
            "plan --diff {rev}: not a git revision here (a branch, tag or commit)"
        ))
    })?;
    let dir = dir_name(policies);
    let listed = git(&["ls-tree", "-r", "-z", "--name-only", rev, "--", &dir])?;
    let mut sources = Vec::new();
    for path in listed.split(|b| *b == 0).filter(|p| !p.is_empty()) {
        let path = String::from_utf8_lossy(path).into_owned();
        let Some(rel) = path.strip_prefix(&format!("{dir}/")) else {
            continue;
        };
        let yaml = rel.ends_with(".yaml") || rel.ends_with(".yml");
        let kind = match rel {
            "default.yaml" | "default.yml" => FileKind::Default,
            r if yaml && r.starts_with("flows/") && !r["flows/".len()..].contains('/') => FileKind::Flow,
            _ => continue,
        };
        let bytes = git(&["show", &format!("{rev}:./{path}")])?;
        sources.push(PolicySource {
            file: format!("{rev}:{path}"),
            // A file that is not UTF-8 fails its checks there as here.
            text: String::from_utf8_lossy(&bytes).into_owned(),
            kind,
        });
    }
    if sources.is_empty() {
        return Err(CliError(format!(
            "plan --diff {rev}: no policy files under {dir}/ at {rev} (default.yaml, flows/*.yaml)"
        )));
    }
    Ok(sources)
}

/// The directory as git and the file reads name it: `./policies/` is `policies`.
fn dir_name(policies: &Path) -> String {
    let parts: Vec<String> = policies
        .components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    }
}

fn side(v: &Validated, flow: &str) -> Side {
    match v.resolve(flow) {
        FlowPolicy::Usable(r) => Side::Policy(Box::new(FlowBehaviour::of(&r.policy))),
        FlowPolicy::Broken(_) => Side::Broken,
    }
}

fn flows_of(v: &Validated) -> BTreeSet<String> {
    v.set.flows.keys().chain(v.broken_flows.keys()).cloned().collect()
}

/// The file texts by path within the policy directory (`flows/x.yaml`).
fn texts(sources: &[PolicySource], prefix: &str) -> BTreeMap<String, String> {
    sources
        .iter()
        .map(|s| {
            let rel = s.file.strip_prefix(prefix).unwrap_or(&s.file).trim_start_matches('/');
            (rel.to_owned(), s.text.clone())
        })
        .collect()
}

/// Compares the policies at `rev` with the working tree's `policies`;
/// `only`: one flow.
pub fn diff(rev: &str, policies: &Path, only: Option<&str>) -> Result<Diff, CliError> {
    let before_sources = sources_at(rev, policies)?;
    let schema = JsonSchemaCheck::new(&appflow_retry_policy::schema::policy_schema())?;
    let before = validate_sources(&before_sources, Some(&schema));
    let after = validate_dir(policies)?;
    let after_sources: Vec<PolicySource> = crate::files::read_dir(policies)?
        .sources
        .into_iter()
        .map(|mut s| {
            s.file = s
                .file
                .strip_prefix(&policies.to_string_lossy().into_owned())
                .map_or(s.file.clone(), |rest| format!("{}{rest}", dir_name(policies)));
            s
        })
        .collect();

    let mut flows: Vec<String> = flows_of(&before).union(&flows_of(&after)).cloned().collect();
    if let Some(f) = only {
        flows.retain(|n| n == f);
        if flows.is_empty() {
            flows.push(f.to_owned());
        }
    }
    let mut out = Vec::new();
    if only.is_none() {
        let changes = compare(&side(&before, NO_FLOW), &side(&after, NO_FLOW));
        if !changes.is_empty() {
            out.push(FlowDiff {
                flow: WITHOUT_A_FILE.to_owned(),
                changes,
            });
        }
    }
    let file_of = |v: &Validated, flow: &str| -> Option<String> {
        v.set
            .flows
            .get(flow)
            .map(|f| f.source.clone())
            .or_else(|| v.broken_flows.get(flow).cloned())
            .map(|f| f.strip_prefix(&format!("{rev}:")).map_or(f.clone(), str::to_owned))
    };
    for flow in flows {
        let mut changes = compare(&side(&before, &flow), &side(&after, &flow));
        if changes.is_empty() {
            continue;
        }
        let (was, now) = (file_of(&before, &flow), file_of(&after, &flow));
        if was.is_none() != now.is_none() {
            let name = |f: Option<String>| f.unwrap_or_else(|| "none (the default applies)".to_owned());
            changes.insert(
                0,
                Change {
                    subject: "policy file".to_owned(),
                    before: name(was),
                    after: name(now),
                },
            );
        }
        out.push(FlowDiff { flow, changes });
    }

    // Files whose text changed while no flow they govern changed behaviour.
    let dir = dir_name(policies);
    let was = texts(&before_sources, &format!("{rev}:{dir}"));
    let now = texts(&after_sources, &dir);
    let changed_flows: BTreeSet<&str> = out.iter().map(|f| f.flow.as_str()).collect();
    let mut unchanged_behaviour = Vec::new();
    let paths: BTreeSet<&String> = was.keys().chain(now.keys()).collect();
    for path in paths {
        if was.get(path) == now.get(path) {
            continue;
        }
        let governs = [&after, &before].into_iter().find_map(|v| {
            v.set
                .flows
                .iter()
                .find(|(_, f)| f.source.ends_with(path.as_str()))
                .map(|(flow, _)| flow.as_str())
        });
        let behaviour_changed = match governs {
            Some(flow) => changed_flows.contains(flow),
            // The default: any flow may have changed.
            None => !out.is_empty(),
        };
        if !behaviour_changed && only.is_none_or(|f| governs == Some(f)) {
            unchanged_behaviour.push(format!("{dir}/{path}"));
        }
    }
    Ok(Diff {
        from: rev.to_owned(),
        to: dir,
        flows: out,
        unchanged_behaviour,
    })
}

/// For a terminal: one line per change.
pub fn render_text(d: &Diff) -> String {
    let mut out = String::new();
    if d.flows.is_empty() {
        let _ = writeln!(out, "no flow's behaviour changes between {} and {}", d.from, d.to);
    }
    for f in &d.flows {
        for c in &f.changes {
            let _ = writeln!(out, "{} / {}: {} → {}", f.flow, c.subject, c.before, c.after);
        }
    }
    if !d.unchanged_behaviour.is_empty() {
        let _ = writeln!(
            out,
            "changed, same behaviour (formatting, comments, or a setting that already applied): {}",
            d.unchanged_behaviour.join(", ")
        );
    }
    out
}

/// For a pull-request comment: a heading and a table.
pub fn render_markdown(d: &Diff) -> String {
    let cell = |s: &str| s.replace('|', "\\|");
    let mut out = String::new();
    let _ = writeln!(out, "### appflow-retry: what this policy change does\n");
    if d.flows.is_empty() {
        let _ = writeln!(out, "No flow's behaviour changes (compared with `{}`).", d.from);
    } else {
        let _ = writeln!(
            out,
            "Compared with `{}`; flows whose behaviour does not change are not listed.\n",
            d.from
        );
        let _ = writeln!(out, "| flow | what | before | after |");
        let _ = writeln!(out, "|---|---|---|---|");
        for f in &d.flows {
            for c in &f.changes {
                let _ = writeln!(
                    out,
                    "| `{}` | {} | {} | **{}** |",
                    cell(&f.flow),
                    cell(&c.subject),
                    cell(&c.before),
                    cell(&c.after)
                );
            }
        }
    }
    if !d.unchanged_behaviour.is_empty() {
        let files: Vec<String> = d.unchanged_behaviour.iter().map(|f| format!("`{f}`")).collect();
        let _ = writeln!(
            out,
            "\nChanged without a change in behaviour (formatting, comments, or a setting that already applied): {}.",
            files.join(", ")
        );
    }
    out
}
