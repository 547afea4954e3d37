//! `techcredit audit`: the audit trail, listed and verified (AUDITOR, ADMIN).

use clap::{Subcommand, ValueEnum};
use proto::v1 as pb;

use super::{Paging, done, label, more, optional_name, time};
use crate::Ctx;
use crate::failure::Failure;
use crate::output::View;

/// What became of a call, as a filter.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OutcomeFilter {
    /// Changes made.
    Accepted,
    /// Calls refused.
    Refused,
    /// Retries answered as before.
    Replayed,
}

/// The audit trail.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Audit records, newest first: who called what, when, and how it ended.
    List {
        /// Only calls by keys of this bank.
        #[arg(long)]
        bank: Option<String>,
        /// Only this method (e.g. ApproveClaim).
        #[arg(long)]
        method: Option<String>,
        /// Only calls with this key id.
        #[arg(long)]
        key: Option<String>,
        /// Only this outcome.
        #[arg(long, value_enum)]
        outcome: Option<OutcomeFilter>,
        /// Only calls that named or changed this resource (e.g. claims/7).
        #[arg(long)]
        resource: Option<String>,
        #[command(flatten)]
        paging: Paging,
    },
    /// Prove the hash chain unbroken from the first record to its head; exit code 4 with the
    /// first broken link when it is not.
    Verify,
}

const HEADER: [&str; 10] =
    ["time", "seq", "key", "role", "bank", "method", "request id", "outcome", "status", "resources / reason"];

fn row(record: &pb::AuditRecord) -> Vec<String> {
    let method = record.method.rsplit('/').next().unwrap_or_default().to_owned();
    let detail = if record.reason.is_empty() { record.resources.join(" ") } else { record.reason.clone() };
    vec![
        time(&record.record_time),
        if record.sequence > 0 { record.sequence.to_string() } else { "(pending)".to_owned() },
        record.key_id.clone(),
        label(record.role().as_str_name(), "ROLE_"),
        record.bank.strip_prefix("banks/").unwrap_or_default().to_owned(),
        method,
        record.request_id.clone(),
        label(record.outcome().as_str_name(), "AUDIT_OUTCOME_"),
        record.status_code.clone(),
        detail,
    ]
}

impl AuditCommand {
    /// Runs the command.
    pub async fn run(self, ctx: &Ctx) -> Result<(), Failure> {
        let mut audit = ctx.clients.audit.clone();
        let out = &ctx.out;
        match self {
            AuditCommand::List { bank, method, key, outcome, resource, paging } => {
                let outcome = match outcome {
                    None => pb::AuditOutcome::Unspecified,
                    Some(OutcomeFilter::Accepted) => pb::AuditOutcome::Accepted,
                    Some(OutcomeFilter::Refused) => pb::AuditOutcome::Refused,
                    Some(OutcomeFilter::Replayed) => pb::AuditOutcome::Replayed,
                };
                let request = pb::ListAuditRecordsRequest {
                    page_size: paging.page_size,
                    page_token: paging.page_token,
                    bank: optional_name("banks", &bank),
                    method: method.unwrap_or_default(),
                    key_id: key.unwrap_or_default(),
                    outcome: outcome as i32,
                    resource: resource.unwrap_or_default(),
                };
                let list = audit.list_audit_records(request).await?.into_inner();
                more(&list.next_page_token);
                out.show("techcredit.v1.ListAuditRecordsResponse", &list, |_| View::Rows {
                    header: HEADER.to_vec(),
                    rows: list.audit_records.iter().map(row).collect(),
                })
            }
            AuditCommand::Verify => {
                let verdict = audit.verify_audit(pb::VerifyAuditRequest {}).await?.into_inner();
                out.show("techcredit.v1.VerifyAuditResponse", &verdict, |_| {
                    View::Record(vec![
                        ("records checked", verdict.records_checked.to_string()),
                        ("head", format!("{} {}", verdict.head_sequence, verdict.head_hash)),
                        ("checked at", time(&verdict.check_time)),
                        ("verdict", if verdict.ok { "unbroken".to_owned() } else { verdict.problem.clone() }),
                    ])
                })?;
                if verdict.ok {
                    if out.format == crate::output::Format::Table {
                        done("the audit chain is unbroken");
                    }
                    Ok(())
                } else {
                    Err(Failure::Found(format!(
                        "the audit chain is broken at {} ({}): {}",
                        verdict.first_broken_sequence, verdict.first_broken_record, verdict.problem
                    )))
                }
            }
        }
    }
}
