//! Banks as the pool sees them: exposure, NPL ratio and compensation against the annual
//! cap, the bank's grade, and a risk officer's suspension by hand.

use domain::bank::{RatingInputs, npl_ratio};
use domain::{BankStatus, Money, Role};
use proto::v1 as pb;
use rpc::auth::{principal, require_bank_visible, require_role};
use rpc::convert::{Page, Violations, business_today};
use rpc::{ApiError, WireEnum, idempotent};
use store::banks::BankRecord;
use tonic::Request;

use crate::wire::ratio_text;
use crate::{BOOK_READERS, Pool, SET_STATUS};

impl Pool {
    pub(crate) async fn exposure(
        &self,
        connection: &impl store::Db,
        bank: &BankRecord,
    ) -> Result<pb::BankExposure, ApiError> {
        use chrono::Datelike;
        let policy = &self.state.policy;
        let this_year = store::claims::compensation_in_year(connection, &bank.bank_id, business_today().year()).await?;
        let cap = policy.claims.annual_cap_per_bank;
        let record = store::claims::bank_claim_record(connection, &bank.bank_id).await?;
        let inputs = RatingInputs {
            covered_outstanding: bank.quota_used,
            npl_outstanding: bank.npl_outstanding,
            compensation: record.compensation,
            enrolled: record.enrolled,
            early_defaults: record.early_defaults,
            last_tape: record.last_tape,
        };
        let rating = domain::bank::rate(policy, &inputs);
        Ok(pb::BankExposure {
            bank: format!("banks/{}", bank.bank_id),
            quota: bank.quota.to_string(),
            quota_used: bank.quota_used.to_string(),
            quota_headroom: Money::from_fen(bank.quota.fen() - bank.quota_used.fen()).to_string(),
            covered_outstanding: bank.quota_used.to_string(),
            pool_exposure: bank.pool_exposure.to_string(),
            npl_ratio: ratio_text(npl_ratio(bank.quota_used, bank.npl_outstanding)),
            status: bank.status.to_wire_i32(),
            status_reason: bank.status_reason.clone(),
            compensation_this_year: this_year.to_string(),
            annual_cap: cap.to_string(),
            annual_cap_remaining: cap.saturating_sub(this_year).to_string(),
            claims_filed: record.claims,
            recoveries: record.recoveries.to_string(),
            rating: Some(pb::BankRating {
                grade: rating.grade.to_wire_i32(),
                npl_ratio: ratio_text(rating.npl_ratio),
                payout_ratio: ratio_text(rating.payout_ratio),
                compensation: record.compensation.to_string(),
                enrolled_principal: record.enrolled.to_string(),
                early_defaults: i64::from(record.early_defaults),
                tape_mismatch_rate: ratio_text(rating.mismatch_rate),
                reason: rating.because,
                policy_version: policy.version.clone(),
            }),
        })
    }

    pub(crate) async fn bank_exposure(
        &self,
        request: Request<pb::GetBankExposureRequest>,
    ) -> Result<pb::GetBankExposureResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, &[BOOK_READERS, &[Role::Bank]].concat())?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let Some(bank_id) = v.bank_name("bank", &body.bank) else {
            return Err(v.into_error());
        };
        require_bank_visible(&caller, &bank_id, &body.bank)?;
        let bank = store::banks::get(self.state.store.connection(), &bank_id)
            .await?
            .ok_or_else(|| ApiError::not_found(&body.bank))?;
        Ok(pb::GetBankExposureResponse { exposure: Some(self.exposure(self.state.store.connection(), &bank).await?) })
    }

    pub(crate) async fn bank_exposures(
        &self,
        request: Request<pb::ListBankExposuresRequest>,
    ) -> Result<pb::ListBankExposuresResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, BOOK_READERS)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let Some(page) = Page::parse(&mut v, body.page_size, &body.page_token) else {
            return Err(v.into_error());
        };
        let mut banks =
            store::banks::list(self.state.store.connection(), page.after.as_deref(), page.fetch_limit()).await?;
        let next_page_token = page.finish(&mut banks, |b| b.bank_id.to_string());
        let mut exposures = Vec::with_capacity(banks.len());
        for bank in &banks {
            exposures.push(self.exposure(self.state.store.connection(), bank).await?);
        }
        Ok(pb::ListBankExposuresResponse { exposures, next_page_token })
    }

    pub(crate) async fn set_bank_status(
        &self,
        request: Request<pb::SetBankStatusRequest>,
    ) -> Result<pb::SetBankStatusResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, &[Role::RiskOfficer])?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let request_id = v.request_id(&body.request_id);
        let bank_id = v.bank_name("bank", &body.bank);
        let status = match pb::BankStatus::try_from(body.status) {
            Ok(pb::BankStatus::Suspended) => Some(BankStatus::Suspended),
            Ok(pb::BankStatus::Active) => Some(BankStatus::Active),
            _ => {
                v.add("status", "must be BANK_STATUS_SUSPENDED or BANK_STATUS_ACTIVE");
                None
            }
        };
        let reason = v.text("reason", &body.reason, 500);
        let (Some(request_id), Some(bank_id), Some(status), Some(reason)) = (request_id, bank_id, status, reason)
        else {
            return Err(v.into_error());
        };
        let policy = self.state.policy.clone();
        idempotent!(self.state, &caller, SET_STATUS, request_id, &body, |txn| {
            let bank =
                store::banks::get_for_update(txn, &bank_id).await?.ok_or_else(|| ApiError::not_found(&body.bank))?;
            match status {
                // Suspending by hand holds until a risk officer resumes the bank.
                BankStatus::Suspended => store::banks::set_status(txn, &bank_id, status, &reason, true).await?,
                // Resuming hands the status back to the NPL rules, which may still say WATCH or SUSPENDED.
                _ => {
                    let automatic = domain::bank::automatic_status(&policy, bank.quota_used, bank.npl_outstanding);
                    let why = if automatic == BankStatus::Active {
                        String::new()
                    } else {
                        format!("{reason}; the NPL ratio still calls for {automatic}")
                    };
                    store::banks::set_status(txn, &bank_id, automatic, &why, false).await?;
                }
            }
            tracing::warn!(bank_id = %bank_id, status = %status, by = %caller.key_id, "bank status set by hand");
            let bank = store::banks::get(txn, &bank_id).await?.ok_or_else(|| ApiError::not_found(&body.bank))?;
            pb::SetBankStatusResponse { exposure: Some(self.exposure(txn, &bank).await?) }
        })
    }
}
