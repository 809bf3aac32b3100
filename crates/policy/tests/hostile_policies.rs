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

const PREFIX: &str = "/appflow-retry";
const FLOW: &str = "sf-accounts";
/// A usable default, so that a flow file's problems are its own.
const DEFAULT_TEXT: &str = "max_retries: 4\nbackoff: {jitter: none}\n";

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

/// One hostile text. `body` has no `flow:` line: the flow file is
/// `flow: <FLOW>` followed by it (one line down), the default is `body` itself.
struct Case {
    name: &'static str,
    body: String,
    /// Where the first problem is, in `body`'s lines.
    line: usize,
    /// The column, where it is a stable place (the value or the key).
    column: Option<usize>,
    /// What the first problem's message must contain: the field, the problem.
    needles: &'static [&'static str],
}

fn case(name: &'static str, body: &str, line: usize, column: Option<usize>, needles: &'static [&'static str]) -> Case {
    Case {
        name,
        body: body.to_owned(),
        line,
        column,
        needles,
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
    run_cases(&[
        case(
            "yaml 1.1 boolean",
            "enabled: no\n",
            1,
            Some(10),
            &["enabled", "expected a boolean"],
        ),
        case(
            "quoted boolean",
            "enabled: \"true\"\n",
            1,
            Some(10),
            &["enabled", "expected a boolean"],
        ),
        case(
            "quoted number",
            "max_retries: \"3\"\n",
            1,
            Some(14),
            &["max_retries", "string \"3\""],
        ),
        case("fraction", "max_retries: 3.5\n", 1, Some(14), &["max_retries", "3.5"]),
        case("negative", "max_retries: -1\n", 1, Some(14), &["max_retries", "-1"]),
        case(
            "exponent",
            "max_retries: 1e3\n",
            1,
            Some(14),
            &["max_retries", "floating point"],
        ),
        case(
            "out of range",
            "max_retries: 101\n",
            1,
            Some(14),
            &["max_retries is 101"],
        ),
        case(
            "list for a number",
            "max_retries:\n  - 1\n",
            1,
            Some(1),
            &["max_retries", "sequence"],
        ),
        case(
            "string for a list",
            "skip_errors: auth\n",
            1,
            Some(14),
            &["skip_errors", "expected a sequence"],
        ),
        case(
            "string for notify",
            "notify: give_up\n",
            1,
            Some(9),
            &["notify", "expected a sequence"],
        ),
        case(
            "unknown notify value",
            "notify: [retry, recovering]\n",
            1,
            None,
            &["notify", "recovering"],
        ),
        case(
            "unknown strategy",
            "backoff:\n  strategy: fast\n",
            2,
            Some(13),
            &["backoff.strategy", "fast"],
        ),
        case(
            "multiplier range",
            "backoff:\n  multiplier: 11\n",
            2,
            Some(15),
            &["multiplier is 11"],
        ),
        case(
            "mapping for a string",
            "error_classes:\n  - name: {a: 1}\n    patterns: [x]\n",
            2,
            None,
            &["error_classes[0].name"],
        ),
    ]);
}

#[test]
fn bad_reactivate_sections_are_refused() {
    run_cases(&[
        case(
            "reactivate yaml 1.1 boolean",
            "reactivate:\n  enabled: yes\n",
            2,
            Some(12),
            &["reactivate.enabled", "expected a boolean"],
        ),
        case(
            "reactivate unknown key",
            "reactivate:\n  enabled: true\n  max_reactivation: 2\n",
            3,
            Some(3),
            &["reactivate.max_reactivation", "unknown field"],
        ),
        case(
            "reactivate out of range",
            "reactivate:\n  max_reactivations: 101\n",
            2,
            Some(22),
            &["max_reactivations is 101"],
        ),
        case(
            "reactivate backoff unknown key",
            "reactivate:\n  backoff:\n    delay: 3s\n",
            3,
            Some(5),
            &["reactivate.backoff.delay", "unknown field"],
        ),
        case(
            "reactivate backoff bare number",
            "reactivate:\n  backoff:\n    initial_delay: 90\n",
            3,
            None,
            &["reactivate.backoff.initial_delay", "90s"],
        ),
        case(
            "reactivate max_delay below initial_delay",
            "reactivate:\n  backoff:\n    initial_delay: 10m\n    max_delay: 1m\n",
            4,
            None,
            &["max_delay (1m) is less than initial_delay (10m)"],
        ),
        case(
            "reactivate as a list",
            "reactivate: [enabled]\n",
            1,
            None,
            &["reactivate"],
        ),
    ]);
}

#[test]
fn unknown_keys_are_refused_at_every_depth() {
    run_cases(&[
        case("top", "max_retry: 3\n", 1, Some(1), &["unknown field `max_retry`"]),
        case(
            "backoff",
            "backoff:\n  strategy: fixed\n  delay: 3s\n",
            3,
            Some(3),
            &["backoff.delay", "unknown field `delay`"],
        ),
        case(
            "overrides.<class>",
            "overrides:\n  throttling:\n    max_retry: 3\n",
            3,
            Some(5),
            &["overrides.throttling.max_retry", "unknown field"],
        ),
        case(
            "overrides.<class>.backoff",
            "overrides:\n  throttling:\n    backoff:\n      jiter: none\n",
            4,
            Some(7),
            &["overrides.throttling.backoff.jiter", "unknown field"],
        ),
        case(
            "error_classes[i]",
            "error_classes:\n  - name: sf_limit\n    patterns: [x]\n  - name: sf_lock\n    patterns: [y]\n    pattern: z\n",
            6,
            Some(5),
            &["error_classes[1].pattern", "unknown field `pattern`"],
        ),
    ]);
}

#[test]
fn bad_durations_are_refused() {
    run_cases(&[
        case(
            "bare number",
            "retry_window: 90\n",
            1,
            Some(15),
            &["retry_window", "\"90\" has no unit", "90s"],
        ),
        case(
            "uppercase unit",
            "retry_window: 1H\n",
            1,
            Some(15),
            &["retry_window", "lowercase"],
        ),
        case(
            "units out of order",
            "retry_window: 1m1h\n",
            1,
            Some(15),
            &["retry_window", "order"],
        ),
        case(
            "past 365d",
            "retry_window: 366d\n",
            1,
            Some(15),
            &["retry_window is 366d; at most 365d"],
        ),
        case(
            "zero initial delay",
            "backoff:\n  initial_delay: 0s\n",
            2,
            Some(18),
            &["initial_delay must be at least 1s"],
        ),
        case(
            "empty",
            "retry_window: \"\"\n",
            1,
            Some(15),
            &["retry_window", "empty duration"],
        ),
        case(
            "fraction",
            "backoff:\n  max_delay: 1.5\n",
            2,
            Some(14),
            &["backoff.max_delay", "1.5"],
        ),
        case(
            "unknown unit",
            "backoff:\n  max_delay: 2w\n",
            2,
            Some(14),
            &["backoff.max_delay", "'w'"],
        ),
        case(
            "override past 365d",
            "overrides:\n  transient:\n    retry_window: 400d\n",
            3,
            Some(19),
            &["retry_window is 400d"],
        ),
        case(
            "override backoff inverted",
            "overrides:\n  throttling:\n    backoff:\n      initial_delay: 2h\n",
            4,
            None,
            &["max_delay (1h) is less than initial_delay (2h)"],
        ),
    ]);
}

#[test]
fn unknown_classes_are_refused() {
    run_cases(&[
        case(
            "skip_errors typo",
            "skip_errors: [auht]\n",
            1,
            Some(15),
            &["unknown error class \"auht\"", "\"auth\""],
        ),
        case(
            "overrides typo",
            "overrides:\n  throtling:\n    max_retries: 1\n",
            2,
            Some(3),
            &["\"throtling\"", "\"throttling\""],
        ),
        case(
            "overrides nonsense",
            "overrides:\n  nope:\n    max_retries: 1\n",
            2,
            Some(3),
            &["unknown error class \"nope\""],
        ),
        case(
            "skip a class defined nowhere",
            "error_classes:\n  - name: sf_limit\n    patterns: [x]\nskip_errors: [auth, sf_lock]\n",
            4,
            None,
            &["unknown error class \"sf_lock\""],
        ),
        case(
            "built-in name reused",
            "error_classes:\n  - name: throttling\n    patterns: [x]\n",
            2,
            Some(11),
            &["built-in class"],
        ),
    ]);
}

#[test]
fn anchors_aliases_merge_keys_and_tags_are_refused() {
    run_cases(&[
        case("anchor", "backoff: &b {jitter: none}\n", 1, None, &["anchors"]),
        case(
            "anchor and alias",
            "base: &a 3\nmax_retries: *a\n",
            1,
            None,
            &["anchors"],
        ),
        case(
            "merge key",
            "backoff: &base {jitter: none, strategy: fixed}\noverrides:\n  throttling:\n    backoff:\n      <<: *base\n",
            1,
            None,
            &["anchors"],
        ),
        case("alias alone", "max_retries: *a\n", 1, None, &[""]),
        case("core tag", "max_retries: !!int 3\n", 1, None, &["tags"]),
        case("str tag", "enabled: !!str false\n", 1, None, &["tags"]),
        case("custom tag", "backoff: !custom {jitter: none}\n", 1, None, &["tags"]),
    ]);
}

/// A few hundred bytes of nested aliases would expand to gigabytes: refused
/// at the first anchor, before anything is expanded.
#[test]
fn a_billion_laughs_is_refused_at_once() {
    let mut body =
        String::from("lol0: &l0 [\"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\"]\n");
    for i in 1..10 {
        let p = i - 1;
        body.push_str(&format!(
            "lol{i}: &l{i} [*l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}]\n"
        ));
    }
    body.push_str("max_retries: *l9\n");
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
    let deep_block: String = (0..100).map(|i| format!("{}-\n", " ".repeat(2 * i))).collect();
    let cases = [
        ("[".repeat(200), "flow sequences"),
        ("{a: ".repeat(200), "flow mappings"),
        (
            format!("{}x{}", "[".repeat(100), "]".repeat(100)),
            "closed flow sequences",
        ),
        ("- ".repeat(50_000), "block sequences"),
        (deep_block, "indented block sequences"),
    ];
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
    let text = "[".repeat(1 << 20);
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
    let big_pattern = "a".repeat(9_000);
    let text = format!("flow: {FLOW}\nerror_classes:\n  - name: sf_big\n    patterns: ['{big_pattern}']\n");
    let b = broken(lambda(FLOW, Some(DEFAULT_TEXT), Some(&text)), "9 KB pattern");
    assert_eq!(b.problems[0].position.line, 1);
    assert!(
        b.problems[0].message.contains("an SSM parameter holds at most 8192"),
        "{}",
        b.summary()
    );
    assert_eq!(cli(FLOW, Some(DEFAULT_TEXT), Some(&text)), b.problems);
    // Padding (a comment) counts too.
    let text = format!("flow: {FLOW}\n# {}\n", "x".repeat(9_000));
    let b = broken(lambda(FLOW, Some(DEFAULT_TEXT), Some(&text)), "9 KB comment");
    assert!(b.problems[0].message.contains("bytes"), "{}", b.summary());
    // A text over 1 MiB is not parsed at all.
    let text = format!("flow: {FLOW}\n# {}\n", "x".repeat((1 << 20) + 1));
    let started = Instant::now();
    let err = YamlDoc::parse("f.yaml", &text).map(|_| ()).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(err.message.contains("8 KB"), "{err}");
    broken(lambda(FLOW, Some(DEFAULT_TEXT), Some(&text)), "over 1 MiB");
    // Under 8 KB, a pattern over 512 characters is refused where it is.
    assert_refused(&Case {
        name: "600-character pattern",
        body: format!(
            "error_classes:\n  - name: sf_big\n    patterns:\n      - '{}'\n",
            "a".repeat(600)
        ),
        line: 4,
        column: Some(9),
        needles: &["pattern is 600 characters; at most 512"],
    });
}

/// Patterns that compile one by one can exceed the compiled-size limit once
/// joined into the class's one regex, as the Lambda compiles them.
#[test]
fn a_class_whose_joined_patterns_compile_too_large_is_refused() {
    let patterns: Vec<String> = (0..10).map(|i| format!("      - '\\w{{20}}x{i}\\w{{20}}'\n")).collect();
    for p in &patterns {
        let one = p.trim().trim_start_matches("- ").trim_matches('\'');
        assert_eq!(
            appflow_retry_policy::classify::check_pattern(one),
            Ok(()),
            "{one} alone"
        );
    }
    let body = format!(
        "error_classes:\n  - name: sf_ok\n    patterns: [x]\n  - name: sf_big\n    patterns:\n{}",
        patterns.concat()
    );
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
    run_cases(&[
        case(
            "unclosed group",
            "error_classes:\n  - name: sf_bad\n    patterns: [\"(\"]\n",
            3,
            Some(16),
            &["invalid regex", "unclosed group"],
        ),
        case(
            "second pattern bad",
            "error_classes:\n  - name: sf_bad\n    patterns:\n      - ok\n      - 'a{2,1}'\n",
            5,
            Some(9),
            &["invalid regex"],
        ),
        case(
            "empty pattern",
            "error_classes:\n  - name: sf_bad\n    patterns: [\"\"]\n",
            3,
            Some(16),
            &["empty pattern"],
        ),
        case(
            "no patterns",
            "error_classes:\n  - name: sf_bad\n    patterns: []\n",
            3,
            None,
            &["at least one pattern"],
        ),
    ]);
}

#[test]
fn unicode_class_names_are_refused_and_unicode_patterns_work() {
    run_cases(&[
        case(
            "zero-width in a class name",
            "error_classes:\n  - name: \"sf\u{200b}limit\"\n    patterns: [x]\n",
            2,
            Some(11),
            &["class name", "must match"],
        ),
        case(
            "right-to-left override in a class name",
            "error_classes:\n  - name: \"\u{202e}timil_fs\"\n    patterns: [x]\n",
            2,
            Some(11),
            &["class name"],
        ),
        case(
            "non-ASCII class in skip_errors",
            "skip_errors: [\"authé\"]\n",
            1,
            Some(15),
            &["unknown error class"],
        ),
    ]);
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
    for text in [
        format!("\u{feff}flow: {FLOW}\nenabled: no\n"),
        format!("\u{feff}flow: {FLOW}\nmax_retry: 3\n"),
        format!("\u{feff}flow: {FLOW}\nmax_retries: \"3\"\n"),
    ] {
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
    for (name, text, needle) in [
        (
            "NUL in a value",
            format!("flow: {FLOW}\nmax_retries: 3\0\n"),
            "control characters",
        ),
        ("NUL at the end", format!("flow: {FLOW}\n\0"), "control characters"),
        (
            "duplicate key",
            format!("flow: {FLOW}\nmax_retries: 3\nmax_retries: 4\n"),
            "`max_retries` (first at line 2)",
        ),
        (
            "duplicate nested key",
            format!("flow: {FLOW}\nbackoff:\n  jitter: none\n  jitter: full\n"),
            "`backoff.jitter` (first at line 3)",
        ),
        (
            "two documents",
            format!("flow: {FLOW}\n---\nflow: {FLOW}\n"),
            "more than one document",
        ),
        (
            "three document markers",
            format!("---\nflow: {FLOW}\n---\nmax_retries: 2\n---\n"),
            "more than one document",
        ),
    ] {
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
    for (text, needle) in [
        ("flow: sf-contacts\nmax_retries: 9\n".to_owned(), "names another flow"),
        ("max_retries: 9\n".to_owned(), "missing `flow`"),
        ("".to_owned(), "missing `flow`"),
        ("flow:\n".to_owned(), "flow"),
        ("flow: 3\n".to_owned(), "flow"),
        (format!("flow: [{FLOW}]\n"), "flow"),
        (format!("flow: {}\n", FLOW.to_uppercase()), "names another flow"),
    ] {
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
    for (body, field) in [
        ("enabled:\n", "enabled"),
        ("enabled: null\n", "enabled"),
        ("max_retries: ~\n", "max_retries"),
        ("skip_errors:\n", "skip_errors"),
        ("backoff:\n  max_delay:\n", "backoff.max_delay"),
        ("enabled:\nmax_retries: 3\n", "enabled"),
        ("overrides:\n  throttling:\n", "overrides.throttling"),
    ] {
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
            "flow: \"{FLOW}\"\nmax_retries: 100\nretry_window: 365d\nbackoff:\n  strategy: linear\n  initial_delay: 1s\n  max_delay: 365d\n  multiplier: 10\n  jitter: equal\nskip_errors: []\nerror_classes:\n  - name: sf_limit\n    patterns: ['REQUEST_LIMIT_EXCEEDED', '(?i)total\\s+requests']\noverrides:\n  sf_limit:\n    max_retries: 0\n    backoff: {{strategy: fixed}}\n  unknown:\n    retry_window: 1s\nnotify: [retry, give_up, skip]\n"
        ),
        format!("{{flow: {FLOW}, max_retries: 2}}\n"),
    ] {
        assert!(cli(FLOW, Some(DEFAULT_TEXT), Some(&text)).is_empty(), "{text}");
        let p = usable(lambda(FLOW, Some(DEFAULT_TEXT), Some(&text)));
        assert_eq!(p.source, flow_name(FLOW));
    }
}
