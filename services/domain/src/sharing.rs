//! Who bears a defaulted loan's principal loss: the co-sharing parties of the policy (an
//! insurer, a guarantee company), the pool and the bank (DOMAIN.md, "Loss sharing in depth").
//!
//! * the parties come first, in policy order, each with its share of the loss;
//! * the bank keeps at least its minimum retention: the pool's share is cut to what the
//!   parties and the retention leave (never below 0);
//! * each party's part and the pool's entitlement are share × loss, half-up to the fen each,
//!   except that the pool's is cut by the fen or two that rounding would take from the
//!   bank's retention (retention × loss, rounded up); the bank bears the rest, so the parts
//!   always add up to the loss exactly and the bank never keeps less than its retention.
//!
//! The pool pays only its own part. The parties' parts are memo figures: the bank claims
//! them from each co-sharer with the pool's figures.

use rust_decimal::Decimal;

use crate::money::Money;
use crate::policy::LossSharingPolicy;

/// One co-sharer's part of a loss.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The party's id.
    pub party: String,
    /// Its share of the loss.
    pub share: Decimal,
    /// share × loss, half-up.
    pub amount: Money,
}

/// A principal loss split between the co-sharers, the pool and the bank.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// The co-sharers' parts, in policy order.
    pub parts: Vec<Part>,
    /// The pool's share after the retention floor.
    pub pool_share: Decimal,
    /// The pool's share before it, when the floor cut it (the loan's enrolled share).
    pub pool_share_cut_from: Option<Decimal>,
    /// The pool's entitlement: pool share × loss, half-up.
    pub pool_amount: Money,
    /// What the bank bears: the loss less every other part.
    pub bank_amount: Money,
}

/// Splits `loss` for a loan covered at `pool_share` under `sharing`.
pub fn split(loss: Money, pool_share: Decimal, sharing: &LossSharingPolicy) -> Split {
    let part_of = |share: Decimal| loss.mul_half_up(share).unwrap_or(Money::ZERO);
    let mut room = (Decimal::ONE - sharing.bank_min_retention).max(Decimal::ZERO);
    let mut parts = Vec::with_capacity(sharing.parties.len());
    for party in &sharing.parties {
        let share = party.share.min(room);
        room -= share;
        parts.push(Part { party: party.party.clone(), share, amount: part_of(share) });
    }
    let effective = pool_share.min(room);
    let parties: i64 = parts.iter().map(|p| p.amount.fen()).sum();
    let retained = Money::from_decimal_up(loss.to_decimal() * sharing.bank_min_retention).unwrap_or(loss);
    let pool_room = Money::from_fen((loss.fen() - parties - retained.fen()).max(0));
    let pool_amount = part_of(effective).min(pool_room);
    let others = parties + pool_amount.fen();
    Split {
        parts,
        pool_share: effective,
        pool_share_cut_from: (effective < pool_share).then_some(pool_share),
        pool_amount,
        bank_amount: Money::from_fen(loss.fen() - others),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::PartyShare;

    fn money(text: &str) -> Money {
        Money::parse_signed(text).unwrap()
    }

    fn sharing(retention: i64, parties: &[(&str, i64)]) -> LossSharingPolicy {
        LossSharingPolicy {
            bank_min_retention: Decimal::new(retention, 2),
            parties: parties
                .iter()
                .map(|(party, share)| PartyShare { party: (*party).to_owned(), share: Decimal::new(*share, 2) })
                .collect(),
        }
    }

    #[test]
    fn without_co_sharers_the_pool_keeps_its_share() {
        // DOMAIN.md's worked example: 70 % of 2,400,000.00; the bank bears 30 %.
        let s = split(money("2400000.00"), Decimal::new(70, 2), &LossSharingPolicy::default());
        assert_eq!((s.pool_share, s.pool_share_cut_from), (Decimal::new(70, 2), None));
        assert_eq!((s.pool_amount, s.bank_amount), (money("1680000.00"), money("720000.00")));
        assert!(s.parts.is_empty());
    }

    #[test]
    fn an_insurer_cuts_the_pool_to_the_banks_retention() {
        // Insurer 20 %, retention 20 %: 1 − 0.20 − 0.20 = 0.60 left for the pool, cut from 0.70.
        let s = split(money("2400000.00"), Decimal::new(70, 2), &sharing(20, &[("picc", 20)]));
        assert_eq!(
            s.parts,
            vec![Part { party: "picc".into(), share: Decimal::new(20, 2), amount: money("480000.00") }]
        );
        assert_eq!((s.pool_share, s.pool_share_cut_from), (Decimal::new(60, 2), Some(Decimal::new(70, 2))));
        assert_eq!((s.pool_amount, s.bank_amount), (money("1440000.00"), money("480000.00")));
        // A 50 % pool share fits beside the insurer: nothing is cut and the bank bears 30 %.
        let fits = split(money("2400000.00"), Decimal::new(50, 2), &sharing(20, &[("picc", 20)]));
        assert_eq!(
            (fits.pool_amount, fits.pool_share_cut_from, fits.bank_amount),
            (money("1200000.00"), None, money("720000.00"))
        );
    }

    #[test]
    fn parties_go_in_order_and_the_bank_bears_the_remainder_to_the_fen() {
        // 1,000.05 loss; insurer 15 % = 150.0075 → 150.01; guarantor 10 % = 100.005 → 100.01;
        // pool min(0.70, 1 − 0.20 − 0.25 = 0.55) = 550.0275 → 550.03, but the bank keeps
        // 20 % × 1,000.05 = 200.01 (rounded up): the pool's part is 1,000.05 − 250.02 − 200.01 = 550.02.
        let s = split(money("1000.05"), Decimal::new(70, 2), &sharing(20, &[("picc", 15), ("guarantee", 10)]));
        let amounts: Vec<Money> = s.parts.iter().map(|p| p.amount).collect();
        assert_eq!(amounts, vec![money("150.01"), money("100.01")]);
        assert_eq!((s.pool_share, s.pool_amount), (Decimal::new(55, 2), money("550.02")));
        assert_eq!(s.bank_amount, money("200.01"));
        // Without co-sharers the retention is far from binding: 70 % of 1,000.05 = 700.035 → 700.04.
        let alone = split(money("1000.05"), Decimal::new(70, 2), &LossSharingPolicy::default());
        assert_eq!((alone.pool_amount, alone.bank_amount), (money("700.04"), money("300.01")));
        // Parties that would take the bank's retention (a policy check-policy refuses) are
        // cut in order, and the pool gets nothing.
        let over = split(money("100.00"), Decimal::new(70, 2), &sharing(20, &[("a", 50), ("b", 50)]));
        let shares: Vec<Decimal> = over.parts.iter().map(|p| p.share).collect();
        assert_eq!(shares, vec![Decimal::new(50, 2), Decimal::new(30, 2)]);
        assert_eq!((over.pool_amount, over.bank_amount), (Money::ZERO, money("20.00")));
    }
}
