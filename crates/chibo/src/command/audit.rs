//! `chibo audit verify`: checks an audit bundle offline, with no server, as docs/AUDIT.md
//! specifies, and keeps the inspector's state file: the last checkpoint they accepted.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use base64::{engine::general_purpose::STANDARD as BASE64, Engine as _};
use chibo_domain::{Date, EventId, EventType, Timestamp};
use chibo_integrity::bundle::{self, Location, ReadEvent, Report};
use chibo_integrity::{Accepted, Checkpoint};
use chibo_proto::{convert, v1 as pb};
use pb::event::Kind;
use serde_json::{json, Value};

use super::emit;
use crate::accepted;
use crate::cli::AuditVerifyArgs;

/// What became of the state file.
struct State<'a> {
    path: &'a Path,
    /// The checkpoint it held before.
    before: Option<Checkpoint>,
    /// Whether the bundle's checkpoint was written to it.
    written: bool,
}

pub fn verify(args: AuditVerifyArgs) -> anyhow::Result<ExitCode> {
    let AuditVerifyArgs { bundle, key, state, json } = args;
    let key = accepted::key(&key)?;
    let document = std::fs::read(&bundle).with_context(|| format!("cannot read the bundle {}", bundle.display()))?;
    let before = match &state {
        Some(path) => accepted::read(path, &key)?,
        None => None,
    };
    let report = bundle::verify(&document, &key, before.as_ref());

    // The state moves only forward, and only after everything verified: a failure leaves the
    // file exactly as it was.
    let mut write_error = None;
    let state = state.as_deref().map(|path| {
        let newer = before.is_none() || report.accepted == Some(Accepted::Extends);
        let written = match &report.checkpoint {
            Some(signed) if report.is_verified() && newer => match accepted::write(path, &signed.note) {
                Ok(()) => true,
                Err(e) => {
                    write_error = Some(e);
                    false
                }
            },
            _ => false,
        };
        State { path, before, written }
    });

    let corrections = corrections(&report);
    let out = if json {
        format!("{}\n", json_report(&report, &corrections, state.as_ref()))
    } else {
        text_report(&report, &corrections, state.as_ref())?
    };
    emit(&out)?;
    if let Some(e) = write_error {
        return Err(e);
    }
    Ok(if report.is_verified() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// An `EventCorrected` or `EventRetracted` of the bundle, read beside the event it targets.
struct Correction<'a> {
    stream: &'a str,
    event: &'a ReadEvent,
    /// The target's id, the reason and (for a correction) the replacement; or why the payload
    /// could not be read.
    payload: Result<(String, String, Option<Box<pb::Event>>), String>,
    /// The targeted event, when the bundle holds it.
    target: Option<&'a ReadEvent>,
}

fn corrections(report: &Report) -> Vec<Correction<'_>> {
    let by_id: HashMap<(&str, EventId), &ReadEvent> = report
        .streams
        .iter()
        .flat_map(|s| s.read.iter().map(move |e| ((s.stream.as_str(), e.envelope.event_id), e)))
        .collect();
    let mut corrections = Vec::new();
    for stream in &report.streams {
        for event in &stream.read {
            let event_type = event.envelope.event_type.as_str();
            if event_type != EventType::EventCorrected.name() && event_type != EventType::EventRetracted.name() {
                continue;
            }
            let payload = match &event.payload {
                None => Err("the payload is redacted".to_owned()),
                Some(bytes) => match convert::decode_payload(event_type, bytes).map(|e| e.kind) {
                    Ok(Some(Kind::EventCorrected(m))) => Ok((m.target_event_id, m.reason, m.replacement)),
                    Ok(Some(Kind::EventRetracted(m))) => Ok((m.target_event_id, m.reason, None)),
                    Ok(_) => Err("the payload is not of its type".to_owned()),
                    Err(e) => Err(e.to_string()),
                },
            };
            let target = payload
                .as_ref()
                .ok()
                .and_then(|(id, _, _)| EventId::parse("target_event_id", id).ok())
                .and_then(|id| by_id.get(&(stream.stream.as_str(), id)).copied());
            corrections.push(Correction { stream: &stream.stream, event, payload, target });
        }
    }
    corrections
}

/// The calendar date of an instant in UTC, as the bundle's period is counted.
fn utc_date(t: Timestamp) -> String {
    Date::from_days_since_epoch(t.seconds().div_euclid(86_400)).map_or_else(|| "?".to_owned(), |d| d.to_string())
}

/// An event's payload as JSON (the protobuf JSON mapping), or why it cannot be shown.
fn payload_json(event: &ReadEvent) -> Value {
    let Some(bytes) = &event.payload else { return json!({ "redacted": true }) };
    match convert::decode_payload(&event.envelope.event_type, bytes) {
        Ok(event) => serde_json::to_value(&event).unwrap_or(Value::Null),
        Err(e) => json!({ "error": e.to_string() }),
    }
}

fn text_report(report: &Report, corrections: &[Correction<'_>], state: Option<&State<'_>>) -> anyhow::Result<String> {
    let mut out = String::new();
    if report.is_verified() {
        writeln!(out, "VERIFIED")?;
    } else {
        writeln!(out, "NOT VERIFIED: {} problem(s)", report.problems.len())?;
    }
    if let Some(s) = &report.subject {
        writeln!(out, "subject     {} {}, {} to {}", s.kind, s.org, s.from, s.to)?;
    }
    if let Some(signed) = &report.checkpoint {
        let cp = &signed.checkpoint;
        writeln!(out, "checkpoint  {}, tree size {}, root {}", cp.origin, cp.size, BASE64.encode(cp.root))?;
    }
    if !report.streams.is_empty() {
        writeln!(out, "streams")?;
        let width = report.streams.iter().map(|s| s.stream.len()).max().unwrap_or(0);
        for s in &report.streams {
            let revisions = match (s.first, s.last) {
                (Some(first), Some(last)) if first == last => format!("revision {first}"),
                (Some(first), Some(last)) => format!("revisions {first} to {last}"),
                _ => "no readable revision".to_owned(),
            };
            write!(out, "  {:<width$}  {revisions}, {} event(s), {} in the period", s.stream, s.events, s.in_period)?;
            if s.redacted > 0 {
                write!(out, ", {} redacted", s.redacted)?;
            }
            writeln!(out)?;
        }
    }
    if !corrections.is_empty() {
        writeln!(out, "corrections")?;
        for c in corrections {
            let e = c.event;
            let at = format!("{} revision {} (position {})", c.stream, e.envelope.revision, e.position);
            match &c.payload {
                Err(why) => writeln!(out, "  {at}: {}: {why}", e.envelope.event_type)?,
                Ok((target_id, reason, replacement)) => {
                    writeln!(out, "  {at}: {} {reason:?}", e.envelope.event_type)?;
                    match c.target {
                        Some(t) => writeln!(
                            out,
                            "    of revision {} (position {}), {}, occurred {}: {}",
                            t.envelope.revision,
                            t.position,
                            t.envelope.event_type,
                            utc_date(t.envelope.occurred_at),
                            payload_json(t)
                        )?,
                        None => writeln!(out, "    of event {target_id}, which the bundle does not hold")?,
                    }
                    if let Some(replacement) = replacement {
                        writeln!(out, "    replaced by: {}", serde_json::to_value(replacement).unwrap_or(Value::Null))?;
                    }
                }
            }
        }
    }
    if !report.problems.is_empty() {
        writeln!(out, "problems")?;
        for p in &report.problems {
            writeln!(out, "  {p}")?;
        }
    }
    if let Some(state) = state {
        let before = match &state.before {
            Some(cp) => format!("accepted tree size {}", cp.size),
            None => "did not exist".to_owned(),
        };
        let after = match (&report.checkpoint, state.written) {
            (Some(signed), true) => format!("now tree size {} (written)", signed.checkpoint.size),
            _ => "left as it was".to_owned(),
        };
        writeln!(out, "state       {}: {before}; {after}", state.path.display())?;
    }
    Ok(out)
}

fn json_report(report: &Report, corrections: &[Correction<'_>], state: Option<&State<'_>>) -> Value {
    let checkpoint = |cp: &Checkpoint| json!({ "origin": cp.origin, "size": cp.size, "root": BASE64.encode(cp.root) });
    let streams: Vec<Value> = report
        .streams
        .iter()
        .map(|s| {
            json!({
                "stream": s.stream,
                "first": s.first,
                "last": s.last,
                "events": s.events,
                "in_period": s.in_period,
                "redacted": s.redacted,
            })
        })
        .collect();
    let corrections: Vec<Value> = corrections
        .iter()
        .map(|c| {
            let e = c.event;
            let mut entry = json!({
                "stream": c.stream,
                "revision": e.envelope.revision,
                "position": e.position,
                "event_type": e.envelope.event_type,
            });
            match &c.payload {
                Err(why) => entry["error"] = json!(why),
                Ok((target_id, reason, replacement)) => {
                    entry["target_event_id"] = json!(target_id);
                    entry["reason"] = json!(reason);
                    entry["replacement"] =
                        replacement.as_ref().and_then(|r| serde_json::to_value(r).ok()).unwrap_or(Value::Null);
                }
            }
            entry["target"] = c.target.map_or(Value::Null, |t| {
                json!({
                    "revision": t.envelope.revision,
                    "position": t.position,
                    "event_type": t.envelope.event_type,
                    "occurred_on": utc_date(t.envelope.occurred_at),
                    "event": payload_json(t),
                })
            });
            entry
        })
        .collect();
    let problems: Vec<Value> = report
        .problems
        .iter()
        .map(|p| json!({ "location": location(&p.location), "at": p.location.to_string(), "problem": p.kind.to_string() }))
        .collect();
    json!({
        "verified": report.is_verified(),
        "subject": report.subject.as_ref().map(|s| json!({ "kind": s.kind, "org": s.org, "from": s.from, "to": s.to })),
        "checkpoint": report.checkpoint.as_ref().map(|signed| checkpoint(&signed.checkpoint)),
        "streams": streams,
        "corrections": corrections,
        "problems": problems,
        "state": state.map(|s| json!({
            "path": s.path.display().to_string(),
            "accepted_before": s.before.as_ref().map(checkpoint),
            "written": s.written,
        })),
    })
}

/// A problem's location as JSON: its `kind`, and the fields that say where.
fn location(location: &Location) -> Value {
    match location {
        Location::Document => json!({ "kind": "bundle" }),
        Location::Checkpoint => json!({ "kind": "checkpoint" }),
        Location::Manifest { line } => json!({ "kind": "manifest", "line": line }),
        Location::Stream { stream } => json!({ "kind": "stream", "stream": stream }),
        Location::Event { stream, revision, position } => {
            json!({ "kind": "event", "stream": stream, "revision": revision, "position": position })
        }
        Location::Consistency { size } => json!({ "kind": "consistency", "size": size }),
        Location::State => json!({ "kind": "state" }),
    }
}
