//! SettlementService: claims, recoveries, monthly statements.

use std::path::PathBuf;

use clap::{Subcommand, ValueEnum};
use proto::v1 as pb;

use super::{Paging, label, more, name, optional_name, time};
use crate::Ctx;
use crate::failure::Failure;
use crate::output::{Printer, View};

/// `techcredit claims …`
#[derive(Debug, Subcommand)]
pub enum Claims {
    /// File a claim on a defaulted loan (BANK).
    File {
        /// The loan's id or name.
        loan: String,
        /// The claim date, YYYY-MM-DD.
        #[arg(long)]
        date: String,
        /// What the bank says about the default.
        #[arg(long, default_value = "")]
        memo: String,
    },
    /// Approve a claim (RISK_OFFICER); above the four-eyes threshold a second officer must
    /// approve too.
    Approve {
        /// The claim's id or name.
        claim: String,
        /// The approval date, YYYY-MM-DD.
        #[arg(long)]
        date: String,
        /// A comment for the file.
        #[arg(long, default_value = "")]
        comment: String,
        /// Grant less than the entitlement (a partial approval): the amount, with
        /// --reduction-reason. A second approver must grant the same.
        #[arg(long)]
        amount: Option<String>,
        /// Why less than the entitlement.
        #[arg(long, value_enum, requires = "amount")]
        reduction_reason: Option<ReductionCode>,
        /// The reduction in words (required with --reduction-reason other).
        #[arg(long, default_value = "")]
        reduction_note: String,
    },
    /// Reject a claim (RISK_OFFICER).
    Reject {
        /// The claim's id or name.
        claim: String,
        /// Why, in words.
        #[arg(long)]
        reason: String,
        /// Why, the code.
        #[arg(long, value_enum, default_value = "other")]
        code: RejectionCode,
    },
    /// Claims, newest first.
    List {
        /// Only this bank's.
        #[arg(long)]
        bank: Option<String>,
        /// Only in this status.
        #[arg(long, value_enum)]
        status: Option<ClaimState>,
        #[command(flatten)]
        paging: Paging,
    },
    /// One claim with its approvals and its cap breakdown.
    Show {
        /// The claim's id or name.
        claim: String,
    },
}

/// A claim status.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ClaimState {
    /// Waiting for a risk officer.
    Filed,
    /// One of two approvals given.
    PartiallyApproved,
    /// Approved, payable.
    Approved,
    /// Rejected.
    Rejected,
    /// Paid.
    Paid,
}

/// Why an approval grants less than the entitlement.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ReductionCode {
    /// The claim's documents are incomplete or deficient.
    DocumentationDeficient,
    /// The default or the loan's state was reported late.
    LateReporting,
    /// The collateral or guarantee was not perfected.
    CollateralNotPerfected,
    /// Another reason (say it with --reduction-note).
    Other,
}

impl ReductionCode {
    fn to_wire(self) -> pb::ReductionReason {
        match self {
            ReductionCode::DocumentationDeficient => pb::ReductionReason::DocumentationDeficient,
            ReductionCode::LateReporting => pb::ReductionReason::LateReporting,
            ReductionCode::CollateralNotPerfected => pb::ReductionReason::CollateralNotPerfected,
            ReductionCode::Other => pb::ReductionReason::Other,
        }
    }
}

/// Why a claim is rejected.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RejectionCode {
    /// Not a loan or default the pool covers.
    NotEligible,
    /// The claim's documents are missing or deficient.
    DocumentationDeficient,
    /// The default was reported too late.
    LateReporting,
    /// The bank misrepresented the loan or the default.
    Misrepresentation,
    /// Another reason (in --reason).
    Other,
}

impl RejectionCode {
    fn to_wire(self) -> pb::RejectionReason {
        match self {
            RejectionCode::NotEligible => pb::RejectionReason::NotEligible,
            RejectionCode::DocumentationDeficient => pb::RejectionReason::DocumentationDeficient,
            RejectionCode::LateReporting => pb::RejectionReason::LateReporting,
            RejectionCode::Misrepresentation => pb::RejectionReason::Misrepresentation,
            RejectionCode::Other => pb::RejectionReason::Other,
        }
    }
}

/// "0.70 = base 0.50 + pure credit 0.10 + first bank loan 0.10 (policy 2025.1)".
pub fn pool_share_text(share: &str, rows: &[pb::PoolShareRow], version: &str) -> String {
    if rows.is_empty() {
        return share.to_owned();
    }
    let parts: Vec<String> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let name = r.row.trim_start_matches("pool_share.").replace('_', " ");
            match (i, r.effect.strip_prefix('-')) {
                (0, _) => format!("{name} {}", r.effect),
                (_, Some(cut)) => format!("− {cut} ({name})"),
                (_, None) => format!("+ {} {name}", r.effect),
            }
        })
        .collect();
    format!("{share} = {} (policy {version})", parts.join(" "))
}

/// The claim's pool share: the enrolled share's worked rows, and the cut the bank's minimum
/// retention made beside co-sharers ("0.60 (cut from 0.70 = base 0.50 + …)").
fn claim_share_text(c: &pb::Claim) -> String {
    if c.pool_share_cut_from.is_empty() {
        return pool_share_text(&c.pool_share, &c.pool_share_rows, &c.pool_share_policy_version);
    }
    let enrolled = pool_share_text(&c.pool_share_cut_from, &c.pool_share_rows, &c.pool_share_policy_version);
    format!("{} (cut from {enrolled})", c.pool_share)
}

fn claim_view(c: &pb::Claim, out: &Printer) -> View {
    let mut fields = vec![
        ("name", c.name.clone()),
        ("loan", c.loan.clone()),
        ("bank", c.bank.clone()),
        ("status", label(c.status().as_str_name(), "CLAIM_STATUS_")),
        ("principal loss", out.money(&c.principal_loss)),
        ("pool share", claim_share_text(c)),
        ("requested", out.money(&c.requested_compensation)),
        ("compensation", out.money(&c.compensation)),
        ("paid", out.money(&c.compensation_paid)),
        ("shortfall", out.money(&c.shortfall)),
        ("approvals", format!("{} of {}", c.approvals.len(), c.approvals_required)),
    ];
    if !c.pool_share_cut_from.is_empty() {
        fields.push((
            "retention",
            format!(
                "pool share cut from {} to {} so the bank keeps its minimum retention",
                c.pool_share_cut_from, c.pool_share
            ),
        ));
    }
    for part in &c.co_sharer_parts {
        fields.push((
            "co-sharer",
            format!(
                "{} {} ({} of the loss; the bank claims it from them)",
                part.party,
                out.money(&part.amount),
                part.share
            ),
        ));
    }
    if !c.co_sharer_parts.is_empty() && !c.bank_retained.is_empty() {
        fields.push(("bank retains", out.money(&c.bank_retained)));
    }
    if c.early_default {
        fields.push(("early default", "yes: defaulted within the early-default window; two approvers".to_owned()));
    }
    for approval in &c.approvals {
        let mut grant = out.money(&approval.granted_amount);
        if approval.reduction_reason() != pb::ReductionReason::Unspecified {
            grant =
                format!("{grant}, reduced: {}", label(approval.reduction_reason().as_str_name(), "REDUCTION_REASON_"));
        }
        fields
            .push(("approved by", format!("{} {} (grants {grant})", approval.approver, time(&approval.approve_time))));
    }
    if c.approvals.len() == 1 && c.approvals_required == 2 && c.status() == pb::ClaimStatus::PartiallyApproved {
        fields.push(("", "a second risk officer must approve it".to_owned()));
    }
    if let Some(b) = &c.breakdown {
        fields.push(("entitled", out.money(&b.entitled)));
        if b.reduction_reason() != pb::ReductionReason::Unspecified {
            let reason = label(b.reduction_reason().as_str_name(), "REDUCTION_REASON_");
            let note = if b.reduction_note.is_empty() { String::new() } else { format!(": {}", b.reduction_note) };
            fields.push(("reduced by", format!("{} ({reason}{note})", out.money(&b.reduction))));
        }
        fields.push(("granted", out.money(&b.granted)));
        fields.push(("bound by", label(b.bound_by().as_str_name(), "COMPENSATION_LIMIT_")));
        if !b.portfolio_cap_remaining.is_empty() {
            fields.push(("cohort (enrolment year)", b.cohort_year.to_string()));
            fields.push(("portfolio cap left", out.money(&b.portfolio_cap_remaining)));
        }
        fields.push(("cap year", b.cap_year.to_string()));
        fields.push(("cap remaining", out.money(&b.cap_remaining)));
        fields.push(("cut by the caps", out.money(&b.cap_cut)));
    }
    if !c.rejection_reason.is_empty() {
        let code = label(c.rejection_code().as_str_name(), "REJECTION_REASON_");
        fields.push(("rejected", format!("{} ({code})", c.rejection_reason)));
    }
    fields.push((
        "recoveries",
        format!("{} (pool's part {})", out.money(&c.recoveries_total), out.money(&c.pool_recoveries)),
    ));
    View::Record(fields)
}

impl Claims {
    /// Runs the command.
    pub async fn run(self, ctx: &Ctx) -> Result<(), Failure> {
        let mut settlement = ctx.clients.settlement.clone();
        let show = |c: pb::Claim| ctx.out.show("techcredit.v1.Claim", &c, |o| claim_view(&c, o));
        match self {
            Claims::File { loan, date, memo } => {
                let request = pb::FileClaimRequest {
                    request_id: ctx.request_id(),
                    loan: name("loans", &loan),
                    claim_date: date,
                    memo,
                };
                show(settlement.file_claim(request).await?.into_inner().claim.unwrap_or_default())
            }
            Claims::Approve { claim, date, comment, amount, reduction_reason, reduction_note } => {
                let request = pb::ApproveClaimRequest {
                    request_id: ctx.request_id(),
                    name: name("claims", &claim),
                    approval_date: date,
                    comment,
                    approved_amount: amount.unwrap_or_default(),
                    reduction_reason: reduction_reason.map_or(0, |r| r.to_wire() as i32),
                    reduction_note,
                };
                show(settlement.approve_claim(request).await?.into_inner().claim.unwrap_or_default())
            }
            Claims::Reject { claim, reason, code } => {
                let request = pb::RejectClaimRequest {
                    request_id: ctx.request_id(),
                    name: name("claims", &claim),
                    reason,
                    code: code.to_wire() as i32,
                };
                show(settlement.reject_claim(request).await?.into_inner().claim.unwrap_or_default())
            }
            Claims::List { bank, status, paging } => {
                let status = status.map_or(0, |s| {
                    (match s {
                        ClaimState::Filed => pb::ClaimStatus::Filed,
                        ClaimState::PartiallyApproved => pb::ClaimStatus::PartiallyApproved,
                        ClaimState::Approved => pb::ClaimStatus::Approved,
                        ClaimState::Rejected => pb::ClaimStatus::Rejected,
                        ClaimState::Paid => pb::ClaimStatus::Paid,
                    }) as i32
                });
                let request = pb::ListClaimsRequest {
                    page_size: paging.page_size,
                    page_token: paging.page_token,
                    bank: optional_name("banks", &bank),
                    status,
                };
                let list = settlement.list_claims(request).await?.into_inner();
                more(&list.next_page_token);
                ctx.out.show("techcredit.v1.ListClaimsResponse", &list, |o| View::Rows {
                    header: vec!["claim", "loan", "bank", "status", "loss", "compensation", "paid", "approvals"],
                    rows: list
                        .claims
                        .iter()
                        .map(|c| {
                            vec![
                                c.name.clone(),
                                c.loan.clone(),
                                c.bank.clone(),
                                label(c.status().as_str_name(), "CLAIM_STATUS_"),
                                o.money(&c.principal_loss),
                                o.money(&c.compensation),
                                o.money(&c.compensation_paid),
                                format!("{}/{}", c.approvals.len(), c.approvals_required),
                            ]
                        })
                        .collect(),
                })
            }
            Claims::Show { claim } => show(
                settlement
                    .get_claim(pb::GetClaimRequest { name: name("claims", &claim) })
                    .await?
                    .into_inner()
                    .claim
                    .unwrap_or_default(),
            ),
        }
    }
}

/// `techcredit recoveries …`
#[derive(Debug, Subcommand)]
pub enum Recoveries {
    /// Report money recovered on a compensated loan (BANK); the pool's part is owed to it.
    Report {
        /// The loan's id or name.
        loan: String,
        /// Amount recovered.
        #[arg(long)]
        amount: String,
        /// When, YYYY-MM-DD.
        #[arg(long)]
        date: String,
        /// The last recovery: the loan is closed.
        #[arg(long)]
        r#final: bool,
    },
}

impl Recoveries {
    /// Runs the command.
    pub async fn run(self, ctx: &Ctx) -> Result<(), Failure> {
        let Recoveries::Report { loan, amount, date, r#final } = self;
        let request = pb::ReportRecoveryRequest {
            request_id: ctx.request_id(),
            loan: name("loans", &loan),
            amount,
            recovery_date: date,
            r#final,
        };
        let answer = ctx.clients.settlement.clone().report_recovery(request).await?.into_inner();
        let recovery = answer.recovery.clone().unwrap_or_default();
        ctx.out.show("techcredit.v1.ReportRecoveryResponse", &answer, |o| {
            View::Record(vec![
                ("recovery", recovery.name.clone()),
                ("loan", recovery.loan.clone()),
                ("claim", recovery.claim.clone()),
                ("amount", o.money(&recovery.amount)),
                ("pool's part", o.money(&recovery.pool_share_amount)),
                ("date", recovery.recovery_date.clone()),
                ("final", recovery.r#final.to_string()),
            ])
        })
    }
}

/// `techcredit statements …`
#[derive(Debug, Subcommand)]
pub enum Statements {
    /// Build (or rebuild) a bank's statement for a month (FINANCE, BATCH); the current month
    /// is a preview.
    Run {
        /// The bank.
        #[arg(long)]
        bank: String,
        /// The month, YYYY-MM.
        #[arg(long)]
        period: String,
    },
    /// One statement with its lines and payments.
    Show {
        /// Its id or name (statements/3).
        statement: String,
    },
    /// Statements, newest first.
    List {
        /// Only this bank's.
        #[arg(long)]
        bank: Option<String>,
        /// Only this month's (YYYY-MM).
        #[arg(long)]
        period: Option<String>,
        #[command(flatten)]
        paging: Paging,
    },
    /// Agree a statement once its month has ended (FINANCE): give the content hash you
    /// reviewed (`statements show` prints it).
    Confirm {
        /// Its id or name.
        statement: String,
        /// The content_sha256 of the statement as reviewed.
        #[arg(long)]
        sha256: String,
    },
    /// Record a transfer that settles a confirmed statement (FINANCE).
    Pay {
        /// Its id or name.
        statement: String,
        /// Amount transferred.
        #[arg(long)]
        amount: String,
        /// Value date of the transfer, YYYY-MM-DD.
        #[arg(long)]
        value_date: String,
        /// The custodian bank's reference.
        #[arg(long)]
        reference: String,
    },
    /// Write a statement to a file: CSV (with a UTF-8 BOM) or printable HTML.
    Export {
        /// Its id or name.
        statement: String,
        /// The format.
        #[arg(long, value_enum, default_value_t = ExportAs::Csv)]
        format: ExportAs,
        /// The file (default: the name the server gives it; - for stdout).
        #[arg(long)]
        to: Option<PathBuf>,
    },
}

/// An export format.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportAs {
    /// CSV.
    Csv,
    /// Printable HTML.
    Html,
}

fn statement_view(s: &pb::Statement, out: &Printer) -> View {
    let mut fields = vec![
        ("name", s.name.clone()),
        ("bank", s.bank.clone()),
        ("period", if s.preview { format!("{} (month to date: a preview)", s.period) } else { s.period.clone() }),
        ("status", label(s.status().as_str_name(), "STATEMENT_STATUS_")),
        ("compensation", out.money(&s.compensation_total)),
        ("shortfall carried", out.money(&s.shortfall_total)),
        ("recoveries", out.money(&s.recoveries_total)),
        ("contributions due", out.money(&s.contributions_due_total)),
        ("clawbacks", out.money(&s.clawbacks_total)),
        (
            "net",
            format!("{} {}", out.money(&s.net_amount), label(s.direction().as_str_name(), "SETTLEMENT_DIRECTION_")),
        ),
        ("due", out.money(&s.amount_due)),
        ("paid", out.money(&s.amount_paid)),
        ("outstanding", out.money(&s.amount_outstanding)),
        ("content sha256", s.content_sha256.clone()),
    ];
    for line in &s.lines {
        fields.push((
            "line",
            format!(
                "{} {} {}: {}",
                label(line.kind().as_str_name(), "STATEMENT_LINE_KIND_"),
                out.money(&line.amount),
                line.source,
                line.description
            ),
        ));
    }
    for memo in &s.memo_lines {
        fields.push((
            "memo",
            format!("{} {} {}: {}", memo.party, out.money(&memo.amount), memo.source, memo.description),
        ));
    }
    for payment in &s.payments {
        fields.push((
            "payment",
            format!(
                "{} {} on {} ref {}",
                payment.name,
                out.money(&payment.amount),
                payment.value_date,
                payment.reference
            ),
        ));
    }
    if !s.carried_to.is_empty() {
        fields.push(("carried to", s.carried_to.clone()));
    }
    View::Record(fields)
}

impl Statements {
    /// Runs the command.
    pub async fn run(self, ctx: &Ctx) -> Result<(), Failure> {
        let mut settlement = ctx.clients.settlement.clone();
        let show = |s: pb::Statement| ctx.out.show("techcredit.v1.Statement", &s, |o| statement_view(&s, o));
        match self {
            Statements::Run { bank, period } => {
                let request =
                    pb::RunSettlementRequest { request_id: ctx.request_id(), bank: name("banks", &bank), period };
                show(settlement.run_settlement(request).await?.into_inner().statement.unwrap_or_default())
            }
            Statements::Show { statement } => {
                let request = pb::GetStatementRequest { name: name("statements", &statement) };
                show(settlement.get_statement(request).await?.into_inner().statement.unwrap_or_default())
            }
            Statements::List { bank, period, paging } => {
                let request = pb::ListStatementsRequest {
                    page_size: paging.page_size,
                    page_token: paging.page_token,
                    bank: optional_name("banks", &bank),
                    period: period.unwrap_or_default(),
                };
                let list = settlement.list_statements(request).await?.into_inner();
                more(&list.next_page_token);
                ctx.out.show("techcredit.v1.ListStatementsResponse", &list, |o| View::Rows {
                    header: vec!["statement", "bank", "period", "status", "net", "direction", "outstanding"],
                    rows: list
                        .statements
                        .iter()
                        .map(|s| {
                            vec![
                                s.name.clone(),
                                s.bank.clone(),
                                s.period.clone(),
                                label(s.status().as_str_name(), "STATEMENT_STATUS_"),
                                o.money(&s.net_amount),
                                label(s.direction().as_str_name(), "SETTLEMENT_DIRECTION_"),
                                o.money(&s.amount_outstanding),
                            ]
                        })
                        .collect(),
                })
            }
            Statements::Confirm { statement, sha256 } => {
                let request = pb::ConfirmStatementRequest {
                    request_id: ctx.request_id(),
                    name: name("statements", &statement),
                    content_sha256: sha256,
                };
                show(settlement.confirm_statement(request).await?.into_inner().statement.unwrap_or_default())
            }
            Statements::Pay { statement, amount, value_date, reference } => {
                let request = pb::RecordStatementPaymentRequest {
                    request_id: ctx.request_id(),
                    statement: name("statements", &statement),
                    amount,
                    value_date,
                    reference,
                };
                show(settlement.record_statement_payment(request).await?.into_inner().statement.unwrap_or_default())
            }
            Statements::Export { statement, format, to } => {
                let format = match format {
                    ExportAs::Csv => pb::ExportFormat::Csv,
                    ExportAs::Html => pb::ExportFormat::Html,
                };
                let request =
                    pb::ExportStatementRequest { name: name("statements", &statement), format: format as i32 };
                let export = settlement.export_statement(request).await?.into_inner();
                let path = to.unwrap_or_else(|| PathBuf::from(&export.file_name));
                crate::output::write_file(&path, &export.content)?;
                if path.as_os_str() != "-" {
                    eprintln!("{} written ({} bytes, {})", path.display(), export.content.len(), export.content_type);
                }
                Ok(())
            }
        }
    }
}
