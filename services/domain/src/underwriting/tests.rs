use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::*;
use crate::application::Submission;
use crate::terms::LoanPurpose;
use crate::uscc::Uscc;

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

fn money(text: &str) -> Money {
    Money::parse_signed(text).unwrap()
}

fn rate(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn good() -> Submission {
    crate::examples::submission()
}

fn context() -> Context {
    crate::examples::context()
}

fn decide(submission: &Submission, context: &Context) -> Decision {
    underwrite(&Policy::default_policy(), submission, context)
}

fn reasons_of(decision: &Decision) -> Vec<&str> {
    decision.violations.iter().map(|v| v.reason.as_str()).collect()
}

#[test]
fn a_good_application_is_approved_with_its_score_breakdown() {
    let decision = decide(&good(), &context());
    assert_eq!(decision.outcome, Outcome::Approved, "{:?}", decision.violations);
    assert!(decision.violations.is_empty());
    let points: Vec<(&str, u32, u32)> =
        decision.modules.iter().map(|m| (m.module.as_str(), m.points, m.max_points)).collect();
    assert_eq!(
        points,
        [("management", 180, 200), ("technology", 270, 350), ("market", 200, 200), ("finance", 250, 250)]
    );
    assert_eq!(decision.score, 900);
    assert_eq!(decision.grade, Grade::Aaa);
    assert_eq!(decision.pool_share, rate("0.50"));
    assert_eq!(decision.enterprise_cap, money("10000000.00"));
    assert_eq!(decision.approval_expire_date, Some(date("2025-08-30")));
    assert_eq!(decision.policy_version, "2025.1");
}

type Change = fn(&mut Submission, &mut Context);

/// Each case changes the good application at one rule's boundary: on the boundary it
/// passes, one step past it fails with the rule's reason code.
#[test]
fn every_rule_holds_at_its_boundary() {
    let cases: &[(&str, Change, Option<&str>)] = &[
        ("amount at the minimum", |s, _| s.terms.amount = money("100000.00"), None),
        ("amount below the minimum", |s, _| s.terms.amount = money("99999.99"), Some(reasons::AMOUNT_BELOW_MINIMUM)),
        ("amount at the maximum", |s, _| s.terms.amount = money("5000000.00"), None),
        ("amount above the maximum", |s, _| s.terms.amount = money("5000000.01"), Some(reasons::AMOUNT_ABOVE_MAXIMUM)),
        ("term at the minimum", |s, _| s.terms.term_months = 3, None),
        ("term below the minimum", |s, _| s.terms.term_months = 2, Some(reasons::TERM_BELOW_MINIMUM)),
        ("term at the maximum", |s, _| s.terms.term_months = 36, None),
        ("term above the maximum", |s, _| s.terms.term_months = 37, Some(reasons::TERM_ABOVE_MAXIMUM)),
        ("rate exactly LPR + 100 bp", |s, _| s.terms.annual_rate = rate("0.0400"), None),
        ("rate 1 bp above the cap", |s, _| s.terms.annual_rate = rate("0.0401"), Some(reasons::RATE_ABOVE_CAP)),
        ("revenue at the limit", |s, _| s.enterprise.annual_revenue = money("500000000.00"), None),
        (
            "revenue above the limit",
            |s, _| s.enterprise.annual_revenue = money("500000000.01"),
            Some(reasons::REVENUE_ABOVE_LIMIT),
        ),
        (
            "registered outside Yinzhou",
            |s, _| s.enterprise.uscc = Uscc::parse("91330100MA2H00001P").unwrap(),
            Some(reasons::ENTERPRISE_NOT_LOCAL),
        ),
        ("finance industry", |s, _| s.enterprise.industry_section = "J".to_owned(), Some(reasons::INDUSTRY_EXCLUDED)),
        (
            "real estate industry",
            |s, _| s.enterprise.industry_section = "K".to_owned(),
            Some(reasons::INDUSTRY_EXCLUDED),
        ),
        (
            "serious dishonesty record",
            |s, _| s.enterprise.serious_dishonesty_record = true,
            Some(reasons::SERIOUS_DISHONESTY_RECORD),
        ),
        ("related party", |s, _| s.enterprise.related_party_of_bank = true, Some(reasons::RELATED_PARTY_OF_BANK)),
        (
            "qualification valid until the decision date",
            |s, _| {
                s.enterprise.qualifications.truncate(1);
                s.enterprise.qualifications[0].valid_until = date("2025-06-01");
            },
            None,
        ),
        (
            "qualification expired the day before",
            |s, _| {
                s.enterprise.qualifications.truncate(1);
                s.enterprise.qualifications[0].valid_until = date("2025-05-31");
            },
            Some(reasons::NO_VALID_TECH_QUALIFICATION),
        ),
        (
            "qualification not yet valid",
            |s, _| {
                s.enterprise.qualifications.truncate(1);
                s.enterprise.qualifications[0].valid_from = date("2025-06-02");
            },
            Some(reasons::NO_VALID_TECH_QUALIFICATION),
        ),
        ("excluded purpose", |s, _| s.terms.purpose = LoanPurpose::RefinancingOwnDebt, Some(reasons::PURPOSE_EXCLUDED)),
        ("securities purpose", |s, _| s.terms.purpose = LoanPurpose::Securities, Some(reasons::PURPOSE_EXCLUDED)),
        ("enterprise exactly at its AAA cap", |_, c| c.enterprise_covered_outstanding = money("9000000.00"), None),
        (
            "enterprise one fen above its AAA cap",
            |_, c| c.enterprise_covered_outstanding = money("9000000.01"),
            Some(reasons::ENTERPRISE_CAP_EXCEEDED),
        ),
    ];
    for (name, change, expected) in cases {
        let mut submission = good();
        let mut context = context();
        change(&mut submission, &mut context);
        let decision = decide(&submission, &context);
        let reasons = reasons_of(&decision);
        match expected {
            None => {
                // Passing a rule means not rejected (the maximum amount is still referred).
                assert_ne!(decision.outcome, Outcome::Rejected, "{name}: {reasons:?}");
            }
            Some(reason) => {
                assert_eq!(decision.outcome, Outcome::Rejected, "{name}");
                assert_eq!(reasons, [*reason], "{name}");
                assert!(!decision.violations[0].message.is_empty(), "{name}");
                assert_eq!(decision.approval_expire_date, None, "{name}");
            }
        }
    }
}

#[test]
fn referrals_name_their_reason() {
    let mut at_limit = good();
    at_limit.terms.amount = money("2000000.00");
    assert_eq!(decide(&at_limit, &context()).outcome, Outcome::Approved);

    let cases: &[(&str, Change, &str)] = &[
        (
            "one fen above the auto-approval limit",
            |s, _| s.terms.amount = money("2000000.01"),
            reasons::AMOUNT_ABOVE_AUTO_APPROVAL_LIMIT,
        ),
        ("bank on watch", |_, c| c.bank_status = BankStatus::Watch, reasons::BANK_ON_WATCH),
        ("bank suspended", |_, c| c.bank_status = BankStatus::Suspended, reasons::BANK_SUSPENDED),
    ];
    for (name, change, reason) in cases {
        let mut submission = good();
        let mut context = context();
        change(&mut submission, &mut context);
        let decision = decide(&submission, &context);
        assert_eq!(decision.outcome, Outcome::Referred, "{name}");
        assert_eq!(reasons_of(&decision), [*reason], "{name}");
        assert_eq!(decision.approval_expire_date, None);
    }
}

/// A young enterprise with one qualification and weak finances.
fn weak(founder_experience_years: u32) -> Submission {
    let mut submission = good();
    let enterprise = &mut submission.enterprise;
    enterprise.registration_date = date("2025-01-01");
    enterprise.founder_experience_years = founder_experience_years;
    enterprise.rd_expense = Money::ZERO;
    enterprise.invention_patents = 0;
    enterprise.qualifications.truncate(1);
    enterprise.previous_annual_revenue = Money::ZERO;
    enterprise.total_liabilities = money("90000000.00");
    enterprise.prior_overdue_count = 3;
    submission
}

#[test]
fn grade_d_is_rejected_and_ccc_referred() {
    let decision = decide(&weak(0), &context());
    assert_eq!((decision.score, decision.grade), (180, Grade::D));
    assert_eq!(decision.outcome, Outcome::Rejected);
    assert_eq!(reasons_of(&decision), [reasons::GRADE_INELIGIBLE]);

    let decision = decide(&weak(10), &context());
    assert_eq!((decision.score, decision.grade), (260, Grade::Ccc));
    assert_eq!(decision.outcome, Outcome::Referred);
    assert_eq!(reasons_of(&decision), [reasons::GRADE_REFERRED]);
    assert_eq!(decision.enterprise_cap, money("5000000.00"));
}

#[test]
fn a_rejection_lists_every_failed_rule() {
    let mut submission = good();
    submission.enterprise.uscc = Uscc::parse("91330100MA2H00001P").unwrap();
    submission.enterprise.industry_section = "K".to_owned();
    submission.terms.annual_rate = rate("0.06");
    submission.terms.term_months = 48;
    submission.terms.amount = money("6000000.00");
    let decision = decide(&submission, &context());
    assert_eq!(decision.outcome, Outcome::Rejected);
    assert_eq!(
        reasons_of(&decision),
        [
            reasons::ENTERPRISE_NOT_LOCAL,
            reasons::INDUSTRY_EXCLUDED,
            reasons::AMOUNT_ABOVE_MAXIMUM,
            reasons::TERM_ABOVE_MAXIMUM,
            reasons::RATE_ABOVE_CAP,
        ]
    );
    let rate_message = &decision.violations[4].message;
    assert_eq!(rate_message, "annual rate 0.06 is above the cap 0.04 (one-year LPR 0.03 + 0.01)");
}

#[test]
fn pool_share_rises_for_pure_credit_and_first_loans_up_to_the_maximum() {
    let mut submission = good();
    submission.terms.collateral = CollateralType::PureCredit;
    assert_eq!(decide(&submission, &context()).pool_share, rate("0.60"));
    submission.terms.first_bank_loan = true;
    assert_eq!(decide(&submission, &context()).pool_share, rate("0.70"));
    submission.terms.collateral = CollateralType::Mortgage;
    assert_eq!(decide(&submission, &context()).pool_share, rate("0.60"));
}

#[test]
fn decisions_are_reproducible() {
    let submission = good();
    assert_eq!(decide(&submission, &context()), decide(&submission, &context()));
    let json = serde_json::to_string(&decide(&submission, &context())).unwrap();
    let back: Decision = serde_json::from_str(&json).unwrap();
    assert_eq!(back, decide(&submission, &context()));
}

#[test]
fn full_years_count_anniversaries() {
    assert_eq!(full_years_between(date("2018-03-01"), date("2025-02-28")), 6);
    assert_eq!(full_years_between(date("2018-03-01"), date("2025-03-01")), 7);
    assert_eq!(full_years_between(date("2025-03-01"), date("2018-03-01")), 0);
}

#[test]
fn the_pool_share_table_shows_the_rows_that_applied() {
    use crate::application::QualificationRecord;
    use crate::policy::ClassBase;
    use crate::terms::Qualification;
    let rows = |d: &Decision| -> Vec<(String, Decimal, Decimal)> {
        d.pool_share_rows.iter().map(|r| (r.row.clone(), r.effect, r.share)).collect()
    };
    let row = |name: &str, effect: &str, share: &str| (name.to_owned(), rate(effect), rate(share));
    let mut submission = good();
    assert_eq!(rows(&decide(&submission, &context())), [row("pool_share.base", "0.50", "0.50")]);
    submission.terms.collateral = CollateralType::PureCredit;
    submission.terms.first_bank_loan = true;
    assert_eq!(
        rows(&decide(&submission, &context())),
        [
            row("pool_share.base", "0.50", "0.50"),
            row("pool_share.pure_credit_bonus", "0.10", "0.60"),
            row("pool_share.first_bank_loan_bonus", "0.10", "0.70"),
        ]
    );
    // 专精特新 starts from 0.55: with both bonuses 0.75, cut to the 0.70 ceiling.
    let mut policy = Policy::default_policy();
    policy.pool_share.class_base = vec![
        ClassBase { qualification: Qualification::SpecializedNew, base: rate("0.55") },
        ClassBase { qualification: Qualification::TechSme, base: rate("0.52") },
    ];
    policy.validate().unwrap();
    submission.enterprise.qualifications.push(QualificationRecord {
        qualification: Qualification::SpecializedNew,
        valid_from: date("2025-01-01"),
        valid_until: date("2025-06-01"),
    });
    let decision = underwrite(&policy, &submission, &context());
    assert_eq!(decision.pool_share, rate("0.70"));
    assert_eq!(
        rows(&decision),
        [
            row("pool_share.class_base.SPECIALIZED_NEW", "0.55", "0.55"),
            row("pool_share.pure_credit_bonus", "0.10", "0.65"),
            row("pool_share.first_bank_loan_bonus", "0.10", "0.75"),
            row("pool_share.maximum", "-0.05", "0.70"),
        ]
    );
    // Expired the day before the decision: the next best class the enterprise holds (科技型中小企业).
    submission.enterprise.qualifications.last_mut().unwrap().valid_until = date("2025-05-31");
    submission.terms.collateral = CollateralType::Mortgage;
    submission.terms.first_bank_loan = false;
    let decision = underwrite(&policy, &submission, &context());
    assert_eq!(rows(&decision), [row("pool_share.class_base.TECH_SME", "0.52", "0.52")]);
    // Two rows for one class, or a base above the ceiling, are refused by check-policy.
    policy.pool_share.class_base.push(ClassBase { qualification: Qualification::TechSme, base: rate("0.50") });
    assert!(policy.validate().unwrap_err().to_string().contains("TECH_SME has more than one row"));
    policy.pool_share.class_base = vec![ClassBase { qualification: Qualification::TechSme, base: rate("0.71") }];
    assert!(policy.validate().unwrap_err().to_string().contains("pool_share.class_base.base"));
}
