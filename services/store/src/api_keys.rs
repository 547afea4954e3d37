//! API keys. Only the SHA-256 of a secret is stored: secrets are 256 random bits, so a
//! fast hash is as strong as a slow one here, and lookup by hash is a primary-key probe.

use chrono::{DateTime, Utc};
use domain::{BankId, Principal, Role};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    Set,
};
use sha2::{Digest, Sha256};

use crate::StoreError;
use crate::entities::api_key;

/// Key id of the administrator key made on first start.
pub const BOOTSTRAP_KEY_ID: &str = "bootstrap-admin";

/// An API key's public record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    /// Public id.
    pub key_id: String,
    /// Role.
    pub role: Role,
    /// Bound bank, for bank keys.
    pub bank: Option<BankId>,
    /// Whom it is for.
    pub description: String,
    /// When issued.
    pub created_at: DateTime<Utc>,
    /// When revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// The last business date it works, if it expires.
    pub expires_on: Option<chrono::NaiveDate>,
}

impl ApiKeyRecord {
    /// Works on `today`: not revoked, not past its last date.
    pub fn works_on(&self, today: chrono::NaiveDate) -> bool {
        self.revoked_at.is_none() && self.expires_on.is_none_or(|last| today <= last)
    }
}

impl TryFrom<api_key::Model> for ApiKeyRecord {
    type Error = StoreError;

    fn try_from(row: api_key::Model) -> Result<ApiKeyRecord, StoreError> {
        let role = Role::parse(&row.role).ok_or_else(|| StoreError::Corrupt(format!("role {:?}", row.role)))?;
        let bank = row
            .bank_id
            .as_deref()
            .map(BankId::parse)
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("api key bank {e}")))?;
        Ok(ApiKeyRecord {
            key_id: row.key_id,
            role,
            bank,
            description: row.description,
            created_at: row.created_at,
            revoked_at: row.revoked_at,
            expires_on: row.expires_on,
        })
    }
}

/// A secret shown once to whoever asked for the key. Its `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The secret text, to hand to the caller exactly once.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

fn random_hex(bytes: usize) -> Result<String, StoreError> {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer).map_err(|e| StoreError::Corrupt(format!("no randomness available: {e}")))?;
    Ok(hex::encode(buffer))
}

fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

async fn insert(
    connection: &impl ConnectionTrait,
    key_id: String,
    role: Role,
    bank: Option<&BankId>,
    description: &str,
    expires_on: Option<chrono::NaiveDate>,
) -> Result<(ApiKeyRecord, Secret), StoreError> {
    // The key id is part of the secret so that an operator can tell keys apart without the secret.
    let secret = format!("{key_id}.{}", random_hex(32)?);
    let row = api_key::ActiveModel {
        key_id: Set(key_id.clone()),
        secret_sha256: Set(hash_secret(&secret)),
        role: Set(role.as_str().to_owned()),
        bank_id: Set(bank.map(|b| b.as_str().to_owned())),
        description: Set(description.to_owned()),
        created_at: Set(crate::clock::instant()),
        revoked_at: Set(None),
        expires_on: Set(expires_on),
    };
    let row = row.insert(connection).await.map_err(|e| StoreError::from_insert(e, format!("api key {key_id}")))?;
    Ok((ApiKeyRecord::try_from(row)?, Secret(secret)))
}

/// Issues a new key with a random id, working through `expires_on` when given.
pub async fn create(
    connection: &impl ConnectionTrait,
    role: Role,
    bank: Option<&BankId>,
    description: &str,
    expires_on: Option<chrono::NaiveDate>,
) -> Result<(ApiKeyRecord, Secret), StoreError> {
    let key_id = format!("key-{}", random_hex(8)?);
    insert(connection, key_id, role, bank, description, expires_on).await
}

/// Sets the last date a key works (rotation: the old key keeps working until then).
pub async fn set_expiry(
    connection: &impl ConnectionTrait,
    key_id: &str,
    expires_on: chrono::NaiveDate,
) -> Result<Option<ApiKeyRecord>, StoreError> {
    let Some(row) = api_key::Entity::find_by_id(key_id).one(connection).await? else {
        return Ok(None);
    };
    let mut active: api_key::ActiveModel = row.into();
    active.expires_on = Set(Some(expires_on));
    ApiKeyRecord::try_from(active.update(connection).await?).map(Some)
}

/// On an empty key table, issues the bootstrap administrator key and returns it; otherwise
/// `None`. Safe when several servers start at once: the fixed key id lets only one win.
pub async fn bootstrap_admin(connection: &impl ConnectionTrait) -> Result<Option<(ApiKeyRecord, Secret)>, StoreError> {
    if api_key::Entity::find().count(connection).await? > 0 {
        return Ok(None);
    }
    let description = "bootstrap administrator key, made on first start";
    match insert(connection, BOOTSTRAP_KEY_ID.to_owned(), Role::Admin, None, description, None).await {
        Ok(created) => Ok(Some(created)),
        Err(StoreError::AlreadyExists(_)) => Ok(None),
        Err(other) => Err(other),
    }
}

/// The principal a presented secret authenticates, if it is a valid, unrevoked key.
pub async fn authenticate(connection: &impl ConnectionTrait, secret: &str) -> Result<Option<Principal>, StoreError> {
    let Some(row) =
        api_key::Entity::find().filter(api_key::Column::SecretSha256.eq(hash_secret(secret))).one(connection).await?
    else {
        return Ok(None);
    };
    let record = ApiKeyRecord::try_from(row)?;
    if !record.works_on(crate::clock::today()) {
        return Ok(None);
    }
    Ok(Some(Principal { key_id: record.key_id, role: record.role, bank: record.bank }))
}

/// Keys in id order after `after`, optionally of one bank.
pub async fn list(
    connection: &impl ConnectionTrait,
    bank: Option<&BankId>,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<ApiKeyRecord>, StoreError> {
    let mut query = api_key::Entity::find().order_by_asc(api_key::Column::KeyId).limit(limit);
    if let Some(bank) = bank {
        query = query.filter(api_key::Column::BankId.eq(bank.as_str()));
    }
    if let Some(after) = after {
        query = query.filter(api_key::Column::KeyId.gt(after));
    }
    query.all(connection).await?.into_iter().map(ApiKeyRecord::try_from).collect()
}

/// The active ADMIN keys' ids, locked until the transaction ends (so that two revocations
/// at once cannot both leave the other as the last).
pub async fn lock_active_admins(connection: &impl ConnectionTrait) -> Result<Vec<ApiKeyRecord>, StoreError> {
    use sea_orm::QuerySelect;
    Ok(api_key::Entity::find()
        .filter(api_key::Column::Role.eq(Role::Admin.as_str()))
        .filter(api_key::Column::RevokedAt.is_null())
        .order_by_asc(api_key::Column::KeyId)
        .lock_exclusive()
        .all(connection)
        .await?
        .into_iter()
        .map(ApiKeyRecord::try_from)
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .filter(|key| key.works_on(crate::clock::today()))
        .collect())
}

/// A key by id.
pub async fn get(connection: &impl ConnectionTrait, key_id: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
    api_key::Entity::find_by_id(key_id).one(connection).await?.map(ApiKeyRecord::try_from).transpose()
}

/// Revokes a key (keeping the first revocation time); `None` when it does not exist.
pub async fn revoke(connection: &impl ConnectionTrait, key_id: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
    let Some(row) = api_key::Entity::find_by_id(key_id).one(connection).await? else {
        return Ok(None);
    };
    if row.revoked_at.is_some() {
        return ApiKeyRecord::try_from(row).map(Some);
    }
    let mut active: api_key::ActiveModel = row.into();
    active.revoked_at = Set(Some(crate::clock::instant()));
    ApiKeyRecord::try_from(active.update(connection).await?).map(Some)
}
