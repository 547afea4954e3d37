//! The `techcredit` binary against a real server: every command group through a month of the
//! pool, exit codes and errors, and `reconcile` with its tapes (a 10 MB line, a header
//! missing a column, a file that is not CSV, a Windows tape).

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod browser;

use std::io::Write;
use std::process::Command;

use proto::v1 as pb;
use tests::{TestApp, spawn_app};

fn techcredit(app: &TestApp, key: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_techcredit"));
    command.args(["--address", &format!("http://{}", app.address), "--key", key]);
    command
}

async fn bank_key(app: &TestApp) -> String {
    let mut admin = app.admin();
    admin
        .create_bank(pb::CreateBankRequest {
            request_id: "bank".into(),
            bank_id: "nbcb".into(),
            display_name: "NBCB".into(),
            quota: "1000000.00".into(),
        })
        .await
        .unwrap();
    admin
        .create_api_key(pb::CreateApiKeyRequest {
            request_id: "key".into(),
            role: pb::Role::Bank as i32,
            bank: "banks/nbcb".into(),
            description: "tape upload".into(),
            expire_date: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .secret
}

async fn reports(app: &TestApp) -> usize {
    app.settlement_as(&app.admin_key)
        .list_reconciliation_reports(pb::ListReconciliationReportsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .reports
        .len()
}

#[tokio::test]
async fn a_tape_with_a_ten_megabyte_line_is_reconciled_and_the_report_written() {
    let app = spawn_app().await;
    let key = bank_key(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let tape = dir.path().join("tape.csv");
    let mut file = std::fs::File::create(&tape).unwrap();
    writeln!(file, "bank_loan_number,uscc,outstanding_principal,days_past_due,classification").unwrap();
    writeln!(file, "N1,91330212MA2H000019,100.00,0,NORMAL").unwrap();
    writeln!(file, "N2,{},100.00,0,NORMAL", "X".repeat(10 * 1024 * 1024)).unwrap();
    writeln!(file, "N3,91330212MA2H000019,1.005,0,NORMAL").unwrap();
    drop(file);
    let report = dir.path().join("report.csv");
    let output = tokio::task::spawn_blocking({
        let mut command = techcredit(&app, &key);
        command
            .args(["reconcile", "--bank", "nbcb", "--as-of", "2025-06-30", "--quiet", "--report"])
            .arg(&report)
            .arg(&tape);
        move || command.output().unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    // Discrepancies found: exit code 4, the report written all the same.
    assert_eq!(output.status.code(), Some(4), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("3 rows read, 0 matched"), "{stdout}");
    assert!(stdout.contains("missing in pool 1") && stdout.contains("invalid 2"), "{stdout}");
    let written = std::fs::read_to_string(&report).unwrap();
    let lines: Vec<&str> = written.lines().collect();
    assert_eq!(lines[0], "kind,line,bank_loan_number,loan,bank_value,pool_value,difference,detail");
    assert!(lines[1].starts_with("MISSING_IN_POOL,2,N1,"), "{written}");
    assert!(
        lines[2].starts_with("INVALID_RECORD,3,N2,") && lines[2].contains("must be 18 characters"),
        "{}",
        &lines[2][..lines[2].len().min(200)]
    );
    assert!(
        lines[3].starts_with("INVALID_RECORD,4,N3,") && lines[3].contains("more than two fraction digits"),
        "{written}"
    );
    assert_eq!(lines.len(), 4);
}

#[tokio::test]
async fn a_header_missing_a_column_or_a_non_csv_file_fails_clearly_and_stores_nothing() {
    let app = spawn_app().await;
    let key = bank_key(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.csv");
    std::fs::write(&missing, "bank_loan_number,uscc,outstanding_principal,classification\nN1,x,1,NORMAL\n").unwrap();
    let binary = dir.path().join("tape.bin");
    std::fs::write(&binary, (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect::<Vec<u8>>()).unwrap();
    for (tape, expected) in [(missing, "lacks column(s) days_past_due"), (binary, "lacks column(s)")] {
        let mut command = techcredit(&app, &key);
        command.args(["reconcile", "--bank", "nbcb", "--as-of", "2025-06-30", "--quiet"]).arg(&tape);
        let output = tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap();
        assert_eq!(output.status.code(), Some(2), "a bad file is a usage error");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{stderr}");
    }
    assert_eq!(reports(&app).await, 0, "nothing stored");
}

/// A tape saved on Windows (CRLF line ends, a UTF-8 byte order mark) is the same tape as its
/// Unix copy: the same line numbers in the report, and sent after it, recognised as reconciled.
#[tokio::test]
async fn a_windows_tape_is_the_same_tape_as_its_unix_copy() {
    let app = spawn_app().await;
    let key = bank_key(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let rows = [
        "bank_loan_number,uscc,outstanding_principal,days_past_due,classification",
        "N1,91330212MA2H000019,100.00,0,NORMAL",
        "N2,91330212MA2H000019,1.005,0,NORMAL",
    ];
    let unix = dir.path().join("unix.csv");
    std::fs::write(&unix, rows.join("\n") + "\n").unwrap();
    let windows = dir.path().join("windows.csv");
    std::fs::write(&windows, format!("\u{feff}{}\r\n", rows.join("\r\n"))).unwrap();
    let mut outputs = Vec::new();
    for tape in [&unix, &windows] {
        let report = tape.with_extension("report.csv");
        let mut command = techcredit(&app, &key);
        command
            .args(["reconcile", "--bank", "nbcb", "--as-of", "2025-06-30", "--quiet", "--report"])
            .arg(&report)
            .arg(tape);
        let output = tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap();
        assert_eq!(output.status.code(), Some(4), "{}", String::from_utf8_lossy(&output.stderr));
        outputs.push((String::from_utf8_lossy(&output.stdout).into_owned(), std::fs::read_to_string(&report).unwrap()));
    }
    assert!(!outputs[0].0.contains("reconciled before"), "{}", outputs[0].0);
    assert!(outputs[1].0.contains("this tape was reconciled before"), "{}", outputs[1].0);
    assert_eq!(outputs[0].1, outputs[1].1, "the same discrepancies on the same lines");
    assert!(outputs[1].1.contains("MISSING_IN_POOL,2,N1,") && outputs[1].1.contains("INVALID_RECORD,3,N2,"));
    assert_eq!(reports(&app).await, 1);
}

/// Runs `techcredit` with `args` (in a blocking thread, so the test server keeps serving) and
/// returns its exit code, stdout and stderr.
async fn run(mut command: Command, args: &[&str]) -> (i32, String, String) {
    command.args(args);
    let output = tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `techcredit` against `app` with the key in `key_file` (never on the command line).
fn as_key(app: &TestApp, key_file: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_techcredit"));
    command
        .env("TECHCREDIT_ADDRESS", app.address.to_string())
        .env("TECHCREDIT_KEY_FILE", key_file)
        .env("TECHCREDIT_CONFIG", "/nonexistent/techcredit.toml")
        .env_remove("TECHCREDIT_KEY");
    command
}

/// Runs a command that must succeed and returns its stdout.
async fn ok(command: Command, args: &[&str]) -> String {
    let (code, stdout, stderr) = run(command, args).await;
    assert_eq!(code, 0, "techcredit {args:?}\nstdout: {stdout}\nstderr: {stderr}");
    stdout
}

/// Runs a read with `--output json` and parses it.
async fn json(command: Command, args: &[&str]) -> serde_json::Value {
    let mut args = args.to_vec();
    args.extend(["--output", "json"]);
    serde_json::from_str(&ok(command, &args).await).expect("the output is JSON")
}

/// A whole month of the pool through the command line only, as its users would run it: the
/// administrator sets up a bank and keys, finance funds the pool, the bank applies (from the
/// shipped example files) and enrols, an officer reviews, a loan defaults and is claimed with
/// four eyes, a recovery comes in, the month's statement is run, confirmed, paid and
/// exported, and the auditor verifies the books. Figures are checked against the API.
#[tokio::test]
async fn a_month_of_the_pool_through_the_command_line() {
    let app = tests::spawn_app_on("2026-06-01").await;
    let dir = tempfile::tempdir().unwrap();
    let key_file = |name: &str, secret: &str| {
        let path = dir.path().join(format!("{name}.key"));
        std::fs::write(&path, format!("{secret}\n")).unwrap();
        path
    };
    let admin = key_file("admin", &app.admin_key);
    let admin_cli = || as_key(&app, &admin);

    // Administrator: a bank and a key for every desk.
    let bank = json(
        admin_cli(),
        &["banks", "create", "nbcb", "--display-name", "宁波银行鄞州支行", "--quota", "150000000.00"],
    )
    .await;
    assert_eq!(bank["quota"], "150000000.00");
    let mut keys = std::collections::HashMap::new();
    for (role, extra) in
        [("bank", vec!["--bank", "nbcb"]), ("risk-officer", vec![]), ("finance", vec![]), ("auditor", vec![])]
    {
        let mut args = vec!["keys", "create", role, "--description", "a desk"];
        args.extend(extra);
        let created = json(admin_cli(), &args).await;
        keys.insert(role, key_file(role, created["secret"].as_str().unwrap()));
    }
    let second_officer =
        json(admin_cli(), &["keys", "create", "risk-officer", "--description", "second pair of eyes"]).await;
    let second_officer = key_file("officer2", second_officer["secret"].as_str().unwrap());
    let by = |role: &str| as_key(&app, &keys[role]);
    let listed = json(by("auditor"), &["keys", "list"]).await;
    assert_eq!(listed["apiKeys"].as_array().unwrap().len(), 6, "{listed}");
    assert!(!listed.to_string().contains(".key"), "no secret is listed");
    ok(admin_cli(), &["banks", "update", "nbcb", "--quota", "160000000.00"]).await;
    let shown = ok(by("auditor"), &["banks", "show", "nbcb"]).await;
    assert!(shown.contains("160,000,000.00") && shown.contains("宁波银行鄞州支行"), "{shown}");

    // Finance funds the pool.
    for verb in ["commit", "receive"] {
        ok(
            by("finance"),
            &["pool", "contributions", verb, "--from", "city", "--amount", "20000000.00", "--date", "2026-06-01"],
        )
        .await;
    }
    let interest = json(
        by("finance"),
        &["pool", "interest", "--amount", "1200.00", "--date", "2026-06-01", "--memo", "bank interest"],
    )
    .await;
    let reversed = json(
        by("finance"),
        &["pool", "reverse", interest["name"].as_str().unwrap(), "--date", "2026-06-01", "--reason", "posted twice"],
    )
    .await;
    assert_eq!(reversed["kind"], "ENTRY_KIND_REVERSAL");

    // The bank applies from the example files: one approved, one referred and reviewed.
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");
    let approved = json(by("bank"), &["applications", "submit", &format!("{examples}/application.toml")]).await;
    assert_eq!(approved["status"], "APPLICATION_STATUS_APPROVED");
    let again = json(by("bank"), &["applications", "submit", &format!("{examples}/application.toml")]).await;
    assert_eq!(again["name"], approved["name"], "the same file again is the same application");
    let referred = json(by("bank"), &["applications", "submit", &format!("{examples}/application.json")]).await;
    assert_eq!(referred["status"], "APPLICATION_STATUS_REFERRED");
    let referred_name = referred["name"].as_str().unwrap();
    let queue = ok(by("risk-officer"), &["applications", "list", "--status", "referred"]).await;
    assert!(queue.contains(referred_name), "{queue}");
    ok(
        by("risk-officer"),
        &["applications", "review", referred_name, "approve", "--reason", "first loan of a strong firm"],
    )
    .await;

    // Enrolment, and a default with 2,400,000.00 outstanding on the pure-credit loan.
    let first = json(
        by("bank"),
        &[
            "loans",
            "enrol",
            "--application",
            approved["name"].as_str().unwrap(),
            "--number",
            "NB-1",
            "--amount",
            "1000000.00",
            "--disbursed-on",
            "2026-05-30",
            "--rate",
            "0.035",
            "--maturity",
            "2027-05-30",
        ],
    )
    .await;
    assert_eq!(first["status"], "LOAN_STATUS_ACTIVE");
    let second = json(
        by("bank"),
        &[
            "loans",
            "enrol",
            "--application",
            referred_name,
            "--number",
            "NB-2",
            "--amount",
            "3000000.00",
            "--disbursed-on",
            "2026-05-30",
            "--rate",
            "0.038",
            "--maturity",
            "2028-05-30",
        ],
    )
    .await;
    assert_eq!(second["poolShare"], "0.70");
    let loan = second["name"].as_str().unwrap();
    let defaulted = json(
        by("bank"),
        &[
            "loans",
            "report",
            loan,
            "--date",
            "2026-06-01",
            "--outstanding",
            "2400000.00",
            "--days-past-due",
            "95",
            "--classification",
            "doubtful",
        ],
    )
    .await;
    assert_eq!(defaulted["status"], "LOAN_STATUS_DEFAULTED");
    let loans = ok(by("auditor"), &["loans", "list", "--output", "csv"]).await;
    assert!(loans.starts_with("loan,bank,number,") && loans.contains("2400000.00"), "{loans}");

    // The claim: four eyes above 1,000,000.00.
    let claim =
        json(by("bank"), &["claims", "file", loan, "--date", "2026-06-01", "--memo", "borrower insolvent"]).await;
    let claim_name = claim["name"].as_str().unwrap();
    let half = ok(by("risk-officer"), &["claims", "approve", claim_name, "--date", "2026-06-01"]).await;
    assert!(half.contains("a second risk officer must approve it"), "{half}");
    let (code, _, stderr) = run(by("risk-officer"), &["claims", "approve", claim_name, "--date", "2026-06-01"]).await;
    assert_eq!(
        (code, stderr.trim()),
        (1, "techcredit: FAILED_PRECONDITION SAME_APPROVER: a second approval must come from a different risk officer")
    );
    let decided = json(as_key(&app, &second_officer), &["claims", "approve", claim_name, "--date", "2026-06-01"]).await;
    assert_eq!(
        (decided["status"].as_str(), decided["compensation"].as_str()),
        (Some("CLAIM_STATUS_APPROVED"), Some("1680000.00"))
    );
    let recovery =
        json(by("bank"), &["recoveries", "report", loan, "--amount", "600000.00", "--date", "2026-06-01"]).await;
    assert_eq!(recovery["recovery"]["poolShareAmount"], "420000.00");

    // The month's statement: a preview now, confirmed and paid once June is over.
    let statement = json(by("finance"), &["statements", "run", "--bank", "nbcb", "--period", "2026-06"]).await;
    assert_eq!((statement["netAmount"].as_str(), statement["preview"].as_bool()), (Some("1260000.00"), Some(true)));
    let name = statement["name"].as_str().unwrap();
    let sha = statement["contentSha256"].as_str().unwrap();
    let (code, _, stderr) = run(by("finance"), &["statements", "confirm", name, "--sha256", sha]).await;
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("PERIOD_NOT_ENDED"), "{stderr}");
    let moved = ok(admin_cli(), &["clock", "advance", "--to", "2026-07-01"]).await;
    assert_eq!(moved.trim(), "business date 2026-06-01 → 2026-07-01");
    let confirmed = json(by("finance"), &["statements", "confirm", name, "--sha256", sha]).await;
    assert_eq!(confirmed["amountDue"], "1260000.00");
    let paid = json(
        by("finance"),
        &[
            "statements",
            "pay",
            name,
            "--amount",
            "1260000.00",
            "--value-date",
            "2026-07-01",
            "--reference",
            "CUST-20260701-1",
        ],
    )
    .await;
    assert_eq!(paid["status"], "STATEMENT_STATUS_PAID");
    let export = dir.path().join("statement.csv");
    ok(by("finance"), &["statements", "export", name, "--to", export.to_str().unwrap()]).await;
    assert!(std::fs::read_to_string(&export).unwrap().contains("1260000.00"));
    let statements = ok(by("auditor"), &["statements", "list", "--bank", "nbcb"]).await;
    assert!(statements.contains("PAID") && statements.contains("1,260,000.00"), "{statements}");

    // The position, in JSON, is the API's own; the dashboard shows the same figures.
    let position = json(by("auditor"), &["pool", "position"]).await;
    let api = app
        .pool_as(std::fs::read_to_string(&keys["auditor"]).unwrap().trim())
        .get_pool_position(pb::GetPoolPositionRequest::default())
        .await
        .unwrap()
        .into_inner()
        .position
        .unwrap();
    assert_eq!(position["position"]["netPoolAssets"], api.net_pool_assets);
    assert_eq!(position["position"]["coveredOutstanding"], api.covered_outstanding);
    assert_eq!(position["position"]["escrowCash"], "18740000.00", "20,000,000.00 less the 1,260,000.00 paid");
    let dashboard = ok(by("auditor"), &["pool", "position"]).await;
    assert!(
        dashboard.contains("18,740,000.00") && dashboard.contains("of 12× max") && dashboard.contains("nbcb"),
        "{dashboard}"
    );
    let wan = ok(by("auditor"), &["pool", "position", "--units", "wan"]).await;
    assert!(wan.contains("5,000.00万") && wan.contains("6.00亿"), "{wan}");
    let exposure = json(by("auditor"), &["pool", "exposure", "nbcb"]).await;
    assert_eq!(exposure["compensationThisYear"], "1680000.00");
    let stress = json(
        by("risk-officer"),
        &["pool", "stress", "--default-rate", "0.05", "--grade", "AA=0.2", "--loss-rate", "0.6"],
    )
    .await;
    assert!(stress["survives"].as_bool().unwrap(), "{stress}");
    let accounts = ok(by("auditor"), &["ledger", "accounts"]).await;
    assert!(accounts.contains("escrow_cash") && accounts.contains("18,740,000.00"), "{accounts}");
    let entries = json(by("auditor"), &["ledger", "entries", "--account", "escrow_cash"]).await;
    assert!(entries["entries"].as_array().unwrap().len() >= 3, "{entries}");
    let verified = ok(by("auditor"), &["ledger", "verify"]).await;
    assert!(verified.contains("the books are whole"), "{verified}");
    let clock = json(by("auditor"), &["clock", "show"]).await;
    assert_eq!(clock["businessDate"], "2026-07-01");

    // A bank suspended by hand, then resumed; a key revoked works no more.
    let suspended =
        json(by("risk-officer"), &["banks", "status", "nbcb", "suspended", "--reason", "documents overdue"]).await;
    assert_eq!(suspended["status"], "BANK_STATUS_SUSPENDED");
    ok(by("risk-officer"), &["banks", "status", "nbcb", "active", "--reason", "documents in"]).await;
    let finance_key = json(by("auditor"), &["keys", "list"]).await["apiKeys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["role"] == "ROLE_FINANCE")
        .map(|k| k["name"].as_str().unwrap().to_owned())
        .unwrap();
    ok(admin_cli(), &["keys", "revoke", &finance_key]).await;
    let (code, _, stderr) = run(by("finance"), &["pool", "position"]).await;
    assert_eq!(code, 1);
    assert!(stderr.starts_with("techcredit: UNAUTHENTICATED"), "{stderr}");
    // Withdrawing an application that is enrolled says why not.
    let (code, _, stderr) = run(by("bank"), &["applications", "withdraw", approved["name"].as_str().unwrap()]).await;
    assert_eq!(code, 1);
    assert!(stderr.contains("APPLICATION_NOT_WITHDRAWABLE"), "{stderr}");
    let (code, _, stderr) = run(by("risk-officer"), &["claims", "reject", claim_name, "--reason", "too late"]).await;
    assert!(code == 1 && stderr.contains("CLAIM_NOT_PENDING"), "{stderr}");
    let shown = ok(by("auditor"), &["claims", "show", claim_name]).await;
    assert!(shown.contains("PAID") && shown.contains("1,680,000.00"), "{shown}");
    let listed = json(by("auditor"), &["claims", "list"]).await;
    assert_eq!(listed["claims"].as_array().unwrap().len(), 1);

    // The audit trail holds the month: the refusals just above, the claim's approvals.
    let refused = json(by("auditor"), &["audit", "list", "--outcome", "refused", "--page-size", "2"]).await;
    let refused = refused["auditRecords"].as_array().unwrap();
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert!(refused[0]["reason"].as_str().unwrap().starts_with("CLAIM_NOT_PENDING"), "{refused:?}");
    assert!(refused[1]["method"].as_str().unwrap().ends_with("/WithdrawApplication"), "{refused:?}");
    let approvals = ok(by("auditor"), &["audit", "list", "--method", "ApproveClaim", "--resource", claim_name]).await;
    // Two officers' approvals, and the first officer's second try refused by four eyes.
    assert_eq!(
        approvals.lines().filter(|l| l.contains("ApproveClaim") && l.contains("ACCEPTED")).count(),
        2,
        "{approvals}"
    );
    assert!(approvals.lines().any(|l| l.contains("REFUSED") && l.contains("SAME_APPROVER")), "{approvals}");
    let verified = ok(by("auditor"), &["audit", "verify"]).await;
    assert!(verified.contains("the audit chain is unbroken"), "{verified}");
}

/// Exit codes scripts rely on: a refused key (1, the reason on one line), a usage error (2),
/// a bad field named (1), an address nothing listens on and one that never answers (3,
/// within the deadline), and https:// refused rather than sent in plaintext (2).
#[tokio::test]
async fn exit_codes_and_one_line_errors() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.key");
    std::fs::write(&bad, "key-0000.nope\n").unwrap();
    let (code, stdout, stderr) = run(as_key(&app, &bad), &["pool", "position"]).await;
    assert_eq!((code, stdout.as_str()), (1, ""));
    assert_eq!(stderr.trim(), "techcredit: UNAUTHENTICATED: invalid or revoked api key");

    let good = dir.path().join("admin.key");
    std::fs::write(&good, &app.admin_key).unwrap();
    let (code, _, stderr) = run(as_key(&app, &good), &["pool", "positon"]).await;
    assert_eq!(code, 2, "{stderr}");
    let (code, _, stderr) =
        run(as_key(&app, &good), &["banks", "create", "Bad Id", "--display-name", "x", "--quota", "1.001"]).await;
    assert_eq!(code, 1);
    assert!(stderr.starts_with("techcredit: INVALID_ARGUMENT ") && stderr.contains("quota:"), "{stderr}");

    // Nothing listens on a port just freed.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let (code, _, stderr) = run(as_key(&app, &good), &["--address", &free.to_string(), "clock", "show"]).await;
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("cannot reach the server"), "{stderr}");

    // A peer that accepts connections and never says a word.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = silent.local_addr().unwrap().to_string();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let started = std::time::Instant::now();
    let (code, _, stderr) =
        run(as_key(&app, &good), &["--address", &address, "--connect-timeout", "1", "--timeout", "2", "clock", "show"])
            .await;
    assert_eq!(code, 3, "{stderr}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "it gave up within the deadline");
    hold.abort();

    // A profile of the config file holds the address and the key file.
    let config = dir.path().join("config.toml");
    std::fs::write(&config, format!("[profiles.ops]\naddress = \"{}\"\nkey_file = \"admin.key\"\n", app.address))
        .unwrap();
    let mut plain = Command::new(env!("CARGO_BIN_EXE_techcredit"));
    plain.env_remove("TECHCREDIT_ADDRESS").env_remove("TECHCREDIT_KEY_FILE").env_remove("TECHCREDIT_KEY");
    let shown = ok(plain, &["--config", config.to_str().unwrap(), "--profile", "ops", "clock", "show"]).await;
    assert!(shown.contains("business date"), "{shown}");

    // TLS files with a plaintext address are refused rather than ignored.
    let (code, _, stderr) = run(as_key(&app, &good), &["--ca-file", config.to_str().unwrap(), "clock", "show"]).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("use https://"), "{stderr}");
    // Completions and the manual need no server.
    let (code, stdout, _) = run(Command::new(env!("CARGO_BIN_EXE_techcredit")), &["completions", "bash"]).await;
    assert!(code == 0 && stdout.contains("techcredit"), "completions");
    let (code, stdout, _) = run(Command::new(env!("CARGO_BIN_EXE_techcredit")), &["man"]).await;
    assert!(code == 0 && stdout.contains(".TH techcredit"), "man page");
}

/// `techcredit demo --size small` against a running server with a simulated clock builds a
/// living book through the API: its final position is what the loans it created add up
/// to, and the books verify.
#[tokio::test]
async fn the_demo_builds_a_living_book_that_adds_up() {
    let app = tests::spawn_app_on("2025-01-02").await;
    let dir = tempfile::tempdir().unwrap();
    let admin = dir.path().join("admin.key");
    std::fs::write(&admin, &app.admin_key).unwrap();
    let mut command = as_key(&app, &admin);
    command.args(["--address", &app.address.to_string()]);
    let stdout = ok(command, &["demo", "--size", "small", "--seed", "7"]).await;
    assert!(stdout.contains("taking new enrolments") && stdout.contains("The ledger verifies."), "{stdout}");

    let auditor = app
        .admin()
        .create_api_key(pb::CreateApiKeyRequest {
            request_id: "auditor".into(),
            role: pb::Role::Auditor as i32,
            bank: String::new(),
            description: "checks the demo".into(),
            expire_date: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .secret;
    let position = app
        .pool_as(&auditor)
        .get_pool_position(pb::GetPoolPositionRequest::default())
        .await
        .unwrap()
        .into_inner()
        .position
        .unwrap();
    assert_eq!(position.committed_capital, "50000000.00", "4:4:2 makes the whole pool");
    assert_eq!(position.as_of, "2025-07-02", "six months and the last month's settlement");
    let mut outstanding = 0i64;
    let mut token = String::new();
    let mut loans = 0;
    loop {
        let page = app
            .loans_as(&auditor)
            .list_loans(pb::ListLoansRequest { page_size: 500, page_token: token.clone(), ..Default::default() })
            .await
            .unwrap()
            .into_inner();
        for loan in &page.loans {
            loans += 1;
            if !matches!(loan.status(), pb::LoanStatus::Repaid | pb::LoanStatus::Closed) {
                let (whole, fraction) = loan.outstanding_principal.split_once('.').unwrap();
                outstanding += whole.parse::<i64>().unwrap() * 100 + fraction.parse::<i64>().unwrap();
            }
        }
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert!(loans > 10, "{loans} loans");
    assert_eq!(position.covered_outstanding, format!("{}.{:02}", outstanding / 100, outstanding % 100));
    let claims = app.settlement_as(&auditor).list_claims(pb::ListClaimsRequest::default()).await.unwrap().into_inner();
    assert!(!claims.claims.is_empty(), "the small book shows a claim");
    let verify = app.pool_as(&auditor).verify_ledger(pb::VerifyLedgerRequest {}).await.unwrap().into_inner();
    assert!(verify.ok, "{:?}", verify.differences);
    let reports = app
        .settlement_as(&auditor)
        .list_reconciliation_reports(pb::ListReconciliationReportsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(!reports.reports.is_empty(), "the banks' tapes were reconciled");
}

/// `https://` is TLS with the CA the user names (or the system's), never plaintext; a bank's
/// key with its client certificate where the server verifies banks.
#[tokio::test]
async fn tls_from_the_command_line_never_downgrades() {
    use tests::certs::Authority;
    let ca = Authority::new("techcredit test CA");
    let app = tests::spawn_tls_app(
        |settings, dir| ca.serve_tls(settings, dir, true),
        tonic::transport::ClientTlsConfig::new()
            .ca_certificate(tonic::transport::Certificate::from_pem(ca.pem()))
            .domain_name("localhost"),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let ca_file = file("ca.pem", &ca.pem());
    let admin_key = file("admin.key", &app.admin_key);
    let https = format!("https://{}", app.address);
    let cli = |key: &str| {
        let mut command = as_key(&app, std::path::Path::new(key));
        command.env_remove("TECHCREDIT_ADDRESS");
        command
    };

    let shown = ok(cli(&admin_key), &["--address", &https, "--ca-file", &ca_file, "clock", "show"]).await;
    assert!(shown.contains("business date"), "{shown}");
    // Without the CA the server's certificate is not trusted: no call, no fallback.
    let (code, _, stderr) = run(cli(&admin_key), &["--address", &https, "clock", "show"]).await;
    assert_eq!(code, 3, "{stderr}");
    // Plaintext to the TLS port gets no answer either.
    let (code, _, stderr) = run(cli(&admin_key), &["--address", &app.address.to_string(), "clock", "show"]).await;
    assert_ne!(code, 0, "{stderr}");

    // A bank's key works with its certificate, from flags or from a profile.
    let secret = bank_key(&app).await;
    let bank_key = file("bank.key", &secret);
    let (code, _, stderr) = run(cli(&bank_key), &["--address", &https, "--ca-file", &ca_file, "clock", "show"]).await;
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.starts_with("techcredit: PERMISSION_DENIED"), "{stderr}");
    let certificate = ca.client("nbcb");
    let cert_file = file("bank.pem", &certificate.cert);
    let cert_key_file = file("bank-key.pem", &certificate.key);
    let args =
        ["--address", &https, "--ca-file", &ca_file, "--cert-file", &cert_file, "--cert-key-file", &cert_key_file];
    let shown = ok(cli(&bank_key), &[&args[..], &["clock", "show"]].concat()).await;
    assert!(shown.contains("business date"), "{shown}");
    let config = file(
        "config.toml",
        &format!(
            "[profiles.bank]\naddress = \"{https}\"\nkey_file = \"bank.key\"\nca_file = \"ca.pem\"\ncert_file = \"bank.pem\"\ncert_key_file = \"bank-key.pem\"\n"
        ),
    );
    let mut plain = Command::new(env!("CARGO_BIN_EXE_techcredit"));
    plain.env_remove("TECHCREDIT_ADDRESS").env_remove("TECHCREDIT_KEY_FILE").env_remove("TECHCREDIT_KEY");
    let shown = ok(plain, &["--config", &config, "--profile", "bank", "clock", "show"]).await;
    assert!(shown.contains("business date"), "{shown}");
}
