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
use crate::{BOOK_READERS, Pool, RATE_BANKS, SET_STATUS};

/// A rating on the wire.
fn rating_to_wire(
    rating: &domain::bank::Rating,
    record: &store::claims::BankClaimRecord,
    version: &str,
) -> pb::BankRating {
    pb::BankRating {
        grade: rating.grade.to_wire_i32(),
        npl_ratio: ratio_text(rating.npl_ratio),
        payout_ratio: ratio_text(rating.payout_ratio),
        compensation: record.compensation.to_string(),
        enrolled_principal: record.enrolled.to_string(),
        early_defaults: i64::from(record.early_defaults),
        tape_mismatch_rate: ratio_text(rating.mismatch_rate),
        reason: rating.because.clone(),
        policy_version: version.to_owned(),
    }
}

/// A stored quarterly rating on the wire (the money inputs are not stored with it).
fn stored_rating_to_wire(r: &store::banks::RatingRecord) -> pb::QuarterlyBankRating {
    pb::QuarterlyBankRating {
        bank: format!("banks/{}", r.bank_id),
        quarter: r.quarter.clone(),
        rated_on: rpc::convert::format_date(r.rated_on),
        rating: Some(pb::BankRating {
            grade: r.rating.grade.to_wire_i32(),
            npl_ratio: ratio_text(r.rating.npl_ratio),
            payout_ratio: ratio_text(r.rating.payout_ratio),
            early_defaults: i64::from(r.early_defaults),
            tape_mismatch_rate: ratio_text(r.rating.mismatch_rate),
            reason: r.rating.because.clone(),
            policy_version: r.policy_version.clone(),
            ..Default::default()
        }),
    }
}

/// A bank's grade now, from its loss record.
async fn rate_now(
    connection: &impl store::Db,
    policy: &domain::Policy,
    bank: &BankRecord,
) -> Result<(domain::bank::Rating, store::claims::BankClaimRecord), ApiError> {
    let record = store::claims::bank_claim_record(connection, &bank.bank_id).await?;
    let inputs = RatingInputs {
        covered_outstanding: bank.quota_used,
        npl_outstanding: bank.npl_outstanding,
        compensation: record.compensation,
        enrolled: record.enrolled,
        early_defaults: record.early_defaults,
        last_tape: record.last_tape,
    };
    Ok((domain::bank::rate(policy, &inputs), record))
}

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
        let (rating, record) = rate_now(connection, policy, bank).await?;
        let stored = store::banks::ratings(connection, &bank.bank_id).await?;
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
            rating: Some(rating_to_wire(&rating, &record, &policy.version)),
            quarterly_ratings: stored.iter().take(8).map(stored_rating_to_wire).collect(),
        })
    }

    pub(crate) async fn rate_banks(
        &self,
        request: Request<pb::RateBanksRequest>,
    ) -> Result<pb::RateBanksResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, &[Role::RiskOfficer, Role::Batch])?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let Some(request_id) = v.request_id(&body.request_id) else {
            return Err(v.into_error());
        };
        let policy = self.state.policy.clone();
        idempotent!(self.state, &caller, RATE_BANKS, request_id, &body, |txn| {
            let today = business_today();
            let quarter = domain::bank::Quarter::of(today);
            let mut ratings = Vec::new();
            let mut exposures = Vec::new();
            let mut after = None;
            loop {
                let page = store::banks::list(txn, after.as_deref(), 500).await?;
                let Some(last) = page.last() else { break };
                after = Some(last.bank_id.to_string());
                for listed in &page {
                    let bank = store::banks::get_for_update(txn, &listed.bank_id)
                        .await?
                        .ok_or_else(|| ApiError::Internal(format!("bank {} vanished", listed.bank_id)))?;
                    let (rating, record) = rate_now(txn, &policy, &bank).await?;
                    let stored = store::banks::RatingRecord {
                        bank_id: bank.bank_id.clone(),
                        quarter: quarter.to_string(),
                        rating,
                        early_defaults: record.early_defaults,
                        policy_version: policy.version.clone(),
                        rated_on: today,
                    };
                    store::banks::save_rating(txn, &stored).await?;
                    if !bank.status_manual {
                        let (status, reason) = domain::bank::automatic_status_with_reason(
                            &policy,
                            bank.quota_used,
                            bank.npl_outstanding,
                            Some(stored.rating.grade),
                        );
                        if status != bank.status {
                            store::banks::set_status(txn, &bank.bank_id, status, &reason, false).await?;
                            tracing::warn!(bank_id = %bank.bank_id, from = %bank.status, to = %status, "bank status follows its grade");
                        }
                    }
                    tracing::info!(bank_id = %bank.bank_id, grade = %stored.rating.grade, %quarter, "bank rated");
                    ratings.push(stored_rating_to_wire(&stored));
                    let bank = store::banks::get(txn, &bank.bank_id)
                        .await?
                        .ok_or_else(|| ApiError::Internal(format!("bank {} vanished", listed.bank_id)))?;
                    exposures.push(self.exposure(txn, &bank).await?);
                }
                if page.len() < 500 {
                    break;
                }
            }
            pb::RateBanksResponse { quarter: quarter.to_string(), ratings, exposures }
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
        let db = self.state.store.read().await?;
        let bank = store::banks::get(&db, &bank_id).await?.ok_or_else(|| ApiError::not_found(&body.bank))?;
        let exposure = self.exposure(&db, &bank).await?;
        db.finish().await?;
        Ok(pb::GetBankExposureResponse { exposure: Some(exposure) })
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
        let db = self.state.store.read_replica().await?;
        let mut banks = store::banks::list(&db, page.after.as_deref(), page.fetch_limit()).await?;
        let next_page_token = page.finish(&mut banks, |b| b.bank_id.to_string());
        let mut exposures = Vec::with_capacity(banks.len());
        for bank in &banks {
            exposures.push(self.exposure(&db, bank).await?);
        }
        db.finish().await?;
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
                    let (automatic, rule) = domain::bank::automatic_status_with_reason(
                        &policy,
                        bank.quota_used,
                        bank.npl_outstanding,
                        bank.rated_grade,
                    );
                    let why = if automatic == BankStatus::Active {
                        String::new()
                    } else {
                        format!("{reason}; {rule} still calls for {automatic}")
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
