//! Who the demo's applicants are, and the dice it throws: deterministic for a seed.

use proto::v1 as pb;

/// A small deterministic generator (SplitMix64): the same seed, the same book.
pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A whole number in `low..=high`.
    pub(super) fn range(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low + 1)
    }

    /// True with probability `percent` %.
    pub(super) fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    /// True with probability `per_mille` ‰.
    pub(super) fn chance_per_mille(&mut self, per_mille: u64) -> bool {
        self.next() % 1000 < per_mille
    }

    pub(super) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }
}

/// Fen of whole yuan.
pub(super) const fn yuan(amount: u64) -> u64 {
    amount * 100
}

/// Whole fen as the API writes amounts.
pub(super) fn money(fen: u64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

pub(super) fn fen(text: &str) -> u64 {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, "0"));
    whole.parse::<u64>().unwrap_or(0) * 100 + fraction.parse::<u64>().unwrap_or(0)
}

pub(super) const BANKS: [(&str, &str, u64); 4] = [
    ("nbcb", "宁波银行鄞州支行", 200_000_000),
    ("icbc", "工商银行鄞州支行", 180_000_000),
    ("abc", "农业银行鄞州支行", 150_000_000),
    ("bocom", "交通银行鄞州支行", 120_000_000),
];

const NAMES: [&str; 12] = [
    "智能",
    "新材料",
    "生物医药",
    "精密机械",
    "光电",
    "数字科技",
    "新能源",
    "半导体",
    "环保科技",
    "机器人",
    "软件",
    "汽车电子",
];

/// An enterprise and its loan terms: mostly Yinzhou technology SMEs, a few outside the
/// district or in an excluded industry.
pub(super) fn applicant(rng: &mut Rng, n: u32, today: chrono::NaiveDate) -> (usize, pb::Enterprise, pb::LoanTerms) {
    let weights: Vec<u64> = BANKS.iter().map(|b| b.2 / 10_000_000).collect();
    let mut roll = rng.range(0, weights.iter().sum::<u64>() - 1);
    let bank = weights
        .iter()
        .position(|w| {
            if roll < *w {
                true
            } else {
                roll -= w;
                false
            }
        })
        .unwrap_or(0);
    let division = if rng.chance(4) { "330203" } else { "330212" };
    let uscc = domain::Uscc::with_check_character(&format!("91{division}MA{:07}", 10_000 + n))
        .map(|u| u.to_string())
        .unwrap_or_default();
    let section = if rng.chance(3) { "K" } else { *rng.pick(&["C", "C", "I", "I", "M", "C"]) };
    let year = chrono::Datelike::year(&today);
    let qualifications = [
        pb::Qualification::HighTechEnterprise,
        pb::Qualification::TechSme,
        pb::Qualification::SpecializedNew,
        pb::Qualification::IncubatorTenant,
        pb::Qualification::TalentFounder,
    ];
    let held = rng.range(1, 3);
    let qualifications = (0..held)
        .map(|_| pb::QualificationRecord {
            qualification: *rng.pick(&qualifications) as i32,
            valid_from: format!("{}-01-01", year - 1),
            valid_until: format!("{}-12-31", year + 2),
        })
        .collect();
    let revenue = rng.range(8, 300) * yuan(1_000_000);
    let enterprise = pb::Enterprise {
        uscc,
        name: format!("宁波{}{}有限公司", rng.pick(&NAMES), n),
        industry_section: section.to_owned(),
        registration_date: format!("{}-{:02}-15", year - rng.range(2, 15) as i32, rng.range(1, 12)),
        annual_revenue: money(revenue),
        previous_annual_revenue: money(revenue * rng.range(70, 105) / 100),
        rd_expense: money(revenue * rng.range(2, 12) / 100),
        invention_patents: rng.range(0, 12) as i32,
        qualifications,
        serious_dishonesty_record: rng.chance(1),
        related_party_of_bank: false,
        prior_overdue_count: if rng.chance(10) { 1 } else { 0 },
        founder_experience_years: rng.range(2, 20) as i32,
        total_assets: money(revenue * rng.range(80, 150) / 100),
        total_liabilities: money(revenue * rng.range(20, 70) / 100),
    };
    let pure_credit = rng.chance(25);
    let terms = pb::LoanTerms {
        amount: money(rng.range(5, 50) * yuan(100_000)),
        term_months: *rng.pick(&[12, 12, 24, 24, 36]),
        annual_rate: format!("0.0{}", rng.range(320, 395)),
        purpose: *rng.pick(&[
            pb::LoanPurpose::WorkingCapital,
            pb::LoanPurpose::ResearchAndDevelopment,
            pb::LoanPurpose::Equipment,
            pb::LoanPurpose::TechnologyCommercialisation,
        ]) as i32,
        collateral_type: if pure_credit { pb::CollateralType::PureCredit } else { pb::CollateralType::IpPledge } as i32,
        first_bank_loan: rng.chance(30),
    };
    (bank, enterprise, terms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dice_are_fair_and_the_same_for_a_seed() {
        let mut rng = Rng(2025);
        let hits = (0..100_000).filter(|_| rng.chance_per_mille(4)).count();
        assert!((300..500).contains(&hits), "{hits} of 100,000 at 4 per mille");
        let (mut a, mut b) = (Rng(7), Rng(7));
        assert_eq!((0..10).map(|_| a.next()).collect::<Vec<_>>(), (0..10).map(|_| b.next()).collect::<Vec<_>>());
    }
}
