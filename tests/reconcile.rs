//! Loan-tape reconciliation over the streaming RPC: planted discrepancies are found exactly,
//! the same tape is recognised, a new tape supersedes, a broken stream stores nothing.

use proto::v1 as pb;
use tests::{TestApp, spawn_app};
use tonic::Code;

use crate::support::*;

fn row(line: i64, number: &str, uscc: &str, outstanding: &str, days: &str, class: &str) -> pb::LoanTapeRow {
    pb::LoanTapeRow {
        line_number: line,
        bank_loan_number: number.into(),
        uscc: uscc.into(),
        outstanding_principal: outstanding.into(),
        days_past_due: days.into(),
        classification: class.into(),
        maturity_date: String::new(),
    }
}

/// Five covered loans L1–L5 of 100,000.00 each, the first reported 10 days past due.
async fn registry(app: &TestApp, actors: &Actors) -> Vec<String> {
    fund_pool(app, &actors.finance, "1000000.00").await;
    let mut numbers = Vec::new();
    for n in 1..=5 {
        let application = submit(app, actors, &local_uscc(900 + n), "100000.00").await;
        let number = format!("L{n}");
        app.loans_as(&actors.bank_key).enroll_loan(enrol_request(&application, &number)).await.unwrap();
        numbers.push(number);
    }
    numbers
}

#[tokio::test]
async fn a_tape_with_every_kind_planted_yields_exactly_those() {
    let app = spawn_app().await;
    let actors = actors(&app, "nbcb", "100000000.00").await;
    registry(&app, &actors).await;
    let ok = local_uscc(901);
    let tape = vec![
        row(2, "L1", &ok, "100000.00", "0", "NORMAL"),
        row(3, "L2", &ok, "99000.00", "0", "NORMAL"),
        row(4, "L3", &ok, "100000.00", "35", "SPECIAL_MENTION"),
        row(5, "L1", &ok, "100000.00", "0", "NORMAL"),
        row(6, "X9", &ok, "5000.00", "0", "NORMAL"),
        row(7, "L4", "91330212MA2H000018", "100000.00", "0", "NORMAL"),
        row(8, "L9", &ok, "12.345", "0", "NORMAL"),
        row(9, "L8", &ok, "1.00", "0", "GOOD"),
        // L5 is missing at the bank; L4's row is invalid, so L4 is missing too.
    ];
    let response = app
        .settlement_as(&actors.bank_key)
        .reconcile_loan_tape(tokio_stream::iter(messages("banks/nbcb", &days_ago(0), tape.clone())))
        .await
        .unwrap()
        .into_inner();
    assert!(!response.existing);
    let report = response.report.unwrap();
    let counts = [
        report.rows_read,
        report.rows_matched,
        report.balance_mismatch,
        report.status_mismatch,
        report.duplicate_in_tape,
        report.missing_in_pool,
        report.invalid_record,
        report.missing_at_bank,
    ];
    assert_eq!(counts, [8, 1, 1, 1, 1, 1, 3, 2]);
    assert_eq!(report.pool_outstanding, "500000.00");
    assert_eq!(report.tape_outstanding, "304000.00", "distinct valid rows: 100,000 + 99,000 + 100,000 + 5,000");

    let listed = app
        .settlement_as(&actors.auditor)
        .list_discrepancies(pb::ListDiscrepanciesRequest {
            report: report.name.clone(),
            page_size: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .discrepancies;
    let found: Vec<(i64, String, pb::DiscrepancyKind)> =
        listed.iter().map(|d| (d.line_number, d.bank_loan_number.clone(), d.kind())).collect();
    use pb::DiscrepancyKind::*;
    assert_eq!(
        found,
        [
            (3, "L2".into(), BalanceMismatch),
            (4, "L3".into(), StatusMismatch),
            (5, "L1".into(), DuplicateInTape),
            (6, "X9".into(), MissingInPool),
            (7, "L4".into(), InvalidRecord),
            (8, "L9".into(), InvalidRecord),
            (9, "L8".into(), InvalidRecord),
            (0, "L4".into(), MissingAtBank),
            (0, "L5".into(), MissingAtBank),
        ]
    );
    assert_eq!(listed[0].difference, "-1000.00");
    assert_eq!((listed[0].bank_value.as_str(), listed[0].pool_value.as_str()), ("99000.00", "100000.00"));
    assert!(listed[4].detail.contains("check character"), "{}", listed[4].detail);
    assert!(listed[5].detail.contains("more than two fraction digits"));
    assert!(listed[6].detail.contains("unknown classification"));
    let only_missing = app
        .settlement_as(&actors.auditor)
        .list_discrepancies(pb::ListDiscrepanciesRequest {
            report: report.name.clone(),
            kind: MissingAtBank as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .discrepancies;
    assert_eq!(only_missing.len(), 2);

    // The same tape again returns the same report; a corrected tape supersedes it.
    let again = app
        .settlement_as(&actors.bank_key)
        .reconcile_loan_tape(tokio_stream::iter(messages("banks/nbcb", &days_ago(0), tape.clone())))
        .await
        .unwrap()
        .into_inner();
    assert!(again.existing);
    assert_eq!(again.report.unwrap().name, report.name);
    let mut corrected = tape;
    corrected[1] = row(3, "L2", &ok, "100000.00", "0", "NORMAL");
    let newer = app
        .settlement_as(&actors.bank_key)
        .reconcile_loan_tape(tokio_stream::iter(messages("banks/nbcb", &days_ago(0), corrected)))
        .await
        .unwrap()
        .into_inner()
        .report
        .unwrap();
    assert_eq!(newer.supersedes, report.name);
    assert_eq!(newer.balance_mismatch, 0);
}

#[tokio::test]
async fn malformed_streams_are_refused_and_store_nothing() {
    let app = spawn_app().await;
    let actors = actors(&app, "nbcb", "100000000.00").await;
    let mut client = app.settlement_as(&actors.bank_key);
    let no_header = client
        .reconcile_loan_tape(tokio_stream::iter(
            messages("banks/nbcb", &days_ago(0), vec![row(2, "A", "x", "1", "0", "NORMAL")]).split_off(1),
        ))
        .await
        .unwrap_err();
    assert_error(&no_header, Code::InvalidArgument, "INVALID_ARGUMENT");
    let bad_date =
        client.reconcile_loan_tape(tokio_stream::iter(messages("banks/nbcb", "2025-13-01", vec![]))).await.unwrap_err();
    assert!(field_violations(&bad_date).contains_key("header.as_of"));
    create_bank(&app, "other", "1000.00").await;
    let not_mine = client
        .reconcile_loan_tape(tokio_stream::iter(messages("banks/other", &days_ago(0), vec![])))
        .await
        .unwrap_err();
    assert_error(&not_mine, Code::PermissionDenied, "PERMISSION_DENIED");

    // A tape without its end message, or with a wrong count, is refused: nothing stored.
    let mut cut_short = messages("banks/nbcb", &days_ago(0), vec![row(2, "A", "x", "1", "0", "NORMAL")]);
    cut_short.pop();
    let no_end = client.reconcile_loan_tape(tokio_stream::iter(cut_short.clone())).await.unwrap_err();
    assert!(field_violations(&no_end).contains_key("end"), "{no_end:?}");
    let mut miscounted = cut_short.clone();
    miscounted.push(end_of_tape(2));
    let wrong_count = client.reconcile_loan_tape(tokio_stream::iter(miscounted)).await.unwrap_err();
    assert!(field_violations(&wrong_count).contains_key("end.rows"), "{wrong_count:?}");

    // A stream that breaks off after a chunk (the client cancels its call; the server sees
    // the stream end): nothing is stored.
    let (sender, receiver) = tokio::sync::mpsc::channel(4);
    for message in cut_short {
        sender.send(message).await.unwrap();
    }
    let mut streaming = app.settlement_as(&actors.bank_key);
    let call = tokio::spawn(async move {
        streaming.reconcile_loan_tape(tokio_stream::wrappers::ReceiverStream::new(receiver)).await
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    call.abort();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let reports = app
        .settlement_as(&actors.auditor)
        .list_reconciliation_reports(pb::ListReconciliationReportsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .reports;
    assert!(reports.is_empty(), "{reports:?}");
    drop(sender);
}

/// A bank's job that sends its tape several times at once (a retry loop that did not wait)
/// gets one report: one call reconciles it, the others are told it exists, all name it.
#[tokio::test]
async fn the_same_tape_sent_at_once_makes_one_report() {
    let app = spawn_app().await;
    let actors = actors(&app, "nbcb", "100000000.00").await;
    registry(&app, &actors).await;
    let ok = local_uscc(901);
    let tape = vec![row(2, "L1", &ok, "100000.00", "0", "NORMAL"), row(3, "L2", &ok, "99000.00", "0", "NORMAL")];
    let calls: Vec<_> = (0..4)
        .map(|_| {
            let mut client = app.settlement_as(&actors.bank_key);
            let messages = messages("banks/nbcb", &days_ago(0), tape.clone());
            tokio::spawn(async move { client.reconcile_loan_tape(tokio_stream::iter(messages)).await })
        })
        .collect();
    let mut answers = Vec::new();
    for call in calls {
        answers.push(call.await.unwrap().expect("every copy is answered").into_inner());
    }
    assert_eq!(answers.iter().filter(|a| !a.existing).count(), 1, "exactly one call reconciles the tape");
    let names: Vec<&str> = answers.iter().map(|a| a.report.as_ref().unwrap().name.as_str()).collect();
    assert!(names.iter().all(|n| *n == names[0]), "{names:?}");
    let reports = app
        .settlement_as(&actors.auditor)
        .list_reconciliation_reports(pb::ListReconciliationReportsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .reports;
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0].balance_mismatch, 1);
}

#[tokio::test]
async fn a_tape_s_maturity_column_shows_a_renewal_the_pool_was_not_told_of() {
    let app = spawn_app().await;
    let actors = actors(&app, "nbcb", "100000000.00").await;
    let numbers = registry(&app, &actors).await;
    let loans = app
        .loans_as(&actors.bank_key)
        .list_loans(pb::ListLoansRequest { page_size: 10, ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .loans;
    let maturity = loans[0].maturity_date.clone();
    assert!(loans.iter().all(|l| l.maturity_date == maturity));
    let renewed = (chrono::NaiveDate::parse_from_str(&maturity, "%Y-%m-%d").unwrap() + chrono::Months::new(6))
        .format("%Y-%m-%d")
        .to_string();
    // L3 was renewed with the pool; the bank's tape has L2 renewed too, and L3 not.
    let l3 = loans.iter().find(|l| l.bank_loan_number == "L3").unwrap();
    app.loans_as(&actors.bank_key)
        .report_loan_status(pb::ReportLoanStatusRequest {
            request_id: "renew-l3".into(),
            loan: l3.name.clone(),
            report_date: days_ago(0),
            outstanding_principal: "100000.00".into(),
            days_past_due: 0,
            classification: pb::LoanClassification::Normal as i32,
            repaid: false,
            renewed_maturity_date: renewed.clone(),
        })
        .await
        .unwrap();
    let with_maturity = |line: i64, number: &str, uscc: &str, days: &str, date: &str| pb::LoanTapeRow {
        maturity_date: date.into(),
        ..row(line, number, uscc, "100000.00", days, "NORMAL")
    };
    let tape = vec![
        with_maturity(2, &numbers[0], &local_uscc(901), "0", &maturity),
        with_maturity(3, &numbers[1], &local_uscc(902), "0", &renewed),
        with_maturity(4, &numbers[2], &local_uscc(903), "0", &maturity),
        with_maturity(5, &numbers[3], &local_uscc(904), "0", &maturity),
        with_maturity(6, &numbers[4], &local_uscc(905), "0", ""),
    ];
    let report = app
        .settlement_as(&actors.bank_key)
        .reconcile_loan_tape(tokio_stream::iter(messages("banks/nbcb", &days_ago(0), tape)))
        .await
        .unwrap()
        .into_inner()
        .report
        .unwrap();
    let listed = app
        .settlement_as(&actors.auditor)
        .list_discrepancies(pb::ListDiscrepanciesRequest {
            report: report.name.clone(),
            page_size: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .discrepancies;
    let found: Vec<(&str, pb::DiscrepancyKind, &str)> =
        listed.iter().map(|d| (d.bank_loan_number.as_str(), d.kind(), d.detail.as_str())).collect();
    // L1 and L4 (the same maturity) and L5 (no maturity given) match the registry.
    assert_eq!(
        found,
        [
            ("L2", pb::DiscrepancyKind::StatusMismatch, "maturity differs (a renewal reported on one side only?)"),
            ("L3", pb::DiscrepancyKind::StatusMismatch, "maturity differs (a renewal reported on one side only?)"),
        ]
    );
    assert_eq!(listed[1].pool_value, format!("0 days past due, NORMAL, maturing {renewed}"));
    assert_eq!((report.rows_read, report.rows_matched), (5, 3));
}
