//! Monthly settlement statements: which items are owed each way, the net and its
//! direction, and the canonical CSV whose SHA-256 identifies a statement's content.

use std::fmt::Write as _;

use chrono::{Datelike, NaiveDate};

use crate::ids::BankId;
use crate::money::Money;

/// A calendar month, "YYYY-MM".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    /// Year.
    pub year: i32,
    /// Month 1–12.
    pub month: u32,
}

impl Period {
    /// Parses "YYYY-MM".
    pub fn parse(text: &str) -> Option<Period> {
        let (year, month) = text.split_once('-')?;
        if year.len() != 4 || month.len() != 2 {
            return None;
        }
        let period = Period { year: year.parse().ok()?, month: month.parse().ok()? };
        NaiveDate::from_ymd_opt(period.year, period.month, 1).map(|_| period)
    }

    /// The month containing `date`.
    pub fn of(date: NaiveDate) -> Period {
        Period { year: date.year(), month: date.month() }
    }

    /// Last day of the month.
    pub fn last_day(self) -> NaiveDate {
        let (year, month) = if self.month == 12 { (self.year + 1, 1) } else { (self.year, self.month + 1) };
        NaiveDate::from_ymd_opt(year, month, 1).and_then(|d| d.pred_opt()).unwrap_or(NaiveDate::MAX)
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// Kind of a statement line; the kind says who owes the amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LineKind {
    /// Approved compensation not yet paid: owed to the bank.
    Compensation,
    /// Compensation left unpaid by an earlier statement for want of cash: owed to the bank.
    ShortfallCarried,
    /// The pool's share of a recovery: owed to the pool.
    Recovery,
    /// Committed contribution not yet paid: owed to the pool.
    ContributionDue,
}

impl LineKind {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            LineKind::Compensation => "COMPENSATION",
            LineKind::ShortfallCarried => "SHORTFALL_CARRIED",
            LineKind::Recovery => "RECOVERY",
            LineKind::ContributionDue => "CONTRIBUTION_DUE",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<LineKind> {
        [LineKind::Compensation, LineKind::ShortfallCarried, LineKind::Recovery, LineKind::ContributionDue]
            .into_iter()
            .find(|k| k.as_str() == text)
    }

    /// True for amounts the pool owes the bank.
    pub fn owed_to_bank(self) -> bool {
        matches!(self, LineKind::Compensation | LineKind::ShortfallCarried)
    }
}

/// One line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Kind.
    pub kind: LineKind,
    /// The record it points to, e.g. `claims/3`.
    pub source: String,
    /// Words for people.
    pub description: String,
    /// Amount, positive.
    pub amount: Money,
}

/// Who pays whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The pool pays the bank.
    PoolPaysBank,
    /// The bank pays the pool.
    BankPaysPool,
    /// Nothing to pay.
    None,
}

impl Direction {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::PoolPaysBank => "POOL_PAYS_BANK",
            Direction::BankPaysPool => "BANK_PAYS_POOL",
            Direction::None => "NONE",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<Direction> {
        [Direction::PoolPaysBank, Direction::BankPaysPool, Direction::None].into_iter().find(|d| d.as_str() == text)
    }
}

/// A statement's content: lines in a stable order and the totals they make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// Bank.
    pub bank: BankId,
    /// Month.
    pub period: Period,
    /// Lines, ordered by kind then source.
    pub lines: Vec<Line>,
    /// Σ compensation lines.
    pub compensation_total: Money,
    /// Σ shortfall lines.
    pub shortfall_total: Money,
    /// Σ recovery lines.
    pub recoveries_total: Money,
    /// Σ contribution lines.
    pub contributions_due_total: Money,
    /// |owed to bank − owed to pool|.
    pub net: Money,
    /// Direction of the net.
    pub direction: Direction,
}

fn sum(lines: &[Line], kind: LineKind) -> Money {
    lines.iter().filter(|l| l.kind == kind).map(|l| l.amount).sum()
}

/// Orders lines by kind, then by the number in their source, and totals them.
pub fn build(bank: BankId, period: Period, mut lines: Vec<Line>) -> Statement {
    let number = |source: &str| source.rsplit('/').next().and_then(|n| n.parse::<i64>().ok()).unwrap_or(0);
    lines.retain(|line| line.amount.fen() > 0);
    lines.sort_by(|a, b| (a.kind, number(&a.source), &a.source).cmp(&(b.kind, number(&b.source), &b.source)));
    let compensation_total = sum(&lines, LineKind::Compensation);
    let shortfall_total = sum(&lines, LineKind::ShortfallCarried);
    let recoveries_total = sum(&lines, LineKind::Recovery);
    let contributions_due_total = sum(&lines, LineKind::ContributionDue);
    let to_bank = compensation_total.fen() + shortfall_total.fen();
    let to_pool = recoveries_total.fen() + contributions_due_total.fen();
    let direction = match to_bank.cmp(&to_pool) {
        std::cmp::Ordering::Greater => Direction::PoolPaysBank,
        std::cmp::Ordering::Less => Direction::BankPaysPool,
        std::cmp::Ordering::Equal => Direction::None,
    };
    Statement {
        bank,
        period,
        lines,
        compensation_total,
        shortfall_total,
        recoveries_total,
        contributions_due_total,
        net: Money::from_fen((to_bank - to_pool).abs()),
        direction,
    }
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text.to_owned() }
}

impl Statement {
    /// The canonical CSV (UTF-8, `\n` line ends): the export, and what `content_sha256` hashes.
    /// Holds no status or timestamps, so the same content always gives the same bytes.
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "bank,period");
        let _ = writeln!(out, "{},{}", self.bank, self.period);
        let _ = writeln!(out, "line,kind,source,description,amount");
        for (index, line) in self.lines.iter().enumerate() {
            let _ = writeln!(
                out,
                "{},{},{},{},{}",
                index + 1,
                line.kind.as_str(),
                csv_field(&line.source),
                csv_field(&line.description),
                line.amount
            );
        }
        let _ = writeln!(out, "total,COMPENSATION,,,{}", self.compensation_total);
        let _ = writeln!(out, "total,SHORTFALL_CARRIED,,,{}", self.shortfall_total);
        let _ = writeln!(out, "total,RECOVERY,,,{}", self.recoveries_total);
        let _ = writeln!(out, "total,CONTRIBUTION_DUE,,,{}", self.contributions_due_total);
        let _ = writeln!(out, "net,{},,,{}", self.direction.as_str(), self.net);
        out
    }
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;

    fn money(text: &str) -> Money {
        Money::parse_signed(text).unwrap()
    }

    #[test]
    fn periods() {
        let p = Period::parse("2024-02").unwrap();
        assert_eq!(p.last_day(), NaiveDate::from_ymd_opt(2024, 2, 29).unwrap());
        assert_eq!(Period::parse("2024-12").unwrap().last_day(), NaiveDate::from_ymd_opt(2024, 12, 31).unwrap());
        assert!(Period::parse("2024-13").is_none());
        assert!(Period::parse("2024-1").is_none());
    }

    #[test]
    fn the_worked_example_statement() {
        let lines = vec![
            Line {
                kind: LineKind::Recovery,
                source: "recoveries/1".into(),
                description: "pool share of a 600,000.00 recovery on loans/1".into(),
                amount: money("420000.00"),
            },
            Line {
                kind: LineKind::Compensation,
                source: "claims/1".into(),
                description: "compensation for loans/1".into(),
                amount: money("1680000.00"),
            },
        ];
        let statement = build(BankId::parse("nbcb").unwrap(), Period::parse("2025-06").unwrap(), lines);
        assert_eq!(statement.net, money("1260000.00"));
        assert_eq!(statement.direction, Direction::PoolPaysBank);
        expect![[r#"
            bank,period
            nbcb,2025-06
            line,kind,source,description,amount
            1,COMPENSATION,claims/1,compensation for loans/1,1680000.00
            2,RECOVERY,recoveries/1,"pool share of a 600,000.00 recovery on loans/1",420000.00
            total,COMPENSATION,,,1680000.00
            total,SHORTFALL_CARRIED,,,0.00
            total,RECOVERY,,,420000.00
            total,CONTRIBUTION_DUE,,,0.00
            net,POOL_PAYS_BANK,,,1260000.00
        "#]]
        .assert_eq(&statement.to_csv());
    }
}
