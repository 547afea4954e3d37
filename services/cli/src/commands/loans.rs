//! LoanApplicationService: applications and covered loans.

use std::path::{Path, PathBuf};

use clap::{Subcommand, ValueEnum};
use prost::Message;
use proto::v1 as pb;
use sha2::{Digest, Sha256};

use super::{Paging, label, more, name, optional_name, read, time};
use crate::Ctx;
use crate::failure::Failure;
use crate::output::{Printer, View};

/// `techcredit applications …`
#[derive(Debug, Subcommand)]
pub enum Applications {
    /// Submit an application from a TOML or JSON file (BANK); see services/cli/examples.
    /// Its request id is the file's hash unless --request-id says otherwise, so sending the
    /// same file again answers with the same application.
    Submit {
        /// The file: SubmitApplicationRequest's fields (.toml or .json).
        file: PathBuf,
    },
    /// One application with its decision.
    Show {
        /// Its id or name (applications/12).
        application: String,
    },
    /// Applications, newest first.
    List {
        /// Only this bank's.
        #[arg(long)]
        bank: Option<String>,
        /// Only in this status.
        #[arg(long, value_enum)]
        status: Option<AppStatus>,
        #[command(flatten)]
        paging: Paging,
    },
    /// Decide a referred application (RISK_OFFICER).
    Review {
        /// Its id or name.
        application: String,
        /// The decision.
        #[arg(value_enum)]
        verdict: Verdict,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Withdraw an approved or referred application (BANK).
    Withdraw {
        /// Its id or name.
        application: String,
        /// Why.
        #[arg(long, default_value = "")]
        reason: String,
    },
}

/// An application status.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum AppStatus {
    /// Received.
    Submitted,
    /// Approved: may be enrolled.
    Approved,
    /// Waiting for a risk officer.
    Referred,
    /// Rejected.
    Rejected,
    /// Enrolled as a loan.
    Enrolled,
    /// The approval lapsed.
    Expired,
    /// Withdrawn by the bank.
    Withdrawn,
}

impl AppStatus {
    fn wire(self) -> pb::ApplicationStatus {
        match self {
            AppStatus::Submitted => pb::ApplicationStatus::Submitted,
            AppStatus::Approved => pb::ApplicationStatus::Approved,
            AppStatus::Referred => pb::ApplicationStatus::Referred,
            AppStatus::Rejected => pb::ApplicationStatus::Rejected,
            AppStatus::Enrolled => pb::ApplicationStatus::Enrolled,
            AppStatus::Expired => pb::ApplicationStatus::Expired,
            AppStatus::Withdrawn => pb::ApplicationStatus::Withdrawn,
        }
    }
}

/// A risk officer's verdict.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Verdict {
    /// Approve it.
    Approve,
    /// Reject it.
    Reject,
}

/// Reads a SubmitApplicationRequest from TOML or JSON through the contract's own JSON
/// mapping (proto field names or lowerCamelCase, enums by name).
fn submission(file: &Path, request_id: Option<String>) -> Result<pb::SubmitApplicationRequest, Failure> {
    let text = read(file)?;
    let bad = |e: String| Failure::Usage(format!("{}: {e}", file.display()));
    let value: serde_json::Value = match file.extension().and_then(|e| e.to_str()) {
        Some("json") => serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?,
        Some("toml") => toml::from_str(&text).map_err(|e| bad(e.message().to_owned()))?,
        _ => return Err(bad("the file must end in .toml or .json".to_owned())),
    };
    let pool = prost_reflect::DescriptorPool::decode(proto::FILE_DESCRIPTOR_SET).map_err(|e| bad(e.to_string()))?;
    let descriptor = pool
        .get_message_by_name("techcredit.v1.SubmitApplicationRequest")
        .ok_or_else(|| bad("the contract has no SubmitApplicationRequest".to_owned()))?;
    let dynamic = prost_reflect::DynamicMessage::deserialize(descriptor, value).map_err(|e| bad(e.to_string()))?;
    let mut request =
        pb::SubmitApplicationRequest::decode(dynamic.encode_to_vec().as_slice()).map_err(|e| bad(e.to_string()))?;
    request.request_id = match request_id {
        Some(id) => id,
        None if !request.request_id.is_empty() => request.request_id,
        None => format!("submit-{}", &hex::encode(Sha256::digest(text.as_bytes()))[..24]),
    };
    Ok(request)
}

fn application_view(a: &pb::Application, out: &Printer) -> View {
    let decision = a.decision.clone().unwrap_or_default();
    let enterprise = a.enterprise.clone().unwrap_or_default();
    let terms = a.terms.clone().unwrap_or_default();
    let mut fields = vec![
        ("name", a.name.clone()),
        ("bank", a.bank.clone()),
        ("status", label(a.status().as_str_name(), "APPLICATION_STATUS_")),
        ("enterprise", format!("{} {}", enterprise.uscc, enterprise.name)),
        ("amount", out.money(&terms.amount)),
        ("term", format!("{} months at {}", terms.term_months, terms.annual_rate)),
        ("outcome", label(decision.outcome().as_str_name(), "DECISION_OUTCOME_")),
        ("score", format!("{} ({})", decision.score, label(decision.grade().as_str_name(), "GRADE_"))),
        ("pool share", decision.pool_share.clone()),
        ("enterprise cap", out.money(&decision.enterprise_cap)),
        ("approval expires", decision.approval_expire_date.clone()),
    ];
    for violation in &decision.violations {
        fields.push(("rule", format!("{}: {}", violation.reason, violation.message)));
    }
    if let Some(review) = &a.review {
        fields.push((
            "review",
            format!(
                "{} by {}: {}",
                label(review.verdict().as_str_name(), "REVIEW_VERDICT_"),
                review.reviewer,
                review.reason
            ),
        ));
    }
    if !a.loan.is_empty() {
        fields.push(("loan", a.loan.clone()));
    }
    View::Record(fields)
}

impl Applications {
    /// Runs the command.
    pub async fn run(self, ctx: &Ctx) -> Result<(), Failure> {
        let mut loans = ctx.clients.loans.clone();
        let show = |a: pb::Application| ctx.out.show("techcredit.v1.Application", &a, |o| application_view(&a, o));
        match self {
            Applications::Submit { file } => {
                let request = submission(&file, ctx.request_id_flag())?;
                show(loans.submit_application(request).await?.into_inner().application.unwrap_or_default())
            }
            Applications::Show { application } => {
                let request = pb::GetApplicationRequest { name: name("applications", &application) };
                show(loans.get_application(request).await?.into_inner().application.unwrap_or_default())
            }
            Applications::List { bank, status, paging } => {
                let request = pb::ListApplicationsRequest {
                    page_size: paging.page_size,
                    page_token: paging.page_token,
                    bank: optional_name("banks", &bank),
                    status: status.map_or(0, |s| s.wire() as i32),
                    ..Default::default()
                };
                let list = loans.list_applications(request).await?.into_inner();
                more(&list.next_page_token);
                ctx.out.show("techcredit.v1.ListApplicationsResponse", &list, |o| View::Rows {
                    header: vec!["application", "bank", "status", "uscc", "enterprise", "amount", "grade", "submitted"],
                    rows: list
                        .applications
                        .iter()
                        .map(|a| {
                            let enterprise = a.enterprise.clone().unwrap_or_default();
                            let decision = a.decision.clone().unwrap_or_default();
                            vec![
                                a.name.clone(),
                                a.bank.clone(),
                                label(a.status().as_str_name(), "APPLICATION_STATUS_"),
                                enterprise.uscc,
                                enterprise.name,
                                o.money(&a.terms.clone().unwrap_or_default().amount),
                                label(decision.grade().as_str_name(), "GRADE_"),
                                time(&a.create_time),
                            ]
                        })
                        .collect(),
                })
            }
            Applications::Review { application, verdict, reason } => {
                let verdict = match verdict {
                    Verdict::Approve => pb::ReviewVerdict::Approve,
                    Verdict::Reject => pb::ReviewVerdict::Reject,
                };
                let request = pb::ReviewApplicationRequest {
                    request_id: ctx.request_id(),
                    name: name("applications", &application),
                    verdict: verdict as i32,
                    reason,
                };
                show(loans.review_application(request).await?.into_inner().application.unwrap_or_default())
            }
            Applications::Withdraw { application, reason } => {
                let request = pb::WithdrawApplicationRequest {
                    request_id: ctx.request_id(),
                    name: name("applications", &application),
                    reason,
                };
                show(loans.withdraw_application(request).await?.into_inner().application.unwrap_or_default())
            }
        }
    }
}

/// `techcredit loans …`
#[derive(Debug, Subcommand)]
pub enum Loans {
    /// Enrol a disbursed loan into cover under its approved application (BANK).
    Enrol {
        /// The approved application's id or name.
        #[arg(long)]
        application: String,
        /// The bank's own loan number.
        #[arg(long)]
        number: String,
        /// Amount disbursed.
        #[arg(long)]
        amount: String,
        /// Disbursement date, YYYY-MM-DD.
        #[arg(long)]
        disbursed_on: String,
        /// Annual interest rate, e.g. 0.035.
        #[arg(long)]
        rate: String,
        /// Maturity date, YYYY-MM-DD.
        #[arg(long)]
        maturity: String,
    },
    /// Report a loan's status as of a date (BANK, BATCH).
    Report {
        /// The loan's id or name.
        loan: String,
        /// The date the figures are as of.
        #[arg(long)]
        date: String,
        /// Outstanding principal.
        #[arg(long)]
        outstanding: String,
        /// Days past due.
        #[arg(long, default_value_t = 0)]
        days_past_due: i32,
        /// The bank's five-category classification.
        #[arg(long, value_enum, default_value_t = Class::Normal)]
        classification: Class,
        /// Fully repaid.
        #[arg(long)]
        repaid: bool,
        /// A renewal without principal repayment (无还本续贷): the new maturity, YYYY-MM-DD.
        #[arg(long, default_value = "")]
        renew_to: String,
    },
    /// Take a loan out of cover when it proves ineligible after enrolment (RISK_OFFICER; a
    /// second officer repeats it when the loan has compensation).
    Exclude {
        /// The loan's id or name.
        loan: String,
        /// Why.
        #[arg(long, value_enum)]
        reason: Exclusion,
        /// The reason in words.
        #[arg(long)]
        text: String,
        /// Date of effect, YYYY-MM-DD.
        #[arg(long)]
        date: String,
    },
    /// Covered loans.
    List {
        /// Only this bank's.
        #[arg(long)]
        bank: Option<String>,
        /// Only in this status.
        #[arg(long, value_enum)]
        status: Option<LoanState>,
        /// Only this enterprise's.
        #[arg(long)]
        uscc: Option<String>,
        #[command(flatten)]
        paging: Paging,
    },
    /// One loan.
    Show {
        /// Its id or name (loans/7).
        loan: String,
    },
}

/// Why a loan is excluded from cover.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Exclusion {
    /// It did not meet the policy when enrolled.
    IneligibleAtEnrolment,
    /// The bank or the enterprise misrepresented it.
    Misrepresentation,
    /// A dishonesty record of the enterprise surfaced.
    DishonestyRecord,
    /// The bank breached the scheme's agreement.
    BankBreach,
}

impl Exclusion {
    fn wire(self) -> pb::ExclusionReason {
        match self {
            Exclusion::IneligibleAtEnrolment => pb::ExclusionReason::IneligibleAtEnrolment,
            Exclusion::Misrepresentation => pb::ExclusionReason::Misrepresentation,
            Exclusion::DishonestyRecord => pb::ExclusionReason::DishonestyRecord,
            Exclusion::BankBreach => pb::ExclusionReason::BankBreach,
        }
    }
}

/// A five-category loan classification.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Class {
    /// 正常.
    Normal,
    /// 关注.
    SpecialMention,
    /// 次级.
    Substandard,
    /// 可疑.
    Doubtful,
    /// 损失.
    Loss,
}

/// A loan status.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LoanState {
    /// Performing.
    Active,
    /// Past due.
    Overdue,
    /// Defaulted.
    Defaulted,
    /// Claimed.
    Claimed,
    /// Compensated.
    Compensated,
    /// Recovering.
    Recovering,
    /// Repaid.
    Repaid,
    /// Closed.
    Closed,
    /// Excluded from cover.
    Excluded,
}

impl LoanState {
    fn wire(self) -> pb::LoanStatus {
        match self {
            LoanState::Active => pb::LoanStatus::Active,
            LoanState::Overdue => pb::LoanStatus::Overdue,
            LoanState::Defaulted => pb::LoanStatus::Defaulted,
            LoanState::Claimed => pb::LoanStatus::Claimed,
            LoanState::Compensated => pb::LoanStatus::Compensated,
            LoanState::Recovering => pb::LoanStatus::Recovering,
            LoanState::Repaid => pb::LoanStatus::Repaid,
            LoanState::Closed => pb::LoanStatus::Closed,
            LoanState::Excluded => pb::LoanStatus::Excluded,
        }
    }
}

impl Class {
    fn wire(self) -> pb::LoanClassification {
        match self {
            Class::Normal => pb::LoanClassification::Normal,
            Class::SpecialMention => pb::LoanClassification::SpecialMention,
            Class::Substandard => pb::LoanClassification::Substandard,
            Class::Doubtful => pb::LoanClassification::Doubtful,
            Class::Loss => pb::LoanClassification::Loss,
        }
    }
}

fn loan_view(l: &pb::Loan, out: &Printer) -> View {
    View::Record(vec![
        ("name", l.name.clone()),
        ("bank", format!("{} loan {}", l.bank, l.bank_loan_number)),
        ("enterprise", format!("{} {}", l.uscc, l.enterprise_name)),
        ("status", label(l.status().as_str_name(), "LOAN_STATUS_")),
        ("grade", label(l.grade().as_str_name(), "GRADE_")),
        ("pool share", l.pool_share.clone()),
        ("disbursed", format!("{} on {}", out.money(&l.disbursed_amount), l.disbursement_date)),
        ("maturity", l.maturity_date.clone()),
        ("rate", l.annual_rate.clone()),
        ("outstanding", out.money(&l.outstanding_principal)),
        ("days past due", l.days_past_due.to_string()),
        ("classification", label(l.classification().as_str_name(), "LOAN_CLASSIFICATION_")),
        ("last report", l.last_report_date.clone()),
        ("default date", l.default_date.clone()),
        ("renewals", renewals_text(l)),
        ("exclusion", l.exclusion.as_ref().map(|e| exclusion_text(e, out)).unwrap_or_default()),
    ])
}

/// "DISHONESTY_RECORD on 2026-12-02 by k1, k2: 3000000.00 freed, 0.00 cancelled, 1260000.00
/// clawed back (clawbacks/1)", or that it awaits a second officer.
fn exclusion_text(e: &pb::Exclusion, out: &Printer) -> String {
    let reason = label(e.reason().as_str_name(), "EXCLUSION_REASON_");
    let by = e.officers.join(", ");
    if e.status() == pb::ExclusionStatus::AwaitingSecond {
        return format!(
            "{reason} asked on {} by {by} ({}): a second risk officer must exclude it too",
            e.exclusion_date, e.reason_text
        );
    }
    let clawback = if e.clawback.is_empty() { String::new() } else { format!(" ({})", e.clawback) };
    format!(
        "{reason} on {} by {by} ({}): {} freed, {} cancelled, {} clawed back{clawback}",
        e.exclusion_date,
        e.reason_text,
        out.money(&e.exposure_released),
        out.money(&e.compensation_cancelled),
        out.money(&e.clawback_amount)
    )
}

/// "none", or "1 (enrolled maturing 2027-06-30)".
fn renewals_text(l: &pb::Loan) -> String {
    if l.renewals == 0 {
        "none".to_owned()
    } else {
        format!("{} (enrolled maturing {})", l.renewals, l.original_maturity_date)
    }
}

impl Loans {
    /// Runs the command.
    pub async fn run(self, ctx: &Ctx) -> Result<(), Failure> {
        let mut loans = ctx.clients.loans.clone();
        let show = |l: pb::Loan| ctx.out.show("techcredit.v1.Loan", &l, |o| loan_view(&l, o));
        match self {
            Loans::Enrol { application, number, amount, disbursed_on, rate, maturity } => {
                let request = pb::EnrollLoanRequest {
                    request_id: ctx.request_id(),
                    application: name("applications", &application),
                    bank_loan_number: number,
                    disbursed_amount: amount,
                    disbursement_date: disbursed_on,
                    annual_rate: rate,
                    maturity_date: maturity,
                };
                show(loans.enroll_loan(request).await?.into_inner().loan.unwrap_or_default())
            }
            Loans::Report { loan, date, outstanding, days_past_due, classification, repaid, renew_to } => {
                let request = pb::ReportLoanStatusRequest {
                    request_id: ctx.request_id(),
                    loan: name("loans", &loan),
                    report_date: date,
                    outstanding_principal: outstanding,
                    days_past_due,
                    classification: classification.wire() as i32,
                    repaid,
                    renewed_maturity_date: renew_to,
                };
                show(loans.report_loan_status(request).await?.into_inner().loan.unwrap_or_default())
            }
            Loans::Exclude { loan, reason, text, date } => {
                let request = pb::ExcludeLoanRequest {
                    request_id: ctx.request_id(),
                    loan: name("loans", &loan),
                    reason: reason.wire() as i32,
                    reason_text: text,
                    exclusion_date: date,
                };
                show(loans.exclude_loan(request).await?.into_inner().loan.unwrap_or_default())
            }
            Loans::List { bank, status, uscc, paging } => {
                let request = pb::ListLoansRequest {
                    page_size: paging.page_size,
                    page_token: paging.page_token,
                    bank: optional_name("banks", &bank),
                    status: status.map_or(0, |s| s.wire() as i32),
                    uscc: uscc.unwrap_or_default(),
                    ..Default::default()
                };
                let list = loans.list_loans(request).await?.into_inner();
                more(&list.next_page_token);
                ctx.out.show("techcredit.v1.ListLoansResponse", &list, |o| View::Rows {
                    header: vec!["loan", "bank", "number", "enterprise", "status", "grade", "outstanding", "maturity"],
                    rows: list
                        .loans
                        .iter()
                        .map(|l| {
                            vec![
                                l.name.clone(),
                                l.bank.clone(),
                                l.bank_loan_number.clone(),
                                l.enterprise_name.clone(),
                                label(l.status().as_str_name(), "LOAN_STATUS_"),
                                label(l.grade().as_str_name(), "GRADE_"),
                                o.money(&l.outstanding_principal),
                                l.maturity_date.clone(),
                            ]
                        })
                        .collect(),
                })
            }
            Loans::Show { loan } => show(
                loans
                    .get_loan(pb::GetLoanRequest { name: name("loans", &loan) })
                    .await?
                    .into_inner()
                    .loan
                    .unwrap_or_default(),
            ),
        }
    }
}
