use expect_test::expect;

use super::*;
use crate::Rule;

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
fn confirmation_waits_for_the_month_to_end() {
    let period = Period::parse("2025-12").unwrap();
    let error = check_period_ended(period, NaiveDate::from_ymd_opt(2025, 12, 31).unwrap()).unwrap_err();
    assert_eq!(error.reason(), "PERIOD_NOT_ENDED");
    assert!(check_period_ended(period, NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()).is_ok());
}

#[test]
fn netting_sets_recoveries_then_contributions_against_compensation() {
    let line = |kind, source: &str, amount: &str| Line {
        kind,
        source: source.into(),
        description: String::new(),
        amount: money(amount),
    };
    let statement = build(
        BankId::parse("nbcb").unwrap(),
        Period::parse("2025-06").unwrap(),
        vec![
            line(LineKind::Compensation, "claims/1", "1000.00"),
            line(LineKind::ShortfallCarried, "claims/2", "500.00"),
            line(LineKind::Recovery, "recoveries/1", "300.00"),
            line(LineKind::ContributionDue, "accounts/contributions_receivable:bank:nbcb", "400.00"),
        ],
    );
    let netting = net(&statement);
    assert_eq!(netting.netted, money("700.00"));
    assert_eq!(netting.amount_due, money("800.00"));
    let settled: Vec<(&str, Money)> = netting.allocations.iter().map(|a| (a.source.as_str(), a.amount)).collect();
    assert_eq!(
        settled,
        vec![
            ("claims/1", money("700.00")),
            ("recoveries/1", money("300.00")),
            ("accounts/contributions_receivable:bank:nbcb", money("400.00"))
        ]
    );
    // A payment of 500.00 then settles what stays open, in line order.
    let open = |source: &str| netting.allocations.iter().filter(|a| a.source == source).map(|a| a.amount).sum();
    let paid = allocate(payable_lines(&statement, open), money("500.00"));
    let paid: Vec<(&str, Money)> = paid.iter().map(|a| (a.source.as_str(), a.amount)).collect();
    assert_eq!(paid, vec![("claims/1", money("300.00")), ("claims/2", money("200.00"))]);
    assert_eq!(Status::after_payment(money("800.00"), money("500.00")), Status::PartiallyPaid);
    assert_eq!(Status::after_payment(money("800.00"), money("800.00")), Status::Paid);
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

#[test]
fn a_month_lists_what_was_decided_by_its_last_day_less_what_was_settled_by_then() {
    let day = |d: &str| NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap();
    let claim = |claim_id, approved_on: Option<&str>| ClaimItem {
        claim_id,
        loan_id: claim_id * 10,
        approved_on: approved_on.map(day),
        compensation: money("1680000.00"),
        pool_share: rust_decimal::Decimal::new(7, 1),
        principal_loss: money("2400000.00"),
        parts: Vec::new(),
    };
    let claims =
        [claim(1, Some("2025-05-31")), claim(2, Some("2025-06-01")), claim(3, None), claim(4, Some("2025-04-30"))];
    let recovery = |recovery_id, date| RecoveryItem {
        recovery_id,
        loan_id: 10,
        date: day(date),
        amount: money("600000.00"),
        pool_share_amount: money("420000.00"),
    };
    let recoveries = [recovery(1, "2025-05-20"), recovery(2, "2025-06-02")];
    let items = Items {
        claims: &claims,
        recoveries: &recoveries,
        clawbacks: &[],
        contributions_due: ("contributions_receivable:bank:nbcb", money("100.00")),
    };
    let lines = lines(
        Period::parse("2025-05").unwrap(),
        &items,
        |source| if source == "claims/4" { money("1000000.00") } else { Money::ZERO },
        |source| source == "claims/4",
    );
    let listed: Vec<(LineKind, &str, Money)> = lines.iter().map(|l| (l.kind, l.source.as_str(), l.amount)).collect();
    assert_eq!(
        listed,
        [
            (LineKind::Compensation, "claims/1", money("1680000.00")),
            (LineKind::ShortfallCarried, "claims/4", money("680000.00")),
            (LineKind::Recovery, "recoveries/1", money("420000.00")),
            (LineKind::ContributionDue, "accounts/contributions_receivable:bank:nbcb", money("100.00")),
        ]
    );
    assert_eq!(lines[0].description, "compensation for loans/10 (0.70 of a 2400000.00 loss)");
}
