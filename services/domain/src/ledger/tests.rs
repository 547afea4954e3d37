use super::*;
use crate::Rule;

fn date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 1, 15).unwrap()
}

#[test]
fn posting_rules_balance_and_hit_the_right_accounts() {
    let bank = BankId::parse("nbcb").unwrap();
    let amount = Money::from_fen(12_345);
    let entry = EntryDraft::claim_approved(&bank, amount, date(), "claim 1");
    entry.validate().unwrap();
    assert_eq!(entry.postings[0].account.code(), "compensation_expense");
    assert_eq!(entry.postings[1].account.code(), "compensation_payable:bank:nbcb");
    let changes = entry.balance_changes();
    assert_eq!(changes[&Account::compensation_payable(&bank)], amount);
    assert_eq!(changes[&Account::compensation_expense()], amount);
    let reversal = EntryDraft::reversal_of(&entry.postings, date(), "wrong");
    reversal.validate().unwrap();
    assert_eq!(reversal.balance_changes()[&Account::compensation_payable(&bank)], Money::from_fen(-12_345));
}

#[test]
fn malformed_entries_are_refused() {
    let mut entry = EntryDraft::interest(Money::from_fen(100), date(), "");
    entry.postings[1].credit = Money::from_fen(99);
    assert!(matches!(entry.validate(), Err(LedgerError::Unbalanced { .. })));
    entry.postings.truncate(1);
    assert_eq!(entry.validate(), Err(LedgerError::TooFewPostings));
    let zero = EntryDraft::interest(Money::ZERO, date(), "");
    assert!(matches!(zero.validate(), Err(LedgerError::BadPosting(_))));
}

#[test]
fn guarded_accounts_never_go_negative() {
    let bank = BankId::parse("nbcb").unwrap();
    let pay = EntryDraft::compensation_paid(&bank, Money::from_fen(500), date(), "");
    let error = pay.check_guards(|_| Money::from_fen(499)).unwrap_err();
    assert_eq!(error.reason(), "BALANCE_WOULD_GO_NEGATIVE");
    assert!(pay.check_guards(|_| Money::from_fen(500)).is_ok());
    let cash_short =
        pay.check_guards(
            |account| {
                if account.code() == "escrow_cash" { Money::from_fen(1) } else { Money::from_fen(500) }
            },
        );
    assert_eq!(cash_short.unwrap_err().reason(), "INSUFFICIENT_ESCROW_CASH");
}

#[test]
fn net_pool_assets_are_cash_plus_receivables_minus_payables() {
    let bank = BankId::parse("nbcb").unwrap();
    let city = Contributor::CityBureau;
    let balances = Balances(BTreeMap::from([
        (Account::escrow_cash(), Money::from_fen(1000)),
        (Account::contributions_receivable(&city), Money::from_fen(300)),
        (Account::recoveries_receivable(&bank), Money::from_fen(20)),
        (Account::compensation_payable(&bank), Money::from_fen(100)),
        (Account::fund_capital(&city), Money::from_fen(1300)),
    ]));
    assert_eq!(balances.net_pool_assets(), Money::from_fen(1220));
    let pay = EntryDraft::compensation_paid(&bank, Money::from_fen(100), date(), "");
    assert_eq!(pay.net_pool_assets_change(), 0, "paying a payable from cash leaves net assets alone");
    let approve = EntryDraft::claim_approved(&bank, Money::from_fen(100), date(), "");
    assert_eq!(approve.net_pool_assets_change(), -100);
    let commit = EntryDraft::contribution_committed(&city, Money::from_fen(300), date(), "");
    assert_eq!((commit.net_pool_assets_change(), commit.committed_capital_change()), (300, 300));
    assert_eq!(balances.committed_capital(), Money::from_fen(1300));
}
