//! The frame every page shares: the top bar (who is signed in, the language switch, sign-out),
//! the breadcrumbs, the title, and a footer naming the log size the figures cover.

use super::html::{url_encode, Html};
use super::i18n::{Key, Lang};
use super::Query;
use crate::auth::Caller;

/// A page to render around its body.
pub(crate) struct Page<'a> {
    pub lang: Lang,
    pub caller: Option<&'a Caller>,
    pub title: String,
    /// Links above the title, outermost first: (href, label).
    pub crumbs: Vec<(String, String)>,
    /// This page's path and query, without `lang`: where the language switch goes.
    pub path: &'a str,
    /// The log size the page's figures cover.
    pub log_size: Option<u64>,
}

/// `path` with `query`'s parameters but `lang`: the page itself, in whatever language.
pub(crate) fn here(path: &str, query: &Query) -> String {
    let kept: Vec<String> = query
        .0
        .iter()
        .filter(|(k, _)| k != "lang")
        .map(|(k, v)| format!("{}={}", url_encode(k), url_encode(v)))
        .collect();
    if kept.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", kept.join("&"))
    }
}

fn with_lang(path: &str, lang: Lang) -> String {
    let join = if path.contains('?') { '&' } else { '?' };
    format!("{path}{join}lang={}", lang.code())
}

impl Page<'_> {
    /// The whole document.
    pub fn render(self, body: Html) -> String {
        let Page { lang, caller, title, crumbs, path, log_size } = self;
        let mut h = Html::new();
        h.raw("<!DOCTYPE html>").open("html", &[("lang", lang.code())]);
        h.raw("<head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
        h.elem("title", &[], &format!("{title} · chibo"));
        h.raw("<link rel=\"stylesheet\" href=\"/static/chibo.css\"></head><body>");
        h.raw("<header class=\"top\"><a class=\"brand\" href=\"/tree\">chibo</a>");
        h.open("span", &[("class", "tagline")]).text(lang.t(Key::Tagline)).close("span");
        h.raw("<nav>");
        if caller.is_some() {
            h.elem("a", &[("href", "/tree"), ("id", "nav-tree")], lang.t(Key::Tree));
        }
        let other = lang.other();
        h.elem(
            "a",
            &[("href", &with_lang(path, other)), ("id", "lang-switch"), ("lang", other.code())],
            other.t(Key::LanguageName),
        );
        if let Some(caller) = caller {
            h.open("span", &[("class", "who"), ("id", "principal")])
                .text(&caller.principal.name)
                .raw(" · ")
                .text(lang.role(caller.principal.role))
                .close("span");
            h.raw("<form method=\"post\" action=\"/logout\" class=\"logout\">");
            h.elem("button", &[("type", "submit"), ("id", "logout")], lang.t(Key::SignOut));
            h.raw("</form>");
        }
        h.raw("</nav></header><main>");
        if !crumbs.is_empty() {
            h.raw("<ol class=\"crumbs\">");
            for (href, label) in &crumbs {
                h.raw("<li>").elem("a", &[("href", href)], label).raw("</li>");
            }
            h.raw("</ol>");
        }
        h.elem("h1", &[], &title);
        h.push(body);
        h.raw("</main><footer>");
        if let Some(size) = log_size {
            h.open("span", &[("data-log-size", &size.to_string())])
                .text(&format!("{} {size} {}", lang.t(Key::FiguresCover), lang.t(Key::EventsOfTheLog)))
                .close("span");
        }
        h.raw("</footer></body></html>");
        h.into_string()
    }
}

/// A figure in a card: a label, the value, and a stable `data-figure` name for tests.
pub(crate) fn figure(h: &mut Html, name: &str, label: &str, value: &str) {
    h.open("div", &[("class", "figure")]);
    h.elem("span", &[("class", "label")], label);
    h.elem("span", &[("class", "value"), ("data-figure", name)], value);
    h.close("div");
}

/// A page's action: a link styled as a button, with a stable `id` for tests.
pub(crate) fn action(h: &mut Html, href: &str, id: &str, label: &str) {
    h.raw("<p class=\"actions\">");
    h.elem("a", &[("href", href), ("id", id), ("class", "button")], label);
    h.raw("</p>");
}

/// Links to the year before and after `year` on `path`.
pub(crate) fn year_switch(h: &mut Html, lang: Lang, path: &str, year: u16) {
    h.raw("<p class=\"years\">");
    h.elem("a", &[("href", &format!("{path}?year={}", year - 1)), ("rel", "prev")], &format!("← {}", year - 1));
    h.open("strong", &[("data-year", &year.to_string())])
        .text(&format!("{} {year}", lang.t(Key::Year)))
        .close("strong");
    h.elem("a", &[("href", &format!("{path}?year={}", year + 1)), ("rel", "next")], &format!("{} →", year + 1));
    h.raw("</p>");
}
