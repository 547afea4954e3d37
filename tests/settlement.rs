//! Settlement statements end to end, with DOMAIN.md's worked example from default to payment,
//! an empty pool paying what it has, and random settlement histories that keep every invariant.

use proto::v1 as pb;
use tests::{spawn_app_on, spawn_app_with_policy_on};
use tonic::Code;

use crate::support::*;

#[tokio::test]
async fn the_worked_example_from_default_to_a_confirmed_statement() {
    let app = spawn_app_on(&days_ago(0)).await;
    let actors = actors(&app, "nbcb", "100000000.00").await;
    fund_pool(&app, &actors.finance, "10000000.00").await;
    let loan = defaulted_pure_credit_loan(&app, &actors, 41).await;

    let claim = file(&app, &actors, &loan).await;
    assert_eq!(claim.status(), pb::ClaimStatus::Filed);
    assert_eq!(claim.principal_loss, "2400000.00");
    assert_eq!(claim.requested_compensation, "1680000.00");
    assert_eq!(claim.approvals_required, 2, "1,680,000.00 is above the four-eyes threshold");
    let twice = app
        .settlement_as(&actors.bank_key)
        .file_claim(pb::FileClaimRequest {
            request_id: "again".into(),
            loan: loan.clone(),
            claim_date: days_ago(0),
            memo: String::new(),
        })
        .await
        .unwrap_err();
    assert_error(&twice, Code::FailedPrecondition, "LOAN_ALREADY_CLAIMED");

    // The bank can never approve; the same officer cannot approve twice.
    let by_bank = app.settlement_as(&actors.bank_key).approve_claim(approve(&claim, "a0")).await.unwrap_err();
    assert_error(&by_bank, Code::PermissionDenied, "PERMISSION_DENIED");
    let first = app
        .settlement_as(&actors.officer)
        .approve_claim(approve(&claim, "a1"))
        .await
        .unwrap()
        .into_inner()
        .claim
        .unwrap();
    assert_eq!(first.status(), pb::ClaimStatus::PartiallyApproved);
    assert_eq!(position(&app, &actors.auditor).await.payables, "0.00", "nothing posted before the second approval");
    let same = app.settlement_as(&actors.officer).approve_claim(approve(&claim, "a2")).await.unwrap_err();
    assert_error(&same, Code::FailedPrecondition, "SAME_APPROVER");
    let second_officer = issue_key(&app, pb::Role::RiskOfficer, "").await;
    let approved = app
        .settlement_as(&second_officer)
        .approve_claim(approve(&claim, "a3"))
        .await
        .unwrap()
        .into_inner()
        .claim
        .unwrap();
    assert_eq!(approved.status(), pb::ClaimStatus::Approved);
    assert_eq!(approved.compensation, "1680000.00");
    assert_eq!(approved.approvals.len(), 2);
    let loan_now = app
        .loans_as(&actors.officer)
        .get_loan(pb::GetLoanRequest { name: loan.clone() })
        .await
        .unwrap()
        .into_inner()
        .loan
        .unwrap();
    assert_eq!(loan_now.status(), pb::LoanStatus::Compensated);
    let position_after_approval = position(&app, &actors.auditor).await;
    assert_eq!(position_after_approval.payables, "1680000.00");
    assert_eq!(position_after_approval.compensation_approved, "1680000.00");

    // A later 600,000.00 recovery: the pool's part is 600,000 × 1,680,000 ÷ 2,400,000.
    let recovered = app
        .settlement_as(&actors.bank_key)
        .report_recovery(pb::ReportRecoveryRequest {
            request_id: "rec-1".into(),
            loan: loan.clone(),
            amount: "600000.00".into(),
            recovery_date: days_ago(0),
            r#final: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(recovered.recovery.unwrap().pool_share_amount, "420000.00");
    assert_eq!(recovered.claim.unwrap().pool_recoveries, "420000.00");
    let too_much = app
        .settlement_as(&actors.bank_key)
        .report_recovery(pb::ReportRecoveryRequest {
            request_id: "rec-2".into(),
            loan: loan.clone(),
            amount: "1800000.01".into(),
            recovery_date: days_ago(0),
            r#final: false,
        })
        .await
        .unwrap_err();
    assert_error(&too_much, Code::FailedPrecondition, "RECOVERIES_EXCEED_LOSS");

    // The statement: 1,680,000.00 owed to the bank, 420,000.00 to the pool; net 1,260,000.00.
    let period = today().format("%Y-%m").to_string();
    let run = |id: &str| pb::RunSettlementRequest {
        request_id: id.into(),
        bank: "banks/nbcb".into(),
        period: period.clone(),
    };
    let mut finance = app.settlement_as(&actors.finance);
    let statement = finance.run_settlement(run("s1")).await.unwrap().into_inner().statement.unwrap();
    assert_eq!(statement.status(), pb::StatementStatus::Draft);
    assert_eq!(statement.net_amount, "1260000.00");
    assert_eq!(statement.direction(), pb::SettlementDirection::PoolPaysBank);
    let again = finance.run_settlement(run("s2")).await.unwrap().into_inner().statement.unwrap();
    assert_eq!(
        (again.lines.clone(), again.content_sha256.clone()),
        (statement.lines.clone(), statement.content_sha256.clone())
    );
    let csv = |statement: &pb::Statement| {
        let mut client = app.settlement_as(&actors.auditor);
        let name = statement.name.clone();
        async move {
            let export = client
                .export_statement(pb::ExportStatementRequest { name, format: pb::ExportFormat::Csv as i32 })
                .await
                .unwrap()
                .into_inner();
            String::from_utf8(export.content).unwrap()
        }
    };
    let exported = csv(&statement).await;
    assert_eq!(exported, csv(&again).await, "same bytes when exported twice");
    expect_test::expect![[r#"
        bank,period
        nbcb,PERIOD
        line,kind,source,description,amount
        1,COMPENSATION,claims/1,compensation for loans/1 (0.70 of a 2400000.00 loss),1680000.00
        2,RECOVERY,recoveries/1,pool share of a 600000.00 recovery on loans/1,420000.00
        total,COMPENSATION,,,1680000.00
        total,SHORTFALL_CARRIED,,,0.00
        total,RECOVERY,,,420000.00
        total,CONTRIBUTION_DUE,,,0.00
        net,POOL_PAYS_BANK,,,1260000.00
    "#]]
    .assert_eq(&exported.replace(&period, "PERIOD"));

    // A month-to-date statement is a preview: it is confirmed once the month has ended.
    assert!(statement.preview);
    let early = app
        .settlement_as(&actors.finance)
        .confirm_statement(pb::ConfirmStatementRequest {
            request_id: "c-early".into(),
            name: statement.name.clone(),
            content_sha256: statement.content_sha256.clone(),
        })
        .await
        .unwrap_err();
    assert_error(&early, Code::FailedPrecondition, "PERIOD_NOT_ENDED");
    app.advance_to(&next_month_start()).await;
    let stale_hash = app
        .settlement_as(&actors.finance)
        .confirm_statement(pb::ConfirmStatementRequest {
            request_id: "c0".into(),
            name: statement.name.clone(),
            content_sha256: "0".repeat(64),
        })
        .await
        .unwrap_err();
    assert_error(&stale_hash, Code::FailedPrecondition, "STATEMENT_CHANGED");
    let confirmed = app
        .settlement_as(&actors.finance)
        .confirm_statement(pb::ConfirmStatementRequest {
            request_id: "c1".into(),
            name: statement.name.clone(),
            content_sha256: statement.content_sha256.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .statement
        .unwrap();
    assert_eq!(confirmed.status(), pb::StatementStatus::Confirmed);
    assert_eq!(confirmed.content_sha256, statement.content_sha256);
    assert_eq!(confirmed.journal_entries.len(), 1, "the netting; no cash moves at confirmation");
    assert_eq!((confirmed.amount_due.as_str(), confirmed.amount_outstanding.as_str()), ("1260000.00", "1260000.00"));
    let agreed = position(&app, &actors.auditor).await;
    assert_eq!(agreed.escrow_cash, "10000000.00");
    assert_eq!((agreed.payables.as_str(), agreed.receivables.as_str()), ("1260000.00", "0.00"));
    // The payment is its own step: the transfer as on the custodian bank's statement.
    let paid_statement = app
        .settlement_as(&actors.finance)
        .record_statement_payment(pb::RecordStatementPaymentRequest {
            request_id: "pay-1".into(),
            statement: statement.name.clone(),
            amount: "1260000.00".into(),
            value_date: next_month_start(),
            reference: "CUST-2025-0001".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let payment = paid_statement.payment.unwrap();
    assert_eq!((payment.amount.as_str(), payment.reference.as_str()), ("1260000.00", "CUST-2025-0001"));
    assert_eq!(payment.journal_entries.len(), 1);
    let settled = paid_statement.statement.unwrap();
    assert_eq!(settled.status(), pb::StatementStatus::Paid);
    assert_eq!((settled.amount_paid.as_str(), settled.amount_outstanding.as_str()), ("1260000.00", "0.00"));
    assert_eq!(settled.payments.len(), 1);
    let after = position(&app, &actors.auditor).await;
    assert_eq!(after.escrow_cash, "8740000.00", "10,000,000 − 1,260,000");
    assert_eq!((after.payables.as_str(), after.receivables.as_str()), ("0.00", "0.00"));
    let paid = app
        .settlement_as(&actors.auditor)
        .get_claim(pb::GetClaimRequest { name: claim.name.clone() })
        .await
        .unwrap()
        .into_inner()
        .claim
        .unwrap();
    assert_eq!((paid.status(), paid.compensation_paid.as_str()), (pb::ClaimStatus::Paid, "1680000.00"));
    // A confirmed statement never changes: running it again returns it as it is.
    let rerun = finance.run_settlement(run("s3")).await.unwrap().into_inner().statement.unwrap();
    assert_eq!((rerun.status(), rerun.content_sha256), (pb::StatementStatus::Paid, statement.content_sha256));
    let confirm_twice = app
        .settlement_as(&actors.finance)
        .confirm_statement(pb::ConfirmStatementRequest {
            request_id: "c2".into(),
            name: statement.name.clone(),
            content_sha256: confirmed.content_sha256.clone(),
        })
        .await
        .unwrap_err();
    assert_error(&confirm_twice, Code::FailedPrecondition, "STATEMENT_ALREADY_CONFIRMED");
    let html = app
        .settlement_as(&actors.bank_key)
        .export_statement(pb::ExportStatementRequest {
            name: statement.name.clone(),
            format: pb::ExportFormat::Html as i32,
        })
        .await
        .unwrap()
        .into_inner();
    let page = String::from_utf8(html.content).unwrap();
    assert!(page.contains("The pool pays the bank") && page.contains("1260000.00") && page.contains("PAID"));
    assert_ledger_verifies(&app, &actors.auditor).await;
}

#[tokio::test]
async fn an_empty_pool_pays_what_it_has_and_records_the_shortfall() {
    let app = spawn_app_on(&days_ago(0)).await;
    let actors = actors(&app, "nbcb", "100000000.00").await;
    // 300,000.00 of capital carries 3,600,000.00 at 12× leverage: enough for the loan.
    fund_pool(&app, &actors.finance, "300000.00").await;
    let loan = defaulted_pure_credit_loan(&app, &actors, 51).await;
    let claim = file(&app, &actors, &loan).await;
    app.settlement_as(&actors.officer).approve_claim(approve(&claim, "a1")).await.unwrap();
    let second = issue_key(&app, pb::Role::RiskOfficer, "").await;
    app.settlement_as(&second).approve_claim(approve(&claim, "a2")).await.unwrap();
    let period = today().format("%Y-%m").to_string();
    let statement = app
        .settlement_as(&actors.finance)
        .run_settlement(pb::RunSettlementRequest { request_id: "s".into(), bank: "banks/nbcb".into(), period })
        .await
        .unwrap()
        .into_inner()
        .statement
        .unwrap();
    app.advance_to(&next_month_start()).await;
    app.settlement_as(&actors.finance)
        .confirm_statement(pb::ConfirmStatementRequest {
            request_id: "c".into(),
            name: statement.name.clone(),
            content_sha256: statement.content_sha256,
        })
        .await
        .unwrap();
    let pay = |id: &str, amount: &str| pb::RecordStatementPaymentRequest {
        request_id: id.into(),
        statement: statement.name.clone(),
        amount: amount.into(),
        value_date: next_month_start(),
        reference: format!("CUST-{id}"),
    };
    // The pool pays only the cash it has.
    let too_much =
        app.settlement_as(&actors.finance).record_statement_payment(pay("p0", "1680000.00")).await.unwrap_err();
    assert_error(&too_much, Code::FailedPrecondition, "INSUFFICIENT_ESCROW_CASH");
    assert!(too_much.message().contains("300000.00"), "{}", too_much.message());
    let partly = app
        .settlement_as(&actors.finance)
        .record_statement_payment(pay("p1", "300000.00"))
        .await
        .unwrap()
        .into_inner()
        .statement
        .unwrap();
    assert_eq!(partly.status(), pb::StatementStatus::PartiallyPaid);
    assert_eq!(partly.amount_outstanding, "1380000.00");
    let after = position(&app, &actors.auditor).await;
    assert_eq!(after.escrow_cash, "0.00", "cash is exactly zero, never below");
    assert_eq!(after.payables, "1380000.00");
    assert_eq!(after.shortfall, "1380000.00");
    let claim = app
        .settlement_as(&actors.auditor)
        .get_claim(pb::GetClaimRequest { name: claim.name })
        .await
        .unwrap()
        .into_inner()
        .claim
        .unwrap();
    assert_eq!((claim.compensation_paid.as_str(), claim.shortfall.as_str()), ("300000.00", "1380000.00"));
    assert_eq!(claim.status(), pb::ClaimStatus::Approved);
    assert_ledger_verifies(&app, &actors.auditor).await;
}

/// One step of a random settlement history.
#[derive(Debug, Clone)]
enum Step {
    /// Approve the claim of loan i (both officers).
    Approve(usize),
    /// Report a recovery of `fen` on loan i.
    Recover(usize, i64),
    /// Build and confirm this month's statement.
    Settle,
    /// Add escrow cash.
    Fund(i64),
}

fn steps() -> impl proptest::strategy::Strategy<Value = Vec<Step>> {
    use proptest::prelude::*;
    proptest::collection::vec(
        prop_oneof![
            (0..3usize).prop_map(Step::Approve),
            (0..3usize, 1..150_000_000i64).prop_map(|(i, fen)| Step::Recover(i, fen)),
            Just(Step::Settle),
            (1..200_000_000i64).prop_map(Step::Fund),
        ],
        1..10,
    )
}

fn money_fen(text: &str) -> i64 {
    let (whole, fraction) = text.split_once('.').unwrap();
    let sign = if whole.starts_with('-') { -1 } else { 1 };
    sign * (whole.trim_start_matches('-').parse::<i64>().unwrap() * 100 + fraction.parse::<i64>().unwrap())
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 6, failure_persistence: None, ..Default::default() })]

    /// Random claims, approvals, recoveries and settlements with a small annual cap and
    /// little cash: cash never goes negative, compensation per bank and year stays within
    /// the cap, recoveries within the loss, the ledger verifies, and re-running a statement
    /// before confirmation reproduces it byte for byte.
    #[test]
    fn random_settlement_histories_keep_every_invariant(steps in steps()) {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        runtime.block_on(async move {
            let policy = policy_with_annual_cap("3000000.00");
            let app = spawn_app_with_policy_on(&policy, &days_ago(0)).await;
            let actors = actors(&app, "nbcb", "100000000.00").await;
            let second = issue_key(&app, pb::Role::RiskOfficer, "").await;
            fund_pool(&app, &actors.finance, "800000.00").await;
            // Each settlement closes a month: the business date moves to the next month's first day.
            let mut business = today();
            let mut loans = Vec::new();
            for serial in 0..3 {
                loans.push(enrolled_pure_credit_loan(&app, &actors, 80 + serial).await);
            }
            let mut claims = Vec::new();
            for loan in &loans {
                default_loan(&app, &actors, loan).await;
                claims.push(file(&app, &actors, loan).await);
            }
            for (n, step) in steps.into_iter().enumerate() {
                match step {
                    Step::Approve(i) => {
                        let first = app.settlement_as(&actors.officer).approve_claim(approve(&claims[i], &format!("p{n}-a"))).await;
                        if first.is_ok() {
                            let _ = app.settlement_as(&second).approve_claim(approve(&claims[i], &format!("p{n}-b"))).await;
                        }
                    }
                    Step::Recover(i, fen) => {
                        let _ = app
                            .settlement_as(&actors.bank_key)
                            .report_recovery(pb::ReportRecoveryRequest {
                                request_id: format!("p{n}-r"),
                                loan: loans[i].clone(),
                                amount: format!("{}.{:02}", fen / 100, fen % 100),
                                recovery_date: business.format("%Y-%m-%d").to_string(),
                                r#final: false,
                            })
                            .await;
                    }
                    Step::Fund(fen) => {
                        let amount = format!("{}.{:02}", fen / 100, fen % 100);
                        fund_pool_on(&app, &actors.finance, &amount, &business.format("%Y-%m-%d").to_string()).await;
                    }
                    Step::Settle => {
                        let period = domain::statement::Period::of(business).to_string();
                        business = domain::statement::Period::of(business).last_day().succ_opt().unwrap();
                        let date = business.format("%Y-%m-%d").to_string();
                        app.advance_to(&date).await;
                        let run = |id: String| pb::RunSettlementRequest { request_id: id, bank: "banks/nbcb".into(), period: period.clone() };
                        let mut finance = app.settlement_as(&actors.finance);
                        let first = finance.run_settlement(run(format!("p{n}-s1"))).await.unwrap().into_inner().statement.unwrap();
                        let again = finance.run_settlement(run(format!("p{n}-s2"))).await.unwrap().into_inner().statement.unwrap();
                        assert_eq!(first.content_sha256, again.content_sha256);
                        assert_eq!(first.lines, again.lines);
                        assert!(!first.preview, "the month has ended");
                        let confirmed = finance
                            .confirm_statement(pb::ConfirmStatementRequest {
                                request_id: format!("p{n}-c"),
                                name: first.name.clone(),
                                content_sha256: first.content_sha256,
                            })
                            .await
                            .unwrap()
                            .into_inner()
                            .statement
                            .unwrap();
                        // Pay what is due: the bank in full, the pool as far as its cash goes.
                        let due = money_fen(&confirmed.amount_outstanding);
                        let cash = money_fen(&position(&app, &actors.auditor).await.escrow_cash);
                        let amount = if confirmed.direction() == pb::SettlementDirection::PoolPaysBank { due.min(cash) } else { due };
                        if amount > 0 {
                            let paid = finance
                                .record_statement_payment(pb::RecordStatementPaymentRequest {
                                    request_id: format!("p{n}-pay"),
                                    statement: first.name,
                                    amount: format!("{}.{:02}", amount / 100, amount % 100),
                                    value_date: date.clone(),
                                    reference: format!("ref-{n}"),
                                })
                                .await
                                .unwrap()
                                .into_inner()
                                .statement
                                .unwrap();
                            assert_eq!(money_fen(&paid.amount_outstanding), due - amount);
                        }
                    }
                }
                let position = position(&app, &actors.auditor).await;
                assert!(money_fen(&position.escrow_cash) >= 0, "cash {}", position.escrow_cash);
            }
            let exposure = app
                .pool_as(&actors.auditor)
                .get_bank_exposure(pb::GetBankExposureRequest { bank: "banks/nbcb".into() })
                .await
                .unwrap()
                .into_inner()
                .exposure
                .unwrap();
            assert!(money_fen(&exposure.compensation_this_year) <= 300_000_000, "{}", exposure.compensation_this_year);
            for claim in &claims {
                let claim = app.settlement_as(&actors.auditor).get_claim(pb::GetClaimRequest { name: claim.name.clone() }).await.unwrap().into_inner().claim.unwrap();
                assert!(money_fen(&claim.recoveries_total) <= money_fen(&claim.principal_loss));
                if !claim.compensation.is_empty() {
                    assert!(money_fen(&claim.compensation) <= money_fen(&claim.requested_compensation));
                    assert!(money_fen(&claim.compensation_paid) + money_fen(&claim.shortfall) <= money_fen(&claim.compensation));
                }
            }
            assert_ledger_verifies(&app, &actors.auditor).await;
        });
    }
}
