//! Reconciliation of a bank's loan tape against the pool's registry: each tape row is
//! matched by the bank's loan number as it streams past, so only the registry (one small
//! entry per covered loan) and the set of loan numbers seen are held in memory, never the
//! tape.

use std::collections::HashMap;

use crate::money::Money;
use crate::terms::Classification;
use crate::uscc::Uscc;

/// What the registry knows of one covered loan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryEntry {
    /// The pool's loan id.
    pub loan_id: i64,
    /// Outstanding principal.
    pub outstanding: Money,
    /// Days past due at the last report.
    pub days_past_due: u32,
    /// Classification at the last report.
    pub classification: Classification,
    /// Maturity (renewed, when the loan was renewed).
    pub maturity_date: chrono::NaiveDate,
}

/// One row of a tape, as sent.
#[derive(Debug, Clone, Copy)]
pub struct TapeRow<'a> {
    /// Line in the bank's file.
    pub line: i64,
    /// The bank's loan number.
    pub bank_loan_number: &'a str,
    /// Borrower USCC.
    pub uscc: &'a str,
    /// Outstanding principal.
    pub outstanding: &'a str,
    /// Days past due.
    pub days_past_due: &'a str,
    /// Classification name.
    pub classification: &'a str,
    /// Maturity "YYYY-MM-DD"; empty when the tape has no maturity column.
    pub maturity_date: &'a str,
}

/// Kind of discrepancy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DiscrepancyKind {
    /// On the tape, not in the registry.
    MissingInPool,
    /// In the registry, not on the tape.
    MissingAtBank,
    /// Outstanding differs.
    BalanceMismatch,
    /// Days past due or classification differ.
    StatusMismatch,
    /// A loan number appears again.
    DuplicateInTape,
    /// The row cannot be read.
    InvalidRecord,
}

impl DiscrepancyKind {
    /// Every kind.
    pub const ALL: [DiscrepancyKind; 6] = [
        DiscrepancyKind::MissingInPool,
        DiscrepancyKind::MissingAtBank,
        DiscrepancyKind::BalanceMismatch,
        DiscrepancyKind::StatusMismatch,
        DiscrepancyKind::DuplicateInTape,
        DiscrepancyKind::InvalidRecord,
    ];

    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            DiscrepancyKind::MissingInPool => "MISSING_IN_POOL",
            DiscrepancyKind::MissingAtBank => "MISSING_AT_BANK",
            DiscrepancyKind::BalanceMismatch => "BALANCE_MISMATCH",
            DiscrepancyKind::StatusMismatch => "STATUS_MISMATCH",
            DiscrepancyKind::DuplicateInTape => "DUPLICATE_IN_TAPE",
            DiscrepancyKind::InvalidRecord => "INVALID_RECORD",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<DiscrepancyKind> {
        DiscrepancyKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// One discrepancy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discrepancy {
    /// Kind.
    pub kind: DiscrepancyKind,
    /// Tape line; 0 for MISSING_AT_BANK.
    pub line: i64,
    /// Loan number.
    pub bank_loan_number: String,
    /// The pool's loan, when known.
    pub loan_id: Option<i64>,
    /// The bank's figure.
    pub bank_value: String,
    /// The pool's figure.
    pub pool_value: String,
    /// Bank − pool for balance mismatches.
    pub difference: Option<Money>,
    /// Why, for people.
    pub detail: String,
}

/// Counts of a finished reconciliation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Rows read.
    pub rows_read: i64,
    /// Rows matched with no discrepancy.
    pub rows_matched: i64,
    /// Count per kind.
    pub counts: HashMap<DiscrepancyKind, i64>,
    /// Σ outstanding of the tape's valid rows.
    pub tape_outstanding: Money,
    /// Σ outstanding of the registry.
    pub pool_outstanding: Money,
}

/// Longest loan number accepted.
pub const MAX_LOAN_NUMBER: usize = 64;

/// Matches a streamed tape against the registry.
#[derive(Debug)]
pub struct Reconciler {
    registry: HashMap<Box<str>, (RegistryEntry, bool)>,
    seen_unknown: std::collections::HashSet<String>,
    summary: Summary,
}

fn invalid(row: &TapeRow<'_>, detail: String) -> Discrepancy {
    // Kept as the bank wrote it, but for control characters (a NUL cannot be stored).
    let number: String = row
        .bank_loan_number
        .chars()
        .take(MAX_LOAN_NUMBER)
        .map(|c| if c.is_control() { char::REPLACEMENT_CHARACTER } else { c })
        .collect();
    Discrepancy {
        kind: DiscrepancyKind::InvalidRecord,
        line: row.line,
        bank_loan_number: number,
        loan_id: None,
        bank_value: String::new(),
        pool_value: String::new(),
        difference: None,
        detail,
    }
}

fn shorten(text: &str) -> String {
    if text.chars().count() > 40 {
        format!("{}…", text.chars().take(40).collect::<String>())
    } else {
        text.to_owned()
    }
}

impl Reconciler {
    /// A reconciler over the registry of one bank's covered, open loans.
    pub fn new(registry: impl IntoIterator<Item = (String, RegistryEntry)>) -> Reconciler {
        let mut summary = Summary::default();
        let registry = registry.into_iter();
        let mut map: HashMap<Box<str>, (RegistryEntry, bool)> = HashMap::with_capacity(registry.size_hint().0);
        for (number, entry) in registry {
            summary.pool_outstanding = Money::from_fen(summary.pool_outstanding.fen() + entry.outstanding.fen());
            map.insert(number.into_boxed_str(), (entry, false));
        }
        let registry = map;
        Reconciler { registry, seen_unknown: Default::default(), summary }
    }

    fn count(&mut self, found: &[Discrepancy]) {
        for discrepancy in found {
            *self.summary.counts.entry(discrepancy.kind).or_default() += 1;
        }
    }

    /// Reconciles one row; returns its discrepancies (none when it matches).
    pub fn row(&mut self, row: &TapeRow<'_>) -> Vec<Discrepancy> {
        self.summary.rows_read += 1;
        let found = self.check(row);
        if found.is_empty() {
            self.summary.rows_matched += 1;
        }
        self.count(&found);
        found
    }

    fn check(&mut self, row: &TapeRow<'_>) -> Vec<Discrepancy> {
        let number = row.bank_loan_number.trim();
        if number.is_empty() {
            return vec![invalid(row, "bank loan number is empty".to_owned())];
        }
        if number.chars().count() > MAX_LOAN_NUMBER {
            return vec![invalid(row, format!("bank loan number is longer than {MAX_LOAN_NUMBER} characters"))];
        }
        if number.chars().any(char::is_control) {
            return vec![invalid(row, format!("bank loan number {number:?} contains a control character"))];
        }
        let mut problems = Vec::new();
        if let Err(error) = Uscc::parse(row.uscc.trim()) {
            problems.push(format!("uscc {:?} {error}", shorten(row.uscc)));
        }
        let outstanding = match Money::parse_non_negative(row.outstanding.trim()) {
            Ok(money) => Some(money),
            Err(error) => {
                problems.push(format!("outstanding principal {:?} {error}", shorten(row.outstanding)));
                None
            }
        };
        let days = match row.days_past_due.trim().parse::<u32>() {
            Ok(days) => Some(days),
            Err(_) => {
                problems.push(format!("days past due {:?} is not a whole number ≥ 0", shorten(row.days_past_due)));
                None
            }
        };
        let classification = match Classification::parse(row.classification.trim()) {
            Some(c) => Some(c),
            None => {
                problems.push(format!("unknown classification {:?}", shorten(row.classification)));
                None
            }
        };
        let maturity = match row.maturity_date.trim() {
            "" => None,
            text => match chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
                Ok(date) => Some(date),
                Err(_) => {
                    problems.push(format!("maturity date {:?} is not YYYY-MM-DD", shorten(text)));
                    None
                }
            },
        };
        let (Some(outstanding), Some(days), Some(classification)) = (outstanding, days, classification) else {
            return vec![invalid(row, problems.join("; "))];
        };
        if !problems.is_empty() {
            return vec![invalid(row, problems.join("; "))];
        }
        let base = Discrepancy {
            kind: DiscrepancyKind::MissingInPool,
            line: row.line,
            bank_loan_number: number.to_owned(),
            loan_id: None,
            bank_value: String::new(),
            pool_value: String::new(),
            difference: None,
            detail: String::new(),
        };
        let Some((entry, seen)) = self.registry.get_mut(number) else {
            if !self.seen_unknown.insert(number.to_owned()) {
                return vec![Discrepancy {
                    kind: DiscrepancyKind::DuplicateInTape,
                    detail: "the loan number appeared earlier on the tape".to_owned(),
                    ..base
                }];
            }
            self.summary.tape_outstanding = Money::from_fen(self.summary.tape_outstanding.fen() + outstanding.fen());
            return vec![Discrepancy {
                bank_value: outstanding.to_string(),
                detail: "no covered open loan with this number in the pool's registry".to_owned(),
                ..base
            }];
        };
        if *seen {
            return vec![Discrepancy {
                kind: DiscrepancyKind::DuplicateInTape,
                loan_id: Some(entry.loan_id),
                detail: "the loan number appeared earlier on the tape".to_owned(),
                ..base
            }];
        }
        *seen = true;
        // Duplicates do not count twice: the sum is over distinct loan numbers.
        self.summary.tape_outstanding = Money::from_fen(self.summary.tape_outstanding.fen() + outstanding.fen());
        let mut found = Vec::new();
        if outstanding != entry.outstanding {
            found.push(Discrepancy {
                kind: DiscrepancyKind::BalanceMismatch,
                loan_id: Some(entry.loan_id),
                bank_value: outstanding.to_string(),
                pool_value: entry.outstanding.to_string(),
                difference: Some(Money::from_fen(outstanding.fen() - entry.outstanding.fen())),
                detail: "outstanding principal differs".to_owned(),
                ..base.clone()
            });
        }
        let status_differs = days != entry.days_past_due || classification != entry.classification;
        let maturity_differs = maturity.is_some_and(|date| date != entry.maturity_date);
        if status_differs || maturity_differs {
            let mut bank_value = format!("{days} days past due, {classification}");
            let mut pool_value = format!("{} days past due, {}", entry.days_past_due, entry.classification);
            if let Some(date) = maturity {
                bank_value.push_str(&format!(", maturing {date}"));
                pool_value.push_str(&format!(", maturing {}", entry.maturity_date));
            }
            let detail = match (status_differs, maturity_differs) {
                (true, false) => "days past due or classification differ",
                (false, _) => "maturity differs (a renewal reported on one side only?)",
                (true, true) => "days past due or classification differ, and maturity differs",
            };
            found.push(Discrepancy {
                kind: DiscrepancyKind::StatusMismatch,
                loan_id: Some(entry.loan_id),
                bank_value,
                pool_value,
                difference: None,
                detail: detail.to_owned(),
                ..base
            });
        }
        found
    }

    /// Ends the tape: every registry loan not seen is MISSING_AT_BANK (in loan id order).
    pub fn finish(mut self) -> (Summary, Vec<Discrepancy>) {
        let mut missing: Vec<Discrepancy> = self
            .registry
            .iter()
            .filter(|(_, (_, seen))| !seen)
            .map(|(number, (entry, _))| Discrepancy {
                kind: DiscrepancyKind::MissingAtBank,
                line: 0,
                bank_loan_number: number.to_string(),
                loan_id: Some(entry.loan_id),
                bank_value: String::new(),
                pool_value: entry.outstanding.to_string(),
                difference: None,
                detail: "covered open loan missing from the tape".to_owned(),
            })
            .collect();
        missing.sort_by_key(|d| d.loan_id);
        self.count(&missing);
        (self.summary, missing)
    }
}

#[cfg(test)]
#[allow(clippy::inconsistent_digit_grouping)] // fen written as yuan_fen: 100_00 is 100.00
mod tests {
    use super::*;

    fn entry(loan_id: i64, fen: i64) -> RegistryEntry {
        RegistryEntry {
            loan_id,
            outstanding: Money::from_fen(fen),
            days_past_due: 0,
            classification: Classification::Normal,
            maturity_date: chrono::NaiveDate::from_ymd_opt(2027, 6, 30).unwrap(),
        }
    }

    fn row<'a>(line: i64, number: &'a str, outstanding: &'a str, days: &'a str, class: &'a str) -> TapeRow<'a> {
        TapeRow {
            line,
            bank_loan_number: number,
            uscc: "91350100M000100Y43",
            outstanding,
            days_past_due: days,
            classification: class,
            maturity_date: "",
        }
    }

    #[test]
    fn a_maturity_on_the_tape_is_compared_when_given() {
        let mut reconciler = Reconciler::new([("A".to_owned(), entry(1, 100_00)), ("B".to_owned(), entry(2, 200_00))]);
        let same = TapeRow { maturity_date: "2027-06-30", ..row(2, "A", "100.00", "0", "NORMAL") };
        assert!(reconciler.row(&same).is_empty(), "the same maturity matches");
        let renewed = TapeRow { maturity_date: " 2028-06-30 ", ..row(3, "B", "200.00", "0", "NORMAL") };
        let found = reconciler.row(&renewed);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].kind, DiscrepancyKind::StatusMismatch);
        assert_eq!(found[0].bank_value, "0 days past due, NORMAL, maturing 2028-06-30");
        assert_eq!(found[0].pool_value, "0 days past due, NORMAL, maturing 2027-06-30");
        assert_eq!(found[0].detail, "maturity differs (a renewal reported on one side only?)");
        let mut fresh = Reconciler::new([("A".to_owned(), entry(1, 100_00))]);
        let bad = TapeRow { maturity_date: "30/06/2027", ..row(2, "A", "100.00", "0", "NORMAL") };
        let found = fresh.row(&bad);
        assert_eq!(
            (found[0].kind, found[0].detail.as_str()),
            (DiscrepancyKind::InvalidRecord, "maturity date \"30/06/2027\" is not YYYY-MM-DD")
        );
    }

    #[test]
    fn every_kind_is_found_where_it_was_planted() {
        let mut reconciler = Reconciler::new([
            ("A".to_owned(), entry(1, 100_00)),
            ("B".to_owned(), entry(2, 200_00)),
            ("C".to_owned(), entry(3, 300_00)),
            ("D".to_owned(), entry(4, 400_00)),
        ]);
        let kinds = |found: Vec<Discrepancy>| found.into_iter().map(|d| d.kind).collect::<Vec<_>>();
        assert_eq!(kinds(reconciler.row(&row(2, "A", "100.00", "0", "NORMAL"))), []);
        assert_eq!(kinds(reconciler.row(&row(3, "B", "199.99", "0", "NORMAL"))), [DiscrepancyKind::BalanceMismatch]);
        assert_eq!(
            kinds(reconciler.row(&row(4, "C", "300.00", "31", "SPECIAL_MENTION"))),
            [DiscrepancyKind::StatusMismatch]
        );
        assert_eq!(kinds(reconciler.row(&row(5, "A", "100.00", "0", "NORMAL"))), [DiscrepancyKind::DuplicateInTape]);
        assert_eq!(kinds(reconciler.row(&row(6, "Z", "1.00", "0", "NORMAL"))), [DiscrepancyKind::MissingInPool]);
        let bad = reconciler.row(&row(7, "E", "1.001", "x", "GOOD"));
        assert_eq!(kinds(bad.clone()), [DiscrepancyKind::InvalidRecord]);
        assert!(
            bad[0].detail.contains("more than two fraction digits") && bad[0].detail.contains("GOOD"),
            "{}",
            bad[0].detail
        );
        let (summary, missing) = reconciler.finish();
        assert_eq!(missing.iter().map(|d| d.bank_loan_number.as_str()).collect::<Vec<_>>(), ["D"]);
        assert_eq!((summary.rows_read, summary.rows_matched), (6, 1));
        assert_eq!(summary.counts[&DiscrepancyKind::MissingAtBank], 1);
        assert_eq!(summary.tape_outstanding, Money::from_fen(100_00 + 199_99 + 300_00 + 1_00));
        assert_eq!(summary.pool_outstanding, Money::from_fen(1000_00));
    }
}
