//! A member's page: points by month against the monthly minimum, attendance, times spoken,
//! commendations and reminders, as the Standings service counts them.

use axum::extract::{Path, State};
use axum::response::Response;

use super::chart::{self, Rule};
use super::html::Html;
use super::i18n::Key;
use super::layout::{action, figure, here, year_switch, Page};
use super::{path_id, Visit, Web};

/// GET /member/{id}?year=
pub(crate) async fn page(
    State(web): State<Web>,
    Visit { query, lang, cookie, caller }: Visit,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        let member = path_id("member_id", &id)?;
        let year = query.year(web.default_year())?;
        let (standing, log_size) = web.reports.member(&caller, &member, year).await?;
        Ok::<_, tonic::Status>((member, year, standing, log_size))
    }
    .await;
    let (member, year, m, log_size) = match result {
        Ok(found) => found,
        Err(status) => return super::refusal_page(status.into(), lang, Some(&caller)),
    };
    let path = format!("/member/{member}");
    let mut b = Html::new();
    year_switch(&mut b, lang, &path, year);
    let cell_name = chibo_domain::Id::parse("cell_id", &m.cell_id)
        .ok()
        .and_then(|c| web.domain.state.read().index().org(&c).map(|n| n.name.clone()))
        .unwrap_or_else(|| m.cell_id.clone());
    // The cell is linked only for a principal who may open it (a member may not).
    let cell = chibo_domain::Id::parse("cell_id", &m.cell_id).ok();
    let cell = cell.filter(|c| caller.may(&web.domain, chibo_projections::access::Action::ReadOrg(c)).is_ok());
    b.open("p", &[("class", "lead")]).text(lang.t(Key::Cell)).raw(": ");
    match &cell {
        Some(_) => {
            b.elem("a", &[("href", &format!("/cell/{}?year={year}", m.cell_id)), ("id", "member-cell")], &cell_name)
        }
        None => b.elem("span", &[("id", "member-cell")], &cell_name),
    };
    b.close("p");

    b.raw("<section class=\"figures\" id=\"member-figures\">");
    figure(&mut b, "points_year", lang.t(Key::PointsYear), &m.points_year.to_string());
    figure(&mut b, "points_cumulative", lang.t(Key::PointsCumulative), &m.points_cumulative.to_string());
    figure(&mut b, "monthly_minimum", lang.t(Key::MonthlyMinimum), &m.monthly_minimum.to_string());
    figure(&mut b, "months_under_minimum", lang.t(Key::MonthsUnderMinimum), &m.months_under_minimum.len().to_string());
    figure(
        &mut b,
        "meetings_present",
        lang.t(Key::MeetingsAttended),
        &format!("{} / {}", m.meetings_present, m.meetings_expected),
    );
    figure(&mut b, "excused", lang.t(Key::Excused), &m.excused.to_string());
    figure(&mut b, "unexcused", lang.t(Key::Unexcused), &m.unexcused.to_string());
    figure(&mut b, "times_spoke", lang.t(Key::TimesSpoke), &m.times_spoke.to_string());
    figure(&mut b, "commendations", lang.t(Key::Commendations), &m.commendations.to_string());
    figure(&mut b, "reminders", lang.t(Key::Reminders), &m.reminders.to_string());
    figure(&mut b, "criticisms", lang.t(Key::Criticisms), &m.criticisms.to_string());
    figure(&mut b, "tasks_done", lang.t(Key::TasksDone), &format!("{} / {}", m.tasks_done, m.tasks_assigned));
    b.raw("</section>");

    b.elem("h2", &[], lang.t(Key::PointsByMonth));
    let minimum = (m.monthly_minimum > 0)
        .then(|| Rule { value: u64::from(m.monthly_minimum), label: lang.t(Key::MonthlyMinimum) });
    b.push(chart::bars(lang.t(Key::PointsByMonth), &lang.months_short(), &m.points_by_month, minimum));

    action(&mut b, &format!("/audit/member/{member}"), "to-audit", lang.t(Key::AuditTrail));
    let crumbs = match &cell {
        Some(cell) => {
            let mut crumbs = super::tree::crumbs(&web, &caller, cell);
            crumbs.push((format!("/cell/{}?year={year}", m.cell_id), cell_name.clone()));
            crumbs
        }
        None => vec![("/tree".to_owned(), "⌂".to_owned())],
    };
    let page = Page {
        lang,
        caller: Some(&caller),
        title: m.name.clone(),
        crumbs,
        path: &here(&path, &query),
        log_size: Some(log_size),
    };
    super::respond(page.render(b), cookie)
}
