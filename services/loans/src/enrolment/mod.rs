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

mod batch;
mod batcher;

use chrono::NaiveDate;
use domain::enrolment::Disbursement;
use domain::{Money, Principal, RequestId, Role};
use proto::v1 as pb;
use rpc::ApiError;
use rpc::auth::{principal, require_role};
use rpc::convert::{Violations, parse_fraction};
use rust_decimal::Decimal;
use tonic::Request;

pub(crate) use batcher::Enroller;

use crate::Loans;

type Outcome = Result<pb::EnrollLoanResponse, ApiError>;

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
    /// The call's audit state (its record is written with the batch that enrols it).
    pub audit: Option<rpc::audit::CallHandle>,
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

impl Loans {
    pub(crate) async fn enroll(
        &self,
        request: Request<pb::EnrollLoanRequest>,
    ) -> Result<pb::EnrollLoanResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, &[Role::Bank])?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let request_id = v.request_id(&body.request_id);
        let id = v.numeric_name("application", &body.application, "applications");
        let number = v.text("bank_loan_number", &body.bank_loan_number, 64);
        let disbursed = v.money_positive("disbursed_amount", &body.disbursed_amount);
        let disbursement_date = v.past_date("disbursement_date", &body.disbursement_date);
        let rate = v.check("annual_rate", parse_fraction(&body.annual_rate));
        let maturity = v.date("maturity_date", &body.maturity_date);
        if let (Some(start), Some(end)) = (disbursement_date, maturity)
            && end <= start
        {
            v.add("maturity_date", "must be after disbursement_date");
        }
        let (
            Some(request_id),
            Some(id),
            Some(number),
            Some(disbursed),
            Some(disbursement_date),
            Some(rate),
            Some(maturity),
        ) = (request_id, id, number, disbursed, disbursement_date, rate, maturity)
        else {
            return Err(v.into_error());
        };
        if !v.is_empty() {
            return Err(v.into_error());
        }
        let enrolment = Enrolment {
            request_sha256: rpc::idempotency::request_sha256(&body),
            caller,
            request_id,
            application_name: body.application,
            application_id: id,
            bank_loan_number: number,
            disbursed,
            disbursement_date,
            annual_rate: rate,
            maturity_date: maturity,
            now: store::clock::now(),
            audit: rpc::audit::current(),
        };
        self.enroller.enroll(enrolment).await
    }
}
