//! 审计 audit: the trail's verdict and its records, for AUDITOR and ADMIN keys.

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use maud::html;
use proto::v1 as pb;
use serde::Deserialize;

use super::{label, page, refused, role_name, shanghai, visit};
use crate::Dashboard;

/// The filters of the audit page.
#[derive(Debug, Deserialize)]
pub(crate) struct AuditFilter {
    outcome: Option<String>,
    method: Option<String>,
    resource: Option<String>,
}

const OUTCOMES: [(&str, pb::AuditOutcome); 3] = [
    ("ACCEPTED", pb::AuditOutcome::Accepted),
    ("REFUSED", pb::AuditOutcome::Refused),
    ("REPLAYED", pb::AuditOutcome::Replayed),
];

pub(crate) async fn audit(
    State(dashboard): State<Dashboard>,
    headers: HeaderMap,
    Query(filter): Query<AuditFilter>,
) -> Response {
    let mut v = match visit(&dashboard, &headers) {
        Ok(v) => v,
        Err(to_login) => return to_login,
    };
    let lang = v.lang;
    let verdict = match v.api.audit.verify_audit(pb::VerifyAuditRequest {}).await {
        Ok(answer) => answer.into_inner(),
        Err(status) => return refused(&v, &status),
    };
    let outcome =
        OUTCOMES.iter().find(|(name, _)| filter.outcome.as_deref() == Some(*name)).map_or(0, |(_, o)| *o as i32);
    let text = |value: &Option<String>| value.clone().map(|v| v.trim().to_owned()).unwrap_or_default();
    let request = pb::ListAuditRecordsRequest {
        page_size: 200,
        outcome,
        method: text(&filter.method),
        resource: text(&filter.resource),
        ..Default::default()
    };
    let records = match v.api.audit.list_audit_records(request).await {
        Ok(answer) => answer.into_inner().audit_records,
        Err(status) => return refused(&v, &status),
    };
    let body = html! {
        @if verdict.ok {
            div.notice #verdict { (lang.t("audit_unbroken")) " — " (lang.t("audit_checked")) " " (verdict.records_checked) " · " code { (verdict.head_hash.get(..16).unwrap_or_default()) "…" } }
        } @else {
            div.error #verdict { strong { (lang.t("audit_broken")) } " " (verdict.first_broken_sequence) " " (verdict.first_broken_record) p { (verdict.problem) } }
        }
        form method="get" action="/audit" {
            select name="outcome" {
                option value="" { (lang.t("audit_any")) }
                @for (name, _) in OUTCOMES {
                    option value=(name) selected[filter.outcome.as_deref() == Some(name)] { (lang.t(&format!("audit_{}", name.to_lowercase()))) }
                }
            }
            " " input type="text" name="method" placeholder=(lang.t("audit_method")) value=(text(&filter.method));
            " " input type="text" name="resource" placeholder=(lang.t("audit_resource")) value=(text(&filter.resource));
            " " button.primary type="submit" { (lang.t("audit_filter")) }
        }
        table #audit {
            thead { tr {
                th.num { "#" } th { (lang.t("audit_time")) } th { (lang.t("audit_key")) } th { (lang.t("bank")) }
                th { (lang.t("audit_method")) } th { (lang.t("audit_outcome")) } th { (lang.t("audit_detail")) }
            } }
            tbody { @for r in &records { tr {
                td.num { @if r.sequence > 0 { (r.sequence) } @else { "…" } }
                td { (shanghai(&r.record_time)) }
                td { (r.key_id) br; span.muted { (role_name(lang, r.role())) } }
                td { (r.bank) }
                td { (r.method.rsplit('/').next().unwrap_or_default()) br; span.muted { (r.request_id) } }
                td { (lang.t(&format!("audit_{}", label(r.outcome().as_str_name(), "AUDIT_OUTCOME_").to_lowercase()))) br; span.muted { (r.status_code) } }
                td { @if r.reason.is_empty() { (r.resources.join(" ")) } @else { (r.reason) } }
            } } }
        }
    };
    page(lang, Some(&v.session), lang.t("audit"), body).into_response()
}
