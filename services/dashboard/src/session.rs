//! Sessions: the signed-in key kept server-side under a random id, with its role, its bank,
//! its CSRF token and its language; idle sessions expire.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use axum::http::header::COOKIE;

/// The session cookie.
pub const COOKIE_NAME: &str = "tc_session";
/// The language cookie (`zh` or `en`; Chinese without it).
pub const LANG_COOKIE: &str = "tc_lang";

/// One signed-in user.
#[derive(Debug, Clone)]
pub struct Session {
    /// The API key (never sent back to the browser).
    pub key: String,
    /// Its role, as the server named it (`ROLE_RISK_OFFICER`).
    pub role: proto::v1::Role,
    /// The bank a BANK key acts for (`banks/nbcb`).
    pub bank: String,
    /// The token every form that changes something must carry.
    pub csrf: String,
    last_used: Instant,
}

/// Every live session.
#[derive(Debug)]
pub struct Sessions {
    ttl: Duration,
    live: Mutex<HashMap<String, Session>>,
}

/// A random token, hex.
pub fn token() -> String {
    let mut bytes = [0u8; 32];
    if getrandom::fill(&mut bytes).is_err() {
        // No randomness: no session can be made safely; an empty token is never accepted.
        return String::new();
    }
    hex::encode(bytes)
}

impl Sessions {
    /// Sessions that end `ttl` after their last use.
    pub fn new(ttl: Duration) -> Sessions {
        Sessions { ttl, live: Mutex::new(HashMap::new()) }
    }

    /// Starts a session; its id for the cookie.
    pub fn start(&self, key: String, role: proto::v1::Role, bank: String) -> Option<String> {
        let (id, csrf) = (token(), token());
        if id.is_empty() || csrf.is_empty() {
            return None;
        }
        let mut live = self.live.lock().ok()?;
        let now = Instant::now();
        live.retain(|_, s| now.duration_since(s.last_used) < self.ttl);
        live.insert(id.clone(), Session { key, role, bank, csrf, last_used: now });
        Some(id)
    }

    /// The session of a request's cookie, if live; using it keeps it alive.
    pub fn find(&self, headers: &HeaderMap) -> Option<Session> {
        let id = cookie(headers, COOKIE_NAME)?;
        let mut live = self.live.lock().ok()?;
        let now = Instant::now();
        let session = live.get_mut(&id)?;
        if now.duration_since(session.last_used) >= self.ttl {
            live.remove(&id);
            return None;
        }
        session.last_used = now;
        Some(session.clone())
    }

    /// Ends the request's session.
    pub fn end(&self, headers: &HeaderMap) {
        if let (Some(id), Ok(mut live)) = (cookie(headers, COOKIE_NAME), self.live.lock()) {
            live.remove(&id);
        }
    }
}

/// A cookie's value.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|pair| {
        let (key, value) = pair.trim().split_once('=')?;
        (key == name).then(|| value.to_owned())
    })
}

/// The Set-Cookie value of a session id (empty id: the cookie is cleared).
pub fn session_cookie(id: &str, secure: bool) -> String {
    let max_age = if id.is_empty() { "; Max-Age=0" } else { "" };
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE_NAME}={id}; Path=/; HttpOnly; SameSite=Strict{secure}{max_age}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn sessions_expire_and_cookies_are_strict() {
        let sessions = Sessions::new(Duration::from_millis(50));
        let id = sessions.start("k".into(), proto::v1::Role::Auditor, String::new()).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, format!("tc_lang=en; {COOKIE_NAME}={id}").parse().unwrap());
        assert_eq!(sessions.find(&headers).unwrap().key, "k");
        std::thread::sleep(Duration::from_millis(80));
        assert!(sessions.find(&headers).is_none(), "idle past its time: gone");
        assert_eq!(session_cookie("x", true), "tc_session=x; Path=/; HttpOnly; SameSite=Strict; Secure");
        assert!(session_cookie("", false).ends_with("Max-Age=0"));
    }
}
