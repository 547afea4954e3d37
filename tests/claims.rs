//! Claims end to end: the annual cap and its calendar year, the claim deadline, what a
//! claim does to the pool and the bank, and refusals.

use proto::v1 as pb;
use tests::{spawn_app, spawn_app_on, spawn_app_with_policy, spawn_app_with_policy_on};
use tonic::Code;

use crate::support::*;

/// An approved claim is payable at once, so it lowers net pool assets; below the policy's
/// 20% of committed capital the pool takes no new enrolments, with the figures.
#[tokio::test]
async fn a_claim_that_takes_net_assets_below_the_floor_suspends_enrolment() {
    let app = spawn_app().await;
    let actors = actors(&app, "nbcb", "100000000.00").await;
    fund_pool(&app, &actors.finance, "2000000.00").await;
    // Another bank's application (the defaulting bank's NPL ratio suspends the bank itself).
    create_bank(&app, "icbc", "100000000.00").await;
    let other =
        Actors { bank: "icbc".into(), bank_key: issue_key(&app, pb::Role::Bank, "banks/icbc").await, ..actors.clone() };
    let waiting = submit(&app, &other, &local_uscc(61), "100000.00").await;
    let loan = defaulted_pure_credit_loan(&app, &actors, 62).await;
    let claim = file(&app, &actors, &loan).await;
    app.settlement_as(&actors.officer).approve_claim(approve(&claim, "a1")).await.unwrap();
    let second = issue_key(&app, pb::Role::RiskOfficer, "").await;
    app.settlement_as(&second).approve_claim(approve(&claim, "a2")).await.unwrap();
    // 2,000,000.00 − 1,680,000.00 payable = 320,000.00, below 400,000.00.
    assert_eq!(position(&app, &actors.officer).await.net_pool_assets, "320000.00");
    let refused = app.loans_as(&other.bank_key).enroll_loan(enrol_request(&waiting, "W1")).await.unwrap_err();
    assert_error(&refused, Code::FailedPrecondition, "POOL_SUSPENDED");
    assert_eq!(
        refused.message(),
        "the pool takes no new enrolments: net pool assets 320000.00 are below 400000.00, 20% of committed capital 2000000.00"
    );
    assert_eq!(refused.get_details_error_info_metadata("net_pool_assets"), Some("320000.00".into()));
    assert_ledger_verifies(&app, &actors.auditor).await;
}

#[tokio::test]
async fn the_annual_cap_limits_compensation_and_a_used_up_cap_approves_nothing() {
    let policy = policy_with_annual_cap("2000000.00").replace("version = \"2025.1\"", "version = \"test-cap\"");
    let app = spawn_app_with_policy(&policy).await;
    let actors = actors(&app, "nbcb", "100000000.00").await;
    fund_pool(&app, &actors.finance, "10000000.00").await;
    let second = issue_key(&app, pb::Role::RiskOfficer, "").await;
    // Enrol all three first: defaults suspend the bank for new enrolments.
    let mut loans = Vec::new();
    for serial in [61, 62, 63] {
        loans.push(enrolled_pure_credit_loan(&app, &actors, serial).await);
    }
    for loan in &loans {
        default_loan(&app, &actors, loan).await;
    }
    let mut compensations = Vec::new();
    for (serial, loan) in [(61, &loans[0]), (62, &loans[1])] {
        let claim = file(&app, &actors, loan).await;
        app.settlement_as(&actors.officer).approve_claim(approve(&claim, &format!("a{serial}"))).await.unwrap();
        compensations.push(app.settlement_as(&second).approve_claim(approve(&claim, &format!("b{serial}"))).await);
    }
    let first = compensations.remove(0).unwrap().into_inner().claim.unwrap();
    assert_eq!(first.compensation, "1680000.00");
    let second_claim = compensations.remove(0).unwrap().into_inner().claim.unwrap();
    assert_eq!(second_claim.compensation, "320000.00", "only the 320,000.00 left of the 2,000,000.00 cap");
    let exposure = app
        .pool_as(&actors.officer)
        .get_bank_exposure(pb::GetBankExposureRequest { bank: "banks/nbcb".into() })
        .await
        .unwrap()
        .into_inner()
        .exposure
        .unwrap();
    assert_eq!(
        (exposure.compensation_this_year.as_str(), exposure.annual_cap_remaining.as_str()),
        ("2000000.00", "0.00")
    );
    let claim = file(&app, &actors, &loans[2]).await;
    app.settlement_as(&actors.officer).approve_claim(approve(&claim, "a63")).await.unwrap();
    // The used-up cap still decides the claim: approved for 0.00, with what the cap cut.
    let decided = app.settlement_as(&second).approve_claim(approve(&claim, "b63")).await.unwrap().into_inner();
    let decided = decided.claim.unwrap();
    assert_eq!((decided.status(), decided.compensation.as_str()), (pb::ClaimStatus::Paid, "0.00"));
    let breakdown = decided.breakdown.unwrap();
    assert_eq!(
        (breakdown.entitled.as_str(), breakdown.cap_remaining.as_str(), breakdown.cap_cut.as_str()),
        ("1680000.00", "0.00", "1680000.00")
    );
    let second_breakdown = second_claim.breakdown.unwrap();
    assert_eq!(
        (second_breakdown.cap_remaining.as_str(), second_breakdown.cap_cut.as_str()),
        ("320000.00", "1360000.00")
    );
    let loan_now = app
        .loans_as(&actors.officer)
        .get_loan(pb::GetLoanRequest { name: loans[2].clone() })
        .await
        .unwrap()
        .into_inner()
        .loan
        .unwrap();
    assert_eq!(loan_now.status(), pb::LoanStatus::Compensated, "the claim moved on like any approved claim");
    assert_ledger_verifies(&app, &actors.auditor).await;
}

#[tokio::test]
async fn claims_are_refused_for_loans_that_are_not_defaulted() {
    let app = spawn_app().await;
    let actors = actors(&app, "nbcb", "100000000.00").await;
    fund_pool(&app, &actors.finance, "1000000.00").await;
    let application = submit(&app, &actors, &local_uscc(71), "500000.00").await;
    let loan = enrol(&app, &actors, &application, "N1").await;
    let error = app
        .settlement_as(&actors.bank_key)
        .file_claim(pb::FileClaimRequest {
            request_id: "f".into(),
            loan: loan.name.clone(),
            claim_date: days_ago(0),
            memo: String::new(),
        })
        .await
        .unwrap_err();
    assert_error(&error, Code::FailedPrecondition, "LOAN_NOT_DEFAULTED");
    create_bank(&app, "other", "1000.00").await;
    let other = issue_key(&app, pb::Role::Bank, "banks/other").await;
    let hidden = app
        .settlement_as(&other)
        .file_claim(pb::FileClaimRequest {
            request_id: "g".into(),
            loan: loan.name,
            claim_date: days_ago(0),
            memo: String::new(),
        })
        .await
        .unwrap_err();
    assert_error(&hidden, Code::NotFound, "NOT_FOUND");
}

/// The annual cap a claim counts against is its approval date's year: approved on 31
/// December it uses that year's cap, on 1 January the new year's, and an approval recorded
/// on 1 January but dated 31 December the old year's.
#[tokio::test]
async fn the_cap_year_is_the_approval_s_calendar_year() {
    let policy = policy_with_annual_cap("2000000.00");
    let app = spawn_app_with_policy_on(&policy, &days_ago(0)).await;
    let actors = actors(&app, "nbcb", "100000000.00").await;
    fund_pool(&app, &actors.finance, "10000000.00").await;
    let second = issue_key(&app, pb::Role::RiskOfficer, "").await;
    // Every loan is enrolled before the first defaults (a default suspends the bank).
    let mut loans = Vec::new();
    for serial in [71, 72, 73] {
        loans.push(enrolled_pure_credit_loan(&app, &actors, serial).await);
    }
    let mut claims = Vec::new();
    for loan in &loans {
        default_loan(&app, &actors, loan).await;
        claims.push(file(&app, &actors, loan).await);
    }
    let year = chrono::Datelike::year(&today());
    let (new_years_eve, new_year) = (format!("{year}-12-31"), format!("{}-01-01", year + 1));
    let approve_on = |claim: &pb::Claim, id: &str, date: &str| pb::ApproveClaimRequest {
        request_id: id.into(),
        name: claim.name.clone(),
        approval_date: date.into(),
        comment: String::new(),
    };
    let decide = |claim: pb::Claim, id: &'static str, date: String| {
        let (first, second) = (app.settlement_as(&actors.officer), app.settlement_as(&second));
        async move {
            let (mut first, mut second) = (first, second);
            first.approve_claim(approve_on(&claim, &format!("{id}-1"), &date)).await.unwrap();
            second
                .approve_claim(approve_on(&claim, &format!("{id}-2"), &date))
                .await
                .unwrap()
                .into_inner()
                .claim
                .unwrap()
        }
    };
    app.advance_to(&new_years_eve).await;
    let december = decide(claims[0].clone(), "dec", new_years_eve.clone()).await;
    assert_eq!((december.compensation.as_str(), december.cap_year), ("1680000.00", year));
    app.advance_to(&new_year).await;
    let january = decide(claims[1].clone(), "jan", new_year.clone()).await;
    assert_eq!((january.compensation.as_str(), january.cap_year), ("1680000.00", year + 1));
    assert_eq!(january.breakdown.unwrap().cap_remaining, "2000000.00", "a new year's cap is whole");
    // Recorded on 1 January, approved as of 31 December: the old year's 320,000.00 is left.
    let backdated = decide(claims[2].clone(), "late", new_years_eve.clone()).await;
    assert_eq!((backdated.compensation.as_str(), backdated.cap_year), ("320000.00", year));
    let breakdown = backdated.breakdown.unwrap();
    assert_eq!((breakdown.cap_remaining.as_str(), breakdown.cap_cut.as_str()), ("320000.00", "1360000.00"));
}

#[tokio::test]
async fn a_borrower_s_payment_after_a_claim_is_a_recovery_not_a_repayment() {
    let app = spawn_app().await;
    let actors = actors(&app, "nbcb", "100000000.00").await;
    fund_pool(&app, &actors.finance, "10000000.00").await;
    // Enrol both first: a default suspends the bank for new enrolments.
    let repaid = enrolled_pure_credit_loan(&app, &actors, 91).await;
    let claimed = enrolled_pure_credit_loan(&app, &actors, 92).await;
    default_loan(&app, &actors, &repaid).await;
    default_loan(&app, &actors, &claimed).await;
    let repay = |loan: &str, id: &str| pb::ReportLoanStatusRequest {
        request_id: id.into(),
        loan: loan.to_owned(),
        report_date: days_ago(0),
        outstanding_principal: "0.00".into(),
        days_past_due: 0,
        classification: pb::LoanClassification::Normal as i32,
        repaid: true,
    };
    // Before any claim, a defaulted loan repaid in full closes as REPAID.
    let closed = app.loans_as(&actors.bank_key).report_loan_status(repay(&repaid, "r1")).await.unwrap();
    assert_eq!(closed.into_inner().loan.unwrap().status(), pb::LoanStatus::Repaid);
    let claim = file(&app, &actors, &claimed).await;
    let refused = app.loans_as(&actors.bank_key).report_loan_status(repay(&claimed, "r2")).await.unwrap_err();
    assert_error(&refused, Code::FailedPrecondition, "LOAN_CLAIMED");
    assert!(
        refused.message().contains(&claim.name) && refused.message().contains("ReportRecovery"),
        "{}",
        refused.message()
    );
    let position = position(&app, &actors.auditor).await;
    assert_eq!(position.covered_outstanding, "2400000.00", "the claimed loan stays covered");
}

#[tokio::test]
async fn a_claim_is_filed_within_180_days_of_the_default_on_the_clock() {
    let app = spawn_app_on(&days_ago(0)).await;
    let actors = actors(&app, "nbcb", "100000000.00").await;
    fund_pool(&app, &actors.finance, "10000000.00").await;
    let loan = defaulted_pure_credit_loan(&app, &actors, 95).await;
    let on = |days: u64| (today() + chrono::Days::new(days)).format("%Y-%m-%d").to_string();
    let filing = |id: &str, date: String| pb::FileClaimRequest {
        request_id: id.into(),
        loan: loan.clone(),
        claim_date: date,
        memo: String::new(),
    };
    app.advance_to(&on(181)).await;
    let late = app.settlement_as(&actors.bank_key).file_claim(filing("late", on(181))).await.unwrap_err();
    assert_error(&late, Code::FailedPrecondition, "CLAIM_DEADLINE_PASSED");
    // Dated on the 180th day, it is in time.
    let claim = app.settlement_as(&actors.bank_key).file_claim(filing("in-time", on(180))).await.unwrap();
    assert_eq!(claim.into_inner().claim.unwrap().status(), pb::ClaimStatus::Filed);
}

#[tokio::test]
async fn the_annual_cap_starts_again_on_1_january() {
    let policy = policy_with_annual_cap("2000000.00");
    let app = spawn_app_with_policy_on(&policy, &days_ago(0)).await;
    let actors = actors(&app, "nbcb", "100000000.00").await;
    fund_pool(&app, &actors.finance, "10000000.00").await;
    let second = issue_key(&app, pb::Role::RiskOfficer, "").await;
    let loans =
        [enrolled_pure_credit_loan(&app, &actors, 97).await, enrolled_pure_credit_loan(&app, &actors, 98).await];
    for loan in &loans {
        default_loan(&app, &actors, loan).await;
    }
    let claims = [file(&app, &actors, &loans[0]).await, file(&app, &actors, &loans[1]).await];
    app.settlement_as(&actors.officer).approve_claim(approve(&claims[0], "a1")).await.unwrap();
    let this_year = app.settlement_as(&second).approve_claim(approve(&claims[0], "b1")).await.unwrap();
    assert_eq!(this_year.into_inner().claim.unwrap().compensation, "1680000.00");
    // 1 January: the bank's cap for the new year is whole again.
    let new_year = format!("{}-01-01", chrono::Datelike::year(&today()) + 1);
    app.advance_to(&new_year).await;
    let in_new_year = |id: &str| pb::ApproveClaimRequest {
        request_id: id.into(),
        name: claims[1].name.clone(),
        approval_date: new_year.clone(),
        comment: String::new(),
    };
    app.settlement_as(&actors.officer).approve_claim(in_new_year("a2")).await.unwrap();
    let next = app.settlement_as(&second).approve_claim(in_new_year("b2")).await.unwrap().into_inner().claim.unwrap();
    assert_eq!((next.compensation.as_str(), next.cap_year), ("1680000.00", chrono::Datelike::year(&today()) + 1));
    assert_eq!(next.breakdown.unwrap().cap_remaining, "2000000.00");
}
