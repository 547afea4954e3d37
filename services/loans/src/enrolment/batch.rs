//! One batch of enrolments decided and written in one transaction (see `store::enrolment`):
//! the domain's rules (`domain::enrolment`) decide each call against the totals the calls
//! before it left.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use domain::enrolment::{self, Approval, BankStanding, PoolStanding, Refusal};
use domain::{BankId, Money, Policy};
use proto::v1 as pb;
use rpc::auth::require_bank_visible;
use rpc::{ApiError, AppState};
use store::applications::ApplicationRecord;
use store::idempotency::Remember;
use store::loans::NewLoan;

use super::{Enrolment, Outcome};
use crate::wire::loan_to_wire;
use crate::{ENROLL, exposure_of};

/// The outcome of every call of a batch, in order: decided optimistically first; if that
/// fails as a whole, again under the row locks; if that fails too, call by call.
pub(super) async fn run(state: &AppState, enrolments: &[Enrolment]) -> Vec<Outcome> {
    let error = match decide_and_write(state, enrolments, Mode::Optimistic).await {
        Ok(outcomes) => return outcomes,
        Err(error) => error,
    };
    tracing::debug!(calls = enrolments.len(), %error, "optimistic enrolment batch failed; deciding it under locks");
    let error = match decide_and_write(state, enrolments, Mode::Careful).await {
        Ok(outcomes) => return outcomes,
        Err(error) if enrolments.len() == 1 => return vec![Err(error)],
        Err(error) => error,
    };
    tracing::warn!(calls = enrolments.len(), %error, "enrolment batch failed; deciding its calls one by one");
    let mut outcomes = Vec::with_capacity(enrolments.len());
    for enrolment in enrolments {
        let one = std::slice::from_ref(enrolment);
        outcomes.push(match decide_and_write(state, one, Mode::Careful).await {
            Ok(mut outcome) => outcome.pop().unwrap_or_else(|| Err(ApiError::Internal("no outcome".to_owned()))),
            Err(error) => Err(error),
        });
    }
    outcomes
}

/// How a batch is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The common case, in the fewest statements: the bank and pool totals are read without
    /// locks and the limits checked again on the totals the final `UPDATE … RETURNING`
    /// writes (under the row locks, held only from there to commit); if they no longer hold,
    /// the batch fails and is decided again carefully. Idempotency records are looked up only
    /// for calls whose application is no longer enrollable (a retry finds it ENROLLED); a key
    /// reused for a different application, or a loan number taken, fails the batch at the
    /// unique index.
    Optimistic,
    /// Everything checked before anything is written, under the row locks: every key looked
    /// up, loan numbers checked, bank and pool rows locked before deciding.
    Careful,
}

/// The running totals a batch decides against, as the calls before have left them.
struct Totals {
    enterprises: HashMap<String, Money>,
    banks: HashMap<BankId, BankStanding>,
    pool: PoolStanding,
}

/// `a + b`; the sums here are of at most a few billion yuan, far inside i64 fen.
fn sum(a: Money, b: Money) -> Result<Money, ApiError> {
    a.checked_add(b).ok_or_else(|| ApiError::Internal("an exposure total overflows".to_owned()))
}

/// Decides a batch and writes what was accepted in one transaction. `Err` only when the
/// batch as a whole failed and nothing was written.
async fn decide_and_write(state: &AppState, enrolments: &[Enrolment], mode: Mode) -> Result<Vec<Outcome>, ApiError> {
    let policy = &state.policy;
    let careful = mode == Mode::Careful;
    let txn = state.store.begin_write().await?;
    let ids: BTreeSet<i64> = enrolments.iter().map(|e| e.application_id).collect();
    let applications = store::enrolment::lock_applications(&txn, &ids).await?;
    let key_of = |e: &Enrolment| (e.caller.idempotency_scope(), e.request_id.as_str().to_owned());

    let mut outcomes: Vec<Option<Outcome>> = enrolments.iter().map(|_| None).collect();
    let mut candidates: Vec<(usize, &ApplicationRecord)> = Vec::new();
    let mut refused: Vec<(usize, ApiError)> = Vec::new();
    for (index, e) in enrolments.iter().enumerate() {
        match check_application(e, applications.get(&e.application_id), policy) {
            Ok(application) => candidates.push((index, application)),
            Err(error) => refused.push((index, error)),
        }
    }
    // A call remembered before is answered with what it answered then (the application lock
    // is held, so a concurrent duplicate has committed by now).
    let unsure: BTreeSet<(String, String)> = if careful {
        enrolments.iter().map(key_of).collect()
    } else {
        refused.iter().map(|(index, _)| key_of(&enrolments[*index])).collect()
    };
    let mut remembered =
        if unsure.is_empty() { HashMap::new() } else { store::idempotency::find_many(&txn, ENROLL, &unsure).await? };
    for (index, error) in refused {
        outcomes[index] = Some(Err(error));
    }
    for (index, e) in enrolments.iter().enumerate() {
        if let Some(previous) = remembered.remove(&key_of(e)) {
            let replayed = rpc::idempotency::replay(previous, &e.request_sha256, &e.request_id);
            if replayed.is_ok() {
                rpc::audit::mark_replayed(e.audit.as_ref());
            }
            outcomes[index] = Some(replayed);
        }
    }
    candidates.retain(|(index, _)| outcomes[*index].is_none());

    if careful {
        let numbers: BTreeSet<(BankId, String)> =
            candidates.iter().map(|(i, a)| (a.bank_id.clone(), enrolments[*i].bank_loan_number.clone())).collect();
        let taken = if numbers.is_empty() {
            HashSet::new()
        } else {
            store::enrolment::loan_numbers_taken(&txn, &numbers).await?
        };
        candidates.retain(|(index, application)| {
            let number = &enrolments[*index].bank_loan_number;
            if taken.contains(&(application.bank_id.clone(), number.clone())) {
                outcomes[*index] = Some(Err(ApiError::AlreadyExists {
                    reason: "ALREADY_EXISTS".to_owned(),
                    message: format!("bank loan number {number:?} of bank {} already exists", application.bank_id),
                }));
                return false;
            }
            true
        });
    }

    let mut accepted: Vec<(usize, NewLoan)> = Vec::new();
    if !candidates.is_empty() {
        // Lock order: enterprise, bank, pool (the last two only when careful).
        let usccs = candidates.iter().map(|(_, a)| a.submission.enterprise.uscc.to_string()).collect();
        let banks = candidates.iter().map(|(_, a)| a.bank_id.clone()).collect();
        let mut totals = Totals {
            enterprises: store::enrolment::lock_enterprises(&txn, &usccs).await?,
            banks: store::enrolment::banks(&txn, &banks, careful)
                .await?
                .into_iter()
                .map(|(id, bank)| (id, bank.standing()))
                .collect(),
            pool: store::enrolment::pool(&txn, careful).await?,
        };
        for (index, application) in candidates {
            let e = &enrolments[index];
            match check_limits(e, application, policy, &mut totals) {
                Ok(pool_exposure) => accepted.push((index, new_loan(e, application, pool_exposure, policy))),
                Err(error) => outcomes[index] = Some(Err(error)),
            }
        }
    }

    if accepted.is_empty() {
        txn.rollback().await.map_err(store::StoreError::from)?;
    } else {
        let new_loans: Vec<NewLoan> = accepted.iter().map(|(_, loan)| loan.clone()).collect();
        let mut loans = store::enrolment::insert_loans(&txn, &new_loans).await?;
        let enrolled: Vec<(i64, i64)> = loans
            .values()
            .map(|loan| (loan.application_id, loan.loan_id))
            .collect::<BTreeMap<_, _>>()
            .into_iter()
            .collect();
        store::enrolment::mark_enrolled(&txn, &enrolled).await?;
        let mut enterprises: BTreeMap<String, Money> = BTreeMap::new();
        let mut banks: BTreeMap<BankId, (Money, Money)> = BTreeMap::new();
        let (mut outstanding, mut exposure) = (Money::ZERO, Money::ZERO);
        for (_, loan) in &accepted {
            let enterprise = enterprises.entry(loan.uscc.clone()).or_insert(Money::ZERO);
            *enterprise = sum(*enterprise, loan.disbursed)?;
            let bank = banks.entry(loan.bank_id.clone()).or_insert((Money::ZERO, Money::ZERO));
            *bank = (sum(bank.0, loan.disbursed)?, sum(bank.1, loan.pool_exposure)?);
            outstanding = sum(outstanding, loan.disbursed)?;
            exposure = sum(exposure, loan.pool_exposure)?;
        }
        store::enrolment::add_to_enterprises(&txn, &enterprises).await?;
        let mut remember = Vec::with_capacity(accepted.len());
        let mut records = Vec::with_capacity(accepted.len());
        for (index, new) in &accepted {
            let e = &enrolments[*index];
            let loan = loans.remove(&new.application_id).ok_or_else(|| {
                ApiError::Internal(format!("loan of application {} not returned", new.application_id))
            })?;
            let response = pb::EnrollLoanResponse { loan: Some(loan_to_wire(&loan, None)) };
            let encoded = prost::Message::encode_to_vec(&response);
            let mut record = rpc::audit::entry(
                &e.caller,
                ENROLL,
                e.request_id.as_str(),
                domain::trail::Outcome::Accepted,
                "OK",
                String::new(),
                vec![e.application_name.clone()],
            );
            record.recorded_at = store::audit::to_micros(e.now.instant);
            record.resources.extend(rpc::audit::response_resources(ENROLL, &encoded));
            records.push(record);
            remember.push(Remember {
                principal: e.caller.idempotency_scope(),
                request_id: e.request_id.as_str().to_owned(),
                request_sha256: e.request_sha256.clone(),
                response: encoded,
            });
            outcomes[*index] = Some(Ok(response));
        }
        store::idempotency::remember_many(&txn, ENROLL, remember).await?;
        store::audit::append(&txn, &records).await?;
        // The hot rows last (lock order: bank, pool), each in one statement that adds the
        // batch and returns the totals it wrote; every limit must hold on those.
        for (bank_id, (bank_outstanding, bank_exposure)) in &banks {
            let bank = store::exposure::add_loan_to_bank(&txn, bank_id, *bank_outstanding, *bank_exposure).await?;
            if let Err(refusal) = enrolment::check_bank(&bank.standing(), Money::ZERO) {
                return Err(moved(refusal.to_string()));
            }
        }
        let pool = store::enrolment::add_to_pool(&txn, outstanding, exposure, accepted.len() as i64).await?;
        if let Err(refusal) = enrolment::check_pool(policy, &pool, Money::ZERO) {
            return Err(moved(refusal.to_string()));
        }
        txn.commit().await.map_err(store::StoreError::from)?;
        for (index, _) in &accepted {
            rpc::audit::mark_recorded(enrolments[*index].audit.as_ref());
        }
        for (index, new) in &accepted {
            if let Some(Some(Ok(response))) = outcomes.get(*index)
                && let Some(loan) = &response.loan
            {
                tracing::info!(loan = %loan.name, application_id = new.application_id, bank_id = %new.bank_id, amount = %new.disbursed, "loan enrolled");
            }
        }
    }
    Ok(outcomes
        .into_iter()
        .map(|o| o.unwrap_or_else(|| Err(ApiError::Internal("call left undecided".to_owned()))))
        .collect())
}

/// A batch whose limits no longer hold on the totals it wrote (they moved since it read
/// them): it is rolled back and decided again under the locks.
fn moved(why: String) -> ApiError {
    ApiError::Unavailable(format!("exposure totals moved during the enrolment batch ({why}); retry"))
}

/// The application of a call if it may be enrolled as asked: it is the caller's, and the
/// domain's approval rules let it be enrolled on the call's business date.
fn check_application<'a>(
    e: &Enrolment,
    application: Option<&'a ApplicationRecord>,
    policy: &Policy,
) -> Result<&'a ApplicationRecord, ApiError> {
    let application = application.ok_or_else(|| ApiError::not_found(&e.application_name))?;
    require_bank_visible(&e.caller, &application.bank_id, &e.application_name)?;
    let approval = Approval {
        status: application.status.as_of(application.approval_expire_date, e.now.today),
        loan_id: application.loan_id,
        expire_date: application.approval_expire_date,
        terms: &application.submission.terms,
    };
    enrolment::check_approval(policy, e.now.today, &approval, &e.disbursement()).map_err(|r| ApiError::refused(&r))?;
    Ok(application)
}

/// Checks the capacity limits of one call against the running totals (the domain's
/// enterprise, bank and pool rules) and, when they hold, adds the loan to them and returns
/// its pool exposure.
fn check_limits(
    e: &Enrolment,
    application: &ApplicationRecord,
    policy: &Policy,
    totals: &mut Totals,
) -> Result<Money, ApiError> {
    let disbursed = e.disbursed;
    let uscc = application.submission.enterprise.uscc.to_string();
    let enterprise_now = totals.enterprises.get(&uscc).copied().unwrap_or(Money::ZERO);
    let enterprise_cap = policy.enterprise_cap_for(application.decision.grade);
    let refused = |r: Refusal| ApiError::refused(&r);
    let enterprise_after =
        enrolment::check_enterprise(&uscc, enterprise_now, disbursed, enterprise_cap).map_err(refused)?;
    let pool_exposure = exposure_of(disbursed, application.decision.pool_share)?;
    let bank = totals
        .banks
        .get_mut(&application.bank_id)
        .ok_or_else(|| ApiError::Internal(format!("bank {} of an application is missing", application.bank_id)))?;
    let bank_after = enrolment::check_bank(bank, disbursed).map_err(refused)?;
    let covered_after = enrolment::check_pool(policy, &totals.pool, disbursed).map_err(refused)?;

    // Every limit holds: the loan counts from here on for the calls after it.
    bank.quota_used = bank_after;
    totals.enterprises.insert(uscc, enterprise_after);
    totals.pool.covered_outstanding = covered_after;
    Ok(pool_exposure)
}

fn new_loan(e: &Enrolment, application: &ApplicationRecord, pool_exposure: Money, policy: &Policy) -> NewLoan {
    NewLoan {
        application_id: application.application_id,
        bank_id: application.bank_id.clone(),
        bank_loan_number: e.bank_loan_number.clone(),
        uscc: application.submission.enterprise.uscc.to_string(),
        enterprise_name: application.submission.enterprise.name.clone(),
        grade: application.decision.grade,
        pool_share: application.decision.pool_share,
        disbursed: e.disbursed,
        disbursement_date: e.disbursement_date,
        maturity_date: e.maturity_date,
        annual_rate: e.annual_rate,
        pool_exposure,
        policy_version: policy.version.clone(),
    }
}
