//! The one conversion between the domain's closed sets and their protobuf enums.
//!
//! Each pair is declared once in `wire_enum!`, which writes two exhaustive matches: a
//! variant added on either side without its partner is a compile error, never a silent
//! UNSPECIFIED. No conversion goes through an enum's name.

use std::fmt;

use proto::v1 as pb;

/// A domain enum and its protobuf counterpart.
pub trait WireEnum: Copy + Sized {
    /// The protobuf enum.
    type Wire: Copy + Into<i32> + TryFrom<i32>;

    /// The wire value (total: every domain value has one).
    fn to_wire(self) -> Self::Wire;

    /// The domain value, or `None` for the wire's UNSPECIFIED.
    fn from_wire(wire: Self::Wire) -> Option<Self>;

    /// The wire value as the `i32` a message field holds.
    fn to_wire_i32(self) -> i32 {
        self.to_wire().into()
    }

    /// Reads a message field: an unknown number or UNSPECIFIED is a [`WireError`].
    fn from_wire_i32(value: i32) -> Result<Self, WireError> {
        let wire = Self::Wire::try_from(value).map_err(|_| WireError::UnknownEnumVariant(value))?;
        Self::from_wire(wire).ok_or(WireError::Unspecified)
    }
}

/// Why a wire enum value has no domain meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireError {
    /// A number this version of the contract does not define.
    UnknownEnumVariant(i32),
    /// The zero value: the field was not set.
    Unspecified,
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::UnknownEnumVariant(value) => write!(f, "has unknown value {value}"),
            WireError::Unspecified => f.write_str("is required"),
        }
    }
}

/// Declares a [`WireEnum`] pair: `Domain => Wire { DomainVariant => WireVariant, … }`.
/// The wire's `Unspecified` maps to `None`.
macro_rules! wire_enum {
    ($domain:ty => $wire:ident { $($variant:ident => $wire_variant:ident),+ $(,)? }) => {
        impl WireEnum for $domain {
            type Wire = pb::$wire;

            fn to_wire(self) -> pb::$wire {
                match self {
                    $(<$domain>::$variant => pb::$wire::$wire_variant),+
                }
            }

            fn from_wire(wire: pb::$wire) -> Option<$domain> {
                match wire {
                    pb::$wire::Unspecified => None,
                    $(pb::$wire::$wire_variant => Some(<$domain>::$variant)),+
                }
            }
        }
    };
}

wire_enum!(domain::auth::Role => Role {
    Bank => Bank,
    RiskOfficer => RiskOfficer,
    Finance => Finance,
    Auditor => Auditor,
    Batch => Batch,
    Admin => Admin,
});

wire_enum!(domain::trail::Outcome => AuditOutcome { Accepted => Accepted, Refused => Refused, Replayed => Replayed });
wire_enum!(domain::BankStatus => BankStatus { Active => Active, Watch => Watch, Suspended => Suspended });
wire_enum!(domain::bank::BankGrade => BankGrade { A => A, B => B, C => C, D => D });

wire_enum!(domain::terms::Classification => LoanClassification {
    Normal => Normal,
    SpecialMention => SpecialMention,
    Substandard => Substandard,
    Doubtful => Doubtful,
    Loss => Loss,
});

wire_enum!(domain::terms::Grade => Grade {
    Aaa => Aaa,
    Aa => Aa,
    A => A,
    Bbb => Bbb,
    Bb => Bb,
    B => B,
    Ccc => Ccc,
    D => D,
});

wire_enum!(domain::terms::Qualification => Qualification {
    HighTechEnterprise => HighTechEnterprise,
    TechSme => TechSme,
    SpecializedNew => SpecializedNew,
    IncubatorTenant => IncubatorTenant,
    TalentFounder => TalentFounder,
});

wire_enum!(domain::terms::CollateralType => CollateralType {
    PureCredit => PureCredit,
    IpPledge => IpPledge,
    EquityPledge => EquityPledge,
    Guarantee => Guarantee,
    Mortgage => Mortgage,
});

wire_enum!(domain::terms::LoanPurpose => LoanPurpose {
    WorkingCapital => WorkingCapital,
    ResearchAndDevelopment => ResearchAndDevelopment,
    Equipment => Equipment,
    TechnologyCommercialisation => TechnologyCommercialisation,
    RefinancingOwnDebt => RefinancingOwnDebt,
    Securities => Securities,
    RealEstate => RealEstate,
    Relending => Relending,
});

wire_enum!(domain::loan::ApplicationStatus => ApplicationStatus {
    Submitted => Submitted,
    Approved => Approved,
    Referred => Referred,
    Rejected => Rejected,
    Enrolled => Enrolled,
    Expired => Expired,
    Withdrawn => Withdrawn,
});

wire_enum!(domain::loan::LoanStatus => LoanStatus {
    Active => Active,
    Overdue => Overdue,
    Defaulted => Defaulted,
    Claimed => Claimed,
    Compensated => Compensated,
    Recovering => Recovering,
    Repaid => Repaid,
    Closed => Closed,
    Excluded => Excluded,
});

wire_enum!(domain::underwriting::Outcome => DecisionOutcome {
    Approved => Approved,
    Referred => Referred,
    Rejected => Rejected,
});

wire_enum!(domain::ledger::AccountKind => AccountKind {
    Asset => Asset,
    Liability => Liability,
    Equity => Equity,
    Income => Income,
    Expense => Expense,
});

wire_enum!(domain::ledger::EntryKind => EntryKind {
    ContributionCommitted => ContributionCommitted,
    ContributionReceived => ContributionReceived,
    Interest => Interest,
    ClaimApproved => ClaimApproved,
    CompensationPaid => CompensationPaid,
    RecoveryReported => RecoveryReported,
    RecoveryReceived => RecoveryReceived,
    SettlementNetting => SettlementNetting,
    Reversal => Reversal,
    Exclusion => Exclusion,
    ClawbackReceived => ClawbackReceived,
});

wire_enum!(domain::claims::ClaimStatus => ClaimStatus {
    Filed => Filed,
    PartiallyApproved => PartiallyApproved,
    Approved => Approved,
    Rejected => Rejected,
    Paid => Paid,
    Cancelled => Cancelled,
});

wire_enum!(domain::terms::ReductionReason => ReductionReason {
    DocumentationDeficient => DocumentationDeficient,
    LateReporting => LateReporting,
    CollateralNotPerfected => CollateralNotPerfected,
    Other => Other,
});

wire_enum!(domain::terms::RejectionReason => RejectionReason {
    NotEligible => NotEligible,
    DocumentationDeficient => DocumentationDeficient,
    LateReporting => LateReporting,
    Misrepresentation => Misrepresentation,
    Other => Other,
});

wire_enum!(domain::terms::PartyKind => CoSharingPartyKind {
    Insurer => Insurer,
    GuaranteeCompany => GuaranteeCompany,
});

wire_enum!(domain::claims::Limit => CompensationLimit {
    Entitlement => Entitlement,
    Reduction => Reduction,
    AnnualCap => AnnualCap,
    PortfolioCap => PortfolioCap,
});

wire_enum!(domain::statement::Status => StatementStatus {
    Draft => Draft,
    Confirmed => Confirmed,
    PartiallyPaid => PartiallyPaid,
    Paid => Paid,
    CarriedForward => CarriedForward,
});

wire_enum!(domain::statement::LineKind => StatementLineKind {
    Compensation => Compensation,
    ShortfallCarried => ShortfallCarried,
    Recovery => Recovery,
    Clawback => Clawback,
    ContributionDue => ContributionDue,
});

wire_enum!(domain::terms::ExclusionReason => ExclusionReason {
    IneligibleAtEnrolment => IneligibleAtEnrolment,
    Misrepresentation => Misrepresentation,
    DishonestyRecord => DishonestyRecord,
    BankBreach => BankBreach,
});

wire_enum!(domain::statement::Direction => SettlementDirection {
    PoolPaysBank => PoolPaysBank,
    BankPaysPool => BankPaysPool,
    None => None,
});

wire_enum!(domain::reconcile::DiscrepancyKind => DiscrepancyKind {
    MissingInPool => MissingInPool,
    MissingAtBank => MissingAtBank,
    BalanceMismatch => BalanceMismatch,
    StatusMismatch => StatusMismatch,
    DuplicateInTape => DuplicateInTape,
    InvalidRecord => InvalidRecord,
});

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use domain::terms::Grade;

    use super::*;

    #[test]
    fn every_value_goes_to_the_wire_and_back() {
        for grade in Grade::ALL {
            assert_eq!(Grade::from_wire_i32(grade.to_wire_i32()), Ok(*grade));
        }
        for role in domain::auth::Role::ALL {
            assert_eq!(domain::auth::Role::from_wire(role.to_wire()), Some(role));
        }
        for kind in domain::ledger::EntryKind::ALL {
            assert_eq!(domain::ledger::EntryKind::from_wire(kind.to_wire()), Some(kind));
        }
    }

    #[test]
    fn unspecified_and_unknown_numbers_are_told_apart() {
        assert_eq!(Grade::from_wire_i32(0), Err(WireError::Unspecified));
        assert_eq!(Grade::from_wire_i32(99), Err(WireError::UnknownEnumVariant(99)));
        assert_eq!(WireError::UnknownEnumVariant(99).to_string(), "has unknown value 99");
    }
}
