//! What a step did, as closed sets of names: the restart's outcome, the
//! start of a decision's state machine execution, and the outcomes of a
//! planned schedule. Each serialises to its wire name (snake_case), the
//! text the state machine, the logs and `appflow-retry plan` show.

use serde::Serialize;

/// `as_str`, `Display` and a comparison with the wire name, for an enum whose
/// serde form is its snake_case variant name (a test keeps the two equal).
macro_rules! wire_names {
    ($ty:ident { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            /// The wire name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $name,)+
                }
            }

            /// Every value, in declaration order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl PartialEq<&str> for $ty {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }
    };
}

/// What the restart step did with a `retry` or `reactivate` decision
/// (the restart Lambda's `outcome`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RestartOutcome {
    /// StartFlow started a new run (or an earlier attempt had).
    Restarted,
    /// Nothing was started: the reason says why.
    Skipped,
    /// StartFlow re-activated a deactivated scheduled or event flow.
    Reactivated,
}

wire_names!(RestartOutcome {
    Restarted => "restarted",
    Skipped => "skipped",
    Reactivated => "reactivated",
});

/// What starting a decision's state machine execution did (the on-failure
/// Lambda's `execution`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExecutionStart {
    /// A new execution was started with the decision as its input.
    Started,
    /// An execution of this name exists: the failure was handled already.
    AlreadyExists,
}

wire_names!(ExecutionStart {
    Started => "started",
    AlreadyExists => "already_exists",
});

/// An outcome in a planned schedule ([`crate::plan`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanOutcome {
    /// The restart happens.
    Retry,
    /// Jitter decides whether the restart still lands inside the retry window.
    RetryOrGiveUp,
    /// The schedule ends in `give_up` (rules 8, 9, 11).
    GiveUp,
    /// No restart at all: the flow is disabled or the class is in `skip_errors`.
    Skip,
}

wire_names!(PlanOutcome {
    Retry => "retry",
    RetryOrGiveUp => "retry_or_give_up",
    GiveUp => "give_up",
    Skip => "skip",
});

#[cfg(test)]
mod tests {
    use super::*;

    fn serde_name<T: Serialize>(v: T) -> String {
        serde_json::to_value(v).unwrap().as_str().unwrap().to_owned()
    }

    #[test]
    fn wire_names_are_the_serde_names() {
        for &o in RestartOutcome::ALL {
            assert_eq!(serde_name(o), o.as_str());
        }
        for &o in ExecutionStart::ALL {
            assert_eq!(serde_name(o), o.as_str());
        }
        for &o in PlanOutcome::ALL {
            assert_eq!(serde_name(o), o.as_str());
        }
        assert_eq!(RestartOutcome::Skipped.to_string(), "skipped");
        assert!(ExecutionStart::AlreadyExists == "already_exists" && PlanOutcome::RetryOrGiveUp != "retry");
    }
}
