//! The foundation: health, reflection, authentication and roles, idempotency, errors,
//! banks and keys, exact money on both databases, start-up failures.

use std::process::Command;

use proto::v1 as pb;
use sea_orm::{ConnectionTrait, Statement};
use tests::{TestDatabase, spawn_app, test_settings};
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
use tonic_reflection::pb::v1::{
    ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
    server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
};

use crate::support::{assert_error, create_bank, field_violations, issue_key};

#[tokio::test]
async fn every_service_reports_serving_without_credentials() {
    let app = spawn_app().await;
    let mut health = HealthClient::new(app.channel());
    for service in ["", "techcredit.v1.AdminService"].into_iter().chain(proto::SERVICE_NAMES) {
        let response = health
            .check(HealthCheckRequest { service: service.to_owned() })
            .await
            .unwrap_or_else(|e| panic!("health of {service:?}: {e}"))
            .into_inner();
        assert_eq!(response.status(), ServingStatus::Serving, "{service:?}");
    }
}

#[tokio::test]
async fn reflection_lists_the_three_services_and_admin() {
    let app = spawn_app().await;
    let mut reflection = ServerReflectionClient::new(app.channel());
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = reflection
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .expect("reflection call")
        .into_inner();
    let response = responses.message().await.expect("stream").expect("one response");
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("unexpected reflection answer {response:?}");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for expected in proto::SERVICE_NAMES.into_iter().chain(["grpc.health.v1.Health"]) {
        assert!(names.iter().any(|n| n == expected), "{expected} missing from {names:?}");
    }
}

#[tokio::test]
async fn calls_without_a_valid_key_are_unauthenticated() {
    let app = spawn_app().await;
    let list = pb::ListBanksRequest::default();
    let missing = app.admin_as(None).list_banks(list.clone()).await.unwrap_err();
    assert_error(&missing, Code::Unauthenticated, "UNAUTHENTICATED");
    let wrong = app.admin_as(Some("bootstrap-admin.0000")).list_banks(list.clone()).await.unwrap_err();
    assert_error(&wrong, Code::Unauthenticated, "UNAUTHENTICATED");
    assert!(app.admin().list_banks(list).await.is_ok());
}

#[tokio::test]
async fn the_bootstrap_key_is_saved_privately_and_made_once() {
    let app = spawn_app().await;
    let path = app.settings.data_dir.join("bootstrap-admin.key");
    let saved = std::fs::read_to_string(&path).expect("key file");
    assert_eq!(saved.trim(), app.admin_key);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    // A restart on the same database keeps the key and makes no new one.
    let app = app.restart().await;
    assert!(app.admin().list_banks(pb::ListBanksRequest::default()).await.is_ok());
    let keys = app.admin().list_api_keys(pb::ListApiKeysRequest::default()).await.unwrap().into_inner();
    assert_eq!(keys.api_keys.len(), 1);
}

#[tokio::test]
async fn roles_are_enforced_and_revoked_keys_stop_working() {
    let app = spawn_app().await;
    create_bank(&app, "nbcb", "100000000.00").await;
    let bank_key = issue_key(&app, pb::Role::Bank, "banks/nbcb").await;
    let auditor_key = issue_key(&app, pb::Role::Auditor, "").await;

    let denied = app
        .admin_as(Some(&bank_key))
        .create_bank(pb::CreateBankRequest {
            request_id: "r1".into(),
            bank_id: "other".into(),
            display_name: "Other".into(),
            quota: "1.00".into(),
        })
        .await
        .unwrap_err();
    assert_error(&denied, Code::PermissionDenied, "PERMISSION_DENIED");
    // An auditor sees who holds which key (never a secret: the record has none).
    let keys = app.admin_as(Some(&auditor_key)).list_api_keys(pb::ListApiKeysRequest::default()).await.unwrap();
    let keys = keys.into_inner().api_keys;
    assert!(keys.iter().any(|k| k.role() == pb::Role::Auditor), "{keys:?}");
    // An auditor reads banks.
    let banks = app.admin_as(Some(&auditor_key)).list_banks(pb::ListBanksRequest::default()).await.unwrap();
    assert_eq!(banks.into_inner().banks.len(), 1);

    let key_id = auditor_key.split('.').next().unwrap().to_owned();
    app.admin()
        .revoke_api_key(pb::RevokeApiKeyRequest { request_id: "revoke-1".into(), name: format!("apiKeys/{key_id}") })
        .await
        .expect("revoke");
    let revoked = app.admin_as(Some(&auditor_key)).list_banks(pb::ListBanksRequest::default()).await.unwrap_err();
    assert_error(&revoked, Code::Unauthenticated, "UNAUTHENTICATED");
}

#[tokio::test]
async fn a_bank_sees_only_itself() {
    let app = spawn_app().await;
    create_bank(&app, "nbcb", "100000000.00").await;
    create_bank(&app, "icbc", "100000000.00").await;
    let key = issue_key(&app, pb::Role::Bank, "banks/nbcb").await;
    let mut client = app.admin_as(Some(&key));
    let own = client.get_bank(pb::GetBankRequest { name: "banks/nbcb".into() }).await.unwrap().into_inner();
    assert_eq!(own.bank.unwrap().bank_id, "nbcb");
    let other = client.get_bank(pb::GetBankRequest { name: "banks/icbc".into() }).await.unwrap_err();
    assert_error(&other, Code::NotFound, "NOT_FOUND");
    let listing = client.list_banks(pb::ListBanksRequest::default()).await.unwrap_err();
    assert_error(&listing, Code::PermissionDenied, "PERMISSION_DENIED");
}

#[tokio::test]
async fn banks_are_created_read_listed_in_pages_and_updated() {
    let app = spawn_app().await;
    let created = create_bank(&app, "nbcb-yinzhou", "120000000.00").await;
    assert_eq!(created.name, "banks/nbcb-yinzhou");
    assert_eq!(created.quota, "120000000.00");
    assert_eq!(created.quota_used, "0.00");
    assert_eq!(created.status(), pb::BankStatus::Active);
    for id in ["b1", "b2", "b3"] {
        create_bank(&app, id, "1000.5").await;
    }
    let mut admin = app.admin();
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = admin
            .list_banks(pb::ListBanksRequest { page_size: 3, page_token: token.clone() })
            .await
            .unwrap()
            .into_inner();
        assert!(page.banks.len() <= 3);
        seen.extend(page.banks.into_iter().map(|b| b.bank_id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen, ["b1", "b2", "b3", "nbcb-yinzhou"]);

    let updated = admin
        .update_bank(pb::UpdateBankRequest {
            request_id: "u1".into(),
            name: "banks/b1".into(),
            display_name: String::new(),
            quota: "2000.00".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .bank
        .unwrap();
    assert_eq!((updated.quota.as_str(), updated.display_name.as_str()), ("2000.00", "Bank b1"));
    let missing = admin.get_bank(pb::GetBankRequest { name: "banks/nope".into() }).await.unwrap_err();
    assert_error(&missing, Code::NotFound, "NOT_FOUND");
}

#[tokio::test]
async fn a_retry_returns_the_original_response_and_reuse_is_refused() {
    let app = spawn_app().await;
    let request = pb::CreateApiKeyRequest {
        request_id: "issue-finance-key".into(),
        role: pb::Role::Finance as i32,
        bank: String::new(),
        description: "finance desk".into(),
        expire_date: String::new(),
    };
    let mut admin = app.admin();
    let first = admin.create_api_key(request.clone()).await.unwrap().into_inner();
    let again = admin.create_api_key(request.clone()).await.unwrap().into_inner();
    assert_eq!(first, again, "a retry returns the same key and secret");
    let keys = admin.list_api_keys(pb::ListApiKeysRequest::default()).await.unwrap().into_inner();
    assert_eq!(keys.api_keys.len(), 2, "bootstrap + one finance key, not two");

    let changed = pb::CreateApiKeyRequest { description: "someone else".into(), ..request.clone() };
    let reused = admin.create_api_key(changed).await.unwrap_err();
    assert_error(&reused, Code::AlreadyExists, "IDEMPOTENCY_KEY_REUSED");

    // The memory survives a restart.
    let app = app.restart().await;
    let after_restart = app.admin().create_api_key(request).await.unwrap().into_inner();
    assert_eq!(first, after_restart);
}

#[tokio::test]
async fn concurrent_duplicates_make_one_change_and_one_answer() {
    let app = spawn_app().await;
    let request = pb::CreateBankRequest {
        request_id: "same".into(),
        bank_id: "racer".into(),
        display_name: "Racer".into(),
        quota: "5000000.00".into(),
    };
    let mut calls = Vec::new();
    for _ in 0..8 {
        let mut client = app.admin();
        let request = request.clone();
        calls.push(tokio::spawn(async move { client.create_bank(request).await.map(|r| r.into_inner()) }));
    }
    let mut answers = Vec::new();
    for call in calls {
        answers.push(call.await.unwrap().expect("every duplicate succeeds"));
    }
    assert!(answers.windows(2).all(|pair| pair[0] == pair[1]), "{answers:?}");
    let banks = app.admin().list_banks(pb::ListBanksRequest::default()).await.unwrap().into_inner();
    assert_eq!(banks.banks.len(), 1);
}

/// Duplicates whose work would succeed twice (a contribution is just another journal
/// entry): the second's work is rolled back when its key is found remembered, so the money
/// is counted once.
#[tokio::test]
async fn concurrent_duplicate_postings_count_the_money_once() {
    let app = spawn_app().await;
    let actors = crate::support::actors(&app, "nbcb", "5000000.00").await;
    let request = pb::CommitContributionRequest {
        request_id: "commit-once".into(),
        contributor: pb::ContributorKind::CityBureau as i32,
        bank: String::new(),
        amount: "1000000.00".into(),
        effective_date: crate::support::days_ago(0),
        memo: "committed once".into(),
    };
    let mut calls = Vec::new();
    for _ in 0..8 {
        let mut client = app.pool_as(&actors.finance);
        let request = request.clone();
        calls.push(tokio::spawn(async move { client.commit_contribution(request).await.map(|r| r.into_inner()) }));
    }
    let mut answers = Vec::new();
    for call in calls {
        answers.push(call.await.unwrap().expect("every duplicate succeeds"));
    }
    assert!(answers.windows(2).all(|pair| pair[0] == pair[1]), "{answers:?}");
    let position = crate::support::position(&app, &actors.officer).await;
    assert_eq!(position.committed_capital, "1000000.00");
    crate::support::assert_ledger_verifies(&app, &actors.auditor).await;
}

#[tokio::test]
async fn bad_input_names_every_field_and_stores_nothing() {
    let app = spawn_app().await;
    let mut admin = app.admin();
    let error = admin
        .create_bank(pb::CreateBankRequest {
            request_id: String::new(),
            bank_id: "Not A Slug".into(),
            display_name: "  ".into(),
            quota: "1.234".into(),
        })
        .await
        .unwrap_err();
    assert_error(&error, Code::InvalidArgument, "INVALID_ARGUMENT");
    let fields = field_violations(&error);
    let mut names: Vec<&str> = fields.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, ["bank_id", "display_name", "quota", "request_id"]);
    assert_eq!(fields["quota"], "has more than two fraction digits");

    for (quota, description) in [
        ("0", "must be greater than 0"),
        ("-5.00", "must be greater than 0"),
        ("1e6", "is not a decimal number like \"1234.56\""),
    ] {
        let error = admin
            .create_bank(pb::CreateBankRequest {
                request_id: format!("q-{quota}"),
                bank_id: "ok".into(),
                display_name: "Ok".into(),
                quota: quota.into(),
            })
            .await
            .unwrap_err();
        assert_eq!(field_violations(&error).get("quota").map(String::as_str), Some(description), "{quota}");
    }
    let unknown_role = admin
        .create_api_key(pb::CreateApiKeyRequest {
            request_id: "k".into(),
            role: 42,
            bank: String::new(),
            description: "x".into(),
            expire_date: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(field_violations(&unknown_role).get("role").map(String::as_str), Some("has unknown value 42"));
    let bank_without_bank = admin
        .create_api_key(pb::CreateApiKeyRequest {
            request_id: "k2".into(),
            role: pb::Role::Bank as i32,
            bank: String::new(),
            description: "x".into(),
            expire_date: String::new(),
        })
        .await
        .unwrap_err();
    assert!(field_violations(&bank_without_bank).contains_key("bank"));

    let banks = admin.list_banks(pb::ListBanksRequest::default()).await.unwrap().into_inner();
    assert!(banks.banks.is_empty(), "nothing stored");
    let keys = admin.list_api_keys(pb::ListApiKeysRequest::default()).await.unwrap().into_inner();
    assert_eq!(keys.api_keys.len(), 1, "only the bootstrap key");
}

#[tokio::test]
async fn a_taken_bank_id_is_already_exists() {
    let app = spawn_app().await;
    create_bank(&app, "nbcb", "1.00").await;
    let error = app
        .admin()
        .create_bank(pb::CreateBankRequest {
            request_id: "another".into(),
            bank_id: "nbcb".into(),
            display_name: "Again".into(),
            quota: "1.00".into(),
        })
        .await
        .unwrap_err();
    assert_error(&error, Code::AlreadyExists, "ALREADY_EXISTS");
}

#[tokio::test]
async fn money_is_exact_in_the_database() {
    let app = spawn_app().await;
    assert_eq!(create_bank(&app, "tiny", "0.01").await.quota, "0.01");
    assert_eq!(create_bank(&app, "huge", "9999999999.99").await.quota, "9999999999.99");
    let store = &app_state_store(&app).await;
    // An amount above 2^53 fen, where a floating-point column could hold only every other
    // fen (2^53 + 1 = 9,007,199,254,740,993 is not a double), stored beside the others.
    store
        .execute_script(
            "INSERT INTO banks (bank_id, display_name, quota_fen, covered_outstanding_fen, pool_exposure_fen, \
             npl_outstanding_fen, status, status_reason, status_manual, created_at, updated_at) \
             SELECT 'vast', 'Vast', 9007199254740993, 0, 0, 0, status, status_reason, status_manual, created_at, \
             updated_at FROM banks WHERE bank_id = 'huge'",
        )
        .await
        .unwrap();
    let vast = app.admin().get_bank(pb::GetBankRequest { name: "banks/vast".into() }).await.unwrap().into_inner();
    assert_eq!(vast.bank.unwrap().quota, "90071992547409.93", "read back to the fen");
    let row = store
        .read()
        .await
        .unwrap()
        .query_one_raw(Statement::from_string(
            store.backend(),
            "SELECT CAST(SUM(quota_fen) AS BIGINT) AS total FROM banks",
        ))
        .await
        .unwrap()
        .unwrap();
    let total: i64 = row.try_get("", "total").unwrap();
    assert_eq!(total, 9_008_199_254_740_993, "0.01 + 9,999,999,999.99 + 90,071,992,547,409.93, to the fen");
}

async fn app_state_store(app: &tests::TestApp) -> store::Store {
    store::Store::connect(&app.database.url(&app.settings.data_dir), 1).await.unwrap()
}

#[tokio::test]
async fn the_policy_in_force_is_readable() {
    let app = spawn_app().await;
    let auditor = issue_key(&app, pb::Role::Auditor, "").await;
    let policy = app.admin_as(Some(&auditor)).get_policy(pb::GetPolicyRequest {}).await.unwrap().into_inner();
    assert_eq!(policy.version, "2025.1");
    assert!(policy.document.contains("max_leverage = \"12\""));
    assert_eq!(policy.sha256.len(), 64);
}

fn server_binary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_e2e-server"))
}

#[test]
fn a_corrupt_policy_file_stops_start_up_with_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, domain_policy().replace("maximum = \"0.70\"", "maximum = \"1.70\"")).unwrap();
    let output = server_binary()
        .args(["--data-dir", dir.path().to_str().unwrap(), "--listen", "127.0.0.1:0", "--policy"])
        .arg(&policy)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.contains("policy.toml") && last.contains("pool_share.maximum must be between 0 and 1, got 1.70"),
        "{stderr}"
    );
    let output = server_binary().arg("check-policy").arg(dir.path().join("absent.toml")).output().unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("absent.toml"));
}

#[test]
fn an_unreachable_database_stops_start_up_without_leaking_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let output = server_binary()
        .args(["--data-dir", dir.path().to_str().unwrap(), "--listen", "127.0.0.1:0"])
        .env("DATABASE_URL", "postgres://app:s3cret@127.0.0.1:1/techcredit")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("database postgres://app:***@127.0.0.1:1/techcredit"), "{stderr}");
    assert!(!stderr.contains("s3cret"), "{stderr}");
    let output = server_binary().env("TECHCREDIT__LISTEN", "nowhere").output().unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("invalid settings"));
}

#[tokio::test]
async fn no_migrate_refuses_a_database_with_pending_migrations() {
    let database = tests::fresh_database().await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(&database, dir.path().to_path_buf());
    settings.migrate_on_start = false;
    let error = server::Application::build(&settings).await.err().expect("refused");
    assert!(error.to_string().contains("pending migration"), "{error}");
}

/// The init step of a server that must not start on a database still being migrated:
/// `wait-for-migrations` waits while migrations are pending and ends with exit 0 once
/// another process has applied them.
#[tokio::test]
async fn wait_for_migrations_waits_until_another_process_migrates() {
    let database = tests::fresh_database().await;
    let dir = tempfile::tempdir().unwrap();
    let url = database.url(dir.path());
    let mut waiting = server_binary()
        .args(["wait-for-migrations", "--timeout-seconds", "60", "--data-dir"])
        .arg(dir.path())
        .env("DATABASE_URL", &url)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(waiting.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut out, &mut line).unwrap();
    assert!(line.contains("migrations pending"), "{line}");
    assert!(waiting.try_wait().unwrap().is_none(), "still waiting");
    let migrated = server_binary().args(["migrate", "--data-dir"]).arg(dir.path()).env("DATABASE_URL", &url).output();
    assert!(migrated.unwrap().status.success());
    let finished = tokio::task::spawn_blocking(move || waiting.wait().unwrap()).await.unwrap();
    assert!(finished.success());
    line.clear();
    std::io::BufRead::read_line(&mut out, &mut line).unwrap();
    assert_eq!(line.trim(), "the database has every migration");
}

fn domain_policy() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../services/domain/policy/default.toml")).unwrap()
}

#[test]
fn the_kubernetes_config_map_carries_the_default_policy() {
    let manifest = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/k8s/policy.yaml")).unwrap();
    let block: String = manifest
        .lines()
        .skip_while(|line| line.trim() != "policy.toml: |")
        .skip(1)
        .take_while(|line| line.is_empty() || line.starts_with("    "))
        .map(|line| format!("{}\n", line.strip_prefix("    ").unwrap_or(line)))
        .collect();
    assert_eq!(
        block.trim_end(),
        domain_policy().trim_end(),
        "deploy/k8s/policy.yaml's ConfigMap drifted from the policy"
    );
}

/// The last active administrator key cannot be revoked: nobody could manage keys after it.
#[tokio::test]
async fn the_last_admin_key_cannot_be_revoked() {
    let app = spawn_app().await;
    let revoke = |name: String, id: &str| pb::RevokeApiKeyRequest { request_id: id.to_owned(), name };
    let refused = app.admin().revoke_api_key(revoke("apiKeys/bootstrap-admin".into(), "r1")).await.unwrap_err();
    assert_error(&refused, Code::FailedPrecondition, "LAST_ADMIN_KEY");
    assert!(refused.message().contains("create-admin-key"), "{}", refused.message());
    let second = issue_key(&app, pb::Role::Admin, "").await;
    app.admin().revoke_api_key(revoke("apiKeys/bootstrap-admin".into(), "r2")).await.expect("another admin remains");
    let mut admin = app.admin_as(Some(&second));
    let key_id = second.split('.').next().unwrap().to_owned();
    let last = admin.revoke_api_key(revoke(format!("apiKeys/{key_id}"), "r3")).await.unwrap_err();
    assert_error(&last, Code::FailedPrecondition, "LAST_ADMIN_KEY");
    // Revoking a key already revoked answers as before (nothing left to protect).
    admin.revoke_api_key(revoke("apiKeys/bootstrap-admin".into(), "r4")).await.expect("already revoked");
}

/// An operator without any administrator key makes one offline, with access to the
/// database, and it works at once.
#[tokio::test]
async fn an_operator_locked_out_makes_an_admin_key_offline() {
    let app = spawn_app().await;
    let url = app.database.url(&app.settings.data_dir);
    let output = tokio::task::spawn_blocking(move || {
        server_binary()
            .args(["create-admin-key", "--description", "on-call"])
            .env("DATABASE_URL", url)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let key = stdout.lines().nth(1).unwrap().trim().to_owned();
    let info = app.admin_as(Some(&key)).get_server_info(pb::GetServerInfoRequest {}).await.unwrap().into_inner();
    assert_eq!(info.caller_role(), pb::Role::Admin);
}

/// A data directory that cannot take the key file stops the first start and stores no key,
/// so the next start, with a writable directory, prints one.
#[test]
fn a_key_file_that_cannot_be_written_leaves_no_key_nobody_holds() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}?mode=rwc", dir.path().join("techcredit.db").display());
    let blocked = dir.path().join("not-a-directory");
    std::fs::write(&blocked, "a file where the data directory should be").unwrap();
    let first = server_binary()
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(blocked.join("data"))
        .env("DATABASE_URL", &database)
        .output()
        .unwrap();
    assert!(!first.status.success());
    assert!(
        String::from_utf8_lossy(&first.stderr).contains("not-a-directory"),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let mut second = server_binary()
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .env("DATABASE_URL", &database)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(second.stdout.take().unwrap());
    let mut first_line = String::new();
    std::io::BufRead::read_line(&mut out, &mut first_line).unwrap();
    let _ = second.kill();
    let _ = second.wait();
    assert!(first_line.starts_with("bootstrap admin key"), "the next start makes the key: {first_line}");
    assert!(dir.path().join("data/bootstrap-admin.key").exists());
}

/// Two servers on one SQLite data directory: the second stops at start-up with one clear
/// line, the first keeps serving.
#[test]
fn a_second_server_on_one_sqlite_data_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = server_binary()
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env_remove("DATABASE_URL")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let address = tests::process_address(&mut first);
    let second = server_binary()
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    let still_listening = std::net::TcpStream::connect(&address).is_ok();
    let _ = first.kill();
    let _ = first.wait();
    assert!(!second.status.success());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.lines().last().unwrap_or_default().contains("is in use by another techcredit-server"), "{stderr}");
    assert!(still_listening, "the first server keeps serving");
}

/// A database that goes away: calls are UNAVAILABLE (retry later), not INTERNAL, and health
/// turns NOT_SERVING so that a load balancer stops sending them. (PostgreSQL: the test's own
/// database is dropped under the running server.)
#[tokio::test]
async fn a_database_outage_is_unavailable_and_health_says_so() {
    let app = spawn_app().await;
    let TestDatabase::Postgres { url, .. } = app.database.clone() else {
        return; // SQLite is a file inside the process: it cannot go away on its own.
    };
    let (base, name) = url.rsplit_once('/').unwrap();
    let admin = sea_orm::Database::connect(format!("{base}/postgres")).await.unwrap();
    admin.execute_unprepared(&format!("DROP DATABASE \"{name}\" WITH (FORCE)")).await.unwrap();
    let refused = app.admin().list_banks(pb::ListBanksRequest::default()).await.unwrap_err();
    assert_eq!(refused.code(), Code::Unavailable, "{refused:?}");
    let mut health = tonic_health::pb::health_client::HealthClient::new(app.channel());
    let mut status = tonic_health::pb::health_check_response::ServingStatus::Serving;
    for _ in 0..50 {
        let answer = health.check(tonic_health::pb::HealthCheckRequest { service: String::new() }).await.unwrap();
        status = answer.into_inner().status();
        if status == tonic_health::pb::health_check_response::ServingStatus::NotServing {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(status, tonic_health::pb::health_check_response::ServingStatus::NotServing);
    // Liveness does not follow the database: the process is alive and must not be restarted.
    let alive = health.check(tonic_health::pb::HealthCheckRequest { service: "liveness".into() }).await.unwrap();
    assert_eq!(alive.into_inner().status(), tonic_health::pb::health_check_response::ServingStatus::Serving);
}

/// Keys expire after their last business date, and a rotation leaves the old key working
/// through the overlap only — through the clock.
#[tokio::test]
async fn keys_expire_and_rotate_with_an_overlap() {
    let app = tests::spawn_app_on("2025-03-01").await;
    create_bank(&app, "nbcb", "1000000.00").await;
    let create = |id: &str, expire: &str| pb::CreateApiKeyRequest {
        request_id: id.to_owned(),
        role: pb::Role::Bank as i32,
        bank: "banks/nbcb".into(),
        description: "core banking".into(),
        expire_date: expire.to_owned(),
    };
    let works = |key: String| {
        let mut admin = app.admin_as(Some(&key));
        async move { admin.get_server_info(pb::GetServerInfoRequest {}).await.map(|_| ()).map_err(|s| s.code()) }
    };
    let past = app.admin().create_api_key(create("k0", "2025-02-28")).await.unwrap_err();
    assert!(field_violations(&past).contains_key("expire_date"), "{past:?}");
    let expiring = app.admin().create_api_key(create("k1", "2025-03-10")).await.unwrap().into_inner();
    assert_eq!(expiring.api_key.unwrap().expire_date, "2025-03-10");
    let plain = app.admin().create_api_key(create("k2", "")).await.unwrap().into_inner();
    let rotated = app
        .admin()
        .rotate_api_key(pb::RotateApiKeyRequest {
            request_id: "rot".into(),
            name: plain.api_key.as_ref().unwrap().name.clone(),
            overlap_days: 3,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rotated.previous.as_ref().unwrap().expire_date, "2025-03-04");
    let new = rotated.api_key.unwrap();
    assert_eq!((new.role(), new.bank.as_str()), (pb::Role::Bank, "banks/nbcb"), "same role and bank");

    app.advance_to("2025-03-04").await;
    assert_eq!(works(plain.secret.clone()).await, Ok(()), "the old key works through the overlap");
    assert_eq!(works(rotated.secret.clone()).await, Ok(()));
    app.advance_to("2025-03-05").await;
    assert_eq!(works(plain.secret.clone()).await, Err(Code::Unauthenticated), "then it expires");
    assert_eq!(works(rotated.secret.clone()).await, Ok(()), "the new one goes on");
    let again = app
        .admin()
        .rotate_api_key(pb::RotateApiKeyRequest {
            request_id: "rot-again".into(),
            name: plain.api_key.as_ref().unwrap().name.clone(),
            overlap_days: 0,
        })
        .await
        .unwrap_err();
    assert_error(&again, Code::FailedPrecondition, "KEY_NOT_ACTIVE");
    app.advance_to("2025-03-10").await;
    assert_eq!(works(expiring.secret.clone()).await, Ok(()), "works on its last day");
    app.advance_to("2025-03-11").await;
    assert_eq!(works(expiring.secret.clone()).await, Err(Code::Unauthenticated), "and not the day after");
}

/// Load shedding: beyond its calls in flight the server answers RESOURCE_EXHAUSTED at once
/// (a client backs off and retries) instead of queueing without bound; health still answers;
/// once the call in flight ends, the next is served.
#[tokio::test]
async fn calls_beyond_the_limit_are_shed_at_once() {
    let app = tests::spawn_app_with(|settings| settings.max_in_flight_calls = 1).await;
    create_bank(&app, "nbcb", "1000000.00").await;
    let key = issue_key(&app, pb::Role::Bank, "banks/nbcb").await;
    // A tape upload that stays open holds the one place.
    let open_upload = || {
        let (sender, receiver) = tokio::sync::mpsc::channel(4);
        let header = pb::ReconcileLoanTapeRequest {
            part: Some(pb::reconcile_loan_tape_request::Part::Header(pb::LoanTapeHeader {
                bank: "banks/nbcb".into(),
                as_of: crate::support::days_ago(0),
                file_name: "slow.csv".into(),
            })),
            request_id: "slow".into(),
        };
        sender.try_send(header).expect("channel has room");
        let mut uploading = app.settlement_as(&key);
        let upload = tokio::spawn(async move {
            uploading.reconcile_loan_tape(tokio_stream::wrappers::ReceiverStream::new(receiver)).await
        });
        (sender, upload)
    };
    let (mut sender, mut upload) = open_upload();
    let mut shed = None;
    for _ in 0..200 {
        if upload.is_finished() {
            // Our probe took the place first and the upload was the one shed: open it again.
            let status = upload.await.expect("upload task").expect_err("an open upload cannot succeed");
            assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
            (sender, upload) = open_upload();
            // Give the upload its turn to arrive before the next probe races it again.
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            continue;
        }
        match app.admin_as(Some(&key)).get_server_info(pb::GetServerInfoRequest {}).await {
            Err(status) if status.code() == Code::ResourceExhausted => {
                shed = Some(status);
                break;
            }
            Ok(_) => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
            Err(other) => panic!("{other:?}"),
        }
    }
    let shed = shed.expect("a call beyond the limit is shed");
    assert!(shed.message().contains("retry"), "{}", shed.message());
    assert!(!upload.is_finished(), "the upload in flight is not disturbed");
    let serving = HealthClient::new(app.channel()).check(HealthCheckRequest { service: String::new() }).await;
    assert!(serving.is_ok(), "health checks are never shed: {serving:?}");
    drop(sender);
    let _ = upload.await;
    let served = app.admin_as(Some(&key)).get_server_info(pb::GetServerInfoRequest {}).await;
    assert!(served.is_ok(), "served again once the upload ended: {served:?}");
}

/// Limits: a request larger than `max_message_bytes` is refused before it is decoded, and a
/// call that outlives `call_timeout_seconds` is cancelled (an upload left open does not hold
/// its place for ever); the server serves on.
#[tokio::test]
async fn oversized_messages_are_refused_and_stuck_calls_end_at_the_deadline() {
    let app = tests::spawn_app_with(|settings| {
        settings.max_message_bytes = 64 * 1024;
        settings.call_timeout_seconds = 1;
    })
    .await;
    create_bank(&app, "nbcb", "1000000.00").await;
    let key = issue_key(&app, pb::Role::Bank, "banks/nbcb").await;
    let oversized = app
        .admin()
        .update_bank(pb::UpdateBankRequest {
            request_id: "big".into(),
            name: "banks/nbcb".into(),
            display_name: "宁".repeat(40_000),
            quota: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(oversized.code(), Code::OutOfRange, "{oversized:?}");
    let (sender, receiver) = tokio::sync::mpsc::channel(1);
    sender
        .send(pb::ReconcileLoanTapeRequest {
            part: Some(pb::reconcile_loan_tape_request::Part::Header(pb::LoanTapeHeader {
                bank: "banks/nbcb".into(),
                as_of: crate::support::days_ago(0),
                file_name: "stuck.csv".into(),
            })),
            request_id: "stuck".into(),
        })
        .await
        .unwrap();
    let stuck = app
        .settlement_as(&key)
        .reconcile_loan_tape(tokio_stream::wrappers::ReceiverStream::new(receiver))
        .await
        .unwrap_err();
    assert!(matches!(stuck.code(), Code::Cancelled | Code::DeadlineExceeded), "{stuck:?}");
    drop(sender);
    let bank = app.admin().get_bank(pb::GetBankRequest { name: "banks/nbcb".into() }).await.unwrap();
    assert_eq!(bank.into_inner().bank.unwrap().display_name, "Bank nbcb", "nothing of the oversized call landed");
}
