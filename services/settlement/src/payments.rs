//! Statement payments: finance records the transfer that settles a confirmed statement;
//! the pool pays only the cash it has (the ledger's guard, under the pool lock), and how a
//! payment spreads over the statement's items is `domain::statement::allocate`.

use domain::ledger::{Contributor, EntryDraft};
use domain::statement::{self as st, Direction, LineKind};
use domain::{Money, Role};
use proto::v1 as pb;
use rpc::auth::{principal, require_role};
use rpc::convert::Violations;
use rpc::{ApiError, idempotent};
use store::Db;
use store::statements::{PaymentRecord, StatementRecord};
use tonic::Request;

use crate::statements::{entries_of, lock_statement, settle_claim, statement_extras};
use crate::wire::{payment_to_wire, statement_to_wire};
use crate::{PAY, Settlement};

impl Settlement {
    pub(crate) async fn record_payment(
        &self,
        request: Request<pb::RecordStatementPaymentRequest>,
    ) -> Result<pb::RecordStatementPaymentResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, &[Role::Finance])?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let request_id = v.request_id(&body.request_id);
        let statement_id = v.numeric_name("statement", &body.statement, "statements");
        let amount = v.money_positive("amount", &body.amount);
        let value_date = v.past_date("value_date", &body.value_date);
        let reference = v.text("reference", &body.reference, 200);
        let (Some(request_id), Some(statement_id), Some(amount), Some(value_date), Some(reference)) =
            (request_id, statement_id, amount, value_date, reference)
        else {
            return Err(v.into_error());
        };
        idempotent!(self.state, &caller, PAY, request_id, &body, |txn| {
            let record = lock_statement(txn, statement_id, &body.statement).await?;
            st::check_payable(&body.statement, record.status, record.carried_to).map_err(|r| ApiError::refused(&r))?;
            let last_day = record.statement.period.last_day();
            if value_date <= last_day {
                return Err(ApiError::invalid(
                    "value_date",
                    format!("{value_date} is not after the statement's month ended on {last_day}"),
                ));
            }
            let outstanding = record.amount_due.saturating_sub(record.amount_paid);
            st::check_payment(amount, outstanding).map_err(|r| ApiError::refused(&r))?;
            let payment =
                store::statements::insert_payment(txn, &record, amount, value_date, &reference, &caller.key_id).await?;
            post_payment(txn, &record, &payment, &caller.key_id).await?;
            let record = store::statements::add_paid(txn, &record, amount).await?;
            let entries = entries_of(txn, &format!("statementPayments/{}", payment.payment_id)).await?;
            let extras = statement_extras(txn, statement_id).await?;
            tracing::info!(statement_id, payment_id = payment.payment_id, amount = %amount, direction = payment.direction.as_str(), "statement payment recorded");
            pb::RecordStatementPaymentResponse {
                payment: Some(payment_to_wire(&payment, entries)),
                statement: Some(statement_to_wire(&record, extras)),
            }
        })
    }
}

/// Posts a payment: the pool's (compensation payable → escrow cash, refused beyond the cash
/// there is) or the bank's (escrow cash ← its recoveries, then contributions receivable), and
/// records what it settled, in line order.
async fn post_payment(
    connection: &impl Db,
    record: &StatementRecord,
    payment: &PaymentRecord,
    by: &str,
) -> Result<(), ApiError> {
    let s = &record.statement;
    let settled = store::statements::settled(connection, &s.bank, None, Some(record.statement_id)).await?;
    let allocations =
        st::allocate(st::payable_lines(s, |source| settled.get(source).copied().unwrap_or_default()), payment.amount);
    let source = format!("statementPayments/{}", payment.payment_id);
    let memo = format!("payment {} for the {} statement of {}", payment.reference, s.period, s.bank);
    let date = payment.value_date;
    let sum = |kind: LineKind| -> Money { allocations.iter().filter(|a| a.kind == kind).map(|a| a.amount).sum() };
    let drafts = match s.direction {
        Direction::PoolPaysBank => vec![EntryDraft::compensation_paid(&s.bank, payment.amount, date, &memo)],
        Direction::BankPaysPool => {
            let (recoveries, contributions) = (sum(LineKind::Recovery), sum(LineKind::ContributionDue));
            let contributor = Contributor::Bank(s.bank.clone());
            [
                (recoveries.fen() > 0).then(|| EntryDraft::recovery_received(&s.bank, recoveries, date, &memo)),
                (sum(LineKind::Clawback).fen() > 0)
                    .then(|| EntryDraft::clawback_received(&s.bank, sum(LineKind::Clawback), date, &memo)),
                (contributions.fen() > 0)
                    .then(|| EntryDraft::contribution_received(&contributor, contributions, date, &memo)),
            ]
            .into_iter()
            .flatten()
            .collect()
        }
        Direction::None => Vec::new(),
    };
    for draft in drafts {
        store::ledger::post(connection, &draft.with_source(source.clone()), by, None).await.map_err(ApiError::from)?;
    }
    let mut paid_change = 0i64;
    let mut shortfall_change = 0i64;
    for allocation in &allocations {
        store::statements::allocate(
            connection,
            record.statement_id,
            Some(payment.payment_id),
            &s.bank,
            &allocation.source,
            allocation.amount,
            date,
        )
        .await?;
        if allocation.kind.owed_to_bank() {
            let (paid, shortfall) = settle_claim(connection, &allocation.source, allocation.amount).await?;
            paid_change += paid;
            shortfall_change += shortfall;
        }
    }
    if paid_change != 0 || shortfall_change != 0 {
        store::exposure::add_pool_counters(connection, 0, 0, paid_change, shortfall_change, 0).await?;
    }
    Ok(())
}
