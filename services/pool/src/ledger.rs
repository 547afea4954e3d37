//! The pool's books: contributions, interest, reversals by hand, accounts and journal
//! entries, and the auditor's verification.

use chrono::NaiveDate;
use domain::audit::{self, Entry, Report, Stored};
use domain::ledger::{Account, AccountKind, Contributor, EntryDraft, EntryKind, ReversalError, check_reversible};
use domain::position::CoverTotals;
use domain::{Money, Role};
use proto::v1 as pb;
use rpc::auth::{principal, require_role};
use rpc::convert::{Page, Violations};
use rpc::{ApiError, AppState, idempotent};
use store::ledger::{EntryFilter, PostError};
use tonic::Request;

use crate::wire::{entry_to_wire, report_to_wire};
use crate::{BOOK_READERS, INTEREST, Pool, REVERSE};

impl Pool {
    pub(crate) fn contributor(v: &mut Violations, kind: i32, bank: &str) -> Option<Contributor> {
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

    pub(crate) async fn contribution(
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
        let memo = v.optional_text("memo", &memo, 500);
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

    pub(crate) async fn record_interest(
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
        let memo = v.optional_text("memo", &body.memo, 500);
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

    pub(crate) async fn reverse(
        &self,
        request: Request<pb::ReverseEntryRequest>,
    ) -> Result<pb::ReverseEntryResponse, ApiError> {
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
            check_reversible(&body.entry, original.kind, original.reverses, original.reversed_by)
                .map_err(|r| ApiError::refused(&r))?;
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
                    // Reversed meanwhile by a concurrent call: its unique index says so.
                    PostError::Store(store::StoreError::AlreadyExists(_)) => {
                        ApiError::refused(&ReversalError::AlreadyReversed { entry: body.entry.clone() })
                    }
                    other => ApiError::from(other),
                })?;
            tracing::info!(entry_id, reversal_id = reversal.entry_id, "entry reversed");
            pb::ReverseEntryResponse { reversal: Some(entry_to_wire(&reversal)) }
        })
    }

    pub(crate) async fn list_accounts(
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
        let totals = self
            .state
            .store
            .reading_replica(async |db| match as_of {
                Some(date) => store::ledger::totals_from_journal(db, Some(date)).await,
                None => store::ledger::stored_totals(db).await,
            })
            .await?;
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

    pub(crate) async fn list_entries(
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
        let limit = page.fetch_limit();
        let mut entries =
            self.state.store.reading_replica(async |db| store::ledger::list_entries(db, &filter, limit).await).await?;
        let next_page_token = page.finish(&mut entries, |e| e.entry_id.to_string());
        Ok(pb::ListJournalEntriesResponse { entries: entries.iter().map(entry_to_wire).collect(), next_page_token })
    }

    pub(crate) async fn verify(
        &self,
        request: Request<pb::VerifyLedgerRequest>,
    ) -> Result<pb::VerifyLedgerResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, &[Role::Auditor, Role::Admin])?;
        let report = verify_ledger(&self.state).await?;
        Ok(report_to_wire(report, store::clock::instant()))
    }
}

/// Recomputes every balance and running total from the journal and the loan registry and
/// lists every difference (`domain::audit`). Also used by the `verify-ledger` command.
pub async fn verify_ledger(state: &AppState) -> Result<Report, ApiError> {
    // One snapshot: the journal, the balances and the running totals as of one moment,
    // whatever is being written meanwhile.
    let snapshot = state.store.read_snapshot().await?;
    let connection = &snapshot;
    let records = store::ledger::all_entries(connection).await?;
    let entries: Vec<Entry<'_>> = records.iter().map(|e| Entry { id: e.entry_id, postings: &e.postings }).collect();
    let journal = store::ledger::totals_from_journal(connection, None).await?;
    let accounts = store::ledger::stored_totals(connection).await?;
    let pool = store::pool::read(connection).await?;
    let registry = store::exposure::recompute(connection).await?;
    let banks: Vec<(String, CoverTotals)> = store::banks::list(connection, None, u64::MAX >> 1)
        .await?
        .into_iter()
        .map(|bank| {
            let totals = CoverTotals {
                covered_outstanding: bank.quota_used,
                pool_exposure: bank.pool_exposure,
                npl_outstanding: bank.npl_outstanding,
                covered_loans: 0,
            };
            (bank.bank_id.to_string(), totals)
        })
        .collect();
    let enterprises = store::exposure::stored_enterprises(connection).await?;
    snapshot.finish().await?;
    let stored = Stored {
        accounts: &accounts,
        net_pool_assets: pool.net_pool_assets,
        committed_capital: pool.committed_capital,
        pool: &pool.cover,
        banks: &banks,
        enterprises: &enterprises,
    };
    Ok(audit::verify(&entries, &journal, &registry, &stored))
}
