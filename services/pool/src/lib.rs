//! `techcredit.v1.RiskPoolService`: the pool's double-entry ledger, its position, bank
//! exposures and status, stress tests and the auditor's ledger verification.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use domain::bank::npl_ratio;
use domain::ledger::{Account, AccountKind, Contributor, EntryDraft, EntryKind};
use domain::position::{CoverTotals, StressScenario, figures, stress};
use domain::terms::Grade;
use domain::{BankStatus, Money, Role};
use proto::v1::{self as pb, risk_pool_service_server::RiskPoolService};
use rpc::auth::{principal, require_bank_visible, require_role};
use rpc::convert::{Page, Violations, business_today, format_date, parse_fraction, timestamp};
use rpc::{ApiError, AppState, WireEnum, idempotent};
use rust_decimal::Decimal;
use store::banks::BankRecord;
use store::ledger::{EntryFilter, EntryRecord, PostError};
use tonic::{Request, Response, Status};

/// The service over the shared state.
#[derive(Debug, Clone)]
pub struct Pool {
    state: AppState,
}

impl Pool {
    /// A service over `state`.
    pub fn new(state: AppState) -> Pool {
        Pool { state }
    }
}

const COMMIT: &str = "/techcredit.v1.RiskPoolService/CommitContribution";
const RECEIVE: &str = "/techcredit.v1.RiskPoolService/ReceiveContribution";
const INTEREST: &str = "/techcredit.v1.RiskPoolService/RecordInterest";
const REVERSE: &str = "/techcredit.v1.RiskPoolService/ReverseEntry";
const SET_STATUS: &str = "/techcredit.v1.RiskPoolService/SetBankStatus";

/// Roles that read the books.
const BOOK_READERS: &[Role] = &[Role::RiskOfficer, Role::Finance, Role::Auditor, Role::Admin, Role::Batch];

fn optional_text(text: &str, max: usize, field: &str, v: &mut Violations) -> Option<String> {
    if text.chars().count() > max {
        v.add(field, format!("is longer than {max} characters"));
        None
    } else {
        Some(text.trim().to_owned())
    }
}

/// A journal entry on the wire.
pub fn entry_to_wire(entry: &EntryRecord) -> pb::JournalEntry {
    pb::JournalEntry {
        name: format!("journalEntries/{}", entry.entry_id),
        entry_id: entry.entry_id,
        kind: entry.kind.to_wire_i32(),
        effective_date: format_date(entry.effective_date),
        record_time: Some(timestamp(entry.recorded_at)),
        memo: entry.memo.clone(),
        postings: entry
            .postings
            .iter()
            .map(|p| pb::Posting {
                account: p.account.to_string(),
                debit: p.debit.to_string(),
                credit: p.credit.to_string(),
            })
            .collect(),
        reverses: entry.reverses.map(|id| format!("journalEntries/{id}")).unwrap_or_default(),
        reversed_by: entry.reversed_by.map(|id| format!("journalEntries/{id}")).unwrap_or_default(),
        source: entry.source.clone(),
    }
}

/// A ratio on the wire: six fraction digits ("0.055477", "12.000000"); empty when undefined.
fn ratio_text(value: Option<Decimal>) -> String {
    value.map(rpc::convert::ratio_to_wire).unwrap_or_default()
}

impl Pool {
    async fn exposure(&self, connection: &impl store::Db, bank: &BankRecord) -> Result<pb::BankExposure, ApiError> {
        use chrono::Datelike;
        let policy = &self.state.policy;
        let this_year = store::claims::compensation_in_year(connection, &bank.bank_id, business_today().year()).await?;
        let cap = policy.claims.annual_cap_per_bank;
        let (claims, recoveries) = store::claims::bank_claim_totals(connection, &bank.bank_id).await?;
        Ok(pb::BankExposure {
            bank: format!("banks/{}", bank.bank_id),
            quota: bank.quota.to_string(),
            quota_used: bank.quota_used.to_string(),
            quota_headroom: Money::from_fen(bank.quota.fen() - bank.quota_used.fen()).to_string(),
            covered_outstanding: bank.quota_used.to_string(),
            pool_exposure: bank.pool_exposure.to_string(),
            npl_ratio: ratio_text(npl_ratio(bank.quota_used, bank.npl_outstanding)),
            status: bank.status.to_wire_i32(),
            status_reason: bank.status_reason.clone(),
            compensation_this_year: this_year.to_string(),
            annual_cap: cap.to_string(),
            annual_cap_remaining: cap.saturating_sub(this_year).to_string(),
            claims_filed: claims,
            recoveries: recoveries.to_string(),
        })
    }

    fn contributor(v: &mut Violations, kind: i32, bank: &str) -> Option<Contributor> {
        let kind: pb::ContributorKind = v.enumeration("contributor", kind)?;
        match kind {
            pb::ContributorKind::CityBureau | pb::ContributorKind::DistrictBureau if !bank.is_empty() => {
                v.add("bank", "must be empty unless contributor is CONTRIBUTOR_KIND_BANK");
                None
            }
            pb::ContributorKind::CityBureau => Some(Contributor::CityBureau),
            pb::ContributorKind::DistrictBureau => Some(Contributor::DistrictBureau),
            pb::ContributorKind::Bank => v.bank_name("bank", bank).map(Contributor::Bank),
            pb::ContributorKind::Unspecified => None,
        }
    }

    async fn contribution(
        &self,
        caller: domain::Principal,
        method: &'static str,
        body: (String, i32, String, String, String, String),
        make: fn(&Contributor, Money, NaiveDate, &str) -> EntryDraft,
        request: &impl prost::Message,
    ) -> Result<pb::JournalEntry, ApiError> {
        let (request_id, contributor, bank, amount, effective_date, memo) = body;
        let mut v = Violations::new();
        let request_id = v.request_id(&request_id);
        let contributor = Pool::contributor(&mut v, contributor, &bank);
        let amount = v.money_positive("amount", &amount);
        let date = v.past_date("effective_date", &effective_date);
        let memo = optional_text(&memo, 500, "memo", &mut v);
        let (Some(request_id), Some(contributor), Some(amount), Some(date), Some(memo)) =
            (request_id, contributor, amount, date, memo)
        else {
            return Err(v.into_error());
        };
        idempotent!(self.state, &caller, method, request_id, request, |txn| {
            if let Contributor::Bank(bank_id) = &contributor
                && store::banks::get(txn, bank_id).await?.is_none()
            {
                return Err(ApiError::not_found(format!("banks/{bank_id}")));
            }
            let draft = make(&contributor, amount, date, &memo);
            let entry = store::ledger::post(txn, &draft, &caller.key_id, None).await.map_err(ApiError::from)?;
            tracing::info!(entry_id = entry.entry_id, kind = entry.kind.as_str(), %contributor, %amount, "contribution posted");
            entry_to_wire(&entry)
        })
    }

    async fn record_interest(
        &self,
        request: Request<pb::RecordInterestRequest>,
    ) -> Result<pb::RecordInterestResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, &[Role::Finance])?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let request_id = v.request_id(&body.request_id);
        let amount = v.money_positive("amount", &body.amount);
        let date = v.past_date("effective_date", &body.effective_date);
        let memo = optional_text(&body.memo, 500, "memo", &mut v);
        let (Some(request_id), Some(amount), Some(date), Some(memo)) = (request_id, amount, date, memo) else {
            return Err(v.into_error());
        };
        idempotent!(self.state, &caller, INTEREST, request_id, &body, |txn| {
            let entry = store::ledger::post(txn, &EntryDraft::interest(amount, date, &memo), &caller.key_id, None)
                .await
                .map_err(ApiError::from)?;
            pb::RecordInterestResponse { entry: Some(entry_to_wire(&entry)) }
        })
    }

    async fn reverse(&self, request: Request<pb::ReverseEntryRequest>) -> Result<pb::ReverseEntryResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, &[Role::Finance])?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let request_id = v.request_id(&body.request_id);
        let entry_id = v.name("entry", &body.entry, "journalEntries").and_then(|id| match id.parse::<i64>() {
            Ok(id) => Some(id),
            Err(_) => {
                v.add("entry", "must be a resource name like \"journalEntries/17\"");
                None
            }
        });
        let date = v.past_date("effective_date", &body.effective_date);
        let reason = v.text("reason", &body.reason, 500);
        let (Some(request_id), Some(entry_id), Some(date), Some(reason)) = (request_id, entry_id, date, reason) else {
            return Err(v.into_error());
        };
        idempotent!(self.state, &caller, REVERSE, request_id, &body, |txn| {
            store::pool::lock(txn).await?;
            let original =
                store::ledger::get_entry(txn, entry_id).await?.ok_or_else(|| ApiError::not_found(&body.entry))?;
            let refuse = |reason: &str, message: String| ApiError::precondition(reason, message);
            if original.reversed_by.is_some() {
                return Err(refuse("ENTRY_ALREADY_REVERSED", format!("{} was already reversed", body.entry)));
            }
            if original.kind == EntryKind::Reversal {
                return Err(refuse(
                    "ENTRY_IS_A_REVERSAL",
                    format!(
                        "{} is itself a reversal of {}; post the original kind of entry again instead of reversing a reversal",
                        body.entry,
                        original.reverses.map(|id| format!("journalEntries/{id}")).unwrap_or_default()
                    ),
                ));
            }
            if !matches!(
                original.kind,
                EntryKind::ContributionCommitted | EntryKind::ContributionReceived | EntryKind::Interest
            ) {
                return Err(refuse(
                    "ENTRY_NOT_REVERSIBLE",
                    format!(
                        "{} entries are corrected through their own workflow (claims, recoveries, statements), not by hand",
                        original.kind.as_str()
                    ),
                ));
            }
            if date < original.effective_date {
                return Err(ApiError::invalid(
                    "effective_date",
                    format!("is before the original entry's effective date {}", original.effective_date),
                ));
            }
            let draft = EntryDraft::reversal_of(&original.postings, date, &reason)
                .with_source(format!("journalEntries/{entry_id}"));
            let reversal =
                store::ledger::post(txn, &draft, &caller.key_id, Some(entry_id)).await.map_err(|e| match e {
                    PostError::Store(store::StoreError::AlreadyExists(_)) => {
                        refuse("ENTRY_ALREADY_REVERSED", format!("{} was already reversed", body.entry))
                    }
                    other => ApiError::from(other),
                })?;
            tracing::info!(entry_id, reversal_id = reversal.entry_id, "entry reversed");
            pb::ReverseEntryResponse { reversal: Some(entry_to_wire(&reversal)) }
        })
    }

    async fn list_accounts(
        &self,
        request: Request<pb::ListAccountsRequest>,
    ) -> Result<pb::ListAccountsResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, BOOK_READERS)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let Some(as_of) = v.optional_date("as_of", &body.as_of) else {
            return Err(v.into_error());
        };
        let connection = self.state.store.connection();
        let totals = match as_of {
            Some(date) => store::ledger::totals_from_journal(connection, Some(date)).await?,
            None => store::ledger::stored_totals(connection).await?,
        };
        let accounts = totals
            .into_iter()
            .map(|(account, (debits, credits))| pb::Account {
                code: account.to_string(),
                kind: match account.kind() {
                    AccountKind::Asset => pb::AccountKind::Asset,
                    AccountKind::Liability => pb::AccountKind::Liability,
                    AccountKind::Equity => pb::AccountKind::Equity,
                    AccountKind::Income => pb::AccountKind::Income,
                    AccountKind::Expense => pb::AccountKind::Expense,
                } as i32,
                balance: account.balance(debits, credits).to_string(),
                debit_total: debits.to_string(),
                credit_total: credits.to_string(),
            })
            .collect();
        Ok(pb::ListAccountsResponse { accounts })
    }

    async fn list_entries(
        &self,
        request: Request<pb::ListJournalEntriesRequest>,
    ) -> Result<pb::ListJournalEntriesResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, BOOK_READERS)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let page = Page::parse(&mut v, body.page_size, &body.page_token);
        let from = v.optional_date("effective_from", &body.effective_from);
        let to = v.optional_date("effective_to", &body.effective_to);
        let kind = v.optional_domain_enum::<EntryKind>("kind", body.kind);
        let account = if body.account.is_empty() {
            Some(None)
        } else if Account::parse(&body.account).is_some() {
            Some(Some(body.account.clone()))
        } else {
            v.add("account", format!("{:?} is not an account code", body.account));
            None
        };
        let (Some(page), Some(from), Some(to), Some(kind), Some(account)) = (page, from, to, kind, account) else {
            return Err(v.into_error());
        };
        let filter =
            EntryFilter { account, from, to, kind, before_id: page.after.as_deref().and_then(|a| a.parse().ok()) };
        let mut entries =
            store::ledger::list_entries(self.state.store.connection(), &filter, page.fetch_limit()).await?;
        let next_page_token = page.finish(&mut entries, |e| e.entry_id.to_string());
        Ok(pb::ListJournalEntriesResponse { entries: entries.iter().map(entry_to_wire).collect(), next_page_token })
    }

    async fn position(
        &self,
        request: Request<pb::GetPoolPositionRequest>,
    ) -> Result<pb::GetPoolPositionResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, BOOK_READERS)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let as_of = if body.as_of.is_empty() { Some(None) } else { v.past_date("as_of", &body.as_of).map(Some) };
        let Some(as_of) = as_of else {
            return Err(v.into_error());
        };
        let connection = self.state.store.connection();
        let policy = &self.state.policy;
        let today = business_today();
        let (balances, totals, date) = match as_of {
            Some(date) if date < today => (
                store::ledger::balances_as_of(connection, date).await?,
                store::exposure::as_of(connection, date).await?,
                date,
            ),
            _ => (store::ledger::balances(connection).await?, store::pool::read(connection).await?.cover, today),
        };
        let pool = store::pool::read(connection).await?;
        let f = figures(policy, &balances, &totals);
        let received = balances
            .0
            .iter()
            .filter(|(account, _)| account.family() == "fund_capital")
            .map(|(_, capital)| *capital)
            .sum::<Money>()
            .checked_sub(
                balances.0.iter().filter(|(a, _)| a.family() == "contributions_receivable").map(|(_, b)| *b).sum(),
            )
            .unwrap_or(Money::ZERO);
        let (suspended, suspension_reason) = if pool.suspended {
            (true, pool.suspension_reason.clone())
        } else if f.below_suspension_floor {
            (
                true,
                format!(
                    "net pool assets {} are below {} of committed capital",
                    f.net_pool_assets, policy.pool.suspension_net_assets_ratio
                ),
            )
        } else {
            (false, String::new())
        };
        Ok(pb::GetPoolPositionResponse {
            position: Some(pb::PoolPosition {
                as_of: format_date(date),
                committed_capital: balances.committed_capital().to_string(),
                received_capital: received.to_string(),
                escrow_cash: balances.escrow_cash().to_string(),
                receivables: balances.receivables().to_string(),
                payables: balances.payables().to_string(),
                net_pool_assets: f.net_pool_assets.to_string(),
                covered_outstanding: totals.covered_outstanding.to_string(),
                pool_exposure: totals.pool_exposure.to_string(),
                leverage: ratio_text(f.leverage),
                coverage_ratio: ratio_text(f.coverage_ratio),
                headroom: f.headroom.to_string(),
                npl_ratio: ratio_text(f.npl_ratio),
                claims_filed: pool.claims_filed,
                compensation_approved: pool.compensation_approved.to_string(),
                compensation_paid: pool.compensation_paid.to_string(),
                shortfall: pool.shortfall.to_string(),
                recoveries: pool.recoveries.to_string(),
                pool_size_target: policy.pool.size_target.to_string(),
                pool_size_progress: ratio_text(f.pool_size_progress),
                covered_balance_target: policy.pool.covered_balance_target.to_string(),
                covered_balance_progress: ratio_text(f.covered_balance_progress),
                suspended,
                suspension_reason,
                policy_version: policy.version.clone(),
            }),
        })
    }

    async fn bank_exposure(
        &self,
        request: Request<pb::GetBankExposureRequest>,
    ) -> Result<pb::GetBankExposureResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, &[BOOK_READERS, &[Role::Bank]].concat())?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let Some(bank_id) = v.bank_name("bank", &body.bank) else {
            return Err(v.into_error());
        };
        require_bank_visible(&caller, &bank_id, &body.bank)?;
        let bank = store::banks::get(self.state.store.connection(), &bank_id)
            .await?
            .ok_or_else(|| ApiError::not_found(&body.bank))?;
        Ok(pb::GetBankExposureResponse { exposure: Some(self.exposure(self.state.store.connection(), &bank).await?) })
    }

    async fn bank_exposures(
        &self,
        request: Request<pb::ListBankExposuresRequest>,
    ) -> Result<pb::ListBankExposuresResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, BOOK_READERS)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let Some(page) = Page::parse(&mut v, body.page_size, &body.page_token) else {
            return Err(v.into_error());
        };
        let mut banks =
            store::banks::list(self.state.store.connection(), page.after.as_deref(), page.fetch_limit()).await?;
        let next_page_token = page.finish(&mut banks, |b| b.bank_id.to_string());
        let mut exposures = Vec::with_capacity(banks.len());
        for bank in &banks {
            exposures.push(self.exposure(self.state.store.connection(), bank).await?);
        }
        Ok(pb::ListBankExposuresResponse { exposures, next_page_token })
    }

    async fn set_bank_status(
        &self,
        request: Request<pb::SetBankStatusRequest>,
    ) -> Result<pb::SetBankStatusResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, &[Role::RiskOfficer])?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let request_id = v.request_id(&body.request_id);
        let bank_id = v.bank_name("bank", &body.bank);
        let status = match pb::BankStatus::try_from(body.status) {
            Ok(pb::BankStatus::Suspended) => Some(BankStatus::Suspended),
            Ok(pb::BankStatus::Active) => Some(BankStatus::Active),
            _ => {
                v.add("status", "must be BANK_STATUS_SUSPENDED or BANK_STATUS_ACTIVE");
                None
            }
        };
        let reason = v.text("reason", &body.reason, 500);
        let (Some(request_id), Some(bank_id), Some(status), Some(reason)) = (request_id, bank_id, status, reason)
        else {
            return Err(v.into_error());
        };
        let policy = self.state.policy.clone();
        idempotent!(self.state, &caller, SET_STATUS, request_id, &body, |txn| {
            let bank =
                store::banks::get_for_update(txn, &bank_id).await?.ok_or_else(|| ApiError::not_found(&body.bank))?;
            match status {
                // Suspending by hand holds until a risk officer resumes the bank.
                BankStatus::Suspended => store::banks::set_status(txn, &bank_id, status, &reason, true).await?,
                // Resuming hands the status back to the NPL rules, which may still say WATCH or SUSPENDED.
                _ => {
                    let automatic = domain::bank::automatic_status(&policy, bank.quota_used, bank.npl_outstanding);
                    let why = if automatic == BankStatus::Active {
                        String::new()
                    } else {
                        format!("{reason}; the NPL ratio still calls for {automatic}")
                    };
                    store::banks::set_status(txn, &bank_id, automatic, &why, false).await?;
                }
            }
            tracing::warn!(bank_id = %bank_id, status = %status, by = %caller.key_id, "bank status set by hand");
            let bank = store::banks::get(txn, &bank_id).await?.ok_or_else(|| ApiError::not_found(&body.bank))?;
            pb::SetBankStatusResponse { exposure: Some(self.exposure(txn, &bank).await?) }
        })
    }

    async fn run_stress_test(
        &self,
        request: Request<pb::RunStressTestRequest>,
    ) -> Result<pb::RunStressTestResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, BOOK_READERS)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let default_rate = if body.default_rate.is_empty() && !body.per_grade.is_empty() {
            Some(Decimal::ZERO)
        } else {
            v.check("default_rate", parse_fraction(&body.default_rate))
        };
        let loss_rate = match body.loss_rate.as_str() {
            "1" | "1.0" | "1.00" => Some(Decimal::ONE),
            text => v.check("loss_rate", parse_fraction(text)),
        };
        let mut per_grade = BTreeMap::new();
        for (index, item) in body.per_grade.iter().enumerate() {
            let grade: Option<Grade> = v.domain_enum(&format!("per_grade[{index}].grade"), item.grade);
            let rate = v.check(&format!("per_grade[{index}].default_rate"), parse_fraction(&item.default_rate));
            if let (Some(grade), Some(rate)) = (grade, rate) {
                per_grade.insert(grade, rate);
            }
        }
        let (Some(default_rate), Some(loss_rate)) = (default_rate, loss_rate) else {
            return Err(v.into_error());
        };
        v.finish()?;
        let connection = self.state.store.connection();
        let balances = store::ledger::balances(connection).await?;
        let book = store::exposure::by_grade(connection).await?;
        let result = stress(balances.net_pool_assets(), &book, &StressScenario { default_rate, per_grade, loss_rate });
        Ok(pb::RunStressTestResponse {
            expected_loss: result.expected_loss.to_string(),
            net_pool_assets_before: result.net_before.to_string(),
            net_pool_assets_after: result.net_after.to_string(),
            survives: result.survives,
            exhaustion_default_rate: ratio_text(result.exhaustion_default_rate),
            leverage_after: ratio_text(result.leverage_after),
        })
    }

    async fn verify(&self, request: Request<pb::VerifyLedgerRequest>) -> Result<pb::VerifyLedgerResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, &[Role::Auditor, Role::Admin])?;
        let report = verify_ledger(&self.state).await?;
        Ok(report)
    }
}

/// Recomputes every balance and running total from the journal and the loan registry and
/// lists every difference. Also used by the `verify-ledger` command.
pub async fn verify_ledger(state: &AppState) -> Result<pb::VerifyLedgerResponse, ApiError> {
    let connection = state.store.connection();
    let mut differences = Vec::new();
    let mut differ = |subject: String, expected: String, actual: String| {
        differences.push(pb::LedgerDifference { subject, expected, actual });
    };
    let entries = store::ledger::all_entries(connection).await?;
    let (mut all_debits, mut all_credits) = (0i64, 0i64);
    for entry in &entries {
        let debits: i64 = entry.postings.iter().map(|p| p.debit.fen()).sum();
        let credits: i64 = entry.postings.iter().map(|p| p.credit.fen()).sum();
        if debits != credits || entry.postings.len() < 2 {
            differ(
                format!("entry {} balance", entry.entry_id),
                "debits = credits over 2+ postings".to_owned(),
                format!(
                    "debits {} credits {} in {} postings",
                    Money::from_fen(debits),
                    Money::from_fen(credits),
                    entry.postings.len()
                ),
            );
        }
        all_debits += debits;
        all_credits += credits;
    }
    if all_debits != all_credits {
        differ(
            "journal Σ debits = Σ credits".to_owned(),
            Money::from_fen(all_debits).to_string(),
            Money::from_fen(all_credits).to_string(),
        );
    }
    let journal = store::ledger::totals_from_journal(connection, None).await?;
    let stored = store::ledger::stored_totals(connection).await?;
    let mut accounts: Vec<&Account> = journal.keys().chain(stored.keys()).collect();
    accounts.sort();
    accounts.dedup();
    for account in &accounts {
        let expected = journal.get(*account).copied().unwrap_or_default();
        let actual = stored.get(*account).copied().unwrap_or_default();
        if expected != actual {
            differ(
                format!("account {account} debit/credit totals"),
                format!("{} / {}", expected.0, expected.1),
                format!("{} / {}", actual.0, actual.1),
            );
        }
        let balance = account.balance(expected.0, expected.1);
        if account.is_guarded() && balance.is_negative() {
            differ(format!("account {account} balance"), "≥ 0.00".to_owned(), balance.to_string());
        }
    }
    let from_journal = domain::ledger::Balances(
        journal
            .iter()
            .map(|(account, (debits, credits))| (account.clone(), account.balance(*debits, *credits)))
            .collect(),
    );
    let pool = store::pool::read(connection).await?;
    {
        for (name, expected, actual) in [
            ("net_pool_assets", from_journal.net_pool_assets(), pool.net_pool_assets),
            ("committed_capital", from_journal.committed_capital(), pool.committed_capital),
        ] {
            if expected != actual {
                differ(format!("pool total {name}"), expected.to_string(), actual.to_string());
            }
        }
    }
    let recomputed = store::exposure::recompute(connection).await?;
    let current = pool.cover;
    let mut compare_totals = |subject: &str, expected: &CoverTotals, actual: &CoverTotals| {
        for (name, e, a) in [
            ("covered_outstanding", expected.covered_outstanding, actual.covered_outstanding),
            ("pool_exposure", expected.pool_exposure, actual.pool_exposure),
            ("npl_outstanding", expected.npl_outstanding, actual.npl_outstanding),
        ] {
            if e != a {
                differ(format!("{subject} {name}"), e.to_string(), a.to_string());
            }
        }
    };
    compare_totals("pool total", &recomputed.pool, &current);
    if recomputed.pool.covered_loans != current.covered_loans {
        differences.push(pb::LedgerDifference {
            subject: "pool total covered_loans".to_owned(),
            expected: recomputed.pool.covered_loans.to_string(),
            actual: current.covered_loans.to_string(),
        });
    }
    let banks = store::banks::list(connection, None, u64::MAX >> 1).await?;
    for bank in &banks {
        let expected = recomputed.banks.get(bank.bank_id.as_str()).copied().unwrap_or_default();
        let actual = CoverTotals {
            covered_outstanding: bank.quota_used,
            pool_exposure: bank.pool_exposure,
            npl_outstanding: bank.npl_outstanding,
            covered_loans: expected.covered_loans,
        };
        for (name, e, a) in [
            ("covered_outstanding", expected.covered_outstanding, actual.covered_outstanding),
            ("pool_exposure", expected.pool_exposure, actual.pool_exposure),
            ("npl_outstanding", expected.npl_outstanding, actual.npl_outstanding),
        ] {
            if e != a {
                differences.push(pb::LedgerDifference {
                    subject: format!("bank {} {name}", bank.bank_id),
                    expected: e.to_string(),
                    actual: a.to_string(),
                });
            }
        }
    }
    let stored_enterprises = store::exposure::stored_enterprises(connection).await?;
    for (uscc, actual) in &stored_enterprises {
        let expected = recomputed.enterprises.get(uscc).copied().unwrap_or_default();
        if expected != *actual {
            differences.push(pb::LedgerDifference {
                subject: format!("enterprise {uscc} covered_outstanding"),
                expected: expected.to_string(),
                actual: actual.to_string(),
            });
        }
    }
    for (uscc, expected) in &recomputed.enterprises {
        if !stored_enterprises.contains_key(uscc) && !expected.is_zero() {
            differences.push(pb::LedgerDifference {
                subject: format!("enterprise {uscc} covered_outstanding"),
                expected: expected.to_string(),
                actual: "missing".to_owned(),
            });
        }
    }
    Ok(pb::VerifyLedgerResponse {
        ok: differences.is_empty(),
        entries_checked: i64::try_from(entries.len()).unwrap_or(i64::MAX),
        accounts_checked: i64::try_from(accounts.len()).unwrap_or(i64::MAX),
        differences,
        check_time: Some(timestamp(chrono::Utc::now())),
    })
}

#[tonic::async_trait]
impl RiskPoolService for Pool {
    async fn commit_contribution(
        &self,
        request: Request<pb::CommitContributionRequest>,
    ) -> Result<Response<pb::CommitContributionResponse>, Status> {
        let caller = principal(&request)?;
        require_role(&caller, &[Role::Finance])?;
        let b = request.into_inner();
        let fields = (
            b.request_id.clone(),
            b.contributor,
            b.bank.clone(),
            b.amount.clone(),
            b.effective_date.clone(),
            b.memo.clone(),
        );
        let entry = self.contribution(caller, COMMIT, fields, EntryDraft::contribution_committed, &b).await?;
        Ok(Response::new(pb::CommitContributionResponse { entry: Some(entry) }))
    }

    async fn receive_contribution(
        &self,
        request: Request<pb::ReceiveContributionRequest>,
    ) -> Result<Response<pb::ReceiveContributionResponse>, Status> {
        let caller = principal(&request)?;
        require_role(&caller, &[Role::Finance])?;
        let b = request.into_inner();
        let fields = (
            b.request_id.clone(),
            b.contributor,
            b.bank.clone(),
            b.amount.clone(),
            b.effective_date.clone(),
            b.memo.clone(),
        );
        let entry = self.contribution(caller, RECEIVE, fields, EntryDraft::contribution_received, &b).await?;
        Ok(Response::new(pb::ReceiveContributionResponse { entry: Some(entry) }))
    }

    async fn record_interest(
        &self,
        request: Request<pb::RecordInterestRequest>,
    ) -> Result<Response<pb::RecordInterestResponse>, Status> {
        Ok(Response::new(Pool::record_interest(self, request).await?))
    }

    async fn reverse_entry(
        &self,
        request: Request<pb::ReverseEntryRequest>,
    ) -> Result<Response<pb::ReverseEntryResponse>, Status> {
        Ok(Response::new(self.reverse(request).await?))
    }

    async fn list_accounts(
        &self,
        request: Request<pb::ListAccountsRequest>,
    ) -> Result<Response<pb::ListAccountsResponse>, Status> {
        Ok(Response::new(Pool::list_accounts(self, request).await?))
    }

    async fn list_journal_entries(
        &self,
        request: Request<pb::ListJournalEntriesRequest>,
    ) -> Result<Response<pb::ListJournalEntriesResponse>, Status> {
        Ok(Response::new(self.list_entries(request).await?))
    }

    async fn get_pool_position(
        &self,
        request: Request<pb::GetPoolPositionRequest>,
    ) -> Result<Response<pb::GetPoolPositionResponse>, Status> {
        Ok(Response::new(self.position(request).await?))
    }

    async fn get_bank_exposure(
        &self,
        request: Request<pb::GetBankExposureRequest>,
    ) -> Result<Response<pb::GetBankExposureResponse>, Status> {
        Ok(Response::new(self.bank_exposure(request).await?))
    }

    async fn list_bank_exposures(
        &self,
        request: Request<pb::ListBankExposuresRequest>,
    ) -> Result<Response<pb::ListBankExposuresResponse>, Status> {
        Ok(Response::new(self.bank_exposures(request).await?))
    }

    async fn set_bank_status(
        &self,
        request: Request<pb::SetBankStatusRequest>,
    ) -> Result<Response<pb::SetBankStatusResponse>, Status> {
        Ok(Response::new(Pool::set_bank_status(self, request).await?))
    }

    async fn run_stress_test(
        &self,
        request: Request<pb::RunStressTestRequest>,
    ) -> Result<Response<pb::RunStressTestResponse>, Status> {
        Ok(Response::new(Pool::run_stress_test(self, request).await?))
    }

    async fn verify_ledger(
        &self,
        request: Request<pb::VerifyLedgerRequest>,
    ) -> Result<Response<pb::VerifyLedgerResponse>, Status> {
        Ok(Response::new(self.verify(request).await?))
    }
}
