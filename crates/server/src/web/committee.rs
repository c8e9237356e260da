//! A committee's page: its subtree's year rolled up (cells holding every meeting, attendance,
//! points compliance, programme status) and the leaderboards of cells and members, all from the
//! Standings service's own computation.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use chibo_domain::event::OrgLevel;

use super::html::{permille, Html};
use super::i18n::Key;
use super::layout::{action, figure, here, year_switch, Page};
use super::tree::{crumbs, org_href};
use super::{path_id, Refusal, Visit, Web};

/// Lines of each leaderboard.
const TOP: usize = 10;

/// GET /committee/{id}?year=
pub(crate) async fn page(
    State(web): State<Web>,
    Visit { query, lang, cookie, caller }: Visit,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        let org = path_id("org_id", &id)?;
        let year = query.year(web.default_year())?;
        let level = web.domain.state.read().index().org(&org).map(|n| n.level);
        if level == Some(OrgLevel::Cell) {
            return Ok(Err(format!("/cell/{org}?year={year}")));
        }
        let (standing, log_size) = web.reports.committee(&caller, &org, year, TOP).await?;
        Ok::<_, Refusal>(Ok((org, year, standing, log_size)))
    }
    .await;
    let (org, year, s, log_size) = match result {
        Ok(Ok(found)) => found,
        Ok(Err(cell)) => return Redirect::to(&cell).into_response(),
        Err(refusal) => return super::refusal_page(refusal, lang, Some(&caller)),
    };
    let path = format!("/committee/{org}");
    let mut b = Html::new();
    year_switch(&mut b, lang, &path, year);

    b.raw("<section class=\"figures\" id=\"rollup\">");
    figure(&mut b, "cells", lang.t(Key::Cells), &s.cells.to_string());
    figure(&mut b, "members", lang.t(Key::Members), &s.members.to_string());
    figure(
        &mut b,
        "cells_every_meeting_held",
        lang.t(Key::CellsEveryMeeting),
        &format!("{} / {}", s.cells_every_meeting_held, s.cells),
    );
    figure(&mut b, "attendance_permille", lang.t(Key::Attendance), &permille(s.attendance_permille));
    figure(
        &mut b,
        "points_compliance_permille",
        lang.t(Key::PointsCompliance),
        &permille(s.points_compliance_permille),
    );
    b.raw("</section>");

    b.elem("h2", &[], lang.t(Key::ProgrammeStatus));
    b.raw("<table class=\"compact\" id=\"programme-status\"><tbody>");
    if s.programme_status.is_empty() {
        b.open("tr", &[]).elem("td", &[], lang.t(Key::NoneRecorded)).close("tr");
    }
    for (status, count) in &s.programme_status {
        b.open("tr", &[]).elem("th", &[], lang.status(status));
        b.elem("td", &[("class", "num"), ("data-status", status)], &count.to_string()).close("tr");
    }
    b.raw("</tbody></table>");

    b.raw("<div class=\"columns\">");
    b.raw("<section>").elem("h2", &[], lang.t(Key::CellLeaderboard));
    b.raw("<table id=\"cell-leaderboard\"><thead><tr>");
    b.elem("th", &[], "#").elem("th", &[], lang.t(Key::Cell)).elem("th", &[("class", "num")], lang.t(Key::LatestScore));
    b.raw("</tr></thead><tbody>");
    for line in &s.cell_leaderboard {
        b.open("tr", &[("data-cell", &line.id)]);
        b.elem("td", &[], &line.rank.to_string());
        b.open("td", &[]).elem("a", &[("href", &format!("/cell/{}?year={year}", line.id))], &line.name).close("td");
        b.elem("td", &[("class", "num"), ("data-value", &line.value.to_string())], &line.value.to_string());
        b.close("tr");
    }
    b.raw("</tbody></table></section>");
    b.raw("<section>").elem("h2", &[], lang.t(Key::MemberLeaderboard));
    b.raw("<table id=\"member-leaderboard\"><thead><tr>");
    b.elem("th", &[], "#").elem("th", &[], lang.t(Key::Member)).elem("th", &[], lang.t(Key::Cell));
    b.elem("th", &[("class", "num")], lang.t(Key::PointsYear));
    b.raw("</tr></thead><tbody>");
    {
        let state = web.domain.state.read();
        for line in &s.member_leaderboard {
            b.open("tr", &[("data-member", &line.id)]);
            b.elem("td", &[], &line.rank.to_string());
            b.open("td", &[])
                .elem("a", &[("href", &format!("/member/{}?year={year}", line.id))], &line.name)
                .close("td");
            let cell_name = chibo_domain::Id::parse("cell_id", &line.cell_id)
                .ok()
                .and_then(|c| state.index().org(&c).map(|n| n.name.clone()))
                .unwrap_or_else(|| line.cell_id.clone());
            b.open("td", &[])
                .elem("a", &[("href", &format!("/cell/{}?year={year}", line.cell_id))], &cell_name)
                .close("td");
            b.elem("td", &[("class", "num"), ("data-value", &line.value.to_string())], &line.value.to_string());
            b.close("tr");
        }
    }
    b.raw("</tbody></table></section></div>");

    b.elem("h2", &[], lang.t(Key::Below));
    b.raw("<ul class=\"children\" id=\"children\">");
    {
        let state = web.domain.state.read();
        let index = state.index();
        for child in index.children(&org) {
            let Some(node) = index.org(child) else { continue };
            b.open("li", &[("data-org", child.as_str())]);
            b.elem("a", &[("href", &format!("{}?year={year}", org_href(child, node.level)))], &node.name);
            b.raw(" ").elem("span", &[("class", "level")], lang.level(node.level));
            b.close("li");
        }
    }
    b.raw("</ul>");
    action(&mut b, &format!("/evaluation/{org}?year={year}"), "to-evaluation", lang.t(Key::Evaluation));

    let page = Page {
        lang,
        caller: Some(&caller),
        title: s.name.clone(),
        crumbs: crumbs(&web, &caller, &org),
        path: &here(&path, &query),
        log_size: Some(log_size),
    };
    super::respond(page.render(b), cookie)
}
