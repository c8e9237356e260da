//! `chibo verify`: checks a data directory offline, with no server: every chain and payload
//! digest, the Merkle log recomputed over every event against each checkpoint recorded in
//! `$checkpoints`, and, with `--state`, the log against the checkpoint the inspector accepted
//! before (docs/AUDIT.md, "The server's own data directory").

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use base64::{engine::general_purpose::STANDARD as BASE64, Engine};
use chibo::offline::Tally;
use chibo_integrity::log_audit::{LogAuditReport, StateProblem};
use chibo_integrity::{EnvelopeRef, NoteVerifier, RawEvent, Summary};
use serde_json::{json, Value};

use crate::accepted;
use crate::cli::VerifyArgs;

/// How many events each actor recorded, as the envelopes say.
#[derive(Default)]
struct Actors(BTreeMap<String, u64>);

impl Tally for Actors {
    fn see(&mut self, event: &RawEvent<'_>, envelope: Option<&EnvelopeRef<'_>>) {
        // A broken envelope is reported with its chain. The check decoded it already, unless
        // its stream broke before it.
        let decoded;
        let envelope = match envelope {
            Some(envelope) => Some(envelope),
            None => {
                decoded = EnvelopeRef::decode(event.envelope).ok();
                decoded.as_ref()
            }
        };
        let actor = envelope.map_or("(unreadable envelope)", |e| e.actor.as_ref());
        match self.0.get_mut(actor) {
            Some(count) => *count += 1,
            None => drop(self.0.insert(actor.to_owned(), 1)),
        }
    }

    fn then(&mut self, later: Self) {
        for (actor, count) in later.0 {
            *self.0.entry(actor).or_default() += count;
        }
    }
}

/// Where the key the checkpoints are checked with came from.
enum KeySource {
    /// `--key`: pinned by the inspector.
    Flag,
    /// The public key file inside the directory under check.
    DataDir(PathBuf),
    /// No key at all: the checkpoints are not checked.
    None,
}

/// The key, and where it came from.
struct Key {
    verifier: Option<NoteVerifier>,
    source: KeySource,
}

impl Key {
    /// `--key` if given; else `DATA/keys/checkpoint.pub` if it exists; else none.
    fn resolve(flag: Option<&str>, data: &Path) -> anyhow::Result<Key> {
        if let Some(arg) = flag {
            return Ok(Key { verifier: Some(accepted::key(arg)?), source: KeySource::Flag });
        }
        let file = data.join("keys").join("checkpoint.pub");
        let text = match std::fs::read_to_string(&file) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Key { verifier: None, source: KeySource::None })
            }
            Err(e) => return Err(e).with_context(|| format!("cannot read the log's public key {}", file.display())),
        };
        let verifier = NoteVerifier::parse(text.trim())
            .with_context(|| format!("{} does not hold a checkpoint verifier key", file.display()))?;
        Ok(Key { verifier: Some(verifier), source: KeySource::DataDir(file) })
    }

    /// What the key proves, in a sentence.
    fn note(&self, data: &Path) -> String {
        match &self.source {
            KeySource::Flag => "pinned with --key: the checkpoints are the key holder's signatures".to_owned(),
            KeySource::DataDir(file) => format!(
                "read from {}, inside the directory under check: this shows the log agrees with its own \
                 checkpoints, not that the server's key signed them; pin the key with --key for that",
                file.display()
            ),
            KeySource::None => format!(
                "no --key, and no keys/checkpoint.pub in {}: the checkpoints in $checkpoints were not checked",
                data.display()
            ),
        }
    }
}

/// What became of the state file.
enum StateOutcome {
    /// No `--state`.
    None,
    /// Replaced by (or created with) the latest checkpoint, of this size.
    Written(u64),
    /// Everything verified, but there was nothing newer to accept.
    Unchanged,
    /// Something failed: left exactly as it was.
    LeftAsItWas,
}

pub fn run(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let VerifyArgs { data, key, state, json } = args;
    // Before the key and the state file, whose errors would otherwise hide a wrong directory.
    let db = data.join(chibo_store_sqlite::schema::DB_FILE);
    if !db.is_file() {
        bail!("cannot verify {}: no chibo data there (expected {})", data.display(), db.display());
    }
    let key = Key::resolve(key.as_deref(), &data)?;
    let accepted = match (&state, &key.verifier) {
        (None, _) => None,
        (Some(path), Some(verifier)) => accepted::read(path, verifier)?,
        (Some(path), None) => bail!(
            "--state {}: the accepted checkpoint is checked with the log's key, and there is none: pass --key \
             (there is no keys/checkpoint.pub in {})",
            path.display(),
            data.display()
        ),
    };

    let checked = chibo::offline::check_dir::<Actors>(&data, key.verifier.clone(), accepted)
        .with_context(|| format!("cannot verify {}", data.display()))?;
    let (summary, report, Actors(actors)) = (checked.summary, checked.report, checked.tally);
    let intact = summary.is_intact() && report.is_intact();

    let outcome = match (&state, &report.latest) {
        (None, _) => StateOutcome::None,
        (Some(_), _) if !intact => StateOutcome::LeftAsItWas,
        (Some(path), Some(latest)) if report.latest_is_newer() => {
            accepted::write(path, &latest.note)?;
            StateOutcome::Written(latest.checkpoint.size)
        }
        (Some(_), _) => StateOutcome::Unchanged,
    };

    let findings = Findings {
        summary: &summary,
        report: &report,
        key: &key,
        data: &data,
        state: state.as_deref(),
        outcome: &outcome,
        intact,
        actors: &actors,
    };
    let out = if json { format!("{}\n", json_report(&findings)) } else { text_report(&findings)? };
    super::emit(&out)?;
    Ok(if intact { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn b64(hash: &[u8]) -> String {
    BASE64.encode(hash)
}

/// What a verification found, for its report.
struct Findings<'a> {
    summary: &'a Summary,
    report: &'a LogAuditReport,
    key: &'a Key,
    data: &'a Path,
    state: Option<&'a Path>,
    outcome: &'a StateOutcome,
    intact: bool,
    /// How many events each actor recorded, as their envelopes say.
    actors: &'a BTreeMap<String, u64>,
}

fn text_report(findings: &Findings<'_>) -> anyhow::Result<String> {
    let Findings { summary, report, key, data, state, outcome, intact, actors } = *findings;
    let mut out = String::new();
    let state_problems = report.state.as_ref().map_or(&[][..], |s| &s.problems[..]);
    if intact {
        writeln!(out, "ok: {} events in {} streams; every chain verifies", summary.events, summary.streams)?;
    } else {
        let problems = summary.breaks.len() + summary.gaps.len() + report.problems.len() + state_problems.len();
        writeln!(out, "BROKEN: {problems} problem(s) in {} events, {} streams", summary.events, summary.streams)?;
        for b in &summary.breaks {
            writeln!(out, "  {b}")?;
        }
        for g in &summary.gaps {
            writeln!(out, "  {g}")?;
        }
        for p in &report.problems {
            writeln!(out, "  {p}")?;
        }
        for p in state_problems {
            writeln!(out, "  {}: {p}", state.map_or_else(String::new, |s| s.display().to_string()))?;
        }
    }
    let recorded_by: Vec<String> = actors.iter().map(|(actor, n)| format!("{actor} {n}")).collect();
    writeln!(out, "recorded by: {}", recorded_by.join(", "))?;
    writeln!(out, "merkle: the tree of all {} events has root {}", report.size, b64(&report.root))?;
    match (&key.verifier, &report.latest) {
        (None, _) => writeln!(out, "checkpoints: {} recorded, not checked", report.recorded)?,
        (Some(_), None) if report.recorded == 0 => writeln!(out, "checkpoints: none recorded yet")?,
        (Some(_), latest) => {
            write!(
                out,
                "checkpoints: {} of {} in $checkpoints verify with the key and have the log's root at their size",
                report.verified, report.recorded
            )?;
            match latest {
                Some(l) => writeln!(
                    out,
                    "; the latest signs {} events (revision {}, position {})",
                    l.checkpoint.size, l.revision, l.position
                )?,
                None => writeln!(out)?,
            }
        }
    }
    match &key.verifier {
        Some(verifier) => writeln!(out, "key: {verifier}, {}", key.note(data))?,
        None => writeln!(out, "key: {}", key.note(data))?,
    }
    if let Some(path) = state {
        let path = path.display();
        let accepted = report.state.as_ref().map(|s| s.accepted.size);
        let before = match accepted {
            Some(size) => format!(": the checkpoint accepted before signs {size} events"),
            None => " did not exist: the first checkpoint that verifies is trusted on first use".to_owned(),
        };
        let after = match outcome {
            StateOutcome::Written(size) => format!("now holds the checkpoint of {size} events"),
            StateOutcome::Unchanged => "unchanged: nothing newer to accept".to_owned(),
            StateOutcome::LeftAsItWas | StateOutcome::None => "left as it was: the directory did not verify".to_owned(),
        };
        writeln!(out, "state: {path}{before}; {after}")?;
    }
    Ok(out)
}

fn json_report(findings: &Findings<'_>) -> Value {
    let Findings { summary, report, key, data, state, outcome, intact, actors } = *findings;
    let breaks: Vec<_> = summary
        .breaks
        .iter()
        .map(
            |b| json!({ "stream": b.stream, "revision": b.revision, "position": b.position, "problem": b.to_string() }),
        )
        .collect();
    let gaps: Vec<_> = summary
        .gaps
        .iter()
        .map(|g| json!({ "expected": g.expected, "found": g.found, "problem": g.to_string() }))
        .collect();
    let checkpoint_problems: Vec<_> = report
        .problems
        .iter()
        .map(|p| {
            json!({
                "stream": "$checkpoints",
                "revision": p.revision,
                "position": p.position,
                "kind": p.kind.name(),
                "size": p.kind.size(),
                "problem": p.to_string(),
            })
        })
        .collect();
    let latest = report.latest.as_ref().map(|l| {
        json!({
            "revision": l.revision,
            "position": l.position,
            "size": l.checkpoint.size,
            "root": b64(&l.checkpoint.root),
        })
    });
    let (source, file) = match &key.source {
        KeySource::Flag => (Some("--key"), None),
        KeySource::DataDir(file) => (Some("data directory"), Some(file.display().to_string())),
        KeySource::None => (None, None),
    };
    let state = state.map(|path| {
        let (accepted, problems) = match &report.state {
            Some(check) => {
                let accepted = json!({ "size": check.accepted.size, "root": b64(&check.accepted.root) });
                (Some(accepted), check.problems.iter().map(|p| state_problem(p, check.accepted.size)).collect())
            }
            None => (None, Vec::new()),
        };
        json!({
            "file": path.display().to_string(),
            "accepted": accepted,
            "problems": problems,
            "written": matches!(outcome, StateOutcome::Written(_)),
        })
    });
    json!({
        "intact": intact,
        "events": summary.events,
        "streams": summary.streams,
        "actors": actors,
        "breaks": breaks,
        "gaps": gaps,
        "merkle": { "size": report.size, "root": b64(&report.root) },
        "key": {
            "verifier": key.verifier.as_ref().map(ToString::to_string),
            "source": source,
            "file": file,
            "authenticates": matches!(key.source, KeySource::Flag),
            "note": key.note(data),
        },
        "checkpoints": {
            "checked": key.verifier.is_some(),
            "recorded": report.recorded,
            "verified": report.verified,
            "latest": latest,
            "problems": checkpoint_problems,
        },
        "state": state,
    })
}

/// A rollback or fork, with where it is: the accepted size, and the log's size or the recorded
/// checkpoint it concerns.
fn state_problem(problem: &StateProblem, accepted_size: u64) -> Value {
    let mut value = json!({ "kind": problem.kind(), "accepted_size": accepted_size, "problem": problem.to_string() });
    let checkpoint = match problem {
        StateProblem::LatestSmaller { latest: Some((revision, position, size)), .. }
        | StateProblem::ConflictingCheckpoint { revision, position, size, .. } => Some((revision, position, size)),
        _ => None,
    };
    if let Some((revision, position, size)) = checkpoint {
        value["stream"] = json!("$checkpoints");
        value["revision"] = json!(revision);
        value["position"] = json!(position);
        value["size"] = json!(size);
    }
    if let StateProblem::LogShorter { log_size, .. } = problem {
        value["log_size"] = json!(log_size);
    }
    value
}
