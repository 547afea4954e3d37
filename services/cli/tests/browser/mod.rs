//! The dashboard in a real browser: Debian's `chromium` driven by `playwright-core`
//! (`tools/browser/dashboard.mjs`) against a server with the small demo book, a referred
//! application and a claim above the four-eyes threshold waiting. Screenshots of every page
//! go to `$CARGO_TARGET_TMPDIR/dashboard-screenshots`.
//!
//! CI sets `TECHCREDIT_BROWSER_TESTS=1` and installs the browser, so there the test always
//! runs; on a machine without chromium or the npm packages it says so and passes.

use std::path::{Path, PathBuf};
use std::process::Command;

use proto::v1 as pb;

use super::{as_key, json, ok};

fn tools() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools")
}

async fn key(app: &tests::TestApp, role: pb::Role, bank: &str, what: &str) -> String {
    app.admin()
        .create_api_key(pb::CreateApiKeyRequest {
            request_id: format!("key-{}", what.replace(' ', "-")),
            role: role as i32,
            bank: bank.to_owned(),
            description: what.to_owned(),
            expire_date: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .secret
}

#[tokio::test]
async fn the_dashboard_in_a_real_browser() {
    let chromium = Path::new("/usr/bin/chromium");
    let ready = chromium.exists() && tools().join("node_modules/playwright-core").exists();
    if !ready {
        assert!(
            std::env::var_os("TECHCREDIT_BROWSER_TESTS").is_none(),
            "TECHCREDIT_BROWSER_TESTS is set but chromium or tools/node_modules is missing"
        );
        eprintln!("the dashboard's browser test needs chromium and `npm ci` in tools/: skipped");
        return;
    }
    let app = tests::spawn_app_with_dashboard_on("2025-01-02").await;
    let dashboard = app.dashboard.expect("the dashboard listens");
    let dir = tempfile::tempdir().unwrap();
    let write_key = |name: &str, secret: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, secret).unwrap();
        path
    };
    let admin = write_key("admin.key", &app.admin_key);
    let mut demo = as_key(&app, &admin);
    demo.args(["--address", &app.address.to_string()]);
    ok(demo, &["demo", "--size", "small"]).await;

    let officer = key(&app, pb::Role::RiskOfficer, "", "officer in the browser").await;
    let officer2 = key(&app, pb::Role::RiskOfficer, "", "second officer").await;
    let bank = key(&app, pb::Role::Bank, "banks/nbcb", "nbcb in the browser").await;
    let bank_file = write_key("bank.key", &bank);
    let officer_file = write_key("officer.key", &officer2);
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");
    let today = json(as_key(&app, &admin), &["clock", "show"]).await["businessDate"].as_str().unwrap().to_owned();

    // A claim above 1,000,000.00 waiting for its officers: a 3,000,000.00 pure-credit loan
    // (pool share 70 %) enrolled and defaulted at once.
    let referred =
        json(as_key(&app, &bank_file), &["applications", "submit", &format!("{examples}/application.json")]).await;
    let name = referred["name"].as_str().unwrap();
    ok(as_key(&app, &officer_file), &["applications", "review", name, "approve", "--reason", "set up for the claim"])
        .await;
    let disbursed = chrono::NaiveDate::parse_from_str(&today, "%Y-%m-%d").unwrap().pred_opt().unwrap();
    let maturity = disbursed.checked_add_months(chrono::Months::new(24)).unwrap();
    let loan = json(
        as_key(&app, &bank_file),
        &[
            "loans",
            "enrol",
            "--application",
            name,
            "--number",
            "BROWSER-1",
            "--amount",
            "3000000.00",
            "--disbursed-on",
            &disbursed.to_string(),
            "--rate",
            "0.038",
            "--maturity",
            &maturity.to_string(),
        ],
    )
    .await;
    let loan = loan["name"].as_str().unwrap();
    ok(
        as_key(&app, &bank_file),
        &[
            "loans",
            "report",
            loan,
            "--date",
            &today,
            "--outstanding",
            "2400000.00",
            "--days-past-due",
            "95",
            "--classification",
            "doubtful",
        ],
    )
    .await;
    let claim = json(as_key(&app, &bank_file), &["claims", "file", loan, "--date", &today]).await;
    // And a referred application for the officer to approve in the browser.
    let second = std::fs::read_to_string(format!("{examples}/application.json"))
        .unwrap()
        .replace("91330212MA00000024", "91330212MA00000037");
    let second_file = dir.path().join("second.json");
    std::fs::write(&second_file, second).unwrap();
    let waiting = json(as_key(&app, &bank_file), &["applications", "submit", second_file.to_str().unwrap()]).await;
    assert_eq!(waiting["status"], "APPLICATION_STATUS_REFERRED");

    let auditor = key(&app, pb::Role::Auditor, "", "auditor").await;
    let position = app
        .pool_as(&auditor)
        .get_pool_position(pb::GetPoolPositionRequest::default())
        .await
        .unwrap()
        .into_inner()
        .position
        .unwrap();
    let expected = serde_json::json!({
        "net_pool_assets": position.net_pool_assets,
        "covered_outstanding": position.covered_outstanding,
        "pool_exposure": position.pool_exposure,
        "headroom": position.headroom,
    });
    let history = app
        .pool_as(&auditor)
        .get_position_history(pb::GetPositionHistoryRequest { months: 24 })
        .await
        .unwrap()
        .into_inner()
        .months
        .len();
    assert_eq!(history, 6, "the small demo's six closed months");
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let mut node = Command::new("node");
    node.arg(tools().join("browser/dashboard.mjs"))
        .env("URL", format!("http://{dashboard}"))
        .env("CHROMIUM", chromium)
        .env("SHOTS", &shots)
        .env("EXPECTED", expected.to_string())
        .env("OFFICER_KEY", &officer)
        .env("OFFICER2_KEY", &officer2)
        .env("BANK_KEY", &bank)
        .env("AUDITOR_KEY", &auditor)
        .env("BANK_NAME", "宁波银行鄞州支行")
        .env("OTHER_BANK", "banks/icbc")
        .env("REFERRED", waiting["name"].as_str().unwrap())
        .env("CLAIM", claim["name"].as_str().unwrap())
        .env("HISTORY_MONTHS", history.to_string());
    let output = tokio::task::spawn_blocking(move || node.output().unwrap()).await.unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{stdout}\n{stderr}\n(screenshots in {})", shots.display());
    eprintln!("dashboard screenshots: {}", shots.display());
}
