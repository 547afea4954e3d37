//! AdminService: banks, API keys, the business clock.

use clap::{Subcommand, ValueEnum};
use proto::v1 as pb;

use super::{Paging, label, more, name, time};
use crate::failure::Failure;
use crate::output::View;
use crate::{Ctx, out};

/// `techcredit banks …`
#[derive(Debug, Subcommand)]
pub enum Banks {
    /// Register a partner bank (ADMIN).
    Create {
        /// Its id, e.g. nbcb-yinzhou.
        bank_id: String,
        /// The name people read, e.g. 宁波银行鄞州支行.
        #[arg(long)]
        display_name: String,
        /// Its coverage quota, e.g. 150000000.00.
        #[arg(long)]
        quota: String,
    },
    /// List the banks.
    List {
        #[command(flatten)]
        paging: Paging,
    },
    /// One bank.
    Show {
        /// Its id or name (nbcb or banks/nbcb).
        bank: String,
    },
    /// Change a bank's display name or quota (ADMIN).
    Update {
        /// Its id or name.
        bank: String,
        /// A new display name.
        #[arg(long)]
        display_name: Option<String>,
        /// A new quota.
        #[arg(long)]
        quota: Option<String>,
    },
    /// Suspend a bank by hand, or resume it (RISK_OFFICER).
    Status {
        /// Its id or name.
        bank: String,
        /// What to set.
        #[arg(value_enum)]
        status: SetStatus,
        /// Why (recorded with the change).
        #[arg(long)]
        reason: String,
    },
}

/// A status a risk officer sets.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SetStatus {
    /// No new enrolments until resumed.
    Suspended,
    /// Back to the NPL rules.
    Active,
}

fn bank_view(bank: &pb::Bank, out: &crate::output::Printer) -> View {
    View::Record(vec![
        ("name", bank.name.clone()),
        ("display name", bank.display_name.clone()),
        ("quota", out.money(&bank.quota)),
        ("quota used", out.money(&bank.quota_used)),
        ("status", label(bank.status().as_str_name(), "BANK_STATUS_")),
        ("status reason", bank.status_reason.clone()),
        ("created", time(&bank.create_time)),
    ])
}

impl Banks {
    /// Runs the command.
    pub async fn run(self, ctx: &Ctx) -> Result<(), Failure> {
        let mut admin = ctx.clients.admin.clone();
        let out = &ctx.out;
        match self {
            Banks::Create { bank_id, display_name, quota } => {
                let request = pb::CreateBankRequest { request_id: ctx.request_id(), bank_id, display_name, quota };
                let bank = admin.create_bank(request).await?.into_inner().bank.unwrap_or_default();
                out.show("techcredit.v1.Bank", &bank, |o| bank_view(&bank, o))
            }
            Banks::List { paging } => {
                let request = pb::ListBanksRequest { page_size: paging.page_size, page_token: paging.page_token };
                let list = admin.list_banks(request).await?.into_inner();
                more(&list.next_page_token);
                out.show("techcredit.v1.ListBanksResponse", &list, |o| View::Rows {
                    header: vec!["bank", "display name", "quota", "used", "status"],
                    rows: list
                        .banks
                        .iter()
                        .map(|b| {
                            vec![
                                b.bank_id.clone(),
                                b.display_name.clone(),
                                o.money(&b.quota),
                                o.money(&b.quota_used),
                                label(b.status().as_str_name(), "BANK_STATUS_"),
                            ]
                        })
                        .collect(),
                })
            }
            Banks::Show { bank } => {
                let bank = admin.get_bank(pb::GetBankRequest { name: name("banks", &bank) }).await?.into_inner();
                let bank = bank.bank.unwrap_or_default();
                out.show("techcredit.v1.Bank", &bank, |o| bank_view(&bank, o))
            }
            Banks::Update { bank, display_name, quota } => {
                let request = pb::UpdateBankRequest {
                    request_id: ctx.request_id(),
                    name: name("banks", &bank),
                    display_name: display_name.unwrap_or_default(),
                    quota: quota.unwrap_or_default(),
                };
                let bank = admin.update_bank(request).await?.into_inner().bank.unwrap_or_default();
                out.show("techcredit.v1.Bank", &bank, |o| bank_view(&bank, o))
            }
            Banks::Status { bank, status, reason } => {
                let status = match status {
                    SetStatus::Suspended => pb::BankStatus::Suspended,
                    SetStatus::Active => pb::BankStatus::Active,
                };
                let request = pb::SetBankStatusRequest {
                    request_id: ctx.request_id(),
                    bank: name("banks", &bank),
                    status: status as i32,
                    reason,
                };
                let answer = ctx.clients.pool.clone().set_bank_status(request).await?.into_inner();
                let exposure = answer.exposure.unwrap_or_default();
                out.show("techcredit.v1.BankExposure", &exposure, |o| {
                    crate::commands::pool::exposure_view(&exposure, o)
                })
            }
        }
    }
}

/// `techcredit parties …`
#[derive(Debug, Subcommand)]
pub enum Parties {
    /// Register a co-sharing party the policy may name (ADMIN).
    Create {
        /// Its id, e.g. picc-ningbo (the policy's loss_sharing.parties name it).
        party_id: String,
        /// The name people read, e.g. 人保财险宁波分公司.
        #[arg(long)]
        display_name: String,
        /// What it is.
        #[arg(long, value_enum)]
        kind: PartyKind,
    },
    /// The co-sharing parties with their policy shares and totals.
    List,
    /// One party.
    Show {
        /// Its id or name (parties/picc-ningbo).
        party: String,
    },
}

/// What kind of co-sharer a party is.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PartyKind {
    /// An insurer (政银保).
    Insurer,
    /// A guarantee company (政银担).
    GuaranteeCompany,
}

fn party_view(p: &pb::CoSharingParty, out: &crate::output::Printer) -> View {
    View::Record(vec![
        ("name", p.name.clone()),
        ("display name", p.display_name.clone()),
        ("kind", label(p.kind().as_str_name(), "CO_SHARING_PARTY_KIND_")),
        (
            "policy share",
            if p.policy_share.is_empty() { "not in the policy in force".to_owned() } else { p.policy_share.clone() },
        ),
        ("decided", out.money(&p.decided_total)),
        ("pending", out.money(&p.pending_total)),
        ("claims", p.claims.to_string()),
        ("created", time(&p.create_time)),
    ])
}

impl Parties {
    /// Runs the command.
    pub async fn run(self, ctx: &Ctx) -> Result<(), Failure> {
        let mut admin = ctx.clients.admin.clone();
        let out = &ctx.out;
        match self {
            Parties::Create { party_id, display_name, kind } => {
                let kind = match kind {
                    PartyKind::Insurer => pb::CoSharingPartyKind::Insurer,
                    PartyKind::GuaranteeCompany => pb::CoSharingPartyKind::GuaranteeCompany,
                };
                let request = pb::CreateCoSharingPartyRequest {
                    request_id: ctx.request_id(),
                    party_id,
                    display_name,
                    kind: kind as i32,
                };
                let party = admin.create_co_sharing_party(request).await?.into_inner().party.unwrap_or_default();
                out.show("techcredit.v1.CoSharingParty", &party, |o| party_view(&party, o))
            }
            Parties::List => {
                let list = admin.list_co_sharing_parties(pb::ListCoSharingPartiesRequest {}).await?.into_inner();
                out.show("techcredit.v1.ListCoSharingPartiesResponse", &list, |o| View::Rows {
                    header: vec!["party", "display name", "kind", "policy share", "decided", "pending", "claims"],
                    rows: list
                        .parties
                        .iter()
                        .map(|p| {
                            vec![
                                p.party_id.clone(),
                                p.display_name.clone(),
                                label(p.kind().as_str_name(), "CO_SHARING_PARTY_KIND_"),
                                p.policy_share.clone(),
                                o.money(&p.decided_total),
                                o.money(&p.pending_total),
                                p.claims.to_string(),
                            ]
                        })
                        .collect(),
                })
            }
            Parties::Show { party } => {
                let request = pb::GetCoSharingPartyRequest { name: name("parties", &party) };
                let party = admin.get_co_sharing_party(request).await?.into_inner().party.unwrap_or_default();
                out.show("techcredit.v1.CoSharingParty", &party, |o| party_view(&party, o))
            }
        }
    }
}

/// `techcredit keys …`
#[derive(Debug, Subcommand)]
pub enum Keys {
    /// Issue a key (ADMIN); its secret is printed once.
    Create {
        /// Its role.
        #[arg(value_enum)]
        role: KeyRole,
        /// The bank a BANK key acts for.
        #[arg(long)]
        bank: Option<String>,
        /// What it is for (who holds it).
        #[arg(long)]
        description: String,
        /// The last business date it works (YYYY-MM-DD); default: until revoked.
        #[arg(long)]
        expires_on: Option<String>,
    },
    /// Replace a key (ADMIN): a new secret for the same role and bank, printed once; the old
    /// key keeps working through the overlap.
    Rotate {
        /// Its id or name (apiKeys/…).
        key: String,
        /// Days the old key keeps working after today.
        #[arg(long, default_value_t = 7)]
        overlap_days: i32,
    },
    /// List keys, without their secrets (ADMIN, AUDITOR).
    List {
        /// Only a bank's keys.
        #[arg(long)]
        bank: Option<String>,
        #[command(flatten)]
        paging: Paging,
    },
    /// Revoke a key at once (ADMIN).
    Revoke {
        /// Its id or name (apiKeys/…).
        key: String,
    },
}

/// A key's role.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum KeyRole {
    /// A partner bank's system.
    Bank,
    /// A risk officer.
    RiskOfficer,
    /// Finance staff.
    Finance,
    /// An auditor.
    Auditor,
    /// A batch job.
    Batch,
    /// An administrator.
    Admin,
}

impl KeyRole {
    fn wire(self) -> pb::Role {
        match self {
            KeyRole::Bank => pb::Role::Bank,
            KeyRole::RiskOfficer => pb::Role::RiskOfficer,
            KeyRole::Finance => pb::Role::Finance,
            KeyRole::Auditor => pb::Role::Auditor,
            KeyRole::Batch => pb::Role::Batch,
            KeyRole::Admin => pb::Role::Admin,
        }
    }
}

fn key_row(key: &pb::ApiKey) -> Vec<String> {
    vec![
        key.key_id.clone(),
        label(key.role().as_str_name(), "ROLE_"),
        key.bank.clone(),
        key.description.clone(),
        time(&key.create_time),
        time(&key.revoke_time),
        key.expire_date.clone(),
    ]
}

const KEY_HEADER: [&str; 7] = ["key", "role", "bank", "description", "created", "revoked", "works through"];

impl Keys {
    /// Runs the command.
    pub async fn run(self, ctx: &Ctx) -> Result<(), Failure> {
        let mut admin = ctx.clients.admin.clone();
        match self {
            Keys::Create { role, bank, description, expires_on } => {
                let request = pb::CreateApiKeyRequest {
                    request_id: ctx.request_id(),
                    role: role.wire() as i32,
                    bank: super::optional_name("banks", &bank),
                    description,
                    expire_date: expires_on.unwrap_or_default(),
                };
                let created = admin.create_api_key(request).await?.into_inner();
                let key = created.api_key.clone().unwrap_or_default();
                ctx.out.show("techcredit.v1.CreateApiKeyResponse", &created, |_| {
                    View::Record(vec![
                        ("key", key.key_id.clone()),
                        ("role", label(key.role().as_str_name(), "ROLE_")),
                        ("bank", key.bank.clone()),
                        ("secret", created.secret.clone()),
                        ("", "the secret is shown once: keep it in a file only its user can read".to_owned()),
                    ])
                })
            }
            Keys::List { bank, paging } => {
                let request = pb::ListApiKeysRequest {
                    page_size: paging.page_size,
                    page_token: paging.page_token,
                    bank: super::optional_name("banks", &bank),
                };
                let list = admin.list_api_keys(request).await?.into_inner();
                more(&list.next_page_token);
                ctx.out.show("techcredit.v1.ListApiKeysResponse", &list, |_| View::Rows {
                    header: KEY_HEADER.to_vec(),
                    rows: list.api_keys.iter().map(key_row).collect(),
                })
            }
            Keys::Rotate { key, overlap_days } => {
                let request =
                    pb::RotateApiKeyRequest { request_id: ctx.request_id(), name: name("apiKeys", &key), overlap_days };
                let rotated = admin.rotate_api_key(request).await?.into_inner();
                let (new, old) =
                    (rotated.api_key.clone().unwrap_or_default(), rotated.previous.clone().unwrap_or_default());
                ctx.out.show("techcredit.v1.RotateApiKeyResponse", &rotated, |_| {
                    View::Record(vec![
                        ("new key", new.key_id.clone()),
                        ("secret", rotated.secret.clone()),
                        ("old key", old.key_id.clone()),
                        ("old key works through", old.expire_date.clone()),
                        ("", "the secret is shown once: keep it in a file only its user can read".to_owned()),
                    ])
                })
            }
            Keys::Revoke { key } => {
                let request = pb::RevokeApiKeyRequest { request_id: ctx.request_id(), name: name("apiKeys", &key) };
                let key = admin.revoke_api_key(request).await?.into_inner().api_key.unwrap_or_default();
                ctx.out.show("techcredit.v1.ApiKey", &key, |_| View::Rows {
                    header: KEY_HEADER.to_vec(),
                    rows: vec![key_row(&key)],
                })
            }
        }
    }
}

/// `techcredit clock …`
#[derive(Debug, Subcommand)]
pub enum Clock {
    /// The business date, the clock's mode and the server's versions.
    Show,
    /// Move a simulated clock forward to a date (ADMIN).
    Advance {
        /// The new business date, YYYY-MM-DD.
        #[arg(long)]
        to: String,
    },
}

impl Clock {
    /// Runs the command.
    pub async fn run(self, ctx: &Ctx) -> Result<(), Failure> {
        let mut admin = ctx.clients.admin.clone();
        match self {
            Clock::Show => {
                let info = admin.get_server_info(pb::GetServerInfoRequest {}).await?.into_inner();
                ctx.out.show("techcredit.v1.GetServerInfoResponse", &info, |_| {
                    View::Record(vec![
                        ("business date", info.business_date.clone()),
                        ("clock", label(info.clock_mode().as_str_name(), "CLOCK_MODE_")),
                        ("server", info.server_version.clone()),
                        ("policy", info.policy_version.clone()),
                    ])
                })
            }
            Clock::Advance { to } => {
                let request = pb::AdvanceBusinessDateRequest { request_id: ctx.request_id(), business_date: to };
                let moved = admin.advance_business_date(request).await?.into_inner();
                if ctx.out.format == crate::output::Format::Json {
                    return ctx.out.json("techcredit.v1.AdvanceBusinessDateResponse", &moved);
                }
                out!("business date {} → {}", moved.previous_business_date, moved.business_date);
                Ok(())
            }
        }
    }
}
