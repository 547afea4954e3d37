//! RiskPoolService: the pool's money and position, and the ledger.

use clap::{Subcommand, ValueEnum};
use proto::v1 as pb;

use super::{Paging, done, label, more, name, time};
use crate::Ctx;
use crate::connect::Clients;
use crate::failure::Failure;
use crate::output::{Printer, View};

/// `techcredit pool …`
#[derive(Debug, Subcommand)]
pub enum PoolCommand {
    /// The pool's position: targets, leverage, headroom, banks (a terminal dashboard).
    Position(crate::dashboard::Position),
    /// Banks' exposure: quota, used, NPL ratio, compensation against the annual cap, grade.
    Exposure {
        /// One bank (default: every bank).
        bank: Option<String>,
    },
    /// Grade every bank now and store it as the quarter's rating (RISK_OFFICER, BATCH; the
    /// batch runs it each quarter). The policy may tie watch and suspension to the grade.
    RateBanks,
    /// What a wave of defaults would cost the pool.
    Stress {
        /// Default rate of every grade not named by --grade, e.g. 0.05.
        #[arg(long, default_value = "")]
        default_rate: String,
        /// A grade's own default rate, GRADE=RATE (repeatable), e.g. --grade BB=0.2.
        #[arg(long = "grade", value_name = "GRADE=RATE")]
        grades: Vec<String>,
        /// Loss given default, e.g. 0.6.
        #[arg(long)]
        loss_rate: String,
    },
    /// Capital contributions (FINANCE).
    #[command(subcommand)]
    Contributions(Contributions),
    /// Record interest earned on the escrow account (FINANCE).
    Interest {
        /// Amount.
        #[arg(long)]
        amount: String,
        /// Effective date, YYYY-MM-DD.
        #[arg(long)]
        date: String,
        /// Memo.
        #[arg(long, default_value = "")]
        memo: String,
    },
    /// Reverse a contribution or interest entry posted by mistake (FINANCE).
    Reverse {
        /// The entry's id or name (journalEntries/17).
        entry: String,
        /// Effective date of the reversal.
        #[arg(long)]
        date: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
}

/// `techcredit pool contributions …`
#[derive(Debug, Subcommand)]
pub enum Contributions {
    /// A contributor commits capital (the pool's receivable).
    Commit(Contribution),
    /// A committed contribution arrives in the escrow account.
    Receive(Contribution),
}

/// One contribution.
#[derive(Debug, clap::Args)]
pub struct Contribution {
    /// Who contributes.
    #[arg(long, value_enum)]
    from: Contributor,
    /// The bank, when a bank contributes.
    #[arg(long)]
    bank: Option<String>,
    /// Amount.
    #[arg(long)]
    amount: String,
    /// Effective date, YYYY-MM-DD.
    #[arg(long)]
    date: String,
    /// Memo.
    #[arg(long, default_value = "")]
    memo: String,
}

/// A contribution to post: committed (the pool's receivable) or received (cash in).
pub struct ContributionPosting {
    /// Who.
    pub contributor: pb::ContributorKind,
    /// The bank, when a bank contributes (`banks/…`).
    pub bank: String,
    /// Amount.
    pub amount: String,
    /// Effective date.
    pub date: String,
    /// Memo.
    pub memo: String,
}

impl ContributionPosting {
    /// Posts it with FINANCE's `clients`; the journal entry it made.
    pub async fn post(self, clients: &Clients, commit: bool, request_id: String) -> Result<pb::JournalEntry, Failure> {
        let mut pool = clients.pool.clone();
        let (contributor, bank, amount, effective_date, memo) =
            (self.contributor as i32, self.bank, self.amount, self.date, self.memo);
        let entry = if commit {
            let request = pb::CommitContributionRequest { request_id, contributor, bank, amount, effective_date, memo };
            pool.commit_contribution(request).await?.into_inner().entry
        } else {
            let request =
                pb::ReceiveContributionRequest { request_id, contributor, bank, amount, effective_date, memo };
            pool.receive_contribution(request).await?.into_inner().entry
        };
        Ok(entry.unwrap_or_default())
    }
}

/// A contributor of capital.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Contributor {
    /// Ningbo city S&T bureau.
    City,
    /// Yinzhou district S&T bureau.
    District,
    /// A partner bank (--bank).
    Bank,
}

/// A bank's exposure, one field a line.
pub fn exposure_view(e: &pb::BankExposure, out: &Printer) -> View {
    let mut fields = vec![
        ("bank", e.bank.clone()),
        ("status", label(e.status().as_str_name(), "BANK_STATUS_")),
        ("status reason", e.status_reason.clone()),
        ("quota", out.money(&e.quota)),
        ("used", out.money(&e.quota_used)),
        ("headroom", out.money(&e.quota_headroom)),
        ("pool exposure", out.money(&e.pool_exposure)),
        ("NPL ratio", e.npl_ratio.clone()),
        ("compensation this year", out.money(&e.compensation_this_year)),
        ("annual cap", out.money(&e.annual_cap)),
        ("cap remaining", out.money(&e.annual_cap_remaining)),
        ("claims filed", e.claims_filed.to_string()),
        ("recoveries", out.money(&e.recoveries)),
    ];
    if let Some(r) = &e.rating {
        let grade = label(r.grade().as_str_name(), "BANK_GRADE_");
        fields.push(("bank grade", if r.reason.is_empty() { grade } else { format!("{grade} ({})", r.reason) }));
        fields.push(("payout ratio", r.payout_ratio.clone()));
        fields.push(("compensation, ever", out.money(&r.compensation)));
        fields.push(("principal enrolled, ever", out.money(&r.enrolled_principal)));
        fields.push(("early defaults", r.early_defaults.to_string()));
        fields.push(("last tape mismatch rate", r.tape_mismatch_rate.clone()));
    }
    for q in &e.quarterly_ratings {
        let r = q.rating.clone().unwrap_or_default();
        let grade = label(r.grade().as_str_name(), "BANK_GRADE_");
        let reason = if r.reason.is_empty() { String::new() } else { format!(" ({})", r.reason) };
        fields.push(("rated", format!("{} {grade}{reason}, on {}", q.quarter, q.rated_on)));
    }
    View::Record(fields)
}

fn entry_row(e: &pb::JournalEntry, out: &Printer) -> Vec<String> {
    let amount = e.postings.iter().map(|p| p.debit.as_str()).find(|d| !d.is_empty() && *d != "0.00").unwrap_or("");
    vec![
        e.name.clone(),
        e.effective_date.clone(),
        label(e.kind().as_str_name(), "ENTRY_KIND_"),
        out.money(amount),
        e.postings.iter().map(|p| p.account.clone()).collect::<Vec<_>>().join(" / "),
        e.memo.clone(),
    ]
}

impl PoolCommand {
    /// Runs the command.
    pub async fn run(self, ctx: &Ctx) -> Result<(), Failure> {
        let mut pool = ctx.clients.pool.clone();
        let out = &ctx.out;
        match self {
            PoolCommand::Position(args) => args.run(ctx).await,
            PoolCommand::Exposure { bank: Some(bank) } => {
                let request = pb::GetBankExposureRequest { bank: name("banks", &bank) };
                let exposure = pool.get_bank_exposure(request).await?.into_inner().exposure.unwrap_or_default();
                out.show("techcredit.v1.BankExposure", &exposure, |o| exposure_view(&exposure, o))
            }
            PoolCommand::RateBanks => {
                let rated = pool.rate_banks(pb::RateBanksRequest { request_id: ctx.request_id() }).await?.into_inner();
                out.show("techcredit.v1.RateBanksResponse", &rated, |_| View::Rows {
                    header: vec!["bank", "quarter", "grade", "status", "why"],
                    rows: rated
                        .ratings
                        .iter()
                        .zip(&rated.exposures)
                        .map(|(q, e)| {
                            let r = q.rating.clone().unwrap_or_default();
                            vec![
                                q.bank.clone(),
                                q.quarter.clone(),
                                label(r.grade().as_str_name(), "BANK_GRADE_"),
                                label(e.status().as_str_name(), "BANK_STATUS_"),
                                r.reason,
                            ]
                        })
                        .collect(),
                })
            }
            PoolCommand::Exposure { bank: None } => {
                let list = pool
                    .list_bank_exposures(pb::ListBankExposuresRequest { page_size: 1000, page_token: String::new() })
                    .await?
                    .into_inner();
                more(&list.next_page_token);
                out.show("techcredit.v1.ListBankExposuresResponse", &list, |o| View::Rows {
                    header: vec![
                        "bank",
                        "status",
                        "quota",
                        "used",
                        "NPL ratio",
                        "compensation this year",
                        "cap remaining",
                    ],
                    rows: list
                        .exposures
                        .iter()
                        .map(|e| {
                            vec![
                                e.bank.clone(),
                                label(e.status().as_str_name(), "BANK_STATUS_"),
                                o.money(&e.quota),
                                o.money(&e.quota_used),
                                e.npl_ratio.clone(),
                                o.money(&e.compensation_this_year),
                                o.money(&e.annual_cap_remaining),
                            ]
                        })
                        .collect(),
                })
            }
            PoolCommand::Stress { default_rate, grades, loss_rate } => {
                let mut per_grade = Vec::new();
                for item in grades {
                    let (grade, rate) = item
                        .split_once('=')
                        .ok_or_else(|| Failure::Usage(format!("--grade {item}: write GRADE=RATE, e.g. BB=0.2")))?;
                    let grade = pb::Grade::from_str_name(&format!("GRADE_{}", grade.trim().to_uppercase()))
                        .ok_or_else(|| Failure::Usage(format!("--grade {item}: no grade {grade} (AAA … D)")))?;
                    per_grade.push(pb::GradeDefaultRate { grade: grade as i32, default_rate: rate.trim().to_owned() });
                }
                let request = pb::RunStressTestRequest { default_rate, per_grade, loss_rate };
                let result = pool.run_stress_test(request).await?.into_inner();
                out.show("techcredit.v1.RunStressTestResponse", &result, |o| {
                    View::Record(vec![
                        ("expected loss", o.money(&result.expected_loss)),
                        ("net pool assets before", o.money(&result.net_pool_assets_before)),
                        ("net pool assets after", o.money(&result.net_pool_assets_after)),
                        ("survives", if result.survives { "yes".into() } else { o.alert("NO") }),
                        ("default rate that exhausts it", result.exhaustion_default_rate.clone()),
                        ("leverage after", result.leverage_after.clone()),
                    ])
                })
            }
            PoolCommand::Contributions(command) => {
                let (commit, c) = match command {
                    Contributions::Commit(c) => (true, c),
                    Contributions::Receive(c) => (false, c),
                };
                let (contributor, bank) = match (c.from, &c.bank) {
                    (Contributor::City, None) => (pb::ContributorKind::CityBureau, String::new()),
                    (Contributor::District, None) => (pb::ContributorKind::DistrictBureau, String::new()),
                    (Contributor::Bank, Some(bank)) => (pb::ContributorKind::Bank, name("banks", bank)),
                    (Contributor::Bank, None) => return Err(Failure::Usage("--from bank needs --bank".to_owned())),
                    (_, Some(_)) => return Err(Failure::Usage("--bank goes only with --from bank".to_owned())),
                };
                let posting = ContributionPosting { contributor, bank, amount: c.amount, date: c.date, memo: c.memo };
                show_entry(ctx, posting.post(&ctx.clients, commit, ctx.request_id()).await?)
            }
            PoolCommand::Interest { amount, date, memo } => {
                let request =
                    pb::RecordInterestRequest { request_id: ctx.request_id(), amount, effective_date: date, memo };
                show_entry(ctx, pool.record_interest(request).await?.into_inner().entry.unwrap_or_default())
            }
            PoolCommand::Reverse { entry, date, reason } => {
                let request = pb::ReverseEntryRequest {
                    request_id: ctx.request_id(),
                    entry: name("journalEntries", &entry),
                    effective_date: date,
                    reason,
                };
                show_entry(ctx, pool.reverse_entry(request).await?.into_inner().reversal.unwrap_or_default())
            }
        }
    }
}

const ENTRY_HEADER: [&str; 6] = ["entry", "effective", "kind", "amount", "accounts", "memo"];

fn show_entry(ctx: &Ctx, entry: pb::JournalEntry) -> Result<(), Failure> {
    ctx.out.show("techcredit.v1.JournalEntry", &entry, |o| View::Rows {
        header: ENTRY_HEADER.to_vec(),
        rows: vec![entry_row(&entry, o)],
    })
}

/// `techcredit ledger …`
#[derive(Debug, Subcommand)]
pub enum Ledger {
    /// Every account's balance (now, or as of a date).
    Accounts {
        /// As of this date, YYYY-MM-DD.
        #[arg(long)]
        as_of: Option<String>,
    },
    /// Journal entries, newest first.
    Entries {
        /// Only those posting to this account.
        #[arg(long)]
        account: Option<String>,
        /// Effective on or after.
        #[arg(long)]
        from: Option<String>,
        /// Effective on or before.
        #[arg(long)]
        to: Option<String>,
        #[command(flatten)]
        paging: Paging,
    },
    /// Recompute every balance and running total and list the differences (AUDITOR, ADMIN);
    /// exit code 4 when there is one.
    Verify,
}

impl Ledger {
    /// Runs the command.
    pub async fn run(self, ctx: &Ctx) -> Result<(), Failure> {
        let mut pool = ctx.clients.pool.clone();
        let out = &ctx.out;
        match self {
            Ledger::Accounts { as_of } => {
                let list = pool.list_accounts(pb::ListAccountsRequest { as_of: as_of.unwrap_or_default() }).await?;
                let list = list.into_inner();
                out.show("techcredit.v1.ListAccountsResponse", &list, |o| View::Rows {
                    header: vec!["account", "kind", "debits", "credits", "balance"],
                    rows: list
                        .accounts
                        .iter()
                        .map(|a| {
                            vec![
                                a.code.clone(),
                                label(a.kind().as_str_name(), "ACCOUNT_KIND_"),
                                o.money(&a.debit_total),
                                o.money(&a.credit_total),
                                o.money(&a.balance),
                            ]
                        })
                        .collect(),
                })
            }
            Ledger::Entries { account, from, to, paging } => {
                let request = pb::ListJournalEntriesRequest {
                    page_size: paging.page_size,
                    page_token: paging.page_token,
                    account: account.unwrap_or_default(),
                    effective_from: from.unwrap_or_default(),
                    effective_to: to.unwrap_or_default(),
                    kind: 0,
                };
                let list = pool.list_journal_entries(request).await?.into_inner();
                more(&list.next_page_token);
                out.show("techcredit.v1.ListJournalEntriesResponse", &list, |o| View::Rows {
                    header: ENTRY_HEADER.to_vec(),
                    rows: list.entries.iter().map(|e| entry_row(e, o)).collect(),
                })
            }
            Ledger::Verify => {
                let report = pool.verify_ledger(pb::VerifyLedgerRequest {}).await?.into_inner();
                out.show("techcredit.v1.VerifyLedgerResponse", &report, |_| View::Rows {
                    header: vec!["subject", "expected", "stored"],
                    rows: report
                        .differences
                        .iter()
                        .map(|d| vec![d.subject.clone(), d.expected.clone(), d.actual.clone()])
                        .collect(),
                })?;
                if report.ok {
                    if out.format == crate::output::Format::Table {
                        done(format!(
                            "checked {} journal entries and {} accounts at {}: the books are whole",
                            report.entries_checked,
                            report.accounts_checked,
                            time(&report.check_time)
                        ));
                    }
                    Ok(())
                } else {
                    Err(Failure::Found(format!("{} differences in the books", report.differences.len())))
                }
            }
        }
    }
}
