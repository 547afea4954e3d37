//! Issue 10's defects and the business clock, end to end: every date rule reached through
//! the simulated clock (never by waiting or editing rows), money limits, retries scoped to a
//! bank, and calls at once answering as calls one after another do.

use proto::v1 as pb;
use tests::{TestApp, spawn_app, spawn_app_on};
use tonic::Code;

use crate::support::*;

fn date_plus(days: u64) -> String {
    (today() + chrono::Days::new(days)).format("%Y-%m-%d").to_string()
}

async fn server_date(app: &TestApp) -> String {
    app.admin().get_server_info(pb::GetServerInfoRequest {}).await.unwrap().into_inner().business_date
}

#[tokio::test]
async fn the_simulated_clock_moves_forward_only_and_survives_a_restart() {
    let app = spawn_app_on("2025-01-15").await;
    let info = app.admin().get_server_info(pb::GetServerInfoRequest {}).await.unwrap().into_inner();
    assert_eq!((info.clock_mode(), info.business_date.as_str()), (pb::ClockMode::Simulated, "2025-01-15"));
    assert_eq!(info.policy_version, "2025.1");
    app.advance_to("2025-03-01").await;
    let back = app
        .admin()
        .advance_business_date(pb::AdvanceBusinessDateRequest {
            request_id: "back".into(),
            business_date: "2025-02-01".into(),
        })
        .await
        .unwrap_err();
    assert_error(&back, Code::FailedPrecondition, "CLOCK_CANNOT_GO_BACK");
    let auditor = issue_key(&app, pb::Role::Auditor, "").await;
    let denied = app
        .admin_as(Some(&auditor))
        .advance_business_date(pb::AdvanceBusinessDateRequest {
            request_id: "auditor".into(),
            business_date: "2025-04-01".into(),
        })
        .await
        .unwrap_err();
    assert_error(&denied, Code::PermissionDenied, "PERMISSION_DENIED");
    // Any role reads the date; timestamps follow it.
    let info = app.admin_as(Some(&auditor)).get_server_info(pb::GetServerInfoRequest {}).await.unwrap().into_inner();
    assert_eq!(info.business_date, "2025-03-01");
    let bank = create_bank(&app, "nbcb", "1000000.00").await;
    let created = bank.create_time.unwrap();
    let shanghai = chrono::DateTime::from_timestamp(created.seconds, 0).unwrap() + chrono::Duration::hours(8);
    assert_eq!(shanghai.date_naive().to_string(), "2025-03-01");
    let app = app.restart().await;
    assert_eq!(server_date(&app).await, "2025-03-01", "the date is kept in the database");
    // A date in the simulated future is refused like any other future date.
    let future = app
        .pool_as(&issue_key(&app, pb::Role::Finance, "").await)
        .record_interest(pb::RecordInterestRequest {
            request_id: "i".into(),
            amount: "1.00".into(),
            effective_date: "2025-03-02".into(),
            memo: String::new(),
        })
        .await
        .unwrap_err();
    assert_error(&future, Code::InvalidArgument, "INVALID_ARGUMENT");
}

#[tokio::test]
async fn the_system_clock_is_not_moved() {
    let app = spawn_app().await;
    let error = app
        .admin()
        .advance_business_date(pb::AdvanceBusinessDateRequest { request_id: "x".into(), business_date: date_plus(1) })
        .await
        .unwrap_err();
    assert_error(&error, Code::FailedPrecondition, "CLOCK_NOT_SIMULATED");
    let info = app.admin().get_server_info(pb::GetServerInfoRequest {}).await.unwrap().into_inner();
    assert_eq!((info.clock_mode(), info.business_date), (pb::ClockMode::System, days_ago(0)));
}

#[tokio::test]
async fn approvals_expire_and_enrolment_deadlines_pass_on_the_clock() {
    let app = spawn_app_on(&days_ago(0)).await;
    let actors = actors(&app, "nbcb", "100000000.00").await;
    fund_pool(&app, &actors.finance, "10000000.00").await;
    let late = submit(&app, &actors, &local_uscc(301), "500000.00").await;
    let expiring = submit(&app, &actors, &local_uscc(302), "500000.00").await;
    assert_eq!(expiring.status(), pb::ApplicationStatus::Approved);
    let expiry = expiring.decision.as_ref().unwrap().approval_expire_date.clone();
    assert_eq!(expiry, date_plus(90));
    // Disbursed the day after approval, offered for enrolment 31 days later: too late.
    app.advance_to(&date_plus(32)).await;
    let mut request = enrol_request(&late, "LATE-1");
    request.disbursement_date = date_plus(1);
    let refused = app.loans_as(&actors.bank_key).enroll_loan(request).await.unwrap_err();
    assert_error(&refused, Code::FailedPrecondition, "ENROLMENT_DEADLINE_PASSED");
    // 30 days after disbursement is still in time.
    let mut request = enrol_request(&late, "LATE-2");
    request.disbursement_date = date_plus(2);
    app.loans_as(&actors.bank_key).enroll_loan(request).await.unwrap();
    // The day after its expiry date the approval reads EXPIRED and cannot be enrolled.
    app.advance_to(&date_plus(91)).await;
    let read = app
        .loans_as(&actors.bank_key)
        .get_application(pb::GetApplicationRequest { name: expiring.name.clone() })
        .await
        .unwrap()
        .into_inner()
        .application
        .unwrap();
    assert_eq!(read.status(), pb::ApplicationStatus::Expired);
    let mut request = enrol_request(&expiring, "EXP-1");
    request.disbursement_date = date_plus(90);
    let expired = app.loans_as(&actors.bank_key).enroll_loan(request).await.unwrap_err();
    assert_error(&expired, Code::FailedPrecondition, "APPROVAL_EXPIRED");
}

#[tokio::test]
async fn future_effective_dates_are_refused_and_counted_nowhere() {
    let app = spawn_app().await;
    let actors = actors(&app, "nbcb", "100000000.00").await;
    let mut pool = app.pool_as(&actors.finance);
    let tomorrow = date_plus(10);
    let commit = pool
        .commit_contribution(pb::CommitContributionRequest {
            request_id: "c".into(),
            contributor: pb::ContributorKind::CityBureau as i32,
            bank: String::new(),
            amount: "1000000.00".into(),
            effective_date: tomorrow.clone(),
            memo: String::new(),
        })
        .await
        .unwrap_err();
    assert_error(&commit, Code::InvalidArgument, "INVALID_ARGUMENT");
    assert!(field_violations(&commit).contains_key("effective_date"));
    let receive = pool
        .receive_contribution(pb::ReceiveContributionRequest {
            request_id: "r".into(),
            contributor: pb::ContributorKind::CityBureau as i32,
            bank: String::new(),
            amount: "1000000.00".into(),
            effective_date: tomorrow.clone(),
            memo: String::new(),
        })
        .await
        .unwrap_err();
    assert!(field_violations(&receive).contains_key("effective_date"));
    let position = app
        .pool_as(&actors.auditor)
        .get_pool_position(pb::GetPoolPositionRequest { as_of: tomorrow })
        .await
        .unwrap_err();
    assert!(field_violations(&position).contains_key("as_of"), "{position:?}");
    assert_eq!(crate::support::position(&app, &actors.auditor).await.committed_capital, "0.00");
}

#[tokio::test]
async fn the_largest_amount_posted_many_times_keeps_the_books_readable() {
    let app = spawn_app().await;
    let actors = actors(&app, "nbcb", "100000000.00").await;
    let mut pool = app.pool_as(&actors.finance);
    let commit = |id: String, amount: &str| pb::CommitContributionRequest {
        request_id: id,
        contributor: pb::ContributorKind::DistrictBureau as i32,
        bank: String::new(),
        amount: amount.to_owned(),
        effective_date: days_ago(0),
        memo: String::new(),
    };
    let too_large = pool.commit_contribution(commit("big".into(), "92233720368547758.07")).await.unwrap_err();
    assert!(field_violations(&too_large).contains_key("amount"), "{too_large:?}");
    let over = pool.commit_contribution(commit("over".into(), "10000000000.01")).await.unwrap_err();
    assert!(field_violations(&over).contains_key("amount"));
    let mut last = String::new();
    for n in 0..25 {
        last = pool
            .commit_contribution(commit(format!("max-{n}"), "10000000000.00"))
            .await
            .unwrap()
            .into_inner()
            .entry
            .unwrap()
            .name;
    }
    let position = crate::support::position(&app, &actors.auditor).await;
    assert_eq!(position.committed_capital, "250000000000.00");
    assert_ledger_verifies(&app, &actors.auditor).await;
    // The mistake can be corrected through the API.
    pool.reverse_entry(pb::ReverseEntryRequest {
        request_id: "undo".into(),
        entry: last,
        effective_date: days_ago(0),
        reason: "typed the maximum".into(),
    })
    .await
    .unwrap();
    assert_eq!(crate::support::position(&app, &actors.auditor).await.committed_capital, "240000000000.00");
}

#[tokio::test]
async fn a_reversal_is_not_reversed_and_the_refusal_says_so() {
    let app = spawn_app().await;
    let actors = actors(&app, "nbcb", "100000000.00").await;
    fund_pool(&app, &actors.finance, "100.00").await;
    let mut pool = app.pool_as(&actors.finance);
    let entry = pool
        .record_interest(pb::RecordInterestRequest {
            request_id: "i".into(),
            amount: "5.00".into(),
            effective_date: days_ago(0),
            memo: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .entry
        .unwrap();
    let reversal = pool
        .reverse_entry(pb::ReverseEntryRequest {
            request_id: "r1".into(),
            entry: entry.name.clone(),
            effective_date: days_ago(0),
            reason: "wrong month".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .reversal
        .unwrap();
    let again = pool
        .reverse_entry(pb::ReverseEntryRequest {
            request_id: "r2".into(),
            entry: reversal.name.clone(),
            effective_date: days_ago(0),
            reason: "undo the undo".into(),
        })
        .await
        .unwrap_err();
    assert_error(&again, Code::FailedPrecondition, "ENTRY_IS_A_REVERSAL");
    assert!(
        again.message().contains("itself a reversal") && again.message().contains(&entry.name),
        "{}",
        again.message()
    );
}

#[tokio::test]
async fn a_retry_through_a_rotated_bank_key_is_the_same_call() {
    let app = spawn_app().await;
    let actors = actors(&app, "nbcb", "100000000.00").await;
    let rotated = issue_key(&app, pb::Role::Bank, "banks/nbcb").await;
    create_bank(&app, "other", "100000000.00").await;
    let other = issue_key(&app, pb::Role::Bank, "banks/other").await;
    let request = |bank: &str| pb::SubmitApplicationRequest {
        request_id: "same-id".into(),
        bank: format!("banks/{bank}"),
        enterprise: Some(good_enterprise(&local_uscc(401))),
        terms: Some(good_terms("500000.00")),
    };
    let first = app.loans_as(&actors.bank_key).submit_application(request("nbcb")).await.unwrap().into_inner();
    let retry = app.loans_as(&rotated).submit_application(request("nbcb")).await.unwrap().into_inner();
    assert_eq!(first.application.as_ref().unwrap().name, retry.application.as_ref().unwrap().name);
    // Another bank's call with the same request id is its own, and sees nothing of the first.
    let theirs = app.loans_as(&other).submit_application(request("other")).await.unwrap().into_inner();
    assert_ne!(theirs.application.as_ref().unwrap().name, first.application.as_ref().unwrap().name);
    let listed = app
        .loans_as(&actors.bank_key)
        .list_applications(pb::ListApplicationsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .applications;
    assert_eq!(listed.len(), 1, "one application, not two");
}

#[tokio::test]
async fn settlement_runs_at_once_answer_like_runs_one_after_another() {
    let app = spawn_app().await;
    let actors = actors(&app, "nbcb", "100000000.00").await;
    let period = today().format("%Y-%m").to_string();
    let calls = (0..6).map(|n| {
        let mut client = app.settlement_as(&actors.finance);
        let request = pb::RunSettlementRequest {
            request_id: format!("run-{n}"),
            bank: "banks/nbcb".into(),
            period: period.clone(),
        };
        async move { client.run_settlement(request).await }
    });
    let calls: Vec<_> = calls.map(tokio::spawn).collect();
    let mut answers = Vec::new();
    for call in calls {
        answers.push(call.await.unwrap());
    }
    let names: std::collections::BTreeSet<String> =
        answers.into_iter().map(|a| a.unwrap().into_inner().statement.unwrap().name).collect();
    assert_eq!(names.len(), 1, "every run answers with the one statement: {names:?}");
}

#[tokio::test]
async fn a_past_month_s_statement_is_as_of_its_last_day() {
    let app = spawn_app_on("2025-09-10").await;
    let actors = actors(&app, "nbcb", "100000000.00").await;
    let mut pool = app.pool_as(&actors.finance);
    pool.commit_contribution(pb::CommitContributionRequest {
        request_id: "commit".into(),
        contributor: pb::ContributorKind::Bank as i32,
        bank: "banks/nbcb".into(),
        amount: "100000.00".into(),
        effective_date: "2025-09-10".into(),
        memo: String::new(),
    })
    .await
    .unwrap();
    app.advance_to("2025-10-15").await;
    pool.receive_contribution(pb::ReceiveContributionRequest {
        request_id: "receive".into(),
        contributor: pb::ContributorKind::Bank as i32,
        bank: "banks/nbcb".into(),
        amount: "40000.00".into(),
        effective_date: "2025-10-15".into(),
        memo: String::new(),
    })
    .await
    .unwrap();
    app.advance_to("2025-12-02").await;
    let september = app
        .settlement_as(&actors.finance)
        .run_settlement(pb::RunSettlementRequest {
            request_id: "s".into(),
            bank: "banks/nbcb".into(),
            period: "2025-09".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .statement
        .unwrap();
    assert_eq!(september.contributions_due_total, "100000.00", "due on 30 September, whatever was paid since");
    assert!(!september.preview);
    let october = app
        .settlement_as(&actors.finance)
        .run_settlement(pb::RunSettlementRequest {
            request_id: "o".into(),
            bank: "banks/nbcb".into(),
            period: "2025-10".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .statement
        .unwrap();
    assert_eq!(october.contributions_due_total, "60000.00");
    // September cannot be confirmed any more as it stands: 40,000.00 of it was paid since.
    let stale = app
        .settlement_as(&actors.finance)
        .confirm_statement(pb::ConfirmStatementRequest {
            request_id: "c9".into(),
            name: september.name.clone(),
            content_sha256: september.content_sha256.clone(),
        })
        .await
        .unwrap_err();
    assert_error(&stale, Code::FailedPrecondition, "STATEMENT_ITEM_SETTLED_SINCE");
    // October is confirmed, and the bank's transfer is recorded against it.
    let confirmed = app
        .settlement_as(&actors.finance)
        .confirm_statement(pb::ConfirmStatementRequest {
            request_id: "c10".into(),
            name: october.name.clone(),
            content_sha256: october.content_sha256.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .statement
        .unwrap();
    assert_eq!(
        (confirmed.direction(), confirmed.amount_due.as_str()),
        (pb::SettlementDirection::BankPaysPool, "60000.00")
    );
    let too_early = app
        .settlement_as(&actors.finance)
        .record_statement_payment(pb::RecordStatementPaymentRequest {
            request_id: "p0".into(),
            statement: october.name.clone(),
            amount: "60000.00".into(),
            value_date: "2025-10-31".into(),
            reference: "NBCB-1".into(),
        })
        .await
        .unwrap_err();
    assert!(field_violations(&too_early).contains_key("value_date"));
    let above = app
        .settlement_as(&actors.finance)
        .record_statement_payment(pb::RecordStatementPaymentRequest {
            request_id: "p1".into(),
            statement: october.name.clone(),
            amount: "60000.01".into(),
            value_date: "2025-12-01".into(),
            reference: "NBCB-1".into(),
        })
        .await
        .unwrap_err();
    assert_error(&above, Code::FailedPrecondition, "PAYMENT_ABOVE_OUTSTANDING");
    let paid = app
        .settlement_as(&actors.finance)
        .record_statement_payment(pb::RecordStatementPaymentRequest {
            request_id: "p2".into(),
            statement: october.name.clone(),
            amount: "60000.00".into(),
            value_date: "2025-12-01".into(),
            reference: "NBCB-1".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(paid.statement.unwrap().status(), pb::StatementStatus::Paid);
    let position = crate::support::position(&app, &actors.auditor).await;
    assert_eq!((position.escrow_cash.as_str(), position.receivables.as_str()), ("100000.00", "0.00"));
    // The cash counts from its value date: on 30 November only the October transfer was there.
    let november = app
        .pool_as(&actors.auditor)
        .get_pool_position(pb::GetPoolPositionRequest { as_of: "2025-11-30".into() })
        .await
        .unwrap()
        .into_inner()
        .position
        .unwrap();
    assert_eq!(november.escrow_cash, "40000.00");
    assert_ledger_verifies(&app, &actors.auditor).await;
}

#[tokio::test]
async fn a_loan_past_the_default_trigger_counts_as_non_performing() {
    let app = spawn_app().await;
    let actors = actors(&app, "nbcb", "100000000.00").await;
    fund_pool(&app, &actors.finance, "10000000.00").await;
    let performing = submit(&app, &actors, &local_uscc(501), "1500000.00").await;
    app.loans_as(&actors.bank_key).enroll_loan(enrol_request(&performing, "P-1")).await.unwrap();
    let late = submit(&app, &actors, &local_uscc(502), "500000.00").await;
    let loan = app
        .loans_as(&actors.bank_key)
        .enroll_loan(enrol_request(&late, "P-2"))
        .await
        .unwrap()
        .into_inner()
        .loan
        .unwrap();
    let reported = app
        .loans_as(&actors.bank_key)
        .report_loan_status(pb::ReportLoanStatusRequest {
            request_id: "r".into(),
            loan: loan.name.clone(),
            report_date: days_ago(0),
            outstanding_principal: "500000.00".into(),
            days_past_due: 95,
            classification: pb::LoanClassification::SpecialMention as i32,
            repaid: false,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .loan
        .unwrap();
    assert_eq!(reported.status(), pb::LoanStatus::Defaulted);
    let exposure = app
        .pool_as(&actors.officer)
        .get_bank_exposure(pb::GetBankExposureRequest { bank: "banks/nbcb".into() })
        .await
        .unwrap()
        .into_inner()
        .exposure
        .unwrap();
    assert_eq!(exposure.npl_ratio, "0.250000", "500,000.00 of 2,000,000.00");
    assert_eq!(crate::support::position(&app, &actors.auditor).await.npl_ratio, "0.250000");
    assert_eq!(exposure.status(), pb::BankStatus::Suspended, "above 5 % the bank is suspended");
    assert_ledger_verifies(&app, &actors.auditor).await;
}
