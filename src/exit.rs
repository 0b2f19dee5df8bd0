//! The exit-code contract (README "Exit codes"): one table, unit-tested.

use std::process::ExitCode;

/// How a command ended when it did not fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Completed; nothing in the fail set.
    Clean,
    /// Completed; something is in the fail set.
    Findings,
    /// Refused by the mass-failure breaker; nothing was changed.
    Breaker,
    /// Nothing wrong was found, but something could not be checked (`doctor`: a provider was
    /// unreachable, answered 5xx or 429).
    Unchecked,
}

/// The exit code for errors (usage, config, not a repo, I/O).
pub const ERROR: u8 = 2;

impl Outcome {
    /// Returns the process exit code.
    pub fn code(self) -> u8 {
        match self {
            Outcome::Clean => 0,
            Outcome::Findings => 1,
            Outcome::Breaker => 3,
            Outcome::Unchecked => 4,
        }
    }
}

impl From<Outcome> for ExitCode {
    fn from(o: Outcome) -> Self {
        ExitCode::from(o.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_code_table() {
        assert_eq!(Outcome::Clean.code(), 0);
        assert_eq!(Outcome::Findings.code(), 1);
        assert_eq!(Outcome::Breaker.code(), 3);
        assert_eq!(Outcome::Unchecked.code(), 4);
        assert_eq!(ERROR, 2);
    }
}
