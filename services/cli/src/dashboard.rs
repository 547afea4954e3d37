//! `techcredit pool position`: the pool at a glance for a terminal — progress toward the
//! pool and covered-balance targets, leverage against its limit, headroom, suspension, and
//! every bank's quota, NPL ratio and compensation against the annual cap. `--output json`
//! prints the API's GetPoolPositionResponse.

use proto::v1 as pb;

use crate::commands::label;
use crate::failure::Failure;
use crate::output::{Format, Printer, View, bar};
use crate::{Ctx, out};

/// `techcredit pool position`.
#[derive(Debug, clap::Args)]
pub struct Position {
    /// As of this past date, YYYY-MM-DD (default: today).
    #[arg(long)]
    as_of: Option<String>,
}

fn fraction(text: &str) -> f64 {
    text.parse::<f64>().unwrap_or(0.0)
}

fn percent(ratio: &str) -> String {
    if ratio.is_empty() {
        return "—".to_owned();
    }
    match ratio.parse::<rust_decimal::Decimal>() {
        Ok(r) => format!("{:.1}%", r * rust_decimal::Decimal::ONE_HUNDRED),
        Err(_) => ratio.to_owned(),
    }
}

/// The policy's leverage limit, read from the policy document in force.
fn max_leverage(policy: &pb::GetPolicyResponse) -> Option<String> {
    let document: toml::Value = toml::from_str(&policy.document).ok()?;
    document.get("pool")?.get("max_leverage")?.as_str().map(str::to_owned)
}

impl Position {
    /// The position now.
    pub fn today() -> Position {
        Position { as_of: None }
    }

    /// Runs the command.
    pub async fn run(self, ctx: &Ctx) -> Result<(), Failure> {
        let mut pool = ctx.clients.pool.clone();
        let request = pb::GetPoolPositionRequest { as_of: self.as_of.clone().unwrap_or_default() };
        let answer = pool.get_pool_position(request).await?.into_inner();
        let p = answer.position.clone().unwrap_or_default();
        let out = &ctx.out;
        match out.format {
            Format::Json => return out.json("techcredit.v1.GetPoolPositionResponse", &answer),
            Format::Csv => {
                return out.show("techcredit.v1.GetPoolPositionResponse", &answer, |_| figures(&p, out));
            }
            Format::Table => {}
        }
        let banks = pool
            .list_bank_exposures(pb::ListBankExposuresRequest { page_size: 1000, page_token: String::new() })
            .await
            .map(|r| r.into_inner().exposures)
            // A bank's key may not list every bank: the pool's figures are shown alone.
            .ok();
        let limit = ctx
            .clients
            .admin
            .clone()
            .get_policy(pb::GetPolicyRequest {})
            .await
            .ok()
            .and_then(|p| max_leverage(&p.into_inner()));
        dashboard(out, &p, limit.as_deref());
        if let Some(banks) = banks {
            out!();
            let o = out;
            out.table(&View::Rows {
                header: vec!["bank", "status", "quota", "used", "NPL ratio", "compensation this year", "annual cap"],
                rows: banks
                    .iter()
                    .map(|e| {
                        let status = label(e.status().as_str_name(), "BANK_STATUS_");
                        vec![
                            e.bank.trim_start_matches("banks/").to_owned(),
                            if status == "ACTIVE" { status } else { o.alert(&status) },
                            o.money(&e.quota),
                            o.money(&e.quota_used),
                            percent(&e.npl_ratio),
                            o.money(&e.compensation_this_year),
                            o.money(&e.annual_cap),
                        ]
                    })
                    .collect(),
            });
        }
        Ok(())
    }
}

/// The position's figures, one a line (CSV).
fn figures(p: &pb::PoolPosition, out: &Printer) -> View {
    View::Record(vec![
        ("as_of", p.as_of.clone()),
        ("committed_capital", out.money(&p.committed_capital)),
        ("received_capital", out.money(&p.received_capital)),
        ("escrow_cash", out.money(&p.escrow_cash)),
        ("net_pool_assets", out.money(&p.net_pool_assets)),
        ("covered_outstanding", out.money(&p.covered_outstanding)),
        ("pool_exposure", out.money(&p.pool_exposure)),
        ("leverage", p.leverage.clone()),
        ("coverage_ratio", p.coverage_ratio.clone()),
        ("headroom", out.money(&p.headroom)),
        ("npl_ratio", p.npl_ratio.clone()),
        ("suspended", p.suspended.to_string()),
    ])
}

fn dashboard(out: &Printer, p: &pb::PoolPosition, max_leverage: Option<&str>) {
    out!("{}", out.bold(&format!("techcredit risk pool — position as of {} (policy {})", p.as_of, p.policy_version)));
    out!();
    let target = |name: &str, value: &str, goal: &str, progress: &str| {
        out!(
            "  {name:<22} {}  {:>18} of {:<18} {}",
            bar(fraction(progress), 24),
            out.money(value),
            out.money(goal),
            percent(progress)
        );
    };
    target("pool (committed)", &p.committed_capital, &p.pool_size_target, &p.pool_size_progress);
    target("covered balance", &p.covered_outstanding, &p.covered_balance_target, &p.covered_balance_progress);
    out!();
    let line = |name: &str, value: String| out!("  {name:<22} {value}");
    line("net pool assets", out.money(&p.net_pool_assets));
    line("  escrow cash", out.money(&p.escrow_cash));
    line("  receivables", out.money(&p.receivables));
    line("  payables", out.money(&p.payables));
    line("pool exposure", out.money(&p.pool_exposure));
    let leverage = match (p.leverage.as_str(), max_leverage) {
        ("", _) => "— (no net assets)".to_owned(),
        (value, Some(limit)) => {
            let used = fraction(value) / fraction(limit).max(f64::MIN_POSITIVE);
            let text = format!("{} {:.2}× of {limit}× max", bar(used, 24), fraction(value));
            if used > 1.0 { out.alert(&text) } else { text }
        }
        (value, None) => format!("{:.2}×", fraction(value)),
    };
    line("leverage", leverage);
    line(
        "coverage ratio",
        if p.coverage_ratio.is_empty() { "—".to_owned() } else { format!("{:.2}", fraction(&p.coverage_ratio)) },
    );
    line("headroom", out.money(&p.headroom));
    line("NPL ratio", percent(&p.npl_ratio));
    line(
        "compensation",
        format!(
            "{} approved, {} paid, {} short; recoveries {}",
            out.money(&p.compensation_approved),
            out.money(&p.compensation_paid),
            out.money(&p.shortfall),
            out.money(&p.recoveries)
        ),
    );
    let state = if p.suspended {
        out.alert(&format!("SUSPENDED: {}", p.suspension_reason))
    } else {
        "taking new enrolments".to_owned()
    };
    line("state", state);
}
