//! The enrolment workers of a process and the queue their batches are taken from.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use rpc::{ApiError, AppState};
use tokio::sync::{Mutex, mpsc, oneshot};

use super::batch::run;
use super::{Enrolment, Outcome};

/// The most calls decided in one transaction.
const MAX_BATCH: usize = 64;

/// Batches in flight at once per process.
const WORKERS: usize = 3;

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
