//! Scale-out on PostgreSQL: a hot standby serving the reads that may lag, with the reads a
//! caller needs fresh kept on the primary. Runs when `TEST_PRIMARY_URL` and
//! `TEST_STANDBY_URL` name a primary and its streaming standby (`tests/scale-out.sh` starts
//! them; `.ci/run` does).

use proto::v1 as pb;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use tests::TestDatabase;

use crate::support::*;

/// The primary's and the standby's URLs of a fresh database, once the standby has it.
async fn replicated_database() -> Option<(String, String)> {
    let (Ok(primary), Ok(standby)) = (std::env::var("TEST_PRIMARY_URL"), std::env::var("TEST_STANDBY_URL")) else {
        eprintln!("TEST_PRIMARY_URL / TEST_STANDBY_URL not set: the read-replica test needs tests/scale-out.sh");
        return None;
    };
    let name = format!("techcredit_replica_{}_{}", std::process::id(), rand_suffix());
    let admin = Database::connect(primary.as_str()).await.expect("connect to the primary");
    admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create database");
    admin.close().await.ok();
    let rebase = |url: &str| format!("{}/{name}", url.rsplit_once('/').expect("URL ends with /dbname").0);
    let (primary, standby) = (rebase(&primary), rebase(&standby));
    // The standby replays the CREATE DATABASE a moment later.
    for _ in 0..100 {
        if Database::connect(standby.as_str()).await.is_ok() {
            return Some((primary, standby));
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the standby never had the new database");
}

async fn replay(standby: &DatabaseConnection, action: &str) {
    standby.execute_unprepared(&format!("SELECT pg_wal_replay_{action}()")).await.expect("replay control");
}

async fn listed(app: &tests::TestApp, key: &str) -> Vec<String> {
    let applications = app
        .loans_as(key)
        .list_applications(pb::ListApplicationsRequest { page_size: 100, ..Default::default() })
        .await
        .expect("list applications")
        .into_inner()
        .applications;
    applications.into_iter().map(|a| a.name).collect()
}

/// Until `condition` holds of the standby's answers (replication is asynchronous).
async fn eventually<F: AsyncFn() -> bool>(what: &str, condition: F) {
    for _ in 0..200 {
        if condition().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the standby never caught up: {what}");
}

/// Writes go to the primary and a caller reads its own writes at once (GetApplication,
/// GetLoan); the lists and the pool's position come from the standby. With the standby's
/// replay paused they show the book as it was, and once it resumes they catch up.
#[tokio::test]
async fn lists_and_the_position_read_the_standby_and_a_caller_reads_its_own_writes_at_once() {
    let Some((primary, standby)) = replicated_database().await else { return };
    let database = TestDatabase::Postgres { url: primary, pooled: None };
    let read_url = standby.clone();
    let app = tests::spawn_app_on_database(database, move |settings| {
        settings.database_read_url = Some(server::DatabaseUrl::new(read_url));
    })
    .await;
    let actors = actors(&app, "nbcb", "100000000.00").await;
    fund_pool(&app, &actors.finance, "50000000.00").await;
    let first = submit(&app, &actors, &local_uscc(1), "1000000.00").await;
    eventually("the first application", async || listed(&app, &actors.bank_key).await == [first.name.clone()]).await;
    let position = async || position(&app, &actors.auditor).await.covered_outstanding;
    eventually("the funded pool", async || position().await == "0.00").await;

    let standby_admin = Database::connect(standby.as_str()).await.unwrap();
    replay(&standby_admin, "pause").await;
    // Written on the primary while the standby stands still.
    let second = submit(&app, &actors, &local_uscc(2), "1000000.00").await;
    let read_back = app
        .loans_as(&actors.bank_key)
        .get_application(pb::GetApplicationRequest { name: second.name.clone() })
        .await
        .expect("a bank reads the application it just submitted")
        .into_inner()
        .application
        .unwrap();
    assert_eq!(read_back.status(), pb::ApplicationStatus::Approved);
    let loan = enrol(&app, &actors, &first, "REPLICA-1").await;
    let loan_read = app
        .loans_as(&actors.bank_key)
        .get_loan(pb::GetLoanRequest { name: loan.name.clone() })
        .await
        .expect("and the loan it just enrolled")
        .into_inner()
        .loan
        .unwrap();
    assert_eq!(loan_read.outstanding_principal, "1000000.00");
    // The standby's view: neither the second application nor the enrolment yet.
    assert_eq!(listed(&app, &actors.bank_key).await, std::slice::from_ref(&first.name), "the list is the standby's");
    assert_eq!(position().await, "0.00", "the position is the standby's");

    replay(&standby_admin, "resume").await;
    eventually("the second application", async || listed(&app, &actors.bank_key).await.len() == 2).await;
    eventually("the enrolment", async || position().await == "1000000.00").await;
    assert_ledger_verifies(&app, &actors.auditor).await;
}
