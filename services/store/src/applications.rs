//! Loan applications with their submission and decision, stored as the domain serialises
//! them (JSON) beside the columns that lists filter on.

use chrono::{DateTime, NaiveDate, Utc};
use domain::application::Submission;
use domain::loan::ApplicationStatus;
use domain::underwriting::Decision;
use domain::{BankId, Money};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};

use crate::StoreError;
use crate::entities::application;

/// A risk officer's review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewRecord {
    /// "APPROVE" or "REJECT".
    pub verdict: String,
    /// Why.
    pub reason: String,
    /// Key id of the reviewer.
    pub reviewer: String,
    /// When.
    pub reviewed_at: DateTime<Utc>,
}

/// A stored application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationRecord {
    /// Id.
    pub application_id: i64,
    /// Lending bank.
    pub bank_id: BankId,
    /// Status as stored (see `ApplicationStatus::as_of` for expiry).
    pub status: ApplicationStatus,
    /// What was submitted.
    pub submission: Submission,
    /// The decision made on submission.
    pub decision: Decision,
    /// Last day to enrol: from the decision, or from a risk officer's approval.
    pub approval_expire_date: Option<NaiveDate>,
    /// The review, if any.
    pub review: Option<ReviewRecord>,
    /// Why it was withdrawn.
    pub withdraw_reason: Option<String>,
    /// Enrolled loan.
    pub loan_id: Option<i64>,
    /// Business date of submission.
    pub submitted_on: NaiveDate,
    /// When submitted.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<application::Model> for ApplicationRecord {
    type Error = StoreError;

    fn try_from(row: application::Model) -> Result<ApplicationRecord, StoreError> {
        let corrupt = |what: &str, detail: String| {
            StoreError::Corrupt(format!("application {}: {what} {detail}", row.application_id))
        };
        Ok(ApplicationRecord {
            application_id: row.application_id,
            bank_id: BankId::parse(&row.bank_id).map_err(|e| corrupt("bank", e.to_string()))?,
            status: ApplicationStatus::parse(&row.status).ok_or_else(|| corrupt("status", row.status.clone()))?,
            submission: serde_json::from_str(&row.submission).map_err(|e| corrupt("submission", e.to_string()))?,
            decision: serde_json::from_str(&row.decision).map_err(|e| corrupt("decision", e.to_string()))?,
            approval_expire_date: row.approval_expire_date,
            review: match (row.review_verdict, row.review_reason, row.reviewer, row.reviewed_at) {
                (Some(verdict), Some(reason), Some(reviewer), Some(reviewed_at)) => {
                    Some(ReviewRecord { verdict, reason, reviewer, reviewed_at })
                }
                _ => None,
            },
            withdraw_reason: row.withdraw_reason,
            loan_id: row.loan_id,
            submitted_on: row.submitted_on,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// Stores a decided application.
pub async fn insert(
    connection: &impl ConnectionTrait,
    bank_id: &BankId,
    submission: &Submission,
    decision: &Decision,
    status: ApplicationStatus,
) -> Result<ApplicationRecord, StoreError> {
    let now = crate::clock::instant();
    let encode =
        |value: serde_json::Result<String>| value.map_err(|e| StoreError::Corrupt(format!("cannot encode: {e}")));
    let row = application::ActiveModel {
        application_id: Default::default(),
        bank_id: Set(bank_id.as_str().to_owned()),
        uscc: Set(submission.enterprise.uscc.as_str().to_owned()),
        enterprise_name: Set(submission.enterprise.name.clone()),
        status: Set(status.as_str().to_owned()),
        amount_fen: Set(submission.terms.amount.fen()),
        term_months: Set(i32::try_from(submission.terms.term_months).unwrap_or(i32::MAX)),
        annual_rate: Set(submission.terms.annual_rate.normalize().to_string()),
        submission: Set(encode(serde_json::to_string(submission))?),
        decision: Set(encode(serde_json::to_string(decision))?),
        outcome: Set(decision.outcome.as_str().to_owned()),
        grade: Set(decision.grade.as_str().to_owned()),
        score: Set(i32::try_from(decision.score).unwrap_or(i32::MAX)),
        pool_share: Set(decision.pool_share.normalize().to_string()),
        enterprise_cap_fen: Set(decision.enterprise_cap.fen()),
        approval_expire_date: Set(decision.approval_expire_date),
        policy_version: Set(decision.policy_version.clone()),
        review_verdict: Set(None),
        review_reason: Set(None),
        reviewer: Set(None),
        reviewed_at: Set(None),
        withdraw_reason: Set(None),
        loan_id: Set(None),
        submitted_on: Set(decision.decision_date),
        created_at: Set(now),
        updated_at: Set(now),
    };
    ApplicationRecord::try_from(row.insert(connection).await?)
}

/// One application.
pub async fn get(
    connection: &impl ConnectionTrait,
    application_id: i64,
) -> Result<Option<ApplicationRecord>, StoreError> {
    application::Entity::find_by_id(application_id).one(connection).await?.map(ApplicationRecord::try_from).transpose()
}

/// One application, locked until the transaction ends.
pub async fn get_for_update(
    connection: &impl ConnectionTrait,
    application_id: i64,
) -> Result<Option<ApplicationRecord>, StoreError> {
    application::Entity::find_by_id(application_id)
        .lock_exclusive()
        .one(connection)
        .await?
        .map(ApplicationRecord::try_from)
        .transpose()
}

/// Filters of an application listing.
#[derive(Debug, Clone, Default)]
pub struct ApplicationFilter {
    /// Of this bank.
    pub bank: Option<BankId>,
    /// With this stored status.
    pub status: Option<ApplicationStatus>,
    /// Of this enterprise.
    pub uscc: Option<String>,
    /// Submitted on or after.
    pub from: Option<NaiveDate>,
    /// Submitted on or before.
    pub to: Option<NaiveDate>,
    /// Ids below this (paging, newest first).
    pub before_id: Option<i64>,
}

/// Applications, newest first.
pub async fn list(
    connection: &impl ConnectionTrait,
    filter: &ApplicationFilter,
    limit: u64,
) -> Result<Vec<ApplicationRecord>, StoreError> {
    let mut query = application::Entity::find().order_by_desc(application::Column::ApplicationId).limit(limit);
    if let Some(bank) = &filter.bank {
        query = query.filter(application::Column::BankId.eq(bank.as_str()));
    }
    if let Some(status) = filter.status {
        query = query.filter(application::Column::Status.eq(status.as_str()));
    }
    if let Some(uscc) = &filter.uscc {
        query = query.filter(application::Column::Uscc.eq(uscc.as_str()));
    }
    if let Some(from) = filter.from {
        query = query.filter(application::Column::SubmittedOn.gte(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(application::Column::SubmittedOn.lte(to));
    }
    if let Some(before) = filter.before_id {
        query = query.filter(application::Column::ApplicationId.lt(before));
    }
    query.all(connection).await?.into_iter().map(ApplicationRecord::try_from).collect()
}

/// A change to an application's status and the facts that go with it.
#[derive(Debug, Clone, Default)]
pub struct ApplicationChange {
    /// New status.
    pub status: Option<ApplicationStatus>,
    /// Review to record.
    pub review: Option<ReviewRecord>,
    /// Withdrawal reason to record.
    pub withdraw_reason: Option<String>,
    /// Enrolled loan to record.
    pub loan_id: Option<i64>,
    /// New approval expiry (a risk officer's approval).
    pub approval_expire_date: Option<NaiveDate>,
}

/// Applies a change and returns the application after it.
pub async fn update(
    connection: &impl ConnectionTrait,
    application_id: i64,
    change: ApplicationChange,
) -> Result<ApplicationRecord, StoreError> {
    let mut active = application::ActiveModel { application_id: Set(application_id), ..Default::default() };
    if let Some(status) = change.status {
        active.status = Set(status.as_str().to_owned());
    }
    if let Some(review) = change.review {
        active.review_verdict = Set(Some(review.verdict));
        active.review_reason = Set(Some(review.reason));
        active.reviewer = Set(Some(review.reviewer));
        active.reviewed_at = Set(Some(review.reviewed_at));
    }
    if let Some(reason) = change.withdraw_reason {
        active.withdraw_reason = Set(Some(reason));
    }
    if let Some(loan_id) = change.loan_id {
        active.loan_id = Set(Some(loan_id));
    }
    if let Some(expiry) = change.approval_expire_date {
        active.approval_expire_date = Set(Some(expiry));
    }
    active.updated_at = Set(crate::clock::instant());
    ApplicationRecord::try_from(active.update(connection).await?)
}

/// Approved amount of an application.
pub fn approved_amount(record: &ApplicationRecord) -> Money {
    record.submission.terms.amount
}
