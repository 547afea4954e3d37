//! Small helpers shared by the end-to-end tests.

use std::collections::HashMap;

use proto::v1 as pb;
use tests::TestApp;
use tonic::{Code, Status};
use tonic_types::StatusExt;

/// The `ErrorInfo.reason` of a status.
pub fn reason(status: &Status) -> String {
    status.get_details_error_info().map(|info| info.reason).unwrap_or_default()
}

/// Field → description of a status's `BadRequest` violations.
pub fn field_violations(status: &Status) -> HashMap<String, String> {
    status
        .get_details_bad_request()
        .map(|bad| bad.field_violations.into_iter().map(|v| (v.field, v.description)).collect())
        .unwrap_or_default()
}

/// Extension: one `ErrorInfo.metadata` value of a status.
pub trait ErrorMetadata {
    /// The metadata value under `key`.
    fn get_details_error_info_metadata(&self, key: &str) -> Option<String>;
}

impl ErrorMetadata for Status {
    fn get_details_error_info_metadata(&self, key: &str) -> Option<String> {
        self.get_details_error_info().and_then(|info| info.metadata.get(key).cloned())
    }
}

/// Asserts a status's code and reason.
#[track_caller]
pub fn assert_error(status: &Status, code: Code, expected_reason: &str) {
    assert_eq!(status.code(), code, "{status:?}");
    assert_eq!(reason(status), expected_reason, "{status:?}");
}

/// Creates a bank with a quota, as the admin.
pub async fn create_bank(app: &TestApp, bank_id: &str, quota: &str) -> pb::Bank {
    app.admin()
        .create_bank(pb::CreateBankRequest {
            request_id: format!("create-{bank_id}"),
            bank_id: bank_id.to_owned(),
            display_name: format!("Bank {bank_id}"),
            quota: quota.to_owned(),
        })
        .await
        .expect("create bank")
        .into_inner()
        .bank
        .expect("bank in response")
}

/// Issues a key of `role` (bound to `bank` for bank keys) and returns its secret.
pub async fn issue_key(app: &TestApp, role: pb::Role, bank: &str) -> String {
    app.admin()
        .create_api_key(pb::CreateApiKeyRequest {
            request_id: format!("key-{}-{bank}-{}", role.as_str_name(), rand_suffix()),
            role: role as i32,
            bank: bank.to_owned(),
            description: "test key".to_owned(),
            expire_date: String::new(),
        })
        .await
        .expect("create api key")
        .into_inner()
        .secret
}

pub fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed).to_string()
}

/// Today's business date (Asia/Shanghai), as the server computes it.
pub fn today() -> chrono::NaiveDate {
    (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive()
}

/// A date `days` before today, as text.
pub fn days_ago(days: u64) -> String {
    (today() - chrono::Days::new(days)).format("%Y-%m-%d").to_string()
}

/// The first day of the month after today's, as text.
pub fn next_month_start() -> String {
    let today = today();
    let (year, month) = if chrono::Datelike::month(&today) == 12 {
        (chrono::Datelike::year(&today) + 1, 1)
    } else {
        (chrono::Datelike::year(&today), chrono::Datelike::month(&today) + 1)
    };
    format!("{year:04}-{month:02}-01")
}

/// A valid USCC registered in Yinzhou (330212) with serial number `n`.
pub fn local_uscc(n: u32) -> String {
    uscc_in("330212", n)
}

/// A valid USCC in `division` with serial `n`.
pub fn uscc_in(division: &str, n: u32) -> String {
    domain::Uscc::with_check_character(&format!("91{division}MA{n:07}")).unwrap().to_string()
}

/// An AAA enterprise (score 900 on the default policy) with the given USCC.
pub fn good_enterprise(uscc: &str) -> pb::Enterprise {
    let year = today().format("%Y").to_string().parse::<i32>().unwrap();
    pb::Enterprise {
        uscc: uscc.to_owned(),
        name: format!("示例科技 {uscc}"),
        industry_section: "I".to_owned(),
        registration_date: format!("{}-01-01", year - 8),
        annual_revenue: "80000000.00".to_owned(),
        previous_annual_revenue: "60000000.00".to_owned(),
        rd_expense: "6000000.00".to_owned(),
        invention_patents: 4,
        qualifications: vec![
            pb::QualificationRecord {
                qualification: pb::Qualification::HighTechEnterprise as i32,
                valid_from: format!("{}-01-01", year - 1),
                valid_until: format!("{}-12-31", year + 1),
            },
            pb::QualificationRecord {
                qualification: pb::Qualification::TechSme as i32,
                valid_from: format!("{}-01-01", year - 1),
                valid_until: format!("{}-12-31", year + 1),
            },
        ],
        serious_dishonesty_record: false,
        related_party_of_bank: false,
        prior_overdue_count: 0,
        founder_experience_years: 8,
        total_assets: "100000000.00".to_owned(),
        total_liabilities: "30000000.00".to_owned(),
    }
}

/// Loan terms within every limit and the auto-approval limit.
pub fn good_terms(amount: &str) -> pb::LoanTerms {
    pb::LoanTerms {
        amount: amount.to_owned(),
        term_months: 12,
        annual_rate: "0.0350".to_owned(),
        purpose: pb::LoanPurpose::WorkingCapital as i32,
        collateral_type: pb::CollateralType::IpPledge as i32,
        first_bank_loan: false,
    }
}

/// A bank, a key for it, and a risk officer, finance and auditor key.
#[derive(Clone)]
pub struct Actors {
    /// Bank id.
    pub bank: String,
    /// The bank's key.
    pub bank_key: String,
    /// Risk officer.
    pub officer: String,
    /// Finance.
    pub finance: String,
    /// Auditor.
    pub auditor: String,
}

/// Makes a bank with `quota` and the keys of every actor.
pub async fn actors(app: &TestApp, bank: &str, quota: &str) -> Actors {
    create_bank(app, bank, quota).await;
    Actors {
        bank: bank.to_owned(),
        bank_key: issue_key(app, pb::Role::Bank, &format!("banks/{bank}")).await,
        officer: issue_key(app, pb::Role::RiskOfficer, "").await,
        finance: issue_key(app, pb::Role::Finance, "").await,
        auditor: issue_key(app, pb::Role::Auditor, "").await,
    }
}

/// Commits and receives `amount` from the city bureau, so net pool assets grow by it.
pub async fn fund_pool(app: &TestApp, finance: &str, amount: &str) {
    fund_pool_on(app, finance, amount, &days_ago(0)).await;
}

/// `fund_pool` with the contribution effective on `date`.
pub async fn fund_pool_on(app: &TestApp, finance: &str, amount: &str, date: &str) {
    let mut pool = app.pool_as(finance);
    let suffix = rand_suffix();
    pool.commit_contribution(pb::CommitContributionRequest {
        request_id: format!("commit-{suffix}"),
        contributor: pb::ContributorKind::CityBureau as i32,
        bank: String::new(),
        amount: amount.to_owned(),
        effective_date: date.to_owned(),
        memo: "test funding".to_owned(),
    })
    .await
    .expect("commit contribution");
    pool.receive_contribution(pb::ReceiveContributionRequest {
        request_id: format!("receive-{suffix}"),
        contributor: pb::ContributorKind::CityBureau as i32,
        bank: String::new(),
        amount: amount.to_owned(),
        effective_date: date.to_owned(),
        memo: "test funding".to_owned(),
    })
    .await
    .expect("receive contribution");
}

/// Submits an application for `uscc` and returns it.
pub async fn submit(app: &TestApp, actors: &Actors, uscc: &str, amount: &str) -> pb::Application {
    app.loans_as(&actors.bank_key)
        .submit_application(pb::SubmitApplicationRequest {
            request_id: format!("submit-{uscc}-{}", rand_suffix()),
            bank: format!("banks/{}", actors.bank),
            enterprise: Some(good_enterprise(uscc)),
            terms: Some(good_terms(amount)),
        })
        .await
        .expect("submit application")
        .into_inner()
        .application
        .expect("application")
}

/// An enrolment request for an application, disbursed yesterday at its amount.
pub fn enrol_request(application: &pb::Application, number: &str) -> pb::EnrollLoanRequest {
    let terms = application.terms.as_ref().unwrap();
    pb::EnrollLoanRequest {
        request_id: format!("enrol-{number}"),
        application: application.name.clone(),
        bank_loan_number: number.to_owned(),
        disbursed_amount: terms.amount.clone(),
        disbursement_date: days_ago(1),
        annual_rate: terms.annual_rate.clone(),
        maturity_date: (today() + chrono::Days::new(300)).format("%Y-%m-%d").to_string(),
    }
}

/// Enrols an approved application as bank loan `number` (see `enrol_request`).
pub async fn enrol(app: &TestApp, actors: &Actors, application: &pb::Application, number: &str) -> pb::Loan {
    app.loans_as(&actors.bank_key)
        .enroll_loan(enrol_request(application, number))
        .await
        .expect("enrol the loan")
        .into_inner()
        .loan
        .expect("loan")
}

/// A 3,000,000.00 pure-credit first loan (pool share 70%), referred, approved by the
/// officer and enrolled as `PC-{serial}`. Returns the loan's name.
pub async fn enrolled_pure_credit_loan(app: &TestApp, actors: &Actors, serial: u32) -> String {
    let mut terms = good_terms("3000000.00");
    terms.collateral_type = pb::CollateralType::PureCredit as i32;
    terms.first_bank_loan = true;
    let application = app
        .loans_as(&actors.bank_key)
        .submit_application(pb::SubmitApplicationRequest {
            request_id: format!("app-{serial}"),
            bank: format!("banks/{}", actors.bank),
            enterprise: Some(good_enterprise(&local_uscc(serial))),
            terms: Some(terms),
        })
        .await
        .expect("submit")
        .into_inner()
        .application
        .expect("application");
    assert_eq!(application.status(), pb::ApplicationStatus::Referred);
    app.loans_as(&actors.officer)
        .review_application(pb::ReviewApplicationRequest {
            request_id: format!("review-{serial}"),
            name: application.name.clone(),
            verdict: pb::ReviewVerdict::Approve as i32,
            reason: "first loan of a strong firm".into(),
        })
        .await
        .expect("review");
    let loan = enrol(app, actors, &application, &format!("PC-{serial}")).await;
    assert_eq!(loan.pool_share, "0.70");
    loan.name
}

/// Reports the loan 95 days past due, DOUBTFUL, with `outstanding` left: it defaults.
pub async fn default_with(app: &TestApp, actors: &Actors, loan: &str, outstanding: &str) {
    let defaulted = app
        .loans_as(&actors.bank_key)
        .report_loan_status(pb::ReportLoanStatusRequest {
            request_id: format!("default-{loan}"),
            loan: loan.to_owned(),
            report_date: days_ago(0),
            outstanding_principal: outstanding.into(),
            days_past_due: 95,
            classification: pb::LoanClassification::Doubtful as i32,
            repaid: false,
            ..Default::default()
        })
        .await
        .expect("report the default")
        .into_inner()
        .loan
        .expect("loan");
    assert_eq!(defaulted.status(), pb::LoanStatus::Defaulted);
}

/// Files the bank's claim on a defaulted loan, dated `date`, under `request_id`.
pub async fn file_on(app: &TestApp, actors: &Actors, loan: &str, date: &str, request_id: &str) -> pb::Claim {
    let request = pb::FileClaimRequest {
        request_id: request_id.to_owned(),
        loan: loan.to_owned(),
        claim_date: date.to_owned(),
        memo: String::new(),
    };
    app.settlement_as(&actors.bank_key)
        .file_claim(request)
        .await
        .expect("file the claim")
        .into_inner()
        .claim
        .expect("claim")
}

/// Files the bank's claim on a defaulted loan today.
pub async fn file(app: &TestApp, actors: &Actors, loan: &str) -> pb::Claim {
    app.settlement_as(&actors.bank_key)
        .file_claim(pb::FileClaimRequest {
            request_id: format!("file-{loan}"),
            loan: loan.to_owned(),
            claim_date: days_ago(0),
            memo: "borrower insolvent".into(),
        })
        .await
        .expect("file the claim")
        .into_inner()
        .claim
        .expect("claim")
}

/// A 3,000,000.00 pure-credit first loan (pool share 70%), referred and approved, enrolled,
/// then defaulted with 2,400,000.00 outstanding. Returns the loan's name.
pub async fn defaulted_pure_credit_loan(app: &TestApp, actors: &Actors, serial: u32) -> String {
    let loan = enrolled_pure_credit_loan(app, actors, serial).await;
    default_loan(app, actors, &loan).await;
    loan
}

/// Reports the loan 95 days past due with 2,400,000.00 outstanding: it defaults.
pub async fn default_loan(app: &TestApp, actors: &Actors, loan: &str) {
    default_with(app, actors, loan, "2400000.00").await;
}

/// The default policy with another annual cap per bank.
pub fn policy_with_annual_cap(cap: &str) -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../services/domain/policy/default.toml"))
        .expect("the default policy")
        .replace("annual_cap_per_bank = \"10000000.00\"", &format!("annual_cap_per_bank = \"{cap}\""))
}

/// The default policy with a portfolio cap rate (and its own version).
pub fn policy_with_portfolio_cap(rate: &str) -> String {
    policy_with_annual_cap("10000000.00")
        .replace("version = \"2025.1\"", "version = \"test-portfolio-cap\"")
        .replace("early_default_months = 6\n", &format!("early_default_months = 6\nportfolio_cap_rate = \"{rate}\"\n"))
}

pub fn approve(claim: &pb::Claim, id: &str) -> pb::ApproveClaimRequest {
    pb::ApproveClaimRequest {
        request_id: id.to_owned(),
        name: claim.name.clone(),
        approval_date: days_ago(0),
        comment: "checked the file".into(),
        ..Default::default()
    }
}

/// The pool's position now.
pub async fn position(app: &TestApp, key: &str) -> pb::PoolPosition {
    app.pool_as(key)
        .get_pool_position(pb::GetPoolPositionRequest::default())
        .await
        .expect("position")
        .into_inner()
        .position
        .unwrap()
}

/// Asserts the auditor's ledger verification finds nothing.
pub async fn assert_ledger_verifies(app: &TestApp, auditor: &str) {
    let report = app.pool_as(auditor).verify_ledger(pb::VerifyLedgerRequest {}).await.expect("verify").into_inner();
    assert!(report.ok, "ledger differences: {:?}", report.differences);
}

/// A claim as `key` sees it now.
pub async fn get_claim(app: &TestApp, key: &str, name: &str) -> pb::Claim {
    let request = pb::GetClaimRequest { name: name.to_owned() };
    app.settlement_as(key).get_claim(request).await.expect("get the claim").into_inner().claim.expect("claim")
}

/// A loan tape of `rows` as its stream: header, chunks of three rows, end.
pub fn messages(bank: &str, as_of: &str, rows: Vec<pb::LoanTapeRow>) -> Vec<pb::ReconcileLoanTapeRequest> {
    let mut messages = vec![pb::ReconcileLoanTapeRequest {
        part: Some(pb::reconcile_loan_tape_request::Part::Header(pb::LoanTapeHeader {
            bank: bank.into(),
            as_of: as_of.into(),
            file_name: "tape.csv".into(),
        })),
        request_id: "tape".into(),
    }];
    for chunk in rows.chunks(3) {
        messages.push(pb::ReconcileLoanTapeRequest {
            part: Some(pb::reconcile_loan_tape_request::Part::Chunk(pb::LoanTapeChunk { rows: chunk.to_vec() })),
            request_id: String::new(),
        });
    }
    messages.push(end_of_tape(rows.len() as i64));
    messages
}

/// The end of a tape of `rows` rows.
pub fn end_of_tape(rows: i64) -> pb::ReconcileLoanTapeRequest {
    pb::ReconcileLoanTapeRequest {
        part: Some(pb::reconcile_loan_tape_request::Part::End(pb::LoanTapeEnd { rows })),
        request_id: String::new(),
    }
}
