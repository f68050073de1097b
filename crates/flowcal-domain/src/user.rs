//! User logins and roles.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A user's login name: 1–64 characters of `a-z 0-9 . _ -`, starting with a
/// letter or digit. Logins are immutable; tasks and data items refer to them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Login(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "'{0}' is not a valid login: use 1 to 64 characters a-z, 0-9, '.', '_' or '-', starting with a letter or digit"
)]
pub struct LoginError(pub String);

impl Login {
    pub fn parse(s: &str) -> Result<Self, LoginError> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(LoginError(s.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Login {
    type Error = LoginError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Login::parse(&s)
    }
}

impl From<Login> for String {
    fn from(l: Login) -> String {
        l.0
    }
}

impl fmt::Display for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks a role name (a lane's name): 1–64 characters, no control characters.
pub fn valid_role(role: &str) -> bool {
    let t = role.trim();
    !t.is_empty() && t.len() <= 64 && t == role && !role.chars().any(char::is_control)
}

/// Parses an IANA time zone name, e.g. `Europe/Berlin`.
pub fn parse_time_zone(name: &str) -> Result<jiff::tz::TimeZone, String> {
    jiff::tz::TimeZone::get(name)
        .map_err(|_| format!("'{name}' is not a known IANA time zone (for example Europe/Berlin or America/New_York)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins() {
        assert!(Login::parse("alice").is_ok());
        assert!(Login::parse("a.b-c_1").is_ok());
        assert!(Login::parse("").is_err());
        assert!(Login::parse("Alice").is_err());
        assert!(Login::parse("-x").is_err());
        assert!(Login::parse(&"a".repeat(65)).is_err());
        assert!(Login::parse("a b").is_err());
    }

    #[test]
    fn zones() {
        assert!(parse_time_zone("Pacific/Chatham").is_ok());
        assert!(parse_time_zone("Mars/Olympus").is_err());
    }
}
