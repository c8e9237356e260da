//! The organization tree, as far as the principal's scope reaches, and a search over it by
//! name or id (with or without Vietnamese diacritics: "tan hoa" finds "Tân Hoà").

use axum::extract::State;
use axum::response::Response;
use chibo_domain::event::OrgLevel;
use chibo_domain::Id;
use chibo_projections::access::Scope;
use chibo_projections::state::Index;

use super::html::Html;
use super::i18n::{Key, Lang};
use super::layout::{here, Page};
use super::{Visit, Web};

/// Results shown at most for a search.
const MAX_RESULTS: usize = 200;

/// `text` lower-cased with Vietnamese diacritics and đ taken off, for matching.
pub(crate) fn fold(text: &str) -> String {
    const GROUPS: [(&str, char); 7] = [
        ("àáảãạăằắẳẵặâầấẩẫậ", 'a'),
        ("èéẻẽẹêềếểễệ", 'e'),
        ("ìíỉĩị", 'i'),
        ("òóỏõọôồốổỗộơờớởỡợ", 'o'),
        ("ùúủũụưừứửữự", 'u'),
        ("ỳýỷỹỵ", 'y'),
        ("đ", 'd'),
    ];
    text.chars()
        .flat_map(char::to_lowercase)
        .map(|c| GROUPS.iter().find(|(group, _)| group.contains(c)).map_or(c, |(_, plain)| *plain))
        .collect()
}

/// The href of an organization's page.
pub(crate) fn org_href(id: &Id, level: OrgLevel) -> String {
    match level {
        OrgLevel::Cell => format!("/cell/{id}"),
        _ => format!("/committee/{id}"),
    }
}

/// The roots of what `scope` may see.
fn roots(index: &Index, scope: &Scope) -> Vec<Id> {
    match scope {
        Scope::All => index
            .orgs()
            .filter(|(_, node)| node.parent.as_ref().is_none_or(|p| index.org(p).is_none()))
            .map(|(id, _)| id.clone())
            .collect(),
        Scope::Tree(org) if index.org(org).is_some() => vec![org.clone()],
        _ => Vec::new(),
    }
}

fn node(h: &mut Html, index: &Index, lang: Lang, id: &Id, depth: usize) {
    let Some(org) = index.org(id) else { return };
    h.open("li", &[("data-org", id.as_str()), ("data-level", org.level.name())]);
    h.elem("a", &[("href", &org_href(id, org.level))], &org.name);
    h.raw(" ").elem("span", &[("class", "level")], lang.level(org.level));
    let children: Vec<&Id> = index.children(id).collect();
    // Guards a cycle that a log written before the rules could hold.
    if !children.is_empty() && depth < 16 {
        h.raw("<ul>");
        for child in children {
            node(h, index, lang, child, depth + 1);
        }
        h.raw("</ul>");
    }
    h.close("li");
}

/// GET /tree?q=: the tree in scope, or the organizations in it that match `q`.
pub(crate) async fn page(State(web): State<Web>, Visit { query, lang, cookie, caller }: Visit) -> Response {
    let search = query.get("q").map(str::trim).unwrap_or_default().to_owned();
    let mut body = Html::new();
    let log_size;
    {
        let state = web.domain.state.read();
        log_size = state.log_size();
        let index = state.index();
        body.raw("<form method=\"get\" action=\"/tree\" class=\"search\" role=\"search\">");
        body.elem("label", &[("for", "q")], lang.t(Key::Search));
        body.open("input", &[("type", "search"), ("id", "q"), ("name", "q"), ("value", &search)]);
        body.elem("button", &[("type", "submit")], lang.t(Key::Find));
        body.raw("</form>");
        if let Scope::Member(member) = &caller.principal.scope {
            body.open("p", &[])
                .elem("a", &[("href", &format!("/member/{member}"))], lang.t(Key::MyStanding))
                .close("p");
        }
        let roots = roots(index, &caller.principal.scope);
        if search.is_empty() {
            body.raw("<ul class=\"tree\" id=\"tree\">");
            for root in &roots {
                node(&mut body, index, lang, root, 0);
            }
            body.raw("</ul>");
        } else {
            let wanted = fold(&search);
            let found: Vec<Id> = roots
                .iter()
                .flat_map(|root| index.subtree(root))
                .filter(|id| {
                    index.org(id).is_some_and(|o| fold(&o.name).contains(&wanted) || id.as_str().contains(&wanted))
                })
                .take(MAX_RESULTS + 1)
                .collect();
            body.open("p", &[("class", "count"), ("data-results", &found.len().min(MAX_RESULTS).to_string())])
                .text(&format!("{}: {}", lang.t(Key::Results), found.len().min(MAX_RESULTS)))
                .close("p");
            body.raw("<ul class=\"results\" id=\"results\">");
            for id in found.iter().take(MAX_RESULTS) {
                let Some(org) = index.org(id) else { continue };
                body.open("li", &[("data-org", id.as_str())]);
                body.elem("a", &[("href", &org_href(id, org.level))], &org.name);
                body.raw(" ").elem("span", &[("class", "level")], lang.level(org.level));
                if let Some(parent) = org.parent.as_ref().and_then(|p| index.org(p)) {
                    body.raw(" ").elem("span", &[("class", "parent")], &format!("— {}", parent.name));
                }
                body.close("li");
            }
            body.raw("</ul>");
        }
    }
    let path = here("/tree", &query);
    let page = Page {
        lang,
        caller: Some(&caller),
        title: lang.t(Key::Tree).to_owned(),
        crumbs: Vec::new(),
        path: &path,
        log_size: Some(log_size),
    };
    super::respond(page.render(body), cookie)
}

/// Links to `org`'s ancestors the caller may read, outermost first, and `org` itself.
pub(crate) fn crumbs(web: &Web, caller: &crate::auth::Caller, org: &Id) -> Vec<(String, String)> {
    let state = web.domain.state.read();
    let index = state.index();
    let mut chain = Vec::new();
    let mut at = index.org(org).and_then(|n| n.parent.clone());
    while let Some(id) = at {
        let Some(node) = index.org(&id) else { break };
        if chain.len() > 16 {
            break;
        }
        chain.push((id.clone(), node.name.clone(), node.level));
        at = node.parent.clone();
    }
    chain.reverse();
    let mut out = vec![("/tree".to_owned(), String::from("⌂"))];
    for (id, name, level) in chain {
        if chibo_projections::access::authorize(
            &state,
            &caller.principal,
            chibo_projections::access::Action::ReadOrg(&id),
        )
        .is_ok()
        {
            out.push((org_href(&id, level), name));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::fold;

    #[test]
    fn search_folds_case_and_diacritics() {
        assert_eq!(fold("Chi bộ ấp Tân Hoà"), "chi bo ap tan hoa");
        assert_eq!(fold("ĐẢNG BỘ Khối"), "dang bo khoi");
        assert!(fold("Bệnh viện Nhi Thái Bình").contains(&fold("thai binh")));
    }
}
