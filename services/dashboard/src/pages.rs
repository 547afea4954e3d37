//! The pages. Each reads through the gRPC services with the session's key and renders on
//! the server (maud); actions are plain forms carrying the session's CSRF token.

use std::collections::HashMap;

use axum::extract::{Form, Path, Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE, LOCATION, REFERER, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use proto::v1 as pb;
use serde::Deserialize;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic_types::StatusExt;

use crate::Dashboard;
use crate::i18n::Lang;
use crate::session::{self, Session};

#[derive(Clone)]
struct Bearer(MetadataValue<Ascii>);

impl Interceptor for Bearer {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        request.metadata_mut().insert("authorization", self.0.clone());
        Ok(request)
    }
}

type Authed = InterceptedService<Channel, Bearer>;

/// The services with one key.
struct Api {
    admin: pb::admin_service_client::AdminServiceClient<Authed>,
    loans: pb::loan_application_service_client::LoanApplicationServiceClient<Authed>,
    pool: pb::risk_pool_service_client::RiskPoolServiceClient<Authed>,
    settlement: pb::settlement_service_client::SettlementServiceClient<Authed>,
}

fn api(channel: &Channel, key: &str) -> Option<Api> {
    let header: MetadataValue<Ascii> = format!("Bearer {key}").parse().ok()?;
    let authed = InterceptedService::new(channel.clone(), Bearer(header));
    Some(Api {
        admin: pb::admin_service_client::AdminServiceClient::new(authed.clone()),
        loans: pb::loan_application_service_client::LoanApplicationServiceClient::new(authed.clone()),
        pool: pb::risk_pool_service_client::RiskPoolServiceClient::new(authed.clone()),
        settlement: pb::settlement_service_client::SettlementServiceClient::new(authed),
    })
}

/// A signed-in request: its session, language and the services with its key.
struct Visit {
    session: Session,
    lang: Lang,
    api: Api,
}

fn redirect(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(LOCATION, HeaderValue::from_str(to).unwrap_or(HeaderValue::from_static("/")))])
        .into_response()
}

/// The signed-in visit, or the way to the login page.
fn visit(dashboard: &Dashboard, headers: &HeaderMap) -> Result<Visit, Response> {
    let lang = Lang::of(headers);
    let expired = session::cookie(headers, session::COOKIE_NAME).is_some();
    let session = dashboard
        .sessions
        .find(headers)
        .ok_or_else(|| redirect(if expired { "/login?expired=1" } else { "/login" }))?;
    let api = api(&dashboard.grpc, &session.key).ok_or_else(|| redirect("/login"))?;
    Ok(Visit { session, lang, api })
}

/// A service's refusal as a page (UNAUTHENTICATED: back to the login).
fn refused(visit: &Visit, status: &tonic::Status) -> Response {
    if status.code() == tonic::Code::Unauthenticated {
        return redirect("/login?expired=1");
    }
    let reason = status.get_details_error_info().map(|i| i.reason).unwrap_or_default();
    let body = html! {
        div.error {
            strong { (visit.lang.t("refused")) } " " code { (reason) }
            @if let Some(words) = visit.lang.reason(&reason) { p { (words) } }
            p { (status.message()) }
        }
    };
    (StatusCode::OK, page(visit.lang, Some(&visit.session), visit.lang.t("refused"), body)).into_response()
}

const STYLE: &str = r#"
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif; margin: 0; color: #1d2733; background: #f4f6f9; }
header { background: #0b3d6e; color: #fff; padding: 10px 24px; display: flex; align-items: center; gap: 24px; flex-wrap: wrap; }
header h1 { font-size: 18px; margin: 0 16px 0 0; }
header a, header button { color: #dce9f7; text-decoration: none; font-size: 15px; background: none; border: none; cursor: pointer; font-family: inherit; }
header a.active { color: #fff; border-bottom: 2px solid #ffcc4d; }
header .right { margin-left: auto; display: flex; gap: 16px; align-items: center; }
main { padding: 20px 24px; max-width: 1300px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(240px, 1fr)); gap: 14px; }
.card { background: #fff; border-radius: 6px; padding: 14px 16px; box-shadow: 0 1px 2px rgba(0,0,0,.08); }
.card .label { color: #5b6b7c; font-size: 13px; }
.card .value { font-size: 22px; font-variant-numeric: tabular-nums; margin-top: 4px; }
.card .sub { color: #5b6b7c; font-size: 12px; margin-top: 4px; }
.bar { background: #e3e8ef; height: 8px; border-radius: 4px; margin-top: 8px; overflow: hidden; }
.bar span { display: block; height: 8px; background: #2f7fd1; }
.bar span.warn { background: #d9534f; }
table { border-collapse: collapse; width: 100%; background: #fff; margin: 10px 0 20px; box-shadow: 0 1px 2px rgba(0,0,0,.08); }
th, td { padding: 7px 10px; border-bottom: 1px solid #e6eaf0; text-align: left; font-size: 14px; }
th { background: #eef2f7; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.flag { padding: 1px 6px; border-radius: 3px; font-size: 12px; }
.flag.ACTIVE { background: #e2f3e6; color: #276b35; } .flag.WATCH { background: #fff3cd; color: #7a5b00; } .flag.SUSPENDED { background: #f8d7da; color: #842029; }
form.inline { display: inline-flex; gap: 6px; align-items: center; }
input[type=text], input[type=password], select { padding: 5px 8px; border: 1px solid #b8c2cc; border-radius: 4px; font-size: 14px; font-family: inherit; }
button.primary { background: #2f7fd1; color: #fff; border: none; border-radius: 4px; padding: 6px 12px; cursor: pointer; font-family: inherit; }
button.danger { background: #c9483f; color: #fff; border: none; border-radius: 4px; padding: 6px 12px; cursor: pointer; font-family: inherit; }
.error { background: #f8d7da; color: #842029; padding: 10px 14px; border-radius: 4px; margin-bottom: 14px; }
.notice { background: #e2f3e6; color: #276b35; padding: 10px 14px; border-radius: 4px; margin-bottom: 14px; }
.login { max-width: 420px; margin: 80px auto; background: #fff; padding: 28px; border-radius: 8px; box-shadow: 0 1px 3px rgba(0,0,0,.12); }
.login input { width: 100%; box-sizing: border-box; margin: 10px 0 16px; }
h2 { font-size: 18px; margin: 22px 0 8px; }
.muted { color: #5b6b7c; font-size: 13px; }
"#;

const NAV: [(&str, &str); 7] = [
    ("/", "overview"),
    ("/history", "history"),
    ("/banks", "banks"),
    ("/queues", "queues"),
    ("/stress", "stress"),
    ("/statements", "statements"),
    ("/reconciliation", "reconciliation"),
];

fn page(lang: Lang, session: Option<&Session>, title: &str, body: Markup) -> Html<String> {
    Html(page_markup(lang, session, title, body).into_string())
}

fn page_markup(lang: Lang, session: Option<&Session>, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (lang.t("title")) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    h1 { (lang.t("title")) }
                    @if let Some(session) = session {
                        @for (path, key) in NAV {
                            a href=(path) class=[(lang.t(key) == title).then_some("active")] { (lang.t(key)) }
                        }
                        div.right {
                            span.muted style="color:#b9cde3" { (role_name(lang, session.role)) " " (session.bank) }
                            a href={ "/lang/" (if lang == Lang::Zh { "en" } else { "zh" }) } { (lang.t("switch")) }
                            form method="post" action="/logout" style="display:inline" {
                                input type="hidden" name="csrf" value=(session.csrf);
                                button type="submit" { (lang.t("logout")) }
                            }
                        }
                    } @else {
                        div.right { a href={ "/lang/" (if lang == Lang::Zh { "en" } else { "zh" }) } { (lang.t("switch")) } }
                    }
                }
                main { h2 { (title) } (body) }
            }
        }
    }
}

fn role_name(lang: Lang, role: pb::Role) -> &'static str {
    match (lang, role) {
        (Lang::Zh, pb::Role::Bank) => "银行",
        (Lang::Zh, pb::Role::RiskOfficer) => "风险官",
        (Lang::Zh, pb::Role::Finance) => "财务",
        (Lang::Zh, pb::Role::Auditor) => "审计",
        (Lang::Zh, pb::Role::Batch) => "批处理",
        (Lang::Zh, pb::Role::Admin) => "管理员",
        (Lang::En, pb::Role::Bank) => "Bank",
        (Lang::En, pb::Role::RiskOfficer) => "Risk officer",
        (Lang::En, pb::Role::Finance) => "Finance",
        (Lang::En, pb::Role::Auditor) => "Auditor",
        (Lang::En, pb::Role::Batch) => "Batch",
        (Lang::En, pb::Role::Admin) => "Administrator",
        (_, pb::Role::Unspecified) => "",
    }
}

/// An amount in yuan with separators.
fn yuan(text: &str) -> String {
    if text.is_empty() { "—".to_owned() } else { domain::display::thousands(text) }
}

/// A ratio as a percentage.
fn percent(text: &str) -> String {
    text.parse::<f64>().map(|r| format!("{:.1}%", r * 100.0)).unwrap_or_else(|_| "—".to_owned())
}

fn label(name: &str, prefix: &str) -> String {
    name.strip_prefix(prefix).unwrap_or(name).to_owned()
}

/// A timestamp in Asia/Shanghai (UTC+8, no daylight saving).
fn shanghai(timestamp: &Option<prost_types::Timestamp>) -> String {
    timestamp
        .as_ref()
        .and_then(|t| chrono::DateTime::from_timestamp(t.seconds, 0))
        .map(|t| (t + chrono::Duration::hours(8)).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

fn card(label: &str, value: String, sub: Option<String>, progress: Option<(f64, bool)>) -> Markup {
    html! {
        div.card {
            div.label { (label) }
            div.value { (value) }
            @if let Some(sub) = sub { div.sub { (sub) } }
            @if let Some((fraction, warn)) = progress {
                div.bar { span class=[warn.then_some("warn")] style={ "width:" (format!("{:.1}", fraction.clamp(0.0, 1.0) * 100.0)) "%" } {} }
            }
        }
    }
}

// --- sign in and out -------------------------------------------------------------------

#[derive(Deserialize)]
pub(crate) struct LoginQuery {
    expired: Option<String>,
}

pub(crate) async fn login_form(headers: HeaderMap, Query(query): Query<LoginQuery>) -> Html<String> {
    let lang = Lang::of(&headers);
    login_page(lang, query.expired.is_some().then_some(lang.t("expired")))
}

fn login_page(lang: Lang, error: Option<&str>) -> Html<String> {
    page(
        lang,
        None,
        lang.t("login"),
        html! {
            div.login {
                @if let Some(error) = error { div.error { (error) } }
                p.muted { (lang.t("login_hint")) }
                form method="post" action="/login" {
                    label for="key" { (lang.t("api_key")) }
                    input #key type="password" name="key" autocomplete="off" autofocus;
                    button.primary type="submit" { (lang.t("login")) }
                }
            }
        },
    )
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    key: String,
}

pub(crate) async fn login(
    State(dashboard): State<Dashboard>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let lang = Lang::of(&headers);
    let key = form.key.trim().to_owned();
    let who = match api(&dashboard.grpc, &key) {
        Some(mut api) => api.admin.get_server_info(pb::GetServerInfoRequest {}).await.map(|r| r.into_inner()),
        None => Err(tonic::Status::unauthenticated("unreadable key")),
    };
    match who {
        Ok(info) => match dashboard.sessions.start(key, info.caller_role(), info.caller_bank) {
            Some(id) => {
                let cookie = session::session_cookie(&id, dashboard.secure_cookies);
                let mut response = redirect("/");
                if let Ok(value) = HeaderValue::from_str(&cookie) {
                    response.headers_mut().insert(SET_COOKIE, value);
                }
                response
            }
            None => (StatusCode::INTERNAL_SERVER_ERROR, login_page(lang, Some("no session"))).into_response(),
        },
        Err(_) => (StatusCode::UNAUTHORIZED, login_page(lang, Some(lang.t("bad_key")))).into_response(),
    }
}

#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    csrf: String,
}

pub(crate) async fn logout(
    State(dashboard): State<Dashboard>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Some(session) = dashboard.sessions.find(&headers)
        && session.csrf == form.csrf
    {
        dashboard.sessions.end(&headers);
    }
    let mut response = redirect("/login");
    if let Ok(value) = HeaderValue::from_str(&session::session_cookie("", dashboard.secure_cookies)) {
        response.headers_mut().insert(SET_COOKIE, value);
    }
    response
}

pub(crate) async fn language(Path(lang): Path<String>, headers: HeaderMap) -> Response {
    let lang = if lang == "en" { "en" } else { "zh" };
    let back = headers
        .get(REFERER)
        .and_then(|r| r.to_str().ok())
        .and_then(|r| r.find("://").and_then(|i| r[i + 3..].find('/').map(|j| r[i + 3 + j..].to_owned())))
        .unwrap_or_else(|| "/".to_owned());
    let mut response = redirect(&back);
    if let Ok(value) =
        HeaderValue::from_str(&format!("{}={lang}; Path=/; SameSite=Strict; Max-Age=31536000", session::LANG_COOKIE))
    {
        response.headers_mut().insert(SET_COOKIE, value);
    }
    response
}

// --- 资金池概览 -------------------------------------------------------------------------

fn max_leverage(policy: &pb::GetPolicyResponse) -> f64 {
    policy
        .document
        .lines()
        .find_map(|line| line.trim().strip_prefix("max_leverage = "))
        .and_then(|v| v.trim_matches('"').parse().ok())
        .unwrap_or(12.0)
}

/// The policy's leverage limit, read once (the policy in force changes only with a restart).
async fn policy_max_leverage(dashboard: &Dashboard, v: &mut Visit) -> f64 {
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
const ECHARTS: &[u8] = include_bytes!("../assets/echarts.min.js");

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

const CHARTS: &str = r#"
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

// --- 合作银行 ---------------------------------------------------------------------------

pub(crate) async fn banks(State(dashboard): State<Dashboard>, headers: HeaderMap) -> Response {
    let mut v = match visit(&dashboard, &headers) {
        Ok(v) => v,
        Err(to_login) => return to_login,
    };
    if !v.session.bank.is_empty() {
        let bank = v.session.bank.clone();
        return bank_page(&mut v, &bank).await;
    }
    let lang = v.lang;
    let exposures = match v
        .api
        .pool
        .list_bank_exposures(pb::ListBankExposuresRequest { page_size: 1000, page_token: String::new() })
        .await
    {
        Ok(answer) => answer.into_inner().exposures,
        Err(status) => return refused(&v, &status),
    };
    let names = display_names(&mut v).await;
    let body = html! {
        table #banks {
            thead { tr {
                th { (lang.t("bank")) } th { (lang.t("status")) } th.num { (lang.t("quota")) } th.num { (lang.t("used")) }
                th.num { (lang.t("npl_ratio")) } th.num { (lang.t("comp_this_year")) } th.num { (lang.t("annual_cap")) }
            } }
            tbody {
                @for e in &exposures {
                    @let status = label(e.status().as_str_name(), "BANK_STATUS_");
                    tr {
                        td { a href={ "/" (e.bank) } { (names.get(&e.bank).cloned().unwrap_or_else(|| e.bank.clone())) } }
                        td { span class={ "flag " (status) } { (lang.status(&status)) } }
                        td.num { (yuan(&e.quota)) } td.num { (yuan(&e.quota_used)) } td.num { (percent(&e.npl_ratio)) }
                        td.num { (yuan(&e.compensation_this_year)) } td.num { (yuan(&e.annual_cap)) }
                    }
                }
            }
        }
    };
    page(lang, Some(&v.session), lang.t("banks"), body).into_response()
}

async fn display_names(v: &mut Visit) -> HashMap<String, String> {
    v.api
        .admin
        .list_banks(pb::ListBanksRequest { page_size: 1000, page_token: String::new() })
        .await
        .map(|r| r.into_inner().banks.into_iter().map(|b| (b.name, b.display_name)).collect())
        .unwrap_or_default()
}

pub(crate) async fn bank(State(dashboard): State<Dashboard>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let mut v = match visit(&dashboard, &headers) {
        Ok(v) => v,
        Err(to_login) => return to_login,
    };
    bank_page(&mut v, &format!("banks/{id}")).await
}

async fn bank_page(v: &mut Visit, bank: &str) -> Response {
    let lang = v.lang;
    let exposure = match v.api.pool.get_bank_exposure(pb::GetBankExposureRequest { bank: bank.to_owned() }).await {
        Ok(answer) => answer.into_inner().exposure.unwrap_or_default(),
        Err(status) => return refused(v, &status),
    };
    let name = v
        .api
        .admin
        .get_bank(pb::GetBankRequest { name: bank.to_owned() })
        .await
        .ok()
        .and_then(|b| b.into_inner().bank)
        .map(|b| b.display_name)
        .unwrap_or_else(|| bank.to_owned());
    let loans = v
        .api
        .loans
        .list_loans(pb::ListLoansRequest { page_size: 200, bank: bank.to_owned(), ..Default::default() })
        .await
        .map(|r| r.into_inner().loans)
        .unwrap_or_default();
    let claims = v
        .api
        .settlement
        .list_claims(pb::ListClaimsRequest { page_size: 200, bank: bank.to_owned(), ..Default::default() })
        .await
        .map(|r| r.into_inner().claims)
        .unwrap_or_default();
    let status = label(exposure.status().as_str_name(), "BANK_STATUS_");
    let body = html! {
        h2 #bank-name { (name) " " span class={ "flag " (status) } { (lang.status(&status)) } }
        div.cards {
            (card(lang.t("quota"), yuan(&exposure.quota), None, None))
            (card(lang.t("used"), yuan(&exposure.quota_used), None, Some((exposure.quota_used.parse::<f64>().unwrap_or(0.0) / exposure.quota.parse::<f64>().unwrap_or(1.0).max(1.0), false))))
            (card(lang.t("npl_ratio"), percent(&exposure.npl_ratio), None, None))
            (card(lang.t("comp_this_year"), yuan(&exposure.compensation_this_year), Some(format!("{} {}", lang.t("annual_cap"), yuan(&exposure.annual_cap))), None))
        }
        h2 { (lang.t("loans")) }
        table #loans {
            thead { tr { th { "#" } th { (lang.t("enterprise")) } th { (lang.t("status")) } th { (lang.t("grade")) } th.num { (lang.t("outstanding")) } } }
            tbody { @for l in &loans { tr {
                td { (l.bank_loan_number) } td { (l.enterprise_name) } td { (lang.status(&label(l.status().as_str_name(), "LOAN_STATUS_"))) }
                td { (label(l.grade().as_str_name(), "GRADE_")) } td.num { (yuan(&l.outstanding_principal)) }
            } } }
        }
        h2 { (lang.t("claims")) }
        (claims_table(lang, &claims))
    };
    page(lang, Some(&v.session), lang.t("banks"), body).into_response()
}

fn claims_table(lang: Lang, claims: &[pb::Claim]) -> Markup {
    html! {
        table.claims {
            thead { tr { th { "#" } th { (lang.t("bank")) } th { (lang.t("status")) } th.num { (lang.t("amount")) } th { (lang.t("approvals")) } } }
            tbody { @for c in claims { tr {
                td { (c.name) } td { (c.bank) } td { (lang.status(&label(c.status().as_str_name(), "CLAIM_STATUS_"))) }
                td.num { (yuan(if c.compensation.is_empty() { &c.requested_compensation } else { &c.compensation })) }
                td { (c.approvals.len()) "/" (c.approvals_required) }
            } } }
        }
    }
}

// --- 待审 -------------------------------------------------------------------------------

#[derive(Deserialize)]
pub(crate) struct Notice {
    done: Option<String>,
}

pub(crate) async fn queues(
    State(dashboard): State<Dashboard>,
    headers: HeaderMap,
    Query(notice): Query<Notice>,
) -> Response {
    let mut v = match visit(&dashboard, &headers) {
        Ok(v) => v,
        Err(to_login) => return to_login,
    };
    queues_page(&mut v, notice.done.is_some(), None).await
}

async fn queues_page(v: &mut Visit, done: bool, error: Option<String>) -> Response {
    let lang = v.lang;
    let referred = pb::ListApplicationsRequest {
        page_size: 200,
        status: pb::ApplicationStatus::Referred as i32,
        ..Default::default()
    };
    let applications = match v.api.loans.list_applications(referred).await {
        Ok(answer) => answer.into_inner().applications,
        Err(status) => return refused(v, &status),
    };
    let mut claims = Vec::new();
    for status in [pb::ClaimStatus::Filed, pb::ClaimStatus::PartiallyApproved] {
        let request = pb::ListClaimsRequest { page_size: 200, status: status as i32, ..Default::default() };
        match v.api.settlement.list_claims(request).await {
            Ok(answer) => claims.extend(answer.into_inner().claims),
            Err(status) => return refused(v, &status),
        }
    }
    let csrf = v.session.csrf.clone();
    let body = html! {
        @if done { div.notice { (lang.t("done")) } }
        @if let Some(error) = &error { div.error #action-error { (error) } }
        h2 { (lang.t("referrals")) }
        table #referrals {
            thead { tr { th { "#" } th { (lang.t("bank")) } th { (lang.t("enterprise")) } th.num { (lang.t("amount")) } th { (lang.t("grade")) } th {} } }
            tbody {
                @for a in &applications {
                    @let id = a.application_id.clone();
                    tr data-application=(a.name) {
                        td { (a.name) } td { (a.bank) }
                        td { (a.enterprise.as_ref().map(|e| e.name.clone()).unwrap_or_default()) }
                        td.num { (yuan(&a.terms.as_ref().map(|t| t.amount.clone()).unwrap_or_default())) }
                        td { (label(a.decision.as_ref().map(|d| d.grade()).unwrap_or_default().as_str_name(), "GRADE_")) }
                        td {
                            form.inline method="post" action={ "/queues/applications/" (id) } {
                                input type="hidden" name="csrf" value=(csrf);
                                input type="text" name="reason" placeholder=(lang.t("reason")) required;
                                button.primary type="submit" name="verdict" value="approve" { (lang.t("approve")) }
                                button.danger type="submit" name="verdict" value="reject" { (lang.t("reject")) }
                            }
                        }
                    }
                }
                @if applications.is_empty() { tr { td colspan="6" { (lang.t("none")) } } }
            }
        }
        h2 { (lang.t("claim_queue")) }
        table #claims {
            thead { tr { th { "#" } th { (lang.t("bank")) } th.num { (lang.t("amount")) } th { (lang.t("approvals")) } th {} } }
            tbody {
                @for c in &claims {
                    tr data-claim=(c.name) {
                        td { (c.name) } td { (c.bank) } td.num { (yuan(&c.requested_compensation)) }
                        td {
                            (c.approvals.len()) "/" (c.approvals_required)
                            @if c.approvals.len() == 1 && c.approvals_required == 2 { br; span.muted.second-needed { (lang.t("second_needed")) } }
                        }
                        td {
                            form.inline method="post" action={ "/queues/claims/" (c.claim_id) } {
                                input type="hidden" name="csrf" value=(csrf);
                                input type="text" name="reason" placeholder=(lang.t("reason")) required;
                                button.primary type="submit" name="verdict" value="approve" { (lang.t("approve")) }
                                button.danger type="submit" name="verdict" value="reject" { (lang.t("reject")) }
                            }
                        }
                    }
                }
                @if claims.is_empty() { tr { td colspan="5" { (lang.t("none")) } } }
            }
        }
    };
    page(lang, Some(&v.session), lang.t("queues"), body).into_response()
}

#[derive(Deserialize)]
pub(crate) struct Decision {
    csrf: String,
    verdict: String,
    reason: String,
}

fn request_id() -> String {
    format!("dashboard-{}", &session::token()[..24])
}

/// Checks the form's CSRF token against the session's.
fn csrf_ok(v: &Visit, token: &str) -> bool {
    !token.is_empty() && token == v.session.csrf
}

pub(crate) async fn review(
    State(dashboard): State<Dashboard>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<Decision>,
) -> Response {
    let mut v = match visit(&dashboard, &headers) {
        Ok(v) => v,
        Err(to_login) => return to_login,
    };
    if !csrf_ok(&v, &form.csrf) {
        return (StatusCode::FORBIDDEN, "CSRF token missing or wrong").into_response();
    }
    let verdict = if form.verdict == "approve" { pb::ReviewVerdict::Approve } else { pb::ReviewVerdict::Reject };
    let request = pb::ReviewApplicationRequest {
        request_id: request_id(),
        name: format!("applications/{id}"),
        verdict: verdict as i32,
        reason: form.reason,
    };
    match v.api.loans.review_application(request).await {
        Ok(_) => redirect("/queues?done=1"),
        Err(status) => {
            let error = refusal_text(v.lang, &status);
            queues_page(&mut v, false, Some(error)).await
        }
    }
}

/// A refusal in the page's language, then the service's words.
fn refusal_text(lang: Lang, status: &tonic::Status) -> String {
    let reason = status.get_details_error_info().map(|i| i.reason).unwrap_or_default();
    match lang.reason(&reason) {
        Some(words) => format!("{words} ({})", status.message()),
        None => status.message().to_owned(),
    }
}

pub(crate) async fn decide_claim(
    State(dashboard): State<Dashboard>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<Decision>,
) -> Response {
    let mut v = match visit(&dashboard, &headers) {
        Ok(v) => v,
        Err(to_login) => return to_login,
    };
    if !csrf_ok(&v, &form.csrf) {
        return (StatusCode::FORBIDDEN, "CSRF token missing or wrong").into_response();
    }
    let name = format!("claims/{id}");
    let outcome = if form.verdict == "approve" {
        let today = v
            .api
            .admin
            .get_server_info(pb::GetServerInfoRequest {})
            .await
            .map(|r| r.into_inner().business_date)
            .unwrap_or_default();
        let request =
            pb::ApproveClaimRequest { request_id: request_id(), name, approval_date: today, comment: form.reason };
        v.api.settlement.approve_claim(request).await.map(|_| ())
    } else {
        let request = pb::RejectClaimRequest { request_id: request_id(), name, reason: form.reason };
        v.api.settlement.reject_claim(request).await.map(|_| ())
    };
    match outcome {
        Ok(()) => redirect("/queues?done=1"),
        Err(status) => {
            let error = refusal_text(v.lang, &status);
            queues_page(&mut v, false, Some(error)).await
        }
    }
}

// --- 压力测试 ---------------------------------------------------------------------------

#[derive(Deserialize, Default)]
pub(crate) struct StressForm {
    default_rate: String,
    loss_rate: String,
    #[serde(flatten)]
    grades: HashMap<String, String>,
}

const GRADES: [&str; 8] = ["AAA", "AA", "A", "BBB", "BB", "B", "CCC", "D"];

fn stress_body(lang: Lang, csrf: &str, form: &StressForm, result: Option<&pb::RunStressTestResponse>) -> Markup {
    html! {
        form method="post" action="/stress" {
            input type="hidden" name="csrf" value=(csrf);
            p { label { (lang.t("default_rate")) " " input type="text" name="default_rate" value=(form.default_rate) placeholder="0.05"; } " "
                label { (lang.t("loss_rate")) " " input type="text" name="loss_rate" value=(form.loss_rate) placeholder="0.6"; } }
            p.muted { (lang.t("per_grade")) }
            p { @for g in GRADES { label { (g) " " input type="text" name={ "grade_" (g) } size="5" value=(form.grades.get(&format!("grade_{g}")).cloned().unwrap_or_default()); } " " } }
            button.primary type="submit" { (lang.t("run")) }
        }
        @if let Some(r) = result {
            div.cards #stress-result {
                (card(lang.t("expected_loss"), yuan(&r.expected_loss), None, None))
                (card(lang.t("net_pool_assets"), yuan(&r.net_pool_assets_before), None, None))
                (card(lang.t("net_after"), yuan(&r.net_pool_assets_after), None, None))
                (card(lang.t("survives"), if r.survives { lang.t("yes").to_owned() } else { lang.t("no").to_owned() }, None, None))
            }
        }
    }
}

pub(crate) async fn stress_form(State(dashboard): State<Dashboard>, headers: HeaderMap) -> Response {
    let v = match visit(&dashboard, &headers) {
        Ok(v) => v,
        Err(to_login) => return to_login,
    };
    let form = StressForm { default_rate: "0.05".into(), loss_rate: "0.6".into(), ..Default::default() };
    page(v.lang, Some(&v.session), v.lang.t("stress"), stress_body(v.lang, &v.session.csrf, &form, None))
        .into_response()
}

pub(crate) async fn stress(
    State(dashboard): State<Dashboard>,
    headers: HeaderMap,
    Form(mut form): Form<StressForm>,
) -> Response {
    let mut v = match visit(&dashboard, &headers) {
        Ok(v) => v,
        Err(to_login) => return to_login,
    };
    if form.grades.remove("csrf").is_none_or(|token| !csrf_ok(&v, &token)) {
        return (StatusCode::FORBIDDEN, "CSRF token missing or wrong").into_response();
    }
    let per_grade = GRADES
        .iter()
        .enumerate()
        .filter_map(|(index, g)| {
            let rate = form.grades.get(&format!("grade_{g}")).filter(|r| !r.trim().is_empty())?;
            Some(pb::GradeDefaultRate { grade: index as i32 + 1, default_rate: rate.trim().to_owned() })
        })
        .collect();
    let request = pb::RunStressTestRequest {
        default_rate: form.default_rate.clone(),
        per_grade,
        loss_rate: form.loss_rate.clone(),
    };
    match v.api.pool.run_stress_test(request).await {
        Ok(answer) => {
            let result = answer.into_inner();
            page(
                v.lang,
                Some(&v.session),
                v.lang.t("stress"),
                stress_body(v.lang, &v.session.csrf, &form, Some(&result)),
            )
            .into_response()
        }
        Err(status) => refused(&v, &status),
    }
}

// --- 结算单 -----------------------------------------------------------------------------

pub(crate) async fn statements(State(dashboard): State<Dashboard>, headers: HeaderMap) -> Response {
    let mut v = match visit(&dashboard, &headers) {
        Ok(v) => v,
        Err(to_login) => return to_login,
    };
    let lang = v.lang;
    let list = match v
        .api
        .settlement
        .list_statements(pb::ListStatementsRequest { page_size: 200, ..Default::default() })
        .await
    {
        Ok(answer) => answer.into_inner().statements,
        Err(status) => return refused(&v, &status),
    };
    let body = html! {
        table #statements {
            thead { tr { th { "#" } th { (lang.t("bank")) } th { (lang.t("period")) } th { (lang.t("status")) } th.num { (lang.t("net")) } th { (lang.t("direction")) } th.num { (lang.t("paid")) } } }
            tbody { @for s in &list { tr {
                td { a href={ "/" (s.name) } { (s.name) } } td { (s.bank) } td { (s.period) }
                td { (lang.status(&label(s.status().as_str_name(), "STATEMENT_STATUS_"))) } td.num { (yuan(&s.net_amount)) }
                td { (lang.status(&label(s.direction().as_str_name(), "SETTLEMENT_DIRECTION_"))) } td.num { (yuan(&s.amount_paid)) }
            } } }
        }
    };
    page(lang, Some(&v.session), lang.t("statements"), body).into_response()
}

pub(crate) async fn statement(State(dashboard): State<Dashboard>, headers: HeaderMap, Path(id): Path<i64>) -> Response {
    let mut v = match visit(&dashboard, &headers) {
        Ok(v) => v,
        Err(to_login) => return to_login,
    };
    let lang = v.lang;
    let s = match v.api.settlement.get_statement(pb::GetStatementRequest { name: format!("statements/{id}") }).await {
        Ok(answer) => answer.into_inner().statement.unwrap_or_default(),
        Err(status) => return refused(&v, &status),
    };
    let body = html! {
        p { (s.bank) " · " (s.period) " · " (lang.status(&label(s.status().as_str_name(), "STATEMENT_STATUS_"))) " · "
            a href={ "/statements/" (id) "/csv" } { (lang.t("download_csv")) } " · "
            a href={ "/statements/" (id) "/print" } { (lang.t("print")) } }
        h2 { (lang.t("lines")) }
        table { tbody { @for l in &s.lines { tr {
            td { (label(l.kind().as_str_name(), "STATEMENT_LINE_KIND_")) } td { (l.source) } td { (l.description) } td.num { (yuan(&l.amount)) }
        } } } }
        p { (lang.t("net")) ": " strong { (yuan(&s.net_amount)) } " · " (lang.t("due")) " " (yuan(&s.amount_due)) " · " (lang.t("paid")) " " (yuan(&s.amount_paid)) }
        h2 { (lang.t("payments")) }
        table { tbody { @for p in &s.payments { tr { td { (p.name) } td { (p.value_date) } td { (p.reference) } td.num { (yuan(&p.amount)) } td { (shanghai(&p.record_time)) } } } } }
    };
    page(lang, Some(&v.session), lang.t("statements"), body).into_response()
}

async fn export(
    dashboard: &Dashboard,
    headers: &HeaderMap,
    id: i64,
    format: pb::ExportFormat,
) -> Result<pb::ExportStatementResponse, Response> {
    let mut v = visit(dashboard, headers)?;
    v.api
        .settlement
        .export_statement(pb::ExportStatementRequest { name: format!("statements/{id}"), format: format as i32 })
        .await
        .map(|r| r.into_inner())
        .map_err(|status| refused(&v, &status))
}

pub(crate) async fn statement_csv(
    State(dashboard): State<Dashboard>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    match export(&dashboard, &headers, id, pb::ExportFormat::Csv).await {
        Ok(file) => {
            // A byte order mark, so that Excel reads the file as UTF-8 (the Chinese intact).
            let mut body = "\u{feff}".as_bytes().to_vec();
            body.extend(file.content);
            let disposition = format!("attachment; filename=\"{}\"", file.file_name);
            ([(CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (CONTENT_DISPOSITION, disposition)], body)
                .into_response()
        }
        Err(page) => page,
    }
}

pub(crate) async fn statement_print(
    State(dashboard): State<Dashboard>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    match export(&dashboard, &headers, id, pb::ExportFormat::Html).await {
        Ok(file) => ([(CONTENT_TYPE, "text/html; charset=utf-8")], file.content).into_response(),
        Err(page) => page,
    }
}

// --- 对账 -------------------------------------------------------------------------------

pub(crate) async fn reconciliation(State(dashboard): State<Dashboard>, headers: HeaderMap) -> Response {
    let mut v = match visit(&dashboard, &headers) {
        Ok(v) => v,
        Err(to_login) => return to_login,
    };
    let lang = v.lang;
    let reports = match v
        .api
        .settlement
        .list_reconciliation_reports(pb::ListReconciliationReportsRequest { page_size: 200, ..Default::default() })
        .await
    {
        Ok(answer) => answer.into_inner().reports,
        Err(status) => return refused(&v, &status),
    };
    let body = html! {
        table #reports {
            thead { tr { th { (lang.t("report")) } th { (lang.t("bank")) } th { (lang.t("business_date")) } th.num { (lang.t("rows")) } th.num { (lang.t("matched")) } th.num { (lang.t("discrepancies")) } } }
            tbody { @for r in &reports { tr {
                td { a href={ "/" (r.name.replace("reconciliationReports", "reconciliation")) } { (r.name) } } td { (r.bank) } td { (r.as_of) }
                td.num { (r.rows_read) } td.num { (r.rows_matched) }
                td.num { (r.missing_in_pool + r.missing_at_bank + r.balance_mismatch + r.status_mismatch + r.duplicate_in_tape + r.invalid_record) }
            } } }
        }
    };
    page(lang, Some(&v.session), lang.t("reconciliation"), body).into_response()
}

#[derive(Deserialize)]
pub(crate) struct KindFilter {
    kind: Option<String>,
}

const KINDS: [(&str, pb::DiscrepancyKind); 6] = [
    ("MISSING_IN_POOL", pb::DiscrepancyKind::MissingInPool),
    ("MISSING_AT_BANK", pb::DiscrepancyKind::MissingAtBank),
    ("BALANCE_MISMATCH", pb::DiscrepancyKind::BalanceMismatch),
    ("STATUS_MISMATCH", pb::DiscrepancyKind::StatusMismatch),
    ("DUPLICATE_IN_TAPE", pb::DiscrepancyKind::DuplicateInTape),
    ("INVALID_RECORD", pb::DiscrepancyKind::InvalidRecord),
];

pub(crate) async fn report(
    State(dashboard): State<Dashboard>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(filter): Query<KindFilter>,
) -> Response {
    let mut v = match visit(&dashboard, &headers) {
        Ok(v) => v,
        Err(to_login) => return to_login,
    };
    let lang = v.lang;
    let kind = KINDS.iter().find(|(name, _)| filter.kind.as_deref() == Some(*name)).map_or(0, |(_, k)| *k as i32);
    let request = pb::ListDiscrepanciesRequest {
        page_size: 1000,
        report: format!("reconciliationReports/{id}"),
        kind,
        ..Default::default()
    };
    let rows = match v.api.settlement.list_discrepancies(request).await {
        Ok(answer) => answer.into_inner().discrepancies,
        Err(status) => return refused(&v, &status),
    };
    let body = html! {
        p { a href={ "/reconciliation/" (id) } { (lang.t("all")) }
            @for (name, _) in KINDS { " · " a href={ "/reconciliation/" (id) "?kind=" (name) } { (name) } } }
        table #discrepancies {
            thead { tr { th { (lang.t("kind")) } th { "#" } th { (lang.t("bank")) } th.num { "bank" } th.num { "pool" } th.num { "Δ" } th { "" } } }
            tbody { @for d in &rows { tr {
                td { (label(d.kind().as_str_name(), "DISCREPANCY_KIND_")) } td { (d.line_number) } td { (d.bank_loan_number) }
                td.num { (d.bank_value) } td.num { (d.pool_value) } td.num { (d.difference) } td { (d.detail) }
            } } }
        }
    };
    page(lang, Some(&v.session), lang.t("reconciliation"), body).into_response()
}
