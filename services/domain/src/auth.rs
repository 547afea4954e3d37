//! Who is calling and what they may do.

use std::fmt;

use crate::ids::BankId;

/// A caller's role. A key has exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// A partner bank's system, bound to one bank.
    Bank,
    /// A risk officer of the pool.
    RiskOfficer,
    /// Finance staff.
    Finance,
    /// An auditor: reads everything, changes nothing.
    Auditor,
    /// A batch job.
    Batch,
    /// An administrator.
    Admin,
}

impl Role {
    /// Every role, in a fixed order.
    pub const ALL: [Role; 6] = [Role::Bank, Role::RiskOfficer, Role::Finance, Role::Auditor, Role::Batch, Role::Admin];

    /// The stored name, e.g. `RISK_OFFICER`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Bank => "BANK",
            Role::RiskOfficer => "RISK_OFFICER",
            Role::Finance => "FINANCE",
            Role::Auditor => "AUDITOR",
            Role::Batch => "BATCH",
            Role::Admin => "ADMIN",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == text)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Public id of the API key used; the name recorded as actor (reviewer, approver, …).
    pub key_id: String,
    /// Role of the key.
    pub role: Role,
    /// The bank a `Bank` key is bound to; `None` for every other role.
    pub bank: Option<BankId>,
}

impl Principal {
    /// True when the caller has one of `roles`.
    pub fn has_any(&self, roles: &[Role]) -> bool {
        roles.contains(&self.role)
    }

    /// Whose request ids a retry is recognised among: a partner bank's (whichever of its keys
    /// calls, so that rotating a key between a call and its retry changes nothing), or the
    /// key's own for the pool's staff and jobs. Written `bank:{bank_id}` or `key:{key_id}`.
    pub fn idempotency_scope(&self) -> String {
        match (&self.role, &self.bank) {
            (Role::Bank, Some(bank)) => format!("bank:{bank}"),
            _ => format!("key:{}", self.key_id),
        }
    }

    /// True when the caller may see the records of `bank`: any non-bank role, or the bank itself.
    pub fn may_see_bank(&self, bank: &BankId) -> bool {
        match (&self.role, &self.bank) {
            (Role::Bank, Some(own)) => own == bank,
            (Role::Bank, None) => false,
            _ => true,
        }
    }
}

/// Why a key may not be revoked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyRefusal {
    /// It is the last active administrator key: nobody could manage keys any more.
    #[error(
        "{key} is the last active ADMIN key; issue another administrator key first (or use `techcredit-server create-admin-key`)"
    )]
    LastAdminKey {
        /// The key's id.
        key: String,
    },
    /// Revoked or expired: there is nothing to rotate.
    #[error("{key} is revoked or expired; issue a new key instead")]
    NotActive {
        /// The key's id.
        key: String,
    },
}

impl crate::Rule for KeyRefusal {
    fn reason(&self) -> &'static str {
        match self {
            KeyRefusal::LastAdminKey { .. } => "LAST_ADMIN_KEY",
            KeyRefusal::NotActive { .. } => "KEY_NOT_ACTIVE",
        }
    }
}

/// Whether the key `key` (of `role`, still active) may be revoked while `other_active_admins`
/// other ADMIN keys are active: never the last one.
pub fn check_revocable(key: &str, role: Role, other_active_admins: usize) -> Result<(), KeyRefusal> {
    if role == Role::Admin && other_active_admins == 0 {
        return Err(KeyRefusal::LastAdminKey { key: key.to_owned() });
    }
    Ok(())
}
