//! Monthly statements: run (build or rebuild the draft), confirm (agree the amounts and post
//! the netting), read. Which lines a statement has and how they net is `domain::statement`.

use chrono::NaiveDate;
use domain::claims;
use domain::ledger::{Account, Contributor, EntryDraft};
use domain::statement::{self as st, Line, LineKind, Period};
use domain::{BankId, Money, Principal, Role};
use proto::v1 as pb;
use rpc::auth::{bank_scope, principal, require_bank_visible, require_role};
use rpc::convert::{Page, Violations, business_today};
use rpc::{ApiError, idempotent};
use sha2::{Digest, Sha256};
use store::Db;
use store::claims::ClaimChange;
use store::statements::StatementRecord;
use tonic::Request;

use crate::wire::{StatementExtras, payment_to_wire, statement_to_wire};
use crate::{CONFIRM, READERS, RUN, Settlement};

pub(crate) async fn entries_of(connection: &impl Db, source: &str) -> Result<Vec<String>, ApiError> {
    let ids = store::ledger::entry_ids_by_source(connection, source).await?;
    Ok(ids.into_iter().map(|id| format!("journalEntries/{id}")).collect())
}

pub(crate) async fn statement_extras(connection: &impl Db, statement_id: i64) -> Result<StatementExtras, ApiError> {
    let entries = entries_of(connection, &format!("statements/{statement_id}")).await?;
    let mut payments = Vec::new();
    for payment in store::statements::payments(connection, statement_id).await? {
        let entries = entries_of(connection, &format!("statementPayments/{}", payment.payment_id)).await?;
        payments.push(payment_to_wire(&payment, entries));
    }
    Ok(StatementExtras { entries, payments })
}

impl Settlement {
    pub(crate) async fn run_settlement(
        &self,
        request: Request<pb::RunSettlementRequest>,
    ) -> Result<pb::RunSettlementResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, &[Role::Batch, Role::Finance])?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let request_id = v.request_id(&body.request_id);
        let bank = v.bank_name("bank", &body.bank);
        let period = match Period::parse(&body.period) {
            // The current month gives a month-to-date preview; confirm it once the month ends.
            Some(period) if period <= Period::of(business_today()) => Some(period),
            Some(_) => {
                v.add("period", "must not be a future month");
                None
            }
            None => {
                v.add("period", "must be a month like \"2025-06\"");
                None
            }
        };
        let (Some(request_id), Some(bank), Some(period)) = (request_id, bank, period) else {
            return Err(v.into_error());
        };
        idempotent!(self.state, &caller, RUN, request_id, &body, |txn| {
            // The bank's row serialises runs and confirmations of its statements, so runs at
            // once (from any process) build one statement and each answer with it.
            if store::banks::get_for_update(txn, &bank).await?.is_none() {
                return Err(ApiError::not_found(&body.bank));
            }
            let existing = store::statements::find_for_update(txn, &bank, period).await?;
            let record = match existing {
                Some(record) if record.status.is_confirmed() => record,
                existing => {
                    let items = BankItems::load(txn, &bank).await?;
                    let content = build_statement(txn, &items, period).await?;
                    let sha = hex::encode(Sha256::digest(content.to_csv().as_bytes()));
                    match existing {
                        // Unchanged: the draft stands as it was built (its hash is of its content).
                        Some(record) if record.statement == content => record,
                        existing => {
                            store::statements::save_draft(txn, existing.map(|r| r.statement_id), &content, &sha).await?
                        }
                    }
                }
            };
            let extras = statement_extras(txn, record.statement_id).await?;
            pb::RunSettlementResponse { statement: Some(statement_to_wire(&record, extras)) }
        })
    }

    pub(crate) async fn confirm(
        &self,
        request: Request<pb::ConfirmStatementRequest>,
    ) -> Result<pb::ConfirmStatementResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, &[Role::Finance])?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let request_id = v.request_id(&body.request_id);
        let statement_id = v.numeric_name("name", &body.name, "statements");
        let sha = v.text("content_sha256", &body.content_sha256, 64);
        let (Some(request_id), Some(statement_id), Some(sha)) = (request_id, statement_id, sha) else {
            return Err(v.into_error());
        };
        idempotent!(self.state, &caller, CONFIRM, request_id, &body, |txn| {
            let record = lock_statement(txn, statement_id, &body.name).await?;
            let today = business_today();
            let bank = record.statement.bank.clone();
            // A later month's lookup only matters for a draft whose month is over.
            let later_confirmed = if record.status.is_confirmed() {
                None
            } else {
                store::statements::later_confirmed(txn, &bank, record.statement.period).await?
            };
            let draft = st::Confirmation {
                statement: &body.name,
                status: record.status,
                period: record.statement.period,
                content_sha256: &record.content_sha256,
                reviewed_sha256: &sha,
                later_confirmed,
                bank: &bank,
            };
            st::check_confirmable(&draft, today).map_err(|r| ApiError::refused(&r))?;
            let items = BankItems::load(txn, &bank).await?;
            let current = build_statement(txn, &items, record.statement.period).await?;
            st::check_unchanged(&body.name, &record.statement, &current).map_err(|r| ApiError::refused(&r))?;
            let open = open_items(txn, &items).await?;
            st::check_items_open(&record.statement, |line| open.of(line)).map_err(|r| ApiError::refused(&r))?;
            let netting = st::net(&record.statement);
            post_netting(txn, &record, &netting, today, &caller.key_id).await?;
            let record = store::statements::confirm(txn, statement_id, netting.amount_due).await?;
            let carried = store::statements::carry_forward(txn, &bank, record.statement.period, statement_id).await?;
            let extras = statement_extras(txn, statement_id).await?;
            tracing::info!(
                statement_id,
                netted = %netting.netted,
                amount_due = %netting.amount_due,
                direction = record.statement.direction.as_str(),
                carried_forward = ?carried,
                "statement confirmed"
            );
            pb::ConfirmStatementResponse { statement: Some(statement_to_wire(&record, extras)) }
        })
    }

    pub(crate) async fn read_statement(
        &self,
        request: Request<pb::GetStatementRequest>,
    ) -> Result<pb::GetStatementResponse, ApiError> {
        let caller = principal(&request)?;
        let record = self.get_statement(&caller, &request.get_ref().name).await?;
        let extras = self.state.store.reading(async |db| statement_extras(db, record.statement_id).await).await?;
        Ok(pb::GetStatementResponse { statement: Some(statement_to_wire(&record, extras)) })
    }

    /// A statement the caller may read.
    pub(crate) async fn get_statement(&self, caller: &Principal, name: &str) -> Result<StatementRecord, ApiError> {
        require_role(caller, READERS)?;
        let mut v = Violations::new();
        let Some(statement_id) = v.numeric_name("name", name, "statements") else {
            return Err(v.into_error());
        };
        let record = self
            .state
            .store
            .reading(async |db| store::statements::get(db, statement_id).await)
            .await?
            .ok_or_else(|| ApiError::not_found(name))?;
        require_bank_visible(caller, &record.statement.bank, name)?;
        Ok(record)
    }

    pub(crate) async fn list_statements(
        &self,
        request: Request<pb::ListStatementsRequest>,
    ) -> Result<pb::ListStatementsResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, READERS)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let page = Page::parse(&mut v, body.page_size, &body.page_token);
        let bank = v.optional_bank_name("bank", &body.bank);
        let period = if body.period.is_empty() {
            Some(None)
        } else {
            match Period::parse(&body.period) {
                Some(p) => Some(Some(p)),
                None => {
                    v.add("period", "must be a month like \"2025-06\"");
                    None
                }
            }
        };
        let (Some(page), Some(bank), Some(period)) = (page, bank, period) else {
            return Err(v.into_error());
        };
        let bank = bank_scope(&caller, bank, &body.bank)?;
        let connection = self.state.store.read_replica().await?;
        let mut records = store::statements::list(
            &connection,
            bank.as_ref(),
            period,
            page.after.as_deref().and_then(|a| a.parse().ok()),
            page.fetch_limit(),
        )
        .await?;
        let next_page_token = page.finish(&mut records, |r| r.statement_id.to_string());
        let mut statements = Vec::with_capacity(records.len());
        for record in &records {
            statements.push(statement_to_wire(record, statement_extras(&connection, record.statement_id).await?));
        }
        connection.finish().await?;
        Ok(pb::ListStatementsResponse { statements, next_page_token })
    }
}

/// Locks a statement for a change, after its bank's row (lock order: bank, statement, then
/// the pool when posting), so that runs, confirmations and payments of one bank's
/// statements take turns.
pub(crate) async fn lock_statement(
    connection: &impl Db,
    statement_id: i64,
    name: &str,
) -> Result<StatementRecord, ApiError> {
    let Some(found) = store::statements::get(connection, statement_id).await? else {
        return Err(ApiError::not_found(name));
    };
    store::banks::get_for_update(connection, &found.statement.bank).await?;
    store::statements::get_for_update(connection, statement_id).await?.ok_or_else(|| ApiError::not_found(name))
}

/// The items a bank's statements are made of: its approved claims and its recoveries.
struct BankItems {
    bank: BankId,
    claims: Vec<store::claims::ClaimRecord>,
    recoveries: Vec<store::claims::RecoveryRecord>,
    clawbacks: Vec<store::exclusions::ClawbackRecord>,
}

impl BankItems {
    async fn load(connection: &impl Db, bank: &BankId) -> Result<BankItems, ApiError> {
        let every_date = NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or_default();
        Ok(BankItems {
            bank: bank.clone(),
            claims: store::claims::approved_for_bank(connection, bank).await?,
            recoveries: store::claims::recoveries_until(connection, bank, every_date).await?,
            clawbacks: store::exclusions::clawbacks_for_bank(connection, bank).await?,
        })
    }
}

/// What is open now of each item of a bank: its amount less what has been settled of it.
struct OpenItems {
    /// Compensation of each approved claim, by source.
    claims: std::collections::HashMap<String, Money>,
    /// The pool's share of each recovery, by source.
    recoveries: std::collections::HashMap<String, Money>,
    /// Each clawback, by source.
    clawbacks: std::collections::HashMap<String, Money>,
    /// Settled so far, by source.
    settled: std::collections::HashMap<String, Money>,
    /// The bank's contributions receivable now.
    contributions: Money,
}

impl OpenItems {
    /// What is open now of the item a line points to.
    fn of(&self, line: &Line) -> Money {
        let settled = self.settled.get(&line.source).copied().unwrap_or_default();
        match line.kind {
            LineKind::Compensation | LineKind::ShortfallCarried => {
                self.claims.get(&line.source).copied().unwrap_or_default().saturating_sub(settled)
            }
            LineKind::Recovery => {
                self.recoveries.get(&line.source).copied().unwrap_or_default().saturating_sub(settled)
            }
            LineKind::Clawback => self.clawbacks.get(&line.source).copied().unwrap_or_default().saturating_sub(settled),
            LineKind::ContributionDue => self.contributions,
        }
    }
}

fn contributions_receivable(bank: &BankId) -> Account {
    Account::contributions_receivable(&Contributor::Bank(bank.clone()))
}

async fn open_items(connection: &impl Db, items: &BankItems) -> Result<OpenItems, ApiError> {
    let claims =
        items.claims.iter().map(|c| (format!("claims/{}", c.claim_id), c.compensation.unwrap_or_default())).collect();
    let recoveries =
        items.recoveries.iter().map(|r| (format!("recoveries/{}", r.recovery_id), r.pool_share_amount)).collect();
    let clawbacks = items.clawbacks.iter().map(|c| (format!("clawbacks/{}", c.clawback_id), c.amount)).collect();
    let receivable = contributions_receivable(&items.bank);
    let contributions = store::ledger::balances(connection).await?.0.get(&receivable).copied().unwrap_or_default();
    let settled = store::statements::settled(connection, &items.bank, None, None).await?;
    Ok(OpenItems { claims, recoveries, clawbacks, settled, contributions })
}

/// Builds the statement of a bank for `period`: every line is as of the period's last day
/// (compensation approved by then, recoveries dated by then, the contributions receivable
/// then, each less what netting and payments had settled by then), so a month run again gives
/// the same statement whenever it is run.
async fn build_statement(connection: &impl Db, items: &BankItems, period: Period) -> Result<st::Statement, ApiError> {
    let bank = &items.bank;
    let end = period.last_day();
    let settled = store::statements::settled(connection, bank, Some(end), None).await?;
    let carried = store::statements::confirmed_sources_before(connection, bank, period).await?;
    let receivable = contributions_receivable(bank);
    let due = store::ledger::balances_as_of(connection, end).await?.0.get(&receivable).copied().unwrap_or_default();
    let claims: Vec<st::ClaimItem> = items
        .claims
        .iter()
        .map(|c| st::ClaimItem {
            claim_id: c.claim_id,
            loan_id: c.loan_id,
            approved_on: c.approvals.iter().map(|a| a.approval_date).max(),
            compensation: c.compensation.unwrap_or_default(),
            pool_share: c.pool_share,
            principal_loss: c.principal_loss,
            parts: c.parts.clone(),
        })
        .collect();
    let recoveries: Vec<st::RecoveryItem> = items
        .recoveries
        .iter()
        .map(|r| st::RecoveryItem {
            recovery_id: r.recovery_id,
            loan_id: r.loan_id,
            date: r.recovery_date,
            amount: r.amount,
            pool_share_amount: r.pool_share_amount,
        })
        .collect();
    let clawbacks: Vec<st::ClawbackItem> = items
        .clawbacks
        .iter()
        .map(|c| st::ClawbackItem { clawback_id: c.clawback_id, loan_id: c.loan_id, date: c.date, amount: c.amount })
        .collect();
    let receivable = receivable.to_string();
    let books = st::Items {
        claims: &claims,
        recoveries: &recoveries,
        clawbacks: &clawbacks,
        contributions_due: (&receivable, due),
    };
    let lines = st::lines(
        period,
        &books,
        |source| settled.get(source).copied().unwrap_or_default(),
        |source| carried.contains(source),
    );
    let mut statement = st::build(bank.clone(), period, lines);
    statement.memos = st::memos(&statement, &claims);
    Ok(statement)
}

/// Posts a confirmation's netting (payable against the bank's recoveries, then contributions
/// receivable) and records what it settled of each item and claim.
async fn post_netting(
    connection: &impl Db,
    record: &StatementRecord,
    netting: &st::Netting,
    today: NaiveDate,
    by: &str,
) -> Result<(), ApiError> {
    let s = &record.statement;
    let source = format!("statements/{}", record.statement_id);
    let memo = format!("settlement {} {}", s.bank, s.period);
    let sum =
        |kind: LineKind| -> Money { netting.allocations.iter().filter(|a| a.kind == kind).map(|a| a.amount).sum() };
    let (recoveries, contributions) = (sum(LineKind::Recovery), sum(LineKind::ContributionDue));
    let clawbacks = sum(LineKind::Clawback);
    for draft in [
        (recoveries.fen() > 0).then(|| EntryDraft::settlement_netting(&s.bank, recoveries, today, &memo)),
        (clawbacks.fen() > 0).then(|| EntryDraft::clawback_netting(&s.bank, clawbacks, today, &memo)),
        (contributions.fen() > 0).then(|| EntryDraft::contribution_netting(&s.bank, contributions, today, &memo)),
    ]
    .into_iter()
    .flatten()
    {
        store::ledger::post(connection, &draft.with_source(source.clone()), by, None).await.map_err(ApiError::from)?;
    }
    for allocation in &netting.allocations {
        store::statements::allocate(
            connection,
            record.statement_id,
            None,
            &s.bank,
            &allocation.source,
            allocation.amount,
            today,
        )
        .await?;
    }
    // Every claim on the statement is now agreed: what netting left of it is owed and unpaid.
    let netted: std::collections::HashMap<&str, Money> =
        netting.allocations.iter().map(|a| (a.source.as_str(), a.amount)).collect();
    let mut paid_change = 0i64;
    let mut shortfall_change = 0i64;
    for line in s.lines.iter().filter(|l| l.kind.owed_to_bank()) {
        let share = netted.get(line.source.as_str()).copied().unwrap_or_default();
        let (paid, shortfall) = settle_claim(connection, &line.source, share).await?;
        paid_change += paid;
        shortfall_change += shortfall;
    }
    store::exposure::add_pool_counters(connection, 0, 0, paid_change, shortfall_change, 0).await?;
    Ok(())
}

/// Adds `share` to a claim's settled amount; its shortfall becomes what stays unpaid. Returns
/// the changes of the pool's paid and shortfall counters, in fen.
pub(crate) async fn settle_claim(connection: &impl Db, source: &str, share: Money) -> Result<(i64, i64), ApiError> {
    let Some(claim_id) = source.strip_prefix("claims/").and_then(|id| id.parse::<i64>().ok()) else {
        return Ok((0, 0));
    };
    let Some(claim) = store::claims::get_for_update(connection, claim_id).await? else {
        return Err(ApiError::Internal(format!("{source} of a statement is missing")));
    };
    let settled = claims::settle(claim.compensation.unwrap_or_default(), claim.paid, share);
    let change = ClaimChange {
        paid: Some(settled.paid),
        shortfall: Some(settled.shortfall),
        status: settled.status,
        ..Default::default()
    };
    store::claims::update(connection, claim_id, change).await?;
    Ok((share.fen(), settled.shortfall.fen() - claim.shortfall.fen()))
}
