//! Sign-in sessions: a credential's token is exchanged once, at sign-in, for a random session
//! id that the browser keeps in an `HttpOnly; SameSite=Strict` cookie. The server keeps the
//! sessions in memory, each with the caller it stands for and two deadlines (idle and absolute);
//! the token itself is never kept, logged or sent back.
//!
//! A session does not outlive its credential: every request checks the credential again against
//! the log ([`crate::auth::Caller::still_valid`]), so a revocation ends the sessions it covers at
//! their next request.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::auth::Caller;

/// The session cookie's name.
pub const COOKIE: &str = "chibo_session";

/// How long a session lasts without a request.
pub const IDLE: Duration = Duration::from_secs(30 * 60);

/// How long a session lasts at most.
pub const ABSOLUTE: Duration = Duration::from_secs(12 * 60 * 60);

/// The most sessions kept at once: past it, the stalest is dropped for a new one.
const MAX_SESSIONS: usize = 10_000;

struct Session {
    caller: Caller,
    started: Instant,
    last_seen: Instant,
}

/// The signed-in sessions, by id.
#[derive(Default)]
pub struct Sessions {
    sessions: Mutex<HashMap<String, Session>>,
}

/// A fresh session id: 32 random bytes, hex.
fn new_id() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        // A panic elsewhere while holding the lock leaves sessions that are still sessions.
        self.sessions.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Starts a session for `caller` at `now`; its id.
    pub fn start(&self, caller: Caller, now: Instant) -> Result<String, getrandom::Error> {
        let id = new_id()?;
        let mut sessions = self.lock();
        sessions.retain(|_, s| live(s, now));
        if sessions.len() >= MAX_SESSIONS {
            if let Some(stalest) = sessions.iter().min_by_key(|(_, s)| s.last_seen).map(|(id, _)| id.clone()) {
                sessions.remove(&stalest);
            }
        }
        sessions.insert(id.clone(), Session { caller, started: now, last_seen: now });
        Ok(id)
    }

    /// The caller of session `id` at `now`, if it is live; a live session's idle deadline moves
    /// on, an expired one is dropped.
    pub fn caller(&self, id: &str, now: Instant) -> Option<Caller> {
        let mut sessions = self.lock();
        let session = sessions.get_mut(id)?;
        if !live(session, now) {
            sessions.remove(id);
            return None;
        }
        session.last_seen = now;
        Some(session.caller.clone())
    }

    /// Ends session `id`.
    pub fn end(&self, id: &str) {
        self.lock().remove(id);
    }

    /// How many sessions are kept.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no session is kept.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }
}

fn live(session: &Session, now: Instant) -> bool {
    now.saturating_duration_since(session.last_seen) < IDLE && now.saturating_duration_since(session.started) < ABSOLUTE
}

/// The `Set-Cookie` value that hands the browser session `id`: only sent back to this server
/// (`SameSite=Strict`, so no other site's page or form can use it), never readable by script
/// (`HttpOnly`), and over TLS only when the dashboard is served over TLS (`Secure`).
pub fn set_cookie(id: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}", ABSOLUTE.as_secs())
}

/// The `Set-Cookie` value that makes the browser forget its session.
pub fn clear_cookie(secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}")
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').map(str::trim).find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chibo_domain::event::Role;
    use chibo_projections::access::{Principal, Scope};

    fn caller() -> Caller {
        Caller {
            principal: Principal { name: "tổ kiểm tra".into(), role: Role::Inspector, scope: Scope::All },
            digest: [7; 32],
        }
    }

    #[test]
    fn the_cookie_is_http_only_strict_and_secure_over_tls() {
        let plain = set_cookie("ab12", false);
        assert_eq!(plain, "chibo_session=ab12; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200");
        assert!(set_cookie("ab12", true).ends_with("; Secure"));
        assert!(clear_cookie(false).contains("Max-Age=0") && clear_cookie(false).contains("HttpOnly"));
    }

    #[test]
    fn cookies_are_found_by_exact_name() {
        let header = "lang=en; chibo_session_x=1; chibo_session=abc";
        assert_eq!(cookie(header, COOKIE), Some("abc"));
        assert_eq!(cookie(header, "lang"), Some("en"));
        assert_eq!(cookie("other=1", COOKIE), None);
    }

    #[test]
    fn ids_are_random_and_256_bit() {
        let sessions = Sessions::default();
        let now = Instant::now();
        let (a, b) = (sessions.start(caller(), now).unwrap(), sessions.start(caller(), now).unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(sessions.caller(&a, now), Some(caller()));
        assert_eq!(sessions.caller("not-a-session", now), None);
    }

    #[test]
    fn a_session_expires_when_idle_and_at_its_absolute_deadline() {
        let sessions = Sessions::default();
        let start = Instant::now();
        let id = sessions.start(caller(), start).unwrap();
        // Used every 20 minutes, it lives on past the idle timeout...
        let mut at = start;
        while at + Duration::from_secs(20 * 60) < start + ABSOLUTE {
            at += Duration::from_secs(20 * 60);
            assert!(sessions.caller(&id, at).is_some(), "alive at {:?}", at - start);
        }
        // ...but not past the absolute deadline.
        assert!(sessions.caller(&id, start + ABSOLUTE).is_none());
        assert!(sessions.is_empty(), "an expired session is dropped");

        let idle = sessions.start(caller(), start).unwrap();
        assert!(sessions.caller(&idle, start + IDLE - Duration::from_secs(1)).is_some());
        assert!(sessions.caller(&idle, start + IDLE * 2).is_none());
    }

    #[test]
    fn signing_out_ends_the_session() {
        let sessions = Sessions::default();
        let now = Instant::now();
        let id = sessions.start(caller(), now).unwrap();
        sessions.end(&id);
        assert!(sessions.caller(&id, now).is_none());
    }
}
