//! A cell's page: its year as a calendar of meetings, the indicator-score trend, members'
//! points against the monthly minimum, programme status, and the committee's decisions about
//! the cell (selections, inspections, certifications). The figures are the Standings service's;
//! the decisions are the records themselves.

use axum::extract::{Path, State};
use axum::response::Response;
use chibo_domain::{Event, Id};
use chibo_projections::standings::CellStanding;

use super::chart::{self, Rule, Series};
use super::html::{permille, Html};
use super::i18n::{Key, Lang};
use super::layout::{action, figure, here, year_switch, Page};
use super::tree::crumbs;
use super::{path_id, Visit, Web};

/// GET /cell/{id}?year=
pub(crate) async fn page(
    State(web): State<Web>,
    Visit { query, lang, cookie, caller }: Visit,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        let cell = path_id("cell_id", &id)?;
        let year = query.year(web.default_year())?;
        let (standing, log_size) = web.reports.cell(&caller, &cell, year).await?;
        Ok::<_, tonic::Status>((cell, year, standing, log_size))
    }
    .await;
    let (cell, year, s, log_size) = match result {
        Ok(found) => found,
        Err(status) => return super::refusal_page(status.into(), lang, Some(&caller)),
    };
    let path = format!("/cell/{cell}");
    let mut b = Html::new();
    year_switch(&mut b, lang, &path, year);
    summary(&mut b, lang, &s);
    calendar(&mut b, lang, &s);
    trend(&mut b, lang, &s);
    points(&mut b, lang, &s, year);
    decisions(&mut b, lang, &web, &cell, &s);
    action(&mut b, &format!("/audit/cell/{cell}"), "to-audit", lang.t(Key::AuditTrail));
    let page = Page {
        lang,
        caller: Some(&caller),
        title: s.name.clone(),
        crumbs: crumbs(&web, &caller, &cell),
        path: &here(&path, &query),
        log_size: Some(log_size),
    };
    super::respond(page.render(b), cookie)
}

fn summary(b: &mut Html, lang: Lang, s: &CellStanding) {
    b.raw("<section class=\"figures\" id=\"summary\">");
    figure(b, "members", lang.t(Key::Members), &s.members.to_string());
    figure(
        b,
        "regular_held",
        lang.t(Key::RegularMeetings),
        &format!("{} / {}", s.cadence.regular_held, s.cadence.regular_expected),
    );
    figure(
        b,
        "thematic_held",
        lang.t(Key::ThematicMeetings),
        &format!("{} / {}", s.cadence.thematic_held, s.cadence.thematic_expected),
    );
    let every = if s.cadence.every_meeting_held { lang.t(Key::Yes) } else { lang.t(Key::No) };
    figure(b, "every_meeting_held", lang.t(Key::EveryMeetingHeld), every);
    figure(b, "attendance_permille", lang.t(Key::Attendance), &permille(s.attendance_permille));
    figure(
        b,
        "speakers_per_meeting_x10",
        lang.t(Key::SpeakersPerMeeting),
        &format!("{}.{}", s.speakers_per_meeting_x10 / 10, s.speakers_per_meeting_x10 % 10),
    );
    figure(b, "points_compliance_permille", lang.t(Key::PointsCompliance), &permille(s.points_compliance_permille));
    b.raw("</section>");
    b.open("p", &[("class", "note")]).text(&format!("{}: {}", lang.t(Key::MeetingRules), s.meeting_rules)).close("p");
}

fn calendar(b: &mut Html, lang: Lang, s: &CellStanding) {
    b.elem("h2", &[], lang.t(Key::Calendar));
    b.raw("<div class=\"calendar\" id=\"calendar\">");
    for month in 1..=12u8 {
        let missing = s.cadence.months_missing.contains(&month);
        let class = if missing { "month missing" } else { "month" };
        b.open("div", &[("class", class), ("data-month", &month.to_string())]);
        b.elem("h3", &[], lang.month_long(month));
        let prefix = format!("-{month:02}-");
        let mut any = false;
        for m in s.meetings.iter().filter(|m| m.date.get(4..8) == Some(prefix.as_str())) {
            any = true;
            let band = m.band.as_deref().unwrap_or("none");
            b.open("div", &[("class", &format!("meeting {} band-{band}", m.kind)), ("data-meeting", &m.meeting_id)]);
            b.open("span", &[("class", "day")]).text(m.date.get(8..10).unwrap_or_default()).close("span");
            b.elem("span", &[("class", "kind")], lang.meeting_kind(&m.kind));
            b.open("span", &[("class", "attendance"), ("title", lang.t(Key::Attendance))])
                .text(&format!("{}/{}", m.present, m.expected))
                .close("span");
            b.open("span", &[("class", "speakers"), ("title", lang.t(Key::Speakers))])
                .text(&format!("{} {}", lang.t(Key::SpeakersShort), m.speakers))
                .close("span");
            if let Some(score) = m.score {
                b.open("span", &[("class", "score"), ("title", lang.t(Key::ScoreBand))])
                    .text(&format!("{score} · {}", lang.band(band)))
                    .close("span");
            }
            b.close("div");
        }
        if !any {
            b.elem("p", &[("class", "empty")], lang.t(Key::NoMeeting));
        }
        b.close("div");
    }
    b.raw("</div>");
}

fn trend(b: &mut Html, lang: Lang, s: &CellStanding) {
    b.elem("h2", &[], lang.t(Key::IndicatorTrend));
    let months = lang.months_short();
    let series: Vec<Series<'_>> =
        s.programmes.iter().map(|p| Series { label: &p.programme_id, values: &p.indicator_by_month }).collect();
    if series.iter().all(|s| s.values.iter().all(Option::is_none)) {
        b.elem("p", &[("class", "empty")], lang.t(Key::NoScores));
    } else {
        let threshold =
            s.programmes.first().map(|p| Rule { value: u64::from(p.threshold), label: lang.t(Key::Threshold) });
        b.push(chart::lines(lang.t(Key::IndicatorTrend), &months, &series, threshold));
    }
    b.raw("<table class=\"compact\" id=\"programmes\"><thead><tr>");
    b.elem("th", &[], lang.t(Key::Programme)).elem("th", &[], lang.t(Key::Status));
    b.elem("th", &[("class", "num")], lang.t(Key::LatestScore)).elem("th", &[("class", "num")], lang.t(Key::Threshold));
    b.raw("</tr></thead><tbody>");
    for p in &s.programmes {
        b.open("tr", &[("data-programme", &p.programme_id)]);
        b.elem("td", &[], &p.programme_id);
        b.elem("td", &[("data-status", &p.status)], lang.status(&p.status));
        let latest = p.latest_score.map(|v| v.to_string()).unwrap_or_else(|| "—".into());
        b.elem("td", &[("class", "num")], &latest);
        b.elem("td", &[("class", "num")], &p.threshold.to_string());
        b.close("tr");
    }
    b.raw("</tbody></table>");
}

fn points(b: &mut Html, lang: Lang, s: &CellStanding, year: u16) {
    b.elem("h2", &[], lang.t(Key::MembersPoints));
    let minimum = s.member_standings.first().map_or(0, |m| m.monthly_minimum);
    b.open("p", &[("class", "note"), ("data-minimum", &minimum.to_string())])
        .text(&format!("{}: {minimum}", lang.t(Key::MonthlyMinimum)))
        .close("p");
    b.raw("<div class=\"scroll\"><table class=\"points\" id=\"member-points\"><thead><tr>");
    b.elem("th", &[], lang.t(Key::Member));
    for name in lang.months_short() {
        b.elem("th", &[("class", "num")], name);
    }
    b.elem("th", &[("class", "num")], lang.t(Key::PointsYear));
    b.elem("th", &[("class", "num")], lang.t(Key::Attendance));
    b.elem("th", &[("class", "num")], lang.t(Key::TimesSpoke));
    b.raw("</tr></thead><tbody>");
    for m in &s.member_standings {
        b.open("tr", &[("data-member", &m.member_id)]);
        b.open("td", &[]).elem("a", &[("href", &format!("/member/{}?year={year}", m.member_id))], &m.name).close("td");
        for (i, points) in m.points_by_month.iter().enumerate() {
            let under = m.months_under_minimum.contains(&(i as u8 + 1));
            let class = if under { "num under" } else { "num" };
            b.elem("td", &[("class", class)], &points.to_string());
        }
        b.elem("td", &[("class", "num"), ("data-figure", "points_year")], &m.points_year.to_string());
        b.elem("td", &[("class", "num")], &format!("{}/{}", m.meetings_present, m.meetings_expected));
        b.elem("td", &[("class", "num")], &m.times_spoke.to_string());
        b.close("tr");
    }
    b.raw("</tbody></table></div>");
}

/// The committee's decisions about the cell, as recorded: selections, inspections,
/// certifications and revocations, by date.
fn decisions(b: &mut Html, lang: Lang, web: &Web, cell: &Id, s: &CellStanding) {
    b.elem("h2", &[], lang.t(Key::Decisions));
    let state = web.domain.state.read();
    let index = state.index();
    let mut lines: Vec<(String, &'static str, String)> = Vec::new();
    for p in &s.programmes {
        let Ok(programme) = Id::parse("programme_id", &p.programme_id) else { continue };
        let key = (programme.clone(), cell.clone());
        for (stream, event_id) in index.selections.get(&key).into_iter().flatten() {
            if let Some(Event::CellSelected(e)) = state.fact(stream, event_id).map(|f| &f.event) {
                lines.push((
                    e.date.to_string(),
                    "selected",
                    format!("{} — {} {}", programme, lang.t(Key::Decision), e.decision_number),
                ));
            }
        }
        for (_, stream, event_id, _) in index.certifications.get(&key).into_iter().flatten() {
            match state.fact(stream, event_id).map(|f| &f.event) {
                Some(Event::CellCertified(e)) => lines.push((
                    e.date.to_string(),
                    "certified",
                    format!(
                        "{} — {} {} · {} {}",
                        programme,
                        lang.t(Key::Decision),
                        e.decision_number,
                        lang.t(Key::Score),
                        e.score
                    ),
                )),
                Some(Event::CertificationRevoked(e)) => lines.push((
                    e.date.to_string(),
                    "revoked",
                    format!("{} — {} {} · {}", programme, lang.t(Key::Decision), e.decision_number, e.reason),
                )),
                _ => {}
            }
        }
    }
    for ((_, inspected), entries) in index.inspections.iter() {
        if inspected != cell {
            continue;
        }
        for (date, _, stream, event_id) in entries {
            if let Some(Event::InspectionConducted(e)) = state.fact(stream, event_id).map(|f| &f.event) {
                let text = format!("{} · {}", lang.conclusion(e.conclusion.name()), e.findings);
                lines.push((date.to_string(), "inspected", text));
            }
        }
    }
    lines.sort();
    if lines.is_empty() {
        b.elem("p", &[("class", "empty")], lang.t(Key::NoneRecorded));
        return;
    }
    b.raw("<table id=\"decisions\"><tbody>");
    for (date, kind, text) in &lines {
        b.open("tr", &[("data-decision", kind)]);
        b.elem("td", &[("class", "date")], date);
        b.elem("td", &[], lang.status(kind));
        b.elem("td", &[], text);
        b.close("tr");
    }
    b.raw("</tbody></table>");
}
