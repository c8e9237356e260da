//! `chibo standings` and `chibo evaluate`: tables for people, JSON for machines.

use std::fmt::{self, Write as _};
use std::process::ExitCode;

use anyhow::{bail, Context};
use chibo_proto::v1::{self as pb, evaluation_client::EvaluationClient, standings_client::StandingsClient};
use serde_json::Value;

use super::{channel, emit, refused};
use crate::cli::{EvaluateArgs, StandingsArgs, StandingsOf};

pub async fn standings(args: StandingsArgs) -> anyhow::Result<ExitCode> {
    let StandingsArgs { server, of, id, year, top, why, month, quarter, meeting, programme, json } = args;
    let mut client = StandingsClient::new(channel(&server).await?);
    if let Some(figure) = why {
        let subject = match of {
            StandingsOf::Member => pb::provenance_request::Subject::MemberId(id),
            StandingsOf::Cell => pb::provenance_request::Subject::CellId(id),
            StandingsOf::Committee => {
                bail!("--why explains a member's or a cell's figure; a committee's standing rolls up its cells'")
            }
        };
        let request = pb::ProvenanceRequest {
            subject: Some(subject),
            year,
            figure,
            month,
            quarter,
            meeting_id: meeting.unwrap_or_default(),
            programme_id: programme.unwrap_or_default(),
        };
        let response = client.provenance(request).await.map_err(refused)?.into_inner();
        if json {
            emit(&format!("{}\n", response.json))?;
            return Ok(ExitCode::SUCCESS);
        }
        let doc: Value =
            serde_json::from_str(&response.json).context("the server sent a provenance that is not JSON")?;
        let mut out = String::new();
        print_provenance(&mut out, &doc)?;
        writeln!(out, "(computed from the first {} events of the log)", response.log_size)?;
        emit(&out)?;
        return Ok(ExitCode::SUCCESS);
    }
    let response = match of {
        StandingsOf::Member => client.member_standing(pb::MemberStandingRequest { member_id: id, year }).await,
        StandingsOf::Cell => client.cell_standing(pb::CellStandingRequest { cell_id: id, year }).await,
        StandingsOf::Committee => {
            client.committee_standing(pb::CommitteeStandingRequest { org_id: id, year, top }).await
        }
    }
    .map_err(refused)?
    .into_inner();
    if json {
        emit(&format!("{}\n", response.json))?;
        return Ok(ExitCode::SUCCESS);
    }
    let doc: Value = serde_json::from_str(&response.json).context("the server sent a standing that is not JSON")?;
    let mut out = String::new();
    match of {
        StandingsOf::Member => print_member(&mut out, &doc),
        StandingsOf::Cell => print_cell(&mut out, &doc),
        StandingsOf::Committee => print_committee(&mut out, &doc),
    }?;
    writeln!(out, "(computed from the first {} events of the log)", response.log_size)?;
    emit(&out)?;
    Ok(ExitCode::SUCCESS)
}

/// A field for people: lists and maps spelled out ("1, 1, 0", "tot 15, kha 1"), empty ones as
/// "none".
fn n(doc: &Value, key: &str) -> String {
    match &doc[key] {
        Value::Array(items) if items.is_empty() => "none".to_owned(),
        Value::Array(items) => items.iter().map(n_value).collect::<Vec<_>>().join(", "),
        Value::Object(entries) if entries.is_empty() => "none".to_owned(),
        Value::Object(entries) => {
            entries.iter().map(|(k, v)| format!("{k} {}", n_value(v))).collect::<Vec<_>>().join(", ")
        }
        other => n_value(other),
    }
}

fn per_mille(doc: &Value, key: &str) -> String {
    let v = doc[key].as_u64().unwrap_or(0);
    format!("{}.{}%", v / 10, v % 10)
}

fn months(doc: &Value, key: &str) -> String {
    doc[key].as_array().map(|a| a.iter().map(|v| format!("{:>5}", n_value(v))).collect::<String>()).unwrap_or_default()
}

fn n_value(v: &Value) -> String {
    match v {
        Value::Null => "-".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

const MONTHS: &str = "    01   02   03   04   05   06   07   08   09   10   11   12";

fn print_member(out: &mut String, m: &Value) -> fmt::Result {
    writeln!(out, "member {} ({}) in cell {} — {}", n(m, "member_id"), n(m, "name"), n(m, "cell_id"), n(m, "year"))?;
    writeln!(out, "study points        {MONTHS}")?;
    writeln!(out, "  by month          {}", months(m, "points_by_month"))?;
    writeln!(out, "  year / cumulative {} / {}", n(m, "points_year"), n(m, "points_cumulative"))?;
    writeln!(
        out,
        "  monthly minimum   {} (months under it: {})",
        n(m, "monthly_minimum"),
        n(m, "months_under_minimum")
    )?;
    writeln!(out, "meetings attended   {} of {}", n(m, "meetings_present"), n(m, "meetings_expected"))?;
    writeln!(
        out,
        "  excused / unexcused {} / {} (removal flag: {})",
        n(m, "excused"),
        n(m, "unexcused"),
        n(m, "removal_flag")
    )?;
    writeln!(out, "spoke               {}", n(m, "times_spoke"))?;
    writeln!(out, "commended           {}", n(m, "commendations"))?;
    writeln!(out, "reminded / criticised {} / {}", n(m, "reminders"), n(m, "criticisms"))?;
    writeln!(
        out,
        "tasks done / assigned / late {} / {} / {}",
        n(m, "tasks_done"),
        n(m, "tasks_assigned"),
        n(m, "tasks_late")
    )?;
    Ok(())
}

fn print_cell(out: &mut String, c: &Value) -> fmt::Result {
    writeln!(out, "cell {} ({}) — {} — rules {}", n(c, "cell_id"), n(c, "name"), n(c, "year"), n(c, "meeting_rules"))?;
    writeln!(out, "members at year end {}", n(c, "members"))?;
    writeln!(out, "regular meetings    {MONTHS}")?;
    writeln!(out, "  by month          {}", months(c, "regular_by_month"))?;
    writeln!(
        out,
        "  held / expected   {} / {} (months missing: {})",
        n(c, "regular_held"),
        n(c, "regular_expected"),
        n(c, "months_missing")
    )?;
    writeln!(
        out,
        "thematic by quarter {} (held {} of {})",
        n(c, "thematic_by_quarter"),
        n(c, "thematic_held"),
        n(c, "thematic_expected")
    )?;
    writeln!(out, "every meeting held  {}", n(c, "every_meeting_held"))?;
    writeln!(
        out,
        "attendance          {} ({} of {})",
        per_mille(c, "attendance_permille"),
        n(c, "attendance_present"),
        n(c, "attendance_expected")
    )?;
    writeln!(out, "meeting score bands {}", n(c, "bands"))?;
    writeln!(out, "members meeting the points minimum every month {}", per_mille(c, "points_compliance_permille"))?;
    for p in c["programmes"].as_array().into_iter().flatten() {
        writeln!(
            out,
            "programme {} — {} (latest score {}, threshold {})",
            n(p, "programme_id"),
            n(p, "status"),
            n(p, "latest_score"),
            n(p, "threshold")
        )?;
        writeln!(out, "  indicator score   {}", months(p, "indicator_by_month"))?;
    }
    writeln!(out, "{:<24} {:>8} {:>9} {:>6} {:>6} {:>8}", "member", "points", "attended", "spoke", "tasks", "late")?;
    for m in c["member_standings"].as_array().into_iter().flatten() {
        writeln!(
            out,
            "{:<24} {:>8} {:>5}/{:<3} {:>6} {:>6} {:>8}",
            n(m, "member_id"),
            n(m, "points_year"),
            n(m, "meetings_present"),
            n(m, "meetings_expected"),
            n(m, "times_spoke"),
            n(m, "tasks_assigned"),
            n(m, "tasks_late")
        )?;
    }
    Ok(())
}

fn print_committee(out: &mut String, c: &Value) -> fmt::Result {
    writeln!(out, "committee {} ({}) — {}", n(c, "org_id"), n(c, "name"), n(c, "year"))?;
    writeln!(out, "cells {}   members {}", n(c, "cells"), n(c, "members"))?;
    writeln!(out, "cells holding every meeting {}", n(c, "cells_every_meeting_held"))?;
    writeln!(
        out,
        "attendance {}   member-months meeting the points minimum {}",
        per_mille(c, "attendance_permille"),
        per_mille(c, "points_compliance_permille")
    )?;
    writeln!(out, "programme status {}", n(c, "programme_status"))?;
    writeln!(out, "cells by programme score:")?;
    for l in c["cell_leaderboard"].as_array().into_iter().flatten() {
        writeln!(out, "  {:>3}. {:<32} {:>5}", n(l, "rank"), n(l, "name"), n(l, "value"))?;
    }
    writeln!(out, "members by study points this year:")?;
    for l in c["member_leaderboard"].as_array().into_iter().flatten() {
        writeln!(out, "  {:>3}. {:<32} {:>7}  ({})", n(l, "rank"), n(l, "name"), n(l, "value"), n(l, "cell_id"))?;
    }
    Ok(())
}

/// A figure's provenance: the figure, a table of the events (position, when, type, what each
/// added or why it added nothing), and the total.
fn print_provenance(out: &mut String, p: &Value) -> fmt::Result {
    let whose = match &p["member_id"] {
        Value::String(member) => format!("member {member} (cell {})", n(p, "cell_id")),
        _ => format!("cell {}", n(p, "cell_id")),
    };
    let mut selectors = String::new();
    for (key, label) in
        [("month", "month"), ("quarter", "quarter"), ("meeting_id", "meeting"), ("programme_id", "programme")]
    {
        if !p[key].is_null() {
            write!(selectors, ", {label} {}", n(p, key))?;
        }
    }
    let value = if p["value"].is_null() { "none".to_owned() } else { n(p, "value") };
    writeln!(out, "{} of {whose} in {}{selectors}: {value}", n(p, "figure"), n(p, "year"))?;
    let ratio = p["rule"] == "ratio";
    writeln!(out, "{:>9}  {:<24} {:<20} {:>9}  contribution", "position", "occurred at", "type", "counts")?;
    for e in p["events"].as_array().into_iter().flatten() {
        let (counts, said) = if e["counted"] == true {
            let amount = if ratio { format!("{}/{}", n(e, "amount"), n(e, "out_of")) } else { n(e, "amount") };
            (amount, n(e, "contribution"))
        } else {
            ("-".to_owned(), format!("not counted: {}", n(e, "reason")))
        };
        writeln!(
            out,
            "{:>9}  {:<24} {:<20} {:>9}  {said}",
            n(e, "position"),
            n(e, "occurred_at"),
            n(e, "event_type"),
            counts
        )?;
    }
    match p["rule"].as_str() {
        Some("ratio") => {
            writeln!(out, "total {} of {}, × {} = {value}", n(p, "counted"), n(p, "out_of"), n(p, "scale"))
        }
        Some("single") => writeln!(out, "total {value} (the one event counted)"),
        _ => writeln!(out, "total {} (the sum of what the counted events add)", n(p, "counted")),
    }
}

pub async fn evaluate(args: EvaluateArgs) -> anyhow::Result<ExitCode> {
    let EvaluateArgs { server, org, year, rule_set, log_size, out: report_file, json } = args;
    let Some((name, version)) = rule_set.split_once('@') else {
        bail!("--rule-set {rule_set:?} is not name@version (e.g. vn-qd366-2025@1)");
    };
    let version: u32 =
        version.parse().with_context(|| format!("--rule-set {rule_set:?}: the version is not a number"))?;
    let mut client = EvaluationClient::new(channel(&server).await?);
    let rule_set = pb::RuleSetRef { name: name.to_owned(), version };
    let response = client
        .evaluate(pb::EvaluateRequest { org_id: org, year, rule_set: Some(rule_set), log_size })
        .await
        .map_err(refused)?
        .into_inner();
    if let Some(path) = &report_file {
        std::fs::write(path, &response.report).with_context(|| format!("cannot write {}", path.display()))?;
    }
    if json {
        emit(&format!("{}\n", String::from_utf8_lossy(&response.report)))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = String::new();
    let digest: String = response.digest.iter().map(|b| format!("{b:02x}")).collect();
    let doc: Value = serde_json::from_slice(&response.report).context("the report is not JSON")?;
    writeln!(out, "evaluation of {} ({}) for {}", n(&doc, "org_id"), n(&doc, "org_name"), n(&doc, "year"))?;
    writeln!(out, "rule set   {name}@{version}")?;
    writeln!(out, "log size   {}", response.log_size)?;
    writeln!(out, "digest     {digest}")?;
    writeln!(
        out,
        "{:<12} {:>10} {:>6} {:>10} {:>14} {:>15}",
        "", "excellent", "good", "completed", "not completed", "not classified"
    )?;
    for who in ["cells", "members"] {
        let s = &doc["summary"][who];
        writeln!(
            out,
            "{:<12} {:>10} {:>6} {:>10} {:>14} {:>15}",
            who,
            n(s, "excellent"),
            n(s, "good"),
            n(s, "completed"),
            n(s, "not_completed"),
            n(s, "not_classified")
        )?;
    }
    emit(&out)?;
    Ok(ExitCode::SUCCESS)
}
