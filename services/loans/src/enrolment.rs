//! `EnrollLoan`, decided in batches.
//!
//! Every enrolment changes the same two rows: its bank's and the pool's running totals,
//! whose limits (bank quota, leverage) must hold across every server process. Taken one call
//! per transaction, those row locks are held through each commit's WAL flush, so enrolments
//! run one after another at the speed of the disk, whatever the number of clients. Here each
//! server process has a few enrolment workers (`WORKERS`): calls that arrive while they are
//! busy wait in one queue and form the next batch, which is decided and written in one
//! transaction with a fixed number of statements (see `store::enrolment`). Every call is
//! still checked on its own, in arrival order, against the totals as the calls before it in
//! the batch left them; a refused call changes nothing and does not affect the others. Each
//! caller gets its answer only after its batch has committed.
//!
//! A batch is first decided optimistically (bank and pool totals read without locks, the
//! limits checked again on what the final `UPDATE … RETURNING` writes), then, if that fails
//! as a whole, under the row locks, then call by call (see [`Mode`] and [`run`]).
//!
//! Idempotency works as for every mutating call: (key id, method, `request_id`) guarded by
//! the request's hash, the response remembered in the same transaction as the change. Keys
//! are looked up after the applications' row locks are held, so a concurrent duplicate in
//! another process is seen once it commits.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use chrono::NaiveDate;
use domain::enrolment::{self, Approval, BankStanding, Disbursement, PoolStanding, Refusal};
use domain::{BankId, Money, Policy, Principal, RequestId};
use proto::v1 as pb;
use rpc::auth::require_bank_visible;
use rpc::{ApiError, AppState};
use rust_decimal::Decimal;
use store::applications::ApplicationRecord;
use store::idempotency::Remember;
use store::loans::NewLoan;
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::wire::loan_to_wire;
use crate::{ENROLL, exposure_of};

/// The most calls decided in one transaction.
const MAX_BATCH: usize = 64;

/// Batches in flight at once per process.
const WORKERS: usize = 3;

/// One validated `EnrollLoan` call.
#[derive(Debug, Clone)]
pub(crate) struct Enrolment {
    pub caller: Principal,
    pub request_id: RequestId,
    pub request_sha256: String,
    /// The resource name the caller sent, for NOT_FOUND.
    pub application_name: String,
    pub application_id: i64,
    pub bank_loan_number: String,
    pub disbursed: Money,
    pub disbursement_date: NaiveDate,
    pub annual_rate: Decimal,
    pub maturity_date: NaiveDate,
    /// The clock's reading when the call arrived: its business date, and the reading its
    /// batch is written at.
    pub now: store::clock::Now,
}

impl Enrolment {
    /// The loan as the call says it was disbursed.
    fn disbursement(&self) -> Disbursement {
        Disbursement {
            amount: self.disbursed,
            annual_rate: self.annual_rate,
            date: self.disbursement_date,
            maturity_date: self.maturity_date,
        }
    }
}

type Outcome = Result<pb::EnrollLoanResponse, ApiError>;
type Pending = (Enrolment, oneshot::Sender<Outcome>);

/// The handle of a process's enrolment worker.
#[derive(Debug, Clone)]
pub(crate) struct Enroller {
    queue: mpsc::UnboundedSender<Pending>,
}

impl Enroller {
    /// Starts the worker on the current tokio runtime.
    pub fn start(state: AppState) -> Enroller {
        let (queue, calls) = mpsc::unbounded_channel();
        let shared = Arc::new(Mutex::new(Queue { calls, waiting: VecDeque::new() }));
        for _ in 0..WORKERS {
            tokio::spawn(worker(state.clone(), shared.clone()));
        }
        Enroller { queue }
    }

    /// Queues a call and waits for its outcome (after its batch has committed).
    pub async fn enroll(&self, enrolment: Enrolment) -> Outcome {
        let (reply, outcome) = oneshot::channel();
        self.queue
            .send((enrolment, reply))
            .map_err(|_| ApiError::Unavailable("the enrolment worker has stopped; retry".to_owned()))?;
        outcome.await.map_err(|_| ApiError::Unavailable("the enrolment worker has stopped; retry".to_owned()))?
    }
}

/// The calls not yet taken into a batch.
struct Queue {
    calls: mpsc::UnboundedReceiver<Pending>,
    /// Calls received but left for a later batch.
    waiting: VecDeque<Pending>,
}

async fn worker(state: AppState, queue: Arc<Mutex<Queue>>) {
    loop {
        let batch = {
            let mut queue = queue.lock().await;
            let Queue { calls, waiting } = &mut *queue;
            if waiting.is_empty() {
                match calls.recv().await {
                    Some(call) => waiting.push_back(call),
                    None => return,
                }
            }
            while let Ok(call) = calls.try_recv() {
                waiting.push_back(call);
            }
            take_batch(waiting)
        };
        let (enrolments, replies): (Vec<Enrolment>, Vec<_>) = batch.into_iter().unzip();
        // A batch is written at the clock reading of its latest call.
        let now = enrolments.iter().map(|e| e.now).max_by_key(|now| now.instant).unwrap_or_else(store::clock::now);
        let outcomes = store::clock::scope(now, run(&state, &enrolments)).await;
        for (reply, outcome) in replies.into_iter().zip(outcomes) {
            // A caller that went away (deadline, cancellation) no longer waits for its answer;
            // the change stands and a retry with its request_id replays it.
            let _ = reply.send(outcome);
        }
    }
}

/// Takes the next batch from the front of the queue: up to `MAX_BATCH` calls in arrival order,
/// leaving for a later batch any call that repeats the key, application or loan number of one
/// already in this batch (so it sees that one's outcome, committed).
fn take_batch(waiting: &mut VecDeque<Pending>) -> Vec<Pending> {
    let mut batch = Vec::new();
    let mut later = VecDeque::new();
    let mut keys = HashSet::new();
    let mut applications = HashSet::new();
    let mut numbers = HashSet::new();
    while let Some(call) = waiting.pop_front() {
        if batch.len() == MAX_BATCH {
            later.push_back(call);
            continue;
        }
        let e = &call.0;
        let key = (e.caller.idempotency_scope(), e.request_id.as_str().to_owned());
        let number = (e.caller.bank.clone(), e.bank_loan_number.clone());
        if keys.contains(&key) || applications.contains(&e.application_id) || numbers.contains(&number) {
            later.push_back(call);
            continue;
        }
        keys.insert(key);
        applications.insert(e.application_id);
        numbers.insert(number);
        batch.push(call);
    }
    // Batches come in powers of two, so each statement has only a few shapes (the lists in
    // it are as long as the batch), which every connection keeps prepared instead of
    // PostgreSQL parsing and planning a new shape for most batches.
    let size = if batch.is_empty() { 0 } else { 1 << batch.len().ilog2() };
    for call in batch.drain(size..).rev() {
        later.push_front(call);
    }
    *waiting = later;
    batch
}

/// The outcome of every call of a batch, in order: decided optimistically first; if that
/// fails as a whole, again under the row locks; if that fails too, call by call.
async fn run(state: &AppState, enrolments: &[Enrolment]) -> Vec<Outcome> {
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
            outcomes[index] = Some(rpc::idempotency::replay(previous, &e.request_sha256, &e.request_id));
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
        for (index, new) in &accepted {
            let e = &enrolments[*index];
            let loan = loans.remove(&new.application_id).ok_or_else(|| {
                ApiError::Internal(format!("loan of application {} not returned", new.application_id))
            })?;
            let response = pb::EnrollLoanResponse { loan: Some(loan_to_wire(&loan)) };
            remember.push(Remember {
                principal: e.caller.idempotency_scope(),
                request_id: e.request_id.as_str().to_owned(),
                request_sha256: e.request_sha256.clone(),
                response: prost::Message::encode_to_vec(&response),
            });
            outcomes[*index] = Some(Ok(response));
        }
        store::idempotency::remember_many(&txn, ENROLL, remember).await?;
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
