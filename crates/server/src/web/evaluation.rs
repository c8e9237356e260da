//! The evaluation page: the Evaluation service's report for an organization's year under a
//! classification rule set, with the rule set, the log size it covers and its digest, laid out
//! to print on A4.

use axum::extract::{Path, State};
use axum::response::Response;
use chibo_projections::rules::RuleSetBody;
use chibo_proto::v1::{self as pb, evaluation_server::Evaluation};
use std::collections::BTreeMap;

use serde::de::IgnoredAny;
use serde::Deserialize;
use tonic::Status;

use super::audit::hex;
use super::html::Html;
use super::i18n::{Key, Lang};
use super::layout::{here, year_switch, Page};
use super::tree::crumbs;
use super::{path_id, Query, Visit, Web};

/// The classification rule sets the server knows, (name, version), by name and version.
fn classification_sets(web: &Web) -> Vec<(String, u32)> {
    web.domain
        .rules
        .iter()
        .filter(|s| matches!(s.body, RuleSetBody::Classification(_)))
        .map(|s| (s.name.to_string(), s.version))
        .collect()
}

/// The rule set `rule_set=name@version` names; by default the national rules in force for the
/// year (QĐ 366 from 2025, QĐ 124 before), at their latest version.
fn rule_set(web: &Web, query: &Query, year: u16) -> Result<pb::RuleSetRef, Status> {
    if let Some(text) = query.get("rule_set").filter(|t| !t.is_empty()) {
        let (name, version) = text
            .rsplit_once('@')
            .and_then(|(n, v)| Some((n.to_owned(), v.parse::<u32>().ok()?)))
            .ok_or_else(|| Status::invalid_argument(format!("rule_set: {text:?} is not NAME@VERSION")))?;
        return Ok(pb::RuleSetRef { name, version });
    }
    let preferred = if year >= 2025 { "vn-qd366-2025" } else { "vn-qd124-2023" };
    let sets = classification_sets(web);
    let pick = sets
        .iter()
        .rev()
        .find(|(n, _)| n == preferred)
        .or_else(|| sets.last())
        .ok_or_else(|| Status::failed_precondition("rule_set: the server knows no classification rule set"))?;
    Ok(pb::RuleSetRef { name: pick.0.clone(), version: pick.1 })
}

/// What the page shows of the canonical report, read without building the members' lines (a
/// province's report holds thousands; only their number is shown).
#[derive(Deserialize)]
struct ReportView {
    #[serde(default)]
    org_name: String,
    rule_set: RuleSetView,
    #[serde(default)]
    summary: SummaryView,
    #[serde(default)]
    cells: Vec<CellView>,
    #[serde(default)]
    members: Vec<IgnoredAny>,
}

#[derive(Deserialize)]
struct RuleSetView {
    #[serde(default)]
    sha256: String,
}

#[derive(Deserialize, Default)]
struct SummaryView {
    #[serde(default)]
    cells: BTreeMap<String, u64>,
    #[serde(default)]
    members: BTreeMap<String, u64>,
}

#[derive(Deserialize)]
struct CellView {
    id: String,
    score_permille: u64,
    level: Option<String>,
}

fn counts_table(b: &mut Html, lang: Lang, id: &'static str, heading: Key, counts: &BTreeMap<String, u64>) {
    b.elem("h3", &[], lang.t(heading));
    b.open("table", &[("class", "compact"), ("id", id)]).raw("<tbody>");
    for level in ["excellent", "good", "completed", "not_completed", "not_classified"] {
        let n = counts.get(level).copied().unwrap_or(0);
        b.open("tr", &[]).elem("th", &[], lang.level_name(level));
        b.elem("td", &[("class", "num"), ("data-level", level)], &n.to_string()).close("tr");
    }
    b.raw("</tbody></table>");
}

/// GET /evaluation/{org}?year=&rule_set=name@version
pub(crate) async fn page(
    State(web): State<Web>,
    Visit { query, lang, cookie, caller }: Visit,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        let org = path_id("org_id", &id)?;
        let year = query.year(web.default_year())?;
        let rule_set = rule_set(&web, &query, year)?;
        let mut request = tonic::Request::new(pb::EvaluateRequest {
            org_id: org.to_string(),
            year: u32::from(year),
            rule_set: Some(rule_set),
            log_size: None,
        });
        request.extensions_mut().insert(caller.clone());
        let answer = web.reports.evaluate(request).await?.into_inner();
        let report: ReportView = serde_json::from_slice(&answer.report)
            .map_err(|e| Status::internal(format!("the report is not JSON: {e}")))?;
        Ok::<_, Status>((org, year, answer, report))
    }
    .await;
    let (org, year, answer, report) = match result {
        Ok(found) => found,
        Err(status) => return super::refusal_page(status.into(), lang, Some(&caller)),
    };
    let rule = answer.rule_set.clone().unwrap_or_default();
    let path = format!("/evaluation/{org}");
    let mut b = Html::new();
    b.raw("<div class=\"no-print\">");
    year_switch(&mut b, lang, &path, year);
    b.raw("<form method=\"get\" class=\"search\">");
    b.open("input", &[("type", "hidden"), ("name", "year"), ("value", &year.to_string())]);
    b.elem("label", &[("for", "rule_set")], lang.t(Key::RuleSet));
    b.raw("<select id=\"rule_set\" name=\"rule_set\">");
    for (name, version) in classification_sets(&web) {
        let value = format!("{name}@{version}");
        if name == rule.name && version == rule.version {
            b.open("option", &[("value", &value), ("selected", "selected")]);
        } else {
            b.open("option", &[("value", &value)]);
        }
        b.text(&value).close("option");
    }
    b.raw("</select>");
    b.elem("button", &[("type", "submit")], lang.t(Key::Show));
    b.raw("</form></div>");

    b.raw("<section class=\"report-head\" id=\"report\"><dl>");
    let org_name = report.org_name.as_str();
    b.elem("dt", &[], lang.t(Key::Organization)).elem("dd", &[], &format!("{org_name} ({org})"));
    b.elem("dt", &[], lang.t(Key::Year)).elem("dd", &[], &year.to_string());
    let sha = report.rule_set.sha256.as_str();
    b.elem("dt", &[], lang.t(Key::RuleSet));
    b.open("dd", &[("data-rule-set", &format!("{}@{}", rule.name, rule.version))])
        .text(&format!("{}@{}", rule.name, rule.version))
        .raw("<br><small class=\"hash\">")
        .text(sha)
        .raw("</small></dd>");
    b.elem("dt", &[], lang.t(Key::LogSize)).elem(
        "dd",
        &[("data-log-size", &answer.log_size.to_string())],
        &answer.log_size.to_string(),
    );
    b.elem("dt", &[], lang.t(Key::Digest)).elem(
        "dd",
        &[("class", "hash"), ("data-digest", &hex(&answer.digest))],
        &hex(&answer.digest),
    );
    b.raw("</dl></section>");

    b.elem("h2", &[], lang.t(Key::Summary));
    b.raw("<div class=\"columns\">");
    b.raw("<div>");
    counts_table(&mut b, lang, "summary-cells", Key::Cells, &report.summary.cells);
    b.raw("</div><div>");
    counts_table(&mut b, lang, "summary-members", Key::Members, &report.summary.members);
    b.raw("</div></div>");

    b.elem("h2", &[], lang.t(Key::Cells));
    b.raw("<table id=\"evaluated-cells\"><thead><tr>");
    b.elem("th", &[], lang.t(Key::Cell)).elem("th", &[("class", "num")], lang.t(Key::Score)).elem(
        "th",
        &[],
        lang.t(Key::Classification),
    );
    b.raw("</tr></thead><tbody>");
    {
        let state = web.domain.state.read();
        for line in &report.cells {
            let cell = line.id.as_str();
            let name = chibo_domain::Id::parse("cell_id", cell)
                .ok()
                .and_then(|c| state.index().org(&c).map(|n| n.name.clone()))
                .unwrap_or_else(|| cell.to_owned());
            let score = line.score_permille;
            let level = line.level.as_deref().unwrap_or("not_classified");
            b.open("tr", &[("data-cell", cell)]);
            b.elem("td", &[], &name);
            b.elem("td", &[("class", "num")], &format!("{}.{}", score / 10, score % 10));
            b.elem("td", &[("data-level", level)], lang.level_name(level));
            b.close("tr");
        }
    }
    b.raw("</tbody></table>");
    let members = report.members.len();
    b.open("p", &[("class", "note")])
        .text(&format!("{}: {members}. {}", lang.t(Key::MembersEvaluated), lang.t(Key::FullReportHint)))
        .close("p");
    b.raw("<p class=\"no-print hint\">").text(lang.t(Key::PrintHint)).raw("</p>");

    let page = Page {
        lang,
        caller: Some(&caller),
        title: format!("{} — {org_name}", lang.t(Key::Evaluation)),
        crumbs: crumbs(&web, &caller, &org),
        path: &here(&path, &query),
        log_size: Some(answer.log_size),
    };
    super::respond(page.render(b), cookie)
}
