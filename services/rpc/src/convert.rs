//! Conversions between wire values and domain types. Every parser names the field it read,
//! and `Violations` collects all bad fields of a request so the caller hears of every one.

use std::fmt::Display;

use chrono::{DateTime, NaiveDate, Utc};
use domain::{BankId, Money, RequestId};

use crate::error::{ApiError, FieldViolation};
use crate::wire::{WireEnum, WireError};

/// Collects the field violations of one request.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    /// An empty collection.
    pub fn new() -> Violations {
        Violations::default()
    }

    /// Records a violation.
    pub fn add(&mut self, field: &str, description: impl Into<String>) {
        self.0.push(FieldViolation { field: field.to_owned(), description: description.into() });
    }

    /// Keeps the value of `result`, or records its error against `field`.
    pub fn check<T, E: Display>(&mut self, field: &str, result: Result<T, E>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.add(field, error.to_string());
                None
            }
        }
    }

    /// A required amount > 0.
    pub fn money_positive(&mut self, field: &str, text: &str) -> Option<Money> {
        self.check(field, Money::parse_positive(text))
    }

    /// A required amount ≥ 0.
    pub fn money_non_negative(&mut self, field: &str, text: &str) -> Option<Money> {
        self.check(field, Money::parse_non_negative(text))
    }

    /// An optional amount > 0: empty means "not given".
    pub fn optional_money_positive(&mut self, field: &str, text: &str) -> Option<Option<Money>> {
        if text.is_empty() { Some(None) } else { self.money_positive(field, text).map(Some) }
    }

    /// An optional amount ≥ 0: empty means "not given".
    pub fn optional_money_non_negative(&mut self, field: &str, text: &str) -> Option<Option<Money>> {
        if text.is_empty() { Some(None) } else { self.money_non_negative(field, text).map(Some) }
    }

    /// Optional text, trimmed, at most `max` characters: empty when not given.
    pub fn optional_text(&mut self, field: &str, text: &str, max: usize) -> Option<String> {
        if text.trim().is_empty() { Some(String::new()) } else { self.text(field, text, max) }
    }

    /// A required business date "YYYY-MM-DD".
    pub fn date(&mut self, field: &str, text: &str) -> Option<NaiveDate> {
        self.check(field, parse_date(text))
    }

    /// A required business date that is not in the future (today in Asia/Shanghai or earlier).
    pub fn past_date(&mut self, field: &str, text: &str) -> Option<NaiveDate> {
        let date = self.date(field, text)?;
        if date > business_today() {
            self.add(field, format!("{date} is in the future"));
            return None;
        }
        Some(date)
    }

    /// An optional business date: empty means "not given".
    pub fn optional_date(&mut self, field: &str, text: &str) -> Option<Option<NaiveDate>> {
        if text.is_empty() { Some(None) } else { self.date(field, text).map(Some) }
    }

    /// The request id of a mutating call.
    pub fn request_id(&mut self, text: &str) -> Option<RequestId> {
        self.check("request_id", RequestId::parse(text))
    }

    /// Non-empty free text of at most `max` characters, without control characters other
    /// than line breaks and tabs (a NUL cannot be stored by PostgreSQL, and none belongs in a
    /// reason or a memo).
    pub fn text(&mut self, field: &str, text: &str, max: usize) -> Option<String> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            self.add(field, "is required");
            None
        } else if trimmed.chars().count() > max {
            self.add(field, format!("is longer than {max} characters"));
            None
        } else if trimmed.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
            self.add(field, "contains a control character (such as NUL); only text, line breaks and tabs");
            None
        } else {
            Some(trimmed.to_owned())
        }
    }

    /// An optional search filter of at most `max` characters: `None` when empty.
    pub fn optional_filter(&mut self, field: &str, text: &str, max: usize) -> Option<Option<String>> {
        if text.is_empty() { Some(None) } else { self.text(field, text, max).map(Some) }
    }

    /// A resource name `"{collection}/{id}"`, returning the id part.
    pub fn name<'a>(&mut self, field: &str, text: &'a str, collection: &str) -> Option<&'a str> {
        match text.strip_prefix(collection).and_then(|rest| rest.strip_prefix('/')) {
            Some(id) if !id.is_empty() && !id.contains('/') => Some(id),
            _ => {
                self.add(field, format!("must be a resource name like \"{collection}/{{id}}\""));
                None
            }
        }
    }

    /// A resource name with a numeric id, `"{collection}/123"`, returning the id.
    pub fn numeric_name(&mut self, field: &str, text: &str, collection: &str) -> Option<i64> {
        let id = self.name(field, text, collection)?;
        match id.parse::<i64>() {
            Ok(id) if id > 0 => Some(id),
            _ => {
                self.add(field, format!("must be a resource name like \"{collection}/123\""));
                None
            }
        }
    }

    /// A bank resource name `banks/{bank_id}`.
    pub fn bank_name(&mut self, field: &str, text: &str) -> Option<BankId> {
        let id = self.name(field, text, "banks")?;
        self.check(field, BankId::parse(id))
    }

    /// An optional bank filter `banks/{bank_id}`: `Some(None)` when empty (no filter).
    pub fn optional_bank_name(&mut self, field: &str, text: &str) -> Option<Option<BankId>> {
        if text.is_empty() { Some(None) } else { self.bank_name(field, text).map(Some) }
    }

    /// A known, specified value of a wire-only enum (one without a domain counterpart).
    pub fn enumeration<E>(&mut self, field: &str, value: i32) -> Option<E>
    where
        E: TryFrom<i32> + Default + PartialEq,
    {
        match E::try_from(value) {
            Ok(known) if known != E::default() => Some(known),
            Ok(_) => {
                self.add(field, "is required");
                None
            }
            Err(_) => {
                self.add(field, format!("has unknown value {value}"));
                None
            }
        }
    }

    /// A required wire enum read into its domain value ([`WireEnum`]).
    pub fn domain_enum<E: WireEnum>(&mut self, field: &str, value: i32) -> Option<E> {
        self.check(field, E::from_wire_i32(value))
    }

    /// An optional wire enum filter read into its domain value: `Some(None)` when
    /// unspecified (no filter), `None` (recorded) when unknown.
    pub fn optional_domain_enum<E: WireEnum>(&mut self, field: &str, value: i32) -> Option<Option<E>> {
        match E::from_wire_i32(value) {
            Ok(known) => Some(Some(known)),
            Err(WireError::Unspecified) => Some(None),
            Err(error) => {
                self.add(field, error.to_string());
                None
            }
        }
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok` when nothing was recorded, else INVALID_ARGUMENT with every violation.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.0.is_empty() { Ok(()) } else { Err(ApiError::InvalidArgument(self.0)) }
    }

    /// INVALID_ARGUMENT with every violation (for use after a check returned `None`).
    pub fn into_error(self) -> ApiError {
        if self.0.is_empty() {
            ApiError::Internal("a request check failed without saying why".to_owned())
        } else {
            ApiError::InvalidArgument(self.0)
        }
    }
}

/// Parses a business date "YYYY-MM-DD".
pub fn parse_date(text: &str) -> Result<NaiveDate, String> {
    if text.is_empty() {
        return Err("is required".to_owned());
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .filter(|_| text.len() == 10)
        .ok_or_else(|| format!("{text:?} is not a date like \"2025-07-01\""))
}

/// Writes a business date.
pub fn format_date(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

/// An instant on the wire.
pub fn timestamp(instant: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: instant.timestamp(),
        nanos: i32::try_from(instant.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

/// A page request: how many rows, and the key the previous page ended after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Rows wanted (1–1000).
    pub size: u64,
    /// Key of the last row of the previous page.
    pub after: Option<String>,
}

/// Default page size when a client sends 0.
pub const DEFAULT_PAGE_SIZE: u64 = 50;
/// Largest page size.
pub const MAX_PAGE_SIZE: u64 = 1000;

impl Page {
    /// Reads `page_size` and `page_token`.
    pub fn parse(violations: &mut Violations, page_size: i32, page_token: &str) -> Option<Page> {
        let size = match page_size {
            0 => DEFAULT_PAGE_SIZE,
            n if n < 0 => {
                violations.add("page_size", "must not be negative");
                return None;
            }
            n => (n as u64).min(MAX_PAGE_SIZE),
        };
        let after = if page_token.is_empty() {
            None
        } else {
            let decoded = hex::decode(page_token)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .and_then(|text| text.strip_prefix("p1:").map(str::to_owned));
            match decoded {
                Some(key) => Some(key),
                None => {
                    violations.add("page_token", "is not a token this server issued");
                    return None;
                }
            }
        };
        Some(Page { size, after })
    }

    /// How many rows to fetch: one more than the page, to know whether another page follows.
    pub fn fetch_limit(&self) -> u64 {
        self.size + 1
    }

    /// Cuts `rows` to the page and returns the next token (empty on the last page).
    pub fn finish<T>(&self, rows: &mut Vec<T>, key: impl Fn(&T) -> String) -> String {
        if rows.len() as u64 > self.size {
            rows.truncate(self.size as usize);
            rows.last().map(|last| hex::encode(format!("p1:{}", key(last)))).unwrap_or_default()
        } else {
            String::new()
        }
    }
}

/// Today's business date, from the business clock as the call being served read it (the
/// system clock's date in Asia/Shanghai, or the simulated date): see `store::clock`.
pub fn business_today() -> NaiveDate {
    store::clock::today()
}

/// A ratio on the wire (leverage, coverage, NPL ratio, progress, stress rates): rounded half
/// away from zero to six fraction digits and written with exactly six.
pub fn ratio_to_wire(value: rust_decimal::Decimal) -> String {
    let mut rounded = value.round_dp_with_strategy(6, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    rounded.rescale(6);
    rounded.to_string()
}

/// A pool share on the wire: exactly two fraction digits ("0.70"), as the policy writes them.
pub fn share_to_wire(value: rust_decimal::Decimal) -> String {
    domain::statement::share_text(value)
}

/// A row of the pool-share table on the wire.
pub fn share_row_to_wire(row: &domain::underwriting::ShareRow) -> proto::v1::PoolShareRow {
    proto::v1::PoolShareRow { row: row.row.clone(), effect: share_to_wire(row.effect), share: share_to_wire(row.share) }
}

/// Parses a rate, share or ratio written as a decimal fraction ("0.0385").
pub fn parse_fraction(text: &str) -> Result<rust_decimal::Decimal, String> {
    if text.is_empty() {
        return Err("is required".to_owned());
    }
    let value: rust_decimal::Decimal = text
        .parse()
        .ok()
        .filter(|_| text.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
        .ok_or_else(|| format!("{text:?} is not a decimal fraction like \"0.0385\""))?;
    if value >= rust_decimal::Decimal::ONE {
        return Err(format!("{text} is not a fraction below 1 (write 3.85 % as \"0.0385\")"));
    }
    if value.scale() > 6 {
        return Err("has more than six fraction digits".to_owned());
    }
    Ok(value)
}

/// A non-negative count from the wire.
pub fn parse_count(value: i32) -> Result<u32, String> {
    u32::try_from(value).map_err(|_| format!("must not be negative, got {value}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_strict() {
        assert!(parse_date("2025-07-01").is_ok());
        assert!(parse_date("2025-7-1").is_err());
        assert!(parse_date("2025-02-30").is_err());
        assert!(parse_date("").is_err());
    }

    #[test]
    fn ratios_have_six_digits_and_shares_two() {
        use rust_decimal::Decimal;
        assert_eq!(ratio_to_wire(Decimal::new(7, 1)), "0.700000");
        assert_eq!(ratio_to_wire(Decimal::new(12, 0)), "12.000000");
        assert_eq!(ratio_to_wire(Decimal::ZERO), "0.000000");
        assert_eq!(ratio_to_wire(Decimal::new(5547654, 8)), "0.055477");
        assert_eq!(share_to_wire(Decimal::new(7, 1)), "0.70");
        assert_eq!(share_to_wire(Decimal::new(5000, 4)), "0.50");
        assert_eq!(share_to_wire(Decimal::new(555, 3)), "0.555");
    }

    #[test]
    fn names_and_pages() {
        let mut violations = Violations::new();
        assert_eq!(violations.name("name", "banks/nbcb", "banks"), Some("nbcb"));
        assert_eq!(violations.name("name", "banks/", "banks"), None);
        assert_eq!(violations.name("name", "loans/1", "banks"), None);
        let page = Page::parse(&mut violations, 2, "").unwrap();
        let mut rows = vec![1, 2, 3];
        let token = page.finish(&mut rows, |n| n.to_string());
        assert_eq!(rows, vec![1, 2]);
        let next = Page::parse(&mut violations, 2, &token).unwrap();
        assert_eq!(next.after.as_deref(), Some("2"));
        assert!(Page::parse(&mut violations, 2, "zz").is_none());
    }
}
