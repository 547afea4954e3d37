//! Identifiers chosen by people or clients, parsed once at the edge.

use std::fmt;

/// Why an identifier is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// Empty.
    #[error("is empty")]
    Empty,
    /// Too long.
    #[error("is longer than {0} characters")]
    TooLong(usize),
    /// Too short.
    #[error("is shorter than {0} characters")]
    TooShort(usize),
    /// Contains characters outside the allowed set.
    #[error("{0}")]
    BadCharacters(&'static str),
}

/// A partner bank's identifier: 2–32 characters of `a-z`, `0-9` and `-`, starting with a
/// letter, e.g. `nbcb-yinzhou`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BankId(String);

/// Checks a slug: 2–32 characters of `a-z`, `0-9` and `-`, starting with a letter.
fn slug(text: &str) -> Result<(), IdError> {
    if text.is_empty() {
        return Err(IdError::Empty);
    }
    if text.len() < 2 {
        return Err(IdError::TooShort(2));
    }
    if text.len() > 32 {
        return Err(IdError::TooLong(32));
    }
    let first_is_letter = text.as_bytes()[0].is_ascii_lowercase();
    let rest_ok = text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !first_is_letter || !rest_ok {
        return Err(IdError::BadCharacters("must start with a-z and contain only a-z, 0-9 and '-'"));
    }
    Ok(())
}

impl BankId {
    /// Parses a bank id.
    pub fn parse(text: &str) -> Result<BankId, IdError> {
        slug(text).map(|()| BankId(text.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BankId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A co-sharing party's identifier (an insurer, a guarantee company): the same rules as a
/// bank's, e.g. `picc-ningbo`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartyId(String);

impl PartyId {
    /// Parses a party id.
    pub fn parse(text: &str) -> Result<PartyId, IdError> {
        slug(text).map(|()| PartyId(text.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PartyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A client's idempotency key for one intended change (AIP-155): 1–128 printable ASCII
/// characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RequestId(String);

impl RequestId {
    /// Parses a request id.
    pub fn parse(text: &str) -> Result<RequestId, IdError> {
        if text.is_empty() {
            return Err(IdError::Empty);
        }
        if text.len() > 128 {
            return Err(IdError::TooLong(128));
        }
        if !text.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(IdError::BadCharacters("must be printable ASCII without spaces"));
        }
        Ok(RequestId(text.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bank_ids() {
        assert!(BankId::parse("nbcb-yinzhou").is_ok());
        assert!(BankId::parse("b2").is_ok());
        assert_eq!(BankId::parse(""), Err(IdError::Empty));
        assert_eq!(BankId::parse("b"), Err(IdError::TooShort(2)));
        assert!(BankId::parse("2b").is_err());
        assert!(BankId::parse("Bank").is_err());
        assert!(BankId::parse("bank_1").is_err());
        assert_eq!(BankId::parse(&"b".repeat(33)), Err(IdError::TooLong(32)));
    }

    #[test]
    fn request_ids() {
        assert!(RequestId::parse("4f1c-2024-07-01/enrol#1").is_ok());
        assert!(RequestId::parse("has space").is_err());
        assert!(RequestId::parse(&"x".repeat(129)).is_err());
    }
}
