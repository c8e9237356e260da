//! Signing in and out. A token is exchanged once for a session cookie; the token is checked as
//! the gRPC interceptor checks it and never kept, logged or shown. Forms that change state
//! (sign-in, sign-out) are accepted only from this server's own pages: the session cookie is
//! `SameSite=Strict`, and the request's `Origin` (or, lacking one, `Referer`) must name the
//! host it was sent to.

use std::time::Instant;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use tonic::Status;

use super::html::Html;
use super::i18n::{Key, Lang};
use super::layout::Page;
use super::{session, Query, Web};
use crate::auth::{caller_of, token_digest};

/// Refuses a state-changing request that did not come from one of this server's pages.
pub(crate) fn same_origin(headers: &HeaderMap) -> Result<(), Status> {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .ok_or_else(|| Status::permission_denied("Host: the request names no host"))?;
    let authority = |url: &str| -> Option<String> {
        let rest = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://"))?;
        Some(rest.split('/').next().unwrap_or_default().to_owned())
    };
    let (header_name, from) =
        match (headers.get(header::ORIGIN), headers.get(header::REFERER)) {
            (Some(origin), _) => ("Origin", origin),
            (None, Some(referer)) => ("Referer", referer),
            (None, None) => return Err(Status::permission_denied(
                "Origin: the form was sent without an Origin or Referer header, so it cannot be told from a forged one",
            )),
        };
    let from = from.to_str().ok().and_then(authority);
    match from {
        Some(from) if from.eq_ignore_ascii_case(host) => Ok(()),
        _ => Err(Status::permission_denied(format!(
            "{header_name}: the form was not sent from this server's pages ({host}); refused as a cross-site request"
        ))),
    }
}

fn form_page(lang: Lang, error: Option<&str>, path: &str) -> String {
    let mut body = Html::new();
    body.open("p", &[("class", "lead")]).text(lang.t(Key::SignInLead)).close("p");
    if let Some(error) = error {
        body.elem("p", &[("class", "refusal"), ("id", "login-error")], error);
    }
    body.raw("<form method=\"post\" action=\"/login\" class=\"login\">");
    body.elem("label", &[("for", "token")], lang.t(Key::Token));
    body.raw("<input type=\"password\" id=\"token\" name=\"token\" autocomplete=\"off\" required autofocus>");
    body.elem("button", &[("type", "submit"), ("id", "sign-in")], lang.t(Key::SignIn));
    body.raw("</form>");
    body.open("p", &[("class", "hint")]).text(lang.t(Key::SignInHint)).close("p");
    Page { lang, caller: None, title: lang.t(Key::SignInTitle).to_owned(), crumbs: Vec::new(), path, log_size: None }
        .render(body)
}

/// GET /login: the sign-in form.
pub(crate) async fn form(headers: HeaderMap, axum::extract::RawQuery(raw): axum::extract::RawQuery) -> Response {
    let query = Query::parse(raw.as_deref());
    let (lang, cookie) = super::language(&headers, &query);
    super::respond(form_page(lang, None, "/login"), cookie)
}

/// POST /login: a token for a session.
pub(crate) async fn sign_in(State(web): State<Web>, headers: HeaderMap, body: String) -> Response {
    let lang = Lang::of(&headers, None);
    if let Err(status) = same_origin(&headers) {
        return super::refusal_page(status.into(), lang, None);
    }
    let token = form_urlencoded::parse(body.as_bytes()).find(|(k, _)| k == "token").map(|(_, v)| v.trim().to_owned());
    let token = match token {
        Some(token) if !token.is_empty() => token,
        _ => {
            let page = form_page(lang, Some(lang.t(Key::TokenMissing)), "/login");
            return (StatusCode::BAD_REQUEST, axum::response::Html(page)).into_response();
        }
    };
    let Some(caller) = caller_of(&web.domain, token_digest(&token)) else {
        let page = form_page(lang, Some(lang.t(Key::TokenUnknown)), "/login");
        return (StatusCode::UNAUTHORIZED, axum::response::Html(page)).into_response();
    };
    let principal = caller.principal.name.clone();
    let id = match web.sessions.start(caller, Instant::now()) {
        Ok(id) => id,
        Err(e) => {
            return super::refusal_page(
                Status::unavailable(format!("no randomness for a session: {e}")).into(),
                lang,
                None,
            )
        }
    };
    tracing::info!(principal, "signed in to the dashboard");
    let mut response = Redirect::to("/tree").into_response();
    if let Ok(cookie) = HeaderValue::from_str(&session::set_cookie(&id, web.secure)) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// POST /logout: ends the session.
pub(crate) async fn sign_out(State(web): State<Web>, headers: HeaderMap) -> Response {
    let lang = Lang::of(&headers, None);
    if let Err(status) = same_origin(&headers) {
        return super::refusal_page(status.into(), lang, None);
    }
    if let Some(id) = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| session::cookie(c, session::COOKIE))
    {
        web.sessions.end(id);
    }
    let mut response = Redirect::to("/login").into_response();
    if let Ok(cookie) = HeaderValue::from_str(&session::clear_cookie(web.secure)) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}
