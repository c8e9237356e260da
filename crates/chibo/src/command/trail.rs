//! `chibo audit trail`: the record of a cell, a committee or a member, event by event, with
//! whether each is proven in the latest checkpoint and corrections beside what they correct.

use std::fmt::Write as _;
use std::process::ExitCode;

use chibo_proto::v1::{self as pb, audit_client::AuditClient, trail_item::Item};
use futures::StreamExt;

use crate::cli::TrailArgs;
use crate::command::{channel, emit, refused};

pub async fn run(args: TrailArgs) -> anyhow::Result<ExitCode> {
    let TrailArgs { server, org, member, period, json } = args;
    let (from, to) = period.bounds();
    let mut client = AuditClient::new(channel(&server).await?);
    let request =
        pb::AuditTrailRequest { org_id: org.unwrap_or_default(), member_id: member.unwrap_or_default(), from, to };
    let mut items = client.audit_trail(request).await.map_err(refused)?.into_inner();
    let mut checkpoint_seen = false;
    while let Some(item) = items.next().await {
        let item = item.map_err(refused)?;
        if json {
            emit(&format!("{}\n", serde_json::to_string(&item)?))?;
            continue;
        }
        let mut line = String::new();
        match item.item {
            Some(Item::Checkpoint(c)) => {
                checkpoint_seen = true;
                writeln!(line, "checkpoint {} of {} events, signed by {}", c.origin, c.size, c.verifier_key)?;
            }
            Some(Item::Event(e)) => {
                if !checkpoint_seen {
                    checkpoint_seen = true;
                    writeln!(line, "no checkpoint is signed yet: nothing below is proven")?;
                }
                let indent = if e.corrects.is_empty() { "" } else { "  ↳ " };
                let date = e.occurred_at.as_ref().map(|t| date(t.seconds)).unwrap_or_default();
                let position = e.recorded.as_ref().map_or(0, |r| r.position);
                let proof = if e.proven { "proven" } else { "not yet in a checkpoint" };
                write!(
                    line,
                    "{indent}{date}  {} #{:<4} {:<22} by {:<16} @{position} {proof}",
                    e.stream, e.revision, e.event_type, e.actor
                )?;
                if !e.corrected_by.is_empty() {
                    write!(line, "  (corrected by {})", e.corrected_by.join(", "))?;
                }
                line.push('\n');
            }
            None => {}
        }
        emit(&line)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `YYYY-MM-DD` (UTC) of a time in seconds since the epoch.
fn date(seconds: i64) -> String {
    chibo_domain::Date::from_days_since_epoch(seconds.div_euclid(86_400)).map(|d| d.to_string()).unwrap_or_default()
}
