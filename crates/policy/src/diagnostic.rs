//! A problem in a policy file, located: what `appflow-retry validate`
//! prints as `file:line:column: message`.

use std::fmt;

/// A 1-based line and column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    /// The line, from 1.
    pub line: usize,
    /// The column, from 1, counted in characters.
    pub column: usize,
}

impl Position {
    /// Line 1, column 1: where a problem of the whole file (its size, its syntax) is reported.
    pub const START: Position = Position { line: 1, column: 1 };
}

/// A problem in a file, located.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Diagnostic {
    /// The file as the user named it (the CLI's path) or the SSM parameter's name (the Lambda).
    pub file: String,
    /// Where in the file the problem is: the field's key or value, else the file's start.
    pub position: Position,
    /// What is wrong, one line, with a hint when there is one (e.g. "did you mean ...").
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.position.line, self.position.column, self.message
        )
    }
}
