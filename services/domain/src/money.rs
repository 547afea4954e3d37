//! Exact money: integer fen.

use std::fmt;
use std::iter::Sum;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};

/// An amount of CNY, exact to the fen (0.01), stored as a whole number of fen.
///
/// Constructed only by parsing a decimal string with at most two fraction digits, from a
/// whole number of fen, or by arithmetic that rounds explicitly. Never a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(i64);

/// Why a string is not an amount of money.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// The string is empty.
    #[error("is empty")]
    Empty,
    /// The string is not a plain decimal number.
    #[error("is not a decimal number like \"1234.56\"")]
    NotADecimal,
    /// More than two digits after the point.
    #[error("has more than two fraction digits")]
    TooPrecise,
    /// Negative where only non-negative amounts are allowed.
    #[error("must not be negative")]
    Negative,
    /// Zero or negative where a positive amount is required.
    #[error("must be greater than 0")]
    NotPositive,
    /// Larger than the largest amount the service takes ([`Money::MAX_AMOUNT`]).
    #[error("is larger than {}, the largest amount the service takes", Money::MAX_AMOUNT)]
    TooLarge,
}

impl Money {
    /// Zero.
    pub const ZERO: Money = Money(0);

    /// The largest amount any field takes: 10,000,000,000.00, far above any real figure of the
    /// pool (its capital is 50,000,000.00) and small enough that no sum the service computes
    /// can overflow: 922,337 such amounts fit in an `i64` of fen.
    pub const MAX_AMOUNT: Money = Money(1_000_000_000_000);

    /// From a whole number of fen.
    pub const fn from_fen(fen: i64) -> Money {
        Money(fen)
    }

    /// From whole yuan; `None` on overflow.
    pub fn from_yuan(yuan: i64) -> Option<Money> {
        yuan.checked_mul(100).map(Money)
    }

    /// The amount in fen.
    pub const fn fen(self) -> i64 {
        self.0
    }

    /// Parses a decimal string that may be negative ("-12.30").
    pub fn parse_signed(text: &str) -> Result<Money, MoneyError> {
        if text.is_empty() {
            return Err(MoneyError::Empty);
        }
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (whole, fraction) = match digits.split_once('.') {
            Some((whole, fraction)) => (whole, fraction),
            None => (digits, ""),
        };
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) {
            return Err(MoneyError::NotADecimal);
        }
        if digits.contains('.') && fraction.is_empty() {
            return Err(MoneyError::NotADecimal);
        }
        if fraction.len() > 2 {
            return Err(MoneyError::TooPrecise);
        }
        let mut fen: i64 = 0;
        for byte in whole.bytes().chain(fraction.bytes()) {
            fen =
                fen.checked_mul(10).and_then(|f| f.checked_add(i64::from(byte - b'0'))).ok_or(MoneyError::TooLarge)?;
        }
        for _ in fraction.len()..2 {
            fen = fen.checked_mul(10).ok_or(MoneyError::TooLarge)?;
        }
        if fen > Money::MAX_AMOUNT.0 {
            return Err(MoneyError::TooLarge);
        }
        Ok(Money(if negative { -fen } else { fen }))
    }

    /// Parses a non-negative amount.
    pub fn parse_non_negative(text: &str) -> Result<Money, MoneyError> {
        let money = Money::parse_signed(text)?;
        if money.0 < 0 {
            return Err(MoneyError::Negative);
        }
        Ok(money)
    }

    /// Parses a strictly positive amount.
    pub fn parse_positive(text: &str) -> Result<Money, MoneyError> {
        let money = Money::parse_signed(text)?;
        if money.0 <= 0 {
            return Err(MoneyError::NotPositive);
        }
        Ok(money)
    }

    /// `self + other`, `None` on overflow.
    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    /// `self − other`, `None` on overflow.
    pub fn checked_sub(self, other: Money) -> Option<Money> {
        self.0.checked_sub(other.0).map(Money)
    }

    /// `self − other`, never below zero.
    pub fn saturating_sub(self, other: Money) -> Money {
        Money(self.0.saturating_sub(other.0).max(0))
    }

    /// True for amounts below zero.
    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// True for zero.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// The amount as an exact decimal of yuan.
    pub fn to_decimal(self) -> Decimal {
        Decimal::new(self.0, 2)
    }

    /// Rounds a decimal amount of yuan half-up (away from zero at .5) to the fen.
    /// `None` when it does not fit.
    pub fn from_decimal_half_up(yuan: Decimal) -> Option<Money> {
        let rounded = yuan.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
        let fen = rounded.checked_mul(Decimal::ONE_HUNDRED)?;
        i64::try_from(fen).ok().map(Money)
    }

    /// Rounds a decimal amount of yuan down (towards negative infinity) to the fen: for a
    /// limit that must never be exceeded. `None` when it does not fit.
    pub fn from_decimal_down(yuan: Decimal) -> Option<Money> {
        let fen = yuan.checked_mul(Decimal::ONE_HUNDRED)?.floor();
        i64::try_from(fen).ok().map(Money)
    }

    /// Rounds a decimal amount of yuan up (towards positive infinity) to the fen: for a
    /// floor that must always be met. `None` when it does not fit.
    pub fn from_decimal_up(yuan: Decimal) -> Option<Money> {
        let fen = yuan.checked_mul(Decimal::ONE_HUNDRED)?.ceil();
        i64::try_from(fen).ok().map(Money)
    }

    /// `self × factor`, rounded half-up to the fen once.
    pub fn mul_half_up(self, factor: Decimal) -> Option<Money> {
        Money::from_decimal_half_up(self.to_decimal().checked_mul(factor)?)
    }
}

impl fmt::Display for Money {
    /// Always two fraction digits, no grouping: "1234.50", "-0.01".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl FromStr for Money {
    type Err = MoneyError;

    fn from_str(text: &str) -> Result<Money, MoneyError> {
        Money::parse_signed(text)
    }
}

impl Sum for Money {
    /// Sums exactly; panics only on i64 overflow (more than 92 quadrillion yuan).
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        Money(iter.map(|m| m.0).sum())
    }
}

impl serde::Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Money {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Money, D::Error> {
        let text = String::deserialize(deserializer)?;
        Money::parse_signed(&text).map_err(|e| serde::de::Error::custom(format!("amount {text:?} {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_exactly() {
        for (text, fen, shown) in [
            ("0.01", 1, "0.01"),
            ("1", 100, "1.00"),
            ("1234.5", 123_450, "1234.50"),
            ("10000000000.00", 1_000_000_000_000, "10000000000.00"),
            ("-12.30", -1230, "-12.30"),
            ("007.00", 700, "7.00"),
        ] {
            let money = Money::parse_signed(text).unwrap();
            assert_eq!(money.fen(), fen, "{text}");
            assert_eq!(money.to_string(), shown, "{text}");
        }
    }

    #[test]
    fn rejects_what_is_not_exact_money() {
        use MoneyError::*;
        for (text, error) in [
            ("", Empty),
            ("1.234", TooPrecise),
            ("0.001", TooPrecise),
            ("1e3", NotADecimal),
            ("1,000.00", NotADecimal),
            (" 1.00", NotADecimal),
            ("+1", NotADecimal),
            (".5", NotADecimal),
            ("5.", NotADecimal),
            ("-", NotADecimal),
            ("NaN", NotADecimal),
            ("99999999999999999999", TooLarge),
            ("10000000000.01", TooLarge),
            ("-10000000000.01", TooLarge),
        ] {
            assert_eq!(Money::parse_signed(text), Err(error), "{text:?}");
        }
        assert_eq!(Money::parse_non_negative("-0.01"), Err(Negative));
        assert_eq!(Money::parse_positive("0.00"), Err(NotPositive));
        assert_eq!(Money::parse_positive("0.01"), Ok(Money::from_fen(1)));
    }

    #[test]
    fn multiplication_rounds_half_up_once() {
        let share = Decimal::new(70, 2);
        assert_eq!(
            Money::parse_signed("2400000.00").unwrap().mul_half_up(share),
            Some(Money::parse_signed("1680000.00").unwrap())
        );
        // 0.05 × 0.5 = 0.025 → 0.03 (half-up), not banker's 0.02.
        assert_eq!(Money::from_fen(5).mul_half_up(Decimal::new(5, 1)), Some(Money::from_fen(3)));
        assert_eq!(Money::from_fen(-5).mul_half_up(Decimal::new(5, 1)), Some(Money::from_fen(-3)));
    }
}
