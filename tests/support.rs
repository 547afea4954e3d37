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
        })
        .await
        .expect("create api key")
        .into_inner()
        .secret
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed).to_string()
}
