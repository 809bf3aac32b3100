//! Hostile policy texts (issue #8, items 1 and 2): through the Lambda's path
//! (`FlowPolicy::from_texts`, as the SSM cache resolves a flow) and the CLI's
//! (`validate_sources`, as `appflow-retry validate` checks files). A text that
//! is wrong makes the flow's policy Broken, with a diagnostic naming the
//! parameter, the line (and the column where it points at something a person
//! reads) and the field; it is never Usable and never panics. Whatever the
//! Lambda refuses, the CLI reports too (docs/design.md §6.1: "validate runs
//! exactly the Lambda's checks").
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failure report

use std::time::{Duration, Instant};

use appflow_retry_policy::naming::{default_parameter, flow_parameter};
use appflow_retry_policy::yaml::YamlDoc;
use appflow_retry_policy::{
    Action, BrokenPolicy, Diagnostic, FailureEvent, FileKind, FlowPolicy, PolicySource, Precheck, ResolvedPolicy,
    precheck, validate_sources,
};

mod corpus;
use corpus::{Case, DEFAULT_TEXT, FLOW};

const PREFIX: &str = "/appflow-retry";

/// A hang or an amplification shows up as seconds; a debug build parses
/// any of these texts in milliseconds.
const TIME_BOUND: Duration = Duration::from_secs(5);

fn default_name() -> String {
    default_parameter(PREFIX)
}

fn flow_name(flow: &str) -> String {
    flow_parameter(PREFIX, flow)
}

/// The Lambda's path: the texts of `<prefix>/default` and `<prefix>/flows/<flow>`.
fn lambda(flow: &str, default: Option<&str>, flow_text: Option<&str>) -> FlowPolicy {
    let (dn, fname) = (default_name(), flow_name(flow));
    let started = Instant::now();
    let p = FlowPolicy::from_texts(
        flow,
        default.map(|t| (dn.as_str(), t)),
        flow_text.map(|t| (fname.as_str(), t)),
    );
    assert!(
        started.elapsed() < TIME_BOUND,
        "from_texts took {:?}",
        started.elapsed()
    );
    p
}

/// The CLI's path: the same texts as a policy set, every problem reported.
fn cli(flow: &str, default: Option<&str>, flow_text: Option<&str>) -> Vec<Diagnostic> {
    let mut sources = Vec::new();
    if let Some(text) = default {
        sources.push(PolicySource {
            file: default_name(),
            text: text.to_owned(),
            kind: FileKind::Default,
        });
    }
    if let Some(text) = flow_text {
        sources.push(PolicySource {
            file: flow_name(flow),
            text: text.to_owned(),
            kind: FileKind::Flow,
        });
    }
    let started = Instant::now();
    let v = validate_sources(&sources, None);
    assert!(
        started.elapsed() < TIME_BOUND,
        "validate_sources took {:?}",
        started.elapsed()
    );
    v.diagnostics
}

fn usable(p: FlowPolicy) -> ResolvedPolicy {
    match p {
        FlowPolicy::Usable(p) => p,
        FlowPolicy::Broken(b) => panic!("broken: {b:#?}"),
    }
}

fn broken(p: FlowPolicy, what: &str) -> BrokenPolicy {
    match p {
        FlowPolicy::Usable(p) => panic!("{what}: usable, from {} ({:?})", p.source, p.policy),
        FlowPolicy::Broken(b) => b,
    }
}

fn check_diagnostic(case: &Case, role: &str, d: &Diagnostic, file: &str, line: usize) {
    assert_eq!(d.file, file, "{} ({role}): {d}", case.name);
    assert_eq!(d.position.line, line, "{} ({role}): {d}", case.name);
    if let Some(column) = case.column {
        assert_eq!(d.position.column, column, "{} ({role}): {d}", case.name);
    }
    for needle in case.needles {
        assert!(
            d.message.contains(needle),
            "{} ({role}): {d} lacks {needle:?}",
            case.name
        );
    }
}

/// The case as a flow file over a usable default, then as the default:
/// Broken, located and named, in both paths, and the two agree.
fn assert_refused(case: &Case) {
    // As the flow's parameter.
    let text = format!("flow: {FLOW}\n{}", case.body);
    let b = broken(lambda(FLOW, Some(DEFAULT_TEXT), Some(&text)), case.name);
    let param = flow_name(FLOW);
    assert_eq!(b.source, param, "{}", case.name);
    let first = b
        .problems
        .first()
        .unwrap_or_else(|| panic!("{}: no problem", case.name));
    check_diagnostic(case, "flow", first, &param, case.line + 1);
    assert!(
        b.summary().starts_with(&format!("{param}:{}:", case.line + 1)),
        "{}: {}",
        case.name,
        b.summary()
    );
    let diags = cli(FLOW, Some(DEFAULT_TEXT), Some(&text));
    assert_eq!(diags, b.problems, "{}: the CLI and the Lambda disagree", case.name);

    // As the default: every flow is Broken, naming the default.
    let b = broken(lambda(FLOW, Some(&case.body), None), case.name);
    assert_eq!(b.source, default_name(), "{}", case.name);
    check_diagnostic(case, "default", &b.problems[0], &default_name(), case.line);
    let with_flow_file = broken(
        lambda(FLOW, Some(&case.body), Some(&format!("flow: {FLOW}\n"))),
        case.name,
    );
    assert_eq!(with_flow_file.source, default_name(), "{}", case.name);
    let diags = cli(FLOW, Some(&case.body), None);
    assert_eq!(diags, b.problems, "{}: the CLI and the Lambda disagree", case.name);
}

fn run_cases(cases: &[Case]) {
    for c in cases {
        assert_refused(c);
    }
}

#[test]
fn wrong_scalar_types_are_refused() {
    run_cases(&corpus::wrong_scalar_types());
}

#[test]
fn bad_reactivate_sections_are_refused() {
    run_cases(&corpus::bad_reactivate_sections());
}

#[test]
fn unknown_keys_are_refused_at_every_depth() {
    run_cases(&corpus::unknown_keys());
}

#[test]
fn bad_durations_are_refused() {
    run_cases(&corpus::bad_durations());
}

#[test]
fn unknown_classes_are_refused() {
    run_cases(&corpus::unknown_classes());
}

#[test]
fn anchors_aliases_merge_keys_and_tags_are_refused() {
    run_cases(&corpus::anchors_aliases_and_tags());
}

/// A few hundred bytes of nested aliases would expand to gigabytes: refused
/// at the first anchor, before anything is expanded.
#[test]
fn a_billion_laughs_is_refused_at_once() {
    let body = corpus::billion_laughs();
    let started = Instant::now();
    assert_refused(&Case {
        name: "billion laughs",
        body,
        line: 1,
        column: None,
        needles: &["anchors"],
    });
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
}

/// Nesting deeper than 16 is refused by the first pass, quickly, whether
/// in flow or block style.
#[test]
fn deep_nesting_is_refused_quickly() {
    let cases = corpus::deep_nesting();
    for (text, what) in cases {
        let started = Instant::now();
        let err = YamlDoc::parse("f.yaml", &text).map(|_| ()).unwrap_err();
        assert!(started.elapsed() < TIME_BOUND, "{what}: {:?}", started.elapsed());
        assert!(
            err.message.contains("nested deeper than 16") || err.message.starts_with("invalid YAML"),
            "{what}: {err}"
        );
        let b = broken(lambda(FLOW, Some(DEFAULT_TEXT), Some(&text)), what);
        assert_eq!(b.source, flow_name(FLOW));
        assert!(!cli(FLOW, Some(DEFAULT_TEXT), Some(&text)).is_empty(), "{what}");
    }
    let err = YamlDoc::parse("f.yaml", &"[".repeat(200)).map(|_| ()).unwrap_err();
    assert_eq!(
        (err.position.line, err.message.as_str()),
        (1, "nested deeper than 16 levels: no policy is")
    );
}

/// 1 MiB of `[` (the largest text read at all): the first pass is meant to
/// refuse it without expanding anything (docs/design.md §6.2: the worst file
/// of at most 1 MiB validates in well under a second).
#[test]
fn a_mebibyte_of_brackets_returns_quickly() {
    let text = corpus::mebibyte_of_brackets();
    let started = Instant::now();
    let err = YamlDoc::parse("f.yaml", &text).map(|_| ()).unwrap_err();
    let took = started.elapsed();
    assert!(took < TIME_BOUND, "YamlDoc::parse took {took:?}: {err}");
    let b = broken(lambda(FLOW, Some(DEFAULT_TEXT), Some(&text)), "1 MiB of [");
    assert_eq!(b.source, flow_name(FLOW));
    assert!(!cli(FLOW, Some(DEFAULT_TEXT), Some(&text)).is_empty());
}

#[test]
fn oversized_texts_and_values_are_refused() {
    // A value over 8 KB makes the file too big for SSM: refused as a whole.
    let [text, padded, huge] = corpus::oversized();
    let b = broken(lambda(FLOW, Some(DEFAULT_TEXT), Some(&text)), "9 KB pattern");
    assert_eq!(b.problems[0].position.line, 1);
    assert!(
        b.problems[0].message.contains("an SSM parameter holds at most 8192"),
        "{}",
        b.summary()
    );
    assert_eq!(cli(FLOW, Some(DEFAULT_TEXT), Some(&text)), b.problems);
    // Padding (a comment) counts too.
    let b = broken(lambda(FLOW, Some(DEFAULT_TEXT), Some(&padded)), "9 KB comment");
    assert!(b.problems[0].message.contains("bytes"), "{}", b.summary());
    // A text over 1 MiB is not parsed at all.
    let started = Instant::now();
    let err = YamlDoc::parse("f.yaml", &huge).map(|_| ()).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(err.message.contains("8 KB"), "{err}");
    broken(lambda(FLOW, Some(DEFAULT_TEXT), Some(&huge)), "over 1 MiB");
    // Under 8 KB, a pattern over 512 characters is refused where it is.
    assert_refused(&Case {
        name: "600-character pattern",
        body: corpus::long_pattern(),
        line: 4,
        column: Some(9),
        needles: &["pattern is 600 characters; at most 512"],
    });
}

/// Patterns that compile one by one can exceed the compiled-size limit once
/// joined into the class's one regex, as the Lambda compiles them.
#[test]
fn a_class_whose_joined_patterns_compile_too_large_is_refused() {
    let patterns = corpus::joined_patterns();
    for p in &patterns {
        let one = p.trim().trim_start_matches("- ").trim_matches('\'');
        assert_eq!(
            appflow_retry_policy::classify::check_pattern(one),
            Ok(()),
            "{one} alone"
        );
    }
    let body = corpus::joined_patterns_too_large();
    assert_refused(&Case {
        name: "joined patterns too large",
        body,
        line: 5,
        column: Some(5),
        needles: &["the class's 10 patterns together compile larger than"],
    });
    // The diagnostic is on error_classes[1].patterns: the class's `patterns` key.
    let text = format!(
        "flow: {FLOW}\nerror_classes:\n  - name: sf_big\n    patterns:\n{}",
        patterns.concat()
    );
    let b = broken(lambda(FLOW, Some(DEFAULT_TEXT), Some(&text)), "too large");
    assert_eq!(b.problems.len(), 1, "{:?}", b.problems);
    assert_eq!((b.problems[0].position.line, b.problems[0].position.column), (4, 5));
}

#[test]
fn invalid_and_empty_regexes_are_refused() {
    run_cases(&corpus::bad_regexes());
}

#[test]
fn unicode_class_names_are_refused_and_unicode_patterns_work() {
    run_cases(&corpus::unicode_class_names());
    // Patterns are data: RTL and zero-width characters match themselves.
    let text = format!(
        "flow: {FLOW}\nerror_classes:\n  - name: sf_hidden\n    patterns: [\"\u{202e}LIMIT\u{200b}X\", \"ré-essai\"]\n"
    );
    let p = usable(lambda(FLOW, Some(DEFAULT_TEXT), Some(&text)));
    assert!(cli(FLOW, Some(DEFAULT_TEXT), Some(&text)).is_empty());
    assert_eq!(p.classifier.classify("oops \u{202e}limit\u{200b}x here"), "sf_hidden");
    assert_eq!(p.classifier.classify("RÉ-ESSAI plus tard"), "sf_hidden");
    assert_eq!(
        p.classifier.classify("LIMITX"),
        "unknown",
        "the invisible characters count"
    );
}

#[test]
fn non_ascii_flow_names_resolve_for_their_own_flow_only() {
    let flow = "ventes-été";
    let text = format!("flow: \"{flow}\"\nmax_retries: 7\n");
    let p = usable(lambda(flow, Some(DEFAULT_TEXT), Some(&text)));
    assert_eq!((p.source.as_str(), p.policy.max_retries), (flow_name(flow).as_str(), 7));
    assert!(p.source.is_ascii(), "{}", p.source);
    // The same file stored under another flow's parameter is broken there.
    let b = broken(lambda(FLOW, Some(DEFAULT_TEXT), Some(&text)), "other flow");
    assert_eq!(b.source, flow_name(FLOW));
    assert!(b.summary().contains("names another flow"), "{}", b.summary());
}

/// A BOM before a valid policy: usable, in both paths.
fn check_bom_is_read_as_text_start() {
    // Editors on Windows write one; serde_yaml must not see a second document.
    let body = "max_retries: 3\nbackoff:\n  jitter: none\n";
    let text = format!("\u{feff}flow: {FLOW}\n{body}");
    let p = usable(lambda(FLOW, Some(DEFAULT_TEXT), Some(&text)));
    assert_eq!(p.policy.max_retries, 3);
    assert!(cli(FLOW, Some(DEFAULT_TEXT), Some(&text)).is_empty());
    let p = usable(lambda(FLOW, Some(&format!("\u{feff}{body}")), None));
    assert_eq!(p.policy.max_retries, 3);
}

#[test]
fn a_byte_order_mark_does_not_break_a_valid_policy() {
    check_bom_is_read_as_text_start();
}

/// Whatever a BOM does to a valid file, it never makes a wrong one usable.
#[test]
fn a_byte_order_mark_never_hides_a_problem() {
    for text in corpus::byte_order_mark_before_a_problem() {
        let b = broken(lambda(FLOW, Some(DEFAULT_TEXT), Some(&text)), &text);
        assert_eq!(b.source, flow_name(FLOW));
        assert_eq!(cli(FLOW, Some(DEFAULT_TEXT), Some(&text)), b.problems);
    }
}

#[test]
fn crlf_line_endings_are_fine() {
    let text = format!("flow: {FLOW}\r\nmax_retries: 3\r\nbackoff:\r\n  jitter: none\r\n  initial_delay: 5m\r\n");
    let p = usable(lambda(FLOW, Some(DEFAULT_TEXT), Some(&text)));
    assert_eq!(p.source, flow_name(FLOW));
    assert_eq!(
        (p.policy.max_retries, p.policy.backoff.initial_delay.as_secs()),
        (3, 300)
    );
    assert!(cli(FLOW, Some(DEFAULT_TEXT), Some(&text)).is_empty());
    // Positions still count lines, not carriage returns.
    let b = broken(
        lambda(
            FLOW,
            Some(DEFAULT_TEXT),
            Some(&format!("flow: {FLOW}\r\n\r\nenabled: no\r\n")),
        ),
        "crlf",
    );
    assert_eq!((b.problems[0].position.line, b.problems[0].position.column), (3, 10));
}

#[test]
fn nul_bytes_duplicate_keys_and_several_documents_are_refused() {
    for (name, text, needle) in corpus::malformed_documents() {
        let b = broken(lambda(FLOW, Some(DEFAULT_TEXT), Some(&text)), name);
        assert_eq!(b.source, flow_name(FLOW), "{name}");
        assert!(b.summary().contains(needle), "{name}: {}", b.summary());
        assert_eq!(cli(FLOW, Some(DEFAULT_TEXT), Some(&text)), b.problems, "{name}");
    }
}

/// A repeated key is at a known line: the diagnostic says which.
#[test]
fn duplicate_keys_are_located() {
    for (text, line) in [
        (format!("flow: {FLOW}\nmax_retries: 3\nmax_retries: 4\n"), 3),
        (format!("flow: {FLOW}\nbackoff:\n  jitter: none\n  jitter: full\n"), 4),
        (format!("flow: {FLOW}\nflow: {FLOW}\n"), 2),
    ] {
        let b = broken(lambda(FLOW, Some(DEFAULT_TEXT), Some(&text)), "located");
        assert_eq!(b.problems[0].position.line, line, "{text:?}: {}", b.summary());
    }
}

/// A NUL byte is at a known line and column too.
#[test]
fn nul_bytes_are_located() {
    for (text, line, column) in [
        (format!("flow: {FLOW}\nmax_retries: 3\0\n"), 2, 15),
        (format!("flow: {FLOW}\n\n\0"), 3, 1),
    ] {
        let b = broken(lambda(FLOW, Some(DEFAULT_TEXT), Some(&text)), "located");
        let at = b.problems[0].position;
        assert_eq!((at.line, at.column), (line, column), "{text:?}: {}", b.summary());
    }
}

#[test]
fn a_flow_file_that_names_another_flow_or_none_is_broken() {
    for (text, needle) in corpus::wrong_or_no_flow() {
        let b = broken(lambda(FLOW, Some(DEFAULT_TEXT), Some(&text)), &text);
        assert_eq!(b.source, flow_name(FLOW), "{text:?}");
        assert!(b.summary().contains(needle), "{text:?}: {}", b.summary());
        assert!(
            b.summary().starts_with(&format!("{}:", flow_name(FLOW))),
            "{}",
            b.summary()
        );
        // The CLI reads a file's flow from the file (its name is free), so a
        // file naming another flow is that flow's file there, not a problem;
        // the deploy path names each parameter after the file's `flow`.
        if needle != "names another flow" {
            assert!(!cli(FLOW, Some(DEFAULT_TEXT), Some(&text)).is_empty(), "{text:?}");
        }
    }
}

#[test]
fn a_broken_default_breaks_every_flow_and_names_the_default() {
    for default in [
        "enabled: no\n",
        "backoff: [\n",
        "flow: sf-accounts\n",
        "max_retries: *a\n",
        "skip_errors: [nope]\n",
    ] {
        for (flow, flow_text) in [
            ("sf-accounts", Some("flow: sf-accounts\nmax_retries: 1\n")),
            ("sf-contacts", None),
            ("sf-leads", Some("flow: sf-leads\nenabled: false\n")),
            ("sf-broken", Some("flow: sf-broken\nenabled: nope\n")),
        ] {
            let b = broken(lambda(flow, Some(default), flow_text), default);
            assert_eq!(b.source, default_name(), "{default:?} / {flow}");
            assert!(!b.problems.is_empty());
            assert!(b.problems.iter().all(|d| d.file == default_name()), "{:?}", b.problems);
            assert!(!cli(flow, Some(default), flow_text).is_empty());
        }
    }
    // A missing default is the built-in defaults, not a broken one.
    let p = usable(lambda(FLOW, None, None));
    assert_eq!(p.source, "default");
}

/// A broken policy's decision: skip, always notified, naming the parameter
/// and the line; never a restart (docs/design.md §4, policy resolution).
#[test]
fn a_broken_policy_decides_a_notified_skip_naming_the_place() {
    let text = format!("flow: {FLOW}\nnotify: []\nenabled: no\n");
    let policy = lambda(FLOW, Some(DEFAULT_TEXT), Some(&text));
    let event = FailureEvent {
        flow_name: FLOW.into(),
        execution_id: "run-1".into(),
        trigger_type: Some("ONDEMAND".into()),
        status: Some("Execution Failed".into()),
        error: Some("Read timed out".into()),
        start_time: None,
        time: Some(chrono::DateTime::UNIX_EPOCH),
    };
    let Precheck::Decided(d) = precheck(&event, &policy) else {
        panic!("a broken policy needs no history");
    };
    assert_eq!((d.action, d.notify, d.max_retries), (Action::Skip, true, 0));
    assert_eq!((d.attempt, d.error_class.as_deref()), (None, None));
    assert!(d.notify_on.is_empty());
    assert_eq!(d.policy, flow_name(FLOW));
    assert!(
        d.reason.contains(&format!("{}:3:10: enabled", flow_name(FLOW))),
        "{}",
        d.reason
    );
}

/// What the schema rejects as a wrong type, the Lambda's typed model must
/// refuse too: a null is not a boolean, a number or a list, and reading it
/// as "not set" inherits a more permissive value from the default.
#[test]
fn null_values_are_refused() {
    for (body, field) in corpus::null_values() {
        let text = format!("flow: {FLOW}\n{body}");
        let b = broken(lambda(FLOW, Some("enabled: true\n"), Some(&text)), body);
        assert_eq!(b.source, flow_name(FLOW));
        assert!(
            b.problems[0].message.starts_with(&format!("{field}: no value")),
            "{body:?}: {}",
            b.summary()
        );
        assert_eq!(cli(FLOW, Some("enabled: true\n"), Some(&text)), b.problems, "{body:?}");
        // As the default, too.
        let b = broken(lambda(FLOW, Some(body), None), body);
        assert_eq!(b.source, default_name());
    }
}

/// A null's diagnostic points at its key: an empty value has no place of its own.
#[test]
fn null_values_are_located_at_their_key() {
    for (body, line, column) in [
        ("enabled:\n", 2, 1),
        ("enabled:\nmax_retries: 3\n", 2, 1),
        ("backoff:\n  max_delay:\n  jitter: none\n", 3, 3),
    ] {
        let text = format!("flow: {FLOW}\n{body}");
        let b = broken(lambda(FLOW, Some("enabled: true\n"), Some(&text)), body);
        let at = b.problems[0].position;
        assert_eq!((at.line, at.column), (line, column), "{body:?}: {}", b.summary());
    }
}

/// Every case above that the Lambda refuses, the CLI reports: the cases run
/// through both paths in `assert_refused`; this checks the opposite
/// direction on valid texts (what validate accepts, the Lambda uses).
#[test]
fn what_validate_accepts_the_lambda_uses() {
    for text in [
        format!("flow: {FLOW}\n"),
        format!("# yaml-language-server: $schema=../schema.json\nflow: {FLOW}\nenabled: false\n"),
        format!(
            "flow: \"{FLOW}\"\nmax_retries: 100\nretry_window: 30d\nbackoff:\n  strategy: linear\n  initial_delay: 1s\n  max_delay: 30d\n  multiplier: 10\n  jitter: equal\nskip_errors: []\nerror_classes:\n  - name: sf_limit\n    patterns: ['REQUEST_LIMIT_EXCEEDED', '(?i)total\\s+requests']\noverrides:\n  sf_limit:\n    max_retries: 0\n    backoff: {{strategy: fixed}}\n  unknown:\n    retry_window: 1s\nnotify: [retry, give_up, skip]\n"
        ),
        format!("{{flow: {FLOW}, max_retries: 2}}\n"),
    ] {
        assert!(cli(FLOW, Some(DEFAULT_TEXT), Some(&text)).is_empty(), "{text}");
        let p = usable(lambda(FLOW, Some(DEFAULT_TEXT), Some(&text)));
        assert_eq!(p.source, flow_name(FLOW));
    }
}

/// In a policy set, a flow file whose flow cannot be read may be any flow's
/// (its name is free): every flow resolves broken, naming that file, as the
/// Lambda would with its text as the flow's parameter (issue 16, item 3).
#[test]
fn a_flow_file_whose_flow_cannot_be_read_breaks_every_flow() {
    for (what, text) in [
        ("alias bomb", corpus::billion_laughs()),
        ("deep nesting", "[".repeat(200)),
        ("duplicate key", "max_retries: 3\nmax_retries: 4\n".to_owned()),
        ("no flow", "max_retries: 9\n".to_owned()),
        ("flow not a string", "flow: [sf-accounts]\n".to_owned()),
    ] {
        let source = |file: &str, text: &str, kind| PolicySource {
            file: file.into(),
            text: text.into(),
            kind,
        };
        let v = validate_sources(
            &[
                source("default.yaml", DEFAULT_TEXT, FileKind::Default),
                source("flows/contacts.yaml", "flow: sf-contacts\n", FileKind::Flow),
                source("flows/sf-accounts.yaml", &text, FileKind::Flow),
            ],
            None,
        );
        assert_eq!(v.unattributed, ["flows/sf-accounts.yaml"], "{what}");
        for flow in [FLOW, "sf-contacts", "sf-leads"] {
            let b = broken(v.resolve(flow), what);
            assert_eq!(b.source, "flows/sf-accounts.yaml", "{what}: {flow}");
            assert!(
                b.summary().starts_with("flows/sf-accounts.yaml:"),
                "{what}: {}",
                b.summary()
            );
        }
    }
}
