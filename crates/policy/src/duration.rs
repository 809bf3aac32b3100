//! Durations as policy files write them: `90s`, `2m`, `1h30m`, `2d`.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The JSON Schema pattern of a duration. The parser below is the authority;
/// this pattern lets editors flag a typo while the user types.
pub const DURATION_PATTERN: &str = r"^([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?$";

const UNITS: [(char, u64); 4] = [('d', 86_400), ('h', 3_600), ('m', 60), ('s', 1)];

/// A whole number of seconds, written as `<integer><unit>` parts with units
/// `d`, `h`, `m`, `s` in that order, each at most once.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration {
    secs: u64,
}

/// The longest delay or window a policy may set: 30 days, the shortest time
/// Step Functions may keep a closed execution (90 days by default, an account
/// can ask for 30). One streak must end before its execution's name, which
/// stops a failure from being decided twice, can be forgotten.
pub const MAX_DURATION: Duration = Duration::from_secs(30 * 86_400);

/// Why durations stop at [`MAX_DURATION`], appended to its validation messages.
pub const MAX_DURATION_REASON: &str = "Step Functions may keep a closed execution only 30 days, and its name is what stops a failure from being decided twice";

impl Duration {
    /// A duration of `secs` seconds.
    pub const fn from_secs(secs: u64) -> Self {
        Self { secs }
    }

    /// The duration in whole seconds.
    pub const fn as_secs(self) -> u64 {
        self.secs
    }

    /// The duration in seconds as f64, for the delay arithmetic of rule 10.
    pub fn as_secs_f64(self) -> f64 {
        self.secs as f64
    }

    /// The duration as a chrono delta, to add to times; saturates at chrono's maximum.
    pub fn as_chrono(self) -> chrono::TimeDelta {
        // A u64 of seconds beyond i64 is far past any valid policy; saturate.
        chrono::TimeDelta::try_seconds(i64::try_from(self.secs).unwrap_or(i64::MAX)).unwrap_or(chrono::TimeDelta::MAX)
    }
}

/// Why a string is not a duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// An empty string.
    #[error("empty duration: write e.g. \"90s\", \"2m\", \"1h30m\"")]
    Empty,
    /// A number without a unit, e.g. `120` (the hint suggests `120s`).
    #[error("\"{0}\" has no unit: write \"{0}s\" for seconds (units: d, h, m, s)")]
    BareNumber(String),
    /// A unit other than `d`, `h`, `m`, `s`.
    #[error("\"{input}\": unit '{unit}' is not one of d, h, m, s")]
    UnknownUnit {
        /// The text as written.
        input: String,
        /// The character in a unit's place.
        unit: char,
    },
    /// An uppercase unit, e.g. `2H`.
    #[error("\"{input}\": units are lowercase (write '{lower}')")]
    Uppercase {
        /// The text as written.
        input: String,
        /// The unit in lowercase, as it should be written.
        lower: char,
    },
    /// A unit without a number before it, e.g. `h` or `1hm`.
    #[error("\"{input}\": expected a number before '{unit}'")]
    MissingNumber {
        /// The text as written.
        input: String,
        /// The unit without a number.
        unit: char,
    },
    /// Units out of the order `d`, `h`, `m`, `s`, or one given twice.
    #[error("\"{input}\": units must appear in the order d, h, m, s, each at most once")]
    Order {
        /// The text as written.
        input: String,
    },
    /// A total that does not fit in u64 seconds.
    #[error("\"{input}\" is too large")]
    Overflow {
        /// The text as written.
        input: String,
    },
}

impl FromStr for Duration {
    type Err = DurationError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        if input.is_empty() {
            return Err(DurationError::Empty);
        }
        if input.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DurationError::BareNumber(input.to_owned()));
        }
        let mut secs: u64 = 0;
        let mut number: Option<u64> = None;
        // Index into UNITS of the next unit allowed: enforces order and uniqueness.
        let mut next_unit = 0;
        let overflow = || DurationError::Overflow {
            input: input.to_owned(),
        };
        for c in input.chars() {
            if let Some(digit) = c.to_digit(10) {
                let n = number.unwrap_or(0);
                number = Some(
                    n.checked_mul(10)
                        .and_then(|n| n.checked_add(u64::from(digit)))
                        .ok_or_else(overflow)?,
                );
                continue;
            }
            let Some(pos) = UNITS.iter().position(|(u, _)| *u == c) else {
                let lower = c.to_ascii_lowercase();
                return Err(if UNITS.iter().any(|(u, _)| *u == lower) {
                    DurationError::Uppercase {
                        input: input.to_owned(),
                        lower,
                    }
                } else {
                    DurationError::UnknownUnit {
                        input: input.to_owned(),
                        unit: c,
                    }
                });
            };
            let n = number.take().ok_or_else(|| DurationError::MissingNumber {
                input: input.to_owned(),
                unit: c,
            })?;
            if pos < next_unit {
                return Err(DurationError::Order {
                    input: input.to_owned(),
                });
            }
            next_unit = pos + 1;
            let part = n.checked_mul(UNITS[pos].1).ok_or_else(overflow)?;
            secs = secs.checked_add(part).ok_or_else(overflow)?;
        }
        if let Some(n) = number {
            // Trailing digits without a unit, as in "1h30".
            return Err(DurationError::BareNumber(n.to_string()));
        }
        Ok(Duration { secs })
    }
}

impl fmt::Display for Duration {
    /// The canonical form: largest units first, zero parts left out (`0s` for zero).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.secs == 0 {
            return f.write_str("0s");
        }
        let mut rest = self.secs;
        for (unit, size) in UNITS {
            let n = rest / size;
            rest %= size;
            if n > 0 {
                write!(f, "{n}{unit}")?;
            }
        }
        Ok(())
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DurationVisitor;

        impl Visitor<'_> for DurationVisitor {
            type Value = Duration;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as \"90s\", \"2m\" or \"1h30m\"")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
                v.parse().map_err(E::custom)
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
                Err(E::custom(DurationError::BareNumber(v.to_string())))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
                Err(E::custom(DurationError::BareNumber(v.to_string())))
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Duration, E> {
                Err(E::custom(format!(
                    "{v} is not a duration: write whole units such as \"90s\" or \"1h30m\""
                )))
            }
        }

        deserializer.deserialize_any(DurationVisitor)
    }
}

impl JsonSchema for Duration {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "minLength": 1,
            "pattern": DURATION_PATTERN,
            "description": "Whole units d, h, m, s in that order, each at most once, e.g. \"90s\", \"2m\", \"1h30m\", \"2d\". At most 30d (Step Functions may keep a closed execution only 30 days).",
            "examples": ["30s", "2m", "1h30m", "6h"]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Result<u64, DurationError> {
        s.parse::<Duration>().map(Duration::as_secs)
    }

    #[test]
    fn parses_every_unit_and_combination() {
        assert_eq!(d("90s"), Ok(90));
        assert_eq!(d("2m"), Ok(120));
        assert_eq!(d("1h30m"), Ok(5_400));
        assert_eq!(d("2d"), Ok(172_800));
        assert_eq!(d("1d2h3m4s"), Ok(93_784));
        assert_eq!(d("0s"), Ok(0));
        assert_eq!(d("30d"), Ok(MAX_DURATION.as_secs()));
    }

    #[test]
    fn rejects_what_the_format_forbids() {
        assert_eq!(d(""), Err(DurationError::Empty));
        assert_eq!(d("90"), Err(DurationError::BareNumber("90".into())));
        assert_eq!(d("1h30"), Err(DurationError::BareNumber("30".into())));
        assert!(matches!(d("30m1h"), Err(DurationError::Order { .. })));
        assert!(matches!(d("1m1m"), Err(DurationError::Order { .. })));
        assert!(matches!(d("1H"), Err(DurationError::Uppercase { lower: 'h', .. })));
        assert!(matches!(d("3w"), Err(DurationError::UnknownUnit { unit: 'w', .. })));
        assert!(matches!(d("h"), Err(DurationError::MissingNumber { .. })));
        assert!(matches!(d("1 h"), Err(DurationError::UnknownUnit { unit: ' ', .. })));
        assert!(matches!(d("-1s"), Err(DurationError::UnknownUnit { unit: '-', .. })));
        assert!(matches!(
            d("99999999999999999999d"),
            Err(DurationError::Overflow { .. })
        ));
        assert!(matches!(d("9999999999999999d"), Err(DurationError::Overflow { .. })));
    }

    #[test]
    fn display_is_canonical_and_round_trips() {
        for (input, shown) in [("90s", "1m30s"), ("1h30m", "1h30m"), ("0s", "0s"), ("1d0h", "1d")] {
            let parsed: Duration = input.parse().unwrap();
            assert_eq!(parsed.to_string(), shown);
            assert_eq!(shown.parse::<Duration>().unwrap(), parsed);
        }
    }

    #[test]
    fn bare_yaml_number_gets_a_hint() {
        let err = serde_yaml::from_str::<Duration>("120").unwrap_err().to_string();
        assert!(err.contains("\"120s\""), "{err}");
    }

    #[test]
    fn schema_pattern_agrees_with_the_parser() {
        let re = regex::Regex::new(DURATION_PATTERN).unwrap();
        for s in ["90s", "1h30m", "2d", "1d2h3m4s", "0s"] {
            assert!(re.is_match(s) && s.parse::<Duration>().is_ok(), "{s}");
        }
        for s in ["90", "30m1h", "1H", "3w", "1 h", "h"] {
            assert!(!re.is_match(s) && s.parse::<Duration>().is_err(), "{s}");
        }
    }
}
