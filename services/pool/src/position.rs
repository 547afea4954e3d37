//! The pool's position (as of any past day) and the stress test.

use std::collections::BTreeMap;

use chrono::Datelike;
use domain::Money;
use domain::position::{StressScenario, figures, stress};
use domain::terms::Grade;
use proto::v1 as pb;
use rpc::ApiError;
use rpc::auth::{principal, require_role};
use rpc::convert::{Violations, business_today, format_date, parse_fraction};
use rust_decimal::Decimal;
use tonic::Request;

use crate::wire::ratio_text;
use crate::{BOOK_READERS, Pool};

impl Pool {
    pub(crate) async fn position(
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
        // One snapshot: the totals row and the ledger's balances of one moment (a payment
        // changes both in one transaction).
        let reader = self.state.store.read_replica_snapshot().await?;
        let connection = &reader;
        let policy = &self.state.policy;
        let today = business_today();
        let pool = store::pool::read(connection).await?;
        let live = store::claims::ClaimCounters {
            claims_filed: pool.claims_filed,
            compensation_approved: pool.compensation_approved,
            compensation_paid: pool.compensation_paid,
            shortfall: pool.shortfall,
            recoveries: pool.recoveries,
        };
        let (balances, totals, claims, date) = match as_of {
            Some(date) if date < today => (
                store::ledger::balances_as_of(connection, date).await?,
                store::exposure::as_of(connection, date).await?,
                store::claims::counters_as_of(connection, date).await?,
                date,
            ),
            _ => (store::ledger::balances(connection).await?, pool.cover, live, today),
        };
        reader.finish().await?;
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
                claims_filed: claims.claims_filed,
                compensation_approved: claims.compensation_approved.to_string(),
                compensation_paid: claims.compensation_paid.to_string(),
                shortfall: claims.shortfall.to_string(),
                recoveries: claims.recoveries.to_string(),
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

    pub(crate) async fn run_stress_test(
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
        let reader = self.state.store.read_replica_snapshot().await?;
        let balances = store::ledger::balances(&reader).await?;
        let book = store::exposure::by_grade(&reader).await?;
        reader.finish().await?;
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

    /// The last closed months' month-end positions, from kept snapshots.
    pub(crate) async fn history(
        &self,
        request: Request<pb::GetPositionHistoryRequest>,
    ) -> Result<pb::GetPositionHistoryResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, BOOK_READERS)?;
        let asked = request.get_ref().months;
        let months = match asked {
            0 => 24,
            1..=120 => asked,
            _ => return Err(ApiError::invalid("months", format!("must be between 1 and 120, not {asked}"))),
        };
        let today = business_today();
        let mut periods = Vec::new();
        let mut end = today.with_day(1).and_then(|first| first.pred_opt());
        for _ in 0..months {
            let Some(last_day) = end else { break };
            periods.push((last_day.format("%Y-%m").to_string(), last_day));
            end = last_day.with_day(1).and_then(|first| first.pred_opt());
        }
        periods.reverse();
        // On the primary: a month computed now is kept, and must not be computed from a
        // standby that has not yet replayed a posting dated back into it.
        let store = &self.state.store;
        let (month_ends, computed) = store.reading(async |db| store::history::month_ends(db, &periods).await).await?;
        if !computed.is_empty() {
            let txn = store.begin_write().await?;
            store::history::keep(&txn, &computed).await?;
            txn.commit().await.map_err(store::StoreError::from)?;
        }
        let money = |fen: i64| Money::from_fen(fen).to_string();
        Ok(pb::GetPositionHistoryResponse {
            months: month_ends
                .into_iter()
                .filter(|m| m.committed_capital != 0 || m.covered_loans != 0)
                .map(|m| pb::MonthEndPosition {
                    leverage: ratio_text(domain::position::ratio(
                        Money::from_fen(m.covered_outstanding),
                        Money::from_fen(m.net_pool_assets),
                    )),
                    period: m.period,
                    as_of: format_date(m.as_of),
                    committed_capital: money(m.committed_capital),
                    net_pool_assets: money(m.net_pool_assets),
                    covered_outstanding: money(m.covered_outstanding),
                    pool_exposure: money(m.pool_exposure),
                    compensation: money(m.compensation),
                    recoveries: money(m.recoveries),
                    loans_by_grade: m
                        .by_grade
                        .into_iter()
                        .filter_map(|(grade, loans, outstanding)| {
                            let grade = Grade::parse(&grade)?;
                            Some(pb::GradeCount {
                                grade: rpc::WireEnum::to_wire_i32(grade),
                                loans,
                                outstanding: money(outstanding),
                            })
                        })
                        .collect(),
                })
                .collect(),
        })
    }
}
