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
    /// Compensation paid on a loan later excluded from cover: owed to the pool.
    Clawback,
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
            LineKind::Clawback => "CLAWBACK",
            LineKind::ContributionDue => "CONTRIBUTION_DUE",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<LineKind> {
        [
            LineKind::Compensation,
            LineKind::ShortfallCarried,
            LineKind::Recovery,
            LineKind::Clawback,
            LineKind::ContributionDue,
        ]
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

/// A memo line: a co-sharer's part of the loss behind a compensation line. Outside the
/// totals and the net: the bank claims it from the party, with the pool's figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Memo {
    /// The party's id.
    pub party: String,
    /// The claim, `claims/3`.
    pub source: String,
    /// Words for people.
    pub description: String,
    /// The party's part.
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

/// A decided claim as a statement sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimItem {
    /// The claim.
    pub claim_id: i64,
    /// Its loan.
    pub loan_id: i64,
    /// The date of its last approval (None while undecided).
    pub approved_on: Option<NaiveDate>,
    /// Compensation granted.
    pub compensation: Money,
    /// The pool's share of the loss.
    pub pool_share: rust_decimal::Decimal,
    /// Principal loss.
    pub principal_loss: Money,
    /// The co-sharers' parts of the loss (memo lines beside its compensation line).
    pub parts: Vec<crate::sharing::Part>,
}

/// A clawback (compensation paid on a loan excluded since) as a statement sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClawbackItem {
    /// The clawback.
    pub clawback_id: i64,
    /// Its loan.
    pub loan_id: i64,
    /// The exclusion's date.
    pub date: NaiveDate,
    /// Owed back to the pool.
    pub amount: Money,
}

/// A recovery as a statement sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecoveryItem {
    /// The recovery.
    pub recovery_id: i64,
    /// Its loan.
    pub loan_id: i64,
    /// When the bank recovered it.
    pub date: NaiveDate,
    /// Recovered.
    pub amount: Money,
    /// The pool's part of it.
    pub pool_share_amount: Money,
}

/// What the bank's books hold for a month's statement.
#[derive(Debug, Clone, Copy)]
pub struct Items<'a> {
    /// The bank's decided claims.
    pub claims: &'a [ClaimItem],
    /// The bank's recoveries.
    pub recoveries: &'a [RecoveryItem],
    /// The bank's clawbacks.
    pub clawbacks: &'a [ClawbackItem],
    /// Its contributions receivable account, and the balance as of the month's last day.
    pub contributions_due: (&'a str, Money),
}

/// A pool share with two fraction digits ("0.70"), as the policy writes them.
pub fn share_text(share: rust_decimal::Decimal) -> String {
    let mut share = share.normalize();
    if share.scale() < 2 {
        share.rescale(2);
    }
    share.to_string()
}

/// A month's lines, all as of its last day: each claim approved by then and each recovery
/// dated by then, less what had been settled of it by then (`settled_of`); a claim an
/// earlier confirmed statement listed (`carried`) is a SHORTFALL_CARRIED line; and the
/// contributions still due. Lines of 0.00 are dropped by [`build`].
pub fn lines(
    period: Period,
    items: &Items<'_>,
    settled_of: impl Fn(&str) -> Money,
    carried: impl Fn(&str) -> bool,
) -> Vec<Line> {
    let end = period.last_day();
    let mut lines = Vec::new();
    for claim in items.claims.iter().filter(|c| c.approved_on.is_some_and(|d| d <= end)) {
        let source = format!("claims/{}", claim.claim_id);
        let amount = claim.compensation.saturating_sub(settled_of(&source));
        let (kind, description) = if carried(&source) {
            (
                LineKind::ShortfallCarried,
                format!("compensation for loans/{} agreed on an earlier statement and not yet paid", claim.loan_id),
            )
        } else {
            (
                LineKind::Compensation,
                format!(
                    "compensation for loans/{} ({} of a {} loss)",
                    claim.loan_id,
                    share_text(claim.pool_share),
                    claim.principal_loss
                ),
            )
        };
        lines.push(Line { kind, source, description, amount });
    }
    for recovery in items.recoveries.iter().filter(|r| r.date <= end) {
        let source = format!("recoveries/{}", recovery.recovery_id);
        lines.push(Line {
            kind: LineKind::Recovery,
            amount: recovery.pool_share_amount.saturating_sub(settled_of(&source)),
            source,
            description: format!("pool share of a {} recovery on loans/{}", recovery.amount, recovery.loan_id),
        });
    }
    for clawback in items.clawbacks.iter().filter(|c| c.date <= end) {
        let source = format!("clawbacks/{}", clawback.clawback_id);
        lines.push(Line {
            kind: LineKind::Clawback,
            amount: clawback.amount.saturating_sub(settled_of(&source)),
            source,
            description: format!(
                "compensation paid on loans/{}, excluded from cover, to be paid back",
                clawback.loan_id
            ),
        });
    }
    let (account, due) = items.contributions_due;
    lines.push(Line {
        kind: LineKind::ContributionDue,
        source: format!("accounts/{account}"),
        description: format!("committed contribution not yet paid on {end}"),
        amount: due,
    });
    lines
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
    /// Σ clawback lines.
    pub clawbacks_total: Money,
    /// Memo lines (co-sharers' parts), ordered by claim then party order.
    pub memos: Vec<Memo>,
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
    let clawbacks_total = sum(&lines, LineKind::Clawback);
    let to_bank = compensation_total.fen() + shortfall_total.fen();
    let to_pool = recoveries_total.fen() + contributions_due_total.fen() + clawbacks_total.fen();
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
        clawbacks_total,
        memos: Vec::new(),
        net: Money::from_fen((to_bank - to_pool).abs()),
        direction,
    }
}

/// The memo lines beside a statement's compensation lines: each co-sharer's part of the
/// claim's loss, in the policy's order (a claim carried from an earlier statement showed its
/// memos there).
pub fn memos(statement: &Statement, claims: &[ClaimItem]) -> Vec<Memo> {
    let mut memos = Vec::new();
    for line in statement.lines.iter().filter(|l| l.kind == LineKind::Compensation) {
        let Some(claim) = claims.iter().find(|c| format!("claims/{}", c.claim_id) == line.source) else { continue };
        for part in claim.parts.iter().filter(|p| p.amount.fen() > 0) {
            memos.push(Memo {
                party: part.party.clone(),
                source: line.source.clone(),
                description: format!(
                    "{}'s part of the {} loss on loans/{} ({}): the bank claims it from parties/{}",
                    part.party,
                    claim.principal_loss,
                    claim.loan_id,
                    share_text(part.share),
                    part.party
                ),
                amount: part.amount,
            });
        }
    }
    memos
}

/// Where a statement stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Built; may be rebuilt.
    Draft,
    /// Confirmed: amounts agreed, netting posted, nothing paid yet.
    Confirmed,
    /// Confirmed and paid in part.
    PartiallyPaid,
    /// Confirmed and paid in full (or nothing was due after netting).
    Paid,
    /// Confirmed; what stayed unpaid is carried by a later statement of the bank.
    CarriedForward,
}

impl Status {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "DRAFT",
            Status::Confirmed => "CONFIRMED",
            Status::PartiallyPaid => "PARTIALLY_PAID",
            Status::Paid => "PAID",
            Status::CarriedForward => "CARRIED_FORWARD",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<Status> {
        [Status::Draft, Status::Confirmed, Status::PartiallyPaid, Status::Paid, Status::CarriedForward]
            .into_iter()
            .find(|s| s.as_str() == text)
    }

    /// True once confirmed (whatever has been paid since).
    pub fn is_confirmed(self) -> bool {
        self != Status::Draft
    }

    /// True while payments may be recorded against it.
    pub fn takes_payments(self) -> bool {
        matches!(self, Status::Confirmed | Status::PartiallyPaid)
    }

    /// The status of a confirmed statement that has `paid` of `due`.
    pub fn after_payment(due: Money, paid: Money) -> Status {
        if paid >= due {
            Status::Paid
        } else if paid.is_zero() {
            Status::Confirmed
        } else {
            Status::PartiallyPaid
        }
    }
}

/// Why a statement cannot be confirmed or paid as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettlementError {
    /// The month has not ended on the business date.
    #[error("the month {period} has not ended: it can be confirmed after {last_day} (today is {today})")]
    PeriodNotEnded {
        /// The month.
        period: Period,
        /// Its last day.
        last_day: NaiveDate,
        /// Today's business date.
        today: NaiveDate,
    },
    /// An item of the statement was settled after the month ended, through another statement.
    #[error(
        "{item} has {open} open now, less than the {listed} on this statement (settled since the month ended); confirm the bank's next statement instead"
    )]
    ItemSettledSince {
        /// The item.
        item: String,
        /// Amount on the statement.
        listed: Money,
        /// Amount open now.
        open: Money,
    },
    /// More than what is outstanding.
    #[error("{amount} is more than the {outstanding} outstanding on the statement")]
    AboveOutstanding {
        /// Asked.
        amount: Money,
        /// Outstanding.
        outstanding: Money,
    },
    /// Confirmed before.
    #[error("{statement} is already confirmed")]
    AlreadyConfirmed {
        /// The statement's resource name.
        statement: String,
    },
    /// Its content is not what finance reviewed.
    #[error("{statement} has content {now} now, not the {reviewed} that was reviewed; review it again")]
    Changed {
        /// The statement's resource name.
        statement: String,
        /// Its content hash now.
        now: String,
        /// The hash finance reviewed.
        reviewed: String,
    },
    /// A later month of the bank is confirmed: it carries what this one left open.
    #[error("statements/{later} of {bank} for {period} is confirmed already; it carries what this month left open")]
    LaterConfirmed {
        /// The later statement's id.
        later: i64,
        /// The bank.
        bank: BankId,
        /// The later month.
        period: Period,
    },
    /// Its items changed since it was built.
    #[error("the items of {statement} changed since it was built; run the settlement again")]
    Stale {
        /// The statement's resource name.
        statement: String,
    },
    /// It takes no payments.
    #[error("{statement} is {}; {}", .status.as_str(), not_payable_why(*.status, *.carried_to))]
    NotPayable {
        /// The statement's resource name.
        statement: String,
        /// Its status.
        status: Status,
        /// The statement carrying its remainder, if carried forward.
        carried_to: Option<i64>,
    },
}

fn not_payable_why(status: Status, carried_to: Option<i64>) -> String {
    match (status, carried_to) {
        (Status::CarriedForward, Some(later)) => {
            format!("what it left unpaid is carried by statements/{later}: record the payment there")
        }
        (Status::Draft, _) => "confirm it first".to_owned(),
        _ => "nothing is outstanding on it".to_owned(),
    }
}

/// A draft as finance asks to confirm it.
#[derive(Debug, Clone, Copy)]
pub struct Confirmation<'a> {
    /// The statement's resource name.
    pub statement: &'a str,
    /// Its status.
    pub status: Status,
    /// Its month.
    pub period: Period,
    /// Its content hash as stored.
    pub content_sha256: &'a str,
    /// The hash finance reviewed.
    pub reviewed_sha256: &'a str,
    /// A later confirmed statement of the bank (id, month), if any.
    pub later_confirmed: Option<(i64, Period)>,
    /// The bank.
    pub bank: &'a BankId,
}

/// Whether the draft may be confirmed on `today`: not confirmed before, its month over, its
/// content what finance reviewed, and no later month of the bank confirmed.
pub fn check_confirmable(draft: &Confirmation<'_>, today: NaiveDate) -> Result<(), SettlementError> {
    if draft.status.is_confirmed() {
        return Err(SettlementError::AlreadyConfirmed { statement: draft.statement.to_owned() });
    }
    check_period_ended(draft.period, today)?;
    if draft.content_sha256 != draft.reviewed_sha256 {
        return Err(SettlementError::Changed {
            statement: draft.statement.to_owned(),
            now: draft.content_sha256.to_owned(),
            reviewed: draft.reviewed_sha256.to_owned(),
        });
    }
    if let Some((later, period)) = draft.later_confirmed {
        return Err(SettlementError::LaterConfirmed { later, bank: draft.bank.clone(), period });
    }
    Ok(())
}

/// Whether the statement rebuilt from the books now (`current`) is still the draft.
pub fn check_unchanged(statement: &str, draft: &Statement, current: &Statement) -> Result<(), SettlementError> {
    if draft == current { Ok(()) } else { Err(SettlementError::Stale { statement: statement.to_owned() }) }
}

/// Whether a statement in `status` takes payments.
pub fn check_payable(statement: &str, status: Status, carried_to: Option<i64>) -> Result<(), SettlementError> {
    if status.takes_payments() {
        Ok(())
    } else {
        Err(SettlementError::NotPayable { statement: statement.to_owned(), status, carried_to })
    }
}

/// Whether a payment of `amount` fits in what is `outstanding`.
pub fn check_payment(amount: Money, outstanding: Money) -> Result<(), SettlementError> {
    if amount > outstanding { Err(SettlementError::AboveOutstanding { amount, outstanding }) } else { Ok(()) }
}

impl crate::Rule for SettlementError {
    fn reason(&self) -> &'static str {
        match self {
            SettlementError::PeriodNotEnded { .. } => "PERIOD_NOT_ENDED",
            SettlementError::ItemSettledSince { .. } => "STATEMENT_ITEM_SETTLED_SINCE",
            SettlementError::AboveOutstanding { .. } => "PAYMENT_ABOVE_OUTSTANDING",
            SettlementError::AlreadyConfirmed { .. } => "STATEMENT_ALREADY_CONFIRMED",
            SettlementError::Changed { .. } => "STATEMENT_CHANGED",
            SettlementError::LaterConfirmed { .. } => "LATER_STATEMENT_CONFIRMED",
            SettlementError::Stale { .. } => "STATEMENT_STALE",
            SettlementError::NotPayable { .. } => "STATEMENT_NOT_PAYABLE",
        }
    }
}

/// True when `period` can be confirmed on `today`: its last day is past.
pub fn check_period_ended(period: Period, today: NaiveDate) -> Result<(), SettlementError> {
    let last_day = period.last_day();
    if today > last_day { Ok(()) } else { Err(SettlementError::PeriodNotEnded { period, last_day, today }) }
}

/// Checks that every line's item is still open by at least the line's amount now (an item
/// settled through another statement after the month ended must not be settled twice).
/// `open_now` gives each line's item's open amount now.
pub fn check_items_open(statement: &Statement, open_now: impl Fn(&Line) -> Money) -> Result<(), SettlementError> {
    for line in &statement.lines {
        let open = open_now(line);
        if open < line.amount {
            return Err(SettlementError::ItemSettledSince { item: line.source.clone(), listed: line.amount, open });
        }
    }
    Ok(())
}

/// Part of an amount set against one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    /// The line's source (`claims/3`, `recoveries/4`, `accounts/…`).
    pub source: String,
    /// The line's kind.
    pub kind: LineKind,
    /// Amount set against it.
    pub amount: Money,
}

/// Spreads `amount` over `lines` in their order, each up to its open amount.
pub fn allocate<'a>(lines: impl IntoIterator<Item = (&'a Line, Money)>, amount: Money) -> Vec<Allocation> {
    let mut left = amount;
    let mut result = Vec::new();
    for (line, open) in lines {
        if left.is_zero() {
            break;
        }
        let share = open.min(left);
        if share.fen() > 0 {
            result.push(Allocation { source: line.source.clone(), kind: line.kind, amount: share });
            left = left.saturating_sub(share);
        }
    }
    result
}

/// What confirming a statement settles by netting, and what is left to pay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Netting {
    /// Owed each way that cancels out: min(owed to the bank, owed to the pool).
    pub netted: Money,
    /// How the netted amount is set against the lines, both sides, in line order: what the
    /// pool owes (compensation) and what the bank owes (recoveries first, then contributions).
    pub allocations: Vec<Allocation>,
    /// Left to transfer after netting, in the statement's direction.
    pub amount_due: Money,
}

/// Nets what the pool owes the bank against what the bank owes the pool.
pub fn net(statement: &Statement) -> Netting {
    let to_bank = Money::from_fen(statement.compensation_total.fen() + statement.shortfall_total.fen());
    let to_pool = Money::from_fen(
        statement.recoveries_total.fen() + statement.contributions_due_total.fen() + statement.clawbacks_total.fen(),
    );
    let netted = to_bank.min(to_pool);
    let owed_to_bank = statement.lines.iter().filter(|l| l.kind.owed_to_bank()).map(|l| (l, l.amount));
    let owed_to_pool = statement.lines.iter().filter(|l| !l.kind.owed_to_bank()).map(|l| (l, l.amount));
    let mut allocations = allocate(owed_to_bank, netted);
    allocations.extend(allocate(owed_to_pool, netted));
    Netting { netted, allocations, amount_due: statement.net }
}

/// The lines a payment settles (those owed in the statement's direction), each with what is
/// still open of it on this statement (`settled` gives what netting and earlier payments set
/// against a source).
pub fn payable_lines<'a>(
    statement: &'a Statement,
    settled: impl Fn(&str) -> Money + 'a,
) -> impl Iterator<Item = (&'a Line, Money)> + 'a {
    let to_bank = statement.direction == Direction::PoolPaysBank;
    statement
        .lines
        .iter()
        .filter(move |l| l.kind.owed_to_bank() == to_bank)
        .map(move |l| (l, l.amount.saturating_sub(settled(&l.source))))
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
        // Written only when there are any, so statements without them hash as before.
        if self.clawbacks_total.fen() > 0 {
            let _ = writeln!(out, "total,CLAWBACK,,,{}", self.clawbacks_total);
        }
        let _ = writeln!(out, "net,{},,,{}", self.direction.as_str(), self.net);
        if !self.memos.is_empty() {
            let _ = writeln!(out, "memo,party,source,description,amount");
            for (index, memo) in self.memos.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "memo {},{},{},{},{}",
                    index + 1,
                    csv_field(&memo.party),
                    csv_field(&memo.source),
                    csv_field(&memo.description),
                    memo.amount
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
