//! `techcredit.v1.AdminService`: partner banks, API keys and the policy in force.

pub mod audit;

use domain::{BankId, Role};
use proto::v1::{self as pb, admin_service_server::AdminService};
use rpc::auth::{principal, require_bank_visible, require_role};
use rpc::convert::{Page, Violations, business_today, format_date, timestamp};
use rpc::{ApiError, AppState, WireEnum, idempotent};
use sha2::{Digest, Sha256};
use store::api_keys::ApiKeyRecord;
use store::banks::BankRecord;
use store::clock::ClockMode;
use tonic::{Request, Response, Status};

/// The admin service over the shared state.
#[derive(Debug, Clone)]
pub struct Admin {
    state: AppState,
}

impl Admin {
    /// A service over `state`.
    pub fn new(state: AppState) -> Admin {
        Admin { state }
    }
}

/// A bank on the wire.
pub fn bank_to_wire(bank: &BankRecord) -> pb::Bank {
    pb::Bank {
        name: format!("banks/{}", bank.bank_id),
        bank_id: bank.bank_id.to_string(),
        display_name: bank.display_name.clone(),
        quota: bank.quota.to_string(),
        quota_used: bank.quota_used.to_string(),
        status: bank.status.to_wire_i32(),
        status_reason: bank.status_reason.clone(),
        create_time: Some(timestamp(bank.created_at)),
    }
}

fn api_key_to_wire(key: &ApiKeyRecord) -> pb::ApiKey {
    pb::ApiKey {
        name: format!("apiKeys/{}", key.key_id),
        key_id: key.key_id.clone(),
        role: key.role.to_wire_i32(),
        bank: key.bank.as_ref().map(|b| format!("banks/{b}")).unwrap_or_default(),
        description: key.description.clone(),
        create_time: Some(timestamp(key.created_at)),
        revoke_time: key.revoked_at.map(timestamp),
        expire_date: key.expires_on.map(format_date).unwrap_or_default(),
    }
}

const CREATE_BANK: &str = "/techcredit.v1.AdminService/CreateBank";
const CREATE_PARTY: &str = "/techcredit.v1.AdminService/CreateCoSharingParty";
const ROTATE_API_KEY: &str = "/techcredit.v1.AdminService/RotateApiKey";
const UPDATE_BANK: &str = "/techcredit.v1.AdminService/UpdateBank";
const CREATE_API_KEY: &str = "/techcredit.v1.AdminService/CreateApiKey";
const REVOKE_API_KEY: &str = "/techcredit.v1.AdminService/RevokeApiKey";
const ADVANCE_DATE: &str = "/techcredit.v1.AdminService/AdvanceBusinessDate";

/// A co-sharing party on the wire, with its share in the policy in force.
fn party_to_wire(party: &store::claims::PartyRecord, policy: &domain::Policy) -> pb::CoSharingParty {
    let share = policy.loss_sharing.parties.iter().find(|p| p.party == party.party_id).map(|p| p.share);
    pb::CoSharingParty {
        name: format!("parties/{}", party.party_id),
        party_id: party.party_id.clone(),
        display_name: party.display_name.clone(),
        kind: party.kind.to_wire_i32(),
        create_time: Some(timestamp(party.created_at)),
        policy_share: share.map(rpc::convert::share_to_wire).unwrap_or_default(),
        decided_total: party.decided_total.to_string(),
        pending_total: party.pending_total.to_string(),
        claims: i64::try_from(party.claims).unwrap_or(i64::MAX),
    }
}

/// Roles that may read the co-sharing parties.
const PARTY_READERS: &[Role] = &[Role::Admin, Role::RiskOfficer, Role::Finance, Role::Auditor];

/// Roles that may read bank records besides the bank itself.
const BANK_READERS: &[Role] = &[Role::Admin, Role::RiskOfficer, Role::Finance, Role::Auditor, Role::Batch];

impl Admin {
    async fn create_bank(&self, request: Request<pb::CreateBankRequest>) -> Result<pb::CreateBankResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, &[Role::Admin])?;
        let body = request.into_inner();
        let mut violations = Violations::new();
        let request_id = violations.request_id(&body.request_id);
        let bank_id = violations.check("bank_id", BankId::parse(&body.bank_id));
        let display_name = violations.text("display_name", &body.display_name, 200);
        let quota = violations.money_positive("quota", &body.quota);
        let (Some(request_id), Some(bank_id), Some(display_name), Some(quota)) =
            (request_id, bank_id, display_name, quota)
        else {
            return Err(violations.into_error());
        };
        idempotent!(self.state, &caller, CREATE_BANK, request_id, &body, |txn| {
            let bank = store::banks::create(txn, &bank_id, &display_name, quota).await?;
            tracing::info!(bank_id = %bank.bank_id, quota = %bank.quota, "bank created");
            pb::CreateBankResponse { bank: Some(bank_to_wire(&bank)) }
        })
    }

    async fn create_party(
        &self,
        request: Request<pb::CreateCoSharingPartyRequest>,
    ) -> Result<pb::CreateCoSharingPartyResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, &[Role::Admin])?;
        let body = request.into_inner();
        let mut violations = Violations::new();
        let request_id = violations.request_id(&body.request_id);
        let party_id = violations.check("party_id", domain::PartyId::parse(&body.party_id));
        let display_name = violations.text("display_name", &body.display_name, 200);
        let kind = violations.domain_enum::<domain::terms::PartyKind>("kind", body.kind);
        let (Some(request_id), Some(party_id), Some(display_name), Some(kind)) =
            (request_id, party_id, display_name, kind)
        else {
            return Err(violations.into_error());
        };
        let policy = self.state.policy.clone();
        idempotent!(self.state, &caller, CREATE_PARTY, request_id, &body, |txn| {
            store::claims::insert_party(txn, party_id.as_str(), &display_name, kind).await?;
            let party = store::claims::parties(txn, Some(party_id.as_str()))
                .await?
                .pop()
                .ok_or_else(|| ApiError::Internal(format!("parties/{party_id} not found after insert")))?;
            tracing::info!(party_id = %party_id, kind = %kind, "co-sharing party created");
            pb::CreateCoSharingPartyResponse { party: Some(party_to_wire(&party, &policy)) }
        })
    }

    async fn get_party(
        &self,
        request: Request<pb::GetCoSharingPartyRequest>,
    ) -> Result<pb::GetCoSharingPartyResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, PARTY_READERS)?;
        let body = request.into_inner();
        let mut violations = Violations::new();
        let id = violations.name("name", &body.name, "parties");
        let Some(id) = id.and_then(|id| violations.check("name", domain::PartyId::parse(id))) else {
            return Err(violations.into_error());
        };
        let party = self
            .state
            .store
            .reading(async |db| store::claims::parties(db, Some(id.as_str())).await)
            .await?
            .pop()
            .ok_or_else(|| ApiError::not_found(&body.name))?;
        Ok(pb::GetCoSharingPartyResponse { party: Some(party_to_wire(&party, &self.state.policy)) })
    }

    async fn list_parties(
        &self,
        request: Request<pb::ListCoSharingPartiesRequest>,
    ) -> Result<pb::ListCoSharingPartiesResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, PARTY_READERS)?;
        let parties = self.state.store.reading_replica(async |db| store::claims::parties(db, None).await).await?;
        Ok(pb::ListCoSharingPartiesResponse {
            parties: parties.iter().map(|p| party_to_wire(p, &self.state.policy)).collect(),
        })
    }

    async fn get_bank(&self, request: Request<pb::GetBankRequest>) -> Result<pb::GetBankResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, &[BANK_READERS, &[Role::Bank]].concat())?;
        let body = request.into_inner();
        let mut violations = Violations::new();
        let Some(bank_id) = violations.bank_name("name", &body.name) else {
            return Err(violations.into_error());
        };
        require_bank_visible(&caller, &bank_id, &body.name)?;
        let bank = self
            .state
            .store
            .reading(async |db| store::banks::get(db, &bank_id).await)
            .await?
            .ok_or_else(|| ApiError::not_found(&body.name))?;
        Ok(pb::GetBankResponse { bank: Some(bank_to_wire(&bank)) })
    }

    async fn list_banks(&self, request: Request<pb::ListBanksRequest>) -> Result<pb::ListBanksResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, BANK_READERS)?;
        let body = request.into_inner();
        let mut violations = Violations::new();
        let Some(page) = Page::parse(&mut violations, body.page_size, &body.page_token) else {
            return Err(violations.into_error());
        };
        let (after, limit) = (page.after.as_deref(), page.fetch_limit());
        let mut banks = self.state.store.reading_replica(async |db| store::banks::list(db, after, limit).await).await?;
        let next_page_token = page.finish(&mut banks, |bank| bank.bank_id.to_string());
        Ok(pb::ListBanksResponse { banks: banks.iter().map(bank_to_wire).collect(), next_page_token })
    }

    async fn update_bank(&self, request: Request<pb::UpdateBankRequest>) -> Result<pb::UpdateBankResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, &[Role::Admin])?;
        let body = request.into_inner();
        let mut violations = Violations::new();
        let request_id = violations.request_id(&body.request_id);
        let bank_id = violations.bank_name("name", &body.name);
        let display_name = if body.display_name.is_empty() {
            Some(None)
        } else {
            violations.text("display_name", &body.display_name, 200).map(Some)
        };
        let quota = violations.optional_money_positive("quota", &body.quota);
        let (Some(request_id), Some(bank_id), Some(display_name), Some(quota)) =
            (request_id, bank_id, display_name, quota)
        else {
            return Err(violations.into_error());
        };
        idempotent!(self.state, &caller, UPDATE_BANK, request_id, &body, |txn| {
            let bank = store::banks::update(txn, &bank_id, display_name.as_deref(), quota)
                .await?
                .ok_or_else(|| ApiError::not_found(&body.name))?;
            tracing::info!(bank_id = %bank.bank_id, quota = %bank.quota, "bank updated");
            pb::UpdateBankResponse { bank: Some(bank_to_wire(&bank)) }
        })
    }

    async fn create_api_key(
        &self,
        request: Request<pb::CreateApiKeyRequest>,
    ) -> Result<pb::CreateApiKeyResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, &[Role::Admin])?;
        let body = request.into_inner();
        let mut violations = Violations::new();
        let request_id = violations.request_id(&body.request_id);
        let role = violations.domain_enum::<Role>("role", body.role);
        let description = violations.text("description", &body.description, 200);
        let expires_on = match violations.optional_date("expire_date", &body.expire_date) {
            Some(Some(date)) if date < business_today() => {
                violations.add("expire_date", format!("{date} is in the past"));
                None
            }
            other => other,
        };
        let bank = match (role, body.bank.is_empty()) {
            (Some(Role::Bank), _) => violations.bank_name("bank", &body.bank).map(Some),
            (Some(_), false) => {
                violations.add("bank", "must be empty unless role is ROLE_BANK");
                None
            }
            _ => Some(None),
        };
        let (Some(request_id), Some(role), Some(description), Some(bank), Some(expires_on)) =
            (request_id, role, description, bank, expires_on)
        else {
            return Err(violations.into_error());
        };
        idempotent!(self.state, &caller, CREATE_API_KEY, request_id, &body, |txn| {
            if let Some(bank) = &bank
                && store::banks::get(txn, bank).await?.is_none()
            {
                return Err(ApiError::not_found(&body.bank));
            }
            let (key, secret) = store::api_keys::create(txn, role, bank.as_ref(), &description, expires_on).await?;
            tracing::info!(key_id = %key.key_id, role = %key.role, "api key issued");
            pb::CreateApiKeyResponse { api_key: Some(api_key_to_wire(&key)), secret: secret.expose().to_owned() }
        })
    }

    async fn list_api_keys(
        &self,
        request: Request<pb::ListApiKeysRequest>,
    ) -> Result<pb::ListApiKeysResponse, ApiError> {
        let caller = principal(&request)?;
        // Auditors check who held which key when; neither role ever sees a secret.
        require_role(&caller, &[Role::Admin, Role::Auditor])?;
        let body = request.into_inner();
        let mut violations = Violations::new();
        let page = Page::parse(&mut violations, body.page_size, &body.page_token);
        let bank = if body.bank.is_empty() { Some(None) } else { violations.bank_name("bank", &body.bank).map(Some) };
        let (Some(page), Some(bank)) = (page, bank) else {
            return Err(violations.into_error());
        };
        let (after, limit) = (page.after.as_deref(), page.fetch_limit());
        let mut keys =
            self.state.store.reading(async |db| store::api_keys::list(db, bank.as_ref(), after, limit).await).await?;
        let next_page_token = page.finish(&mut keys, |key| key.key_id.clone());
        Ok(pb::ListApiKeysResponse { api_keys: keys.iter().map(api_key_to_wire).collect(), next_page_token })
    }

    async fn revoke_api_key(
        &self,
        request: Request<pb::RevokeApiKeyRequest>,
    ) -> Result<pb::RevokeApiKeyResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, &[Role::Admin])?;
        let body = request.into_inner();
        let mut violations = Violations::new();
        let request_id = violations.request_id(&body.request_id);
        let key_id = violations.name("name", &body.name, "apiKeys").map(str::to_owned);
        let (Some(request_id), Some(key_id)) = (request_id, key_id) else {
            return Err(violations.into_error());
        };
        idempotent!(self.state, &caller, REVOKE_API_KEY, request_id, &body, |txn| {
            let admins = store::api_keys::lock_active_admins(txn).await?;
            let found = store::api_keys::get(txn, &key_id).await?.ok_or_else(|| ApiError::not_found(&body.name))?;
            if found.revoked_at.is_none() {
                let others = admins.iter().filter(|admin| admin.key_id != key_id).count();
                domain::auth::check_revocable(&key_id, found.role, others).map_err(|r| ApiError::refused(&r))?;
            }
            let key = store::api_keys::revoke(txn, &key_id).await?.ok_or_else(|| ApiError::not_found(&body.name))?;
            tracing::info!(key_id = %key.key_id, "api key revoked");
            pb::RevokeApiKeyResponse { api_key: Some(api_key_to_wire(&key)) }
        })
    }

    async fn rotate_api_key(
        &self,
        request: Request<pb::RotateApiKeyRequest>,
    ) -> Result<pb::RotateApiKeyResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, &[Role::Admin])?;
        let body = request.into_inner();
        let mut violations = Violations::new();
        let request_id = violations.request_id(&body.request_id);
        let key_id = violations.name("name", &body.name, "apiKeys").map(str::to_owned);
        let overlap = match body.overlap_days {
            0 => Some(7),
            days @ 1..=90 => Some(u64::try_from(days).unwrap_or(7)),
            days => {
                violations.add("overlap_days", format!("must be between 1 and 90, not {days}"));
                None
            }
        };
        let (Some(request_id), Some(key_id), Some(overlap)) = (request_id, key_id, overlap) else {
            return Err(violations.into_error());
        };
        let today = business_today();
        idempotent!(self.state, &caller, ROTATE_API_KEY, request_id, &body, |txn| {
            let old = store::api_keys::get(txn, &key_id).await?.ok_or_else(|| ApiError::not_found(&body.name))?;
            if !old.works_on(today) {
                return Err(ApiError::refused(&domain::auth::KeyRefusal::NotActive { key: key_id.clone() }));
            }
            let last = today.checked_add_days(chrono::Days::new(overlap)).unwrap_or(today);
            let last = old.expires_on.map_or(last, |existing| existing.min(last));
            let description = format!("{} (rotated from {})", old.description, old.key_id);
            let description: String = description.chars().take(200).collect();
            let (key, secret) =
                store::api_keys::create(txn, old.role, old.bank.as_ref(), &description, old.expires_on).await?;
            let previous = store::api_keys::set_expiry(txn, &key_id, last)
                .await?
                .ok_or_else(|| ApiError::not_found(&body.name))?;
            tracing::info!(old = %previous.key_id, new = %key.key_id, last_day = %last, "api key rotated");
            pb::RotateApiKeyResponse {
                api_key: Some(api_key_to_wire(&key)),
                secret: secret.expose().to_owned(),
                previous: Some(api_key_to_wire(&previous)),
            }
        })
    }

    fn server_info(&self, request: Request<pb::GetServerInfoRequest>) -> Result<pb::GetServerInfoResponse, ApiError> {
        let caller = principal(&request)?;
        let mode = self.state.store.clock_mode();
        Ok(pb::GetServerInfoResponse {
            server_version: env!("CARGO_PKG_VERSION").to_owned(),
            policy_version: self.state.policy.version.clone(),
            clock_mode: match mode {
                ClockMode::System => pb::ClockMode::System,
                ClockMode::Simulated { .. } => pb::ClockMode::Simulated,
            } as i32,
            business_date: format_date(store::clock::today()),
            caller_role: caller.role.to_wire_i32(),
            caller_bank: caller.bank.as_ref().map(|b| format!("banks/{b}")).unwrap_or_default(),
        })
    }

    async fn advance_date(
        &self,
        request: Request<pb::AdvanceBusinessDateRequest>,
    ) -> Result<pb::AdvanceBusinessDateResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, &[Role::Admin])?;
        let body = request.into_inner();
        let mut violations = Violations::new();
        let request_id = violations.request_id(&body.request_id);
        let date = violations.date("business_date", &body.business_date);
        let (Some(request_id), Some(date)) = (request_id, date) else {
            return Err(violations.into_error());
        };
        let ClockMode::Simulated { start } = self.state.store.clock_mode() else {
            return Err(ApiError::refused(&store::clock::AdvanceError::NotSimulated));
        };
        idempotent!(self.state, &caller, ADVANCE_DATE, request_id, &body, |txn| {
            let previous = store::clock::lock(txn, start).await?;
            store::clock::check_advance(previous, date).map_err(|r| ApiError::refused(&r))?;
            store::clock::advance(txn, date).await?;
            tracing::warn!(from = %previous, to = %date, "business date advanced");
            pb::AdvanceBusinessDateResponse {
                previous_business_date: format_date(previous),
                business_date: format_date(date),
            }
        })
    }

    fn get_policy(&self, request: Request<pb::GetPolicyRequest>) -> Result<pb::GetPolicyResponse, ApiError> {
        principal(&request)?;
        let document = self.state.policy_document.to_string();
        Ok(pb::GetPolicyResponse {
            version: self.state.policy.version.clone(),
            sha256: hex::encode(Sha256::digest(document.as_bytes())),
            document,
        })
    }
}

#[tonic::async_trait]
impl AdminService for Admin {
    async fn create_bank(
        &self,
        request: Request<pb::CreateBankRequest>,
    ) -> Result<Response<pb::CreateBankResponse>, Status> {
        Ok(Response::new(Admin::create_bank(self, request).await?))
    }

    async fn create_co_sharing_party(
        &self,
        request: Request<pb::CreateCoSharingPartyRequest>,
    ) -> Result<Response<pb::CreateCoSharingPartyResponse>, Status> {
        Ok(Response::new(Admin::create_party(self, request).await?))
    }

    async fn get_co_sharing_party(
        &self,
        request: Request<pb::GetCoSharingPartyRequest>,
    ) -> Result<Response<pb::GetCoSharingPartyResponse>, Status> {
        Ok(Response::new(Admin::get_party(self, request).await?))
    }

    async fn list_co_sharing_parties(
        &self,
        request: Request<pb::ListCoSharingPartiesRequest>,
    ) -> Result<Response<pb::ListCoSharingPartiesResponse>, Status> {
        Ok(Response::new(Admin::list_parties(self, request).await?))
    }

    async fn get_bank(&self, request: Request<pb::GetBankRequest>) -> Result<Response<pb::GetBankResponse>, Status> {
        Ok(Response::new(Admin::get_bank(self, request).await?))
    }

    async fn list_banks(
        &self,
        request: Request<pb::ListBanksRequest>,
    ) -> Result<Response<pb::ListBanksResponse>, Status> {
        Ok(Response::new(Admin::list_banks(self, request).await?))
    }

    async fn update_bank(
        &self,
        request: Request<pb::UpdateBankRequest>,
    ) -> Result<Response<pb::UpdateBankResponse>, Status> {
        Ok(Response::new(Admin::update_bank(self, request).await?))
    }

    async fn create_api_key(
        &self,
        request: Request<pb::CreateApiKeyRequest>,
    ) -> Result<Response<pb::CreateApiKeyResponse>, Status> {
        Ok(Response::new(Admin::create_api_key(self, request).await?))
    }

    async fn list_api_keys(
        &self,
        request: Request<pb::ListApiKeysRequest>,
    ) -> Result<Response<pb::ListApiKeysResponse>, Status> {
        Ok(Response::new(Admin::list_api_keys(self, request).await?))
    }

    async fn revoke_api_key(
        &self,
        request: Request<pb::RevokeApiKeyRequest>,
    ) -> Result<Response<pb::RevokeApiKeyResponse>, Status> {
        Ok(Response::new(Admin::revoke_api_key(self, request).await?))
    }

    async fn rotate_api_key(
        &self,
        request: Request<pb::RotateApiKeyRequest>,
    ) -> Result<Response<pb::RotateApiKeyResponse>, Status> {
        Ok(Response::new(Admin::rotate_api_key(self, request).await?))
    }

    async fn get_policy(
        &self,
        request: Request<pb::GetPolicyRequest>,
    ) -> Result<Response<pb::GetPolicyResponse>, Status> {
        Ok(Response::new(Admin::get_policy(self, request)?))
    }

    async fn get_server_info(
        &self,
        request: Request<pb::GetServerInfoRequest>,
    ) -> Result<Response<pb::GetServerInfoResponse>, Status> {
        Ok(Response::new(self.server_info(request)?))
    }

    async fn advance_business_date(
        &self,
        request: Request<pb::AdvanceBusinessDateRequest>,
    ) -> Result<Response<pb::AdvanceBusinessDateResponse>, Status> {
        Ok(Response::new(self.advance_date(request).await?))
    }
}
