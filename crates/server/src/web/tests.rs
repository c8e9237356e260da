//! The dashboard's request checks that need no server: cross-site form refusal, query parsing,
//! the statuses refusals are shown with.

use axum::http::{header, HeaderMap, StatusCode};
use tonic::Code;

use super::login::same_origin;
use super::{http_status, Query};

fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (name, value) in pairs {
        h.insert(name.clone(), value.parse().unwrap());
    }
    h
}

#[test]
fn a_form_from_this_server_is_accepted() {
    let h = headers(&[(header::HOST, "127.0.0.1:8080"), (header::ORIGIN, "http://127.0.0.1:8080")]);
    assert!(same_origin(&h).is_ok());
    let h = headers(&[(header::HOST, "127.0.0.1:8080"), (header::REFERER, "http://127.0.0.1:8080/login?lang=en")]);
    assert!(same_origin(&h).is_ok(), "a Referer stands in for a missing Origin");
}

#[test]
fn a_form_from_another_site_or_from_nowhere_is_refused() {
    let cases = [
        headers(&[(header::HOST, "127.0.0.1:8080"), (header::ORIGIN, "http://evil.example")]),
        headers(&[(header::HOST, "127.0.0.1:8080"), (header::ORIGIN, "http://127.0.0.1:8081")]),
        headers(&[(header::HOST, "127.0.0.1:8080"), (header::ORIGIN, "null")]),
        headers(&[(header::HOST, "127.0.0.1:8080"), (header::REFERER, "http://127.0.0.1:8080.evil.example/")]),
        headers(&[(header::HOST, "127.0.0.1:8080")]),
        headers(&[(header::ORIGIN, "http://127.0.0.1:8080")]),
    ];
    for h in cases {
        let refused = same_origin(&h).expect_err(&format!("{h:?} is refused"));
        assert_eq!(refused.code(), Code::PermissionDenied);
    }
}

#[test]
fn the_year_is_checked_and_named() {
    assert_eq!(Query::parse(None).year(2025).unwrap(), 2025);
    assert_eq!(Query::parse(Some("year=2024")).year(2025).unwrap(), 2024);
    let bad = Query::parse(Some("year=abc")).year(2025).unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert!(bad.message().starts_with("year:"), "{}", bad.message());
    let far = Query::parse(Some("year=99999")).year(2025).unwrap_err();
    assert!(far.message().starts_with("year:"), "{}", far.message());
}

#[test]
fn refusals_keep_their_meaning_over_http() {
    assert_eq!(http_status(Code::PermissionDenied), StatusCode::FORBIDDEN);
    assert_eq!(http_status(Code::NotFound), StatusCode::NOT_FOUND);
    assert_eq!(http_status(Code::InvalidArgument), StatusCode::BAD_REQUEST);
}

#[test]
fn query_values_are_decoded() {
    let q = Query::parse(Some("q=t%C3%A2n+ho%C3%A0&lang=en"));
    assert_eq!(q.get("q"), Some("tân hoà"));
    assert_eq!(super::layout::here("/tree", &q), "/tree?q=t%C3%A2n+ho%C3%A0");
}
