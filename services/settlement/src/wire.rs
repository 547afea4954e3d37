//! The settlement service's records on the wire.

use domain::Money;
use domain::claims;
use domain::statement::{self as st, Status as StatementStatus};
use proto::v1 as pb;
use rpc::WireEnum;
use rpc::convert::{business_today, format_date, timestamp};
use store::claims::ClaimRecord;
use store::statements::{PaymentRecord, StatementRecord};

pub(crate) fn claim_to_wire(claim: &ClaimRecord) -> pb::Claim {
    pb::Claim {
        name: format!("claims/{}", claim.claim_id),
        claim_id: claim.claim_id.to_string(),
        loan: format!("loans/{}", claim.loan_id),
        bank: format!("banks/{}", claim.bank_id),
        status: claim.status.to_wire_i32(),
        principal_loss: claim.principal_loss.to_string(),
        pool_share: rpc::convert::share_to_wire(claim.pool_share),
        requested_compensation: claim.requested.to_string(),
        compensation: claim.compensation.map(|c| c.to_string()).unwrap_or_default(),
        compensation_paid: claim.paid.to_string(),
        shortfall: claim.shortfall.to_string(),
        approvals: claim
            .approvals
            .iter()
            .map(|a| pb::ClaimApproval {
                approver: a.approver.clone(),
                approve_time: Some(timestamp(a.created_at)),
                comment: a.comment.clone(),
                granted_amount: a.grant.amount.to_string(),
                reduction_reason: reduction_reason(&a.grant),
                reduction_note: reduction_note(&a.grant),
            })
            .collect(),
        approvals_required: i32::try_from(claim.approvals_required).unwrap_or(2),
        rejection_reason: claim.rejection_reason.clone().unwrap_or_default(),
        cap_year: claim.cap_year.unwrap_or_default(),
        file_time: Some(timestamp(claim.created_at)),
        decide_time: claim.decided_at.map(timestamp),
        recoveries_total: claim.recoveries.to_string(),
        pool_recoveries: claim.pool_recoveries.to_string(),
        breakdown: match (claim.compensation, claim.cap_remaining, claim.cap_year, &claim.grant) {
            (Some(compensation), Some(cap_remaining), Some(cap_year), Some(grant)) => Some(pb::ClaimBreakdown {
                entitled: claim.requested.to_string(),
                cap_remaining: cap_remaining.to_string(),
                compensation: compensation.to_string(),
                cap_cut: grant.amount.saturating_sub(compensation).to_string(),
                cap_year,
                granted: grant.amount.to_string(),
                reduction: claim.requested.saturating_sub(grant.amount).to_string(),
                reduction_reason: reduction_reason(grant),
                reduction_note: reduction_note(grant),
                bound_by: claims::binding_limit(
                    claim.requested,
                    grant.amount,
                    compensation,
                    cap_remaining,
                    claim.cohort_remaining,
                )
                .to_wire_i32(),
                cohort_year: claim.cohort_year.unwrap_or_default(),
                portfolio_cap_remaining: claim.cohort_remaining.map(|m| m.to_string()).unwrap_or_default(),
            }),
            _ => None,
        },
        early_default: claim.early_default,
        rejection_code: claim.rejection_code.map(|c| c.to_wire_i32()).unwrap_or_default(),
        pool_share_rows: claim.pool_share_rows.iter().map(rpc::convert::share_row_to_wire).collect(),
        pool_share_policy_version: claim.share_policy_version.clone(),
        co_sharer_parts: claim
            .parts
            .iter()
            .map(|p| pb::ClaimPart {
                party: format!("parties/{}", p.party),
                share: rpc::convert::share_to_wire(p.share),
                amount: p.amount.to_string(),
            })
            .collect(),
        pool_share_cut_from: claim.pool_share_cut_from.map(rpc::convert::share_to_wire).unwrap_or_default(),
        bank_retained: claim.bank_retained.map(|m| m.to_string()).unwrap_or_default(),
    }
}

fn reduction_reason(grant: &claims::Grant) -> i32 {
    grant.reduction.as_ref().map(|r| r.reason.to_wire_i32()).unwrap_or_default()
}

fn reduction_note(grant: &claims::Grant) -> String {
    grant.reduction.as_ref().map(|r| r.note.clone()).unwrap_or_default()
}

/// What a statement shows besides its own row: the entries it posted and its payments.
pub(crate) struct StatementExtras {
    pub(crate) entries: Vec<String>,
    pub(crate) payments: Vec<pb::StatementPayment>,
}

pub(crate) fn payment_to_wire(payment: &PaymentRecord, entries: Vec<String>) -> pb::StatementPayment {
    pb::StatementPayment {
        name: format!("statementPayments/{}", payment.payment_id),
        statement: format!("statements/{}", payment.statement_id),
        direction: payment.direction.to_wire_i32(),
        amount: payment.amount.to_string(),
        value_date: format_date(payment.value_date),
        reference: payment.reference.clone(),
        recorded_by: payment.recorded_by.clone(),
        record_time: Some(timestamp(payment.created_at)),
        journal_entries: entries,
    }
}

pub(crate) fn statement_to_wire(record: &StatementRecord, extras: StatementExtras) -> pb::Statement {
    let s = &record.statement;
    let outstanding = if record.status == StatementStatus::CarriedForward {
        Money::ZERO
    } else {
        record.amount_due.saturating_sub(record.amount_paid)
    };
    pb::Statement {
        name: format!("statements/{}", record.statement_id),
        bank: format!("banks/{}", s.bank),
        period: s.period.to_string(),
        status: record.status.to_wire_i32(),
        lines: s
            .lines
            .iter()
            .enumerate()
            .map(|(index, line)| pb::StatementLine {
                line_number: i32::try_from(index + 1).unwrap_or(i32::MAX),
                kind: line.kind.to_wire_i32(),
                source: line.source.clone(),
                description: line.description.clone(),
                amount: line.amount.to_string(),
            })
            .collect(),
        compensation_total: s.compensation_total.to_string(),
        recoveries_total: s.recoveries_total.to_string(),
        contributions_due_total: s.contributions_due_total.to_string(),
        shortfall_total: s.shortfall_total.to_string(),
        net_amount: s.net.to_string(),
        direction: s.direction.to_wire_i32(),
        content_sha256: record.content_sha256.clone(),
        build_time: Some(timestamp(record.built_at)),
        confirm_time: record.confirmed_at.map(timestamp),
        journal_entries: extras.entries,
        preview: !record.status.is_confirmed() && st::check_period_ended(s.period, business_today()).is_err(),
        amount_due: if record.status.is_confirmed() { record.amount_due.to_string() } else { String::new() },
        amount_paid: record.amount_paid.to_string(),
        amount_outstanding: if record.status.is_confirmed() { outstanding.to_string() } else { String::new() },
        payments: extras.payments,
        carried_to: record.carried_to.map(|id| format!("statements/{id}")).unwrap_or_default(),
        memo_lines: s
            .memos
            .iter()
            .map(|m| pb::StatementMemoLine {
                party: format!("parties/{}", m.party),
                source: m.source.clone(),
                description: m.description.clone(),
                amount: m.amount.to_string(),
            })
            .collect(),
        clawbacks_total: s.clawbacks_total.to_string(),
    }
}
