//! The inspection dashboard: read-only web pages served by the same process and runtime as
//! the gRPC API, on a port of their own (plain HTTP on loopback; see `chibo serve --web`).
//!
//! - **Same figures as the API, by construction.** A page asks the very functions the
//!   Standings, Evaluation and Audit services answer from ([`crate::ReportService`]'s shared
//!   methods, the services' own handlers for evaluations and trails), with the same scope check
//!   on the same [`Caller`]; nothing here computes a figure of its own.
//! - **Same credentials.** Sign-in takes a token, checks it exactly as the gRPC interceptor does
//!   ([`crate::auth::caller_of`]), and hands back a session cookie ([`session`]); every request
//!   checks the credential again, so revoking it ends its sessions.
//! - **Safe markup.** Pages are built by typed functions over [`html::Html`], which escapes
//!   every interpolated string; charts are server-drawn SVG ([`chart`]); the stylesheet is
//!   compiled in. No script, no external asset: the pages work on a network without internet.
//! - **Measured.** Every answer carries `Server-Timing: app;dur=…` (milliseconds spent in the
//!   server).

mod audit;
mod cell;
pub mod chart;
mod committee;
mod evaluation;
pub mod html;
pub mod i18n;
mod layout;
mod login;
mod member;
pub mod session;
mod tree;

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use chibo_domain::Id;
use tokio::net::TcpListener;
use tonic::{Code, Status};

use crate::auth::Caller;
use crate::guard::Domain;
use crate::limits::Limiter;
use crate::{AuditService, ReportService};
use i18n::{Key, Lang};
use session::Sessions;

/// What the pages read from: the services the API answers from, and the sessions.
#[derive(Clone)]
pub struct Web {
    pub(crate) reports: ReportService,
    pub(crate) audit: AuditService,
    pub(crate) domain: Arc<Domain>,
    pub(crate) limiter: Arc<Limiter>,
    pub(crate) sessions: Arc<Sessions>,
    /// Whether the pages are served over TLS (then cookies are `Secure`).
    pub(crate) secure: bool,
}

/// The dashboard's routes.
pub(crate) fn router(web: Web) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to("/tree") }))
        .route("/login", get(login::form).post(login::sign_in))
        .route("/logout", post(login::sign_out))
        .route("/tree", get(tree::page))
        .route("/committee/:id", get(committee::page))
        .route("/cell/:id", get(cell::page))
        .route("/member/:id", get(member::page))
        .route("/audit/:kind/:id", get(audit::page))
        .route("/evaluation/:id", get(evaluation::page))
        .route("/static/chibo.css", get(stylesheet))
        .fallback(not_found)
        .layer(middleware::from_fn(timed))
        .with_state(web)
}

/// Serves the dashboard on `listener` until `shutdown` resolves.
pub(crate) async fn serve(
    listener: TcpListener,
    web: Web,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    tracing::info!(addr = ?listener.local_addr().ok(), "serving the inspection dashboard");
    axum::serve(listener, router(web)).with_graceful_shutdown(shutdown).await
}

const STYLESHEET: &str = include_str!("chibo.css");

async fn stylesheet() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "max-age=3600")], STYLESHEET)
        .into_response()
}

/// Times every answer (`Server-Timing`) and sets the headers every page carries: no caching
/// of what a principal was shown, no framing, no sniffing, and a content security policy that
/// allows nothing but this server's stylesheet and forms.
async fn timed(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let mut response = next.run(request).await;
    let elapsed = started.elapsed().as_secs_f64() * 1000.0;
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&format!("app;dur={elapsed:.2}")) {
        headers.insert("server-timing", value);
    }
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    response
}

/// Why a page is not shown.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// Nobody is signed in (or the session ended): to the sign-in page.
    SignIn,
    /// A service's answer, shown with its status.
    Status(Status),
}

impl From<Status> for Refusal {
    fn from(status: Status) -> Refusal {
        Refusal::Status(status)
    }
}

/// The HTTP status for a service's status code.
fn http_status(code: Code) -> StatusCode {
    match code {
        Code::InvalidArgument | Code::OutOfRange => StatusCode::BAD_REQUEST,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Unavailable | Code::Aborted => StatusCode::SERVICE_UNAVAILABLE,
        Code::FailedPrecondition => StatusCode::CONFLICT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A refusal as a page, in the language asked for.
pub(crate) fn refusal_page(refusal: Refusal, lang: Lang, caller: Option<&Caller>) -> Response {
    let status = match refusal {
        Refusal::SignIn => return Redirect::to("/login").into_response(),
        Refusal::Status(status) if status.code() == Code::Unauthenticated => {
            return Redirect::to("/login").into_response()
        }
        Refusal::Status(status) => status,
    };
    let http = http_status(status.code());
    let heading = match http {
        StatusCode::FORBIDDEN => Key::Forbidden,
        StatusCode::NOT_FOUND => Key::NotFound,
        StatusCode::BAD_REQUEST => Key::BadRequest,
        _ => Key::ServerError,
    };
    let mut body = html::Html::new();
    body.open("p", &[("class", "refusal"), ("data-refusal", &http.as_u16().to_string())])
        .text(status.message())
        .close("p");
    body.open("p", &[]).open("a", &[("href", "/tree")]).text(lang.t(Key::BackToTree)).close("a").close("p");
    let page = layout::Page {
        lang,
        caller,
        title: lang.t(heading).to_owned(),
        crumbs: Vec::new(),
        path: "/tree",
        log_size: None,
    };
    (http, axum::response::Html(page.render(body))).into_response()
}

async fn not_found(headers: HeaderMap, method: Method, uri: axum::http::Uri) -> Response {
    let lang = Lang::of(&headers, None);
    let status = Status::not_found(format!("{method} {}: no such page", uri.path()));
    refusal_page(Refusal::Status(status), lang, None)
}

/// What every page starts from: its query, its language (with the cookie that remembers one
/// chosen by query), and the principal signed in.
pub(crate) struct Visit {
    pub(crate) query: Query,
    pub(crate) lang: Lang,
    pub(crate) cookie: Option<String>,
    pub(crate) caller: Caller,
}

/// A page's visit, or the page that answers the request when nobody (or a revoked credential,
/// or a caller over its rate) is signed in.
#[axum::async_trait]
impl FromRequestParts<Web> for Visit {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, web: &Web) -> Result<Visit, Response> {
        let query = Query::parse(parts.uri.query());
        let (lang, cookie) = language(&parts.headers, &query);
        match web.caller(&parts.headers) {
            Ok(caller) => Ok(Visit { query, lang, cookie, caller }),
            Err(refusal) => Err(refusal_page(refusal, lang, None)),
        }
    }
}

impl Web {
    /// The caller signed in with the request's session cookie, if the session is live and its
    /// credential still valid.
    pub(crate) fn caller(&self, headers: &HeaderMap) -> Result<Caller, Refusal> {
        let id = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|cookies| session::cookie(cookies, session::COOKIE))
            .ok_or(Refusal::SignIn)?;
        let caller = self.sessions.caller(id, Instant::now()).ok_or(Refusal::SignIn)?;
        if caller.still_valid(&self.domain).is_err() {
            self.sessions.end(id);
            return Err(Refusal::SignIn);
        }
        // A page counts against the principal's rate as a gRPC call does.
        self.limiter.admit(&caller)?;
        Ok(caller)
    }

    /// The year a page shows when none is asked for: the latest year a programme runs, up to
    /// this year; this year if there is none.
    pub(crate) fn default_year(&self) -> u16 {
        let this_year = crate::submission::now().date_in_vietnam().year();
        let state = self.domain.state.read();
        state
            .index()
            .programmes
            .keys()
            .filter_map(|p| state.programme(p).map(|p| p.launched.year))
            .filter(|y| *y <= this_year)
            .max()
            .unwrap_or(this_year)
    }
}

/// The query parameters of a page.
pub(crate) struct Query(Vec<(String, String)>);

impl Query {
    pub(crate) fn parse(raw: Option<&str>) -> Query {
        Query(form_urlencoded::parse(raw.unwrap_or_default().as_bytes()).into_owned().collect())
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The `year` asked for, checked as the Standings service checks it; `default` without one.
    pub(crate) fn year(&self, default: u16) -> Result<u16, Status> {
        match self.get("year").filter(|y| !y.is_empty()) {
            None => Ok(default),
            Some(text) => {
                let value: u32 =
                    text.parse().map_err(|_| Status::invalid_argument(format!("year: {text:?} is not a year")))?;
                crate::reports::year(value)
            }
        }
    }
}

/// An id from a page's path, checked as the API checks ids; a bad one names the field.
pub(crate) fn path_id(field: &str, value: &str) -> Result<Id, Status> {
    crate::reports::id(field, value)
}

/// The language of a request, and the `Set-Cookie` that remembers a language chosen by query.
pub(crate) fn language(headers: &HeaderMap, query: &Query) -> (Lang, Option<String>) {
    let lang = Lang::of(headers, query.get("lang"));
    let chosen = query.get("lang").and_then(Lang::parse).map(i18n::set_cookie);
    (lang, chosen)
}

/// A rendered page, with the language cookie if one was chosen.
pub(crate) fn respond(body: String, lang_cookie: Option<String>) -> Response {
    let mut response = axum::response::Html(body).into_response();
    if let Some(cookie) = lang_cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

#[cfg(test)]
mod tests;
