//! 结算单 (with its downloads) and 对账.

#[allow(clippy::wildcard_imports)]
use super::*;

// --- 结算单 -----------------------------------------------------------------------------

pub(crate) async fn statements(State(dashboard): State<Dashboard>, headers: HeaderMap) -> Response {
    let mut v = match visit(&dashboard, &headers) {
        Ok(v) => v,
        Err(to_login) => return to_login,
    };
    let lang = v.lang;
    let list = match v
        .api
        .settlement
        .list_statements(pb::ListStatementsRequest { page_size: 200, ..Default::default() })
        .await
    {
        Ok(answer) => answer.into_inner().statements,
        Err(status) => return refused(&v, &status),
    };
    let body = html! {
        table #statements {
            thead { tr { th { "#" } th { (lang.t("bank")) } th { (lang.t("period")) } th { (lang.t("status")) } th.num { (lang.t("net")) } th { (lang.t("direction")) } th.num { (lang.t("paid")) } } }
            tbody { @for s in &list { tr {
                td { a href={ "/" (s.name) } { (s.name) } } td { (s.bank) } td { (s.period) }
                td { (lang.status(&label(s.status().as_str_name(), "STATEMENT_STATUS_"))) } td.num { (yuan(&s.net_amount)) }
                td { (lang.status(&label(s.direction().as_str_name(), "SETTLEMENT_DIRECTION_"))) } td.num { (yuan(&s.amount_paid)) }
            } } }
        }
    };
    page(lang, Some(&v.session), lang.t("statements"), body).into_response()
}

pub(crate) async fn statement(State(dashboard): State<Dashboard>, headers: HeaderMap, Path(id): Path<i64>) -> Response {
    let mut v = match visit(&dashboard, &headers) {
        Ok(v) => v,
        Err(to_login) => return to_login,
    };
    let lang = v.lang;
    let s = match v.api.settlement.get_statement(pb::GetStatementRequest { name: format!("statements/{id}") }).await {
        Ok(answer) => answer.into_inner().statement.unwrap_or_default(),
        Err(status) => return refused(&v, &status),
    };
    let body = html! {
        p { (s.bank) " · " (s.period) " · " (lang.status(&label(s.status().as_str_name(), "STATEMENT_STATUS_"))) " · "
            a href={ "/statements/" (id) "/csv" } { (lang.t("download_csv")) } " · "
            a href={ "/statements/" (id) "/print" } { (lang.t("print")) } }
        h2 { (lang.t("lines")) }
        table { tbody { @for l in &s.lines { tr {
            td { (label(l.kind().as_str_name(), "STATEMENT_LINE_KIND_")) } td { (l.source) } td { (l.description) } td.num { (yuan(&l.amount)) }
        } } } }
        p { (lang.t("net")) ": " strong { (yuan(&s.net_amount)) } " · " (lang.t("due")) " " (yuan(&s.amount_due)) " · " (lang.t("paid")) " " (yuan(&s.amount_paid)) }
        h2 { (lang.t("payments")) }
        table { tbody { @for p in &s.payments { tr { td { (p.name) } td { (p.value_date) } td { (p.reference) } td.num { (yuan(&p.amount)) } td { (shanghai(&p.record_time)) } } } } }
    };
    page(lang, Some(&v.session), lang.t("statements"), body).into_response()
}

pub(super) async fn export(
    dashboard: &Dashboard,
    headers: &HeaderMap,
    id: i64,
    format: pb::ExportFormat,
) -> Result<pb::ExportStatementResponse, Response> {
    let mut v = visit(dashboard, headers)?;
    v.api
        .settlement
        .export_statement(pb::ExportStatementRequest { name: format!("statements/{id}"), format: format as i32 })
        .await
        .map(|r| r.into_inner())
        .map_err(|status| refused(&v, &status))
}

pub(crate) async fn statement_csv(
    State(dashboard): State<Dashboard>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    match export(&dashboard, &headers, id, pb::ExportFormat::Csv).await {
        Ok(file) => {
            // A byte order mark, so that Excel reads the file as UTF-8 (the Chinese intact).
            let mut body = "\u{feff}".as_bytes().to_vec();
            body.extend(file.content);
            let disposition = format!("attachment; filename=\"{}\"", file.file_name);
            ([(CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (CONTENT_DISPOSITION, disposition)], body)
                .into_response()
        }
        Err(page) => page,
    }
}

pub(crate) async fn statement_print(
    State(dashboard): State<Dashboard>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    match export(&dashboard, &headers, id, pb::ExportFormat::Html).await {
        Ok(file) => ([(CONTENT_TYPE, "text/html; charset=utf-8")], file.content).into_response(),
        Err(page) => page,
    }
}

// --- 对账 -------------------------------------------------------------------------------

pub(crate) async fn reconciliation(State(dashboard): State<Dashboard>, headers: HeaderMap) -> Response {
    let mut v = match visit(&dashboard, &headers) {
        Ok(v) => v,
        Err(to_login) => return to_login,
    };
    let lang = v.lang;
    let reports = match v
        .api
        .settlement
        .list_reconciliation_reports(pb::ListReconciliationReportsRequest { page_size: 200, ..Default::default() })
        .await
    {
        Ok(answer) => answer.into_inner().reports,
        Err(status) => return refused(&v, &status),
    };
    let body = html! {
        table #reports {
            thead { tr { th { (lang.t("report")) } th { (lang.t("bank")) } th { (lang.t("business_date")) } th.num { (lang.t("rows")) } th.num { (lang.t("matched")) } th.num { (lang.t("discrepancies")) } } }
            tbody { @for r in &reports { tr {
                td { a href={ "/" (r.name.replace("reconciliationReports", "reconciliation")) } { (r.name) } } td { (r.bank) } td { (r.as_of) }
                td.num { (r.rows_read) } td.num { (r.rows_matched) }
                td.num { (r.missing_in_pool + r.missing_at_bank + r.balance_mismatch + r.status_mismatch + r.duplicate_in_tape + r.invalid_record) }
            } } }
        }
    };
    page(lang, Some(&v.session), lang.t("reconciliation"), body).into_response()
}

#[derive(Deserialize)]
pub(crate) struct KindFilter {
    kind: Option<String>,
}

pub(super) const KINDS: [(&str, pb::DiscrepancyKind); 6] = [
    ("MISSING_IN_POOL", pb::DiscrepancyKind::MissingInPool),
    ("MISSING_AT_BANK", pb::DiscrepancyKind::MissingAtBank),
    ("BALANCE_MISMATCH", pb::DiscrepancyKind::BalanceMismatch),
    ("STATUS_MISMATCH", pb::DiscrepancyKind::StatusMismatch),
    ("DUPLICATE_IN_TAPE", pb::DiscrepancyKind::DuplicateInTape),
    ("INVALID_RECORD", pb::DiscrepancyKind::InvalidRecord),
];

pub(crate) async fn report(
    State(dashboard): State<Dashboard>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(filter): Query<KindFilter>,
) -> Response {
    let mut v = match visit(&dashboard, &headers) {
        Ok(v) => v,
        Err(to_login) => return to_login,
    };
    let lang = v.lang;
    let kind = KINDS.iter().find(|(name, _)| filter.kind.as_deref() == Some(*name)).map_or(0, |(_, k)| *k as i32);
    let request = pb::ListDiscrepanciesRequest {
        page_size: 1000,
        report: format!("reconciliationReports/{id}"),
        kind,
        ..Default::default()
    };
    let rows = match v.api.settlement.list_discrepancies(request).await {
        Ok(answer) => answer.into_inner().discrepancies,
        Err(status) => return refused(&v, &status),
    };
    let body = html! {
        p { a href={ "/reconciliation/" (id) } { (lang.t("all")) }
            @for (name, _) in KINDS { " · " a href={ "/reconciliation/" (id) "?kind=" (name) } { (name) } } }
        table #discrepancies {
            thead { tr { th { (lang.t("kind")) } th { "#" } th { (lang.t("bank")) } th.num { "bank" } th.num { "pool" } th.num { "Δ" } th { "" } } }
            tbody { @for d in &rows { tr {
                td { (label(d.kind().as_str_name(), "DISCREPANCY_KIND_")) } td { (d.line_number) } td { (d.bank_loan_number) }
                td.num { (d.bank_value) } td.num { (d.pool_value) } td.num { (d.difference) } td { (d.detail) }
            } } }
        }
    };
    page(lang, Some(&v.session), lang.t("reconciliation"), body).into_response()
}
