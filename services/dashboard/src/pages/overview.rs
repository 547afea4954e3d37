//! 资金池概览 and 历史: the pool now, and month by month.

#[allow(clippy::wildcard_imports)]
use super::*;
use crate::pages::banks::bank_page;

// --- 资金池概览 -------------------------------------------------------------------------

pub(super) fn max_leverage(policy: &pb::GetPolicyResponse) -> f64 {
    policy
        .document
        .lines()
        .find_map(|line| line.trim().strip_prefix("max_leverage = "))
        .and_then(|v| v.trim_matches('"').parse().ok())
        .unwrap_or(12.0)
}

/// The policy's leverage limit, read once (the policy in force changes only with a restart).
pub(super) async fn policy_max_leverage(dashboard: &Dashboard, v: &mut Visit) -> f64 {
    if let Some(limit) = dashboard.max_leverage.get() {
        return *limit;
    }
    match v.api.admin.get_policy(pb::GetPolicyRequest {}).await {
        Ok(policy) => *dashboard.max_leverage.get_or_init(|| max_leverage(&policy.into_inner())),
        Err(_) => 12.0,
    }
}

pub(crate) async fn overview(State(dashboard): State<Dashboard>, headers: HeaderMap) -> Response {
    let mut v = match visit(&dashboard, &headers) {
        Ok(v) => v,
        Err(to_login) => return to_login,
    };
    let lang = v.lang;
    let position = match v.api.pool.get_pool_position(pb::GetPoolPositionRequest::default()).await {
        Ok(answer) => answer.into_inner().position.unwrap_or_default(),
        // A bank's key reads its own bank, not the pool.
        Err(status) if status.code() == tonic::Code::PermissionDenied && !v.session.bank.is_empty() => {
            let bank = v.session.bank.clone();
            return bank_page(&mut v, &bank).await;
        }
        Err(status) => return refused(&v, &status),
    };
    let limit = policy_max_leverage(&dashboard, &mut v).await;
    let leverage: f64 = position.leverage.parse().unwrap_or(0.0);
    let ratio = |text: &str| text.parse::<f64>().unwrap_or(0.0);
    let body = html! {
        p.muted { (lang.t("business_date")) ": " strong #business-date { (position.as_of) } }
        div.cards {
            (card(lang.t("net_pool_assets"), yuan(&position.net_pool_assets), Some(domain::display::wan(&position.net_pool_assets)), None))
            (card(lang.t("covered_outstanding"), yuan(&position.covered_outstanding), Some(domain::display::wan(&position.covered_outstanding)), None))
            (card(lang.t("pool_exposure"), yuan(&position.pool_exposure), None, None))
            (card(lang.t("leverage"), format!("{leverage:.2}×"), Some(format!("{} {limit}×", lang.t("limit"))), Some((leverage / limit, leverage > limit))))
            (card(lang.t("coverage_ratio"), format!("{:.2}", ratio(&position.coverage_ratio)), None, None))
            (card(lang.t("headroom"), yuan(&position.headroom), Some(domain::display::wan(&position.headroom)), None))
            (card(lang.t("pool_target"), domain::display::wan(&position.committed_capital), Some(format!("/ {} · {}", domain::display::wan(&position.pool_size_target), percent(&position.pool_size_progress))), Some((ratio(&position.pool_size_progress), false))))
            (card(lang.t("covered_target"), domain::display::wan(&position.covered_outstanding), Some(format!("/ {} · {}", domain::display::wan(&position.covered_balance_target), percent(&position.covered_balance_progress))), Some((ratio(&position.covered_balance_progress), false))))
            (card(lang.t("escrow_cash"), yuan(&position.escrow_cash), None, None))
            (card(lang.t("npl_ratio"), percent(&position.npl_ratio), None, None))
            (card(lang.t("compensation"), yuan(&position.compensation_approved), Some(format!("{} {}", lang.t("recoveries"), yuan(&position.recoveries))), None))
            (card(lang.t("state"), if position.suspended { lang.t("suspended").to_owned() } else { lang.t("open").to_owned() }, (!position.suspension_reason.is_empty()).then(|| position.suspension_reason.clone()), None))
        }
        // The figures as the API gives them, for scripts and tests.
        dl #figures hidden {
            dt { "net_pool_assets" } dd data-field="net_pool_assets" { (position.net_pool_assets) }
            dt { "covered_outstanding" } dd data-field="covered_outstanding" { (position.covered_outstanding) }
            dt { "pool_exposure" } dd data-field="pool_exposure" { (position.pool_exposure) }
            dt { "headroom" } dd data-field="headroom" { (position.headroom) }
        }
    };
    page(lang, Some(&v.session), lang.t("overview"), body).into_response()
}

// --- 历史 -------------------------------------------------------------------------------

/// Apache ECharts, embedded (the copy `tools/` locks; CI checks it is that one).
pub(super) const ECHARTS: &[u8] = include_bytes!("../../assets/echarts.min.js");

pub(crate) async fn echarts() -> Response {
    (
        [
            (CONTENT_TYPE, "application/javascript; charset=utf-8"),
            (axum::http::header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        ECHARTS,
    )
        .into_response()
}

pub(super) const CHARTS: &str = r#"
const data = JSON.parse(document.getElementById('history-data').textContent);
const wan = (text) => Math.round(parseFloat(text) / 100) / 100;
const months = data.months.map((m) => m.period);
const line = (el, series, extra) => {
  const chart = echarts.init(document.getElementById(el));
  chart.setOption(Object.assign({
    animation: false, tooltip: { trigger: 'axis' }, legend: { top: 0 }, grid: { left: 60, right: 20, top: 36, bottom: 28 },
    xAxis: { type: 'category', data: months }, yAxis: { type: 'value' }, series,
  }, extra || {}));
};
line('chart-assets', [
  { name: data.labels.net, type: 'line', data: data.months.map((m) => wan(m.netPoolAssets)) },
  { name: data.labels.covered, type: 'line', data: data.months.map((m) => wan(m.coveredOutstanding)) },
]);
line('chart-leverage', [
  { name: data.labels.leverage, type: 'line', data: data.months.map((m) => parseFloat(m.leverage || '0')),
    markLine: { symbol: 'none', data: [{ yAxis: data.maxLeverage, name: 'max' }] } },
]);
line('chart-losses', [
  { name: data.labels.compensation, type: 'line', data: data.months.map((m) => wan(m.compensation)) },
  { name: data.labels.recoveries, type: 'line', data: data.months.map((m) => wan(m.recoveries)) },
]);
const grades = ['AAA', 'AA', 'A', 'BBB', 'BB', 'B', 'CCC', 'D'];
line('chart-grades', grades.map((g, i) => ({
  name: g, type: 'bar', stack: 'loans',
  data: data.months.map((m) => { const c = (m.loansByGrade || []).find((x) => x.grade === i + 1); return c ? Number(c.loans) : 0; }),
})));
"#;

pub(crate) async fn history(State(dashboard): State<Dashboard>, headers: HeaderMap) -> Response {
    let mut v = match visit(&dashboard, &headers) {
        Ok(v) => v,
        Err(to_login) => return to_login,
    };
    let lang = v.lang;
    let months = match v.api.pool.get_position_history(pb::GetPositionHistoryRequest { months: 24 }).await {
        Ok(answer) => answer.into_inner().months,
        Err(status) => return refused(&v, &status),
    };
    let limit = policy_max_leverage(&dashboard, &mut v).await;
    let json_months: Vec<String> = months
        .iter()
        .map(|m| {
            let grades: Vec<String> = m
                .loans_by_grade
                .iter()
                .map(|g| format!(r#"{{"grade":{},"loans":{}}}"#, g.grade, g.loans))
                .collect();
            format!(
                r#"{{"period":"{}","netPoolAssets":"{}","coveredOutstanding":"{}","leverage":"{}","compensation":"{}","recoveries":"{}","loansByGrade":[{}]}}"#,
                m.period, m.net_pool_assets, m.covered_outstanding, m.leverage, m.compensation, m.recoveries, grades.join(",")
            )
        })
        .collect();
    let data = format!(
        r#"{{"maxLeverage":{limit},"labels":{{"net":"{}","covered":"{}","leverage":"{}","compensation":"{}","recoveries":"{}"}},"months":[{}]}}"#,
        lang.t("net_pool_assets"),
        lang.t("covered_outstanding"),
        lang.t("leverage"),
        lang.t("compensation"),
        lang.t("recoveries"),
        json_months.join(",")
    );
    let body = html! {
        @if months.is_empty() { p { (lang.t("no_history")) } } @else {
            div.cards style="grid-template-columns: 1fr 1fr" {
                div.card { div.label { (lang.t("history_assets")) } div #chart-assets style="height:260px" {} }
                div.card { div.label { (lang.t("history_leverage")) } div #chart-leverage style="height:260px" {} }
                div.card { div.label { (lang.t("history_losses")) } div #chart-losses style="height:260px" {} }
                div.card { div.label { (lang.t("history_grades")) } div #chart-grades style="height:260px" {} }
            }
            table #history {
                thead { tr { th { (lang.t("period")) } th.num { (lang.t("net_pool_assets")) } th.num { (lang.t("covered_outstanding")) } th.num { (lang.t("leverage")) } th.num { (lang.t("compensation")) } th.num { (lang.t("recoveries")) } } }
                tbody { @for m in &months { tr {
                    td { (m.period) } td.num { (yuan(&m.net_pool_assets)) } td.num { (yuan(&m.covered_outstanding)) }
                    td.num { (m.leverage) } td.num { (yuan(&m.compensation)) } td.num { (yuan(&m.recoveries)) }
                } } }
            }
            script #history-data type="application/json" { (PreEscaped(data)) }
            script src="/assets/echarts.min.js" {}
            script { (PreEscaped(CHARTS)) }
        }
    };
    page(lang, Some(&v.session), lang.t("history"), body).into_response()
}
