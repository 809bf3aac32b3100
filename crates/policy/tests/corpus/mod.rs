//! The hostile policy texts of the test corpus (issue #8), shared by
//! `hostile_policies.rs` (the Lambda's and `validate`'s paths) and the CLI's
//! `explain_agrees_with_the_lambda.rs` (`explain` and the Lambda's policy
//! cache decide the same action). Each generator returns texts; the tests
//! say what must happen to them.
#![allow(dead_code)] // each test file uses part of the corpus

/// The flow the corpus's flow files govern.
pub const FLOW: &str = "sf-accounts";
/// A usable default, so that a flow file's problems are its own.
pub const DEFAULT_TEXT: &str = "max_retries: 4\nbackoff: {jitter: none}\n";

/// One hostile text. `body` has no `flow:` line: the flow file is
/// `flow: <FLOW>` followed by it (one line down), the default is `body` itself.
pub struct Case {
    pub name: &'static str,
    pub body: String,
    /// Where the first problem is, in `body`'s lines.
    pub line: usize,
    /// The column, where it is a stable place (the value or the key).
    pub column: Option<usize>,
    /// What the first problem's message must contain: the field, the problem.
    pub needles: &'static [&'static str],
}

pub fn case(
    name: &'static str,
    body: &str,
    line: usize,
    column: Option<usize>,
    needles: &'static [&'static str],
) -> Case {
    Case {
        name,
        body: body.to_owned(),
        line,
        column,
        needles,
    }
}

pub fn wrong_scalar_types() -> Vec<Case> {
    vec![
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
    ]
}

pub fn bad_reactivate_sections() -> Vec<Case> {
    vec![
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
    ]
}

pub fn unknown_keys() -> Vec<Case> {
    vec![
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
    ]
}

pub fn bad_durations() -> Vec<Case> {
    vec![
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
            "past 30d",
            "retry_window: 31d\n",
            1,
            Some(15),
            &[
                "retry_window is 31d; at most 30d: Step Functions may keep a closed execution only 30 days, and its name is what stops a failure from being decided twice",
            ],
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
            "override past 30d",
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
    ]
}

pub fn unknown_classes() -> Vec<Case> {
    vec![
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
    ]
}

pub fn anchors_aliases_and_tags() -> Vec<Case> {
    vec![
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
    ]
}

pub fn bad_regexes() -> Vec<Case> {
    vec![
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
    ]
}

pub fn unicode_class_names() -> Vec<Case> {
    vec![
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
    ]
}

/// A few hundred bytes of nested aliases that would expand to gigabytes (a body).
pub fn billion_laughs() -> String {
    let mut body =
        String::from("lol0: &l0 [\"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\"]\n");
    for i in 1..10 {
        let p = i - 1;
        body.push_str(&format!(
            "lol{i}: &l{i} [*l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}]\n"
        ));
    }
    body.push_str("max_retries: *l9\n");
    body
}

/// Whole texts nested deeper than 16 levels, in flow and block style, each with what it is.
pub fn deep_nesting() -> Vec<(String, &'static str)> {
    let deep_block: String = (0..100).map(|i| format!("{}-\n", " ".repeat(2 * i))).collect();
    vec![
        ("[".repeat(200), "flow sequences"),
        ("{a: ".repeat(200), "flow mappings"),
        (
            format!("{}x{}", "[".repeat(100), "]".repeat(100)),
            "closed flow sequences",
        ),
        ("- ".repeat(50_000), "block sequences"),
        (deep_block, "indented block sequences"),
    ]
}

/// 1 MiB of `[`: the largest text read at all (a whole text).
pub fn mebibyte_of_brackets() -> String {
    "[".repeat(1 << 20)
}

/// Whole flow texts over the 8 KB an SSM parameter holds: a 9 KB pattern,
/// 9 KB of comment, and over 1 MiB (not parsed at all).
pub fn oversized() -> [String; 3] {
    let big_pattern = "a".repeat(9_000);
    [
        format!("flow: {FLOW}\nerror_classes:\n  - name: sf_big\n    patterns: ['{big_pattern}']\n"),
        format!("flow: {FLOW}\n# {}\n", "x".repeat(9_000)),
        format!("flow: {FLOW}\n# {}\n", "x".repeat((1 << 20) + 1)),
    ]
}

/// A body with a 600-character pattern (at most 512).
pub fn long_pattern() -> String {
    format!(
        "error_classes:\n  - name: sf_big\n    patterns:\n      - '{}'\n",
        "a".repeat(600)
    )
}

/// Ten patterns, each fine alone, that compile too large joined into one class.
pub fn joined_patterns() -> Vec<String> {
    (0..10).map(|i| format!("      - '\\w{{20}}x{i}\\w{{20}}'\n")).collect()
}

/// A body whose second class's joined patterns compile too large.
pub fn joined_patterns_too_large() -> String {
    format!(
        "error_classes:\n  - name: sf_ok\n    patterns: [x]\n  - name: sf_big\n    patterns:\n{}",
        joined_patterns().concat()
    )
}

/// Whole flow texts with NUL bytes, keys given twice, several documents:
/// (what it is, the text, what the first problem says).
pub fn malformed_documents() -> Vec<(&'static str, String, &'static str)> {
    vec![
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
    ]
}

/// Whole texts whose `flow` names another flow, is missing, or is not a
/// string: (text, what the problem says; `names another flow` for the
/// texts that govern another flow where the file decides).
pub fn wrong_or_no_flow() -> Vec<(String, &'static str)> {
    vec![
        ("flow: sf-contacts\nmax_retries: 9\n".to_owned(), "names another flow"),
        ("max_retries: 9\n".to_owned(), "missing `flow`"),
        ("".to_owned(), "missing `flow`"),
        ("flow:\n".to_owned(), "flow"),
        ("flow: 3\n".to_owned(), "flow"),
        (format!("flow: [{FLOW}]\n"), "flow"),
        (format!("flow: {}\n", FLOW.to_uppercase()), "names another flow"),
    ]
}

/// Bodies with a null value, each with the field it is at.
pub fn null_values() -> Vec<(&'static str, &'static str)> {
    vec![
        ("enabled:\n", "enabled"),
        ("enabled: null\n", "enabled"),
        ("max_retries: ~\n", "max_retries"),
        ("skip_errors:\n", "skip_errors"),
        ("backoff:\n  max_delay:\n", "backoff.max_delay"),
        ("enabled:\nmax_retries: 3\n", "enabled"),
        ("overrides:\n  throttling:\n", "overrides.throttling"),
    ]
}

/// Whole flow texts with a byte-order mark before a problem.
pub fn byte_order_mark_before_a_problem() -> Vec<String> {
    vec![
        format!("\u{feff}flow: {FLOW}\nenabled: no\n"),
        format!("\u{feff}flow: {FLOW}\nmax_retry: 3\n"),
        format!("\u{feff}flow: {FLOW}\nmax_retries: \"3\"\n"),
    ]
}

/// Every hostile text of the corpus as the whole text of a flow file for
/// [`FLOW`] (name, text), except those whose `flow` names another flow
/// (the file decides which flow it governs, so such a file is not
/// [`FLOW`]'s in a policy directory).
pub fn flow_texts() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let lists = [
        wrong_scalar_types(),
        bad_reactivate_sections(),
        unknown_keys(),
        bad_durations(),
        unknown_classes(),
        anchors_aliases_and_tags(),
        bad_regexes(),
        unicode_class_names(),
    ];
    let mut bodies: Vec<(String, String)> = lists
        .into_iter()
        .flatten()
        .map(|c| (c.name.to_owned(), c.body))
        .collect();
    bodies.push(("billion laughs".into(), billion_laughs()));
    bodies.push(("600-character pattern".into(), long_pattern()));
    bodies.push(("joined patterns too large".into(), joined_patterns_too_large()));
    for (body, field) in null_values() {
        bodies.push((format!("null {field}"), body.to_owned()));
    }
    for (name, body) in bodies {
        out.push((name.clone(), format!("flow: {FLOW}\n{body}")));
        // The same body with no `flow:` line: the file's flow cannot be read.
        out.push((format!("{name}, without flow"), body));
    }
    for (text, what) in deep_nesting() {
        out.push((format!("nesting: {what}"), text));
    }
    out.push(("1 MiB of [".into(), mebibyte_of_brackets()));
    for (text, what) in oversized()
        .into_iter()
        .zip(["9 KB pattern", "9 KB comment", "over 1 MiB"])
    {
        out.push((what.into(), text));
    }
    for (name, text, _) in malformed_documents() {
        out.push((name.into(), text));
    }
    for (text, needle) in wrong_or_no_flow() {
        if needle != "names another flow" {
            out.push((format!("flow {text:?}"), text));
        }
    }
    for text in byte_order_mark_before_a_problem() {
        out.push(("byte-order mark".into(), text));
    }
    out
}
