//! Error classification: which class a failure message belongs to.
//!
//! Custom classes (a policy's `error_classes`) are tried first, in order; then
//! the built-in classes below, in order; otherwise the class is `unknown`.
//! Every pattern is a regular expression matched case-insensitively anywhere
//! in the message.

use std::sync::LazyLock;

use regex::{Regex, RegexBuilder};

use crate::model::ErrorClassSpec;

/// The class of a message no pattern matches.
pub const UNKNOWN: &str = "unknown";

/// Longest custom pattern accepted.
pub const MAX_PATTERN_LEN: usize = 512;
/// Compiled-size bound for one class's regex, so a policy cannot make the
/// Lambda build a huge automaton: with at most [`MAX_CUSTOM_CLASSES`]
/// classes, a policy's classifier stays within about 16 MiB, and the worst
/// policy validates in a fraction of a second (`make bench`, hostile).
/// Real patterns are a few KiB; 10 Unicode `\w` in a row are about half.
pub const REGEX_SIZE_LIMIT: usize = 512 * 1024;

/// A built-in error class.
#[derive(Debug)]
pub struct BuiltinClass {
    /// The class's name as policies write it in `skip_errors` and `overrides` (e.g. `throttling`).
    pub name: &'static str,
    /// What the class means, one line, as the README's table shows it.
    pub meaning: &'static str,
    /// The class's regex patterns, matched case-insensitively; the first class with a match wins.
    pub patterns: &'static [&'static str],
}

/// The built-in classes, in the order they are tried. The README's table is
/// generated from this one (`appflow-retry classes`) and a test keeps them equal.
pub const BUILTIN_CLASSES: &[BuiltinClass] = &[
    BuiltinClass {
        name: "throttling",
        meaning: "rate or request limits, HTTP 429",
        patterns: &[
            r"throttl",
            r"rate.?exceeded",
            r"rate.?limit",
            r"too.?many.?requests",
            r"request.?limit",
            r"api.?limit",
            r"quota.?exceeded",
            r"\b429\b",
        ],
    },
    BuiltinClass {
        name: "auth",
        meaning: "expired or invalid session, token or credentials, HTTP 401",
        patterns: &[
            r"invalid.?session",
            r"session.{0,20}expired",
            r"expired.{0,20}(session|token|credential)",
            r"(access|refresh|auth\w*|oauth|bearer).?token",
            r"invalid.?grant",
            r"invalid.{0,20}credential",
            r"authenticat\w*.?(fail|error)",
            r"unauthori[sz]ed",
            r"\b401\b",
        ],
    },
    BuiltinClass {
        name: "permission",
        meaning: "access denied, HTTP 403",
        patterns: &[
            r"access.?denied",
            r"permission",
            r"forbidden",
            r"not.?authori[sz]ed",
            r"insufficient.?(access|privilege)",
            r"\b403\b",
        ],
    },
    BuiltinClass {
        name: "config",
        meaning: "deleted or missing field, object or resource; schema or validation errors",
        patterns: &[
            r"(field|object|entity|resource|bucket|column|table|connector|connection profile)s?\b.{0,80}\b(deleted|does ?n.?t exist|not (be )?found|missing|no longer)",
            r"(deleted|missing|unknown|invalid|no such) (field|object|entity|resource|bucket|column|table|property|key)",
            r"invalid.?(field|type|schema|object)",
            r"schema",
            r"validation",
            r"resource.?not.?found",
            r"malformed",
        ],
    },
    BuiltinClass {
        name: "transient",
        meaning: "time-outs, connection resets, HTTP 500/502/503/504, internal errors, \"try again\"",
        patterns: &[
            r"time.?d?.?out",
            r"connection.{0,20}(reset|refused|closed|aborted|lost)",
            r"broken pipe",
            r"\b50[0234]\b",
            r"internal.{0,10}error",
            r"service.?unavailable",
            r"temporar",
            r"try.?again",
            r"retry.?later",
            r"bad.?gateway",
        ],
    },
];

/// Compiles one class's patterns into one case-insensitive regex.
fn compile(patterns: &[impl AsRef<str>]) -> Result<Regex, regex::Error> {
    let joined = patterns
        .iter()
        .map(|p| format!("(?:{})", p.as_ref()))
        .collect::<Vec<_>>()
        .join("|");
    RegexBuilder::new(&joined)
        .case_insensitive(true)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
}

/// Most patterns one custom class may have (the schema says the same).
pub const MAX_PATTERNS_PER_CLASS: usize = 50;
/// Most custom classes one policy may have (the schema says the same).
pub const MAX_CUSTOM_CLASSES: usize = 32;

/// Checks one custom pattern: its length and its syntax. Only the syntax is
/// parsed here (cheap); the compiled size is checked once per class by
/// [`check_class`], which compiles exactly what the Lambda compiles.
pub fn check_pattern(pattern: &str) -> Result<(), PatternError> {
    if pattern.is_empty() {
        return Err(PatternError::Empty);
    }
    if pattern.len() > MAX_PATTERN_LEN {
        return Err(PatternError::TooLong { len: pattern.len() });
    }
    regex_syntax::ParserBuilder::new()
        .case_insensitive(true)
        .build()
        .parse(pattern)
        .map(|_| ())
        .map_err(|e| {
            // The syntax error spans lines with a caret; keep it on one line.
            PatternError::Syntax(e.to_string().lines().last().unwrap_or("").trim().to_owned())
        })
}

/// Why one custom pattern is refused ([`check_pattern`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// An empty pattern (it would match every message).
    #[error("empty pattern: it would match every message")]
    Empty,
    /// A pattern longer than [`MAX_PATTERN_LEN`] bytes (`len` is its length).
    #[error("pattern is {len} characters; at most {MAX_PATTERN_LEN}")]
    TooLong {
        /// The pattern's length in bytes.
        len: usize,
    },
    /// The parser's message, on one line.
    #[error("invalid regex: {0}")]
    Syntax(String),
}

/// Why a class's patterns are refused together ([`check_class`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClassError {
    #[error(
        "the class's {patterns} patterns together compile larger than {limit} bytes: split the class or simplify them"
    )]
    /// The joined patterns compile larger than [`REGEX_SIZE_LIMIT`] bytes.
    TooBig {
        /// How many patterns the class has.
        patterns: usize,
        /// The size bound in bytes ([`REGEX_SIZE_LIMIT`]).
        limit: usize,
    },
    /// The joined patterns do not compile; the regex engine's message.
    #[error("the class's patterns do not compile together: {0}")]
    Compile(String),
}

/// A custom class that does not compile ([`Classifier::new`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("error class {class}: {problem}")]
pub struct ClassifierError {
    /// The class's name as the policy writes it in `error_classes`.
    pub class: String,
    /// Why it does not compile (the pattern refused and the regex engine's message).
    pub problem: String,
}

/// Checks a whole class as the Lambda compiles it: its patterns joined
/// into one regex, within the same size bound. Patterns that pass
/// [`check_pattern`] one by one can still exceed it together.
pub fn check_class(patterns: &[impl AsRef<str>]) -> Result<(), ClassError> {
    compile(patterns).map(|_| ()).map_err(|e| match e {
        regex::Error::CompiledTooBig(limit) => ClassError::TooBig {
            patterns: patterns.len(),
            limit,
        },
        other => ClassError::Compile(other.to_string()),
    })
}

#[allow(clippy::expect_used)] // constant patterns; the tests compile every one
static BUILTIN: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
    BUILTIN_CLASSES
        .iter()
        .map(|c| (c.name, compile(c.patterns).expect("built-in patterns compile")))
        .collect()
});

/// Whether `name` is a built-in class (or `unknown`).
pub fn is_builtin(name: &str) -> bool {
    name == UNKNOWN || BUILTIN_CLASSES.iter().any(|c| c.name == name)
}

/// Classifies messages by a policy's custom classes, then the built-in ones.
#[derive(Debug, Clone)]
pub struct Classifier {
    custom: Vec<(String, Regex)>,
}

impl Classifier {
    /// Built-in classes only.
    pub fn empty() -> Self {
        Classifier { custom: Vec::new() }
    }

    /// Compiles the custom classes. Patterns are expected to have passed
    /// validation ([`check_pattern`]); one that still fails is an error
    /// naming the class.
    pub fn new(custom: &[ErrorClassSpec]) -> Result<Self, ClassifierError> {
        let custom = custom
            .iter()
            .map(|c| {
                let refused = |problem: String| ClassifierError {
                    class: c.name.as_str().to_owned(),
                    problem,
                };
                if let Some(p) = c.patterns.iter().find(|p| p.is_empty() || p.len() > MAX_PATTERN_LEN) {
                    return Err(refused(format!("pattern of {} characters", p.len())));
                }
                let re = compile(&c.patterns).map_err(|e| refused(e.to_string()))?;
                Ok((c.name.as_str().to_owned(), re))
            })
            .collect::<Result<_, ClassifierError>>()?;
        Ok(Classifier { custom })
    }

    /// The class of `message`.
    pub fn classify(&self, message: &str) -> &str {
        self.custom
            .iter()
            .map(|(n, r)| (n.as_str(), r))
            .chain(BUILTIN.iter().map(|(n, r)| (*n, r)))
            .find(|(_, re)| re.is_match(message))
            .map_or(UNKNOWN, |(name, _)| name)
    }
}

/// The built-in table as Markdown, as the README shows it.
pub fn builtin_table_markdown() -> String {
    let mut out = String::from("| class | meaning | patterns (case-insensitive regex) |\n|---|---|---|\n");
    for c in BUILTIN_CLASSES {
        let patterns = c
            .patterns
            .iter()
            .map(|p| format!("`{}`", p.replace('|', r"\|")))
            .collect::<Vec<_>>()
            .join(" ");
        out.push_str(&format!("| `{}` | {} | {} |\n", c.name, c.meaning, patterns));
    }
    out.push_str(&format!("| `{UNKNOWN}` | nothing above matched (or no message) | |\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ClassName;

    fn builtin(msg: &str) -> String {
        Classifier::new(&[]).unwrap().classify(msg).to_owned()
    }

    #[test]
    fn builtin_patterns_compile() {
        assert_eq!(BUILTIN.len(), BUILTIN_CLASSES.len());
    }

    #[test]
    fn classifies_realistic_appflow_messages() {
        let cases = [
            ("REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded.", "throttling"),
            ("ThrottlingException: Rate exceeded", "throttling"),
            ("Connector returned HTTP 429 Too Many Requests", "throttling"),
            ("INVALID_SESSION_ID: Session expired or invalid", "auth"),
            (
                "The refresh token has expired. Reconnect the connection profile.",
                "auth",
            ),
            ("invalid_grant: expired access/refresh token", "auth"),
            ("Request failed with status 401", "auth"),
            (
                "AccessDeniedException: User is not authorized to perform s3:PutObject",
                "permission",
            ),
            (
                "INSUFFICIENT_ACCESS_OR_READONLY: insufficient access rights",
                "permission",
            ),
            ("403 Forbidden", "permission"),
            ("INVALID_FIELD: No such column 'Foo__c' on entity 'Account'", "config"),
            ("The object Opportunity has been deleted", "config"),
            ("Destination bucket example-landing does not exist", "config"),
            ("Schema validation failed for record 12", "config"),
            ("Read timed out after 30000 ms", "transient"),
            ("Connection reset by peer", "transient"),
            ("503 Service Unavailable", "transient"),
            ("An internal error occurred. Please try again.", "transient"),
            ("Something odd happened", UNKNOWN),
            ("", UNKNOWN),
        ];
        for (msg, class) in cases {
            assert_eq!(builtin(msg), class, "{msg}");
        }
    }

    #[test]
    fn custom_classes_come_first_and_in_order() {
        let spec = |name: &str, p: &str| ErrorClassSpec {
            name: ClassName::from(name),
            patterns: vec![p.to_owned()],
        };
        let c = Classifier::new(&[spec("sf_api_limit", "request_limit_exceeded"), spec("sf_any", "limit")]).unwrap();
        assert_eq!(c.classify("REQUEST_LIMIT_EXCEEDED: TotalRequests"), "sf_api_limit");
        assert_eq!(c.classify("API LIMIT hit"), "sf_any");
        assert_eq!(c.classify("timed out"), "transient");
    }

    #[test]
    fn patterns_are_checked() {
        assert!(
            check_pattern("(unclosed")
                .unwrap_err()
                .to_string()
                .starts_with("invalid regex")
        );
        assert!(check_pattern("").is_err());
        assert!(check_pattern(&"a".repeat(MAX_PATTERN_LEN + 1)).is_err());
        // The size is the class's to check, compiled as the Lambda compiles it.
        assert!(check_pattern(r"\w{1000}\w{1000}").is_ok());
        assert!(
            check_class(&[r"\w{1000}\w{1000}"])
                .unwrap_err()
                .to_string()
                .contains("compile larger than")
        );
        assert!(check_pattern("REQUEST_LIMIT_EXCEEDED").is_ok());
        // Each pattern fits on its own; together they do not.
        // (Unicode `\w` is large: 10 of them in a row fill half the bound.)
        let each = r"\w{10}x";
        assert!(check_class(&[each]).is_ok());
        assert!(check_class(&[each, each]).is_err(), "two exceed the bound together");
    }
}
