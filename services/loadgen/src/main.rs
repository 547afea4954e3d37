//! `techcredit-loadgen`: drives a running server over gRPC with N concurrent clients and
//! reports throughput and latency percentiles; `seed` fills a PostgreSQL database with a
//! large covered loan book for position benchmarks. Used by `run-benchmarks.sh`.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a measuring tool: failing loudly is the point

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand, ValueEnum};
use proto::v1 as pb;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

#[derive(Debug, Parser)]
#[command(name = "techcredit-loadgen")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run one scenario against a server.
    Run {
        /// Server address; several, comma-separated, are replicas of one deployment, and
        /// each call goes to one of them (client-side balancing, as a gRPC-aware proxy does).
        #[arg(long, default_value = "http://127.0.0.1:50051")]
        address: String,
        /// Administrator key, or @FILE to read it from a file.
        #[arg(long)]
        admin_key: String,
        /// What to drive.
        #[arg(long, value_enum)]
        scenario: Scenario,
        /// Concurrent clients.
        #[arg(long, default_value_t = 8)]
        clients: usize,
        /// Seconds to run (submit, position, contributions).
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Target request rate per second (open loop); 0 = as fast as the clients go.
        #[arg(long, default_value_t = 0)]
        rate: u64,
        /// Loans to enrol (enroll).
        #[arg(long, default_value_t = 2000)]
        loans: usize,
    },
    /// Write a loan tape matching a seeded book (`SEED-1` … `SEED-N`), with planted
    /// discrepancies: 10 of each kind.
    Tape {
        /// Loans in the seeded book.
        #[arg(long)]
        loans: i64,
        /// Output file.
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Issue a BATCH key with the administrator key and print it.
    BatchKey {
        /// Server address.
        #[arg(long, default_value = "http://127.0.0.1:50051")]
        address: String,
        /// Administrator key, or @FILE.
        #[arg(long)]
        admin_key: String,
    },
    /// Fill a PostgreSQL database with covered loans (SQL, for the position benchmark).
    Seed {
        /// PostgreSQL URL of a migrated techcredit database.
        #[arg(long)]
        database_url: String,
        /// Loans to add.
        #[arg(long)]
        loans: i64,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Scenario {
    /// SubmitApplication.
    Submit,
    /// EnrollLoan of pre-submitted approved applications.
    Enroll,
    /// GetPoolPosition.
    Position,
    /// GetPositionHistory of 24 months (the dashboard's history page's data).
    History,
    /// CommitContribution (ledger postings).
    Contributions,
    /// ListLoans, a page of 100 (a report read, served by the read replica when one is set).
    Lists,
}

/// A channel to `addresses` (comma-separated): one server, or a balance over replicas.
async fn connect(addresses: &str) -> Channel {
    let endpoints: Vec<tonic::transport::Endpoint> =
        addresses.split(',').map(|a| Channel::from_shared(a.trim().to_owned()).expect("address")).collect();
    match endpoints.as_slice() {
        [one] => one.connect().await.expect("connect"),
        _ => Channel::balance_list(endpoints.into_iter()),
    }
}

#[derive(Clone)]
struct Bearer(tonic::metadata::MetadataValue<tonic::metadata::Ascii>);

impl Interceptor for Bearer {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        request.metadata_mut().insert("authorization", self.0.clone());
        Ok(request)
    }
}

type Authed = InterceptedService<Channel, Bearer>;

fn authed(channel: &Channel, key: &str) -> Authed {
    InterceptedService::new(channel.clone(), Bearer(format!("Bearer {key}").parse().unwrap()))
}

fn uscc(serial: u32) -> String {
    domain::Uscc::with_check_character(&format!("91330212MA{serial:07}")).unwrap().to_string()
}

fn today() -> chrono::NaiveDate {
    (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive()
}

fn application(bank: &str, serial: u32, request_id: String) -> pb::SubmitApplicationRequest {
    let year: i32 = today().format("%Y").to_string().parse().unwrap();
    pb::SubmitApplicationRequest {
        request_id,
        bank: format!("banks/{bank}"),
        enterprise: Some(pb::Enterprise {
            uscc: uscc(serial),
            name: format!("load enterprise {serial}"),
            industry_section: "I".into(),
            registration_date: format!("{}-01-01", year - 8),
            annual_revenue: "80000000.00".into(),
            previous_annual_revenue: "60000000.00".into(),
            rd_expense: "6000000.00".into(),
            invention_patents: 4,
            qualifications: vec![pb::QualificationRecord {
                qualification: pb::Qualification::HighTechEnterprise as i32,
                valid_from: format!("{}-01-01", year - 1),
                valid_until: format!("{}-12-31", year + 1),
            }],
            serious_dishonesty_record: false,
            related_party_of_bank: false,
            prior_overdue_count: 0,
            founder_experience_years: 8,
            total_assets: "100000000.00".into(),
            total_liabilities: "30000000.00".into(),
        }),
        terms: Some(pb::LoanTerms {
            amount: "100000.00".into(),
            term_months: 12,
            annual_rate: "0.035".into(),
            purpose: pb::LoanPurpose::WorkingCapital as i32,
            collateral_type: pb::CollateralType::IpPledge as i32,
            first_bank_loan: false,
        }),
    }
}

struct Setup {
    bank: String,
    bank_key: String,
    finance_key: String,
    officer_key: String,
    auditor_key: String,
}

async fn setup(channel: &Channel, admin_key: &str) -> Setup {
    let run = format!("{}", chrono::Utc::now().timestamp_millis());
    let bank = format!("load-{run}");
    let mut admin = pb::admin_service_client::AdminServiceClient::new(authed(channel, admin_key));
    admin
        .create_bank(pb::CreateBankRequest {
            request_id: format!("bank-{run}"),
            bank_id: bank.clone(),
            display_name: "load test bank".into(),
            quota: "10000000000.00".into(),
        })
        .await
        .expect("create bank");
    let key = |role: pb::Role, bank: String, n: u32| {
        let mut admin = admin.clone();
        let run = run.clone();
        async move {
            admin
                .create_api_key(pb::CreateApiKeyRequest {
                    request_id: format!("key-{run}-{n}"),
                    role: role as i32,
                    bank,
                    description: "load test".into(),
                    expire_date: String::new(),
                })
                .await
                .expect("create key")
                .into_inner()
                .secret
        }
    };
    let bank_key = key(pb::Role::Bank, format!("banks/{bank}"), 1).await;
    let finance_key = key(pb::Role::Finance, String::new(), 2).await;
    let officer_key = key(pb::Role::RiskOfficer, String::new(), 3).await;
    let auditor_key = key(pb::Role::Auditor, String::new(), 4).await;
    Setup { bank, bank_key, finance_key, officer_key, auditor_key }
}

async fn fund(channel: &Channel, setup: &Setup, amount: &str) {
    let mut pool = pb::risk_pool_service_client::RiskPoolServiceClient::new(authed(channel, &setup.finance_key));
    let date = today().format("%Y-%m-%d").to_string();
    let run = chrono::Utc::now().timestamp_millis();
    pool.commit_contribution(pb::CommitContributionRequest {
        request_id: format!("fund-c-{run}"),
        contributor: pb::ContributorKind::DistrictBureau as i32,
        bank: String::new(),
        amount: amount.into(),
        effective_date: date.clone(),
        memo: "load test capital".into(),
    })
    .await
    .expect("commit");
    pool.receive_contribution(pb::ReceiveContributionRequest {
        request_id: format!("fund-r-{run}"),
        contributor: pb::ContributorKind::DistrictBureau as i32,
        bank: String::new(),
        amount: amount.into(),
        effective_date: date,
        memo: "load test capital".into(),
    })
    .await
    .expect("receive");
}

/// Latencies and outcome of a run.
struct Tally {
    latencies: Vec<Duration>,
    errors: usize,
    elapsed: Duration,
}

fn report(scenario: &str, clients: usize, tally: &mut Tally) {
    tally.latencies.sort_unstable();
    let n = tally.latencies.len();
    let pct = |p: f64| -> f64 {
        if n == 0 {
            return 0.0;
        }
        let index = ((p * n as f64).ceil() as usize).clamp(1, n) - 1;
        tally.latencies[index].as_secs_f64() * 1000.0
    };
    println!(
        "scenario={scenario} clients={clients} ok={n} errors={} seconds={:.2} throughput={:.1}/s p50={:.2}ms p99={:.2}ms max={:.2}ms",
        tally.errors,
        tally.elapsed.as_secs_f64(),
        n as f64 / tally.elapsed.as_secs_f64(),
        pct(0.50),
        pct(0.99),
        pct(1.0),
    );
}

/// Runs `call` from `clients` tasks until `deadline`, optionally paced to `rate` per second
/// in total (open loop: a late request is sent at once, never skipped).
async fn drive<F, Fut>(clients: usize, seconds: u64, rate: u64, call: F) -> Tally
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Option<bool>> + Send,
{
    let call = Arc::new(call);
    let counter = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let call = call.clone();
        let counter = counter.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0;
            loop {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                if rate > 0 {
                    let due = started + Duration::from_secs_f64(n as f64 / rate as f64);
                    if due >= deadline {
                        break;
                    }
                    tokio::time::sleep_until(due.into()).await;
                } else if Instant::now() >= deadline {
                    break;
                }
                let sent = Instant::now();
                match call(n).await {
                    Some(true) => latencies.push(sent.elapsed()),
                    Some(false) => errors += 1,
                    // The work ran out.
                    None => break,
                }
            }
            (latencies, errors)
        }));
    }
    let mut tally = Tally { latencies: Vec::new(), errors: 0, elapsed: Duration::ZERO };
    for task in tasks {
        let (latencies, errors) = task.await.unwrap();
        tally.latencies.extend(latencies);
        tally.errors += errors;
    }
    tally.elapsed = started.elapsed();
    tally
}

#[tokio::main]
async fn main() {
    match Cli::parse().command {
        Command::Seed { database_url, loans } => seed(&database_url, loans).await,
        Command::Tape { loans, out } => tape(loans, &out),
        Command::BatchKey { address, admin_key } => {
            let admin_key = match admin_key.strip_prefix('@') {
                Some(path) => std::fs::read_to_string(path).expect("read key file").trim().to_owned(),
                None => admin_key,
            };
            let channel = Channel::from_shared(address).unwrap().connect().await.expect("connect");
            let secret = pb::admin_service_client::AdminServiceClient::new(authed(&channel, &admin_key))
                .create_api_key(pb::CreateApiKeyRequest {
                    request_id: format!("batch-{}", chrono::Utc::now().timestamp_millis()),
                    role: pb::Role::Batch as i32,
                    bank: String::new(),
                    description: "benchmark batch job".into(),
                    expire_date: String::new(),
                })
                .await
                .expect("create key")
                .into_inner()
                .secret;
            println!("{secret}");
        }
        Command::Run { address, admin_key, scenario, clients, seconds, rate, loans } => {
            let admin_key = match admin_key.strip_prefix('@') {
                Some(path) => std::fs::read_to_string(path).expect("read key file").trim().to_owned(),
                None => admin_key,
            };
            let channel = connect(&address).await;
            let setup = Arc::new(setup(&channel, &admin_key).await);
            match scenario {
                Scenario::Submit => {
                    let client = pb::loan_application_service_client::LoanApplicationServiceClient::new(authed(
                        &channel,
                        &setup.bank_key,
                    ));
                    let bank = setup.bank.clone();
                    let base = u32::try_from(chrono::Utc::now().timestamp() % 1_000_000).unwrap();
                    let mut tally = drive(clients, seconds, rate, move |n| {
                        let mut client = client.clone();
                        let request = application(&bank, base + n as u32 % 1_000_000, format!("submit-{bank}-{n}"));
                        async move { Some(client.submit_application(request).await.is_ok()) }
                    })
                    .await;
                    report("SubmitApplication", clients, &mut tally);
                }
                Scenario::Enroll => enroll(&channel, &setup, clients, loans).await,
                Scenario::Position => {
                    let client =
                        pb::risk_pool_service_client::RiskPoolServiceClient::new(authed(&channel, &setup.officer_key));
                    let mut tally =
                        drive(clients, seconds, rate, move |_| {
                            let mut client = client.clone();
                            async move {
                                Some(client.get_pool_position(pb::GetPoolPositionRequest::default()).await.is_ok())
                            }
                        })
                        .await;
                    report("GetPoolPosition", clients, &mut tally);
                }
                Scenario::History => {
                    let client =
                        pb::risk_pool_service_client::RiskPoolServiceClient::new(authed(&channel, &setup.officer_key));
                    let mut tally = drive(clients, seconds, rate, move |_| {
                        let mut client = client.clone();
                        async move {
                            let request = pb::GetPositionHistoryRequest { months: 24 };
                            Some(client.get_position_history(request).await.is_ok())
                        }
                    })
                    .await;
                    report("GetPositionHistory", clients, &mut tally);
                }
                Scenario::Lists => {
                    let client = pb::loan_application_service_client::LoanApplicationServiceClient::new(authed(
                        &channel,
                        &setup.officer_key,
                    ));
                    let mut tally = drive(clients, seconds, rate, move |_| {
                        let mut client = client.clone();
                        async move {
                            let request = pb::ListLoansRequest { page_size: 100, ..Default::default() };
                            Some(client.list_loans(request).await.is_ok())
                        }
                    })
                    .await;
                    report("ListLoans", clients, &mut tally);
                }
                Scenario::Contributions => {
                    let client =
                        pb::risk_pool_service_client::RiskPoolServiceClient::new(authed(&channel, &setup.finance_key));
                    let date = today().format("%Y-%m-%d").to_string();
                    let run = setup.bank.clone();
                    let mut tally = drive(clients, seconds, rate, move |n| {
                        let mut client = client.clone();
                        let request = pb::CommitContributionRequest {
                            request_id: format!("{run}-commit-{n}"),
                            contributor: pb::ContributorKind::CityBureau as i32,
                            bank: String::new(),
                            amount: "1000.00".into(),
                            effective_date: date.clone(),
                            memo: String::new(),
                        };
                        async move { Some(client.commit_contribution(request).await.is_ok()) }
                    })
                    .await;
                    report("CommitContribution", clients, &mut tally);
                }
            }
        }
    }
}

async fn enroll(channel: &Channel, setup: &Setup, clients: usize, loans: usize) {
    // Capital so that leverage allows exactly `loans` − 10 loans of 100,000.00: the last
    // ten enrolments must be refused, which shows the limit holding under load.
    let fitting = loans.saturating_sub(10) as i64;
    let capital_fen = fitting * 10_000_000 / 12 + 1;
    let position = pb::risk_pool_service_client::RiskPoolServiceClient::new(authed(channel, &setup.officer_key))
        .get_pool_position(pb::GetPoolPositionRequest::default())
        .await
        .unwrap()
        .into_inner()
        .position
        .unwrap();
    assert_eq!(position.covered_outstanding, "0.00", "the enrol scenario needs an empty book");
    assert_eq!(position.net_pool_assets, "0.00", "the enrol scenario needs an unfunded pool");
    fund(channel, setup, &format!("{}.{:02}", capital_fen / 100, capital_fen % 100)).await;
    let mut loans_client =
        pb::loan_application_service_client::LoanApplicationServiceClient::new(authed(channel, &setup.bank_key));
    let mut names = Vec::with_capacity(loans);
    for n in 0..loans {
        let request = application(&setup.bank, 500_000 + n as u32, format!("pre-{}-{n}", setup.bank));
        let application = loans_client.submit_application(request).await.unwrap().into_inner().application.unwrap();
        names.push(application.name);
    }
    let names = Arc::new(names);
    let next = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(AtomicUsize::new(0));
    let date = today().format("%Y-%m-%d").to_string();
    let maturity = (today() + chrono::Days::new(300)).format("%Y-%m-%d").to_string();
    let (names2, next2, refused2) = (names.clone(), next.clone(), refused.clone());
    let mut tally = drive(clients, 3600, 0, move |_| {
        let mut client = loans_client.clone();
        let index = next2.fetch_add(1, Ordering::Relaxed);
        let refused = refused2.clone();
        let request = names2.get(index).map(|name| pb::EnrollLoanRequest {
            request_id: format!("enrol-{name}"),
            application: name.clone(),
            bank_loan_number: format!("LOAD-{index}"),
            disbursed_amount: "100000.00".into(),
            disbursement_date: date.clone(),
            annual_rate: "0.035".into(),
            maturity_date: maturity.clone(),
        });
        async move {
            let request = request?;
            Some(match client.enroll_loan(request).await {
                Ok(_) => true,
                Err(status) if status.code() == tonic::Code::FailedPrecondition => {
                    refused.fetch_add(1, Ordering::Relaxed);
                    true
                }
                Err(status) => panic!("enrolment failed: {status:?}"),
            })
        }
    })
    .await;
    report("EnrollLoan", clients, &mut tally);
    let refused = refused.load(Ordering::Relaxed);
    let position = pb::risk_pool_service_client::RiskPoolServiceClient::new(authed(channel, &setup.officer_key))
        .get_pool_position(pb::GetPoolPositionRequest::default())
        .await
        .unwrap()
        .into_inner()
        .position
        .unwrap();
    let enrolled = loans - refused;
    let verify = pb::risk_pool_service_client::RiskPoolServiceClient::new(authed(channel, &setup.auditor_key))
        .verify_ledger(pb::VerifyLedgerRequest {})
        .await
        .unwrap()
        .into_inner();
    println!(
        "limits: enrolled={enrolled} refused={refused} expected_fitting={fitting} covered_outstanding={} headroom={} verify_ledger_ok={}",
        position.covered_outstanding, position.headroom, verify.ok
    );
    assert_eq!(enrolled as i64, fitting, "exactly the loans that fit were enrolled");
    assert!(verify.ok);
}

async fn seed(database_url: &str, loans: i64) {
    let store = store::Store::connect(database_url, 2).await.expect("connect");
    store.migrate().await.expect("migrate");
    let started = Instant::now();
    let statements = [
        "INSERT INTO banks (bank_id, display_name, quota_fen, covered_outstanding_fen, pool_exposure_fen, npl_outstanding_fen, status, status_reason, status_manual, created_at, updated_at)
         VALUES ('seed-bank', 'seeded bank', 9000000000000000, 0, 0, 0, 'ACTIVE', '', false, now(), now())
         ON CONFLICT (bank_id) DO NOTHING".to_owned(),
        format!(
            "INSERT INTO applications (bank_id, uscc, enterprise_name, status, amount_fen, term_months, annual_rate, submission, decision, outcome, grade, score, pool_share, enterprise_cap_fen, approval_expire_date, policy_version, submitted_on, created_at, updated_at)
             SELECT 'seed-bank', 'SEED' || lpad(g::text, 14, '0'), 'seeded', 'ENROLLED', 10000000, 12, '0.035', '{{}}', '{{}}', 'APPROVED', 'AA', 800, '0.5', 1000000000, current_date + 90, '2025.1', current_date, now(), now()
             FROM generate_series(1, {loans}) AS g"
        ),
        "INSERT INTO loans (application_id, bank_id, bank_loan_number, uscc, enterprise_name, grade, pool_share, disbursed_fen, disbursement_date, maturity_date, annual_rate, outstanding_fen, pool_exposure_fen, days_past_due, classification, status, last_report_date, policy_version, created_at, updated_at)
         SELECT a.application_id, a.bank_id, 'SEED-' || a.application_id, a.uscc, a.enterprise_name, a.grade, a.pool_share, a.amount_fen, current_date, current_date + 365, a.annual_rate, a.amount_fen, a.amount_fen / 2, 0, 'NORMAL', 'ACTIVE', current_date, a.policy_version, now(), now()
         FROM applications a WHERE a.bank_id = 'seed-bank' AND NOT EXISTS (SELECT 1 FROM loans l WHERE l.application_id = a.application_id)".to_owned(),
        "INSERT INTO enterprise_exposures (uscc, covered_outstanding_fen)
         SELECT uscc, outstanding_fen FROM loans WHERE bank_id = 'seed-bank'
         ON CONFLICT (uscc) DO UPDATE SET covered_outstanding_fen = excluded.covered_outstanding_fen".to_owned(),
        "UPDATE banks SET covered_outstanding_fen = t.o, pool_exposure_fen = t.e
         FROM (SELECT COALESCE(SUM(outstanding_fen), 0) AS o, COALESCE(SUM(pool_exposure_fen), 0) AS e FROM loans WHERE bank_id = 'seed-bank') t
         WHERE bank_id = 'seed-bank'".to_owned(),
        "UPDATE pool_totals SET covered_outstanding_fen = t.o, pool_exposure_fen = t.e, covered_loans = t.n
         FROM (SELECT COALESCE(SUM(outstanding_fen), 0) AS o, COALESCE(SUM(pool_exposure_fen), 0) AS e, COUNT(*) AS n FROM loans WHERE status NOT IN ('REPAID', 'CLOSED')) t
         WHERE id = 1".to_owned(),
        "ANALYZE".to_owned(),
    ];
    for statement in statements {
        store.execute_script(&statement).await.expect("seed statement");
    }
    println!("seeded {loans} loans in {:.1}s", started.elapsed().as_secs_f64());
}

/// Writes the benchmark tape: one row per seeded loan, with 10 planted discrepancies of
/// each kind (balance, status, missing at bank, missing in pool, duplicate, invalid).
fn tape(loans: i64, out: &std::path::Path) {
    use std::io::Write;
    let file = std::fs::File::create(out).expect("create tape");
    let mut writer = std::io::BufWriter::with_capacity(1 << 20, file);
    let uscc = uscc(1);
    writeln!(writer, "bank_loan_number,uscc,outstanding_principal,days_past_due,classification").unwrap();
    let every = (loans / 10).max(1);
    for i in 1..=loans {
        match i % every {
            1 => writeln!(writer, "SEED-{i},{uscc},99999.00,0,NORMAL"),
            2 => writeln!(writer, "SEED-{i},{uscc},100000.00,5,SPECIAL_MENTION"),
            3 => continue,
            _ => writeln!(writer, "SEED-{i},{uscc},100000.00,0,NORMAL"),
        }
        .unwrap();
    }
    for k in 1..=10 {
        writeln!(writer, "GHOST-{k},{uscc},100.00,0,NORMAL").unwrap();
        writeln!(writer, "SEED-{},{uscc},100000.00,0,NORMAL", (k - 1) * every + 5).unwrap();
        writeln!(writer, "BAD-{k},{uscc},12.345,0,NORMAL").unwrap();
    }
    writer.flush().unwrap();
}
