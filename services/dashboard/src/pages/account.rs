//! Signing in and out, and the language switch.

#[allow(clippy::wildcard_imports)]
use super::*;

// --- sign in and out -------------------------------------------------------------------

#[derive(Deserialize)]
pub(crate) struct LoginQuery {
    expired: Option<String>,
}

pub(crate) async fn login_form(headers: HeaderMap, Query(query): Query<LoginQuery>) -> Html<String> {
    let lang = Lang::of(&headers);
    login_page(lang, query.expired.is_some().then_some(lang.t("expired")))
}

pub(super) fn login_page(lang: Lang, error: Option<&str>) -> Html<String> {
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
