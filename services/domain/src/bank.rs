//! Partner banks.

use std::fmt;

/// A bank's standing with the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BankStatus {
    /// Normal operation.
    Active,
    /// NPL ratio above the watch threshold: new applications are referred.
    Watch,
    /// Suspended: no new enrolments.
    Suspended,
}

/// An unknown stored bank status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown bank status {0:?}")]
pub struct BankStatusParseError(pub String);

impl BankStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            BankStatus::Active => "ACTIVE",
            BankStatus::Watch => "WATCH",
            BankStatus::Suspended => "SUSPENDED",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Result<BankStatus, BankStatusParseError> {
        match text {
            "ACTIVE" => Ok(BankStatus::Active),
            "WATCH" => Ok(BankStatus::Watch),
            "SUSPENDED" => Ok(BankStatus::Suspended),
            other => Err(BankStatusParseError(other.to_owned())),
        }
    }
}

impl fmt::Display for BankStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The status the NPL ratio calls for: above the suspension threshold SUSPENDED, above the
/// watch threshold WATCH, else ACTIVE. `npl_outstanding ÷ covered_outstanding`; no covered
/// loans means ACTIVE. With the policy's `watch_grade`/`suspend_grade`, the bank's last
/// quarterly grade (`grade`) may call for more; the stricter of the two holds.
pub fn automatic_status(
    policy: &crate::policy::Policy,
    covered_outstanding: crate::money::Money,
    npl_outstanding: crate::money::Money,
    grade: Option<BankGrade>,
) -> BankStatus {
    automatic_status_with_reason(policy, covered_outstanding, npl_outstanding, grade).0
}

fn severity(status: BankStatus) -> u8 {
    match status {
        BankStatus::Active => 0,
        BankStatus::Watch => 1,
        BankStatus::Suspended => 2,
    }
}

/// [`automatic_status`] with the reason stored beside it: the NPL ratio's, the grade's, or
/// both (empty for ACTIVE).
pub fn automatic_status_with_reason(
    policy: &crate::policy::Policy,
    covered_outstanding: crate::money::Money,
    npl_outstanding: crate::money::Money,
    grade: Option<BankGrade>,
) -> (BankStatus, String) {
    let rules = &policy.bank_status;
    let ratio = npl_ratio(covered_outstanding, npl_outstanding);
    let by_npl = match ratio {
        Some(r) if r > rules.suspend_npl_ratio => BankStatus::Suspended,
        Some(r) if r > rules.watch_npl_ratio => BankStatus::Watch,
        _ => BankStatus::Active,
    };
    let by_grade = match grade {
        Some(g) if rules.suspend_grade.is_some_and(|worst| g >= worst) => BankStatus::Suspended,
        Some(g) if rules.watch_grade.is_some_and(|worst| g >= worst) => BankStatus::Watch,
        _ => BankStatus::Active,
    };
    let status = if severity(by_grade) > severity(by_npl) { by_grade } else { by_npl };
    let mut reasons = Vec::new();
    if by_npl != BankStatus::Active {
        reasons.push(format!(
            "NPL ratio {} of covered outstanding {covered_outstanding}",
            ratio.unwrap_or_default().round_dp(4)
        ));
    }
    if let (Some(g), true) = (grade, by_grade != BankStatus::Active) {
        reasons.push(format!(
            "quarterly grade {g} (the policy sets {by_grade} from grade {})",
            match by_grade {
                BankStatus::Suspended => rules.suspend_grade,
                _ => rules.watch_grade,
            }
            .map(|g| g.to_string())
            .unwrap_or_default()
        ));
    }
    (status, reasons.join("; "))
}

/// A calendar quarter, "2026-Q4": a bank's rating period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quarter {
    /// Year.
    pub year: i32,
    /// 1–4.
    pub quarter: u32,
}

impl Quarter {
    /// The quarter containing `date`.
    pub fn of(date: chrono::NaiveDate) -> Quarter {
        use chrono::Datelike;
        Quarter { year: date.year(), quarter: (date.month() - 1) / 3 + 1 }
    }

    /// Parses "YYYY-Qn".
    pub fn parse(text: &str) -> Option<Quarter> {
        let (year, quarter) = text.split_once("-Q")?;
        let quarter: u32 = quarter.parse().ok()?;
        (year.len() == 4 && (1..=4).contains(&quarter)).then_some(Quarter { year: year.parse().ok()?, quarter })
    }
}

impl fmt::Display for Quarter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-Q{}", self.year, self.quarter)
    }
}

/// NPL ratio, `None` when nothing is covered.
pub fn npl_ratio(
    covered_outstanding: crate::money::Money,
    npl_outstanding: crate::money::Money,
) -> Option<rust_decimal::Decimal> {
    if covered_outstanding.fen() <= 0 {
        return None;
    }
    npl_outstanding.to_decimal().checked_div(covered_outstanding.to_decimal())
}

/// A bank's grade from its loss record (not the enterprises' technology grade).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Deserialize)]
pub enum BankGrade {
    /// Few losses.
    A,
    /// NPL ratio within B's threshold.
    B,
    /// Within C's.
    C,
    /// Above C's.
    D,
}

impl BankGrade {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            BankGrade::A => "A",
            BankGrade::B => "B",
            BankGrade::C => "C",
            BankGrade::D => "D",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<BankGrade> {
        [BankGrade::A, BankGrade::B, BankGrade::C, BankGrade::D].into_iter().find(|g| g.as_str() == text)
    }
}

impl fmt::Display for BankGrade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a bank's grade is computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RatingInputs {
    /// Covered outstanding of the bank's loans.
    pub covered_outstanding: crate::money::Money,
    /// Of which non-performing.
    pub npl_outstanding: crate::money::Money,
    /// Σ compensation approved on the bank's claims, ever.
    pub compensation: crate::money::Money,
    /// Σ principal the bank enrolled, ever.
    pub enrolled: crate::money::Money,
    /// Claims flagged EARLY_DEFAULT.
    pub early_defaults: u32,
    /// The bank's last reconciliation: (discrepancies, rows compared); `None` before the first.
    pub last_tape: Option<(u64, u64)>,
}

/// A grade with its inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rating {
    /// The grade.
    pub grade: BankGrade,
    /// NPL ratio (`None`: nothing covered, counted as 0).
    pub npl_ratio: Option<rust_decimal::Decimal>,
    /// Compensation ÷ principal enrolled (`None`: nothing enrolled, counted as 0).
    pub payout_ratio: Option<rust_decimal::Decimal>,
    /// Discrepancies ÷ rows compared on the last tape (`None`: no tape yet, counted as 0).
    pub mismatch_rate: Option<rust_decimal::Decimal>,
    /// Why not one grade better, in words; empty for A.
    pub because: String,
}

/// Grades a bank by the policy's thresholds (see [`crate::policy::BankRatingPolicy`]).
pub fn rate(policy: &crate::policy::Policy, inputs: &RatingInputs) -> Rating {
    use rust_decimal::Decimal;
    let thresholds = &policy.bank_rating;
    let npl_ratio = npl_ratio(inputs.covered_outstanding, inputs.npl_outstanding);
    let payout_ratio = if inputs.enrolled.fen() > 0 {
        inputs.compensation.to_decimal().checked_div(inputs.enrolled.to_decimal())
    } else {
        None
    };
    let mismatch_rate = inputs
        .last_tape
        .filter(|(_, rows)| *rows > 0)
        .and_then(|(wrong, rows)| Decimal::from(wrong).checked_div(Decimal::from(rows)));
    let (npl, payout, mismatch) =
        (npl_ratio.unwrap_or_default(), payout_ratio.unwrap_or_default(), mismatch_rate.unwrap_or_default());
    let pct = |d: Decimal| format!("{}%", (d * Decimal::ONE_HUNDRED).round_dp(2).normalize());
    let tape_fails = thresholds.b_max_mismatch_rate.is_some_and(|max| mismatch > max);
    let mut not_a = Vec::new();
    if npl > thresholds.a_max_npl_ratio {
        not_a.push(format!("NPL ratio {} above {}", pct(npl), pct(thresholds.a_max_npl_ratio)));
    }
    if payout > thresholds.a_max_payout_ratio {
        not_a.push(format!("payout ratio {} above {}", pct(payout), pct(thresholds.a_max_payout_ratio)));
    }
    if let Some(max) = thresholds.a_max_early_defaults.filter(|max| inputs.early_defaults > *max) {
        not_a.push(format!("{} early defaults, above {max}", inputs.early_defaults));
    }
    if let (true, Some(max)) = (tape_fails, thresholds.b_max_mismatch_rate) {
        not_a.push(format!("last tape's mismatch rate {} above {}", pct(mismatch), pct(max)));
    }
    let (grade, because) = if not_a.is_empty() {
        (BankGrade::A, String::new())
    } else if npl <= thresholds.b_max_npl_ratio && !tape_fails {
        (BankGrade::B, not_a.join("; "))
    } else if npl <= thresholds.c_max_npl_ratio {
        let why = if tape_fails && npl <= thresholds.b_max_npl_ratio {
            not_a.join("; ")
        } else {
            format!("NPL ratio {} above {}", pct(npl), pct(thresholds.b_max_npl_ratio))
        };
        (BankGrade::C, why)
    } else {
        (BankGrade::D, format!("NPL ratio {} above {}", pct(npl), pct(thresholds.c_max_npl_ratio)))
    };
    Rating { grade, npl_ratio, payout_ratio, mismatch_rate, because }
}

#[cfg(test)]
mod rating_tests {
    use super::*;
    use crate::money::Money;
    use crate::policy::Policy;

    fn money(text: &str) -> Money {
        Money::parse_signed(text).unwrap()
    }

    fn inputs(npl: &str, compensation: &str) -> RatingInputs {
        RatingInputs {
            covered_outstanding: money("100000000.00"),
            npl_outstanding: money(npl),
            compensation: money(compensation),
            enrolled: money("200000000.00"),
            ..Default::default()
        }
    }

    #[test]
    fn grades_follow_the_npl_and_payout_thresholds_at_their_boundaries() {
        let policy = Policy::default_policy();
        // 100,000,000.00 covered, 200,000,000.00 enrolled: 1.5% NPL is 1,500,000.00; 1% payout 2,000,000.00.
        let cases = [
            ("1500000.00", "2000000.00", BankGrade::A, ""),
            ("1500000.01", "0.00", BankGrade::B, "NPL ratio 1.5% above 1.5%"),
            ("0.00", "2000000.01", BankGrade::B, "payout ratio 1% above 1%"),
            ("3000000.00", "0.00", BankGrade::B, "NPL ratio 3% above 1.5%"),
            ("3000000.01", "0.00", BankGrade::C, "NPL ratio 3% above 3%"),
            ("5000000.00", "0.00", BankGrade::C, "NPL ratio 5% above 3%"),
            ("5000000.01", "0.00", BankGrade::D, "NPL ratio 5% above 5%"),
        ];
        for (npl, compensation, grade, because) in cases {
            let rating = rate(&policy, &inputs(npl, compensation));
            assert_eq!(
                (rating.grade, rating.because.as_str()),
                (grade, because),
                "NPL {npl}, compensation {compensation}"
            );
        }
        let empty = rate(&policy, &RatingInputs::default());
        assert_eq!((empty.grade, empty.npl_ratio, empty.payout_ratio), (BankGrade::A, None, None), "a new bank is A");
    }

    #[test]
    fn early_defaults_and_tape_mismatches_count_when_the_policy_says_so() {
        let mut policy = Policy::default_policy();
        let mut record = inputs("0.00", "0.00");
        record.early_defaults = 3;
        record.last_tape = Some((11, 100));
        assert_eq!(rate(&policy, &record).grade, BankGrade::A, "neither is a condition by default");
        policy.bank_rating.a_max_early_defaults = Some(2);
        assert_eq!(rate(&policy, &record).grade, BankGrade::B);
        policy.bank_rating.b_max_mismatch_rate = Some(rust_decimal::Decimal::new(10, 2));
        let rating = rate(&policy, &record);
        assert_eq!(rating.grade, BankGrade::C, "11% of the tape mismatched, above 10%");
        assert_eq!(rating.mismatch_rate, Some(rust_decimal::Decimal::new(11, 2)));
        assert_eq!(rating.because, "3 early defaults, above 2; last tape's mismatch rate 11% above 10%");
        record.last_tape = Some((10, 100));
        assert_eq!(rate(&policy, &record).grade, BankGrade::B, "10% is within");
    }

    #[test]
    fn the_policy_may_tie_watch_and_suspension_to_the_quarterly_grade() {
        let mut policy = Policy::default_policy();
        let (covered, npl) = (money("100000000.00"), money("0.00"));
        // Without grade thresholds the grade changes nothing.
        assert_eq!(automatic_status(&policy, covered, npl, Some(BankGrade::D)), BankStatus::Active);
        policy.bank_status.watch_grade = Some(BankGrade::B);
        policy.bank_status.suspend_grade = Some(BankGrade::D);
        assert_eq!(automatic_status(&policy, covered, npl, Some(BankGrade::A)), BankStatus::Active);
        assert_eq!(automatic_status(&policy, covered, npl, None), BankStatus::Active, "not rated yet");
        let (status, reason) = automatic_status_with_reason(&policy, covered, npl, Some(BankGrade::B));
        assert_eq!(
            (status, reason.as_str()),
            (BankStatus::Watch, "quarterly grade B (the policy sets WATCH from grade B)")
        );
        assert_eq!(automatic_status(&policy, covered, npl, Some(BankGrade::C)), BankStatus::Watch);
        assert_eq!(automatic_status(&policy, covered, npl, Some(BankGrade::D)), BankStatus::Suspended);
        // The stricter of the NPL ratio's and the grade's: 4 % NPL (WATCH) with grade D suspends;
        // 6 % (SUSPENDED) with grade A stays suspended; both reasons are given.
        let (status, reason) = automatic_status_with_reason(&policy, covered, money("4000000.00"), Some(BankGrade::D));
        assert_eq!(status, BankStatus::Suspended);
        assert_eq!(
            reason,
            "NPL ratio 0.04 of covered outstanding 100000000.00; quarterly grade D (the policy sets SUSPENDED from grade D)"
        );
        assert_eq!(automatic_status(&policy, covered, money("6000000.00"), Some(BankGrade::A)), BankStatus::Suspended);
        // Suspension may not need a better grade than watch.
        policy.bank_status.watch_grade = Some(BankGrade::C);
        policy.bank_status.suspend_grade = Some(BankGrade::B);
        assert!(policy.validate().is_err());
    }

    #[test]
    fn quarters_read_and_print_as_yyyy_qn() {
        let date = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(Quarter::of(date(2026, 3, 31)).to_string(), "2026-Q1");
        assert_eq!(Quarter::of(date(2026, 4, 1)).to_string(), "2026-Q2");
        assert_eq!(Quarter::of(date(2026, 12, 2)), Quarter::parse("2026-Q4").unwrap());
        assert_eq!(Quarter::parse("2026-Q5"), None);
    }
}
