//! Loan-tape reconciliation: a client-streaming RPC that matches each row against the
//! registry as it arrives (the tape is never held whole), then stores the report and its
//! discrepancies in one transaction, so a broken stream stores nothing.

use chrono::NaiveDate;
use domain::reconcile::{Discrepancy, DiscrepancyKind, Reconciler, TapeRow};
use domain::{BankId, Principal, Role};
use proto::v1 as pb;
use rpc::auth::{bank_scope, require_bank_visible, require_role};
use rpc::convert::{Page, Violations, format_date, timestamp};
use rpc::{ApiError, AppState, WireEnum};
use sha2::{Digest, Sha256};
use store::reconciliation::ReportRecord;
use tonic::Streaming;

const READERS: &[Role] = &[Role::Bank, Role::Batch, Role::RiskOfficer, Role::Finance, Role::Auditor, Role::Admin];

/// A report on the wire.
pub fn report_to_wire(report: &ReportRecord) -> pb::ReconciliationReport {
    let count = |kind| report.summary.counts.get(&kind).copied().unwrap_or(0);
    pb::ReconciliationReport {
        name: format!("reconciliationReports/{}", report.report_id),
        bank: format!("banks/{}", report.bank_id),
        as_of: format_date(report.as_of),
        tape_sha256: report.tape_sha256.clone(),
        rows_read: report.summary.rows_read,
        rows_matched: report.summary.rows_matched,
        missing_in_pool: count(DiscrepancyKind::MissingInPool),
        missing_at_bank: count(DiscrepancyKind::MissingAtBank),
        balance_mismatch: count(DiscrepancyKind::BalanceMismatch),
        status_mismatch: count(DiscrepancyKind::StatusMismatch),
        duplicate_in_tape: count(DiscrepancyKind::DuplicateInTape),
        invalid_record: count(DiscrepancyKind::InvalidRecord),
        tape_outstanding: report.summary.tape_outstanding.to_string(),
        pool_outstanding: report.summary.pool_outstanding.to_string(),
        supersedes: report.supersedes.map(|id| format!("reconciliationReports/{id}")).unwrap_or_default(),
        file_name: report.file_name.clone(),
        create_time: Some(timestamp(report.created_at)),
    }
}

fn discrepancy_to_wire(d: &Discrepancy) -> pb::Discrepancy {
    pb::Discrepancy {
        kind: d.kind.to_wire_i32(),
        line_number: d.line,
        bank_loan_number: d.bank_loan_number.clone(),
        loan: d.loan_id.map(|id| format!("loans/{id}")).unwrap_or_default(),
        bank_value: d.bank_value.clone(),
        pool_value: d.pool_value.clone(),
        difference: d.difference.map(|m| m.to_string()).unwrap_or_default(),
        detail: d.detail.clone(),
    }
}

fn stream_error(status: tonic::Status) -> ApiError {
    ApiError::InvalidArgument(vec![rpc::error::FieldViolation {
        field: "stream".to_owned(),
        description: format!("the tape stream broke off ({}): nothing was stored", status.message()),
    }])
}

/// The method, for the audit trail.
const RECONCILE: &str = "/techcredit.v1.SettlementService/ReconcileLoanTape";

/// Reconciles a streamed tape.
pub async fn reconcile(
    state: &AppState,
    caller: &Principal,
    mut stream: Streaming<pb::ReconcileLoanTapeRequest>,
) -> Result<pb::ReconcileLoanTapeResponse, ApiError> {
    require_role(caller, &[Role::Bank, Role::Batch])?;
    let first = stream
        .message()
        .await
        .map_err(stream_error)?
        .ok_or_else(|| ApiError::invalid("header", "the stream is empty"))?;
    let Some(pb::reconcile_loan_tape_request::Part::Header(header)) = first.part else {
        return Err(ApiError::invalid("header", "the first message must be the tape header"));
    };
    let mut v = Violations::new();
    v.request_id(&first.request_id);
    let bank = v.bank_name("header.bank", &header.bank);
    let as_of: Option<NaiveDate> = v.date("header.as_of", &header.as_of);
    let file_name = v.optional_text("header.file_name", &header.file_name, 255);
    let (Some(bank), Some(as_of), Some(file_name)) = (bank, as_of, file_name) else {
        return Err(v.into_error());
    };
    v.finish()?;
    if caller.role == Role::Bank && !caller.may_see_bank(&bank) {
        return Err(ApiError::permission_denied("a bank reconciles only its own loan tape"));
    }
    let db = state.store.read().await?;
    if store::banks::get(&db, &bank).await?.is_none() {
        return Err(ApiError::not_found(&header.bank));
    }
    // The registry moves into the reconciler's map entry by entry.
    let mut reconciler = Reconciler::new(store::reconciliation::registry(&db, &bank).await?);
    db.finish().await?;
    let mut hasher = Sha256::new();
    let mut discrepancies = Vec::new();
    // Rows that arrived, and the count the end message gives. A clean end of stream alone
    // does not prove the tape is whole: a client that cancels its call ends the stream the
    // same way for the handler (tonic reports a cancelled request stream as its end).
    let mut received: i64 = 0;
    let mut end: Option<i64> = None;
    while let Some(message) = stream.message().await.map_err(stream_error)? {
        if end.is_some() {
            return Err(ApiError::invalid("end", "must be the last message of the stream"));
        }
        match message.part {
            Some(pb::reconcile_loan_tape_request::Part::End(last)) => end = Some(last.rows),
            Some(pb::reconcile_loan_tape_request::Part::Chunk(chunk)) => {
                received += i64::try_from(chunk.rows.len()).unwrap_or(i64::MAX);
                for row in &chunk.rows {
                    for field in [
                        &row.bank_loan_number,
                        &row.uscc,
                        &row.outstanding_principal,
                        &row.days_past_due,
                        &row.classification,
                    ] {
                        hasher.update(field.as_bytes());
                        hasher.update([0x1f]);
                    }
                    // A maturity counts only when given, so a tape without the column hashes as before.
                    if !row.maturity_date.is_empty() {
                        hasher.update(row.maturity_date.as_bytes());
                        hasher.update([0x1e]);
                    }
                    hasher.update(row.line_number.to_le_bytes());
                    discrepancies.extend(reconciler.row(&TapeRow {
                        line: row.line_number,
                        bank_loan_number: &row.bank_loan_number,
                        uscc: &row.uscc,
                        outstanding: &row.outstanding_principal,
                        days_past_due: &row.days_past_due,
                        classification: &row.classification,
                        maturity_date: &row.maturity_date,
                    }));
                }
            }
            Some(pb::reconcile_loan_tape_request::Part::Header(_)) => {
                return Err(ApiError::invalid("header", "only the first message may be a header"));
            }
            None => return Err(ApiError::invalid("part", "a message must carry a header, a chunk or the end")),
        }
    }
    match end {
        None => {
            return Err(ApiError::invalid(
                "end",
                "the stream ended without its end message: the tape may be cut short; nothing was stored",
            ));
        }
        Some(rows) if rows != received => {
            return Err(ApiError::invalid(
                "end.rows",
                format!("says {rows} rows but {received} arrived; nothing was stored"),
            ));
        }
        Some(_) => {}
    }
    let (summary, missing) = reconciler.finish();
    discrepancies.extend(missing);
    let sha = hex::encode(hasher.finalize());
    let txn = state.store.begin_write().await?;
    if let Some(existing) = store::reconciliation::find_same(&txn, &bank, as_of, &sha).await? {
        rpc::audit::mark_replayed(rpc::audit::current().as_ref());
        return Ok(pb::ReconcileLoanTapeResponse { report: Some(report_to_wire(&existing)), existing: true });
    }
    let supersedes = store::reconciliation::latest(&txn, &bank, as_of).await?.map(|r| r.report_id);
    let inserted =
        store::reconciliation::insert(&txn, &bank, as_of, &sha, &summary, supersedes, &file_name, &discrepancies).await;
    let report = match inserted {
        Ok(report) => report,
        // The same tape streamed at the same time by another call (any process) was stored
        // first: answer as a later call would, with that report.
        Err(store::StoreError::AlreadyExists(_)) => {
            txn.rollback().await.map_err(store::StoreError::from)?;
            let existing = state
                .store
                .reading(async |db| store::reconciliation::find_same(db, &bank, as_of, &sha).await)
                .await?
                .ok_or_else(|| ApiError::Internal("a tape's report vanished after a conflict".to_owned()))?;
            rpc::audit::mark_replayed(rpc::audit::current().as_ref());
            return Ok(pb::ReconcileLoanTapeResponse { report: Some(report_to_wire(&existing)), existing: true });
        }
        Err(error) => return Err(error.into()),
    };
    let response = pb::ReconcileLoanTapeResponse { report: Some(report_to_wire(&report)), existing: false };
    let record = rpc::audit::accepted(caller, RECONCILE, &first.request_id, &prost::Message::encode_to_vec(&response));
    store::audit::append(&txn, &[record]).await?;
    txn.commit().await.map_err(store::StoreError::from)?;
    rpc::audit::mark_recorded(rpc::audit::current().as_ref());
    tracing::info!(
        report_id = report.report_id,
        bank_id = %bank,
        rows = summary.rows_read,
        discrepancies = discrepancies.len(),
        "loan tape reconciled"
    );
    Ok(response)
}

async fn visible_report(state: &AppState, caller: &Principal, name: &str, id: i64) -> Result<ReportRecord, ApiError> {
    let report = state
        .store
        .reading(async |db| store::reconciliation::get(db, id).await)
        .await?
        .ok_or_else(|| ApiError::not_found(name))?;
    let bank = BankId::parse(&report.bank_id).map_err(|e| ApiError::Internal(e.to_string()))?;
    require_bank_visible(caller, &bank, name)?;
    Ok(report)
}

/// One report.
pub async fn get(
    state: &AppState,
    caller: &Principal,
    name: &str,
) -> Result<pb::GetReconciliationReportResponse, ApiError> {
    require_role(caller, READERS)?;
    let mut v = Violations::new();
    let Some(id) = v.numeric_name("name", name, "reconciliationReports") else {
        return Err(v.into_error());
    };
    let report = visible_report(state, caller, name, id).await?;
    Ok(pb::GetReconciliationReportResponse { report: Some(report_to_wire(&report)) })
}

/// Reports, newest first.
pub async fn list(
    state: &AppState,
    caller: &Principal,
    body: &pb::ListReconciliationReportsRequest,
) -> Result<pb::ListReconciliationReportsResponse, ApiError> {
    require_role(caller, READERS)?;
    let mut v = Violations::new();
    let page = Page::parse(&mut v, body.page_size, &body.page_token);
    let bank = v.optional_bank_name("bank", &body.bank);
    let (Some(page), Some(bank)) = (page, bank) else {
        return Err(v.into_error());
    };
    let bank = bank_scope(caller, bank, &body.bank)?;
    let before = page.after.as_deref().and_then(|a| a.parse().ok());
    let limit = page.fetch_limit();
    let mut reports = state
        .store
        .reading_replica(async |db| store::reconciliation::list(db, bank.as_ref(), before, limit).await)
        .await?;
    let next_page_token = page.finish(&mut reports, |r| r.report_id.to_string());
    Ok(pb::ListReconciliationReportsResponse { reports: reports.iter().map(report_to_wire).collect(), next_page_token })
}

/// Discrepancies of a report, in tape order (MISSING_AT_BANK last).
pub async fn discrepancies(
    state: &AppState,
    caller: &Principal,
    body: &pb::ListDiscrepanciesRequest,
) -> Result<pb::ListDiscrepanciesResponse, ApiError> {
    require_role(caller, READERS)?;
    let mut v = Violations::new();
    let page = Page::parse(&mut v, body.page_size, &body.page_token);
    let id = v.numeric_name("report", &body.report, "reconciliationReports");
    let kind = v.optional_domain_enum::<DiscrepancyKind>("kind", body.kind);
    let (Some(page), Some(id), Some(kind)) = (page, id, kind) else {
        return Err(v.into_error());
    };
    visible_report(state, caller, &body.report, id).await?;
    let before = page.after.as_deref().and_then(|a| a.parse().ok());
    let limit = page.fetch_limit();
    let mut rows = state
        .store
        .reading_replica(async |db| store::reconciliation::discrepancies(db, id, kind, before, limit).await)
        .await?;
    let next_page_token = page.finish(&mut rows, |(sequence, _)| sequence.to_string());
    Ok(pb::ListDiscrepanciesResponse {
        discrepancies: rows.iter().map(|(_, d)| discrepancy_to_wire(d)).collect(),
        next_page_token,
    })
}
