//! Limits hold under concurrent enrolments: exactly as many succeed as fit, never one
//! more, and the running totals equal the sum of the enrolled loans. On PostgreSQL the
//! race also runs across two server processes sharing the database. And a server killed in
//! the middle of a burst of calls loses nothing it acknowledged and applies nothing twice.

use std::process::{Child, Command, Stdio};

use proto::v1 as pb;
use tests::{TestApp, TestDatabase, spawn_app};
use tonic::Code;

use crate::support::*;

/// Races one enrolment per application through `clients` (round robin); returns the
/// successes and the reasons of the refusals.
async fn race(
    clients: Vec<proto::v1::loan_application_service_client::LoanApplicationServiceClient<tests::Authed>>,
    applications: &[pb::Application],
) -> (Vec<pb::Loan>, Vec<String>) {
    let mut calls = Vec::new();
    for (index, application) in applications.iter().enumerate() {
        let mut client = clients[index % clients.len()].clone();
        let request = enrol_request(application, &format!("RACE-{index}"));
        calls.push(tokio::spawn(async move { client.enroll_loan(request).await }));
    }
    let mut loans = Vec::new();
    let mut refusals = Vec::new();
    for call in calls {
        match call.await.unwrap() {
            Ok(response) => loans.push(response.into_inner().loan.unwrap()),
            Err(status) => {
                assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
                refusals.push(reason(&status));
            }
        }
    }
    (loans, refusals)
}

fn sum(loans: &[pb::Loan]) -> i64 {
    loans.iter().map(|l| domain_fen(&l.outstanding_principal)).sum()
}

fn domain_fen(text: &str) -> i64 {
    let (whole, fraction) = text.split_once('.').unwrap();
    whole.parse::<i64>().unwrap() * 100 + fraction.parse::<i64>().unwrap()
}

async fn applications(
    app: &TestApp,
    actors: &Actors,
    count: u32,
    same_enterprise: bool,
    first: u32,
) -> Vec<pb::Application> {
    let mut result = Vec::new();
    for n in 0..count {
        let uscc = local_uscc(if same_enterprise { first } else { first + n });
        let application = submit(app, actors, &uscc, "1000000.00").await;
        assert_eq!(application.status(), pb::ApplicationStatus::Approved);
        result.push(application);
    }
    result
}

#[tokio::test]
async fn racing_enrolments_stop_exactly_at_the_leverage_limit() {
    let app = spawn_app().await;
    let actors = actors(&app, "nbcb", "100000000.00").await;
    // Net pool assets 500,000.00 × 12 = 6,000,000.00 of capacity: six loans of 1,000,000.00.
    fund_pool(&app, &actors.finance, "500000.00").await;
    let applications = applications(&app, &actors, 10, false, 100).await;
    let client = app.loans_as(&actors.bank_key);
    let (loans, refusals) = race(vec![client; 4], &applications).await;
    assert_eq!(loans.len(), 6, "refusals: {refusals:?}");
    assert!(refusals.iter().all(|r| r == "LEVERAGE_LIMIT_EXCEEDED"), "{refusals:?}");
    let position = position(&app, &actors.officer).await;
    assert_eq!(domain_fen(&position.covered_outstanding), sum(&loans));
    assert_eq!(position.covered_outstanding, "6000000.00");
    assert_ledger_verifies(&app, &actors.auditor).await;
}

#[tokio::test]
async fn racing_enrolments_stop_exactly_at_the_bank_quota() {
    let app = spawn_app().await;
    let actors = actors(&app, "nbcb", "3500000.00").await;
    fund_pool(&app, &actors.finance, "10000000.00").await;
    let applications = applications(&app, &actors, 8, false, 200).await;
    let client = app.loans_as(&actors.bank_key);
    let (loans, refusals) = race(vec![client; 4], &applications).await;
    assert_eq!(loans.len(), 3, "refusals: {refusals:?}");
    assert!(refusals.iter().all(|r| r == "BANK_QUOTA_EXCEEDED"), "{refusals:?}");
    let bank = app.admin().get_bank(pb::GetBankRequest { name: "banks/nbcb".into() }).await.unwrap().into_inner();
    assert_eq!(domain_fen(&bank.bank.unwrap().quota_used), sum(&loans));
    assert_ledger_verifies(&app, &actors.auditor).await;
}

#[tokio::test]
async fn racing_enrolments_stop_exactly_at_the_enterprise_cap() {
    let app = spawn_app().await;
    let actors = actors(&app, "nbcb", "100000000.00").await;
    fund_pool(&app, &actors.finance, "10000000.00").await;
    // One AAA enterprise: cap 10,000,000.00, twelve approved loans of 1,000,000.00.
    let applications = applications(&app, &actors, 12, true, 300).await;
    let client = app.loans_as(&actors.bank_key);
    let (loans, refusals) = race(vec![client; 4], &applications).await;
    assert_eq!(loans.len(), 10, "refusals: {refusals:?}");
    assert!(refusals.iter().all(|r| r == "ENTERPRISE_CAP_EXCEEDED"), "{refusals:?}");
    assert_ledger_verifies(&app, &actors.auditor).await;
}

/// Sends every request at once and returns the outcomes in order.
async fn burst(
    client: &proto::v1::loan_application_service_client::LoanApplicationServiceClient<tests::Authed>,
    requests: Vec<pb::EnrollLoanRequest>,
) -> Vec<Result<pb::Loan, tonic::Status>> {
    let calls: Vec<_> = requests
        .into_iter()
        .map(|request| {
            let mut client = client.clone();
            tokio::spawn(async move { client.enroll_loan(request).await.map(|r| r.into_inner().loan.unwrap()) })
        })
        .collect();
    let mut outcomes = Vec::new();
    for call in calls {
        outcomes.push(call.await.unwrap());
    }
    outcomes
}

async fn application_status(app: &TestApp, key: &str, application: &pb::Application) -> pb::ApplicationStatus {
    app.loans_as(key)
        .get_application(pb::GetApplicationRequest { name: application.name.clone() })
        .await
        .unwrap()
        .into_inner()
        .application
        .unwrap()
        .status()
}

/// Enrolments that arrive together are decided together (see the loans service), yet each
/// call keeps the outcome it would have alone: retries replay, duplicates and reused keys
/// are told apart, one call's refusal leaves the others enrolled and nothing half-written.
#[tokio::test]
async fn enrolments_arriving_together_keep_their_own_outcomes() {
    let app = spawn_app().await;
    let actors = actors(&app, "nbcb", "100000000.00").await;
    fund_pool(&app, &actors.finance, "10000000.00").await;
    let client = app.loans_as(&actors.bank_key);

    // Eight copies of one call (a client retrying impatiently): one loan, the same answer.
    let retried = submit(&app, &actors, &local_uscc(400), "1000000.00").await;
    let outcomes = burst(&client, vec![enrol_request(&retried, "TOGETHER-1"); 8]).await;
    let names: Vec<String> = outcomes.into_iter().map(|o| o.expect("a retry replays").name).collect();
    assert!(names.iter().all(|n| n == &names[0]), "{names:?}");

    // Different calls for one application: exactly one enrols it.
    let contested = submit(&app, &actors, &local_uscc(401), "1000000.00").await;
    let requests = (0..6)
        .map(|n| pb::EnrollLoanRequest {
            request_id: format!("contest-{n}"),
            ..enrol_request(&contested, &format!("C-{n}"))
        })
        .collect();
    let outcomes = burst(&client, requests).await;
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1, "{outcomes:?}");
    for refused in outcomes.iter().filter_map(|o| o.as_ref().err()) {
        assert_error(refused, Code::FailedPrecondition, "APPLICATION_ALREADY_ENROLLED");
    }

    // Two applications, one bank loan number; one request id for two applications; and a
    // bad rate beside two good calls. Each loser is refused on its own and its application
    // stays APPROVED; the others are enrolled.
    let a = submit(&app, &actors, &local_uscc(402), "1000000.00").await;
    let b = submit(&app, &actors, &local_uscc(403), "1000000.00").await;
    let c = submit(&app, &actors, &local_uscc(404), "1000000.00").await;
    let d = submit(&app, &actors, &local_uscc(405), "1000000.00").await;
    let e = submit(&app, &actors, &local_uscc(406), "1000000.00").await;
    let f = submit(&app, &actors, &local_uscc(407), "1000000.00").await;
    let outcomes = burst(
        &client,
        vec![
            pb::EnrollLoanRequest { request_id: "number-a".into(), ..enrol_request(&a, "SAME-NUMBER") },
            pb::EnrollLoanRequest { request_id: "number-b".into(), ..enrol_request(&b, "SAME-NUMBER") },
            pb::EnrollLoanRequest { request_id: "one-key".into(), ..enrol_request(&c, "KEY-C") },
            pb::EnrollLoanRequest { request_id: "one-key".into(), ..enrol_request(&d, "KEY-D") },
            pb::EnrollLoanRequest { annual_rate: "0.0401".into(), ..enrol_request(&e, "RATE-E") },
            enrol_request(&f, "GOOD-F"),
        ],
    )
    .await;
    let number_winners = outcomes[..2].iter().filter(|o| o.is_ok()).count();
    assert_eq!(number_winners, 1, "{outcomes:?}");
    let number_loser = outcomes[..2].iter().position(|o| o.is_err()).unwrap();
    assert_error(outcomes[number_loser].as_ref().unwrap_err(), Code::AlreadyExists, "ALREADY_EXISTS");
    assert_eq!(
        application_status(&app, &actors.bank_key, [&a, &b][number_loser]).await,
        pb::ApplicationStatus::Approved
    );

    assert_eq!(outcomes[2..4].iter().filter(|o| o.is_ok()).count(), 1, "{outcomes:?}");
    let key_loser = 2 + outcomes[2..4].iter().position(|o| o.is_err()).unwrap();
    assert_error(outcomes[key_loser].as_ref().unwrap_err(), Code::AlreadyExists, "IDEMPOTENCY_KEY_REUSED");
    assert_eq!(
        application_status(&app, &actors.bank_key, [&c, &d][key_loser - 2]).await,
        pb::ApplicationStatus::Approved
    );

    assert_error(outcomes[4].as_ref().unwrap_err(), Code::FailedPrecondition, "RATE_ABOVE_CAP");
    assert_eq!(application_status(&app, &actors.bank_key, &e).await, pb::ApplicationStatus::Approved);
    assert!(outcomes[5].is_ok(), "{:?}", outcomes[5]);

    // Five loans of 1,000,000.00 in all, and the books agree.
    let listed = app.loans_as(&actors.officer).list_loans(pb::ListLoansRequest::default()).await.unwrap().into_inner();
    assert_eq!(listed.loans.len(), 5, "{:?}", listed.loans);
    assert_eq!(position(&app, &actors.officer).await.covered_outstanding, "5000000.00");
    assert_ledger_verifies(&app, &actors.auditor).await;
}

/// A `techcredit-server` process (under its test name), killed on drop.
struct ServerProcess {
    child: Child,
    address: String,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_process(database_url: &str, data_dir: &std::path::Path) -> ServerProcess {
    start_process_on(database_url, data_dir, "system")
}

/// `start_process` with the business clock `clock` (`system` or `simulated:YYYY-MM-DD`).
fn start_process_on(database_url: &str, data_dir: &std::path::Path, clock: &str) -> ServerProcess {
    start_process_with(database_url, data_dir, clock, None)
}

/// `start_process_on` with a policy file (`None`: the default policy).
fn start_process_with(
    database_url: &str,
    data_dir: &std::path::Path,
    clock: &str,
    policy: Option<&std::path::Path>,
) -> ServerProcess {
    let mut command = Command::new(env!("CARGO_BIN_EXE_e2e-server"));
    if let Some(policy) = policy {
        command.arg("--policy").arg(policy);
    }
    let mut child = command
        .args(["--listen", "127.0.0.1:0", "--no-migrate", "--clock", clock, "--data-dir"])
        .arg(data_dir)
        .env("DATABASE_URL", database_url)
        // Through the suite's PgBouncer, when the URL leads there.
        .env(
            "TECHCREDIT__DATABASE_TRANSACTION_POOLING",
            std::env::var("TEST_DATABASE_POOLER").is_ok_and(|pooler| database_url.contains(&pooler)).to_string(),
        )
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start server process");
    let address = tests::process_address(&mut child);
    ServerProcess { child, address }
}

#[tokio::test]
async fn two_server_processes_on_one_postgresql_never_overshoot_a_limit() {
    let app = spawn_app().await;
    let TestDatabase::Postgres { url, .. } = app.database.clone() else {
        // The multi-process race needs a shared server database; SQLite runs the
        // single-process races above.
        return;
    };
    let actors = actors(&app, "nbcb", "100000000.00").await;
    fund_pool(&app, &actors.finance, "500000.00").await;
    let applications = applications(&app, &actors, 16, false, 400).await;
    let dir = tempfile::tempdir().unwrap();
    let first = start_process(&url, dir.path());
    let second = start_process(&url, dir.path());
    let mut clients = Vec::new();
    for process in [&first, &second] {
        let channel = tonic::transport::Channel::from_shared(format!("http://{}", process.address))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let value: tonic::metadata::MetadataValue<_> = format!("Bearer {}", actors.bank_key).parse().unwrap();
        let authed = tonic::service::interceptor::InterceptedService::new(channel, tests::Bearer::new(value));
        for _ in 0..4 {
            clients.push(proto::v1::loan_application_service_client::LoanApplicationServiceClient::new(authed.clone()));
        }
    }
    let (loans, refusals) = race(clients, &applications).await;
    assert_eq!(loans.len(), 6, "refusals: {refusals:?}");
    assert!(refusals.iter().all(|r| r == "LEVERAGE_LIMIT_EXCEEDED"), "{refusals:?}");
    let position = position(&app, &actors.officer).await;
    assert_eq!(domain_fen(&position.covered_outstanding), sum(&loans));
    assert_ledger_verifies(&app, &actors.auditor).await;
}

/// Clients of the settlement service through `processes` (or the test server when none),
/// authenticated with `key`, several per process.
async fn settlement_clients(
    app: &TestApp,
    processes: &[ServerProcess],
    key: &str,
) -> Vec<proto::v1::settlement_service_client::SettlementServiceClient<tests::Authed>> {
    if processes.is_empty() {
        return vec![app.settlement_as(key); 4];
    }
    let mut clients = Vec::new();
    for process in processes {
        let channel = tonic::transport::Channel::from_shared(format!("http://{}", process.address))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let value: tonic::metadata::MetadataValue<_> = format!("Bearer {key}").parse().unwrap();
        let authed = tonic::service::interceptor::InterceptedService::new(channel, tests::Bearer::new(value));
        for _ in 0..2 {
            clients.push(proto::v1::settlement_service_client::SettlementServiceClient::new(authed.clone()));
        }
    }
    clients
}

/// The statement that owes the loan's bank 1,330,000.00: the loan defaults with 1,900,000.00
/// outstanding (70% of it is compensation), its claim is approved by two officers and the
/// month's statement drafted. Returns the draft; the caller confirms it once the month has
/// ended.
async fn statement_owing_1_330_000(
    app: &TestApp,
    actors: &Actors,
    second_officer: &str,
    serial: u32,
    loan: String,
) -> pb::Statement {
    default_with(app, actors, &loan, "1900000.00").await;
    let claim = file(app, actors, &loan).await;
    for (officer, id) in [(&actors.officer, "one"), (&second_officer.to_owned(), "two")] {
        app.settlement_as(officer)
            .approve_claim(pb::ApproveClaimRequest {
                request_id: format!("approve-{serial}-{id}"),
                name: claim.name.clone(),
                approval_date: days_ago(0),
                comment: "checked the file".into(),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    app.settlement_as(&actors.finance)
        .run_settlement(pb::RunSettlementRequest {
            request_id: format!("run-{serial}"),
            bank: format!("banks/{}", actors.bank),
            period: today().format("%Y-%m").to_string(),
        })
        .await
        .unwrap()
        .into_inner()
        .statement
        .unwrap()
}

/// Four banks are each owed 1,330,000.00 and the escrow holds 1,500,000.00: four payments at
/// once (through two server processes on PostgreSQL) pay exactly what the cash allows. One is
/// paid; the other three are refused with the cash there is, their statements untouched; the
/// cash never goes below zero, and the rest of it pays one statement in part.
#[tokio::test]
async fn racing_statement_payments_spend_exactly_the_cash_there_is() {
    let app = tests::spawn_app_on(&days_ago(0)).await;
    let first = actors(&app, "nbcb", "100000000.00").await;
    let mut banks = vec![first.clone()];
    for bank in ["icbc", "abc", "boc"] {
        create_bank(&app, bank, "100000000.00").await;
        let bank_key = issue_key(&app, pb::Role::Bank, &format!("banks/{bank}")).await;
        banks.push(Actors { bank: bank.to_owned(), bank_key, ..first.clone() });
    }
    let finance = banks[0].finance.clone();
    let auditor = banks[0].auditor.clone();
    // 1,500,000.00 of capital carries 18,000,000.00 at 12× leverage: the four loans fit.
    fund_pool(&app, &finance, "1500000.00").await;
    let second_officer = issue_key(&app, pb::Role::RiskOfficer, "").await;
    // Every loan is enrolled before any defaults: the first approved claim suspends the pool.
    let mut loans = Vec::new();
    for (n, bank) in banks.iter().enumerate() {
        loans.push(enrolled_pure_credit_loan(&app, bank, 600 + n as u32).await);
    }
    let mut statements = Vec::new();
    for (n, (bank, loan)) in banks.iter().zip(loans).enumerate() {
        statements.push(statement_owing_1_330_000(&app, bank, &second_officer, 600 + n as u32, loan).await);
    }
    let value_date = next_month_start();
    app.advance_to(&value_date).await;
    for statement in &mut statements {
        *statement = app
            .settlement_as(&finance)
            .confirm_statement(pb::ConfirmStatementRequest {
                request_id: format!("confirm-{}", statement.name),
                name: statement.name.clone(),
                content_sha256: statement.content_sha256.clone(),
            })
            .await
            .unwrap()
            .into_inner()
            .statement
            .unwrap();
        assert_eq!(statement.amount_due, "1330000.00");
    }

    let dir = tempfile::tempdir().unwrap();
    let processes = match app.database.clone() {
        TestDatabase::Postgres { url, .. } => {
            let clock = format!("simulated:{value_date}");
            vec![start_process_on(&url, dir.path(), &clock), start_process_on(&url, dir.path(), &clock)]
        }
        TestDatabase::Sqlite => Vec::new(),
    };
    let clients = settlement_clients(&app, &processes, &finance).await;
    let pay = |statement: &pb::Statement, id: &str, amount: &str| pb::RecordStatementPaymentRequest {
        request_id: id.to_owned(),
        statement: statement.name.clone(),
        amount: amount.to_owned(),
        value_date: value_date.clone(),
        reference: format!("CUST-{id}"),
    };
    let calls: Vec<_> = statements
        .iter()
        .enumerate()
        .map(|(n, statement)| {
            let mut client = clients[n % clients.len()].clone();
            let request = pay(statement, &format!("race-{n}"), "1330000.00");
            tokio::spawn(async move { client.record_statement_payment(request).await })
        })
        .collect();
    let mut paid = Vec::new();
    let mut refused = Vec::new();
    for (n, call) in calls.into_iter().enumerate() {
        match call.await.unwrap() {
            Ok(response) => paid.push((n, response.into_inner().statement.unwrap())),
            Err(status) => {
                assert_error(&status, Code::FailedPrecondition, "INSUFFICIENT_ESCROW_CASH");
                assert!(
                    status.message().contains("170000.00"),
                    "the refusal names the cash left: {}",
                    status.message()
                );
                refused.push(n);
            }
        }
    }
    assert_eq!(paid.len(), 1, "one payment fits in 1,500,000.00; refused: {refused:?}");
    assert_eq!(paid[0].1.status(), pb::StatementStatus::Paid);
    assert_eq!(position(&app, &auditor).await.escrow_cash, "170000.00");
    let settlement = app.settlement_as(&auditor);
    for &n in &refused {
        let untouched = settlement
            .clone()
            .get_statement(pb::GetStatementRequest { name: statements[n].name.clone() })
            .await
            .unwrap()
            .into_inner()
            .statement
            .unwrap();
        assert_eq!(untouched.status(), pb::StatementStatus::Confirmed);
        assert_eq!((untouched.amount_paid.as_str(), untouched.amount_outstanding.as_str()), ("0.00", "1330000.00"));
    }

    // What is left pays one of the others in part, to the fen, and not a fen more.
    let partly = &statements[refused[0]];
    let mut client = clients[0].clone();
    let over = client.record_statement_payment(pay(partly, "rest-over", "170000.01")).await.unwrap_err();
    assert_error(&over, Code::FailedPrecondition, "INSUFFICIENT_ESCROW_CASH");
    let rest = client.record_statement_payment(pay(partly, "rest", "170000.00")).await.unwrap().into_inner();
    let rest = rest.statement.unwrap();
    assert_eq!(rest.status(), pb::StatementStatus::PartiallyPaid);
    assert_eq!(rest.amount_outstanding, "1160000.00");
    let after = position(&app, &auditor).await;
    assert_eq!(after.escrow_cash, "0.00");
    assert_eq!(after.payables, "3820000.00");
    assert_ledger_verifies(&app, &auditor).await;
    drop(processes);
}

/// One call of the crash test's burst.
#[derive(Debug, Clone)]
enum Call {
    Enrol(pb::EnrollLoanRequest),
    Report(pb::ReportLoanStatusRequest),
    File(pb::FileClaimRequest),
    Confirm(pb::ConfirmStatementRequest),
    Pay(pb::RecordStatementPaymentRequest),
    Submit(pb::SubmitApplicationRequest),
    /// A loan tape of the claiming bank, as its stream of messages.
    Tape(Vec<pb::ReconcileLoanTapeRequest>),
}

/// How a call ended: the resource it answered with, a refusal, or no answer at all (the
/// server died under it).
#[derive(Debug, Clone, PartialEq)]
enum Answer {
    Done(String),
    Refused(Code, String),
    None,
}

/// The clients of one server process: a bank that enrols and reports, a bank that claims,
/// and finance.
#[derive(Clone)]
struct Desk {
    bank: proto::v1::loan_application_service_client::LoanApplicationServiceClient<tests::Authed>,
    bank_settlement: proto::v1::settlement_service_client::SettlementServiceClient<tests::Authed>,
    finance: proto::v1::settlement_service_client::SettlementServiceClient<tests::Authed>,
}

async fn desk(process: &ServerProcess, bank_key: &str, claiming_bank_key: &str, finance_key: &str) -> Desk {
    let channel =
        tonic::transport::Channel::from_shared(format!("http://{}", process.address)).unwrap().connect().await.unwrap();
    Desk {
        bank: pb::loan_application_service_client::LoanApplicationServiceClient::new(tests::with_key(
            channel.clone(),
            bank_key,
        )),
        bank_settlement: pb::settlement_service_client::SettlementServiceClient::new(tests::with_key(
            channel.clone(),
            claiming_bank_key,
        )),
        finance: pb::settlement_service_client::SettlementServiceClient::new(tests::with_key(channel, finance_key)),
    }
}

async fn send(desk: &mut Desk, call: &Call) -> Answer {
    let answered = match call.clone() {
        Call::Enrol(request) => desk.bank.enroll_loan(request).await.map(|r| r.into_inner().loan.unwrap().name),
        Call::Report(request) => desk.bank.report_loan_status(request).await.map(|r| {
            let loan = r.into_inner().loan.unwrap();
            format!("{} {}", loan.name, loan.outstanding_principal)
        }),
        Call::File(request) => {
            desk.bank_settlement.file_claim(request).await.map(|r| r.into_inner().claim.unwrap().name)
        }
        Call::Confirm(request) => desk.finance.confirm_statement(request).await.map(|r| {
            let statement = r.into_inner().statement.unwrap();
            format!("{} {:?}", statement.name, statement.status())
        }),
        Call::Pay(request) => desk.finance.record_statement_payment(request).await.map(|r| {
            let statement = r.into_inner().statement.unwrap();
            format!("{} paid {}", statement.name, statement.amount_paid)
        }),
        Call::Submit(request) => desk.bank.submit_application(request).await.map(|r| {
            let application = r.into_inner().application.unwrap();
            format!("{} {:?}", application.name, application.status())
        }),
        Call::Tape(messages) => desk
            .bank_settlement
            .reconcile_loan_tape(tokio_stream::iter(messages))
            .await
            .map(|r| r.into_inner().report.unwrap().name),
    };
    match answered {
        Ok(resource) => Answer::Done(resource),
        // The server's own answers; anything else (a broken or refused connection) is none.
        Err(status)
            if matches!(
                status.code(),
                Code::InvalidArgument
                    | Code::FailedPrecondition
                    | Code::AlreadyExists
                    | Code::NotFound
                    | Code::PermissionDenied
            ) =>
        {
            Answer::Refused(status.code(), status.message().to_owned())
        }
        Err(_) => Answer::None,
    }
}

/// The crash test's and the two-replica test's book, and the burst of calls to send at it.
struct Burst {
    /// Six lanes of calls, each in an order that matters (confirm before pay).
    lanes: Vec<Vec<Call>>,
    nbcb: Actors,
    icbc: Actors,
    /// The two statements the burst confirms and pays.
    statements: Vec<pb::Statement>,
    /// The business date the burst runs on.
    value_date: String,
}

/// Makes the book on `app` (a simulated clock) and the burst: nbcb enrols and reports (and
/// keeps a clean book: a bank above 5% NPL is suspended); icbc and abc are owed a statement
/// each, and icbc claims on four more defaults.
async fn prepare_burst(app: &TestApp) -> Burst {
    let nbcb = actors(app, "nbcb", "100000000.00").await;
    let mut other = Vec::new();
    for bank in ["icbc", "abc"] {
        create_bank(app, bank, "100000000.00").await;
        let bank_key = issue_key(app, pb::Role::Bank, &format!("banks/{bank}")).await;
        other.push(Actors { bank: bank.to_owned(), bank_key, ..nbcb.clone() });
    }
    let icbc = other[0].clone();
    fund_pool(app, &nbcb.finance, "50000000.00").await;
    let second_officer = issue_key(app, pb::Role::RiskOfficer, "").await;
    // Approved applications to enrol, and loans to report on.
    let applications = applications(app, &nbcb, 30, false, 720).await;
    let mut enrolled = Vec::new();
    for (n, application) in applications[..10].iter().enumerate() {
        enrolled.push(enrol(app, &nbcb, application, &format!("PRE-{n}")).await.name);
    }
    // Every loan of icbc enrolled before its first default (which suspends it): four to
    // default and claim on, and one each of icbc and abc for two statements owing
    // 1,330,000.00, to confirm and pay in the burst.
    let mut defaulted = Vec::new();
    for n in 0..4 {
        defaulted.push(enrolled_pure_credit_loan(app, &icbc, 760 + n).await);
    }
    let mut owing = Vec::new();
    for (n, bank) in other.iter().enumerate() {
        owing.push(enrolled_pure_credit_loan(app, bank, 700 + n as u32).await);
    }
    for loan in &defaulted {
        default_loan(app, &icbc, loan).await;
    }
    let mut statements = Vec::new();
    for (n, (bank, loan)) in other.iter().zip(owing).enumerate() {
        statements.push(statement_owing_1_330_000(app, bank, &second_officer, 700 + n as u32, loan).await);
    }
    let value_date = next_month_start();
    app.advance_to(&value_date).await;
    let day_before = (chrono::NaiveDate::parse_from_str(&value_date, "%Y-%m-%d").unwrap() - chrono::Days::new(1))
        .format("%Y-%m-%d")
        .to_string();

    // Six desks, each with calls in an order that matters (confirm before pay).
    let mut lanes: Vec<Vec<Call>> = vec![Vec::new(); 6];
    for (n, statement) in statements.iter().enumerate() {
        lanes[n].push(Call::Confirm(pb::ConfirmStatementRequest {
            request_id: format!("crash-confirm-{n}"),
            name: statement.name.clone(),
            content_sha256: statement.content_sha256.clone(),
        }));
        lanes[n].push(Call::Pay(pb::RecordStatementPaymentRequest {
            request_id: format!("crash-pay-{n}"),
            statement: statement.name.clone(),
            amount: "1330000.00".into(),
            value_date: value_date.clone(),
            reference: format!("CRASH-{n}"),
        }));
    }
    for (n, application) in applications[10..].iter().enumerate() {
        lanes[2 + n % 4].push(Call::Enrol(pb::EnrollLoanRequest {
            request_id: format!("crash-enrol-{n}"),
            disbursement_date: day_before.clone(),
            ..enrol_request(application, &format!("CRASH-{n}"))
        }));
    }
    for (n, loan) in enrolled[..10].iter().enumerate() {
        lanes[2 + n % 4].push(Call::Report(pb::ReportLoanStatusRequest {
            request_id: format!("crash-report-{n}"),
            loan: loan.clone(),
            report_date: value_date.clone(),
            outstanding_principal: "900000.00".into(),
            days_past_due: 0,
            classification: pb::LoanClassification::Normal as i32,
            repaid: false,
            ..Default::default()
        }));
    }
    for (n, loan) in defaulted.iter().enumerate() {
        lanes[2 + n % 4].push(Call::File(pb::FileClaimRequest {
            request_id: format!("crash-file-{n}"),
            loan: loan.clone(),
            claim_date: value_date.clone(),
            memo: "borrower insolvent".into(),
        }));
    }

    Burst { lanes, nbcb, icbc, statements, value_date }
}

/// Every call of `burst` landed once: the counts of what they made, the money, the books,
/// the trail.
async fn assert_landed_once(address: &str, burst: &Burst) {
    let Burst { nbcb, statements, .. } = burst;
    let channel = tonic::transport::Channel::from_shared(format!("http://{address}")).unwrap().connect().await.unwrap();
    let auditor = |channel: &tonic::transport::Channel| tests::with_key(channel.clone(), &nbcb.auditor);
    let loans = pb::loan_application_service_client::LoanApplicationServiceClient::new(auditor(&channel))
        .list_loans(pb::ListLoansRequest { page_size: 1000, ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .loans;
    assert_eq!(loans.len(), 10 + 4 + 2 + 20, "every enrolment once");
    let mut settlement = pb::settlement_service_client::SettlementServiceClient::new(auditor(&channel));
    let claims = settlement.list_claims(pb::ListClaimsRequest { page_size: 1000, ..Default::default() }).await.unwrap();
    assert_eq!(claims.into_inner().claims.len(), 2 + 4, "every claim once");
    for statement in statements {
        let paid = settlement
            .get_statement(pb::GetStatementRequest { name: statement.name.clone() })
            .await
            .unwrap()
            .into_inner()
            .statement
            .unwrap();
        assert_eq!((paid.status(), paid.amount_paid.as_str()), (pb::StatementStatus::Paid, "1330000.00"));
    }
    let mut pool = pb::risk_pool_service_client::RiskPoolServiceClient::new(auditor(&channel));
    let position = pool.get_pool_position(pb::GetPoolPositionRequest::default()).await.unwrap().into_inner();
    let position = position.position.unwrap();
    // 50,000,000.00 in, 2 × 1,330,000.00 paid out of escrow.
    assert_eq!(position.escrow_cash, "47340000.00");
    // Ten loans reported down to 900,000.00 and twenty new ones of 1,000,000.00 each are the
    // active book; the covered total is every loan's outstanding principal.
    let active: i64 = loans
        .iter()
        .filter(|l| l.status() == pb::LoanStatus::Active)
        .map(|l| domain_fen(&l.outstanding_principal))
        .sum();
    assert_eq!(active, domain_fen("29000000.00"));
    let outstanding: i64 = loans.iter().map(|l| domain_fen(&l.outstanding_principal)).sum();
    assert_eq!(domain_fen(&position.covered_outstanding), outstanding, "{position:?}");
    assert!(!position.headroom.starts_with('-'), "the leverage limit holds: {position:?}");
    let verified = pool.verify_ledger(pb::VerifyLedgerRequest {}).await.unwrap().into_inner();
    assert!(verified.ok, "{:?}", verified.differences);
    let mut audit = pb::audit_service_client::AuditServiceClient::new(auditor(&channel));
    let chain = audit.verify_audit(pb::VerifyAuditRequest {}).await.unwrap().into_inner();
    assert!(chain.ok, "{chain:?}");
    for (method, expected) in [
        ("EnrollLoan", 10 + 4 + 2 + 20),
        ("ReportLoanStatus", 10 + 4 + 2),
        ("FileClaim", 4 + 2),
        ("RecordStatementPayment", 2),
    ] {
        let accepted = audit
            .list_audit_records(pb::ListAuditRecordsRequest {
                method: method.into(),
                outcome: pb::AuditOutcome::Accepted as i32,
                page_size: 1000,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .audit_records;
        assert_eq!(accepted.len(), expected, "{method}: one accepted record per change");
    }
}

/// Crash safety: a burst of enrolments, status reports, claims, statement confirmations and
/// payments against a server process that is killed with SIGKILL in the middle of it. After
/// a restart every call that got no answer is sent again with its request_id: every call
/// then has landed exactly once — what was acknowledged before the kill is there and answers
/// the same again, nothing is applied twice — and the books, the audit chain and every limit
/// hold.
#[tokio::test]
async fn a_server_killed_mid_burst_loses_nothing_acknowledged_and_applies_nothing_twice() {
    let app = tests::spawn_app_on(&days_ago(0)).await;
    let burst = prepare_burst(&app).await;
    let Burst { lanes, nbcb, icbc, value_date, .. } = &burst;
    let total: usize = lanes.iter().map(Vec::len).sum();

    // The in-process server lets go of the database (and of SQLite's data directory).
    let mut app = app;
    app.stop_server().await;
    let url = app.database.url(&app.settings.data_dir);
    let clock = format!("simulated:{value_date}");
    let mut first = start_process_on(&url, &app.settings.data_dir, &clock);
    let desk_one = desk(&first, &nbcb.bank_key, &icbc.bank_key, &nbcb.finance).await;
    let answered = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let workers: Vec<_> = lanes
        .iter()
        .cloned()
        .map(|lane| {
            let (mut desk, answered) = (desk_one.clone(), answered.clone());
            tokio::spawn(async move {
                let mut answers = Vec::new();
                for call in &lane {
                    let answer = send(&mut desk, call).await;
                    if answer == Answer::None {
                        break; // The rest of the lane waits for the restart, in order.
                    }
                    answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    answers.push(answer);
                }
                answers
            })
        })
        .collect();
    // SIGKILL once a third of the burst is answered, with the rest in flight or queued.
    while answered.load(std::sync::atomic::Ordering::SeqCst) < total / 3 {
        tokio::task::yield_now().await;
    }
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    let mut before_kill = Vec::new();
    for worker in workers {
        before_kill.push(worker.await.unwrap());
    }
    let acknowledged: usize = before_kill.iter().map(Vec::len).sum();
    assert!(acknowledged >= total / 3 && acknowledged < total, "{acknowledged} of {total} answered before the kill");
    for answer in before_kill.iter().flatten() {
        assert!(matches!(answer, Answer::Done(_)), "every call of the burst is valid: {answer:?}");
    }

    // Restart; send again every call without an answer, in its lane's order.
    let second = start_process_on(&url, &app.settings.data_dir, &clock);
    let mut again = desk(&second, &nbcb.bank_key, &icbc.bank_key, &nbcb.finance).await;
    for (lane, answers) in lanes.iter().zip(&before_kill) {
        for call in &lane[answers.len()..] {
            let answer = send(&mut again, call).await;
            assert!(matches!(answer, Answer::Done(_)), "{call:?} after the restart: {answer:?}");
        }
    }
    // What was acknowledged before the kill is there and answers the same again.
    for (lane, answers) in lanes.iter().zip(&before_kill) {
        for (call, answer) in lane.iter().zip(answers) {
            assert_eq!(&send(&mut again, call).await, answer, "{call:?} answers as before");
        }
    }

    assert_landed_once(&second.address, &burst).await;
}

/// Two replicas, one database: the crash test's mixed burst (enrolments, status reports,
/// claims, statement confirmations and payments), new applications and the same loan tape
/// twice, spread over two server processes on one PostgreSQL (through PgBouncer when the
/// suite runs through it) and sent all at once. Every call is answered as it would be by
/// one server, each lands once, the tape makes one report, and the books, the trail and
/// every limit hold.
#[tokio::test]
async fn two_replicas_on_one_postgresql_share_a_mixed_workload_and_the_books_hold() {
    let app = tests::spawn_app_on(&days_ago(0)).await;
    let TestDatabase::Postgres { url, pooled } = app.database.clone() else {
        // Replicas share a server database; on SQLite one process owns the file.
        return;
    };
    let mut burst = prepare_burst(&app).await;
    for n in 0..6u32 {
        burst.lanes[n as usize].push(Call::Submit(pb::SubmitApplicationRequest {
            request_id: format!("replica-submit-{n}"),
            bank: "banks/nbcb".into(),
            enterprise: Some(good_enterprise(&local_uscc(900 + n))),
            terms: Some(good_terms("1000000.00")),
        }));
    }
    let tape = messages("banks/icbc", &burst.value_date, Vec::new());
    burst.lanes[0].push(Call::Tape(tape.clone()));
    burst.lanes[1].push(Call::Tape(tape));

    let mut app = app;
    app.stop_server().await;
    let server_url = pooled.unwrap_or(url);
    let clock = format!("simulated:{}", burst.value_date);
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let replicas: Vec<ServerProcess> =
        dirs.iter().map(|dir| start_process_on(&server_url, dir.path(), &clock)).collect();
    let mut desks = Vec::new();
    for replica in &replicas {
        desks.push(desk(replica, &burst.nbcb.bank_key, &burst.icbc.bank_key, &burst.nbcb.finance).await);
    }
    let workers: Vec<_> = burst
        .lanes
        .iter()
        .cloned()
        .enumerate()
        .map(|(n, lane)| {
            let mut desk = desks[n % 2].clone();
            tokio::spawn(async move {
                let mut answers = Vec::new();
                for call in &lane {
                    answers.push(send(&mut desk, call).await);
                }
                answers
            })
        })
        .collect();
    let mut answers = Vec::new();
    for worker in workers {
        answers.push(worker.await.unwrap());
    }
    for (lane, answers) in burst.lanes.iter().zip(&answers) {
        for (call, answer) in lane.iter().zip(answers) {
            assert!(matches!(answer, Answer::Done(_)), "{call:?}: {answer:?}");
        }
    }
    // Sent again through the other replica, every call answers the same.
    for (n, (lane, answers)) in burst.lanes.iter().zip(&answers).enumerate() {
        let mut other = desks[(n + 1) % 2].clone();
        for (call, answer) in lane.iter().zip(answers) {
            if !matches!(call, Call::Tape(_)) {
                assert_eq!(&send(&mut other, call).await, answer, "{call:?} through the other replica");
            }
        }
    }
    let tape_reports: Vec<&Answer> = answers[..2].iter().map(|lane| lane.last().unwrap()).collect();
    assert_eq!(tape_reports[0], tape_reports[1], "the same tape through both replicas makes one report");

    assert_landed_once(&replicas[1].address, &burst).await;
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", replicas[0].address))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let auditor = tests::with_key(channel, &burst.nbcb.auditor);
    let reports = pb::settlement_service_client::SettlementServiceClient::new(auditor.clone())
        .list_reconciliation_reports(pb::ListReconciliationReportsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .reports;
    assert_eq!(reports.len(), 1, "{reports:?}");
    let exposures = pb::risk_pool_service_client::RiskPoolServiceClient::new(auditor)
        .list_bank_exposures(pb::ListBankExposuresRequest::default())
        .await
        .unwrap()
        .into_inner()
        .exposures;
    assert_eq!(exposures.len(), 3);
    for exposure in &exposures {
        assert!(domain_fen(&exposure.quota_used) <= domain_fen(&exposure.quota), "the quota holds: {exposure:?}");
        assert!(!exposure.annual_cap_remaining.starts_with('-'), "the annual cap holds: {exposure:?}");
    }
}

/// Overload: many times more enrolments at once than the server takes (four in flight). Each
/// is enrolled or shed at once with RESOURCE_EXHAUSTED, health answers SERVING all along,
/// and sending the shed ones again (same request_id) lands every loan exactly once.
#[tokio::test]
async fn under_ten_times_the_load_it_takes_health_answers_and_every_loan_lands_once() {
    let app = tests::spawn_app_with(|settings| settings.max_in_flight_calls = 4).await;
    let actors = actors(&app, "nbcb", "1000000000.00").await;
    fund_pool(&app, &actors.finance, "50000000.00").await;
    let applications = applications(&app, &actors, 40, false, 900).await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let prober = {
        let (channel, stop) = (app.channel(), stop.clone());
        tokio::spawn(async move {
            let mut answers = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let answer = tonic_health::pb::health_client::HealthClient::new(channel.clone())
                    .check(tonic_health::pb::HealthCheckRequest { service: String::new() })
                    .await
                    .map(|r| r.into_inner().status);
                answers.push(answer);
                tokio::task::yield_now().await;
            }
            answers
        })
    };
    let mut pending: Vec<pb::EnrollLoanRequest> =
        applications.iter().enumerate().map(|(n, a)| enrol_request(a, &format!("LOAD-{n}"))).collect();
    let mut shed = 0;
    let mut loans = std::collections::BTreeMap::new();
    for _round in 0..100 {
        if pending.is_empty() {
            break;
        }
        let client = app.loans_as(&actors.bank_key);
        let calls: Vec<_> = pending
            .iter()
            .cloned()
            .map(|request| {
                let mut client = client.clone();
                tokio::spawn(async move { (request.clone(), client.enroll_loan(request).await) })
            })
            .collect();
        pending.clear();
        for call in calls {
            let (request, answer) = call.await.unwrap();
            match answer {
                Ok(response) => {
                    let loan = response.into_inner().loan.unwrap();
                    assert!(loans.insert(request.application.clone(), loan.name).is_none(), "enrolled twice");
                }
                Err(status) => {
                    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
                    shed += 1;
                    pending.push(request);
                }
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let health = prober.await.unwrap();
    assert!(pending.is_empty(), "{} enrolments never got in", pending.len());
    assert!(shed > 0, "the load was beyond what the server takes");
    assert!(!health.is_empty(), "health was asked");
    assert!(
        health.iter().all(
            |h| matches!(h, Ok(s) if *s == tonic_health::pb::health_check_response::ServingStatus::Serving as i32)
        ),
        "health answered SERVING throughout: {:?}",
        health.iter().filter(|h| h.is_err()).take(3).collect::<Vec<_>>()
    );
    assert_eq!(loans.len(), applications.len());
    let listed =
        app.loans_as(&actors.officer).list_loans(pb::ListLoansRequest { page_size: 1000, ..Default::default() }).await;
    assert_eq!(listed.unwrap().into_inner().loans.len(), applications.len(), "every loan once");
    assert_eq!(position(&app, &actors.officer).await.covered_outstanding, "40000000.00");
    assert_ledger_verifies(&app, &actors.auditor).await;
}

/// The database refuses connections in the middle of a stream of enrolments, then takes them
/// again: calls during the outage are UNAVAILABLE (never INTERNAL), health turns NOT_SERVING
/// and back to SERVING without a restart, and every call sent again with its request_id
/// lands exactly once. (PostgreSQL: connections to the test's database are refused and the
/// open ones ended.)
#[tokio::test]
async fn a_database_that_refuses_connections_and_returns_loses_and_doubles_nothing() {
    use sea_orm::ConnectionTrait;
    use tonic_health::pb::health_check_response::ServingStatus;
    let app = spawn_app().await;
    let TestDatabase::Postgres { url, .. } = app.database.clone() else {
        return; // SQLite is a file inside the process: it does not refuse connections.
    };
    let actors = actors(&app, "nbcb", "1000000000.00").await;
    fund_pool(&app, &actors.finance, "50000000.00").await;
    let applications = applications(&app, &actors, 24, false, 950).await;
    let (base, name) = url.rsplit_once('/').unwrap();
    let admin = sea_orm::Database::connect(format!("{base}/postgres")).await.unwrap();
    let health = || async {
        tonic_health::pb::health_client::HealthClient::new(app.channel())
            .check(tonic_health::pb::HealthCheckRequest { service: String::new() })
            .await
            .unwrap()
            .into_inner()
            .status()
    };
    let until = |wanted: ServingStatus| async move {
        for _ in 0..100 {
            if health().await == wanted {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("health never turned {wanted:?}");
    };
    let requests: Vec<pb::EnrollLoanRequest> =
        applications.iter().enumerate().map(|(n, a)| enrol_request(a, &format!("OUT-{n}"))).collect();
    let mut client = app.loans_as(&actors.bank_key);
    let mut failed = Vec::new();
    let mut loans = std::collections::BTreeMap::new();
    for (n, request) in requests.iter().enumerate() {
        if n == 8 {
            admin.execute_unprepared(&format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS false")).await.unwrap();
            admin
                .execute_unprepared(&format!(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"
                ))
                .await
                .unwrap();
        }
        if n == 16 {
            until(ServingStatus::NotServing).await;
            admin.execute_unprepared(&format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS true")).await.unwrap();
        }
        match client.enroll_loan(request.clone()).await {
            Ok(response) => {
                loans.insert(request.request_id.clone(), response.into_inner().loan.unwrap().name);
            }
            Err(status) => {
                assert_eq!(status.code(), Code::Unavailable, "{status:?}");
                failed.push(request.clone());
            }
        }
    }
    assert!(failed.len() >= 8, "the calls of the outage failed: {} did", failed.len());
    until(ServingStatus::Serving).await;
    for request in &failed {
        let loan = client.enroll_loan(request.clone()).await.expect("a retried call lands").into_inner().loan.unwrap();
        assert!(loans.insert(request.request_id.clone(), loan.name).is_none());
    }
    // The ones that landed before answer the same again: nothing is enrolled twice.
    for request in &requests {
        let again = client.enroll_loan(request.clone()).await.unwrap().into_inner().loan.unwrap();
        assert_eq!(loans[&request.request_id], again.name);
    }
    let listed =
        app.loans_as(&actors.officer).list_loans(pb::ListLoansRequest { page_size: 1000, ..Default::default() }).await;
    assert_eq!(listed.unwrap().into_inner().loans.len(), requests.len(), "every loan once");
    assert_eq!(position(&app, &actors.officer).await.covered_outstanding, "24000000.00");
    assert_ledger_verifies(&app, &actors.auditor).await;
}

/// Four claims of one cohort, each 700,000.00, against a portfolio cap of 960,000.00
/// (8% of 12,000,000.00 enrolled): their second approvals race (through two server
/// processes on PostgreSQL). Whatever the order, the cohort gets exactly 960,000.00: one
/// claim whole, one the 260,000.00 left, two nothing.
#[tokio::test]
async fn racing_approvals_never_pay_a_cohort_beyond_its_portfolio_cap() {
    let policy = policy_with_portfolio_cap("0.08");
    let app = tests::spawn_app_with_policy(&policy).await;
    let actors = actors(&app, "nbcb", "100000000.00").await;
    fund_pool(&app, &actors.finance, "10000000.00").await;
    let second = issue_key(&app, pb::Role::RiskOfficer, "").await;
    let mut loans = Vec::new();
    for serial in 101..105 {
        loans.push(enrolled_pure_credit_loan(&app, &actors, serial).await);
    }
    let mut claims = Vec::new();
    for loan in &loans {
        default_with(&app, &actors, loan, "1000000.00").await;
        let claim = file(&app, &actors, loan).await;
        app.settlement_as(&actors.officer).approve_claim(approve(&claim, &format!("first-{loan}"))).await.unwrap();
        claims.push(claim);
    }
    let dir = tempfile::tempdir().unwrap();
    let policy_file = dir.path().join("policy.toml");
    std::fs::write(&policy_file, &policy).unwrap();
    let processes = match app.database.clone() {
        TestDatabase::Postgres { url, .. } => {
            vec![
                start_process_with(&url, dir.path(), "system", Some(&policy_file)),
                start_process_with(&url, dir.path(), "system", Some(&policy_file)),
            ]
        }
        TestDatabase::Sqlite => Vec::new(),
    };
    let clients = settlement_clients(&app, &processes, &second).await;
    let mut calls = Vec::new();
    for (index, claim) in claims.iter().enumerate() {
        let mut client = clients[index % clients.len()].clone();
        let request = approve(claim, &format!("second-{}", claim.name));
        calls.push(tokio::spawn(async move { client.approve_claim(request).await }));
    }
    let mut paid = Vec::new();
    for call in calls {
        let answer = call.await.unwrap().expect("every approval is decided");
        paid.push(answer.into_inner().claim.unwrap().compensation);
    }
    paid.sort();
    assert_eq!(paid, ["0.00", "0.00", "260000.00", "700000.00"]);
    assert_eq!(position(&app, &actors.auditor).await.compensation_approved, "960000.00");
    assert_ledger_verifies(&app, &actors.auditor).await;
    drop(processes);
}
