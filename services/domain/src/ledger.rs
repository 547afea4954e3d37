//! The pool's double-entry ledger: accounts, balanced journal entries and the posting
//! rules of every money event (DOMAIN.md's table). Entries are immutable; a mistake is
//! corrected by posting the mirror entry.

use std::collections::BTreeMap;
use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::ids::BankId;
use crate::money::Money;

/// Kind of account, which fixes its normal side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AccountKind {
    /// Debit-normal.
    Asset,
    /// Credit-normal.
    Liability,
    /// Credit-normal.
    Equity,
    /// Credit-normal.
    Income,
    /// Debit-normal.
    Expense,
}

impl AccountKind {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::Asset => "ASSET",
            AccountKind::Liability => "LIABILITY",
            AccountKind::Equity => "EQUITY",
            AccountKind::Income => "INCOME",
            AccountKind::Expense => "EXPENSE",
        }
    }

    /// True for debit-normal kinds.
    pub fn is_debit_normal(self) -> bool {
        matches!(self, AccountKind::Asset | AccountKind::Expense)
    }
}

/// Who contributes capital.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Contributor {
    /// Ningbo city S&T bureau.
    CityBureau,
    /// Yinzhou district S&T bureau.
    DistrictBureau,
    /// A partner bank.
    Bank(BankId),
}

impl Contributor {
    fn suffix(&self) -> String {
        match self {
            Contributor::CityBureau => "city_bureau".to_owned(),
            Contributor::DistrictBureau => "district_bureau".to_owned(),
            Contributor::Bank(bank) => format!("bank:{bank}"),
        }
    }
}

impl fmt::Display for Contributor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.suffix())
    }
}

/// An account of the chart, e.g. `escrow_cash` or `compensation_payable:bank:nbcb`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Account(String);

/// Families of accounts; the code of an account starts with its family's prefix.
const FAMILIES: &[(&str, AccountKind, bool)] = &[
    // (prefix, kind, guarded: may never go below zero)
    ("escrow_cash", AccountKind::Asset, true),
    ("contributions_receivable", AccountKind::Asset, true),
    ("recoveries_receivable", AccountKind::Asset, true),
    ("clawback_receivable", AccountKind::Asset, true),
    ("compensation_payable", AccountKind::Liability, true),
    ("fund_capital", AccountKind::Equity, false),
    ("interest_income", AccountKind::Income, false),
    ("recovery_income", AccountKind::Income, false),
    ("compensation_expense", AccountKind::Expense, false),
];

impl Account {
    /// Compensation the bank must pay back for a loan excluded from cover.
    pub fn clawback_receivable(bank: &BankId) -> Account {
        Account(format!("clawback_receivable:bank:{bank}"))
    }

    /// The pool's escrow cash account (专户).
    pub fn escrow_cash() -> Account {
        Account("escrow_cash".to_owned())
    }
    /// Contributions receivable from a contributor.
    pub fn contributions_receivable(contributor: &Contributor) -> Account {
        Account(format!("contributions_receivable:{}", contributor.suffix()))
    }
    /// Fund capital of a contributor.
    pub fn fund_capital(contributor: &Contributor) -> Account {
        Account(format!("fund_capital:{}", contributor.suffix()))
    }
    /// Recoveries receivable from a bank.
    pub fn recoveries_receivable(bank: &BankId) -> Account {
        Account(format!("recoveries_receivable:bank:{bank}"))
    }
    /// Compensation payable to a bank.
    pub fn compensation_payable(bank: &BankId) -> Account {
        Account(format!("compensation_payable:bank:{bank}"))
    }
    /// Custodian interest income.
    pub fn interest_income() -> Account {
        Account("interest_income".to_owned())
    }
    /// Recovery income.
    pub fn recovery_income() -> Account {
        Account("recovery_income".to_owned())
    }
    /// Compensation expense.
    pub fn compensation_expense() -> Account {
        Account("compensation_expense".to_owned())
    }

    /// Parses a stored account code.
    pub fn parse(code: &str) -> Option<Account> {
        let family = code.split(':').next()?;
        FAMILIES.iter().any(|(prefix, _, _)| *prefix == family).then(|| Account(code.to_owned()))
    }

    /// The code.
    pub fn code(&self) -> &str {
        &self.0
    }

    /// The family prefix, e.g. `compensation_payable`.
    pub fn family(&self) -> &str {
        self.0.split(':').next().unwrap_or_default()
    }

    /// Kind of the account.
    pub fn kind(&self) -> AccountKind {
        FAMILIES.iter().find(|(prefix, _, _)| *prefix == self.family()).map_or(AccountKind::Asset, |(_, kind, _)| *kind)
    }

    /// True when the account may never go below zero (cash, receivables, payables).
    pub fn is_guarded(&self) -> bool {
        FAMILIES.iter().find(|(prefix, _, _)| *prefix == self.family()).is_some_and(|(_, _, guarded)| *guarded)
    }

    /// The balance on the normal side from debit and credit totals.
    pub fn balance(&self, debit_total: Money, credit_total: Money) -> Money {
        let (plus, minus) =
            if self.kind().is_debit_normal() { (debit_total, credit_total) } else { (credit_total, debit_total) };
        Money::from_fen(plus.fen() - minus.fen())
    }
}

impl fmt::Display for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The business event behind an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EntryKind {
    /// Contributions receivable / fund capital.
    ContributionCommitted,
    /// Escrow cash / contributions receivable.
    ContributionReceived,
    /// Escrow cash / interest income.
    Interest,
    /// Compensation expense / compensation payable.
    ClaimApproved,
    /// Compensation payable / escrow cash.
    CompensationPaid,
    /// Recoveries receivable / recovery income.
    RecoveryReported,
    /// Escrow cash / recoveries receivable.
    RecoveryReceived,
    /// Compensation payable / recoveries receivable.
    SettlementNetting,
    /// Mirror of an earlier entry.
    Reversal,
    /// A loan excluded from cover: clawback receivable, compensation payable (what was
    /// unpaid) and recovery income (the pool's recoveries) / compensation expense.
    Exclusion,
    /// Escrow cash / clawback receivable.
    ClawbackReceived,
}

impl EntryKind {
    /// Every kind.
    pub const ALL: [EntryKind; 11] = [
        EntryKind::ContributionCommitted,
        EntryKind::ContributionReceived,
        EntryKind::Interest,
        EntryKind::ClaimApproved,
        EntryKind::CompensationPaid,
        EntryKind::RecoveryReported,
        EntryKind::RecoveryReceived,
        EntryKind::SettlementNetting,
        EntryKind::Reversal,
        EntryKind::Exclusion,
        EntryKind::ClawbackReceived,
    ];

    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::ContributionCommitted => "CONTRIBUTION_COMMITTED",
            EntryKind::ContributionReceived => "CONTRIBUTION_RECEIVED",
            EntryKind::Interest => "INTEREST",
            EntryKind::ClaimApproved => "CLAIM_APPROVED",
            EntryKind::CompensationPaid => "COMPENSATION_PAID",
            EntryKind::RecoveryReported => "RECOVERY_REPORTED",
            EntryKind::RecoveryReceived => "RECOVERY_RECEIVED",
            EntryKind::SettlementNetting => "SETTLEMENT_NETTING",
            EntryKind::Reversal => "REVERSAL",
            EntryKind::Exclusion => "EXCLUSION",
            EntryKind::ClawbackReceived => "CLAWBACK_RECEIVED",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<EntryKind> {
        EntryKind::ALL.into_iter().find(|kind| kind.as_str() == text)
    }
}

/// One line of an entry: exactly one side is positive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posting {
    /// Account.
    pub account: Account,
    /// Debit amount, or zero.
    pub debit: Money,
    /// Credit amount, or zero.
    pub credit: Money,
}

/// An entry about to be posted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryDraft {
    /// Event.
    pub kind: EntryKind,
    /// Date in the books.
    pub effective_date: NaiveDate,
    /// Free text.
    pub memo: String,
    /// Record that caused it, e.g. `claims/12`.
    pub source: String,
    /// Postings.
    pub postings: Vec<Posting>,
}

/// Why an entry cannot be posted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    /// Fewer than two postings.
    #[error("an entry needs at least two postings")]
    TooFewPostings,
    /// A posting with both or neither side.
    #[error("posting to {0} must have exactly one positive side")]
    BadPosting(String),
    /// Debits differ from credits.
    #[error("entry does not balance: debits {debits}, credits {credits}")]
    Unbalanced {
        /// Σ debits.
        debits: Money,
        /// Σ credits.
        credits: Money,
    },
    /// A guarded account would go below zero.
    #[error("{account} would go below zero: balance {balance}, change {change}")]
    WouldGoNegative {
        /// The account.
        account: String,
        /// Its balance now.
        balance: Money,
        /// The change the entry makes (negative).
        change: Money,
    },
}

impl crate::Rule for LedgerError {
    fn reason(&self) -> &'static str {
        match self {
            LedgerError::TooFewPostings | LedgerError::BadPosting(_) | LedgerError::Unbalanced { .. } => {
                "ENTRY_NOT_BALANCED"
            }
            LedgerError::WouldGoNegative { account, .. } if account == "escrow_cash" => "INSUFFICIENT_ESCROW_CASH",
            LedgerError::WouldGoNegative { .. } => "BALANCE_WOULD_GO_NEGATIVE",
        }
    }

    fn figures(&self) -> Vec<(&'static str, String)> {
        match self {
            LedgerError::WouldGoNegative { account, balance, change } => {
                vec![("account", account.clone()), ("balance", balance.to_string()), ("change", change.to_string())]
            }
            _ => Vec::new(),
        }
    }
}

/// Why an entry cannot be reversed by hand.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReversalError {
    /// It was reversed before.
    #[error("{entry} was already reversed")]
    AlreadyReversed {
        /// The entry's resource name.
        entry: String,
    },
    /// It is a reversal itself.
    #[error(
        "{entry} is itself a reversal of {}; post the original kind of entry again instead of reversing a reversal",
        .of.map(|id| format!("journalEntries/{id}")).unwrap_or_default()
    )]
    IsAReversal {
        /// The entry's resource name.
        entry: String,
        /// The entry it reversed.
        of: Option<i64>,
    },
    /// Its kind is corrected through its own workflow.
    #[error("{} entries are corrected through their own workflow (claims, recoveries, statements), not by hand", .kind.as_str())]
    NotReversible {
        /// Its kind.
        kind: EntryKind,
    },
}

impl crate::Rule for ReversalError {
    fn reason(&self) -> &'static str {
        match self {
            ReversalError::AlreadyReversed { .. } => "ENTRY_ALREADY_REVERSED",
            ReversalError::IsAReversal { .. } => "ENTRY_IS_A_REVERSAL",
            ReversalError::NotReversible { .. } => "ENTRY_NOT_REVERSIBLE",
        }
    }
}

/// Whether finance may reverse the entry by hand: only contributions and interest, each
/// once, and never a reversal.
pub fn check_reversible(
    entry: &str,
    kind: EntryKind,
    reverses: Option<i64>,
    reversed_by: Option<i64>,
) -> Result<(), ReversalError> {
    if reversed_by.is_some() {
        return Err(ReversalError::AlreadyReversed { entry: entry.to_owned() });
    }
    match kind {
        EntryKind::ContributionCommitted | EntryKind::ContributionReceived | EntryKind::Interest => Ok(()),
        EntryKind::Reversal => Err(ReversalError::IsAReversal { entry: entry.to_owned(), of: reverses }),
        EntryKind::ClaimApproved
        | EntryKind::CompensationPaid
        | EntryKind::RecoveryReported
        | EntryKind::RecoveryReceived
        | EntryKind::SettlementNetting
        | EntryKind::Exclusion
        | EntryKind::ClawbackReceived => Err(ReversalError::NotReversible { kind }),
    }
}

impl EntryDraft {
    fn pair(
        kind: EntryKind,
        date: NaiveDate,
        memo: &str,
        debit: Account,
        credit: Account,
        amount: Money,
    ) -> EntryDraft {
        EntryDraft {
            kind,
            effective_date: date,
            memo: memo.to_owned(),
            source: String::new(),
            postings: vec![
                Posting { account: debit, debit: amount, credit: Money::ZERO },
                Posting { account: credit, debit: Money::ZERO, credit: amount },
            ],
        }
    }

    /// A contributor commits capital.
    pub fn contribution_committed(contributor: &Contributor, amount: Money, date: NaiveDate, memo: &str) -> EntryDraft {
        let receivable = Account::contributions_receivable(contributor);
        let capital = Account::fund_capital(contributor);
        EntryDraft::pair(EntryKind::ContributionCommitted, date, memo, receivable, capital, amount)
    }

    /// Cash arrives against a commitment.
    pub fn contribution_received(contributor: &Contributor, amount: Money, date: NaiveDate, memo: &str) -> EntryDraft {
        let receivable = Account::contributions_receivable(contributor);
        EntryDraft::pair(EntryKind::ContributionReceived, date, memo, Account::escrow_cash(), receivable, amount)
    }

    /// Custodian interest.
    pub fn interest(amount: Money, date: NaiveDate, memo: &str) -> EntryDraft {
        EntryDraft::pair(EntryKind::Interest, date, memo, Account::escrow_cash(), Account::interest_income(), amount)
    }

    /// A claim is approved.
    pub fn claim_approved(bank: &BankId, amount: Money, date: NaiveDate, memo: &str) -> EntryDraft {
        let payable = Account::compensation_payable(bank);
        EntryDraft::pair(EntryKind::ClaimApproved, date, memo, Account::compensation_expense(), payable, amount)
    }

    /// Compensation is paid out of escrow.
    pub fn compensation_paid(bank: &BankId, amount: Money, date: NaiveDate, memo: &str) -> EntryDraft {
        let payable = Account::compensation_payable(bank);
        EntryDraft::pair(EntryKind::CompensationPaid, date, memo, payable, Account::escrow_cash(), amount)
    }

    /// The pool's share of a recovery is reported.
    pub fn recovery_reported(bank: &BankId, amount: Money, date: NaiveDate, memo: &str) -> EntryDraft {
        let receivable = Account::recoveries_receivable(bank);
        EntryDraft::pair(EntryKind::RecoveryReported, date, memo, receivable, Account::recovery_income(), amount)
    }

    /// Recovery cash arrives.
    pub fn recovery_received(bank: &BankId, amount: Money, date: NaiveDate, memo: &str) -> EntryDraft {
        let receivable = Account::recoveries_receivable(bank);
        EntryDraft::pair(EntryKind::RecoveryReceived, date, memo, Account::escrow_cash(), receivable, amount)
    }

    /// Payable and receivable of one bank are netted in settlement.
    pub fn settlement_netting(bank: &BankId, amount: Money, date: NaiveDate, memo: &str) -> EntryDraft {
        let payable = Account::compensation_payable(bank);
        let receivable = Account::recoveries_receivable(bank);
        EntryDraft::pair(EntryKind::SettlementNetting, date, memo, payable, receivable, amount)
    }

    /// A bank's unpaid contribution is set against compensation the pool owes it, when a
    /// settlement statement nets what each side owes the other.
    pub fn contribution_netting(bank: &BankId, amount: Money, date: NaiveDate, memo: &str) -> EntryDraft {
        let payable = Account::compensation_payable(bank);
        let receivable = Account::contributions_receivable(&Contributor::Bank(bank.clone()));
        EntryDraft::pair(EntryKind::SettlementNetting, date, memo, payable, receivable, amount)
    }

    /// Compensation paid back against compensation the pool owes the bank, when a statement
    /// nets what each side owes.
    pub fn clawback_netting(bank: &BankId, amount: Money, date: NaiveDate, memo: &str) -> EntryDraft {
        let payable = Account::compensation_payable(bank);
        let receivable = Account::clawback_receivable(bank);
        EntryDraft::pair(EntryKind::SettlementNetting, date, memo, payable, receivable, amount)
    }

    /// The bank pays a clawback back into escrow.
    pub fn clawback_received(bank: &BankId, amount: Money, date: NaiveDate, memo: &str) -> EntryDraft {
        let receivable = Account::clawback_receivable(bank);
        EntryDraft::pair(EntryKind::ClawbackReceived, date, memo, Account::escrow_cash(), receivable, amount)
    }

    /// A loan excluded from cover undoes its compensation expense: what was paid becomes a
    /// clawback receivable (less the pool's recoveries, whose income is undone instead), and
    /// what was unpaid is no longer payable. `None` when there is nothing to undo.
    pub fn exclusion(bank: &BankId, undo: &crate::exclusion::Undo, date: NaiveDate, memo: &str) -> Option<EntryDraft> {
        let debit = |account: Account, amount: Money| Posting { account, debit: amount, credit: Money::ZERO };
        let mut postings: Vec<Posting> = [
            (Account::clawback_receivable(bank), undo.clawback),
            (Account::compensation_payable(bank), undo.cancelled),
            (Account::recovery_income(), undo.recoveries_undone),
        ]
        .into_iter()
        .filter(|(_, amount)| amount.fen() > 0)
        .map(|(account, amount)| debit(account, amount))
        .collect();
        let total: Money = postings.iter().map(|p| p.debit).sum();
        if total.is_zero() {
            return None;
        }
        postings.push(Posting { account: Account::compensation_expense(), debit: Money::ZERO, credit: total });
        Some(EntryDraft {
            kind: EntryKind::Exclusion,
            effective_date: date,
            memo: memo.to_owned(),
            source: String::new(),
            postings,
        })
    }

    /// The mirror of an entry: every posting with its sides swapped.
    pub fn reversal_of(postings: &[Posting], date: NaiveDate, memo: &str) -> EntryDraft {
        EntryDraft {
            kind: EntryKind::Reversal,
            effective_date: date,
            memo: memo.to_owned(),
            source: String::new(),
            postings: postings
                .iter()
                .map(|p| Posting { account: p.account.clone(), debit: p.credit, credit: p.debit })
                .collect(),
        }
    }

    /// Sets the source record.
    pub fn with_source(mut self, source: impl Into<String>) -> EntryDraft {
        self.source = source.into();
        self
    }

    /// Checks the entry is well formed and balances exactly.
    pub fn validate(&self) -> Result<(), LedgerError> {
        if self.postings.len() < 2 {
            return Err(LedgerError::TooFewPostings);
        }
        for posting in &self.postings {
            let one_sided = (posting.debit.fen() > 0) != (posting.credit.fen() > 0);
            if !one_sided || posting.debit.is_negative() || posting.credit.is_negative() {
                return Err(LedgerError::BadPosting(posting.account.to_string()));
            }
        }
        let debits: Money = self.postings.iter().map(|p| p.debit).sum();
        let credits: Money = self.postings.iter().map(|p| p.credit).sum();
        if debits != credits {
            return Err(LedgerError::Unbalanced { debits, credits });
        }
        Ok(())
    }

    /// Net change of each account's normal-side balance.
    pub fn balance_changes(&self) -> BTreeMap<Account, Money> {
        let mut changes: BTreeMap<Account, Money> = BTreeMap::new();
        for posting in &self.postings {
            let change = posting.account.balance(posting.debit, posting.credit);
            let entry = changes.entry(posting.account.clone()).or_default();
            *entry = Money::from_fen(entry.fen() + change.fen());
        }
        changes
    }

    /// How the entry changes net pool assets (cash + receivables − payables), in fen.
    pub fn net_pool_assets_change(&self) -> i64 {
        self.postings
            .iter()
            .filter(|p| {
                matches!(
                    p.account.family(),
                    "escrow_cash"
                        | "contributions_receivable"
                        | "recoveries_receivable"
                        | "clawback_receivable"
                        | "compensation_payable"
                )
            })
            .map(|p| p.debit.fen() - p.credit.fen())
            .sum()
    }

    /// How the entry changes committed capital (Σ fund capital), in fen.
    pub fn committed_capital_change(&self) -> i64 {
        self.postings
            .iter()
            .filter(|p| p.account.family() == "fund_capital")
            .map(|p| p.credit.fen() - p.debit.fen())
            .sum()
    }

    /// Checks that no guarded account goes below zero, given current balances.
    pub fn check_guards(&self, balance_of: impl Fn(&Account) -> Money) -> Result<(), LedgerError> {
        for (account, change) in self.balance_changes() {
            if !account.is_guarded() || !change.is_negative() {
                continue;
            }
            let balance = balance_of(&account);
            if balance.fen() + change.fen() < 0 {
                return Err(LedgerError::WouldGoNegative { account: account.to_string(), balance, change });
            }
        }
        Ok(())
    }
}

/// Balances of the pool's accounts, and the figures DOMAIN.md derives from them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Balances(pub BTreeMap<Account, Money>);

impl Balances {
    fn family_total(&self, family: &str) -> Money {
        self.0.iter().filter(|(account, _)| account.family() == family).map(|(_, balance)| *balance).sum()
    }

    /// Escrow cash.
    pub fn escrow_cash(&self) -> Money {
        self.family_total("escrow_cash")
    }

    /// Contributions, recoveries and clawbacks receivable.
    pub fn receivables(&self) -> Money {
        ["contributions_receivable", "recoveries_receivable", "clawback_receivable"]
            .into_iter()
            .try_fold(Money::ZERO, |total, family| total.checked_add(self.family_total(family)))
            .unwrap_or(Money::ZERO)
    }

    /// Compensation payable.
    pub fn payables(&self) -> Money {
        self.family_total("compensation_payable")
    }

    /// Committed capital (Σ fund capital).
    pub fn committed_capital(&self) -> Money {
        self.family_total("fund_capital")
    }

    /// Net pool assets = cash + receivables − payables.
    pub fn net_pool_assets(&self) -> Money {
        Money::from_fen(self.escrow_cash().fen() + self.receivables().fen() - self.payables().fen())
    }
}

#[cfg(test)]
mod tests;
