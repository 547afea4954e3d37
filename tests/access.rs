//! The access matrix of ARCHITECTURE.md, walked against a running server: every RPC called
//! with a key of every role. An allowed call is never refused for permission; any other call
//! is PERMISSION_DENIED. The calls carry empty requests (roles are checked before anything
//! is read), so the table is checked for every RPC without knowing its messages. And a BANK
//! asking for another bank's application, loan, claim, statement or report gets NOT_FOUND.

use std::collections::BTreeMap;

use proto::v1 as pb;
use tests::TestApp;
use tonic::Code;

use crate::support::*;

const ROLES: [pb::Role; 6] =
    [pb::Role::Bank, pb::Role::RiskOfficer, pb::Role::Finance, pb::Role::Auditor, pb::Role::Batch, pb::Role::Admin];

/// The matrix's rows: RPC → one cell per role of `ROLES`.
pub(crate) fn matrix() -> BTreeMap<String, Vec<String>> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../ARCHITECTURE.md")).unwrap();
    let start = text.find("<!-- access-matrix -->").expect("the matrix's start marker");
    let end = text.find("<!-- /access-matrix -->").expect("the matrix's end marker");
    text[start..end]
        .lines()
        .filter(|line| line.starts_with("| ") && line.contains("Service."))
        .map(|line| {
            let cells: Vec<String> = line.trim_matches('|').split('|').map(|c| c.trim().to_owned()).collect();
            (cells[0].clone(), cells[1..].to_vec())
        })
        .collect()
}

/// Calls `rpc` (`Service.Method`) with an empty request, as `key`.
async fn call(app: &TestApp, rpc: &str, key: &str) -> Result<(), tonic::Status> {
    let (service, method) = rpc.split_once('.').unwrap();
    let path: tonic::codegen::http::uri::PathAndQuery = format!("/techcredit.v1.{service}/{method}").parse().unwrap();
    let mut grpc = tonic::client::Grpc::new(app.channel());
    grpc.ready().await.map_err(|e| tonic::Status::unavailable(e.to_string()))?;
    let codec = tonic_prost::ProstCodec::<(), ()>::default();
    fn authorize<T>(mut request: tonic::Request<T>, key: &str) -> tonic::Request<T> {
        request.metadata_mut().insert("authorization", format!("Bearer {key}").parse().unwrap());
        request
    }
    if rpc == "SettlementService.ReconcileLoanTape" {
        let stream = tokio_stream::iter(vec![()]);
        grpc.client_streaming(authorize(tonic::Request::new(stream), key), path, codec).await.map(|_| ())
    } else {
        grpc.unary(authorize(tonic::Request::new(()), key), path, codec).await.map(|_| ())
    }
}

#[tokio::test]
async fn every_rpc_answers_every_role_as_the_matrix_says() {
    let app = tests::spawn_app().await;
    create_bank(&app, "nbcb", "1000000.00").await;
    let mut keys = Vec::new();
    for role in ROLES {
        let bank = if role == pb::Role::Bank { "banks/nbcb" } else { "" };
        keys.push(issue_key(&app, role, bank).await);
    }
    let matrix = matrix();
    let contract = <prost_types::FileDescriptorSet as prost::Message>::decode(proto::FILE_DESCRIPTOR_SET).unwrap();
    let mut declared: Vec<String> = contract
        .file
        .iter()
        .filter(|file| file.package() == "techcredit.v1")
        .flat_map(|file| &file.service)
        .flat_map(|service| service.method.iter().map(move |m| format!("{}.{}", service.name(), m.name())))
        .collect();
    declared.sort();
    assert_eq!(
        matrix.keys().cloned().collect::<Vec<_>>(),
        declared,
        "the matrix lists every RPC of the contract, once"
    );
    let mut wrong = Vec::new();
    for (rpc, cells) in &matrix {
        for ((role, key), cell) in ROLES.iter().zip(&keys).zip(cells) {
            let allowed = !cell.is_empty();
            let outcome = call(&app, rpc, key).await;
            let denied = matches!(&outcome, Err(status) if status.code() == Code::PermissionDenied);
            if allowed == denied {
                wrong.push(format!("{rpc} as {role:?}: the matrix says {cell:?}, the server answered {outcome:?}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{} cells disagree:\n{}", wrong.len(), wrong.join("\n"));
}

/// A BANK key asking for another bank's application, loan, claim, statement or
/// reconciliation report is told it does not exist — never that it is someone else's.
#[tokio::test]
async fn another_bank_s_records_are_not_found_for_a_bank() {
    let app = tests::spawn_app_on(&days_ago(0)).await;
    let owner = actors(&app, "nbcb", "100000000.00").await;
    fund_pool(&app, &owner.finance, "10000000.00").await;
    let loan = enrolled_pure_credit_loan(&app, &owner, 91).await;
    let application = app
        .loans_as(&owner.bank_key)
        .get_loan(pb::GetLoanRequest { name: loan.clone() })
        .await
        .unwrap()
        .into_inner()
        .loan
        .unwrap()
        .application;
    default_loan(&app, &owner, &loan).await;
    let claim = file(&app, &owner, &loan).await.name;
    let statement = app
        .settlement_as(&owner.finance)
        .run_settlement(pb::RunSettlementRequest {
            request_id: "run".into(),
            bank: "banks/nbcb".into(),
            period: today().format("%Y-%m").to_string(),
        })
        .await
        .unwrap()
        .into_inner()
        .statement
        .unwrap()
        .name;
    let tape = vec![
        pb::ReconcileLoanTapeRequest {
            part: Some(pb::reconcile_loan_tape_request::Part::Header(pb::LoanTapeHeader {
                bank: "banks/nbcb".into(),
                as_of: days_ago(0),
                file_name: "tape.csv".into(),
            })),
            request_id: "tape".into(),
        },
        pb::ReconcileLoanTapeRequest {
            part: Some(pb::reconcile_loan_tape_request::Part::End(pb::LoanTapeEnd { rows: 0 })),
            request_id: String::new(),
        },
    ];
    let report = app
        .settlement_as(&owner.bank_key)
        .reconcile_loan_tape(tokio_stream::iter(tape))
        .await
        .unwrap()
        .into_inner()
        .report
        .unwrap()
        .name;

    create_bank(&app, "icbc", "100000000.00").await;
    let other = issue_key(&app, pb::Role::Bank, "banks/icbc").await;
    let not_found = |result: Result<(), tonic::Status>, what: &str| {
        let status = result.expect_err(what);
        assert_error(&status, Code::NotFound, "NOT_FOUND");
    };
    not_found(
        app.loans_as(&other).get_application(pb::GetApplicationRequest { name: application }).await.map(|_| ()),
        "application",
    );
    not_found(app.loans_as(&other).get_loan(pb::GetLoanRequest { name: loan }).await.map(|_| ()), "loan");
    not_found(app.settlement_as(&other).get_claim(pb::GetClaimRequest { name: claim }).await.map(|_| ()), "claim");
    not_found(
        app.settlement_as(&other).get_statement(pb::GetStatementRequest { name: statement }).await.map(|_| ()),
        "statement",
    );
    not_found(
        app.settlement_as(&other)
            .get_reconciliation_report(pb::GetReconciliationReportRequest { name: report })
            .await
            .map(|_| ()),
        "report",
    );
}
