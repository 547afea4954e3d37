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
        ..Default::default()
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
        ..Default::default()
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
        ..Default::default()
    };
    app.settlement_as(&actors.officer).approve_claim(in_new_year("a2")).await.unwrap();
    let next = app.settlement_as(&second).approve_claim(in_new_year("b2")).await.unwrap().into_inner().claim.unwrap();
    assert_eq!((next.compensation.as_str(), next.cap_year), ("1680000.00", chrono::Datelike::year(&today()) + 1));
    assert_eq!(next.breakdown.unwrap().cap_remaining, "2000000.00");
}

/// An approval request granting `amount` for `reason`, with a note.
fn grant(
    claim: &pb::Claim,
    id: &str,
    amount: &str,
    reason: pb::ReductionReason,
    note: &str,
) -> pb::ApproveClaimRequest {
    pb::ApproveClaimRequest {
        approved_amount: amount.into(),
        reduction_reason: reason as i32,
        reduction_note: note.into(),
        ..approve(claim, id)
    }
}

#[tokio::test]
async fn a_partial_approval_grants_less_for_a_reason_and_both_approvers_grant_the_same() {
    let app = spawn_app().await;
    let actors = actors(&app, "nbcb", "100000000.00").await;
    fund_pool(&app, &actors.finance, "10000000.00").await;
    let second = issue_key(&app, pb::Role::RiskOfficer, "").await;
    let loan = defaulted_pure_credit_loan(&app, &actors, 71).await;
    let claim = file(&app, &actors, &loan).await;
    // 70% × 2,400,000.00 = 1,680,000.00 entitled; the file shows the default reported late.
    assert_eq!(claim.requested_compensation, "1680000.00");
    let officer = app.settlement_as(&actors.officer);
    let reduced =
        |id: &str| grant(&claim, id, "1200000.00", pb::ReductionReason::LateReporting, "reported 40 days late");

    // Refusals first: each names the field or the figures, and writes nothing.
    let above = officer
        .clone()
        .approve_claim(grant(&claim, "r1", "1680000.01", pb::ReductionReason::Other, "x"))
        .await
        .unwrap_err();
    assert_error(&above, Code::FailedPrecondition, "APPROVED_ABOVE_ENTITLEMENT");
    assert_eq!(
        above.message(),
        "approved_amount 1680000.01 is above the entitlement 1680000.00 (pool share × principal loss)"
    );
    let no_reason = officer
        .clone()
        .approve_claim(grant(&claim, "r2", "1200000.00", pb::ReductionReason::Unspecified, ""))
        .await
        .unwrap_err();
    assert_eq!(no_reason.code(), Code::InvalidArgument);
    assert!(field_violations(&no_reason)["reduction_reason"].contains("below the entitlement 1680000.00"));
    let no_note =
        officer.clone().approve_claim(grant(&claim, "r3", "1.00", pb::ReductionReason::Other, " ")).await.unwrap_err();
    assert_eq!(field_violations(&no_note)["reduction_note"], "is required with reduction_reason OTHER");
    let not_money = officer
        .clone()
        .approve_claim(grant(&claim, "r4", "1,200,000", pb::ReductionReason::LateReporting, ""))
        .await
        .unwrap_err();
    assert!(field_violations(&not_money).contains_key("approved_amount"), "{not_money:?}");
    let unchanged = get_claim(&app, &actors.officer, &claim.name).await;
    assert_eq!((unchanged.status(), unchanged.approvals.len()), (pb::ClaimStatus::Filed, 0));

    // The first officer grants 1,200,000.00 for late reporting.
    let first = officer.clone().approve_claim(reduced("a1")).await.unwrap().into_inner().claim.unwrap();
    assert_eq!(first.status(), pb::ClaimStatus::PartiallyApproved);
    assert_eq!(first.approvals[0].granted_amount, "1200000.00");
    assert_eq!(first.approvals[0].reduction_reason(), pb::ReductionReason::LateReporting);
    assert_eq!(first.approvals[0].reduction_note, "reported 40 days late");

    // The second must grant the same amount for the same reason.
    let other_officer = app.settlement_as(&second);
    let whole = other_officer.clone().approve_claim(approve(&claim, "b1")).await.unwrap_err();
    assert_error(&whole, Code::FailedPrecondition, "APPROVALS_DIFFER");
    assert_eq!(
        whole.message(),
        "the first approval granted 1200000.00 (LATE_REPORTING), this one 1680000.00 (the whole entitlement): \
         every approver must grant the same amount for the same reason"
    );
    let other_reason = other_officer
        .clone()
        .approve_claim(grant(&claim, "b2", "1200000.00", pb::ReductionReason::DocumentationDeficient, ""))
        .await
        .unwrap_err();
    assert_error(&other_reason, Code::FailedPrecondition, "APPROVALS_DIFFER");
    assert_eq!(get_claim(&app, &actors.officer, &claim.name).await.approvals.len(), 1, "nothing written");

    let decided = other_officer.clone().approve_claim(reduced("b3")).await.unwrap().into_inner().claim.unwrap();
    assert_eq!((decided.status(), decided.compensation.as_str()), (pb::ClaimStatus::Approved, "1200000.00"));
    let breakdown = decided.breakdown.clone().unwrap();
    assert_eq!(
        (breakdown.entitled.as_str(), breakdown.granted.as_str(), breakdown.reduction.as_str()),
        ("1680000.00", "1200000.00", "480000.00")
    );
    assert_eq!(
        (breakdown.reduction_reason(), breakdown.reduction_note.as_str()),
        (pb::ReductionReason::LateReporting, "reported 40 days late")
    );
    assert_eq!((breakdown.cap_cut.as_str(), breakdown.bound_by()), ("0.00", pb::CompensationLimit::Reduction));
    // Sent again, the approval answers as before.
    let again = other_officer.clone().approve_claim(reduced("b3")).await.unwrap().into_inner().claim.unwrap();
    assert_eq!(again, decided);
    // The books carry what was granted, not the entitlement.
    let position = position(&app, &actors.auditor).await;
    assert_eq!(position.compensation_approved, "1200000.00");
    assert_eq!(position.net_pool_assets, "8800000.00");
    let exposure = app
        .pool_as(&actors.auditor)
        .get_bank_exposure(pb::GetBankExposureRequest { bank: "banks/nbcb".into() })
        .await
        .unwrap()
        .into_inner()
        .exposure
        .unwrap();
    assert_eq!(exposure.compensation_this_year, "1200000.00");
    assert_ledger_verifies(&app, &actors.auditor).await;
}

#[tokio::test]
async fn a_partial_approval_under_a_used_cap_pays_what_the_cap_leaves() {
    let policy = policy_with_annual_cap("1000000.00").replace("version = \"2025.1\"", "version = \"test-cap\"");
    let app = spawn_app_with_policy(&policy).await;
    let actors = actors(&app, "nbcb", "100000000.00").await;
    fund_pool(&app, &actors.finance, "10000000.00").await;
    let second = issue_key(&app, pb::Role::RiskOfficer, "").await;
    let loan = defaulted_pure_credit_loan(&app, &actors, 72).await;
    let claim = file(&app, &actors, &loan).await;
    let reduced = |id: &str| grant(&claim, id, "1500000.00", pb::ReductionReason::CollateralNotPerfected, "");
    app.settlement_as(&actors.officer).approve_claim(reduced("a1")).await.unwrap();
    let decided = app.settlement_as(&second).approve_claim(reduced("b1")).await.unwrap().into_inner().claim.unwrap();
    // Granted 1,500,000.00, the cap leaves 1,000,000.00: the cap binds and cuts 500,000.00.
    let breakdown = decided.breakdown.unwrap();
    assert_eq!(decided.compensation, "1000000.00");
    assert_eq!((breakdown.reduction.as_str(), breakdown.cap_cut.as_str()), ("180000.00", "500000.00"));
    assert_eq!(breakdown.bound_by(), pb::CompensationLimit::AnnualCap);
    assert_ledger_verifies(&app, &actors.auditor).await;
}

#[tokio::test]
async fn an_early_default_needs_two_approvers_whatever_its_amount_on_the_clock() {
    let app = spawn_app_on(&days_ago(0)).await;
    let actors = actors(&app, "nbcb", "100000000.00").await;
    fund_pool(&app, &actors.finance, "10000000.00").await;
    let on = |months: u32| (today() + chrono::Months::new(months)).format("%Y-%m-%d").to_string();
    let loans =
        [enrolled_pure_credit_loan(&app, &actors, 73).await, enrolled_pure_credit_loan(&app, &actors, 74).await];
    let report = |loan: &str, id: &str, date: String| pb::ReportLoanStatusRequest {
        request_id: id.into(),
        loan: loan.to_owned(),
        report_date: date,
        outstanding_principal: "1000000.00".into(),
        days_past_due: 95,
        classification: pb::LoanClassification::Doubtful as i32,
        repaid: false,
        ..Default::default()
    };
    // Defaulted the day it was enrolled: 70% × 1,000,000.00 = 700,000.00, below the
    // four-eyes threshold, and still two approvers.
    app.loans_as(&actors.bank_key).report_loan_status(report(&loans[0], "d0", days_ago(0))).await.unwrap();
    let early = file(&app, &actors, &loans[0]).await;
    assert_eq!(early.requested_compensation, "700000.00");
    assert!(early.early_default);
    assert_eq!(early.approvals_required, 2);
    let first = app.settlement_as(&actors.officer).approve_claim(approve(&early, "e1")).await.unwrap();
    assert_eq!(first.into_inner().claim.unwrap().status(), pb::ClaimStatus::PartiallyApproved);

    // A default on the day six months after enrolment is outside the window: one approver.
    app.advance_to(&on(6)).await;
    app.loans_as(&actors.bank_key).report_loan_status(report(&loans[1], "d6", on(6))).await.unwrap();
    let later = file_on(&app, &actors, &loans[1], &on(6), "file-later").await;
    assert!(!later.early_default);
    assert_eq!(later.approvals_required, 1);
    let decided = app
        .settlement_as(&actors.officer)
        .approve_claim(pb::ApproveClaimRequest { approval_date: on(6), ..approve(&later, "l1") })
        .await
        .unwrap()
        .into_inner()
        .claim
        .unwrap();
    assert_eq!((decided.status(), decided.compensation.as_str()), (pb::ClaimStatus::Approved, "700000.00"));
    assert_ledger_verifies(&app, &actors.auditor).await;
}

#[tokio::test]
async fn a_rejection_carries_its_reason_code() {
    let app = spawn_app().await;
    let actors = actors(&app, "nbcb", "100000000.00").await;
    fund_pool(&app, &actors.finance, "10000000.00").await;
    // Enrol both first: a default suspends the bank for new enrolments.
    let loans =
        [enrolled_pure_credit_loan(&app, &actors, 75).await, enrolled_pure_credit_loan(&app, &actors, 76).await];
    for loan in &loans {
        default_loan(&app, &actors, loan).await;
    }
    let claims = [file(&app, &actors, &loans[0]).await, file(&app, &actors, &loans[1]).await];
    let reject = |claim: &pb::Claim, id: &str, code: pb::RejectionReason| pb::RejectClaimRequest {
        request_id: id.into(),
        name: claim.name.clone(),
        reason: "the borrower's revenue was overstated on the application".into(),
        code: code as i32,
    };
    let officer = app.settlement_as(&actors.officer);
    let coded = officer.clone().reject_claim(reject(&claims[0], "x1", pb::RejectionReason::Misrepresentation)).await;
    let coded = coded.unwrap().into_inner().claim.unwrap();
    assert_eq!(
        (coded.status(), coded.rejection_code()),
        (pb::ClaimStatus::Rejected, pb::RejectionReason::Misrepresentation)
    );
    assert_eq!(coded.rejection_reason, "the borrower's revenue was overstated on the application");
    let uncoded = officer.clone().reject_claim(reject(&claims[1], "x2", pb::RejectionReason::Unspecified)).await;
    assert_eq!(uncoded.unwrap().into_inner().claim.unwrap().rejection_code(), pb::RejectionReason::Other);
    let unknown = pb::RejectClaimRequest { code: 99, ..reject(&claims[1], "x3", pb::RejectionReason::Other) };
    let unknown = officer.clone().reject_claim(unknown).await.unwrap_err();
    assert!(field_violations(&unknown).contains_key("code"), "{unknown:?}");
}

/// The claim figures of a position, for comparing dates.
fn claim_figures(p: &pb::PoolPosition) -> (i64, &str, &str, &str, &str) {
    (p.claims_filed, &p.compensation_approved, &p.compensation_paid, &p.shortfall, &p.recoveries)
}

#[tokio::test]
async fn a_position_as_of_a_past_date_counts_the_claims_as_they_stood() {
    let app = spawn_app_on(&days_ago(0)).await;
    let actors = actors(&app, "nbcb", "100000000.00").await;
    fund_pool(&app, &actors.finance, "10000000.00").await;
    let second = issue_key(&app, pb::Role::RiskOfficer, "").await;
    let day = |days: u64| (today() + chrono::Days::new(days)).format("%Y-%m-%d").to_string();
    let as_of = |date: String| {
        let mut pool = app.pool_as(&actors.auditor);
        async move {
            pool.get_pool_position(pb::GetPoolPositionRequest { as_of: date })
                .await
                .unwrap()
                .into_inner()
                .position
                .unwrap()
        }
    };
    let loans =
        [enrolled_pure_credit_loan(&app, &actors, 81).await, enrolled_pure_credit_loan(&app, &actors, 82).await];
    for loan in &loans {
        default_loan(&app, &actors, loan).await;
    }
    // Day 0: claim A, 1,680,000.00, approved by two officers.
    let a = file(&app, &actors, &loans[0]).await;
    app.settlement_as(&actors.officer).approve_claim(approve(&a, "a1")).await.unwrap();
    app.settlement_as(&second).approve_claim(approve(&a, "a2")).await.unwrap();

    // Day 10: the position of day 0, before anything later happens.
    app.advance_to(&day(10)).await;
    let day_0 = as_of(day(0)).await;
    assert_eq!(claim_figures(&day_0), (1, "1680000.00", "0.00", "0.00", "0.00"));
    // Then claim B, approved, and 600,000.00 recovered on A: 600,000 × 70% = 420,000.00 to the pool.
    let b = file_on(&app, &actors, &loans[1], &day(10), "file-b").await;
    for (key, id) in [(&actors.officer, "b1"), (&second, "b2")] {
        let request = pb::ApproveClaimRequest { approval_date: day(10), ..approve(&b, id) };
        app.settlement_as(key).approve_claim(request).await.unwrap();
    }
    app.settlement_as(&actors.bank_key)
        .report_recovery(pb::ReportRecoveryRequest {
            request_id: "recover-a".into(),
            loan: loans[0].clone(),
            amount: "600000.00".into(),
            recovery_date: day(10),
            r#final: false,
        })
        .await
        .unwrap();

    // The next month: the month's statement is confirmed; the 420,000.00 recovery nets
    // against the 3,360,000.00 owed, and 2,940,000.00 stays to be paid.
    let next_month = next_month_start();
    app.advance_to(&next_month).await;
    let period = &day(10)[..7];
    let statement = app
        .settlement_as(&actors.finance)
        .run_settlement(pb::RunSettlementRequest {
            request_id: "run".into(),
            bank: "banks/nbcb".into(),
            period: period.to_owned(),
        })
        .await
        .unwrap()
        .into_inner()
        .statement
        .unwrap();
    app.settlement_as(&actors.finance)
        .confirm_statement(pb::ConfirmStatementRequest {
            request_id: "confirm".into(),
            name: statement.name.clone(),
            content_sha256: statement.content_sha256.clone(),
        })
        .await
        .unwrap();

    // Asked again, day 0 is what it was; each later date has what had happened by then.
    assert_eq!(as_of(day(0)).await, day_0, "later events do not change a past position");
    let before = (today() - chrono::Days::new(1)).format("%Y-%m-%d").to_string();
    assert_eq!(claim_figures(&as_of(before).await), (0, "0.00", "0.00", "0.00", "0.00"));
    let day_10 = as_of(day(10)).await;
    assert_eq!(claim_figures(&day_10), (2, "3360000.00", "0.00", "0.00", "420000.00"));
    let now = position(&app, &actors.auditor).await;
    assert_eq!(claim_figures(&now), (2, "3360000.00", "420000.00", "2940000.00", "420000.00"));
    // The last day of the month is the month's figures, before its statement was confirmed.
    let month_end = (chrono::NaiveDate::parse_from_str(&next_month, "%Y-%m-%d").unwrap() - chrono::Days::new(1))
        .format("%Y-%m-%d")
        .to_string();
    assert_eq!(claim_figures(&as_of(month_end).await), claim_figures(&day_10));
    assert_ledger_verifies(&app, &actors.auditor).await;
}

#[tokio::test]
async fn the_portfolio_cap_holds_a_bank_s_cohort_to_its_rate_of_the_principal_enrolled() {
    let policy = policy_with_portfolio_cap("0.08");
    assert!(policy.contains("portfolio_cap_rate = \"0.08\""));
    let app = spawn_app_with_policy(&policy).await;
    let actors = actors(&app, "nbcb", "100000000.00").await;
    fund_pool(&app, &actors.finance, "10000000.00").await;
    let second = issue_key(&app, pb::Role::RiskOfficer, "").await;
    // Three 3,000,000.00 loans this year: 8% × 9,000,000.00 = 720,000.00 for the cohort.
    let mut loans = Vec::new();
    for serial in [91, 92, 93] {
        loans.push(enrolled_pure_credit_loan(&app, &actors, serial).await);
    }
    for loan in &loans[..2] {
        default_with(&app, &actors, loan, "1000000.00").await;
    }
    let mut decided = Vec::new();
    for (n, loan) in loans[..2].iter().enumerate() {
        let claim = file(&app, &actors, loan).await;
        assert_eq!(claim.requested_compensation, "700000.00");
        app.settlement_as(&actors.officer).approve_claim(approve(&claim, &format!("a{n}"))).await.unwrap();
        let done = app.settlement_as(&second).approve_claim(approve(&claim, &format!("b{n}"))).await.unwrap();
        decided.push(done.into_inner().claim.unwrap());
    }
    let year = chrono::Datelike::year(&today());
    // The first claim fits (700,000.00 of 720,000.00), and the cap left is shown.
    let first = decided[0].breakdown.clone().unwrap();
    assert_eq!(decided[0].compensation, "700000.00");
    assert_eq!((first.cohort_year, first.portfolio_cap_remaining.as_str()), (year, "720000.00"));
    assert_eq!(first.bound_by(), pb::CompensationLimit::Entitlement);
    // The second gets the 20,000.00 the cohort's cap leaves, and says the portfolio cap bound it.
    let next = decided[1].breakdown.clone().unwrap();
    assert_eq!((decided[1].compensation.as_str(), next.portfolio_cap_remaining.as_str()), ("20000.00", "20000.00"));
    assert_eq!((next.cap_cut.as_str(), next.bound_by()), ("680000.00", pb::CompensationLimit::PortfolioCap));
    assert_eq!(next.cap_remaining, "9300000.00", "the annual cap had room");
    assert_eq!(position(&app, &actors.auditor).await.compensation_approved, "720000.00");
    assert_ledger_verifies(&app, &actors.auditor).await;
}

#[tokio::test]
async fn a_bank_s_grade_follows_its_loss_record_and_shows_its_inputs() {
    let app = spawn_app().await;
    let actors = actors(&app, "nbcb", "100000000.00").await;
    fund_pool(&app, &actors.finance, "10000000.00").await;
    let second = issue_key(&app, pb::Role::RiskOfficer, "").await;
    let rating = |key: String| {
        let mut pool = app.pool_as(&key);
        async move {
            let request = pb::GetBankExposureRequest { bank: "banks/nbcb".into() };
            pool.get_bank_exposure(request).await.unwrap().into_inner().exposure.unwrap().rating.unwrap()
        }
    };
    let fresh = rating(actors.officer.clone()).await;
    assert_eq!((fresh.grade(), fresh.reason.as_str()), (pb::BankGrade::A, ""), "nothing lost yet: A");
    assert_eq!((fresh.npl_ratio.as_str(), fresh.payout_ratio.as_str()), ("", ""));
    let mut loans = Vec::new();
    for serial in [111, 112, 113] {
        loans.push(enrolled_pure_credit_loan(&app, &actors, serial).await);
    }
    assert_eq!(rating(actors.officer.clone()).await.grade(), pb::BankGrade::A, "9,000,000.00 covered, all performing");
    default_loan(&app, &actors, &loans[0]).await;
    let claim = file(&app, &actors, &loans[0]).await;
    app.settlement_as(&actors.officer).approve_claim(approve(&claim, "a1")).await.unwrap();
    app.settlement_as(&second).approve_claim(approve(&claim, "a2")).await.unwrap();
    // 2,400,000.00 non-performing of 8,400,000.00 covered: 28.57 %, above C's 5 %.
    let graded = rating(actors.officer.clone()).await;
    assert_eq!(graded.grade(), pb::BankGrade::D);
    assert_eq!(graded.reason, "NPL ratio 28.57% above 5%");
    assert_eq!(graded.npl_ratio, "0.285714");
    // 1,680,000.00 compensation of 9,000,000.00 enrolled.
    assert_eq!((graded.compensation.as_str(), graded.enrolled_principal.as_str()), ("1680000.00", "9000000.00"));
    assert_eq!(graded.payout_ratio, "0.186667");
    assert_eq!((graded.early_defaults, graded.tape_mismatch_rate.as_str()), (1, ""));
    assert_eq!(graded.policy_version, "2025.1");
    // The bank sees its own grade.
    assert_eq!(rating(actors.bank_key.clone()).await, graded);
}

#[tokio::test]
async fn the_decision_and_the_claim_show_the_pool_share_rows_that_applied() {
    // 高新技术企业 starts from 0.55: with the pure-credit and first-loan bonuses 0.75, cut to 0.70.
    let policy = policy_with_annual_cap("10000000.00").replace("version = \"2025.1\"", "version = \"test-class\"").replace(
        "maximum = \"0.70\"\n",
        "maximum = \"0.70\"\n\n[[pool_share.class_base]]\nqualification = \"HIGH_TECH_ENTERPRISE\"\nbase = \"0.55\"\n",
    );
    assert!(policy.contains("[[pool_share.class_base]]"));
    let app = spawn_app_with_policy(&policy).await;
    let actors = actors(&app, "nbcb", "100000000.00").await;
    fund_pool(&app, &actors.finance, "10000000.00").await;
    let loan = enrolled_pure_credit_loan(&app, &actors, 121).await;
    let mut loans = app.loans_as(&actors.officer);
    let loan_record =
        loans.get_loan(pb::GetLoanRequest { name: loan.clone() }).await.unwrap().into_inner().loan.unwrap();
    let application = loans
        .get_application(pb::GetApplicationRequest { name: loan_record.application.clone() })
        .await
        .unwrap()
        .into_inner()
        .application
        .unwrap();
    let decision = application.decision.unwrap();
    let rows: Vec<(&str, &str, &str)> =
        decision.pool_share_rows.iter().map(|r| (r.row.as_str(), r.effect.as_str(), r.share.as_str())).collect();
    assert_eq!(
        rows,
        [
            ("pool_share.class_base.HIGH_TECH_ENTERPRISE", "0.55", "0.55"),
            ("pool_share.pure_credit_bonus", "0.10", "0.65"),
            ("pool_share.first_bank_loan_bonus", "0.10", "0.75"),
            ("pool_share.maximum", "-0.05", "0.70"),
        ]
    );
    assert_eq!((decision.pool_share.as_str(), decision.policy_version.as_str()), ("0.70", "test-class"));
    default_loan(&app, &actors, &loan).await;
    let claim = file(&app, &actors, &loan).await;
    assert_eq!(claim.pool_share_rows, decision.pool_share_rows, "the claim cites the decision's rows");
    assert_eq!(claim.pool_share_policy_version, "test-class");
    assert_eq!(claim.requested_compensation, "1680000.00");
}
