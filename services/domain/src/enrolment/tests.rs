use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::*;
use crate::Rule;

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

fn money(text: &str) -> Money {
    Money::parse_signed(text).unwrap()
}

fn policy() -> Policy {
    Policy::default_policy()
}

/// 1,000,000.00 for 12 months, approved; disbursed in full on 2025-06-01 at 3.5% for 12
/// months, enrolled on 2025-06-10.
fn terms() -> LoanTerms {
    let mut terms = crate::examples::submission().terms;
    terms.amount = money("1000000.00");
    terms.term_months = 12;
    terms
}

fn loan() -> Disbursement {
    Disbursement {
        amount: money("1000000.00"),
        annual_rate: Decimal::new(35, 3),
        date: date("2025-06-01"),
        maturity_date: date("2026-06-01"),
    }
}

fn approved(terms: &LoanTerms) -> Approval<'_> {
    Approval { status: ApplicationStatus::Approved, loan_id: None, expire_date: Some(date("2025-08-30")), terms }
}

#[test]
fn approval_rules_refuse_exactly_what_they_name() {
    let terms = terms();
    let today = date("2025-06-10");
    type Change = fn(&mut Approval<'_>, &mut Disbursement, &mut NaiveDate);
    let cases: [(&str, Change, Option<&str>); 12] = [
        ("as approved", |_, _, _| {}, None),
        (
            "enrolled already",
            |a, _, _| (a.status, a.loan_id) = (ApplicationStatus::Enrolled, Some(7)),
            Some("APPLICATION_ALREADY_ENROLLED"),
        ),
        ("approval expired", |a, _, _| a.status = ApplicationStatus::Expired, Some("APPROVAL_EXPIRED")),
        ("still referred", |a, _, _| a.status = ApplicationStatus::Referred, Some("APPLICATION_NOT_APPROVED")),
        ("rejected", |a, _, _| a.status = ApplicationStatus::Rejected, Some("APPLICATION_NOT_APPROVED")),
        ("a fen above approved", |_, l, _| l.amount = money("1000000.01"), Some("DISBURSED_ABOVE_APPROVED")),
        ("less than approved", |_, l, _| l.amount = money("600000.00"), None),
        ("rate at the cap (LPR 3% + 1%)", |_, l, _| l.annual_rate = Decimal::new(4, 2), None),
        ("rate above the cap", |_, l, _| l.annual_rate = Decimal::new(401, 4), Some("RATE_ABOVE_CAP")),
        ("day 30 after disbursement", |_, _, t| *t = date("2025-07-01"), None),
        ("day 31 after disbursement", |_, _, t| *t = date("2025-07-02"), Some("ENROLMENT_DEADLINE_PASSED")),
        ("a day past the term", |_, l, _| l.maturity_date = date("2026-06-02"), Some("MATURITY_BEYOND_TERM")),
    ];
    for (name, change, expected) in cases {
        let (mut approval, mut disbursement, mut on) = (approved(&terms), loan(), today);
        change(&mut approval, &mut disbursement, &mut on);
        let outcome = check_approval(&policy(), on, &approval, &disbursement);
        assert_eq!(outcome.as_ref().err().map(Refusal::reason), expected, "{name}: {outcome:?}");
    }
}

#[test]
fn approval_refusals_say_what_and_carry_their_figures() {
    let terms = terms();
    let mut late = loan();
    late.maturity_date = date("2026-06-02");
    let refusal = check_approval(&policy(), date("2025-06-10"), &approved(&terms), &late).unwrap_err();
    assert_eq!(refusal.to_string(), "maturity 2026-06-02 is after the approved term of 12 months (2026-06-01)");
    let mut expired = approved(&terms);
    expired.status = ApplicationStatus::Expired;
    let refusal = check_approval(&policy(), date("2025-09-01"), &expired, &loan()).unwrap_err();
    assert_eq!(refusal.to_string(), "the approval expired on 2025-08-30; submit a new application");
    assert_eq!(refusal.figures(), vec![("approval_expire_date", "2025-08-30".to_owned())]);
    let mut dear = loan();
    dear.annual_rate = Decimal::new(45, 3);
    let refusal = check_approval(&policy(), date("2025-06-10"), &approved(&terms), &dear).unwrap_err();
    assert_eq!(refusal.to_string(), "annual rate 0.045 is above the cap 0.04 on 2025-06-01");
}

#[test]
fn the_enterprise_cap_holds_to_the_fen() {
    let cap = money("5000000.00");
    assert_eq!(check_enterprise("X", money("4000000.00"), money("1000000.00"), cap), Ok(cap));
    let over = check_enterprise("X", money("4000000.00"), money("1000000.01"), cap).unwrap_err();
    assert_eq!(over.reason(), "ENTERPRISE_CAP_EXCEEDED");
    assert_eq!(
        over.to_string(),
        "enterprise X would have 5000000.01 covered (4000000.00 + 1000000.01), above its cap 5000000.00"
    );
}

fn bank(status: BankStatus, used: &str) -> BankStanding {
    BankStanding {
        bank_id: BankId::parse("nbcb").unwrap(),
        status,
        status_reason: if status == BankStatus::Suspended { "NPL ratio 0.12".into() } else { String::new() },
        quota: money("3000000.00"),
        quota_used: money(used),
    }
}

#[test]
fn the_bank_must_be_open_and_within_its_quota() {
    let cases = [
        (BankStatus::Active, "2000000.00", "1000000.00", None),
        (BankStatus::Watch, "2000000.00", "1000000.00", None),
        (BankStatus::Active, "2000000.01", "1000000.00", Some("BANK_QUOTA_EXCEEDED")),
        (BankStatus::Suspended, "0.00", "1.00", Some("BANK_SUSPENDED")),
    ];
    for (status, used, requested, expected) in cases {
        let outcome = check_bank(&bank(status, used), money(requested));
        assert_eq!(outcome.as_ref().err().map(Refusal::reason), expected, "{status} {used} + {requested}");
    }
    let suspended = check_bank(&bank(BankStatus::Suspended, "0.00"), money("1.00")).unwrap_err();
    assert_eq!(suspended.to_string(), "bank nbcb is suspended: NPL ratio 0.12");
}

fn pool(net: &str, committed: &str, covered: &str) -> PoolStanding {
    PoolStanding {
        covered_outstanding: money(covered),
        net_pool_assets: money(net),
        committed_capital: money(committed),
        suspended: false,
        suspension_reason: String::new(),
    }
}

#[test]
fn the_pool_takes_loans_up_to_its_leverage_and_not_below_its_floor() {
    let cases = [
        // 500,000.00 × 12 = 6,000,000.00 of capacity.
        ("500000.00", "500000.00", "5000000.00", "1000000.00", None),
        ("500000.00", "500000.00", "5000000.00", "1000000.01", Some("LEVERAGE_LIMIT_EXCEEDED")),
        // The floor is 20% of committed capital: 200,000.00 of 1,000,000.00.
        ("200000.00", "1000000.00", "0.00", "1.00", None),
        ("199999.99", "1000000.00", "0.00", "1.00", Some("POOL_SUSPENDED")),
        // An empty pool has no capacity.
        ("0.00", "0.00", "0.00", "0.01", Some("LEVERAGE_LIMIT_EXCEEDED")),
        ("-0.01", "0.00", "0.00", "0.01", Some("POOL_SUSPENDED")),
    ];
    for (net, committed, covered, requested, expected) in cases {
        let outcome = check_pool(&policy(), &pool(net, committed, covered), money(requested));
        assert_eq!(outcome.as_ref().err().map(Refusal::reason), expected, "{net} {committed} {covered} {requested}");
    }
    let mut by_hand = pool("500000.00", "500000.00", "0.00");
    (by_hand.suspended, by_hand.suspension_reason) = (true, "audit in progress".into());
    let refusal = check_pool(&policy(), &by_hand, money("1.00")).unwrap_err();
    assert_eq!(refusal.to_string(), "the pool takes no new enrolments: audit in progress");
    let floor = check_pool(&policy(), &pool("170000.00", "1500000.00", "0.00"), money("1.00")).unwrap_err();
    assert_eq!(
        floor.to_string(),
        "the pool takes no new enrolments: net pool assets 170000.00 are below 300000.00, 20% of committed capital 1500000.00"
    );
    let over = check_pool(&policy(), &pool("500000.00", "500000.00", "5000000.00"), money("1000000.01")).unwrap_err();
    assert_eq!(
        over.to_string(),
        "covered outstanding would be 6000000.01 (5000000.00 + 1000000.01), above 12 × net pool assets 500000.00 = 6000000.00"
    );
}

#[test]
fn capacity_is_exact_to_the_fen_with_a_fractional_leverage() {
    let mut policy = policy();
    policy.pool.max_leverage = Decimal::new(125, 1);
    // 0.05 × 12.5 = 0.625: a loan of 0.62 fits, 0.63 does not.
    assert!(check_pool(&policy, &pool("0.05", "0.00", "0.00"), money("0.62")).is_ok());
    assert!(check_pool(&policy, &pool("0.05", "0.00", "0.00"), money("0.63")).is_err());
    assert_eq!(position::capacity(&policy, money("0.05")), money("0.62"));
}
