//! `chibo demo`: builds the demo province (see `chibo::demo`) on a running server, one batch
//! at a time in the plan's order, with a progress line on stderr and a summary on stdout.

use std::{
    fmt::Write as _,
    io::{IsTerminal, Write},
    process::ExitCode,
    time::{Duration, Instant},
};

use anyhow::{bail, Context};
use chibo_integrity::Envelope;
use chibo_proto::v1::{self as pb, keys_client::KeysClient, ledger_client::LedgerClient};

use crate::{
    cli::DemoArgs,
    cli::ServerArg,
    command::{channel, connect, refused, submit_batch},
    endpoint::Connection,
};
use chibo::demo::{self, calendar::Day, Batch, Plan, Settings};

/// The first year the demo builds: its organizations are recorded 36 years earlier.
const FIRST_YEAR: i32 = 2000;

pub async fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let DemoArgs { server, seed, cells, year } = args;
    let started = Instant::now();
    let today = Day::today_in_vietnam();
    let last_complete = today.year() - 1;
    let year = year.unwrap_or(last_complete);
    if year > last_complete {
        let (y, m, d) = today.parts();
        bail!(
            "--year {year} is not over (today is {y:04}-{m:02}-{d:02} in Vietnam): the demo records a whole year, so \
             the latest it can build is {last_complete}"
        );
    }
    if year < FIRST_YEAR {
        bail!("--year {year} is too early: the demo builds years from {FIRST_YEAR} to {last_complete}");
    }
    let settings = Settings { seed, cells: cells as usize, year };

    let mut admin = connect(&server).await?;
    let plan = demo::build(&settings).context("cannot build the demo province")?;
    check_not_another_province(&mut admin, &plan).await?;
    let events = plan.events();
    let complete = is_recorded(&mut admin, &plan).await?;
    let Plan { batches, committees, cells, members } = plan;
    let mut new = 0;
    if !complete {
        // The admin registers the tree; the rest is a committee's to write, with a credential
        // the admin issues for this run.
        let mut committee = LedgerClient::new(committee_connection(&server).await?);
        let mut progress = Progress::new(events);
        // One batch at a time, in the plan's order: the log's global order is then the same on
        // every run with these settings, and every batch finds what it depends on recorded.
        for Batch { stream, events: batch, .. } in batches {
            let count = batch.len();
            for (by_admin, run) in by_writer(batch) {
                let client = if by_admin { &mut admin } else { &mut committee };
                let receipts = submit_batch(client, stream.clone(), Some(any()), run)
                    .await
                    .with_context(|| format!("submitting {count} events to {stream}"))?;
                new += receipts.iter().filter(|r| !r.duplicate).count();
                progress.advance(receipts.len(), &stream);
            }
        }
        progress.finish();
    }

    let mut out = String::new();
    writeln!(out, "chibo demo: the province {} for {year}, seed {seed}", demo::PROVINCE)?;
    writeln!(out, "  organizations  {committees} committees, {cells} cells")?;
    writeln!(out, "  members        {}", thousands(members))?;
    writeln!(
        out,
        "  events         {} ({} new, {} already recorded)",
        thousands(events),
        thousands(new),
        thousands(events - new)
    )?;
    writeln!(out, "  elapsed        {:.1} s", started.elapsed().as_secs_f64())?;
    super::emit(&out)?;
    Ok(ExitCode::SUCCESS)
}

/// Whether the plan's last event is recorded where the plan puts it: then so is all of it, as
/// it is written in order and a stream refuses gaps.
async fn is_recorded(client: &mut LedgerClient<Connection>, plan: &Plan) -> anyhow::Result<bool> {
    let last = plan.batches.last().context("the plan is empty")?;
    let event = last.events.last().context("the plan has an empty batch")?;
    let revision =
        plan.batches.iter().filter(|b| b.stream == last.stream).map(|b| b.events.len() as u64).sum::<u64>() - 1;
    let request = pb::ReadStreamRequest { stream: last.stream.clone(), from_revision: revision, max_count: 1 };
    let mut events = client.read_stream(request).await.map_err(refused)?.into_inner();
    let Some(recorded) = events.message().await.map_err(refused)? else { return Ok(false) };
    let envelope = Envelope::decode(&recorded.envelope).context("the server sent an undecodable envelope")?;
    Ok(envelope.event_id.to_string() == event.event_id)
}

/// A connection calling with a fresh committee credential over the whole tree, issued by the
/// admin the command runs as.
async fn committee_connection(server: &ServerArg) -> anyhow::Result<Connection> {
    let mut keys = KeysClient::new(channel(server).await?);
    let mut suffix = [0u8; 4];
    getrandom::getrandom(&mut suffix).context("no randomness for a credential id")?;
    let id = format!("demo-{}", suffix.iter().map(|b| format!("{b:02x}")).collect::<String>());
    let request = pb::IssueRequest {
        credential_id: id.clone(),
        principal: "chibo demo".to_owned(),
        role: pb::Role::Committee.into(),
        scope_org_id: String::new(),
        member_id: String::new(),
        certificate: Vec::new(),
    };
    let issued = keys.issue(request).await.map_err(|status| {
        refused(status)
            .context("the demo runs as an admin, to register the tree and issue itself a committee credential")
    })?;
    let token = issued.into_inner().token;
    eprintln!("chibo demo: writing as the committee credential {id} (revoke it with `chibo keys revoke {id}`)");
    let with_token = ServerArg { token: Some(token), ..server.clone() };
    channel(&with_token).await
}

/// A batch cut into runs by who may write them: `true` for the admin's (the tree's
/// registrations), `false` for the committee's.
fn by_writer(batch: Vec<pb::EventSubmission>) -> Vec<(bool, Vec<pb::EventSubmission>)> {
    let mut runs: Vec<(bool, Vec<pb::EventSubmission>)> = Vec::new();
    for submission in batch {
        let by_admin = matches!(
            submission.event.as_ref().and_then(|e| e.kind.as_ref()),
            Some(pb::event::Kind::OrganizationRegistered(_))
        );
        match runs.last_mut() {
            Some((admin, run)) if *admin == by_admin => run.push(submission),
            _ => runs.push((by_admin, vec![submission])),
        }
    }
    runs
}

fn any() -> pb::ExpectedRevision {
    pb::ExpectedRevision { kind: Some(pb::expected_revision::Kind::Any(pb::Empty {})) }
}

/// Refuses to write into a server that holds a demo province built with other settings: its
/// events would clash with ours (the same organizations and members, other event ids).
async fn check_not_another_province(client: &mut LedgerClient<Connection>, plan: &Plan) -> anyhow::Result<()> {
    let first = plan.batches.first().context("the plan is empty")?;
    let request = pb::ReadStreamRequest { stream: first.stream.clone(), from_revision: 0, max_count: 1 };
    let mut events = client.read_stream(request).await.map_err(refused)?.into_inner();
    let Some(recorded) = events.message().await.map_err(refused)? else { return Ok(()) };
    let envelope = Envelope::decode(&recorded.envelope).context("the server sent an undecodable envelope")?;
    if envelope.event_id.to_string() != first.events[0].event_id {
        bail!(
            "the server already holds {} from another demo run (another --seed, --cells or --year) or from real \
             use; start the server on a fresh data directory to build this one",
            first.stream
        );
    }
    Ok(())
}

/// The progress line: redrawn in place on a terminal, a few plain lines otherwise.
struct Progress {
    total: usize,
    done: usize,
    terminal: bool,
    drawn: Option<Instant>,
    /// The next quarter (1 to 4) to report in plain mode.
    next_quarter: usize,
}

impl Progress {
    fn new(total: usize) -> Progress {
        Progress { total, done: 0, terminal: std::io::stderr().is_terminal(), drawn: None, next_quarter: 1 }
    }

    fn advance(&mut self, events: usize, label: &str) {
        self.done += events;
        let mut err = std::io::stderr().lock();
        if self.terminal {
            if self.drawn.is_some_and(|at| at.elapsed() < Duration::from_millis(100)) {
                return;
            }
            self.drawn = Some(Instant::now());
            let width = 30;
            let filled = self.done * width / self.total.max(1);
            let _ = write!(
                err,
                "\r[{}{}] {:>3}% {} of {} events  {label:<40}",
                "#".repeat(filled),
                "-".repeat(width - filled),
                self.done * 100 / self.total.max(1),
                thousands(self.done),
                thousands(self.total),
            );
            let _ = err.flush();
        } else {
            while self.next_quarter <= 4 && self.done * 4 >= self.next_quarter * self.total {
                let _ = writeln!(
                    err,
                    "chibo demo: {}% ({} of {} events, {label})",
                    self.next_quarter * 25,
                    thousands(self.done),
                    thousands(self.total)
                );
                self.next_quarter += 1;
            }
        }
    }

    fn finish(&mut self) {
        if self.terminal {
            self.drawn = None;
            self.advance(0, "done");
            let _ = writeln!(std::io::stderr());
        }
    }
}

/// 171234 → "171,234".
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::thousands;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(171_234), "171,234");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
