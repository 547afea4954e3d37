//! The unified social credit code (统一社会信用代码, GB 32100-2015).

use std::fmt;

/// The 31-character alphabet of the code; a character's value is its index.
const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// A syntactically valid unified social credit code: 18 characters of the code's alphabet
/// whose check character matches.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uscc(String);

/// Why a string is not a valid USCC.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsccError {
    /// Not exactly 18 characters.
    #[error("must be 18 characters, got {0}")]
    WrongLength(usize),
    /// A character outside `0-9 A-H J-N P-R T U W-Y`.
    #[error("has {character:?} at position {position}, which is not in the code's alphabet")]
    BadCharacter {
        /// The offending character.
        character: char,
        /// 1-based position.
        position: usize,
    },
    /// The check character does not match.
    #[error("has check character {found:?}, expected {expected:?}")]
    BadCheckCharacter {
        /// The 18th character as given.
        found: char,
        /// What it should be.
        expected: char,
    },
}

fn value_of(byte: u8) -> Option<u32> {
    ALPHABET.iter().position(|&c| c == byte).map(|p| p as u32)
}

/// Values of the characters of `text`, or the first character outside the alphabet.
fn values(text: &str) -> Result<Vec<u32>, UsccError> {
    text.chars()
        .enumerate()
        .map(|(index, character)| {
            u8::try_from(character)
                .ok()
                .and_then(value_of)
                .ok_or(UsccError::BadCharacter { character, position: index + 1 })
        })
        .collect()
}

/// The check value of the first 17 character values.
fn check_value(first17: &[u32]) -> u32 {
    let mut weight = 1u32;
    let mut sum = 0u32;
    for value in first17 {
        sum += value * weight;
        weight = weight * 3 % 31;
    }
    (31 - sum % 31) % 31
}

impl Uscc {
    /// Completes 17 characters with their check character (for tools and tests that make codes).
    pub fn with_check_character(first17: &str) -> Result<Uscc, UsccError> {
        let count = first17.chars().count();
        if count != 17 {
            return Err(UsccError::WrongLength(count + 1));
        }
        let check = ALPHABET[check_value(&values(first17)?) as usize];
        Ok(Uscc(format!("{first17}{}", char::from(check))))
    }

    /// Parses a code; upper case only, as the standard writes it.
    pub fn parse(text: &str) -> Result<Uscc, UsccError> {
        let count = text.chars().count();
        if count != 18 {
            return Err(UsccError::WrongLength(count));
        }
        let bytes = text.as_bytes();
        let values = values(text)?;
        let expected = check_value(&values[..17]);
        if values[17] != expected {
            return Err(UsccError::BadCheckCharacter {
                found: char::from(bytes[17]),
                expected: char::from(ALPHABET[expected as usize]),
            });
        }
        Ok(Uscc(text.to_owned()))
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The six-digit administrative-division code of the registering authority (characters 3–8).
    pub fn admin_division(&self) -> &str {
        &self.0[2..8]
    }
}

impl fmt::Display for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_standard_example() {
        let code = Uscc::parse("91350100M000100Y43").unwrap();
        assert_eq!(code.admin_division(), "350100");
        assert_eq!(Uscc::with_check_character("91350100M000100Y4").unwrap(), code);
    }

    #[test]
    fn rejects_bad_codes_with_the_reason() {
        assert_eq!(Uscc::parse("91350100M000100Y4"), Err(UsccError::WrongLength(17)));
        assert_eq!(Uscc::parse("91350100M000100Y44"), Err(UsccError::BadCheckCharacter { found: '4', expected: '3' }));
        assert_eq!(Uscc::parse("91350100I000100Y43"), Err(UsccError::BadCharacter { character: 'I', position: 9 }));
        assert_eq!(Uscc::parse("91350100m000100Y43"), Err(UsccError::BadCharacter { character: 'm', position: 9 }));
        assert!(matches!(Uscc::parse("9135010０M000100Y43"), Err(UsccError::BadCharacter { .. })));
    }
}
