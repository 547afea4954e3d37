//! Ledger verification as comparisons: what the journal and the loan registry say, against
//! what the running totals hold. Every difference is listed; none is repaired.
//!
//! * every entry balances over two or more postings, and so does the whole journal;
//! * each account's stored debit and credit totals are the journal's, and no guarded
//!   account (escrow cash, receivables) is below zero;
//! * the pool's net assets and committed capital are what the journal's balances make;
//! * the covered totals of the pool, each bank and each enterprise are what the loan
//!   registry adds up to.

use std::collections::BTreeMap;

use crate::ledger::{Account, Balances, Posting};
use crate::money::Money;
use crate::position::CoverTotals;

/// Covered totals recomputed from the loan registry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Registry {
    /// The pool.
    pub pool: CoverTotals,
    /// Per bank id.
    pub banks: BTreeMap<String, CoverTotals>,
    /// Covered outstanding per enterprise (USCC).
    pub enterprises: BTreeMap<String, Money>,
}

/// One journal entry's postings.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    /// Its id.
    pub id: i64,
    /// Its postings.
    pub postings: &'a [Posting],
}

/// The running totals as stored.
#[derive(Debug, Clone, Copy)]
pub struct Stored<'a> {
    /// Debit and credit totals per account.
    pub accounts: &'a BTreeMap<Account, (Money, Money)>,
    /// The pool's net assets.
    pub net_pool_assets: Money,
    /// The pool's committed capital.
    pub committed_capital: Money,
    /// The pool's covered totals.
    pub pool: &'a CoverTotals,
    /// Each bank's covered totals (its loan count is not kept per bank).
    pub banks: &'a [(String, CoverTotals)],
    /// Covered outstanding per enterprise.
    pub enterprises: &'a BTreeMap<String, Money>,
}

/// A figure that is not what it should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// What was compared, e.g. "account escrow_cash debit/credit totals".
    pub subject: String,
    /// What the journal or the registry says.
    pub expected: String,
    /// What is stored.
    pub actual: String,
}

/// What a verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Every difference, in the order above.
    pub differences: Vec<Difference>,
    /// Journal entries checked.
    pub entries_checked: usize,
    /// Accounts checked.
    pub accounts_checked: usize,
}

impl Report {
    /// Nothing differs: the books are whole.
    pub fn ok(&self) -> bool {
        self.differences.is_empty()
    }
}

/// Compares the journal (`entries`, with its per-account totals `journal`) and the loan
/// registry with the stored running totals.
pub fn verify(
    entries: &[Entry<'_>],
    journal: &BTreeMap<Account, (Money, Money)>,
    registry: &Registry,
    stored: &Stored<'_>,
) -> Report {
    let mut differences = Vec::new();
    let mut differ = |subject: String, expected: String, actual: String| {
        differences.push(Difference { subject, expected, actual });
    };
    let (mut all_debits, mut all_credits) = (0i64, 0i64);
    for entry in entries {
        let debits: i64 = entry.postings.iter().map(|p| p.debit.fen()).sum();
        let credits: i64 = entry.postings.iter().map(|p| p.credit.fen()).sum();
        if debits != credits || entry.postings.len() < 2 {
            differ(
                format!("entry {} balance", entry.id),
                "debits = credits over 2+ postings".to_owned(),
                format!(
                    "debits {} credits {} in {} postings",
                    Money::from_fen(debits),
                    Money::from_fen(credits),
                    entry.postings.len()
                ),
            );
        }
        all_debits += debits;
        all_credits += credits;
    }
    if all_debits != all_credits {
        differ(
            "journal Σ debits = Σ credits".to_owned(),
            Money::from_fen(all_debits).to_string(),
            Money::from_fen(all_credits).to_string(),
        );
    }
    let mut accounts: Vec<&Account> = journal.keys().chain(stored.accounts.keys()).collect();
    accounts.sort();
    accounts.dedup();
    for account in &accounts {
        let expected = journal.get(*account).copied().unwrap_or_default();
        let actual = stored.accounts.get(*account).copied().unwrap_or_default();
        if expected != actual {
            differ(
                format!("account {account} debit/credit totals"),
                format!("{} / {}", expected.0, expected.1),
                format!("{} / {}", actual.0, actual.1),
            );
        }
        let balance = account.balance(expected.0, expected.1);
        if account.is_guarded() && balance.is_negative() {
            differ(format!("account {account} balance"), "≥ 0.00".to_owned(), balance.to_string());
        }
    }
    let from_journal = Balances(
        journal
            .iter()
            .map(|(account, (debits, credits))| (account.clone(), account.balance(*debits, *credits)))
            .collect(),
    );
    for (name, expected, actual) in [
        ("net_pool_assets", from_journal.net_pool_assets(), stored.net_pool_assets),
        ("committed_capital", from_journal.committed_capital(), stored.committed_capital),
    ] {
        if expected != actual {
            differ(format!("pool total {name}"), expected.to_string(), actual.to_string());
        }
    }
    compare_cover(&mut differ, "pool total", &registry.pool, stored.pool);
    if registry.pool.covered_loans != stored.pool.covered_loans {
        differ(
            "pool total covered_loans".to_owned(),
            registry.pool.covered_loans.to_string(),
            stored.pool.covered_loans.to_string(),
        );
    }
    for (bank, actual) in stored.banks {
        let expected = registry.banks.get(bank).copied().unwrap_or_default();
        compare_cover(&mut differ, &format!("bank {bank}"), &expected, actual);
    }
    for (uscc, actual) in stored.enterprises {
        let expected = registry.enterprises.get(uscc).copied().unwrap_or_default();
        if expected != *actual {
            differ(format!("enterprise {uscc} covered_outstanding"), expected.to_string(), actual.to_string());
        }
    }
    for (uscc, expected) in &registry.enterprises {
        if !stored.enterprises.contains_key(uscc) && !expected.is_zero() {
            differ(format!("enterprise {uscc} covered_outstanding"), expected.to_string(), "missing".to_owned());
        }
    }
    Report { differences, entries_checked: entries.len(), accounts_checked: accounts.len() }
}

fn compare_cover(
    differ: &mut impl FnMut(String, String, String),
    subject: &str,
    expected: &CoverTotals,
    actual: &CoverTotals,
) {
    for (name, e, a) in [
        ("covered_outstanding", expected.covered_outstanding, actual.covered_outstanding),
        ("pool_exposure", expected.pool_exposure, actual.pool_exposure),
        ("npl_outstanding", expected.npl_outstanding, actual.npl_outstanding),
    ] {
        if e != a {
            differ(format!("{subject} {name}"), e.to_string(), a.to_string());
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::ids::BankId;
    use crate::ledger::Contributor;

    fn money(text: &str) -> Money {
        Money::parse_signed(text).unwrap()
    }

    fn posting(account: &Account, debit: &str, credit: &str) -> Posting {
        Posting { account: account.clone(), debit: money(debit), credit: money(credit) }
    }

    fn cover(outstanding: &str, loans: i64) -> CoverTotals {
        CoverTotals {
            covered_outstanding: money(outstanding),
            pool_exposure: money(outstanding).mul_half_up(rust_decimal::Decimal::new(5, 1)).unwrap(),
            npl_outstanding: Money::ZERO,
            covered_loans: loans,
        }
    }

    /// 1,000,000.00 committed and received from the city bureau; one bank with one loan.
    struct Books {
        postings: Vec<Vec<Posting>>,
        journal: BTreeMap<Account, (Money, Money)>,
        registry: Registry,
        pool: CoverTotals,
        banks: Vec<(String, CoverTotals)>,
        enterprises: BTreeMap<String, Money>,
    }

    fn books() -> Books {
        let cash = Account::escrow_cash();
        let receivable = Account::contributions_receivable(&Contributor::CityBureau);
        let capital = Account::fund_capital(&Contributor::CityBureau);
        let postings = vec![
            vec![posting(&receivable, "1000000.00", "0.00"), posting(&capital, "0.00", "1000000.00")],
            vec![posting(&cash, "1000000.00", "0.00"), posting(&receivable, "0.00", "1000000.00")],
        ];
        let mut journal = BTreeMap::new();
        for entry in &postings {
            for p in entry {
                let totals: &mut (Money, Money) = journal.entry(p.account.clone()).or_default();
                *totals = (totals.0.checked_add(p.debit).unwrap(), totals.1.checked_add(p.credit).unwrap());
            }
        }
        let bank = BankId::parse("nbcb").unwrap().to_string();
        let registry = Registry {
            pool: cover("500000.00", 1),
            banks: BTreeMap::from([(bank.clone(), cover("500000.00", 1))]),
            enterprises: BTreeMap::from([("91330212MA2H000019".to_owned(), money("500000.00"))]),
        };
        Books {
            postings,
            journal,
            pool: registry.pool,
            banks: vec![(bank, cover("500000.00", 0))],
            enterprises: registry.enterprises.clone(),
            registry,
        }
    }

    fn run(books: &Books, stored_accounts: &BTreeMap<Account, (Money, Money)>, net: &str) -> Report {
        let entries: Vec<Entry<'_>> =
            books.postings.iter().enumerate().map(|(i, p)| Entry { id: i as i64 + 1, postings: p }).collect();
        let stored = Stored {
            accounts: stored_accounts,
            net_pool_assets: money(net),
            committed_capital: money("1000000.00"),
            pool: &books.pool,
            banks: &books.banks,
            enterprises: &books.enterprises,
        };
        verify(&entries, &books.journal, &books.registry, &stored)
    }

    #[test]
    fn whole_books_verify_and_every_kind_of_difference_is_named() {
        let original = books();
        let whole = run(&original, &original.journal, "1000000.00");
        assert!(whole.ok(), "{:?}", whole.differences);
        assert_eq!((whole.entries_checked, whole.accounts_checked), (2, 3));

        // A stored account total a fen off, and net pool assets a fen off.
        let mut tampered = original.journal.clone();
        let cash = tampered.get_mut(&Account::escrow_cash()).unwrap();
        cash.0 = money("1000000.01");
        let report = run(&original, &tampered, "999999.99");
        let subjects: Vec<&str> = report.differences.iter().map(|d| d.subject.as_str()).collect();
        assert_eq!(subjects, ["account escrow_cash debit/credit totals", "pool total net_pool_assets"]);
        assert_eq!(report.differences[0].expected, "1000000.00 / 0.00");
        assert_eq!(report.differences[0].actual, "1000000.01 / 0.00");

        // A bank's stored exposure and an enterprise missing from the stored totals.
        let mut drifted = books();
        drifted.banks[0].1.covered_outstanding = money("400000.00");
        drifted.enterprises.clear();
        let report = run(&drifted, &drifted.journal, "1000000.00");
        let subjects: Vec<&str> = report.differences.iter().map(|d| d.subject.as_str()).collect();
        assert_eq!(subjects, ["bank nbcb covered_outstanding", "enterprise 91330212MA2H000019 covered_outstanding"]);
        assert_eq!(report.differences[1].actual, "missing");
    }

    #[test]
    fn an_unbalanced_entry_is_found() {
        let mut books = books();
        books.postings[1][1].credit = money("999999.99");
        let report = run(&books, &books.journal, "1000000.00");
        assert_eq!(report.differences[0].subject, "entry 2 balance");
        assert_eq!(report.differences[1].subject, "journal Σ debits = Σ credits");
    }
}
