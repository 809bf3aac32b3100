//! The worst policy files we can construct, through the validation the CLI
//! and the Lambdas run: wall time and peak memory of each, printed
//! (`make bench`). Each case runs in a fresh child process (this binary,
//! re-executed) so that its peak resident memory is its own.
//!
//! Targets (docs/design.md §6.2): every file of at most 1 MiB validates in
//! well under a second and 64 MiB.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::time::Instant;

use appflow_retry_policy::FlowPolicy;
use appflow_retry_policy::validate::{FileKind, PolicySource, validate_sources};

const MIB: usize = 1 << 20;
const CASE_VAR: &str = "APPFLOW_RETRY_HOSTILE_CASE";

/// The cases: a name and the file's text.
fn cases() -> Vec<(&'static str, String)> {
    let mut laughs = String::from(
        "flow: bomb\nx0: &x0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for i in 1..30 {
        laughs.push_str(&format!(
            "x{i}: &x{i} [{}]\n",
            vec![format!("*x{}", i - 1); 10].join(",")
        ));
    }
    let keys: String = (0..).map(|i| format!("k{i:07}: 1\n")).take_while_len(MIB);
    let long_string = format!("flow: \"{}\"\n", "x".repeat(MIB - 16));
    // Just under the SSM limit: as many classes of near-limit patterns as fit.
    let mut classes = String::from("flow: f\nerror_classes:\n");
    let mut i = 0;
    while classes.len() < 8 * 1024 - 700 {
        classes.push_str(&format!(
            "  - name: c{i}\n    patterns: [\"(\\\\w{{1,50}}x){{1,8}}|{}\"]\n",
            "a".repeat(400)
        ));
        i += 1;
    }
    // The most patterns a class may have, each as costly as fits.
    let mut patterns = String::from("flow: f\nerror_classes:\n  - name: many\n    patterns:\n");
    for i in 0..50 {
        patterns.push_str(&format!("      - \"\\\\w{{1,20}}[a-z]{{1,20}}\\\\d+{i}\"\n"));
    }
    // The most classes a policy may have, each just under the compiled bound.
    let mut heavy = String::from("flow: f\nerror_classes:\n");
    for i in 0..32 {
        heavy.push_str(&format!("  - {{name: c{i}, patterns: [\"\\\\w{{10}}x{i}\"]}}\n"));
    }
    vec![
        ("alias bomb (30 levels)", laughs),
        ("32 classes just under the bound", heavy),
        ("1 MiB of [ (nesting)", "[".repeat(MIB)),
        ("1 MiB of {a: (nesting)", "{a: ".repeat(MIB / 4)),
        ("1 MiB of unknown keys", keys),
        ("1 MiB string value", long_string),
        ("8 KB of near-limit classes", classes),
        ("50 patterns in one class", patterns),
    ]
}

trait TakeWhileLen {
    fn take_while_len(self, max: usize) -> String;
}

impl<I: Iterator<Item = String>> TakeWhileLen for I {
    fn take_while_len(self, max: usize) -> String {
        let mut out = String::new();
        for s in self {
            if out.len() + s.len() > max {
                break;
            }
            out.push_str(&s);
        }
        out
    }
}

/// Peak resident memory of this process, in KiB (Linux).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// In the child: validate one case both ways, print "<ms> <kib> <problems>".
fn run_case(index: usize) {
    let (_, text) = cases().swap_remove(index);
    let start = Instant::now();
    let sources = [PolicySource {
        file: "flows/hostile.yaml".into(),
        text: text.clone(),
        kind: FileKind::Flow,
    }];
    let validated = validate_sources(&sources, None);
    let lambda = FlowPolicy::from_texts("f", Some(("/p/default", "{}")), Some(("/p/flows/f", &text)));
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    let problems = validated.diagnostics.len() + usize::from(lambda.usable().is_none());
    println!("{ms:.1} {} {problems}", peak_rss_kib().unwrap_or(0));
}

fn main() {
    if let Ok(i) = std::env::var(CASE_VAR) {
        run_case(i.parse().unwrap());
        return;
    }
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let exe = std::env::current_exe().unwrap();
    println!("hostile policy files (validate + Lambda resolution, fresh process each):");
    println!(
        "{:<34} {:>10} {:>11} {:>9} {:>9}",
        "case", "bytes", "time ms", "peak MiB", "problems"
    );
    let mut worst = (0.0f64, 0u64);
    for (i, (name, text)) in cases().iter().enumerate() {
        let out = Command::new(&exe).env(CASE_VAR, i.to_string()).output().unwrap();
        let line = String::from_utf8_lossy(&out.stdout);
        let mut parts = line.split_whitespace();
        let ms: f64 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(f64::NAN);
        let kib: u64 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        let problems = parts.next().unwrap_or("?");
        println!(
            "{name:<34} {:>10} {ms:>11.1} {:>9.1} {problems:>9}",
            text.len(),
            kib as f64 / 1024.0
        );
        worst = (worst.0.max(ms), worst.1.max(kib));
    }
    println!(
        "worst: {:.1} ms, {:.1} MiB peak (targets: < 1000 ms, < 64 MiB)",
        worst.0,
        worst.1 as f64 / 1024.0
    );
}
