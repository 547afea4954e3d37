//! The audit trail: one record per mutating call — accepted, refused or replayed — with who,
//! what, the outcome and the resources; a hash chain that VerifyAudit (and the offline
//! `verify-audit`) proves unbroken, or breaks at the record edited, deleted or inserted.

use proto::v1 as pb;
use tests::TestApp;
use tonic::Code;

use crate::support::*;

type AuditClient = pb::audit_service_client::AuditServiceClient<tests::Authed>;

fn audit(app: &TestApp, key: &str) -> AuditClient {
    pb::audit_service_client::AuditServiceClient::new(tests::with_key(app.channel(), key))
}

async fn records(app: &TestApp, key: &str, request: pb::ListAuditRecordsRequest) -> Vec<pb::AuditRecord> {
    let mut all = Vec::new();
    let mut token = String::new();
    loop {
        let page = audit(app, key)
            .list_audit_records(pb::ListAuditRecordsRequest { page_token: token, page_size: 3, ..request.clone() })
            .await
            .unwrap()
            .into_inner();
        all.extend(page.audit_records);
        if page.next_page_token.is_empty() {
            return all;
        }
        token = page.next_page_token;
    }
}

async fn verify(app: &TestApp, key: &str) -> pb::VerifyAuditResponse {
    audit(app, key).verify_audit(pb::VerifyAuditRequest {}).await.unwrap().into_inner()
}

async fn sql(app: &TestApp, statement: &str) {
    let store = store::Store::connect(&app.database.url(&app.settings.data_dir), 1).await.unwrap();
    store.execute_script(statement).await.unwrap();
}

#[tokio::test]
async fn every_mutating_call_leaves_one_record_of_who_did_what_and_how_it_ended() {
    let app = tests::spawn_app().await;
    let actors = actors(&app, "nbcb", "100000000.00").await;
    fund_pool(&app, &actors.finance, "1000000.00").await;
    let application = submit(&app, &actors, &local_uscc(41), "1000000.00").await;
    let loan = enrol(&app, &actors, &application, "A-1").await;
    // The same enrolment again: answered as before, changes nothing.
    let again = app.loans_as(&actors.bank_key).enroll_loan(enrol_request(&application, "A-1")).await.unwrap();
    assert_eq!(again.into_inner().loan.unwrap().name, loan.name);
    // Refused: a rule, bad input, and a role that may not.
    let refused = app
        .admin()
        .create_bank(pb::CreateBankRequest {
            request_id: "bad-quota".into(),
            bank_id: "hzbank".into(),
            display_name: "杭州银行".into(),
            quota: "-1".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    let denied = app
        .admin_as(Some(&actors.bank_key))
        .create_bank(pb::CreateBankRequest {
            request_id: "not-mine".into(),
            bank_id: "mine".into(),
            display_name: "x".into(),
            quota: "1.00".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    // Reads and unauthenticated calls leave nothing.
    app.loans_as(&actors.auditor).get_loan(pb::GetLoanRequest { name: loan.name.clone() }).await.unwrap();
    let nobody = app.admin_as(None).create_bank(pb::CreateBankRequest::default()).await.unwrap_err();
    assert_eq!(nobody.code(), Code::Unauthenticated);

    let all = records(&app, &actors.auditor, pb::ListAuditRecordsRequest::default()).await;
    let enrolments: Vec<&pb::AuditRecord> =
        all.iter().filter(|r| r.method == "/techcredit.v1.LoanApplicationService/EnrollLoan").collect();
    assert_eq!(enrolments.len(), 2, "{enrolments:#?}");
    let (replayed, accepted) = (enrolments[0], enrolments[1]);
    assert_eq!(accepted.outcome(), pb::AuditOutcome::Accepted);
    assert_eq!((accepted.status_code.as_str(), accepted.role()), ("OK", pb::Role::Bank));
    assert_eq!(accepted.bank, "banks/nbcb");
    assert_eq!(accepted.request_id, enrol_request(&application, "A-1").request_id);
    assert!(accepted.resources.contains(&loan.name) && accepted.resources.contains(&application.name), "{accepted:?}");
    assert_eq!(replayed.outcome(), pb::AuditOutcome::Replayed);

    let refusals = records(
        &app,
        &actors.auditor,
        pb::ListAuditRecordsRequest { outcome: pb::AuditOutcome::Refused as i32, ..Default::default() },
    )
    .await;
    assert_eq!(refusals.len(), 2, "{refusals:#?}");
    assert_eq!((refusals[0].request_id.as_str(), refusals[0].status_code.as_str()), ("not-mine", "PERMISSION_DENIED"));
    assert!(refusals[0].reason.contains("may not do this"), "{}", refusals[0].reason);
    assert_eq!((refusals[1].request_id.as_str(), refusals[1].status_code.as_str()), ("bad-quota", "INVALID_ARGUMENT"));

    // Filters: by resource, by method's short name, by bank.
    let about_loan = records(
        &app,
        &actors.auditor,
        pb::ListAuditRecordsRequest { resource: loan.name.clone(), ..Default::default() },
    )
    .await;
    assert_eq!(about_loan.len(), 1, "{about_loan:#?}");
    let contributions = records(
        &app,
        &actors.auditor,
        pb::ListAuditRecordsRequest { method: "CommitContribution".into(), ..Default::default() },
    )
    .await;
    assert_eq!(contributions.len(), 1);
    let by_bank =
        records(&app, &actors.auditor, pb::ListAuditRecordsRequest { bank: "banks/nbcb".into(), ..Default::default() })
            .await;
    assert!(by_bank.iter().all(|r| r.bank == "banks/nbcb") && by_bank.len() == 4, "{by_bank:#?}");

    // The chain is whole and covers every record; each record names its place and link.
    let verdict = verify(&app, &actors.auditor).await;
    assert!(verdict.ok, "{verdict:?}");
    assert_eq!(verdict.records_checked as usize, all.len());
    assert_eq!(verdict.head_sequence as usize, all.len());
    let sealed = records(&app, &actors.auditor, pb::ListAuditRecordsRequest::default()).await;
    assert!(sealed.iter().all(|r| r.sequence > 0 && r.hash.len() == 64), "{sealed:#?}");
    assert_eq!(sealed[0].hash, verdict.head_hash);

    // Only auditors and administrators read the trail.
    let not_yours = audit(&app, &actors.officer).verify_audit(pb::VerifyAuditRequest {}).await.unwrap_err();
    assert_eq!(not_yours.code(), Code::PermissionDenied);
}

/// Builds a small trail on a fresh server and returns it with an auditor's key.
async fn trail() -> (TestApp, String) {
    let app = tests::spawn_app().await;
    let auditor = issue_key(&app, pb::Role::Auditor, "").await;
    for bank in ["b1", "b2", "b3", "b4", "b5"] {
        create_bank(&app, bank, "1000000.00").await;
    }
    let verdict = verify(&app, &auditor).await;
    assert!(verdict.ok && verdict.records_checked == 6, "{verdict:?}");
    (app, auditor)
}

fn offline_verify(app: &TestApp) -> (i32, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_e2e-server"))
        .arg("verify-audit")
        .env("DATABASE_URL", app.database.url(&app.settings.data_dir))
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    (output.status.code().unwrap_or(-1), String::from_utf8_lossy(&output.stdout).into_owned())
}

#[tokio::test]
async fn an_edited_record_breaks_the_chain_where_it_is() {
    let (app, auditor) = trail().await;
    let (code, stdout) = offline_verify(&app);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("checked 6 audit records") && stdout.contains("unbroken"), "{stdout}");

    sql(&app, "UPDATE audit_records SET resources = 'banks/elsewhere' WHERE sequence = 3").await;
    let verdict = verify(&app, &auditor).await;
    assert!(!verdict.ok);
    assert_eq!(verdict.first_broken_sequence, 3);
    assert!(verdict.problem.contains("changed after sealing"), "{}", verdict.problem);
    assert!(verdict.first_broken_record.starts_with("auditRecords/"), "{verdict:?}");
    let (code, stdout) = offline_verify(&app);
    assert_eq!(code, 2, "{stdout}");
    assert!(stdout.contains("BROKEN at 3"), "{stdout}");
}

#[tokio::test]
async fn a_deleted_record_breaks_the_chain_where_it_was() {
    let (app, auditor) = trail().await;
    sql(&app, "DELETE FROM audit_records WHERE sequence = 4").await;
    let verdict = verify(&app, &auditor).await;
    assert!(!verdict.ok);
    assert_eq!(verdict.first_broken_sequence, 4);
    assert!(verdict.problem.contains("missing"), "{}", verdict.problem);

    let (app, auditor) = trail().await;
    sql(&app, "DELETE FROM audit_records WHERE sequence = 6").await;
    let verdict = verify(&app, &auditor).await;
    assert!(!verdict.ok && verdict.problem.contains("head"), "the last record deleted: {verdict:?}");
}

#[tokio::test]
async fn a_record_inserted_by_hand_breaks_the_chain_after_it() {
    let (app, auditor) = trail().await;
    // Make room at 3 and insert a record there, linked to the record before it.
    sql(&app, "UPDATE audit_records SET sequence = sequence + 100 WHERE sequence >= 3").await;
    sql(&app, "UPDATE audit_records SET sequence = sequence - 99 WHERE sequence >= 103").await;
    sql(
        &app,
        "INSERT INTO audit_records (recorded_at, key_id, role, bank_id, method, request_id, outcome, status, reason, resources, sequence, previous_hash, hash) \
         SELECT recorded_at, key_id, role, bank_id, method, 'forged', outcome, status, reason, resources, 3, hash, hash FROM audit_records WHERE sequence = 2",
    )
    .await;
    let verdict = verify(&app, &auditor).await;
    assert!(!verdict.ok);
    assert_eq!(verdict.first_broken_sequence, 3, "{verdict:?}");
}
