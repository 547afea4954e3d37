//! The figures risk officers ask for, from balances and running totals, and the stress
//! test. Ratios are exact decimals rounded to 6 places for display.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use crate::ledger::Balances;
use crate::money::Money;
use crate::policy::Policy;
use crate::terms::Grade;

/// Covered-loan totals at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CoverTotals {
    /// Σ outstanding of covered loans not closed.
    pub covered_outstanding: Money,
    /// Σ outstanding × pool share.
    pub pool_exposure: Money,
    /// Σ outstanding of non-performing covered loans.
    pub npl_outstanding: Money,
    /// Covered loans not closed.
    pub covered_loans: i64,
}

/// The derived figures of the pool's position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Figures {
    /// Cash + receivables − payables.
    pub net_pool_assets: Money,
    /// Covered outstanding ÷ net pool assets; `None` without net assets.
    pub leverage: Option<Decimal>,
    /// Net pool assets ÷ pool exposure; `None` without exposure.
    pub coverage_ratio: Option<Decimal>,
    /// Max leverage × net pool assets − covered outstanding (may be negative).
    pub headroom: Money,
    /// NPL outstanding ÷ covered outstanding.
    pub npl_ratio: Option<Decimal>,
    /// Committed capital ÷ pool size target.
    pub pool_size_progress: Option<Decimal>,
    /// Covered outstanding ÷ covered balance target.
    pub covered_balance_progress: Option<Decimal>,
    /// Net pool assets are below the suspension floor.
    pub below_suspension_floor: bool,
}

/// `a ÷ b` rounded to 6 places, `None` when `b` is not positive.
pub fn ratio(a: Money, b: Money) -> Option<Decimal> {
    if b.fen() <= 0 {
        return None;
    }
    a.to_decimal().checked_div(b.to_decimal()).map(|r| r.round_dp(6))
}

/// The most the pool may cover: max leverage × net pool assets, rounded down to the fen (so
/// that "covered ≤ capacity" is exactly "covered ≤ max leverage × net pool assets"); zero
/// when net pool assets are not positive.
pub fn capacity(policy: &Policy, net_pool_assets: Money) -> Money {
    let exact = net_pool_assets.to_decimal() * policy.pool.max_leverage;
    let fen = (exact * Decimal::ONE_HUNDRED).floor();
    if fen <= Decimal::ZERO {
        return Money::ZERO;
    }
    i64::try_from(fen).map(Money::from_fen).unwrap_or(Money::from_fen(i64::MAX))
}

/// Net pool assets below this stop new enrolments: the policy's share of committed
/// capital, half-up to the fen.
pub fn suspension_floor(policy: &Policy, committed_capital: Money) -> Money {
    committed_capital.mul_half_up(policy.pool.suspension_net_assets_ratio).unwrap_or(Money::ZERO)
}

/// Computes the derived figures.
pub fn figures(policy: &Policy, balances: &Balances, totals: &CoverTotals) -> Figures {
    let net = balances.net_pool_assets();
    let capacity = capacity(policy, net);
    let committed = balances.committed_capital();
    let floor = suspension_floor(policy, committed);
    Figures {
        net_pool_assets: net,
        leverage: ratio(totals.covered_outstanding, net),
        coverage_ratio: ratio(net, totals.pool_exposure),
        headroom: Money::from_fen(capacity.fen() - totals.covered_outstanding.fen()),
        npl_ratio: ratio(totals.npl_outstanding, totals.covered_outstanding),
        pool_size_progress: ratio(committed, policy.pool.size_target),
        covered_balance_progress: ratio(totals.covered_outstanding, policy.pool.covered_balance_target),
        below_suspension_floor: net < floor,
    }
}

/// Inputs of a stress test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StressScenario {
    /// Default rate of grades not listed in `per_grade`.
    pub default_rate: Decimal,
    /// Default rate per grade.
    pub per_grade: BTreeMap<Grade, Decimal>,
    /// Loss given default.
    pub loss_rate: Decimal,
}

/// Outcome of a stress test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StressResult {
    /// The pool's expected loss, half-up to the fen.
    pub expected_loss: Money,
    /// Net pool assets before.
    pub net_before: Money,
    /// Net pool assets after.
    pub net_after: Money,
    /// Net assets stay above zero.
    pub survives: bool,
    /// Uniform default rate at which the loss equals net assets; `None` if no rate ≤ 1 does.
    pub exhaustion_default_rate: Option<Decimal>,
    /// Covered outstanding after the defaults ÷ net assets after.
    pub leverage_after: Option<Decimal>,
}

/// The pool's loss when `scenario` hits the pool exposure of each grade (and the covered
/// outstanding of each grade leaves the book in the same proportion).
pub fn stress(
    net_pool_assets: Money,
    exposure_by_grade: &BTreeMap<Grade, (Money, Money)>,
    scenario: &StressScenario,
) -> StressResult {
    let mut loss = Decimal::ZERO;
    let mut defaulted_outstanding = Decimal::ZERO;
    let mut total_exposure = Decimal::ZERO;
    let mut total_outstanding = Decimal::ZERO;
    for (grade, (outstanding, exposure)) in exposure_by_grade {
        let rate = scenario.per_grade.get(grade).copied().unwrap_or(scenario.default_rate);
        loss += exposure.to_decimal() * rate * scenario.loss_rate;
        defaulted_outstanding += outstanding.to_decimal() * rate;
        total_exposure += exposure.to_decimal();
        total_outstanding += outstanding.to_decimal();
    }
    let expected_loss = Money::from_decimal_half_up(loss).unwrap_or(Money::from_fen(i64::MAX));
    let net_after = Money::from_fen(net_pool_assets.fen().saturating_sub(expected_loss.fen()));
    let per_unit = total_exposure * scenario.loss_rate;
    let exhaustion_default_rate = if per_unit > Decimal::ZERO {
        let rate = net_pool_assets.to_decimal() / per_unit;
        (rate <= Decimal::ONE).then(|| rate.max(Decimal::ZERO).round_dp(6))
    } else {
        None
    };
    let outstanding_after =
        Money::from_decimal_half_up(total_outstanding - defaulted_outstanding).unwrap_or(Money::ZERO);
    StressResult {
        expected_loss,
        net_before: net_pool_assets,
        net_after,
        survives: net_after.fen() > 0,
        exhaustion_default_rate,
        leverage_after: ratio(outstanding_after, net_after),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(text: &str) -> Money {
        Money::parse_signed(text).unwrap()
    }

    #[test]
    fn stress_of_a_small_book() {
        // 100,000,000 covered at 50% share in grade A, 20,000,000 at 70% in grade BB.
        let book = BTreeMap::from([
            (Grade::A, (money("100000000.00"), money("50000000.00"))),
            (Grade::Bb, (money("20000000.00"), money("14000000.00"))),
        ]);
        let scenario = StressScenario {
            default_rate: Decimal::new(5, 2),
            per_grade: BTreeMap::from([(Grade::Bb, Decimal::new(20, 2))]),
            loss_rate: Decimal::new(60, 2),
        };
        let result = stress(money("10000000.00"), &book, &scenario);
        // A: 50,000,000 × 5% × 60% = 1,500,000; BB: 14,000,000 × 20% × 60% = 1,680,000.
        assert_eq!(result.expected_loss, money("3180000.00"));
        assert_eq!(result.net_after, money("6820000.00"));
        assert!(result.survives);
        // 10,000,000 ÷ (64,000,000 × 0.6) = 0.260417 (rounded).
        assert_eq!(result.exhaustion_default_rate, Some(Decimal::new(260417, 6)));
    }
}
