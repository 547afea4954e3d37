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

mod account;
mod audit;
mod banks;
mod books;
mod overview;
mod queues;

pub(crate) use account::{language, login, login_form, logout};
pub(crate) use audit::audit;
pub(crate) use banks::{bank, banks};
pub(crate) use books::{reconciliation, report, statement, statement_csv, statement_print, statements};
pub(crate) use overview::{echarts, history, overview};
pub(crate) use queues::{decide_claim, queues, review, stress, stress_form};

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
    audit: pb::audit_service_client::AuditServiceClient<Authed>,
}

fn api(channel: &Channel, key: &str) -> Option<Api> {
    let header: MetadataValue<Ascii> = format!("Bearer {key}").parse().ok()?;
    let authed = InterceptedService::new(channel.clone(), Bearer(header));
    Some(Api {
        admin: pb::admin_service_client::AdminServiceClient::new(authed.clone()),
        loans: pb::loan_application_service_client::LoanApplicationServiceClient::new(authed.clone()),
        pool: pb::risk_pool_service_client::RiskPoolServiceClient::new(authed.clone()),
        settlement: pb::settlement_service_client::SettlementServiceClient::new(authed.clone()),
        audit: pb::audit_service_client::AuditServiceClient::new(authed),
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

const NAV: [(&str, &str); 8] = [
    ("/", "overview"),
    ("/history", "history"),
    ("/banks", "banks"),
    ("/queues", "queues"),
    ("/stress", "stress"),
    ("/statements", "statements"),
    ("/reconciliation", "reconciliation"),
    ("/audit", "audit"),
];

/// Whether the page at `path` is for the signed-in role (the audit trail: auditors and
/// administrators only; the services refuse the others anyway).
fn shown_to(path: &str, role: pb::Role) -> bool {
    path != "/audit" || matches!(role, pb::Role::Auditor | pb::Role::Admin)
}

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
                        @for (path, key) in NAV.into_iter().filter(|(path, _)| shown_to(path, session.role)) {
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
