//! Conversions between the wire and the domain for applications and loans.

use domain::application::{Enterprise, LoanTerms, QualificationRecord, Submission};
use domain::terms::{CollateralType, LoanPurpose, Qualification, is_industry_section};
use domain::underwriting::Decision;
use domain::{Money, Uscc};
use proto::v1 as pb;
use rpc::convert::{format_date, parse_count, parse_fraction, timestamp};
use rpc::{Violations, WireEnum};
use store::applications::ApplicationRecord;
use store::loans::LoanRecord;

/// Reads a submission, collecting every bad field.
pub fn submission(
    violations: &mut Violations,
    enterprise: Option<&pb::Enterprise>,
    terms: Option<&pb::LoanTerms>,
    today: chrono::NaiveDate,
) -> Option<Submission> {
    let enterprise = match enterprise {
        Some(e) => self::enterprise(violations, e, today),
        None => {
            violations.add("enterprise", "is required");
            None
        }
    };
    let terms = match terms {
        Some(t) => loan_terms(violations, t),
        None => {
            violations.add("terms", "is required");
            None
        }
    };
    Some(Submission { enterprise: enterprise?, terms: terms? })
}

fn enterprise(v: &mut Violations, e: &pb::Enterprise, today: chrono::NaiveDate) -> Option<Enterprise> {
    let uscc = v.check("enterprise.uscc", Uscc::parse(&e.uscc));
    let name = v.text("enterprise.name", &e.name, 200);
    let section = if is_industry_section(&e.industry_section) {
        Some(e.industry_section.clone())
    } else {
        v.add("enterprise.industry_section", "must be a GB/T 4754 section letter A–T");
        None
    };
    let registration_date = v.date("enterprise.registration_date", &e.registration_date).and_then(|date| {
        if date > today {
            v.add("enterprise.registration_date", format!("{date} is in the future"));
            None
        } else {
            Some(date)
        }
    });
    let annual_revenue = v.money_non_negative("enterprise.annual_revenue", &e.annual_revenue);
    let previous = v.money_non_negative("enterprise.previous_annual_revenue", &e.previous_annual_revenue);
    let rd_expense = v.money_non_negative("enterprise.rd_expense", &e.rd_expense);
    let patents = v.check("enterprise.invention_patents", parse_count(e.invention_patents));
    let overdue = v.check("enterprise.prior_overdue_count", parse_count(e.prior_overdue_count));
    let founder = v.check("enterprise.founder_experience_years", parse_count(e.founder_experience_years));
    let assets = v.money_non_negative("enterprise.total_assets", &e.total_assets);
    let liabilities = v.money_non_negative("enterprise.total_liabilities", &e.total_liabilities);
    let mut qualifications = Vec::new();
    let mut qualifications_ok = true;
    for (index, q) in e.qualifications.iter().enumerate() {
        let field = |name: &str| format!("enterprise.qualifications[{index}].{name}");
        let qualification: Option<Qualification> = v.domain_enum(&field("qualification"), q.qualification);
        let from = v.date(&field("valid_from"), &q.valid_from);
        let until = v.date(&field("valid_until"), &q.valid_until);
        match (qualification, from, until) {
            (Some(qualification), Some(valid_from), Some(valid_until)) if valid_from <= valid_until => {
                qualifications.push(QualificationRecord { qualification, valid_from, valid_until });
            }
            (Some(_), Some(_), Some(_)) => {
                v.add(&field("valid_until"), "is before valid_from");
                qualifications_ok = false;
            }
            _ => qualifications_ok = false,
        }
    }
    if !qualifications_ok {
        return None;
    }
    Some(Enterprise {
        uscc: uscc?,
        name: name?,
        industry_section: section?,
        registration_date: registration_date?,
        annual_revenue: annual_revenue?,
        previous_annual_revenue: previous?,
        rd_expense: rd_expense?,
        invention_patents: patents?,
        qualifications,
        serious_dishonesty_record: e.serious_dishonesty_record,
        related_party_of_bank: e.related_party_of_bank,
        prior_overdue_count: overdue?,
        founder_experience_years: founder?,
        total_assets: assets?,
        total_liabilities: liabilities?,
    })
}

fn loan_terms(v: &mut Violations, t: &pb::LoanTerms) -> Option<LoanTerms> {
    let amount = v.money_positive("terms.amount", &t.amount);
    let term_months = match t.term_months {
        n if n < 1 => {
            v.add("terms.term_months", format!("must be at least 1, got {n}"));
            None
        }
        n => u32::try_from(n).ok(),
    };
    let annual_rate = v.check("terms.annual_rate", parse_fraction(&t.annual_rate));
    let purpose: Option<LoanPurpose> = v.domain_enum("terms.purpose", t.purpose);
    let collateral: Option<CollateralType> = v.domain_enum("terms.collateral_type", t.collateral_type);
    Some(LoanTerms {
        amount: amount?,
        term_months: term_months?,
        annual_rate: annual_rate?,
        purpose: purpose?,
        collateral: collateral?,
        first_bank_loan: t.first_bank_loan,
    })
}

fn fraction(value: rust_decimal::Decimal) -> String {
    value.normalize().to_string()
}

/// A decision on the wire (`approval_expire_date` from the record, which a review may set).
pub fn decision_to_wire(
    decision: &Decision,
    approval_expire_date: Option<chrono::NaiveDate>,
    decided: chrono::DateTime<chrono::Utc>,
) -> pb::Decision {
    pb::Decision {
        outcome: decision.outcome.to_wire_i32(),
        violations: decision
            .violations
            .iter()
            .map(|v| pb::RuleViolation { reason: v.reason.clone(), message: v.message.clone(), field: v.field.clone() })
            .collect(),
        score: i32::try_from(decision.score).unwrap_or(i32::MAX),
        modules: decision
            .modules
            .iter()
            .map(|m| pb::ModuleScore {
                module: m.module.clone(),
                points: i32::try_from(m.points).unwrap_or(i32::MAX),
                max_points: i32::try_from(m.max_points).unwrap_or(i32::MAX),
            })
            .collect(),
        grade: decision.grade.to_wire_i32(),
        pool_share: rpc::convert::share_to_wire(decision.pool_share),
        enterprise_cap: decision.enterprise_cap.to_string(),
        approval_expire_date: approval_expire_date.map(format_date).unwrap_or_default(),
        policy_version: decision.policy_version.clone(),
        decide_time: Some(timestamp(decided)),
        pool_share_rows: decision.pool_share_rows.iter().map(rpc::convert::share_row_to_wire).collect(),
    }
}

fn money_text(money: Money) -> String {
    money.to_string()
}

fn enterprise_to_wire(e: &Enterprise) -> pb::Enterprise {
    pb::Enterprise {
        uscc: e.uscc.to_string(),
        name: e.name.clone(),
        industry_section: e.industry_section.clone(),
        registration_date: format_date(e.registration_date),
        annual_revenue: money_text(e.annual_revenue),
        previous_annual_revenue: money_text(e.previous_annual_revenue),
        rd_expense: money_text(e.rd_expense),
        invention_patents: i32::try_from(e.invention_patents).unwrap_or(i32::MAX),
        qualifications: e
            .qualifications
            .iter()
            .map(|q| pb::QualificationRecord {
                qualification: q.qualification.to_wire_i32(),
                valid_from: format_date(q.valid_from),
                valid_until: format_date(q.valid_until),
            })
            .collect(),
        serious_dishonesty_record: e.serious_dishonesty_record,
        related_party_of_bank: e.related_party_of_bank,
        prior_overdue_count: i32::try_from(e.prior_overdue_count).unwrap_or(i32::MAX),
        founder_experience_years: i32::try_from(e.founder_experience_years).unwrap_or(i32::MAX),
        total_assets: money_text(e.total_assets),
        total_liabilities: money_text(e.total_liabilities),
    }
}

fn terms_to_wire(t: &LoanTerms) -> pb::LoanTerms {
    pb::LoanTerms {
        amount: money_text(t.amount),
        term_months: i32::try_from(t.term_months).unwrap_or(i32::MAX),
        annual_rate: fraction(t.annual_rate),
        purpose: t.purpose.to_wire_i32(),
        collateral_type: t.collateral.to_wire_i32(),
        first_bank_loan: t.first_bank_loan,
    }
}

/// An application on the wire, its status as of `today`.
pub fn application_to_wire(record: &ApplicationRecord, today: chrono::NaiveDate) -> pb::Application {
    pb::Application {
        name: format!("applications/{}", record.application_id),
        application_id: record.application_id.to_string(),
        bank: format!("banks/{}", record.bank_id),
        status: record.status.as_of(record.approval_expire_date, today).to_wire_i32(),
        enterprise: Some(enterprise_to_wire(&record.submission.enterprise)),
        terms: Some(terms_to_wire(&record.submission.terms)),
        decision: Some(decision_to_wire(&record.decision, record.approval_expire_date, record.created_at)),
        review: record.review.as_ref().map(|review| pb::Review {
            verdict: if review.verdict == "APPROVE" { pb::ReviewVerdict::Approve } else { pb::ReviewVerdict::Reject }
                as i32,
            reason: review.reason.clone(),
            reviewer: review.reviewer.clone(),
            review_time: Some(timestamp(review.reviewed_at)),
        }),
        loan: record.loan_id.map(|id| format!("loans/{id}")).unwrap_or_default(),
        create_time: Some(timestamp(record.created_at)),
        update_time: Some(timestamp(record.updated_at)),
    }
}

/// A loan on the wire, with its exclusion when one was asked for.
pub fn loan_to_wire(record: &LoanRecord, exclusion: Option<&store::exclusions::ExclusionRecord>) -> pb::Loan {
    let state = &record.state;
    pb::Loan {
        name: format!("loans/{}", record.loan_id),
        loan_id: record.loan_id.to_string(),
        application: format!("applications/{}", record.application_id),
        bank: format!("banks/{}", record.bank_id),
        bank_loan_number: record.bank_loan_number.clone(),
        uscc: record.uscc.clone(),
        enterprise_name: record.enterprise_name.clone(),
        grade: record.grade.to_wire_i32(),
        pool_share: rpc::convert::share_to_wire(record.pool_share),
        disbursed_amount: money_text(record.disbursed),
        disbursement_date: format_date(record.disbursement_date),
        maturity_date: format_date(record.maturity_date),
        renewals: i32::try_from(record.renewals).unwrap_or(i32::MAX),
        original_maturity_date: record.original_maturity_date.map(format_date).unwrap_or_default(),
        annual_rate: fraction(record.annual_rate),
        outstanding_principal: money_text(state.outstanding),
        days_past_due: i32::try_from(state.days_past_due).unwrap_or(i32::MAX),
        classification: state.classification.to_wire_i32(),
        status: state.status.to_wire_i32(),
        last_report_date: format_date(state.last_report_date),
        default_date: state.default_date.map(format_date).unwrap_or_default(),
        principal_at_default: state.principal_at_default.map(money_text).unwrap_or_default(),
        policy_version: record.policy_version.clone(),
        enroll_time: Some(timestamp(record.created_at)),
        update_time: Some(timestamp(record.updated_at)),
        exclusion: exclusion.map(crate::exclusions::exclusion_to_wire),
    }
}
