//! Amounts as the district's staff read them: thousands separators, and 万元 / 亿元 where
//! officials expect them. Text in, text out: the wire's decimal strings, never a float.

/// `1234567.89` → `1,234,567.89` (text that is not an amount is left as it is).
pub fn thousands(text: &str) -> String {
    let (sign, digits) = text.strip_prefix('-').map_or(("", text), |rest| ("-", rest));
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return text.to_owned();
    }
    let mut grouped = String::new();
    for (index, digit) in whole.chars().enumerate() {
        if index > 0 && (whole.len() - index) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    if fraction.is_empty() { format!("{sign}{grouped}") } else { format!("{sign}{grouped}.{fraction}") }
}

/// An amount in 万元 (ten thousand yuan), or 亿元 (a hundred million) from 1亿 up, to two
/// decimals, rounded half up: `50000000.00` → `5,000.00万`, `600000000.00` → `6.00亿`.
pub fn wan(text: &str) -> String {
    let Ok(yuan) = text.parse::<rust_decimal::Decimal>() else {
        return text.to_owned();
    };
    let (value, unit) = if yuan.abs() >= rust_decimal::Decimal::new(100_000_000, 0) {
        (yuan / rust_decimal::Decimal::new(100_000_000, 0), "亿")
    } else {
        (yuan / rust_decimal::Decimal::new(10_000, 0), "万")
    };
    let rounded = value.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    format!("{}{unit}", thousands(&format!("{rounded:.2}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_as_officials_write_them() {
        assert_eq!(thousands("50000000.00"), "50,000,000.00");
        assert_eq!(thousands("-1234.5"), "-1,234.5");
        assert_eq!(thousands("n/a"), "n/a");
        assert_eq!(wan("50000000.00"), "5,000.00万");
        assert_eq!(wan("600000000.00"), "6.00亿");
        assert_eq!(wan("15000.00"), "1.50万");
    }
}
