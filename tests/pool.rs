//! The ledger and the pool's figures: a hand-computed position, as-of queries, reversals,
//! stress tests and a property test over random sequences of postings.

use std::collections::BTreeMap;
use std::sync::Arc;

use domain::ledger::{Account, Contributor, EntryDraft};
use domain::{Money, Policy};
use proptest::prelude::*;
use proto::v1 as pb;
use rpc::AppState;
use tests::spawn_app;
use tonic::Code;

use crate::support::*;

fn commit(contributor: pb::ContributorKind, amount: &str, date: String, id: &str) -> pb::CommitContributionRequest {
    pb::CommitContributionRequest {
        request_id: id.into(),
        contributor: contributor as i32,
        bank: String::new(),
        amount: amount.into(),
        effective_date: date,
        memo: String::new(),
    }
}

fn receive(contributor: pb::ContributorKind, amount: &str, date: String, id: &str) -> pb::ReceiveContributionRequest {
    pb::ReceiveContributionRequest {
        request_id: id.into(),
        contributor: contributor as i32,
        bank: String::new(),
        amount: amount.into(),
        effective_date: date,
        memo: String::new(),
    }
}

/// A small book worked out by hand.
///
/// Capital: city bureau commits 2,000,000.00 and pays 1,500,000.00; district bureau commits
/// and pays 2,000,000.00; custodian interest 10,000.00. So cash 3,510,000.00, receivables
/// 500,000.00, net pool assets 4,010,000.00 and committed capital 4,000,000.00.
///
/// Loans: A 1,000,000.00 at 50%; B 2,000,000.00 pure credit, first loan, at 70%; C
/// 500,000.00 at 50%, repaid down to 300,000.00 and classified SUBSTANDARD (defaulted).
/// Covered outstanding 3,300,000.00; exposure 500,000 + 1,400,000 + 150,000 = 2,050,000.00.
/// Leverage 3,300,000 ÷ 4,010,000 = 0.822943; coverage 4,010,000 ÷ 2,050,000 = 1.956098;
/// headroom 12 × 4,010,000 − 3,300,000 = 44,820,000.00; NPL 300,000 ÷ 3,300,000 = 0.090909.
#[tokio::test]
async fn the_position_matches_a_hand_computed_book() {
    let app = spawn_app().await;
    let actors = actors(&app, "nbcb", "100000000.00").await;
    let mut pool = app.pool_as(&actors.finance);
    use pb::ContributorKind::{CityBureau, DistrictBureau};
    pool.commit_contribution(commit(CityBureau, "2000000.00", days_ago(3), "c1")).await.unwrap();
    pool.receive_contribution(receive(CityBureau, "1500000.00", days_ago(3), "r1")).await.unwrap();
    pool.commit_contribution(commit(DistrictBureau, "2000000.00", days_ago(3), "c2")).await.unwrap();
    pool.receive_contribution(receive(DistrictBureau, "2000000.00", days_ago(3), "r2")).await.unwrap();
    pool.record_interest(pb::RecordInterestRequest {
        request_id: "i1".into(),
        amount: "10000.00".into(),
        effective_date: days_ago(0),
        memo: "Q4 interest".into(),
    })
    .await
    .unwrap();

    let mut loans = app.loans_as(&actors.bank_key);
    let a = submit(&app, &actors, &local_uscc(11), "1000000.00").await;
    loans.enroll_loan(enrol_request(&a, "A")).await.unwrap();
    let mut pure_credit = good_terms("2000000.00");
    pure_credit.collateral_type = pb::CollateralType::PureCredit as i32;
    pure_credit.first_bank_loan = true;
    let b = loans
        .submit_application(pb::SubmitApplicationRequest {
            request_id: "b".into(),
            bank: "banks/nbcb".into(),
            enterprise: Some(good_enterprise(&local_uscc(12))),
            terms: Some(pure_credit),
        })
        .await
        .unwrap()
        .into_inner()
        .application
        .unwrap();
    assert_eq!(b.decision.as_ref().unwrap().pool_share, "0.70");
    loans.enroll_loan(enrol_request(&b, "B")).await.unwrap();
    let c = submit(&app, &actors, &local_uscc(13), "500000.00").await;
    let c = enrol(&app, &actors, &c, "C").await;
    loans
        .report_loan_status(pb::ReportLoanStatusRequest {
            request_id: "c-report".into(),
            loan: c.name.clone(),
            report_date: days_ago(0),
            outstanding_principal: "300000.00".into(),
            days_past_due: 40,
            classification: pb::LoanClassification::Substandard as i32,
            repaid: false,
            ..Default::default()
        })
        .await
        .unwrap();

    let position = position(&app, &actors.auditor).await;
    let figures = [
        ("committed_capital", &position.committed_capital, "4000000.00"),
        ("received_capital", &position.received_capital, "3500000.00"),
        ("escrow_cash", &position.escrow_cash, "3510000.00"),
        ("receivables", &position.receivables, "500000.00"),
        ("payables", &position.payables, "0.00"),
        ("net_pool_assets", &position.net_pool_assets, "4010000.00"),
        ("covered_outstanding", &position.covered_outstanding, "3300000.00"),
        ("pool_exposure", &position.pool_exposure, "2050000.00"),
        ("leverage", &position.leverage, "0.822943"),
        ("coverage_ratio", &position.coverage_ratio, "1.956098"),
        ("headroom", &position.headroom, "44820000.00"),
        ("npl_ratio", &position.npl_ratio, "0.090909"),
        ("pool_size_progress", &position.pool_size_progress, "0.080000"),
        ("covered_balance_progress", &position.covered_balance_progress, "0.005500"),
        ("pool_size_target", &position.pool_size_target, "50000000.00"),
        ("covered_balance_target", &position.covered_balance_target, "600000000.00"),
    ];
    for (name, actual, expected) in figures {
        assert_eq!(actual, expected, "{name}");
    }
    assert!(!position.suspended);

    // 9% of the bank's book is non-performing: above 5%, so it is suspended.
    let exposure = app
        .pool_as(&actors.officer)
        .get_bank_exposure(pb::GetBankExposureRequest { bank: "banks/nbcb".into() })
        .await
        .unwrap()
        .into_inner()
        .exposure
        .unwrap();
    assert_eq!(exposure.status(), pb::BankStatus::Suspended);
    assert_eq!(exposure.pool_exposure, "2050000.00");
    assert_eq!(exposure.quota_headroom, "96700000.00");

    // Stress: 10% default, 50% loss on 2,050,000.00 of exposure = 102,500.00.
    let stress = app
        .pool_as(&actors.officer)
        .run_stress_test(pb::RunStressTestRequest {
            default_rate: "0.10".into(),
            per_grade: vec![],
            loss_rate: "0.5".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stress.expected_loss, "102500.00");
    assert_eq!(stress.net_pool_assets_after, "3907500.00");
    assert!(stress.survives);
    assert_eq!(stress.exhaustion_default_rate, "", "even a 100% default leaves the pool solvent");
    assert_ledger_verifies(&app, &actors.auditor).await;
}

#[tokio::test]
async fn as_of_queries_return_the_past_not_the_present() {
    let app = spawn_app().await;
    let actors = actors(&app, "nbcb", "100000000.00").await;
    let mut pool = app.pool_as(&actors.finance);
    use pb::ContributorKind::CityBureau;
    pool.commit_contribution(commit(CityBureau, "1000000.00", days_ago(10), "c1")).await.unwrap();
    pool.receive_contribution(receive(CityBureau, "400000.00", days_ago(5), "r1")).await.unwrap();
    pool.receive_contribution(receive(CityBureau, "600000.00", days_ago(0), "r2")).await.unwrap();
    let a = submit(&app, &actors, &local_uscc(21), "1000000.00").await;
    app.loans_as(&actors.bank_key).enroll_loan(enrol_request(&a, "A")).await.unwrap();

    let at = |date: String| {
        let mut client = app.pool_as(&actors.auditor);
        async move {
            client
                .get_pool_position(pb::GetPoolPositionRequest { as_of: date })
                .await
                .unwrap()
                .into_inner()
                .position
                .unwrap()
        }
    };
    let before = at(days_ago(11)).await;
    assert_eq!((before.committed_capital.as_str(), before.net_pool_assets.as_str()), ("0.00", "0.00"));
    let committed = at(days_ago(10)).await;
    assert_eq!((committed.committed_capital.as_str(), committed.escrow_cash.as_str()), ("1000000.00", "0.00"));
    assert_eq!(committed.receivables, "1000000.00");
    let partly = at(days_ago(5)).await;
    assert_eq!((partly.escrow_cash.as_str(), partly.receivables.as_str()), ("400000.00", "600000.00"));
    assert_eq!(partly.covered_outstanding, "0.00", "the loan was enrolled today");
    let now = position(&app, &actors.auditor).await;
    assert_eq!((now.escrow_cash.as_str(), now.covered_outstanding.as_str()), ("1000000.00", "1000000.00"));

    let accounts = app
        .pool_as(&actors.auditor)
        .list_accounts(pb::ListAccountsRequest { as_of: days_ago(5) })
        .await
        .unwrap()
        .into_inner()
        .accounts;
    let cash = accounts.iter().find(|a| a.code == "escrow_cash").unwrap();
    assert_eq!(cash.balance, "400000.00");
}

#[tokio::test]
async fn reversals_correct_entries_and_guards_refuse_negative_balances() {
    let app = spawn_app().await;
    let actors = actors(&app, "nbcb", "100000000.00").await;
    let mut pool = app.pool_as(&actors.finance);
    use pb::ContributorKind::CityBureau;
    pool.commit_contribution(commit(CityBureau, "1000.00", days_ago(1), "c1")).await.unwrap();
    let too_much = pool.receive_contribution(receive(CityBureau, "1000.01", days_ago(0), "r0")).await.unwrap_err();
    assert_error(&too_much, Code::FailedPrecondition, "BALANCE_WOULD_GO_NEGATIVE");
    assert_eq!(
        too_much.get_details_error_info_metadata("account"),
        Some("contributions_receivable:city_bureau".into())
    );
    let entry = pool
        .receive_contribution(receive(CityBureau, "1000.00", days_ago(0), "r1"))
        .await
        .unwrap()
        .into_inner()
        .entry
        .unwrap();

    let reversal = pool
        .reverse_entry(pb::ReverseEntryRequest {
            request_id: "rev".into(),
            entry: entry.name.clone(),
            effective_date: days_ago(0),
            reason: "posted to the wrong contributor".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .reversal
        .unwrap();
    assert_eq!(reversal.kind(), pb::EntryKind::Reversal);
    assert_eq!(reversal.reverses, entry.name);
    assert_eq!(reversal.postings[0].credit, "1000.00");
    let again = pool
        .reverse_entry(pb::ReverseEntryRequest {
            request_id: "rev-2".into(),
            entry: entry.name.clone(),
            effective_date: days_ago(0),
            reason: "again".into(),
        })
        .await
        .unwrap_err();
    assert_error(&again, Code::FailedPrecondition, "ENTRY_ALREADY_REVERSED");
    let listed = app
        .pool_as(&actors.auditor)
        .list_journal_entries(pb::ListJournalEntriesRequest { account: "escrow_cash".into(), ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .entries;
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[1].reversed_by, reversal.name, "the original links to its reversal");
    assert_eq!(position(&app, &actors.auditor).await.escrow_cash, "0.00");
    let bank_cannot = app
        .pool_as(&actors.bank_key)
        .record_interest(pb::RecordInterestRequest {
            request_id: "x".into(),
            amount: "1.00".into(),
            effective_date: days_ago(0),
            memo: String::new(),
        })
        .await
        .unwrap_err();
    assert_error(&bank_cannot, Code::PermissionDenied, "PERMISSION_DENIED");
    assert_ledger_verifies(&app, &actors.auditor).await;
}

/// One step of a random ledger history.
#[derive(Debug, Clone)]
enum Step {
    Commit(usize, i64),
    Receive(usize, i64),
    Interest(i64),
    Reverse(usize),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0..3usize, 1..5_000_000i64).prop_map(|(c, fen)| Step::Commit(c, fen)),
        (0..3usize, 1..5_000_000i64).prop_map(|(c, fen)| Step::Receive(c, fen)),
        (1..100_000i64).prop_map(Step::Interest),
        (0..40usize).prop_map(Step::Reverse),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, failure_persistence: None, ..ProptestConfig::default() })]

    /// For random sequences of contributions, interest and reversals: every accepted entry
    /// balances, refused ones leave nothing, no guarded balance goes negative, the stored
    /// balances equal an independent model, and VerifyLedger finds nothing.
    #[test]
    fn random_ledger_histories_stay_whole(steps in proptest::collection::vec(step(), 1..30)) {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        runtime.block_on(async move {
            let database = tests::fresh_database().await;
            let dir = tempfile::tempdir().unwrap();
            let url = database.url(dir.path());
            let store = store::Store::connect(&url, 2).await.unwrap();
            store.migrate().await.unwrap();
            let contributors = [
                Contributor::CityBureau,
                Contributor::DistrictBureau,
                Contributor::Bank(domain::BankId::parse("nbcb").unwrap()),
            ];
            let date = chrono::NaiveDate::from_ymd_opt(2025, 6, 1).unwrap();
            let mut model: BTreeMap<Account, i64> = BTreeMap::new();
            let mut posted: Vec<(i64, EntryDraft)> = Vec::new();
            let mut reversed = std::collections::BTreeSet::new();
            for step in steps {
                let (draft, reverses) = match &step {
                    Step::Commit(c, fen) => (EntryDraft::contribution_committed(&contributors[*c], Money::from_fen(*fen), date, ""), None),
                    Step::Receive(c, fen) => (EntryDraft::contribution_received(&contributors[*c], Money::from_fen(*fen), date, ""), None),
                    Step::Interest(fen) => (EntryDraft::interest(Money::from_fen(*fen), date, ""), None),
                    Step::Reverse(index) => {
                        let Some((id, original)) = posted.get(*index).cloned() else { continue };
                        if reversed.contains(&id) { continue; }
                        (EntryDraft::reversal_of(&original.postings, date, "undo"), Some(id))
                    }
                };
                // The model decides independently whether a guard must refuse the entry.
                let mut next = model.clone();
                for (account, change) in draft.balance_changes() {
                    *next.entry(account).or_default() += change.fen();
                }
                let must_refuse = next.iter().any(|(account, balance)| account.is_guarded() && *balance < 0);
                let txn = store.begin_write().await.unwrap();
                let result = store::ledger::post(&txn, &draft, "proptest", reverses).await;
                match (result, must_refuse) {
                    (Ok(entry), false) => {
                        txn.commit().await.unwrap();
                        model = next;
                        if let Some(original) = reverses { reversed.insert(original); } else { posted.push((entry.entry_id, draft)); }
                    }
                    (Err(store::ledger::PostError::Rule(_)), true) => drop(txn),
                    (result, must_refuse) => panic!("step {step:?}: result {:?}, model says refuse = {must_refuse}", result.map(|e| e.entry_id)),
                }
            }
            let balances = store::ledger::balances(&store.read().await.unwrap()).await.unwrap();
            for (account, expected) in &model {
                assert_eq!(balances.0.get(account).copied().unwrap_or_default(), Money::from_fen(*expected), "{account}");
                assert!(!account.is_guarded() || *expected >= 0);
            }
            let state = AppState {
                store: store.clone(),
                policy: Arc::new(Policy::default_policy()),
                policy_document: Arc::from(""),
            };
            let report = pool::verify_ledger(&state).await.unwrap();
            assert!(report.ok(), "{:?}", report.differences);
        });
    }
}

#[tokio::test]
async fn the_verify_ledger_command_finds_tampering() {
    let app = spawn_app().await;
    let actors = actors(&app, "nbcb", "100000000.00").await;
    fund_pool(&app, &actors.finance, "1000000.00").await;
    let a = submit(&app, &actors, &local_uscc(31), "1000000.00").await;
    app.loans_as(&actors.bank_key).enroll_loan(enrol_request(&a, "A")).await.unwrap();
    let url = app.database.url(&app.settings.data_dir);
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_e2e-server"))
            .arg("verify-ledger")
            .env("DATABASE_URL", &url)
            .env("RUST_LOG", "error")
            .output()
            .unwrap()
    };
    let clean = run();
    assert!(clean.status.success(), "{}", String::from_utf8_lossy(&clean.stdout));
    assert!(String::from_utf8_lossy(&clean.stdout).contains("the books are whole"));

    let store = store::Store::connect(&url, 1).await.unwrap();
    store
        .execute_script("UPDATE accounts SET debit_total_fen = debit_total_fen + 1 WHERE code = 'escrow_cash'")
        .await
        .unwrap();
    store
        .execute_script("UPDATE pool_totals SET covered_outstanding_fen = covered_outstanding_fen - 100")
        .await
        .unwrap();
    let tampered = run();
    assert_eq!(tampered.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&tampered.stdout);
    assert!(
        stdout
            .contains("account escrow_cash debit/credit totals: expected 1000000.00 / 0.00, stored 1000000.01 / 0.00"),
        "{stdout}"
    );
    assert!(stdout.contains("pool total covered_outstanding: expected 1000000.00, stored 999999.00"), "{stdout}");
}

/// The history is each closed month's position on its last day — what `GetPoolPosition`
/// as of that day says — kept once computed; a posting dated back into a closed month
/// refreshes it.
#[tokio::test]
async fn the_history_is_each_month_end_and_a_back_dated_posting_refreshes_it() {
    let app = tests::spawn_app_on("2025-01-02").await;
    let actors = actors(&app, "nbcb", "100000000.00").await;
    fund_pool_on(&app, &actors.finance, "1000000.00", "2025-01-02").await;
    let application = submit(&app, &actors, &local_uscc(81), "1000000.00").await;
    let loan = app
        .loans_as(&actors.bank_key)
        .enroll_loan(pb::EnrollLoanRequest {
            disbursement_date: "2025-01-01".into(),
            maturity_date: "2025-12-01".into(),
            ..enrol_request(&application, "H1")
        })
        .await
        .unwrap();
    assert!(loan.into_inner().loan.is_some());
    app.advance_to("2025-03-03").await;
    let history = |months: i32| {
        let mut pool = app.pool_as(&actors.auditor);
        async move { pool.get_position_history(pb::GetPositionHistoryRequest { months }).await.unwrap().into_inner().months }
    };
    let months = history(24).await;
    let periods: Vec<&str> = months.iter().map(|m| m.period.as_str()).collect();
    assert_eq!(periods, ["2025-01", "2025-02"], "closed months since the first contribution");
    let january = app
        .pool_as(&actors.auditor)
        .get_pool_position(pb::GetPoolPositionRequest { as_of: "2025-01-31".into() })
        .await
        .unwrap()
        .into_inner()
        .position
        .unwrap();
    assert_eq!(
        (months[0].net_pool_assets.as_str(), months[0].covered_outstanding.as_str()),
        (january.net_pool_assets.as_str(), january.covered_outstanding.as_str())
    );
    assert_eq!(months[0].leverage, january.leverage);
    assert_eq!(months[0].loans_by_grade.len(), 1);
    assert_eq!(months[0].loans_by_grade[0].outstanding, "1000000.00");

    // Interest dated 15 February, recorded in March: February's month end changes.
    app.pool_as(&actors.finance)
        .record_interest(pb::RecordInterestRequest {
            request_id: "late-interest".into(),
            amount: "1234.56".into(),
            effective_date: "2025-02-15".into(),
            memo: "bank statement arrived late".into(),
        })
        .await
        .unwrap();
    let refreshed = history(24).await;
    assert_eq!(refreshed[0].net_pool_assets, months[0].net_pool_assets, "January is untouched");
    assert_eq!(refreshed[1].net_pool_assets, "1001234.56", "February now has the interest");
    let bad = app.pool_as(&actors.auditor).get_position_history(pb::GetPositionHistoryRequest { months: 121 }).await;
    assert_error(&bad.unwrap_err(), Code::InvalidArgument, "INVALID_ARGUMENT");
}

/// The position's reader is one snapshot: a posting that commits between its reads of the
/// pool's totals and of the ledger is not half in its figures. A plain read (each statement
/// its own moment) sees the posting at once; the snapshot sees it only when read anew.
/// A migrated store on a fresh database whose pool the city funded with 1,000,000.00 on
/// 1 June 2025 (the directory holds a SQLite database).
async fn store_funded_on_1_june_2025() -> (store::Store, tempfile::TempDir) {
    let database = tests::fresh_database().await;
    let dir = tempfile::tempdir().unwrap();
    let store = store::Store::connect(&database.url(dir.path()), 4).await.unwrap();
    store.migrate().await.unwrap();
    let date = chrono::NaiveDate::from_ymd_opt(2025, 6, 1).unwrap();
    let city = Contributor::CityBureau;
    post(&store, EntryDraft::contribution_committed(&city, Money::from_fen(100_000_000), date, "")).await;
    post(&store, EntryDraft::contribution_received(&city, Money::from_fen(100_000_000), date, "")).await;
    (store, dir)
}

/// Posts `draft` in a write transaction of its own.
async fn post(store: &store::Store, draft: EntryDraft) {
    let txn = store.begin_write().await.unwrap();
    store::ledger::post(&txn, &draft, "store-test", None).await.unwrap();
    txn.commit().await.unwrap();
}

#[tokio::test]
async fn the_position_s_snapshot_does_not_see_a_posting_committed_between_its_reads() {
    let (store, _dir) = store_funded_on_1_june_2025().await;
    let date = chrono::NaiveDate::from_ymd_opt(2025, 6, 1).unwrap();

    let snapshot = store.read_replica_snapshot().await.unwrap();
    let plain = store.read_replica().await.unwrap();
    let first = store::ledger::balances(&snapshot).await.unwrap().net_pool_assets();
    store::pool::read(&snapshot).await.unwrap();
    assert_eq!(store::ledger::balances(&plain).await.unwrap().net_pool_assets(), first);
    // 1,234.56 of interest commits while both readers are open.
    post(&store, EntryDraft::interest(Money::from_fen(123_456), date, "")).await;
    assert_eq!(store::ledger::balances(&snapshot).await.unwrap().net_pool_assets(), first, "one moment");
    assert_eq!(
        store::ledger::balances(&plain).await.unwrap().net_pool_assets(),
        Money::from_fen(first.fen() + 123_456),
        "a plain read sees the commit"
    );
    snapshot.finish().await.unwrap();
    plain.finish().await.unwrap();
    let again = store.read_replica_snapshot().await.unwrap();
    assert_eq!(store::ledger::balances(&again).await.unwrap().net_pool_assets(), Money::from_fen(100_123_456));
    again.finish().await.unwrap();
}

/// The month-end race: the history computes June from a read, a posting dated back into
/// June commits (deleting June's snapshot, of which there is none yet), and only then does
/// the history go to keep what it computed. It must not keep it — June would stay without
/// the posting for good — and the next read computes June with it.
#[tokio::test]
async fn a_month_computed_before_a_posting_dated_back_into_it_is_not_kept() {
    let (store, _dir) = store_funded_on_1_june_2025().await;
    let june = |day| chrono::NaiveDate::from_ymd_opt(2025, 6, day).unwrap();
    let months = [("2025-06".to_owned(), june(30))];
    // As the history reads: a plain read of the primary.
    let read = async || {
        let reader = store.read().await.unwrap();
        let read = store::history::month_ends(&reader, &months).await.unwrap();
        reader.finish().await.unwrap();
        read
    };
    let keep = async |computed: &store::history::Computed| {
        let txn = store.begin_write().await.unwrap();
        let kept = store::history::keep(&txn, computed).await.unwrap();
        txn.commit().await.unwrap();
        kept
    };

    let (figures, computed) = read().await;
    assert_eq!(figures[0].net_pool_assets, 100_000_000);
    post(&store, EntryDraft::interest(Money::from_fen(123_456), june(15), "")).await;
    assert_eq!(keep(&computed).await, 0, "June was read before the posting dated into it");

    let (figures, computed) = read().await;
    assert_eq!(figures[0].net_pool_assets, 100_123_456, "June computed again, with the interest");
    assert_eq!(keep(&computed).await, 1);
    let (figures, computed) = read().await;
    assert!(computed.is_empty(), "June is kept now");
    assert_eq!(figures[0].net_pool_assets, 100_123_456);
}
