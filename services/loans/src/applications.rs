//! Applications: submission (underwritten at once), reads, withdrawal, and a risk officer's
//! review of a referred one.

use domain::loan::{ApplicationEvent, ApplicationStatus};
use domain::underwriting::{Context, Outcome, underwrite};
use domain::{BankId, Principal, Role};
use proto::v1 as pb;
use rpc::auth::{bank_scope, principal, require_role, visible};
use rpc::convert::{Page, Violations, business_today};
use rpc::{ApiError, idempotent};
use store::applications::{ApplicationChange, ApplicationFilter, ApplicationRecord, ReviewRecord};
use tonic::Request;

use crate::wire::{self, application_to_wire};
use crate::{Loans, READERS, REVIEW, SUBMIT, WITHDRAW};

/// The bank of a BANK caller's key.
pub(crate) fn own_bank(caller: &Principal) -> Result<BankId, ApiError> {
    caller.bank.clone().ok_or_else(|| ApiError::permission_denied("this key is not bound to a bank"))
}

/// A visible application, or NOT_FOUND.
fn visible_application(
    caller: &Principal,
    record: Option<ApplicationRecord>,
    name: &str,
) -> Result<ApplicationRecord, ApiError> {
    visible(caller, record, |a| &a.bank_id, name)
}

impl Loans {
    pub(crate) async fn submit(
        &self,
        request: Request<pb::SubmitApplicationRequest>,
    ) -> Result<pb::SubmitApplicationResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, &[Role::Bank])?;
        let own = own_bank(&caller)?;
        let body = request.into_inner();
        let today = business_today();
        let mut v = Violations::new();
        let request_id = v.request_id(&body.request_id);
        let bank = v.bank_name("bank", &body.bank);
        let submission = wire::submission(&mut v, body.enterprise.as_ref(), body.terms.as_ref(), today);
        let (Some(request_id), Some(bank), Some(submission)) = (request_id, bank, submission) else {
            return Err(v.into_error());
        };
        if bank != own {
            return Err(ApiError::permission_denied(format!("a key of bank {own} may not submit for bank {bank}")));
        }
        // What the decision reads (the bank's status, the enterprise's covered outstanding)
        // is read at once, on two connections, before the write transaction: the decision
        // is as of the moment of submission, and enrolment checks the limits again anyway.
        let store = &self.state.store;
        let uscc = submission.enterprise.uscc.as_str();
        let (bank_record, enterprise_covered_outstanding) = tokio::try_join!(
            store.reading(async |db| store::banks::get(db, &bank).await),
            store.reading(async |db| store::exposure::enterprise_outstanding(db, uscc).await),
        )?;
        let bank_record = bank_record.ok_or_else(|| ApiError::not_found(format!("banks/{bank}")))?;
        let context = Context { decision_date: today, bank_status: bank_record.status, enterprise_covered_outstanding };
        let decision = underwrite(&self.state.policy, &submission, &context);
        idempotent!(self.state, &caller, SUBMIT, request_id, &body, |txn| {
            let status = match decision.outcome {
                Outcome::Approved => ApplicationStatus::Approved,
                Outcome::Referred => ApplicationStatus::Referred,
                Outcome::Rejected => ApplicationStatus::Rejected,
            };
            let record = store::applications::insert(txn, &bank, &submission, &decision, status).await?;
            tracing::info!(
                application_id = record.application_id,
                bank_id = %bank,
                outcome = decision.outcome.as_str(),
                score = decision.score,
                "application decided"
            );
            pb::SubmitApplicationResponse { application: Some(application_to_wire(&record, today)) }
        })
    }

    pub(crate) async fn get_application(
        &self,
        request: Request<pb::GetApplicationRequest>,
    ) -> Result<pb::GetApplicationResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, READERS)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let Some(id) = v.numeric_name("name", &body.name, "applications") else {
            return Err(v.into_error());
        };
        let record = self.state.store.reading(async |db| store::applications::get(db, id).await).await?;
        let record = visible_application(&caller, record, &body.name)?;
        Ok(pb::GetApplicationResponse { application: Some(application_to_wire(&record, business_today())) })
    }

    pub(crate) async fn list_applications(
        &self,
        request: Request<pb::ListApplicationsRequest>,
    ) -> Result<pb::ListApplicationsResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, READERS)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let page = Page::parse(&mut v, body.page_size, &body.page_token);
        let bank = v.optional_bank_name("bank", &body.bank);
        let status = v.optional_domain_enum::<ApplicationStatus>("status", body.status);
        let uscc = if body.uscc.is_empty() {
            Some(None)
        } else {
            v.check("uscc", domain::Uscc::parse(&body.uscc)).map(|u| Some(u.to_string()))
        };
        let from = v.optional_date("submitted_from", &body.submitted_from);
        let to = v.optional_date("submitted_to", &body.submitted_to);
        let (Some(page), Some(bank), Some(status), Some(uscc), Some(from), Some(to)) =
            (page, bank, status, uscc, from, to)
        else {
            return Err(v.into_error());
        };
        if let (Some(from), Some(to)) = (from, to)
            && from > to
        {
            return Err(ApiError::invalid("submitted_to", "is before submitted_from"));
        }
        let bank = bank_scope(&caller, bank, &body.bank)?;
        let today = business_today();
        // EXPIRED is an APPROVED application past its expiry; APPROVED excludes those.
        let stored_status = match status {
            Some(ApplicationStatus::Expired) => Some(ApplicationStatus::Approved),
            other => other,
        };
        let filter = ApplicationFilter {
            bank,
            status: stored_status,
            uscc,
            from,
            to,
            before_id: page.after.as_deref().and_then(|a| a.parse().ok()),
        };
        let mut records = Vec::new();
        let mut filter = filter;
        // Expiry is derived, so filter it here, reading further pages until this one is full.
        loop {
            let limit = page.fetch_limit();
            let batch = self
                .state
                .store
                .reading_replica(async |db| store::applications::list(db, &filter, limit).await)
                .await?;
            let exhausted = (batch.len() as u64) < page.fetch_limit();
            filter.before_id = batch.last().map(|r| r.application_id);
            records.extend(batch.into_iter().filter(|r| match status {
                Some(wanted) => r.status.as_of(r.approval_expire_date, today) == wanted,
                None => true,
            }));
            if exhausted || records.len() as u64 > page.size {
                break;
            }
        }
        let next_page_token = page.finish(&mut records, |r| r.application_id.to_string());
        Ok(pb::ListApplicationsResponse {
            applications: records.iter().map(|r| application_to_wire(r, today)).collect(),
            next_page_token,
        })
    }

    pub(crate) async fn withdraw(
        &self,
        request: Request<pb::WithdrawApplicationRequest>,
    ) -> Result<pb::WithdrawApplicationResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, &[Role::Bank])?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let request_id = v.request_id(&body.request_id);
        let id = v.numeric_name("name", &body.name, "applications");
        let reason = v.optional_text("reason", &body.reason, 2000);
        let (Some(request_id), Some(id), Some(reason)) = (request_id, id, reason) else {
            return Err(v.into_error());
        };
        let today = business_today();
        idempotent!(self.state, &caller, WITHDRAW, request_id, &body, |txn| {
            let record = store::applications::get_for_update(txn, id).await?;
            let record = visible_application(&caller, record, &body.name)?;
            let status = record.status.as_of(record.approval_expire_date, today);
            let withdrawn = status.on(ApplicationEvent::Withdrawn).map_err(|r| ApiError::refused(&r))?;
            let change = ApplicationChange {
                status: Some(withdrawn),
                withdraw_reason: Some(reason.clone()),
                ..Default::default()
            };
            let record = store::applications::update(txn, id, change).await?;
            pb::WithdrawApplicationResponse { application: Some(application_to_wire(&record, today)) }
        })
    }

    pub(crate) async fn review(
        &self,
        request: Request<pb::ReviewApplicationRequest>,
    ) -> Result<pb::ReviewApplicationResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, &[Role::RiskOfficer])?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let request_id = v.request_id(&body.request_id);
        let id = v.numeric_name("name", &body.name, "applications");
        let verdict: Option<pb::ReviewVerdict> = v.enumeration("verdict", body.verdict);
        let reason = v.text("reason", &body.reason, 2000);
        let (Some(request_id), Some(id), Some(verdict), Some(reason)) = (request_id, id, verdict, reason) else {
            return Err(v.into_error());
        };
        let today = business_today();
        let policy = self.state.policy.clone();
        idempotent!(self.state, &caller, REVIEW, request_id, &body, |txn| {
            let record =
                store::applications::get_for_update(txn, id).await?.ok_or_else(|| ApiError::not_found(&body.name))?;
            let approve = verdict == pb::ReviewVerdict::Approve;
            let status = record.status.on(ApplicationEvent::Reviewed { approve }).map_err(|r| ApiError::refused(&r))?;
            let change = ApplicationChange {
                status: Some(status),
                review: Some(ReviewRecord {
                    verdict: if approve { "APPROVE" } else { "REJECT" }.to_owned(),
                    reason: reason.clone(),
                    reviewer: caller.key_id.clone(),
                    reviewed_at: store::clock::instant(),
                }),
                approval_expire_date: approve.then(|| domain::underwriting::approval_expiry(&policy, today)),
                ..Default::default()
            };
            let record = store::applications::update(txn, id, change).await?;
            tracing::info!(application_id = id, reviewer = %caller.key_id, approve, "application reviewed");
            pb::ReviewApplicationResponse { application: Some(application_to_wire(&record, today)) }
        })
    }
}
