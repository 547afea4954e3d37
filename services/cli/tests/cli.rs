//! The `techcredit reconcile` command against a real server: a tape with a 10 MB line, a
//! header missing a column, and a file that is not CSV.

#![allow(clippy::expect_used, clippy::unwrap_used)]

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
