//! Loss sharing beyond the pool and the bank: co-sharing parties with the bank's minimum
//! retention, and loans excluded from cover with their compensation clawed back.

use proto::v1 as pb;
use tests::{TestApp, spawn_app_on, spawn_app_with_policy_on};
use tonic::Code;

use crate::support::*;

/// The default policy with an insurer sharing 20 % of every principal loss.
fn policy_with_insurer() -> String {
    policy_with_annual_cap("10000000.00").replace("version = \"2025.1\"", "version = \"test-insurer\"").replace(
        "[bank_status]",
        "[[loss_sharing.parties]]\nparty = \"picc-ningbo\"\nshare = \"0.20\"\n\n[bank_status]",
    )
}

fn create_party(id: &str, kind: pb::CoSharingPartyKind) -> pb::CreateCoSharingPartyRequest {
    pb::CreateCoSharingPartyRequest {
        request_id: format!("party-{id}"),
        party_id: id.to_owned(),
        display_name: "人保财险宁波分公司".to_owned(),
        kind: kind as i32,
    }
}

async fn party(app: &TestApp, key: &str) -> pb::CoSharingParty {
    let request = pb::GetCoSharingPartyRequest { name: "parties/picc-ningbo".into() };
    app.admin_as(Some(key)).get_co_sharing_party(request).await.unwrap().into_inner().party.unwrap()
}

async fn run_statement(app: &TestApp, actors: &Actors, period: &str, id: &str) -> pb::Statement {
    let request = pb::RunSettlementRequest { request_id: id.into(), bank: "banks/nbcb".into(), period: period.into() };
    app.settlement_as(&actors.finance).run_settlement(request).await.unwrap().into_inner().statement.unwrap()
}

async fn confirm(app: &TestApp, actors: &Actors, statement: &pb::Statement, id: &str) -> pb::Statement {
    let request = pb::ConfirmStatementRequest {
        request_id: id.into(),
        name: statement.name.clone(),
        content_sha256: statement.content_sha256.clone(),
    };
    app.settlement_as(&actors.finance).confirm_statement(request).await.unwrap().into_inner().statement.unwrap()
}

async fn pay(app: &TestApp, actors: &Actors, statement: &pb::Statement, amount: &str, date: &str, id: &str) {
    let request = pb::RecordStatementPaymentRequest {
        request_id: id.into(),
        statement: statement.name.clone(),
        amount: amount.into(),
        value_date: date.into(),
        reference: format!("CUST-{id}"),
    };
    app.settlement_as(&actors.finance).record_statement_payment(request).await.expect("record the payment");
}

async fn csv(app: &TestApp, key: &str, statement: &pb::Statement) -> String {
    let request = pb::ExportStatementRequest { name: statement.name.clone(), format: pb::ExportFormat::Csv as i32 };
    let export = app.settlement_as(key).export_statement(request).await.unwrap().into_inner();
    String::from_utf8(export.content).unwrap()
}

fn exclude(loan: &str, reason: pb::ExclusionReason, id: &str, date: &str) -> pb::ExcludeLoanRequest {
    pb::ExcludeLoanRequest {
        request_id: id.into(),
        loan: loan.into(),
        reason: reason as i32,
        reason_text: "a court dishonesty record dated before enrolment came to light".into(),
        exclusion_date: date.into(),
    }
}

#[tokio::test]
async fn an_insurer_shares_the_loss_the_pool_pays_its_own_part_and_the_statement_shows_the_insurer_s() {
    let app = spawn_app_with_policy_on(&policy_with_insurer(), &days_ago(0)).await;
    let actors = actors(&app, "nbcb", "100000000.00").await;
    fund_pool(&app, &actors.finance, "10000000.00").await;
    let admin = issue_key(&app, pb::Role::Admin, "").await;
    let loan = defaulted_pure_credit_loan(&app, &actors, 301).await;

    // The policy names a party no administrator registered: the claim is refused, saying so.
    let unregistered = app
        .settlement_as(&actors.bank_key)
        .file_claim(pb::FileClaimRequest {
            request_id: "early".into(),
            loan: loan.clone(),
            claim_date: days_ago(0),
            memo: String::new(),
        })
        .await
        .unwrap_err();
    assert_error(&unregistered, Code::FailedPrecondition, "CO_SHARING_PARTY_NOT_REGISTERED");
    assert!(unregistered.message().contains("parties/picc-ningbo"), "{}", unregistered.message());

    // Only an administrator registers parties; the kind is required; an id is taken once.
    let by_bank = app
        .admin_as(Some(&actors.bank_key))
        .create_co_sharing_party(create_party("picc-ningbo", pb::CoSharingPartyKind::Insurer))
        .await
        .unwrap_err();
    assert_eq!(by_bank.code(), Code::PermissionDenied);
    let no_kind = app
        .admin_as(Some(&admin))
        .create_co_sharing_party(create_party("picc-ningbo", pb::CoSharingPartyKind::Unspecified))
        .await
        .unwrap_err();
    assert_eq!(field_violations(&no_kind).keys().collect::<Vec<_>>(), ["kind"]);
    let created = app
        .admin_as(Some(&admin))
        .create_co_sharing_party(create_party("picc-ningbo", pb::CoSharingPartyKind::Insurer))
        .await
        .unwrap()
        .into_inner()
        .party
        .unwrap();
    assert_eq!((created.name.as_str(), created.policy_share.as_str()), ("parties/picc-ningbo", "0.20"));
    assert_eq!((created.decided_total.as_str(), created.claims), ("0.00", 0));
    let mut again = create_party("picc-ningbo", pb::CoSharingPartyKind::GuaranteeCompany);
    again.request_id = "party-again".into();
    let taken = app.admin_as(Some(&admin)).create_co_sharing_party(again).await.unwrap_err();
    assert_eq!(taken.code(), Code::AlreadyExists);

    // 2,400,000.00 lost: the insurer's 20 % is 480,000.00; the bank keeps at least 20 %, so
    // the pool's 70 % is cut to 60 %: 1,440,000.00; the bank bears 480,000.00.
    let claim = file(&app, &actors, &loan).await;
    assert_eq!((claim.pool_share.as_str(), claim.pool_share_cut_from.as_str()), ("0.60", "0.70"));
    assert_eq!((claim.requested_compensation.as_str(), claim.bank_retained.as_str()), ("1440000.00", "480000.00"));
    let parts: Vec<(&str, &str, &str)> =
        claim.co_sharer_parts.iter().map(|p| (p.party.as_str(), p.share.as_str(), p.amount.as_str())).collect();
    assert_eq!(parts, [("parties/picc-ningbo", "0.20", "480000.00")]);
    let pending = party(&app, &actors.officer).await;
    assert_eq!(
        (pending.pending_total.as_str(), pending.decided_total.as_str(), pending.claims),
        ("480000.00", "0.00", 1)
    );

    let second = issue_key(&app, pb::Role::RiskOfficer, "").await;
    app.settlement_as(&actors.officer).approve_claim(approve(&claim, "a1")).await.unwrap();
    let approved = app.settlement_as(&second).approve_claim(approve(&claim, "a2")).await.unwrap().into_inner();
    let approved = approved.claim.unwrap();
    assert_eq!(approved.compensation, "1440000.00", "the pool pays only its own part");
    assert_eq!(approved.breakdown.unwrap().bound_by(), pb::CompensationLimit::Entitlement);
    let decided = party(&app, &actors.auditor).await;
    assert_eq!((decided.pending_total.as_str(), decided.decided_total.as_str()), ("0.00", "480000.00"));
    let mut finance = app.admin_as(Some(&actors.finance));
    let listed = finance.list_co_sharing_parties(pb::ListCoSharingPartiesRequest {}).await.unwrap().into_inner();
    assert_eq!(listed.parties, std::slice::from_ref(&decided));

    // The statement owes the bank the pool's part; the insurer's is a memo line outside the net.
    let period = today().format("%Y-%m").to_string();
    let statement = run_statement(&app, &actors, &period, "s1").await;
    assert_eq!((statement.net_amount.as_str(), statement.compensation_total.as_str()), ("1440000.00", "1440000.00"));
    let memos: Vec<(&str, &str, &str)> =
        statement.memo_lines.iter().map(|m| (m.party.as_str(), m.source.as_str(), m.amount.as_str())).collect();
    assert_eq!(memos, [("parties/picc-ningbo", claim.name.as_str(), "480000.00")]);
    let exported = csv(&app, &actors.auditor, &statement).await;
    expect_test::expect![[r#"
        bank,period
        nbcb,PERIOD
        line,kind,source,description,amount
        1,COMPENSATION,claims/1,compensation for loans/1 (0.60 of a 2400000.00 loss),1440000.00
        total,COMPENSATION,,,1440000.00
        total,SHORTFALL_CARRIED,,,0.00
        total,RECOVERY,,,0.00
        total,CONTRIBUTION_DUE,,,0.00
        net,POOL_PAYS_BANK,,,1440000.00
        memo,party,source,description,amount
        memo 1,picc-ningbo,claims/1,picc-ningbo's part of the 2400000.00 loss on loans/1 (0.20): the bank claims it from parties/picc-ningbo,480000.00
    "#]]
    .assert_eq(&exported.replace(&period, "PERIOD"));
    // The bank sees its own claim's parts too; the parties' registry is not the bank's to read.
    let own = get_claim(&app, &actors.bank_key, &claim.name).await;
    assert_eq!(own.co_sharer_parts, approved.co_sharer_parts);
    let mut bank = app.admin_as(Some(&actors.bank_key));
    let denied = bank.list_co_sharing_parties(pb::ListCoSharingPartiesRequest {}).await.unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    assert_ledger_verifies(&app, &actors.auditor).await;
}

#[tokio::test]
async fn an_excluded_loan_frees_its_exposure_and_one_officer_excludes_a_loan_without_compensation() {
    let app = spawn_app_on(&days_ago(0)).await;
    let actors = actors(&app, "nbcb", "100000000.00").await;
    fund_pool(&app, &actors.finance, "10000000.00").await;
    let loan = enrolled_pure_credit_loan(&app, &actors, 311).await;
    let before = position(&app, &actors.auditor).await;
    assert_eq!(before.covered_outstanding, "3000000.00");

    let mut bank = app.loans_as(&actors.bank_key);
    let by_bank = bank.exclude_loan(exclude(&loan, pb::ExclusionReason::Misrepresentation, "x0", &days_ago(0))).await;
    assert_eq!(by_bank.unwrap_err().code(), Code::PermissionDenied);
    let mut no_reason = exclude(&loan, pb::ExclusionReason::Unspecified, "x1", &days_ago(0));
    no_reason.reason_text = " ".into();
    let invalid = app.loans_as(&actors.officer).exclude_loan(no_reason).await.unwrap_err();
    let mut fields: Vec<String> = field_violations(&invalid).into_keys().collect();
    fields.sort();
    assert_eq!(fields, ["reason", "reason_text"]);

    let request = exclude(&loan, pb::ExclusionReason::DishonestyRecord, "x2", &days_ago(0));
    let done = app.loans_as(&actors.officer).exclude_loan(request.clone()).await.unwrap().into_inner();
    let exclusion = done.exclusion.unwrap();
    assert_eq!((exclusion.status(), exclusion.officers_required), (pb::ExclusionStatus::Excluded, 1));
    assert_eq!((exclusion.exposure_released.as_str(), exclusion.clawback_amount.as_str()), ("3000000.00", "0.00"));
    let excluded = done.loan.unwrap();
    assert_eq!(excluded.status(), pb::LoanStatus::Excluded);
    assert_eq!(excluded.exclusion.as_ref().unwrap().reason(), pb::ExclusionReason::DishonestyRecord);
    let replay = app.loans_as(&actors.officer).exclude_loan(request).await.unwrap().into_inner();
    assert_eq!(replay.exclusion.unwrap().name, exclusion.name, "the same request answers alike");

    let after = position(&app, &actors.auditor).await;
    assert_eq!((after.covered_outstanding.as_str(), after.pool_exposure.as_str()), ("0.00", "0.00"));
    let mut admin = app.admin_as(Some(&actors.officer));
    let bank = admin.get_bank(pb::GetBankRequest { name: "banks/nbcb".into() }).await.unwrap().into_inner();
    assert_eq!(bank.bank.unwrap().quota_used, "0.00", "the bank's quota is freed");
    let twice = app
        .loans_as(&actors.officer)
        .exclude_loan(exclude(&loan, pb::ExclusionReason::DishonestyRecord, "x3", &days_ago(0)))
        .await
        .unwrap_err();
    assert_error(&twice, Code::FailedPrecondition, "LOAN_NOT_EXCLUDABLE");
    let report = app
        .loans_as(&actors.bank_key)
        .report_loan_status(pb::ReportLoanStatusRequest {
            request_id: "late-report".into(),
            loan: loan.clone(),
            report_date: days_ago(0),
            outstanding_principal: "3000000.00".into(),
            classification: pb::LoanClassification::Normal as i32,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_error(&report, Code::FailedPrecondition, "LOAN_NOT_REPORTABLE");
    assert_ledger_verifies(&app, &actors.auditor).await;
}

#[tokio::test]
async fn paid_compensation_on_an_excluded_loan_is_clawed_back_through_the_next_statement() {
    let app = spawn_app_on(&days_ago(0)).await;
    let actors = actors(&app, "nbcb", "100000000.00").await;
    fund_pool(&app, &actors.finance, "10000000.00").await;
    let second = issue_key(&app, pb::Role::RiskOfficer, "").await;
    let loan = defaulted_pure_credit_loan(&app, &actors, 321).await;
    let claim = file(&app, &actors, &loan).await;
    app.settlement_as(&actors.officer).approve_claim(approve(&claim, "a1")).await.unwrap();
    app.settlement_as(&second).approve_claim(approve(&claim, "a2")).await.unwrap();
    // DOMAIN.md's worked example: a 600,000.00 recovery gives the pool 420,000.00.
    let recovery = pb::ReportRecoveryRequest {
        request_id: "rec".into(),
        loan: loan.clone(),
        amount: "600000.00".into(),
        recovery_date: days_ago(0),
        r#final: false,
    };
    app.settlement_as(&actors.bank_key).report_recovery(recovery).await.unwrap();
    let month = today().format("%Y-%m").to_string();
    let statement = run_statement(&app, &actors, &month, "s1").await;
    assert_eq!(statement.net_amount, "1260000.00");
    app.advance_to(&next_month_start()).await;
    let confirmed = confirm(&app, &actors, &statement, "c1").await;

    // While the statement still owes the bank, the loan cannot be excluded.
    let open = app
        .loans_as(&actors.officer)
        .exclude_loan(exclude(&loan, pb::ExclusionReason::DishonestyRecord, "x0", &next_month_start()))
        .await
        .unwrap_err();
    assert_error(&open, Code::FailedPrecondition, "EXCLUSION_STATEMENT_OPEN");
    assert!(open.message().contains("1260000.00"), "{}", open.message());
    pay(&app, &actors, &confirmed, "1260000.00", &next_month_start(), "p1").await;
    assert_eq!(position(&app, &actors.auditor).await.escrow_cash, "8740000.00");

    // Four eyes: the loan has compensation. The same officer twice, or another reason, is refused.
    let first = app
        .loans_as(&actors.officer)
        .exclude_loan(exclude(&loan, pb::ExclusionReason::DishonestyRecord, "x1", &next_month_start()))
        .await
        .unwrap()
        .into_inner();
    let pending = first.exclusion.unwrap();
    assert_eq!((pending.status(), pending.officers_required), (pb::ExclusionStatus::AwaitingSecond, 2));
    assert_eq!(first.loan.unwrap().status(), pb::LoanStatus::Recovering, "nothing changes before the second");
    let same = app
        .loans_as(&actors.officer)
        .exclude_loan(exclude(&loan, pb::ExclusionReason::DishonestyRecord, "x2", &next_month_start()))
        .await
        .unwrap_err();
    assert_error(&same, Code::FailedPrecondition, "SAME_APPROVER");
    let differs = app
        .loans_as(&second)
        .exclude_loan(exclude(&loan, pb::ExclusionReason::Misrepresentation, "x3", &next_month_start()))
        .await
        .unwrap_err();
    assert_error(&differs, Code::FailedPrecondition, "EXCLUSION_REASONS_DIFFER");
    let done = app
        .loans_as(&second)
        .exclude_loan(exclude(&loan, pb::ExclusionReason::DishonestyRecord, "x4", &next_month_start()))
        .await
        .unwrap()
        .into_inner();
    // Paid 1,680,000.00, of which the pool got 420,000.00 back: 1,260,000.00 is owed back.
    let exclusion = done.exclusion.unwrap();
    assert_eq!(exclusion.status(), pb::ExclusionStatus::Excluded);
    assert_eq!(exclusion.officers.len(), 2);
    assert_eq!((exclusion.clawback_amount.as_str(), exclusion.compensation_cancelled.as_str()), ("1260000.00", "0.00"));
    assert_eq!(exclusion.claim, claim.name);
    assert_eq!(get_claim(&app, &actors.bank_key, &claim.name).await.status(), pb::ClaimStatus::Cancelled);
    let undone = position(&app, &actors.auditor).await;
    assert_eq!((undone.receivables.as_str(), undone.compensation_approved.as_str()), ("1260000.00", "0.00"));
    assert_eq!(undone.net_pool_assets, "10000000.00", "the expense and the recovery income are undone");
    let request = pb::GetBankExposureRequest { bank: "banks/nbcb".into() };
    let exposure = app.pool_as(&actors.officer).get_bank_exposure(request).await.unwrap().into_inner();
    let rating = exposure.exposure.unwrap().rating.unwrap();
    assert_eq!(
        (rating.compensation.as_str(), rating.payout_ratio.as_str()),
        ("0.00", "0.000000"),
        "the grade forgets it too"
    );
    assert_ledger_verifies(&app, &actors.auditor).await;

    // The next statement nets the clawback: the bank pays it back.
    let next = next_month_start()[..7].to_owned();
    let claw = run_statement(&app, &actors, &next, "s2").await;
    let lines: Vec<(pb::StatementLineKind, &str)> = claw.lines.iter().map(|l| (l.kind(), l.amount.as_str())).collect();
    assert_eq!(lines, [(pb::StatementLineKind::Clawback, "1260000.00")]);
    assert_eq!(
        (claw.direction(), claw.clawbacks_total.as_str()),
        (pb::SettlementDirection::BankPaysPool, "1260000.00")
    );
    assert!(csv(&app, &actors.auditor, &claw).await.contains("total,CLAWBACK,,,1260000.00\n"));
    let after_next =
        chrono::NaiveDate::parse_from_str(&format!("{next}-01"), "%Y-%m-%d").unwrap() + chrono::Months::new(1);
    let after_next = after_next.format("%Y-%m-%d").to_string();
    app.advance_to(&after_next).await;
    let agreed = confirm(&app, &actors, &claw, "c2").await;
    assert_eq!(agreed.amount_due, "1260000.00");
    pay(&app, &actors, &agreed, "1260000.00", &after_next, "p2").await;
    let whole = position(&app, &actors.auditor).await;
    assert_eq!((whole.escrow_cash.as_str(), whole.receivables.as_str()), ("10000000.00", "0.00"));
    assert_ledger_verifies(&app, &actors.auditor).await;
}

#[tokio::test]
async fn each_quarter_s_rating_is_stored_and_the_policy_may_put_a_bank_on_watch_for_its_grade() {
    let policy = policy_with_annual_cap("10000000.00")
        .replace("version = \"2025.1\"", "version = \"test-graded-watch\"")
        .replace("suspend_npl_ratio = \"0.05\"\n", "suspend_npl_ratio = \"0.05\"\nwatch_grade = \"B\"\n");
    assert!(policy.contains("watch_grade = \"B\""));
    let app = spawn_app_with_policy_on(&policy, &days_ago(0)).await;
    let actors = actors(&app, "nbcb", "100000000.00").await;
    fund_pool(&app, &actors.finance, "10000000.00").await;
    let second = issue_key(&app, pb::Role::RiskOfficer, "").await;
    let batch = issue_key(&app, pb::Role::Batch, "").await;
    let lost = enrolled_pure_credit_loan(&app, &actors, 331).await;
    enrolled_pure_credit_loan(&app, &actors, 332).await;
    default_loan(&app, &actors, &lost).await;
    let claim = file(&app, &actors, &lost).await;
    app.settlement_as(&actors.officer).approve_claim(approve(&claim, "a1")).await.unwrap();
    app.settlement_as(&second).approve_claim(approve(&claim, "a2")).await.unwrap();
    let close = pb::CloseLoanRequest {
        request_id: "w".into(),
        loan: lost.clone(),
        close_date: days_ago(0),
        ..Default::default()
    };
    app.settlement_as(&actors.bank_key).close_loan(close).await.unwrap();
    // Written off: nothing non-performing is left (the NPL rules say ACTIVE again), but the bank was
    // paid 1,680,000.00 on 6,000,000.00 enrolled: a 28 % payout ratio, grade B.
    let exposure = |key: String| {
        let mut pool = app.pool_as(&key);
        async move {
            let request = pb::GetBankExposureRequest { bank: "banks/nbcb".into() };
            pool.get_bank_exposure(request).await.unwrap().into_inner().exposure.unwrap()
        }
    };
    let before = exposure(actors.officer.clone()).await;
    assert_eq!((before.status(), before.rating.unwrap().grade()), (pb::BankStatus::Active, pb::BankGrade::B));
    assert!(before.quarterly_ratings.is_empty(), "nothing stored before the first rating");

    let mut bank = app.pool_as(&actors.bank_key);
    let denied = bank.rate_banks(pb::RateBanksRequest { request_id: "r0".into() }).await.unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    let rated = app.pool_as(&batch).rate_banks(pb::RateBanksRequest { request_id: "r1".into() }).await.unwrap();
    let rated = rated.into_inner();
    let quarter = |date: chrono::NaiveDate| {
        format!("{}-Q{}", chrono::Datelike::year(&date), (chrono::Datelike::month(&date) - 1) / 3 + 1)
    };
    assert_eq!(rated.quarter, quarter(today()));
    assert_eq!(rated.ratings.len(), 1);
    let stored = rated.ratings[0].rating.clone().unwrap();
    assert_eq!((stored.grade(), stored.payout_ratio.as_str()), (pb::BankGrade::B, "0.280000"));
    let watched = &rated.exposures[0];
    assert_eq!(watched.status(), pb::BankStatus::Watch, "the policy's watch_grade B");
    assert_eq!(watched.status_reason, "quarterly grade B (the policy sets WATCH from grade B)");
    // Watch refers the bank's new applications to a risk officer.
    let referred = submit(&app, &actors, &local_uscc(333), "500000.00").await;
    assert_eq!(referred.status(), pb::ApplicationStatus::Referred);

    // Rated again in the quarter: one rating for it. In the next quarter: a second, newest first.
    app.pool_as(&actors.officer).rate_banks(pb::RateBanksRequest { request_id: "r2".into() }).await.unwrap();
    assert_eq!(exposure(actors.auditor.clone()).await.quarterly_ratings.len(), 1);
    let next_quarter = {
        let start = chrono::NaiveDate::from_ymd_opt(chrono::Datelike::year(&today()), 1, 1).unwrap();
        let mut date = start;
        while date <= today() {
            date = date + chrono::Months::new(3);
        }
        date
    };
    app.advance_to(&next_quarter.format("%Y-%m-%d").to_string()).await;
    app.pool_as(&batch).rate_banks(pb::RateBanksRequest { request_id: "r3".into() }).await.unwrap();
    let history = exposure(actors.auditor.clone()).await.quarterly_ratings;
    let quarters: Vec<&str> = history.iter().map(|r| r.quarter.as_str()).collect();
    assert_eq!(quarters, [quarter(next_quarter), quarter(today())]);
    assert_ledger_verifies(&app, &actors.auditor).await;
}
