//! The demo's book, month by month: who does what, with which figures.

use proto::v1 as pb;

use super::Size;
use super::people::{self, BANKS, Rng, fen, money, yuan};
use crate::Ctx;
use crate::connect::{Clients, Target};
use crate::failure::Failure;
use crate::output::Printer;

/// Where a demo loan stands, as the demo knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Performing,
    /// Months past due (1, 2).
    Late(u32),
    /// Claimed; its claim's id.
    Claimed(i64),
    /// Compensated; the month its recovery comes.
    Compensated {
        claim: i64,
        recovery_month: u32,
    },
    Closed,
}

struct Loan {
    name: String,
    bank: usize,
    number: String,
    uscc: String,
    outstanding: u64,
    maturity: chrono::NaiveDate,
    enrolled_month: u32,
    stage: Stage,
}

struct Counts {
    applications: u32,
    approved: u32,
    referred: u32,
    rejected: u32,
    enrolled: u32,
    refused: u32,
    defaults: u32,
    claims_paid: u32,
    recoveries: u32,
    statements: u32,
    tapes: u32,
}

/// The book being built, and the desks that build it.
pub(super) struct Book {
    rng: Rng,
    size: Size,
    today: chrono::NaiveDate,
    admin: Clients,
    banks: Vec<Clients>,
    officers: [Clients; 2],
    finance: Clients,
    batch: Clients,
    pub(super) auditor: Clients,
    loans: Vec<Loan>,
    /// A limit of the whole pool refused an enrolment this month.
    pool_full: bool,
    serial: u32,
    counts: Counts,
    tape_dir: tempfile::TempDir,
}

fn date(text: &str) -> Result<chrono::NaiveDate, Failure> {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|e| Failure::Usage(format!("date {text}: {e}")))
}

fn day(d: chrono::NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

impl Book {
    /// Banks, desks' keys and the contributors' commitments.
    pub(super) async fn open(ctx: &Ctx, target: &Target, size: Size, seed: u64, today: &str) -> Result<Book, Failure> {
        let today = date(today)?;
        let mut admin = ctx.clients.admin.clone();
        let rid = |what: &str| format!("demo-{seed}-{what}");
        let mut key = async |role: pb::Role, bank: &str, what: &str| -> Result<Clients, Failure> {
            let request = pb::CreateApiKeyRequest {
                request_id: rid(&format!("key-{what}")),
                role: role as i32,
                bank: bank.to_owned(),
                description: format!("demo {what}"),
                expire_date: String::new(),
            };
            let secret = admin.create_api_key(request).await?.into_inner().secret;
            target.connect(&secret).await
        };
        let mut banks = Vec::new();
        for (id, display, quota) in BANKS {
            let request = pb::CreateBankRequest {
                request_id: rid(&format!("bank-{id}")),
                bank_id: id.to_owned(),
                display_name: display.to_owned(),
                quota: money(quota * 100),
            };
            ctx.clients.admin.clone().create_bank(request).await?;
            banks.push(key(pb::Role::Bank, &format!("banks/{id}"), id).await?);
        }
        let officers =
            [key(pb::Role::RiskOfficer, "", "officer-1").await?, key(pb::Role::RiskOfficer, "", "officer-2").await?];
        let finance = key(pb::Role::Finance, "", "finance").await?;
        let batch = key(pb::Role::Batch, "", "batch").await?;
        let auditor = key(pb::Role::Auditor, "", "auditor").await?;
        let tape_dir = tempfile::tempdir().map_err(|e| Failure::Usage(format!("a temporary directory: {e}")))?;
        let counts = Counts {
            applications: 0,
            approved: 0,
            referred: 0,
            rejected: 0,
            enrolled: 0,
            refused: 0,
            defaults: 0,
            claims_paid: 0,
            recoveries: 0,
            statements: 0,
            tapes: 0,
        };
        Ok(Book {
            rng: Rng(seed),
            size,
            today,
            admin: ctx.clients.clone(),
            banks,
            officers,
            finance,
            batch,
            auditor,
            loans: Vec::new(),
            pool_full: false,
            serial: 0,
            counts,
            tape_dir,
        })
    }

    fn rid(&mut self, what: &str) -> String {
        self.serial += 1;
        format!("demo-{}-{what}-{}", self.rng.0 % 100_000, self.serial)
    }

    /// One month: contributions, the loans' lives, new business, settlement, tapes.
    pub(super) async fn month(&mut self, month: u32, months: u32) -> Result<(), Failure> {
        if month > 0 {
            let next = self.today.checked_add_months(chrono::Months::new(1)).unwrap_or(self.today);
            let request = pb::AdvanceBusinessDateRequest { request_id: self.rid("clock"), business_date: day(next) };
            self.admin.admin.advance_business_date(request).await?;
            self.today = next;
        }
        // Last month's statements first: what they list was open on its last day (a bank's
        // committed contribution is paid through its statement).
        if month > 0 {
            self.settle(month).await?;
        }
        self.contributions(month).await?;
        self.lives(month).await?;
        let covered: u64 = self.loans.iter().filter(|l| l.stage != Stage::Closed).map(|l| l.outstanding).sum();
        let goal: u64 = match self.size {
            Size::Small => yuan(60_000_000),
            Size::Full => yuan(575_000_000),
        };
        let target = goal * u64::from(month + 1) / u64::from(months);
        self.new_business(target.saturating_sub(covered), month).await?;
        if month > 0 {
            self.tapes(month).await?;
        }
        let covered: u64 = self.loans.iter().filter(|l| l.stage != Stage::Closed).map(|l| l.outstanding).sum();
        let c = &self.counts;
        eprintln!(
            "{}  applications {:>4} (approved {}, referred {}, rejected {})  enrolled {:>4}  covered {:>18}  defaults {}  claims paid {}",
            self.today.format("%Y-%m"),
            c.applications,
            c.approved,
            c.referred,
            c.rejected,
            c.enrolled,
            crate::output::thousands(&money(covered)),
            c.defaults,
            c.claims_paid
        );
        Ok(())
    }

    /// 4:4:2 — the city and the district 20,000,000.00 each, the four banks 10,000,000.00
    /// together (by quota) — committed at once; the bureaus pay in two instalments, the banks
    /// through their first monthly statement.
    async fn contributions(&mut self, month: u32) -> Result<(), Failure> {
        let today = day(self.today);
        let mut post = Vec::new();
        let share = |id: &str| BANKS.iter().find(|b| b.0 == id).map_or(0, |b| b.2);
        let total_quota: u64 = BANKS.iter().map(|b| b.2).sum();
        // By quota, the last bank taking what rounding left, so the four make 10,000,000.00.
        let bank_part = |id: &str| {
            let others: u64 =
                BANKS.iter().filter(|b| b.0 != id).map(|b| yuan(10_000_000) * share(b.0) / total_quota).sum();
            if BANKS.last().is_some_and(|b| b.0 == id) {
                yuan(10_000_000) - others
            } else {
                yuan(10_000_000) * share(id) / total_quota
            }
        };
        if month == 0 {
            post.push((true, pb::ContributorKind::CityBureau, String::new(), yuan(20_000_000)));
            post.push((true, pb::ContributorKind::DistrictBureau, String::new(), yuan(20_000_000)));
            for (id, _, _) in BANKS {
                post.push((true, pb::ContributorKind::Bank, format!("banks/{id}"), bank_part(id)));
            }
        }
        if month == 0 || month == 6 {
            post.push((false, pb::ContributorKind::CityBureau, String::new(), yuan(10_000_000)));
            post.push((false, pb::ContributorKind::DistrictBureau, String::new(), yuan(10_000_000)));
        }
        for (commit, contributor, bank, amount) in post {
            let posting = crate::commands::pool::ContributionPosting {
                contributor,
                bank,
                amount: money(amount),
                date: today.clone(),
                memo: "demo contribution".to_owned(),
            };
            let request_id = self.rid("contribution");
            posting.post(&self.finance, commit, request_id).await?;
        }
        if month % 3 == 2 {
            let request = pb::RecordInterestRequest {
                request_id: self.rid("interest"),
                amount: money(self.rng.range(170_000, 200_000) * 100),
                effective_date: today,
                memo: "escrow interest for the quarter".to_owned(),
            };
            self.finance.pool.record_interest(request).await?;
        }
        Ok(())
    }

    /// What happens to the loans already enrolled: maturities, repayments, lateness,
    /// defaults, claims, recoveries.
    async fn lives(&mut self, month: u32) -> Result<(), Failure> {
        let today = self.today;
        // The small book shows a default all the same: its first loan goes late in month 2.
        let forced =
            (self.size == Size::Small && month == 2 && !self.loans.iter().any(|l| l.stage != Stage::Performing))
                .then_some(0);
        for index in 0..self.loans.len() {
            if forced == Some(index) && self.loans[index].maturity > today {
                let outstanding = self.loans[index].outstanding;
                self.report(index, outstanding, 35, pb::LoanClassification::SpecialMention, false).await?;
                self.loans[index].stage = Stage::Late(1);
                continue;
            }
            let stage = self.loans[index].stage;
            // A loan-month's chance of going late: a few defaults a year on the full book (about
            // 2 % of loans), more on the small one so that it shows a claim.
            let late = match self.size {
                Size::Small => 25,
                Size::Full => 6,
            };
            match stage {
                Stage::Performing if self.loans[index].maturity <= today => {
                    self.report(index, 0, 0, pb::LoanClassification::Normal, true).await?;
                    self.loans[index].stage = Stage::Closed;
                }
                Stage::Performing if month > self.loans[index].enrolled_month && self.rng.chance_per_mille(late) => {
                    let outstanding = self.loans[index].outstanding;
                    self.report(index, outstanding, 35, pb::LoanClassification::SpecialMention, false).await?;
                    self.loans[index].stage = Stage::Late(1);
                }
                Stage::Performing if (month - self.loans[index].enrolled_month) % 6 == 5 => {
                    // Half-yearly, a tenth of the principal is repaid.
                    let outstanding = self.loans[index].outstanding * 9 / 10 / 100 * 100;
                    self.report(index, outstanding, 0, pb::LoanClassification::Normal, false).await?;
                    self.loans[index].outstanding = outstanding;
                }
                Stage::Late(1) if self.size == Size::Full && self.rng.chance(50) => {
                    let outstanding = self.loans[index].outstanding;
                    self.report(index, outstanding, 0, pb::LoanClassification::Normal, false).await?;
                    self.loans[index].stage = Stage::Performing;
                }
                Stage::Late(1) => {
                    let outstanding = self.loans[index].outstanding;
                    self.report(index, outstanding, 65, pb::LoanClassification::Substandard, false).await?;
                    self.loans[index].stage = Stage::Late(2);
                }
                Stage::Late(_) => {
                    let outstanding = self.loans[index].outstanding;
                    self.report(index, outstanding, 95, pb::LoanClassification::Doubtful, false).await?;
                    self.counts.defaults += 1;
                    let claim = self.file_claim(index).await?;
                    self.loans[index].stage = Stage::Claimed(claim);
                }
                Stage::Claimed(claim) => {
                    self.decide_claim(claim).await?;
                    let recovery_month = month + self.rng.range(2, 5) as u32;
                    self.loans[index].stage = Stage::Compensated { claim, recovery_month };
                }
                Stage::Compensated { recovery_month, .. } if recovery_month <= month => {
                    let percent = self.rng.range(15, 40);
                    let amount = self.loans[index].outstanding * percent / 100 / 100 * 100;
                    let request = pb::ReportRecoveryRequest {
                        request_id: self.rid("recovery"),
                        loan: self.loans[index].name.clone(),
                        amount: money(amount.max(100)),
                        recovery_date: day(today),
                        r#final: true,
                    };
                    self.banks[self.loans[index].bank].settlement.report_recovery(request).await?;
                    self.counts.recoveries += 1;
                    self.loans[index].stage = Stage::Closed;
                }
                _ => {}
            }
        }
        Ok(())
    }

    async fn report(
        &mut self,
        index: usize,
        outstanding: u64,
        days_past_due: i32,
        classification: pb::LoanClassification,
        repaid: bool,
    ) -> Result<(), Failure> {
        let request = pb::ReportLoanStatusRequest {
            request_id: self.rid("report"),
            loan: self.loans[index].name.clone(),
            report_date: day(self.today),
            outstanding_principal: money(outstanding),
            days_past_due,
            classification: classification as i32,
            repaid,
            ..Default::default()
        };
        self.banks[self.loans[index].bank].loans.report_loan_status(request).await?;
        if repaid {
            self.loans[index].outstanding = 0;
        }
        Ok(())
    }

    async fn file_claim(&mut self, index: usize) -> Result<i64, Failure> {
        let request = pb::FileClaimRequest {
            request_id: self.rid("claim"),
            loan: self.loans[index].name.clone(),
            claim_date: day(self.today),
            memo: "borrower stopped paying; collateral being enforced".to_owned(),
        };
        let claim = self.banks[self.loans[index].bank].settlement.file_claim(request).await?.into_inner().claim;
        Ok(claim.map_or(0, |c| c.claim_id.parse().unwrap_or(0)))
    }

    /// A risk officer approves (and, above the four-eyes threshold, a second one).
    async fn decide_claim(&mut self, claim: i64) -> Result<(), Failure> {
        for officer in 0..2 {
            let request = pb::ApproveClaimRequest {
                request_id: self.rid("approve"),
                name: format!("claims/{claim}"),
                approval_date: day(self.today),
                comment: "file complete: default report, enforcement notice".to_owned(),
                ..Default::default()
            };
            let decided = self.officers[officer].settlement.approve_claim(request).await?.into_inner().claim;
            if decided.is_none_or(|c| c.status() != pb::ClaimStatus::PartiallyApproved) {
                break;
            }
        }
        Ok(())
    }

    /// New applications until the approved amounts reach `needed`.
    async fn new_business(&mut self, needed: u64, month: u32) -> Result<(), Failure> {
        let most = match self.size {
            Size::Small => 14,
            Size::Full => 45,
        };
        let mut approved_amount = 0u64;
        let mut sent = 0;
        self.pool_full = false;
        while approved_amount < needed && sent < most && !self.pool_full {
            sent += 1;
            let (bank, request) = self.application();
            let answer = self.banks[bank].loans.submit_application(request).await?.into_inner();
            let mut application = answer.application.unwrap_or_default();
            self.counts.applications += 1;
            match application.status() {
                pb::ApplicationStatus::Approved => self.counts.approved += 1,
                pb::ApplicationStatus::Referred => {
                    self.counts.referred += 1;
                    let approve = self.rng.chance(85);
                    let request = pb::ReviewApplicationRequest {
                        request_id: self.rid("review"),
                        name: application.name.clone(),
                        verdict: if approve { pb::ReviewVerdict::Approve } else { pb::ReviewVerdict::Reject } as i32,
                        reason: if approve { "management and order book checked" } else { "revenue not evidenced" }
                            .to_owned(),
                    };
                    let officer = self.rng.range(0, 1) as usize;
                    application = self.officers[officer]
                        .loans
                        .review_application(request)
                        .await?
                        .into_inner()
                        .application
                        .unwrap_or_default();
                }
                _ => self.counts.rejected += 1,
            }
            if application.status() == pb::ApplicationStatus::Approved {
                approved_amount += self.enrol(bank, &application, month).await?;
            }
        }
        Ok(())
    }

    /// The next applicant (see `people::applicant`) as its bank sends it.
    fn application(&mut self) -> (usize, pb::SubmitApplicationRequest) {
        let (bank, enterprise, terms) = people::applicant(&mut self.rng, self.counts.applications + 1, self.today);
        let request = pb::SubmitApplicationRequest {
            request_id: self.rid("application"),
            bank: format!("banks/{}", BANKS[bank].0),
            enterprise: Some(enterprise),
            terms: Some(terms),
        };
        (bank, request)
    }

    /// Enrols an approved application, disbursed yesterday; returns the amount enrolled.
    async fn enrol(&mut self, bank: usize, application: &pb::Application, month: u32) -> Result<u64, Failure> {
        let terms = application.terms.clone().unwrap_or_default();
        let disbursed = self.today.pred_opt().unwrap_or(self.today);
        let maturity = disbursed
            .checked_add_months(chrono::Months::new(u32::try_from(terms.term_months).unwrap_or(12)))
            .unwrap_or(disbursed);
        let number = format!("{}-{}-{:05}", BANKS[bank].0.to_uppercase(), self.today.format("%Y%m"), self.serial);
        let request = pb::EnrollLoanRequest {
            request_id: self.rid("enrol"),
            application: application.name.clone(),
            bank_loan_number: number.clone(),
            disbursed_amount: terms.amount.clone(),
            disbursement_date: day(disbursed),
            annual_rate: terms.annual_rate.clone(),
            maturity_date: day(maturity),
        };
        match self.banks[bank].loans.enroll_loan(request).await {
            Ok(answer) => {
                let loan = answer.into_inner().loan.unwrap_or_default();
                self.counts.enrolled += 1;
                let amount = fen(&terms.amount);
                self.loans.push(Loan {
                    name: loan.name,
                    bank,
                    number,
                    uscc: loan.uscc,
                    outstanding: amount,
                    maturity,
                    enrolled_month: month,
                    stage: Stage::Performing,
                });
                Ok(amount)
            }
            // A limit said no (the enterprise's cap, the bank's quota, leverage): the demo
            // goes on, as a bank would.
            Err(status) if status.code() == tonic::Code::FailedPrecondition => {
                self.counts.refused += 1;
                // The pool is full this month: the banks wait for the next.
                let reason = tonic_types::StatusExt::get_details_error_info(&status).map(|i| i.reason);
                self.pool_full = matches!(reason.as_deref(), Some("LEVERAGE_LIMIT_EXCEEDED" | "POOL_SUSPENDED"));
                Ok(0)
            }
            Err(status) => Err(status.into()),
        }
    }

    /// Each bank's statement for last month: run, confirmed, paid.
    async fn settle(&mut self, _month: u32) -> Result<(), Failure> {
        let period =
            self.today.checked_sub_months(chrono::Months::new(1)).unwrap_or(self.today).format("%Y-%m").to_string();
        for (id, _, _) in BANKS {
            let request = pb::RunSettlementRequest {
                request_id: self.rid("run"),
                bank: format!("banks/{id}"),
                period: period.clone(),
            };
            let statement =
                self.batch.settlement.run_settlement(request).await?.into_inner().statement.unwrap_or_default();
            let request = pb::ConfirmStatementRequest {
                request_id: self.rid("confirm"),
                name: statement.name.clone(),
                content_sha256: statement.content_sha256.clone(),
            };
            let confirmed =
                self.finance.settlement.confirm_statement(request).await?.into_inner().statement.unwrap_or_default();
            self.counts.statements += 1;
            if fen(&confirmed.amount_outstanding) > 0 {
                let request = pb::RecordStatementPaymentRequest {
                    request_id: self.rid("pay"),
                    statement: confirmed.name.clone(),
                    amount: confirmed.amount_outstanding.clone(),
                    value_date: day(self.today),
                    reference: format!("CUST-{}-{id}", self.today.format("%Y%m%d")),
                };
                self.finance.settlement.record_statement_payment(request).await?;
                if confirmed.direction() == pb::SettlementDirection::PoolPaysBank {
                    self.counts.claims_paid +=
                        confirmed.lines.iter().filter(|l| l.source.starts_with("claims/")).count() as u32;
                }
            }
        }
        Ok(())
    }

    /// The last month's statements, once it has ended.
    pub(super) async fn settle_last_month(&mut self) -> Result<(), Failure> {
        let next = self.today.checked_add_months(chrono::Months::new(1)).unwrap_or(self.today);
        let request = pb::AdvanceBusinessDateRequest { request_id: self.rid("clock"), business_date: day(next) };
        self.admin.admin.advance_business_date(request).await?;
        self.today = next;
        self.settle(0).await
    }

    /// Each bank's loan tape as of today, through `techcredit reconcile`'s own streaming:
    /// the registry's figures with, now and then, a balance off by 1,000.00 or a loan left out.
    async fn tapes(&mut self, _month: u32) -> Result<(), Failure> {
        for (bank_index, (id, _, _)) in BANKS.iter().enumerate() {
            let path = self.tape_dir.path().join(format!("{id}-{}.csv", self.today));
            let mut text = String::from("bank_loan_number,uscc,outstanding_principal,days_past_due,classification\n");
            let mut rows = 0;
            for loan in self.loans.iter().filter(|l| l.bank == bank_index && l.stage != Stage::Closed) {
                let (days, class) = match loan.stage {
                    Stage::Late(1) => (35, "SPECIAL_MENTION"),
                    Stage::Late(_) => (65, "SUBSTANDARD"),
                    Stage::Claimed(_) | Stage::Compensated { .. } => (95, "DOUBTFUL"),
                    _ => (0, "NORMAL"),
                };
                rows += 1;
                if rows == 3 && self.rng.chance(30) {
                    continue; // left out: MISSING_AT_BANK
                }
                let outstanding = if rows == 5 && self.rng.chance(30) {
                    loan.outstanding.saturating_sub(yuan(1_000))
                } else {
                    loan.outstanding
                };
                text.push_str(&format!("{},{},{},{days},{class}\n", loan.number, loan.uscc, money(outstanding)));
            }
            std::fs::write(&path, text).map_err(|e| Failure::Usage(format!("cannot write {}: {e}", path.display())))?;
            let batch = Ctx {
                clients: self.batch.clone(),
                out: Printer::new(crate::output::Format::Table, crate::output::Units::Yuan)?,
                request_id: None,
            };
            let report = path.with_extension("discrepancies.csv");
            let as_of = day(self.today);
            match crate::reconcile::stream_quietly(&batch, &format!("banks/{id}"), &as_of, &path, &report).await {
                Ok(()) | Err(Failure::Found(_)) => self.counts.tapes += 1,
                Err(other) => return Err(other),
            }
        }
        Ok(())
    }

    pub(super) fn summary(&self) -> String {
        let c = &self.counts;
        format!(
            "The demo book: {} applications ({} approved at once, {} referred to an officer, {} rejected), {} loans enrolled ({} refused by a limit), {} defaults claimed, {} recoveries, {} monthly statements confirmed and paid, {} loan tapes reconciled. The ledger verifies.",
            c.applications,
            c.approved,
            c.referred,
            c.rejected,
            c.enrolled,
            c.refused,
            c.defaults,
            c.recoveries,
            c.statements,
            c.tapes
        )
    }
}
