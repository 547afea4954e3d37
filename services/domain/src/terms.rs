//! The vocabulary of the domain: closed sets of names used by applications, loans and policy.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored and policy-file name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses a stored or policy-file name.
            pub fn parse(text: &str) -> Option<$name> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

named_enum! {
    /// A technology qualification.
    Qualification {
        /// 高新技术企业
        HighTechEnterprise => "HIGH_TECH_ENTERPRISE",
        /// 科技型中小企业
        TechSme => "TECH_SME",
        /// 专精特新
        SpecializedNew => "SPECIALIZED_NEW",
        /// Incubator tenant.
        IncubatorTenant => "INCUBATOR_TENANT",
        /// Talent-programme founder.
        TalentFounder => "TALENT_FOUNDER",
    }
}

named_enum! {
    /// What a loan is for.
    LoanPurpose {
        /// Working capital.
        WorkingCapital => "WORKING_CAPITAL",
        /// Research and development.
        ResearchAndDevelopment => "RESEARCH_AND_DEVELOPMENT",
        /// Equipment.
        Equipment => "EQUIPMENT",
        /// Commercialising technology.
        TechnologyCommercialisation => "TECHNOLOGY_COMMERCIALISATION",
        /// Refinancing the bank's own debt.
        RefinancingOwnDebt => "REFINANCING_OWN_DEBT",
        /// Securities.
        Securities => "SECURITIES",
        /// Real estate.
        RealEstate => "REAL_ESTATE",
        /// Re-lending.
        Relending => "RELENDING",
    }
}

named_enum! {
    /// Security behind a loan.
    CollateralType {
        /// 信用贷: no security.
        PureCredit => "PURE_CREDIT",
        /// IP pledge.
        IpPledge => "IP_PLEDGE",
        /// Equity pledge.
        EquityPledge => "EQUITY_PLEDGE",
        /// Guarantee.
        Guarantee => "GUARANTEE",
        /// Mortgage.
        Mortgage => "MORTGAGE",
    }
}

named_enum! {
    /// Five-level loan classification, from best to worst (the order is meaningful).
    Classification {
        /// 正常
        Normal => "NORMAL",
        /// 关注
        SpecialMention => "SPECIAL_MENTION",
        /// 次级
        Substandard => "SUBSTANDARD",
        /// 可疑
        Doubtful => "DOUBTFUL",
        /// 损失
        Loss => "LOSS",
    }
}

named_enum! {
    /// Rating grade, from best to worst (the order is meaningful).
    Grade {
        /// ≥ 850 by default.
        Aaa => "AAA",
        /// ≥ 750.
        Aa => "AA",
        /// ≥ 650.
        A => "A",
        /// ≥ 550.
        Bbb => "BBB",
        /// ≥ 450.
        Bb => "BB",
        /// ≥ 350.
        B => "B",
        /// ≥ 250: referred.
        Ccc => "CCC",
        /// Below: ineligible.
        D => "D",
    }
}

named_enum! {
    /// A group of contributors to the pool.
    ContributorGroup {
        /// Ningbo city S&T bureau.
        CityBureau => "CITY_BUREAU",
        /// Yinzhou district S&T bureau.
        DistrictBureau => "DISTRICT_BUREAU",
        /// The partner banks together.
        Banks => "BANKS",
    }
}

named_enum! {
    /// Why an approval grants less than a claim's entitlement (DOMAIN.md, "Loss sharing in
    /// depth").
    ReductionReason {
        /// The bank's claim documents are incomplete or deficient.
        DocumentationDeficient => "DOCUMENTATION_DEFICIENT",
        /// The bank reported the default or the loan's state late.
        LateReporting => "LATE_REPORTING",
        /// The bank did not perfect the collateral or guarantee it relied on.
        CollateralNotPerfected => "COLLATERAL_NOT_PERFECTED",
        /// Another reason, stated in the note.
        Other => "OTHER",
    }
}

named_enum! {
    /// Why a claim is rejected.
    RejectionReason {
        /// The loan or the default is not one the pool covers.
        NotEligible => "NOT_ELIGIBLE",
        /// The claim's documents are missing or deficient (a corrected claim may follow).
        DocumentationDeficient => "DOCUMENTATION_DEFICIENT",
        /// The default was reported too late.
        LateReporting => "LATE_REPORTING",
        /// The bank misrepresented the loan or the default.
        Misrepresentation => "MISREPRESENTATION",
        /// Another reason, stated in the text.
        Other => "OTHER",
    }
}

named_enum! {
    /// What kind of co-sharer (政银保, 政银担) a party is.
    PartyKind {
        /// An insurer (a loan-guarantee insurance policy on the covered loans).
        Insurer => "INSURER",
        /// A guarantee company.
        GuaranteeCompany => "GUARANTEE_COMPANY",
    }
}

named_enum! {
    /// Why a loan is taken out of cover after enrolment.
    ExclusionReason {
        /// The loan or the enterprise did not meet the policy when it was enrolled.
        IneligibleAtEnrolment => "INELIGIBLE_AT_ENROLMENT",
        /// The bank or the enterprise misrepresented the loan.
        Misrepresentation => "MISREPRESENTATION",
        /// A dishonesty record of the enterprise surfaced.
        DishonestyRecord => "DISHONESTY_RECORD",
        /// The bank breached the scheme's agreement.
        BankBreach => "BANK_BREACH",
    }
}

/// GB/T 4754 industry sections are the letters A–T.
pub fn is_industry_section(text: &str) -> bool {
    text.len() == 1 && matches!(text.as_bytes()[0], b'A'..=b'T')
}
