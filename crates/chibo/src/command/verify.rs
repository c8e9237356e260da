//! `chibo verify`: walks every chain of a data directory offline, with no server.

use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::Context;
use chibo_integrity::Verifier;

use crate::cli::VerifyArgs;

pub fn run(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let VerifyArgs { data, json } = args;
    let mut verifier = Verifier::new();
    chibo_store_sqlite::scan(&data, |event| {
        verifier.check(event);
    })
    .with_context(|| format!("cannot verify {}", data.display()))?;
    let summary = verifier.finish();
    let mut out = String::new();
    if json {
        let breaks: Vec<_> = summary
            .breaks
            .iter()
            .map(|b| {
                serde_json::json!({
                    "stream": b.stream,
                    "revision": b.revision,
                    "position": b.position,
                    "problem": b.to_string(),
                })
            })
            .collect();
        let gaps: Vec<_> = summary
            .gaps
            .iter()
            .map(|g| serde_json::json!({ "expected": g.expected, "found": g.found, "problem": g.to_string() }))
            .collect();
        let report = serde_json::json!({
            "intact": summary.is_intact(),
            "events": summary.events,
            "streams": summary.streams,
            "breaks": breaks,
            "gaps": gaps,
        });
        writeln!(out, "{report}")?;
    } else if summary.is_intact() {
        writeln!(out, "ok: {} events in {} streams; every chain verifies", summary.events, summary.streams)?;
    } else {
        writeln!(
            out,
            "BROKEN: {} problem(s) in {} events, {} streams",
            summary.breaks.len() + summary.gaps.len(),
            summary.events,
            summary.streams
        )?;
        for b in &summary.breaks {
            writeln!(out, "  {b}")?;
        }
        for g in &summary.gaps {
            writeln!(out, "  {g}")?;
        }
    }
    super::emit(&out)?;
    Ok(if summary.is_intact() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
