//! `appflow-retry plan --diff REF` in a real git repository: what a policy
//! change does to each flow, against the policies at a revision.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failure report

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_appflow-retry");

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN).args(args).current_dir(dir).output().unwrap()
}

fn stdout(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn write(dir: &Path, path: &str, text: &str) {
    let p = dir.join(path);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, text).unwrap();
}

const DEFAULT: &str =
    "max_retries: 3\nretry_window: 6h\nbackoff:\n  strategy: fixed\n  initial_delay: 10m\n  jitter: none\n";
const ACCOUNTS: &str = "flow: salesforce-accounts\nmax_retries: 5\nretry_window: 2h\nbackoff:\n  strategy: exponential\n  initial_delay: 30s\n  multiplier: 2\n  max_delay: 1h\n  jitter: none\n";
const ORDERS: &str = "flow: orders\nnotify: [give_up]\n";

/// A repository with a committed policy set; returns its directory.
fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    git(d, &["init", "-q", "-b", "main"]);
    write(d, "policies/default.yaml", DEFAULT);
    write(d, "policies/flows/salesforce-accounts.yaml", ACCOUNTS);
    write(d, "policies/flows/orders.yaml", ORDERS);
    git(d, &["add", "-A"]);
    git(d, &["commit", "-q", "-m", "policies"]);
    dir
}

#[test]
fn fewer_retries_for_one_flow_is_one_line_and_nothing_else_is_listed() {
    let dir = repo();
    let d = dir.path();
    write(
        d,
        "policies/flows/salesforce-accounts.yaml",
        &ACCOUNTS.replace("max_retries: 5", "max_retries: 4"),
    );
    let out = stdout(&run(d, &["plan", "--diff", "main"]));
    assert_eq!(
        out,
        "salesforce-accounts / throttling, transient, unknown: 5 restarts over 15m30s (30s, 1m, 2m, 4m, 8m) in a 2h window → 4 restarts over 7m30s (30s, 1m, 2m, 4m) in a 2h window\n"
    );
}

#[test]
fn a_reformatted_file_changes_nothing_and_says_so() {
    let dir = repo();
    let d = dir.path();
    write(
        d,
        "policies/flows/orders.yaml",
        "# Orders: tell a person only when we give up.\nflow: orders\nnotify:\n  - give_up\n",
    );
    let out = stdout(&run(d, &["plan", "--diff", "main"]));
    assert_eq!(
        out,
        "no flow's behaviour changes between main and policies\nchanged, same behaviour (formatting, comments, or a setting that already applied): policies/flows/orders.yaml\n"
    );
}

#[test]
fn a_default_change_reaches_flows_without_a_file_and_flows_that_inherit_it() {
    let dir = repo();
    let d = dir.path();
    write(
        d,
        "policies/default.yaml",
        &DEFAULT.replace("max_retries: 3", "max_retries: 1"),
    );
    let out = stdout(&run(d, &["plan", "--diff", "main"]));
    let lines: Vec<&str> = out.lines().collect();
    // orders inherits max_retries from the default; salesforce-accounts sets its own.
    assert_eq!(
        lines,
        [
            "(flows without a file) / throttling, transient, unknown: 3 restarts over 30m (10m, 10m, 10m) in a 6h window → 1 restart over 10m (10m) in a 6h window",
            "orders / throttling, transient, unknown: 3 restarts over 30m (10m, 10m, 10m) in a 6h window → 1 restart over 10m (10m) in a 6h window",
        ],
        "{out}"
    );
}

#[test]
fn a_new_file_a_broken_file_and_the_formats() {
    let dir = repo();
    let d = dir.path();
    write(
        d,
        "policies/flows/invoices.yaml",
        "flow: invoices\nskip_errors: [transient]\n",
    );
    write(d, "policies/flows/orders.yaml", "flow: orders\nmax_retries: lots\n");
    let out = stdout(&run(d, &["plan", "--diff", "main"]));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            "invoices / policy file: none (the default applies) → policies/flows/invoices.yaml",
            // skip_errors replaces the built-in list: the diff shows it.
            "invoices / auth, permission, config: skipped (never restarted) → 3 restarts over 30m (10m, 10m, 10m) in a 6h window",
            "invoices / transient: 3 restarts over 30m (10m, 10m, 10m) in a 6h window → skipped (never restarted)",
            "orders / policy: usable → broken: every failure skipped and notified",
        ],
        "{out}"
    );

    let md = stdout(&run(d, &["plan", "--diff", "main", "--format", "markdown"]));
    assert!(
        md.starts_with("### appflow-retry: what this policy change does\n"),
        "{md}"
    );
    assert!(
        md.contains("| `orders` | policy | usable | **broken: every failure skipped and notified** |"),
        "{md}"
    );

    let json: serde_json::Value =
        serde_json::from_str(&stdout(&run(d, &["plan", "--diff", "main", "--json"]))).unwrap();
    assert_eq!(json["from"], "main");
    let flows: Vec<&str> = json["flows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["flow"].as_str().unwrap())
        .collect();
    assert_eq!(flows, ["invoices", "orders"]);

    // One flow only.
    let out = stdout(&run(d, &["plan", "orders", "--diff", "main"]));
    assert_eq!(
        out,
        "orders / policy: usable → broken: every failure skipped and notified\n"
    );
}

#[test]
fn a_revision_that_does_not_exist_is_one_line() {
    let dir = repo();
    let out = run(dir.path(), &["plan", "--diff", "no-such-branch"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "appflow-retry: plan --diff no-such-branch: not a git revision here (a branch, tag or commit)"
    );
}
