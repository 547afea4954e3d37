//! `techcredit.v1.AuditService`: the audit trail, listed and verified. AUDITOR or ADMIN.

use domain::Role;
use domain::trail::Outcome;
use proto::v1::{self as pb, audit_service_server::AuditService};
use rpc::auth::{principal, require_role};
use rpc::convert::{Page, Violations, timestamp};
use rpc::{ApiError, AppState, WireEnum};
use store::audit::{AuditRecord, Filter, Verdict};
use tonic::{Request, Response, Status};

/// The audit service over the shared state.
#[derive(Debug, Clone)]
pub struct Audit {
    state: AppState,
}

impl Audit {
    /// A service over `state`.
    pub fn new(state: AppState) -> Audit {
        Audit { state }
    }
}

/// A record on the wire.
pub fn record_to_wire(record: &AuditRecord) -> pb::AuditRecord {
    let entry = &record.entry;
    let (sequence, previous_hash, hash) = record.seal.clone().unwrap_or_default();
    pb::AuditRecord {
        name: format!("auditRecords/{}", record.id),
        sequence,
        record_time: Some(timestamp(entry.recorded_at)),
        key_id: entry.key_id.clone(),
        role: Role::parse(&entry.role).map(Role::to_wire_i32).unwrap_or_default(),
        bank: entry.bank.as_ref().map(|bank| format!("banks/{bank}")).unwrap_or_default(),
        method: entry.method.clone(),
        request_id: entry.request_id.clone(),
        outcome: entry.outcome.to_wire_i32(),
        status_code: entry.status.clone(),
        reason: entry.reason.clone(),
        resources: entry.resources.clone(),
        hash,
        previous_hash,
    }
}

/// A verdict on the wire.
pub fn verdict_to_wire(verdict: &Verdict) -> pb::VerifyAuditResponse {
    let broken = verdict.broken.as_ref();
    pb::VerifyAuditResponse {
        ok: broken.is_none(),
        records_checked: verdict.checked,
        head_sequence: verdict.head.0,
        head_hash: verdict.head.1.clone(),
        first_broken_sequence: broken.map(|b| b.sequence).unwrap_or_default(),
        first_broken_record: broken.and_then(|b| b.record).map(|id| format!("auditRecords/{id}")).unwrap_or_default(),
        problem: broken.map(ToString::to_string).unwrap_or_default(),
        check_time: Some(timestamp(store::clock::instant())),
    }
}

impl Audit {
    async fn list(
        &self,
        request: Request<pb::ListAuditRecordsRequest>,
    ) -> Result<pb::ListAuditRecordsResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, &[Role::Auditor, Role::Admin])?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let page = Page::parse(&mut v, body.page_size, &body.page_token);
        let bank = if body.bank.is_empty() { Some(None) } else { v.bank_name("bank", &body.bank).map(Some) };
        let outcome = match body.outcome {
            0 => Some(None),
            value => v.check("outcome", Outcome::from_wire_i32(value).map(Some)),
        };
        let text = |v: &mut Violations, field: &str, value: &str| {
            if value.is_empty() { Some(None) } else { v.text(field, value, 200).map(Some) }
        };
        let method = text(&mut v, "method", &body.method);
        let key_id = text(&mut v, "key_id", &body.key_id);
        let resource = text(&mut v, "resource", &body.resource);
        let (Some(page), Some(bank), Some(outcome), Some(method), Some(key_id), Some(resource)) =
            (page, bank, outcome, method, key_id, resource)
        else {
            return Err(v.into_error());
        };
        let before = match &page.after {
            None => None,
            Some(after) => Some(
                after
                    .parse::<i64>()
                    .map_err(|_| ApiError::invalid("page_token", "is not a token this server issued"))?,
            ),
        };
        let filter = Filter { bank: bank.map(|b| b.to_string()), method, key_id, outcome, resource };
        let limit = page.fetch_limit();
        let mut records =
            self.state.store.reading_replica(async |db| store::audit::list(db, &filter, before, limit).await).await?;
        let next_page_token = page.finish(&mut records, |record| record.id.to_string());
        Ok(pb::ListAuditRecordsResponse {
            audit_records: records.iter().map(record_to_wire).collect(),
            next_page_token,
        })
    }

    async fn verify(&self, request: Request<pb::VerifyAuditRequest>) -> Result<pb::VerifyAuditResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, &[Role::Auditor, Role::Admin])?;
        // Seal what the last second wrote, so that the walk covers every record so far.
        store::audit::seal(&self.state.store).await?;
        let verdict = self.state.store.reading(async |db| store::audit::verify(db).await).await?;
        if let Some(broken) = &verdict.broken {
            tracing::error!(%broken, "the audit chain is broken");
        }
        Ok(verdict_to_wire(&verdict))
    }
}

#[tonic::async_trait]
impl AuditService for Audit {
    async fn list_audit_records(
        &self,
        request: Request<pb::ListAuditRecordsRequest>,
    ) -> Result<Response<pb::ListAuditRecordsResponse>, Status> {
        Ok(Response::new(self.list(request).await?))
    }

    async fn verify_audit(
        &self,
        request: Request<pb::VerifyAuditRequest>,
    ) -> Result<Response<pb::VerifyAuditResponse>, Status> {
        Ok(Response::new(self.verify(request).await?))
    }
}
