//! Applications, decisions, review, enrolment and status reports, end to end.

use proto::v1 as pb;
use tests::spawn_app;
use tonic::Code;

use crate::support::*;

#[tokio::test]
async fn a_good_application_is_approved_with_its_decision() {
    let app = spawn_app().await;
    let actors = actors(&app, "nbcb", "100000000.00").await;
    let application = submit(&app, &actors, &local_uscc(1), "1000000.00").await;
    assert_eq!(application.status(), pb::ApplicationStatus::Approved);
    let decision = application.decision.clone().unwrap();
    assert_eq!(decision.outcome(), pb::DecisionOutcome::Approved);
    assert!(decision.violations.is_empty(), "{:?}", decision.violations);
    assert_eq!(decision.score, 900);
    assert_eq!(decision.grade(), pb::Grade::Aaa);
    let modules: Vec<(String, i32)> = decision.modules.iter().map(|m| (m.module.clone(), m.points)).collect();
    assert_eq!(
        modules,
        [("management".into(), 180), ("technology".into(), 270), ("market".into(), 200), ("finance".into(), 250)]
    );
    assert_eq!(decision.pool_share, "0.50");
    assert_eq!(decision.policy_version, "2025.1");
    assert_eq!(decision.approval_expire_date, (today() + chrono::Days::new(90)).format("%Y-%m-%d").to_string());

    let fetched = app
        .loans_as(&actors.officer)
        .get_application(pb::GetApplicationRequest { name: application.name.clone() })
        .await
        .unwrap()
        .into_inner()
        .application
        .unwrap();
    assert_eq!(fetched, application);

    // Another bank learns nothing about it.
    create_bank(&app, "other", "1000.00").await;
    let other_key = issue_key(&app, pb::Role::Bank, "banks/other").await;
    let hidden = app
        .loans_as(&other_key)
        .get_application(pb::GetApplicationRequest { name: application.name.clone() })
        .await
        .unwrap_err();
    assert_error(&hidden, Code::NotFound, "NOT_FOUND");
    let listed =
        app.loans_as(&other_key).list_applications(pb::ListApplicationsRequest::default()).await.unwrap().into_inner();
    assert!(listed.applications.is_empty());
}

#[tokio::test]
async fn a_rejection_lists_every_failed_rule_with_its_reason_code() {
    let app = spawn_app().await;
    let actors = actors(&app, "nbcb", "100000000.00").await;
    let mut enterprise = good_enterprise(&uscc_in("330100", 7));
    enterprise.industry_section = "K".into();
    enterprise.serious_dishonesty_record = true;
    let mut terms = good_terms("1000000.00");
    terms.annual_rate = "0.0401".into();
    terms.purpose = pb::LoanPurpose::Securities as i32;
    let application = app
        .loans_as(&actors.bank_key)
        .submit_application(pb::SubmitApplicationRequest {
            request_id: "reject-me".into(),
            bank: "banks/nbcb".into(),
            enterprise: Some(enterprise),
            terms: Some(terms),
        })
        .await
        .unwrap()
        .into_inner()
        .application
        .unwrap();
    assert_eq!(application.status(), pb::ApplicationStatus::Rejected);
    let decision = application.decision.unwrap();
    let reasons: Vec<&str> = decision.violations.iter().map(|v| v.reason.as_str()).collect();
    assert_eq!(
        reasons,
        [
            "ENTERPRISE_NOT_LOCAL",
            "INDUSTRY_EXCLUDED",
            "SERIOUS_DISHONESTY_RECORD",
            "RATE_ABOVE_CAP",
            "PURPOSE_EXCLUDED"
        ]
    );
    assert!(decision.violations.iter().all(|v| !v.message.is_empty() && !v.field.is_empty()));
    assert_eq!(decision.approval_expire_date, "");
}

#[tokio::test]
async fn a_referred_application_is_decided_by_a_risk_officer() {
    let app = spawn_app().await;
    let actors = actors(&app, "nbcb", "100000000.00").await;
    let application = submit(&app, &actors, &local_uscc(2), "3000000.00").await;
    assert_eq!(application.status(), pb::ApplicationStatus::Referred);
    let reasons: Vec<String> =
        application.decision.as_ref().unwrap().violations.iter().map(|v| v.reason.clone()).collect();
    assert_eq!(reasons, ["AMOUNT_ABOVE_AUTO_APPROVAL_LIMIT"]);

    let review = pb::ReviewApplicationRequest {
        request_id: "review-1".into(),
        name: application.name.clone(),
        verdict: pb::ReviewVerdict::Approve as i32,
        reason: "strong order book".into(),
    };
    let by_bank = app.loans_as(&actors.bank_key).review_application(review.clone()).await.unwrap_err();
    assert_error(&by_bank, Code::PermissionDenied, "PERMISSION_DENIED");
    let missing_reason = app
        .loans_as(&actors.officer)
        .review_application(pb::ReviewApplicationRequest { reason: " ".into(), ..review.clone() })
        .await
        .unwrap_err();
    assert!(field_violations(&missing_reason).contains_key("reason"));

    let reviewed = app.loans_as(&actors.officer).review_application(review.clone()).await.unwrap().into_inner();
    let reviewed = reviewed.application.unwrap();
    assert_eq!(reviewed.status(), pb::ApplicationStatus::Approved);
    assert_eq!(reviewed.review.as_ref().unwrap().reason, "strong order book");
    assert!(!reviewed.decision.unwrap().approval_expire_date.is_empty());
    let again = app
        .loans_as(&actors.officer)
        .review_application(pb::ReviewApplicationRequest { request_id: "review-2".into(), ..review })
        .await
        .unwrap_err();
    assert_error(&again, Code::FailedPrecondition, "APPLICATION_NOT_REFERRED");
}

#[tokio::test]
async fn bad_applications_name_every_field_and_store_nothing() {
    let app = spawn_app().await;
    let actors = actors(&app, "nbcb", "100000000.00").await;
    let mut client = app.loans_as(&actors.bank_key);
    let mut enterprise = good_enterprise("91330212MA2H000018");
    enterprise.qualifications[0].valid_until = "2000-01-01".into();
    enterprise.qualifications[1].qualification = 99;
    enterprise.annual_revenue = "12.345".into();
    let mut terms = good_terms("0");
    terms.term_months = 0;
    terms.collateral_type = 0;
    let error = client
        .submit_application(pb::SubmitApplicationRequest {
            request_id: "bad".into(),
            bank: "banks/nbcb".into(),
            enterprise: Some(enterprise),
            terms: Some(terms),
        })
        .await
        .unwrap_err();
    assert_error(&error, Code::InvalidArgument, "INVALID_ARGUMENT");
    let fields = field_violations(&error);
    let mut names: Vec<&str> = fields.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "enterprise.annual_revenue",
            "enterprise.qualifications[0].valid_until",
            "enterprise.qualifications[1].qualification",
            "enterprise.uscc",
            "terms.amount",
            "terms.collateral_type",
            "terms.term_months",
        ]
    );
    assert_eq!(fields["enterprise.uscc"], "has check character '8', expected '9'");
    assert_eq!(fields["enterprise.annual_revenue"], "has more than two fraction digits");

    let missing = client
        .submit_application(pb::SubmitApplicationRequest {
            request_id: "missing".into(),
            bank: "banks/nbcb".into(),
            enterprise: None,
            terms: Some(good_terms("1000000.00")),
        })
        .await
        .unwrap_err();
    assert_eq!(field_violations(&missing).get("enterprise").map(String::as_str), Some("is required"));

    let listed = client.list_applications(pb::ListApplicationsRequest::default()).await.unwrap().into_inner();
    assert!(listed.applications.is_empty(), "nothing stored");
}

#[tokio::test]
async fn enrolment_takes_on_exposure_and_updates_the_position() {
    let app = spawn_app().await;
    let actors = actors(&app, "nbcb", "100000000.00").await;
    fund_pool(&app, &actors.finance, "1000000.00").await;
    let application = submit(&app, &actors, &local_uscc(3), "1000000.00").await;
    let loan = app
        .loans_as(&actors.bank_key)
        .enroll_loan(enrol_request(&application, "NB-2025-0001"))
        .await
        .unwrap()
        .into_inner()
        .loan
        .unwrap();
    assert_eq!(loan.status(), pb::LoanStatus::Active);
    assert_eq!(loan.outstanding_principal, "1000000.00");
    assert_eq!(loan.pool_share, "0.50");
    assert_eq!(loan.bank_loan_number, "NB-2025-0001");
    let fetched = app
        .loans_as(&actors.officer)
        .get_application(pb::GetApplicationRequest { name: application.name.clone() })
        .await
        .unwrap()
        .into_inner()
        .application
        .unwrap();
    assert_eq!(fetched.status(), pb::ApplicationStatus::Enrolled);
    assert_eq!(fetched.loan, loan.name);

    let position = position(&app, &actors.officer).await;
    assert_eq!(position.net_pool_assets, "1000000.00");
    assert_eq!(position.covered_outstanding, "1000000.00");
    assert_eq!(position.pool_exposure, "500000.00");
    assert_eq!(position.leverage, "1.000000");
    assert_eq!(position.headroom, "11000000.00");
    let bank = app.admin().get_bank(pb::GetBankRequest { name: "banks/nbcb".into() }).await.unwrap().into_inner();
    assert_eq!(bank.bank.unwrap().quota_used, "1000000.00");

    // Enrolling the same application again is refused; so is a taken bank loan number.
    let twice = app
        .loans_as(&actors.bank_key)
        .enroll_loan(pb::EnrollLoanRequest { request_id: "again".into(), ..enrol_request(&application, "NB-2") })
        .await
        .unwrap_err();
    assert_error(&twice, Code::FailedPrecondition, "APPLICATION_ALREADY_ENROLLED");
    let second = submit(&app, &actors, &local_uscc(4), "100000.00").await;
    let taken = app
        .loans_as(&actors.bank_key)
        .enroll_loan(pb::EnrollLoanRequest { request_id: "second".into(), ..enrol_request(&second, "NB-2025-0001") })
        .await
        .unwrap_err();
    assert_error(&taken, Code::AlreadyExists, "ALREADY_EXISTS");
    assert_ledger_verifies(&app, &actors.auditor).await;
}

#[tokio::test]
async fn enrolment_refusals_name_the_rule_and_the_numbers() {
    let app = spawn_app().await;
    let actors = actors(&app, "nbcb", "1500000.00").await;
    let application = submit(&app, &actors, &local_uscc(5), "1000000.00").await;
    let mut loans = app.loans_as(&actors.bank_key);

    // No capital yet: no capacity at any leverage.
    let unfunded = loans.enroll_loan(enrol_request(&application, "L1")).await.unwrap_err();
    assert_error(&unfunded, Code::FailedPrecondition, "LEVERAGE_LIMIT_EXCEEDED");
    assert_eq!(unfunded.get_details_error_info_metadata("net_pool_assets"), Some("0.00".into()));
    fund_pool(&app, &actors.finance, "1000000.00").await;

    let cases: Vec<(&str, pb::EnrollLoanRequest, &str)> = vec![
        (
            "above the approved amount",
            pb::EnrollLoanRequest { disbursed_amount: "1000000.01".into(), ..enrol_request(&application, "L2") },
            "DISBURSED_ABOVE_APPROVED",
        ),
        (
            "rate above LPR + 100 bp",
            pb::EnrollLoanRequest { annual_rate: "0.0401".into(), ..enrol_request(&application, "L3") },
            "RATE_ABOVE_CAP",
        ),
        (
            "31 days after disbursement",
            pb::EnrollLoanRequest { disbursement_date: days_ago(31), ..enrol_request(&application, "L4") },
            "ENROLMENT_DEADLINE_PASSED",
        ),
    ];
    for (name, request, reason) in cases {
        let error = loans.enroll_loan(request).await.unwrap_err();
        assert_error(&error, Code::FailedPrecondition, reason);
        assert!(!error.message().is_empty(), "{name}");
    }
    // Exactly 30 days after disbursement and exactly LPR + 100 bp pass.
    let on_the_edge = pb::EnrollLoanRequest {
        disbursement_date: days_ago(30),
        annual_rate: "0.04".into(),
        ..enrol_request(&application, "L5")
    };
    loans.enroll_loan(on_the_edge).await.expect("on the deadline and the rate cap");

    let big = submit(&app, &actors, &local_uscc(6), "600000.00").await;
    let quota = loans
        .enroll_loan(pb::EnrollLoanRequest { disbursement_date: days_ago(0), ..enrol_request(&big, "L7") })
        .await
        .unwrap_err();
    assert_error(&quota, Code::FailedPrecondition, "BANK_QUOTA_EXCEEDED");
    assert_eq!(quota.get_details_error_info_metadata("quota_used"), Some("1000000.00".into()));

    let bad = loans
        .enroll_loan(pb::EnrollLoanRequest {
            disbursed_amount: "-1".into(),
            maturity_date: days_ago(5),
            disbursement_date: days_ago(0),
            ..enrol_request(&big, "L8")
        })
        .await
        .unwrap_err();
    let fields = field_violations(&bad);
    assert!(fields.contains_key("disbursed_amount") && fields.contains_key("maturity_date"), "{fields:?}");
    assert_ledger_verifies(&app, &actors.auditor).await;
}

/// A maturity past the approved term, and any enrolment while the bank is suspended, are
/// refused with the rule and its figures; lifting the suspension lets the loan in.
#[tokio::test]
async fn a_suspended_bank_and_a_maturity_past_the_term_are_refused_at_enrolment() {
    let app = spawn_app().await;
    let actors = actors(&app, "nbcb", "100000000.00").await;
    fund_pool(&app, &actors.finance, "1000000.00").await;
    let application = submit(&app, &actors, &local_uscc(7), "1000000.00").await;
    let mut loans = app.loans_as(&actors.bank_key);

    // Disbursed yesterday for 12 months: the latest maturity is a year from yesterday.
    let latest = (today() - chrono::Days::new(1)).checked_add_months(chrono::Months::new(12)).unwrap();
    let past_term = pb::EnrollLoanRequest {
        maturity_date: (latest + chrono::Days::new(1)).to_string(),
        ..enrol_request(&application, "M1")
    };
    let refused = loans.enroll_loan(past_term).await.unwrap_err();
    assert_error(&refused, Code::FailedPrecondition, "MATURITY_BEYOND_TERM");
    assert!(refused.message().contains(&format!("approved term of 12 months ({latest})")), "{}", refused.message());

    let set_status = |status: pb::BankStatus, id: &str| pb::SetBankStatusRequest {
        request_id: id.to_owned(),
        bank: "banks/nbcb".into(),
        status: status as i32,
        reason: "documents overdue".into(),
    };
    let mut pool = app.pool_as(&actors.officer);
    pool.set_bank_status(set_status(pb::BankStatus::Suspended, "suspend")).await.unwrap();
    let suspended = loans
        .enroll_loan(pb::EnrollLoanRequest { maturity_date: latest.to_string(), ..enrol_request(&application, "M2") })
        .await
        .unwrap_err();
    assert_error(&suspended, Code::FailedPrecondition, "BANK_SUSPENDED");
    assert_eq!(suspended.message(), "bank nbcb is suspended: documents overdue");
    assert_eq!(position(&app, &actors.officer).await.covered_outstanding, "0.00", "nothing was enrolled");

    pool.set_bank_status(set_status(pb::BankStatus::Active, "lift")).await.unwrap();
    let loan = loans
        .enroll_loan(pb::EnrollLoanRequest { maturity_date: latest.to_string(), ..enrol_request(&application, "M3") })
        .await
        .expect("on the last day of the term, once the bank is active again")
        .into_inner()
        .loan
        .unwrap();
    assert_eq!(loan.maturity_date, latest.to_string());
}

#[tokio::test]
async fn status_reports_move_loans_and_close_them() {
    let app = spawn_app().await;
    let actors = actors(&app, "nbcb", "100000000.00").await;
    fund_pool(&app, &actors.finance, "1000000.00").await;
    let application = submit(&app, &actors, &local_uscc(8), "1000000.00").await;
    let mut loans = app.loans_as(&actors.bank_key);
    let loan = loans
        .enroll_loan(pb::EnrollLoanRequest { disbursement_date: days_ago(0), ..enrol_request(&application, "R1") })
        .await
        .unwrap()
        .into_inner()
        .loan
        .unwrap();
    let report = |id: &str, outstanding: &str, days: i32, class: pb::LoanClassification, repaid: bool| {
        pb::ReportLoanStatusRequest {
            request_id: id.to_owned(),
            loan: loan.name.clone(),
            report_date: days_ago(0),
            outstanding_principal: outstanding.to_owned(),
            days_past_due: days,
            classification: class as i32,
            repaid,
            ..Default::default()
        }
    };
    let overdue = loans
        .report_loan_status(report("r1", "900000.00", 10, pb::LoanClassification::Normal, false))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(overdue.previous_status(), pb::LoanStatus::Active);
    assert_eq!(overdue.loan.unwrap().status(), pb::LoanStatus::Overdue);
    let up = loans
        .report_loan_status(report("r2", "900000.01", 0, pb::LoanClassification::Normal, false))
        .await
        .unwrap_err();
    assert_error(&up, Code::FailedPrecondition, "OUTSTANDING_INCREASED");
    let back = pb::ReportLoanStatusRequest {
        report_date: days_ago(1),
        ..report("r3", "800000.00", 0, pb::LoanClassification::Normal, false)
    };
    let back = loans.report_loan_status(back).await.unwrap_err();
    assert_error(&back, Code::FailedPrecondition, "REPORT_DATE_BEFORE_PREVIOUS");
    let position_before = position(&app, &actors.officer).await;
    assert_eq!(position_before.covered_outstanding, "900000.00");
    assert_eq!(position_before.pool_exposure, "450000.00");

    let defaulted = loans
        .report_loan_status(report("r4", "800000.00", 95, pb::LoanClassification::Substandard, false))
        .await
        .unwrap()
        .into_inner()
        .loan
        .unwrap();
    assert_eq!(defaulted.status(), pb::LoanStatus::Defaulted);
    assert_eq!(defaulted.default_date, days_ago(0));
    assert_eq!(defaulted.principal_at_default, "800000.00");
    // All of the bank's book is non-performing now: it is suspended automatically.
    let exposure = app
        .pool_as(&actors.officer)
        .get_bank_exposure(pb::GetBankExposureRequest { bank: "banks/nbcb".into() })
        .await
        .unwrap()
        .into_inner()
        .exposure
        .unwrap();
    assert_eq!(exposure.status(), pb::BankStatus::Suspended);
    assert_eq!(exposure.npl_ratio, "1.000000");

    let repaid = loans
        .report_loan_status(report("r5", "0.00", 0, pb::LoanClassification::Normal, true))
        .await
        .unwrap()
        .into_inner()
        .loan
        .unwrap();
    assert_eq!(repaid.status(), pb::LoanStatus::Repaid);
    let position_after = position(&app, &actors.officer).await;
    assert_eq!(position_after.covered_outstanding, "0.00");
    assert_eq!(position_after.headroom, "12000000.00");
    let closed =
        loans.report_loan_status(report("r6", "0.00", 0, pb::LoanClassification::Normal, true)).await.unwrap_err();
    assert_error(&closed, Code::FailedPrecondition, "LOAN_NOT_REPORTABLE");
    let unknown = loans
        .report_loan_status(pb::ReportLoanStatusRequest {
            loan: "loans/999".into(),
            ..report("r7", "1.00", 0, pb::LoanClassification::Normal, false)
        })
        .await
        .unwrap_err();
    assert_error(&unknown, Code::NotFound, "NOT_FOUND");
    assert_ledger_verifies(&app, &actors.auditor).await;
}

#[tokio::test]
async fn a_performing_loan_is_renewed_without_principal_repayment_within_the_policy() {
    let app = spawn_app().await;
    let actors = actors(&app, "nbcb", "100000000.00").await;
    fund_pool(&app, &actors.finance, "10000000.00").await;
    let first = submit(&app, &actors, &local_uscc(131), "1000000.00").await;
    let second = submit(&app, &actors, &local_uscc(132), "1000000.00").await;
    let loans = [enrol(&app, &actors, &first, "RN-1").await, enrol(&app, &actors, &second, "RN-2").await];
    let maturity = chrono::NaiveDate::parse_from_str(&loans[0].maturity_date, "%Y-%m-%d").unwrap();
    let plus = |months: u32, days: u64| {
        (maturity + chrono::Months::new(months) + chrono::Days::new(days)).format("%Y-%m-%d").to_string()
    };
    let renew = |loan: &pb::Loan, id: &str, outstanding: &str, to: String| pb::ReportLoanStatusRequest {
        request_id: id.into(),
        loan: loan.name.clone(),
        report_date: days_ago(0),
        outstanding_principal: outstanding.into(),
        days_past_due: 0,
        classification: pb::LoanClassification::Normal as i32,
        repaid: false,
        renewed_maturity_date: to,
    };
    let bank = app.loans_as(&actors.bank_key);
    let before = position(&app, &actors.officer).await;

    // Refusals name the rule and change nothing.
    let far = bank.clone().report_loan_status(renew(&loans[0], "far", "1000000.00", plus(12, 1))).await.unwrap_err();
    assert_error(&far, Code::FailedPrecondition, "RENEWAL_TOO_FAR");
    assert!(far.message().contains(&format!("12 months past the maturity {maturity}")), "{}", far.message());
    let repaying = bank.clone().report_loan_status(renew(&loans[0], "pay", "900000.00", plus(6, 0))).await.unwrap_err();
    assert_error(&repaying, Code::FailedPrecondition, "RENEWAL_CHANGES_PRINCIPAL");
    let bad = bank.clone().report_loan_status(renew(&loans[0], "bad", "1000000.00", "next year".into())).await;
    assert!(field_violations(&bad.unwrap_err()).contains_key("renewed_maturity_date"));
    let unchanged = bank.clone().get_loan(pb::GetLoanRequest { name: loans[0].name.clone() }).await.unwrap();
    let unchanged = unchanged.into_inner().loan.unwrap();
    assert_eq!((unchanged.maturity_date.as_str(), unchanged.renewals), (loans[0].maturity_date.as_str(), 0));

    // Twelve months to the day is within the policy: cover continues on the renewed loan.
    let renewed = bank.clone().report_loan_status(renew(&loans[0], "renew", "1000000.00", plus(12, 0))).await;
    let renewed = renewed.unwrap().into_inner().loan.unwrap();
    assert_eq!(renewed.status(), pb::LoanStatus::Active);
    assert_eq!((renewed.maturity_date, renewed.renewals), (plus(12, 0), 1));
    assert_eq!(renewed.original_maturity_date, loans[0].maturity_date);
    let after = position(&app, &actors.officer).await;
    assert_eq!(after.covered_outstanding, before.covered_outstanding, "nothing repaid, nothing leaves cover");
    // The policy allows one renewal.
    let again = bank.clone().report_loan_status(renew(&loans[0], "again", "1000000.00", plus(12, 0))).await;
    assert_error(&again.unwrap_err(), Code::FailedPrecondition, "RENEWALS_EXHAUSTED");
    // An overdue loan is not renewed.
    let late = pb::ReportLoanStatusRequest { days_past_due: 10, ..renew(&loans[1], "late", "1000000.00", plus(3, 0)) };
    assert_error(
        &bank.clone().report_loan_status(late).await.unwrap_err(),
        Code::FailedPrecondition,
        "RENEWAL_NOT_PERFORMING",
    );
    assert_ledger_verifies(&app, &actors.auditor).await;
}
