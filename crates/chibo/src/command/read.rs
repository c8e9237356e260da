//! `chibo read`: a stream, the global order, or (with --follow) a live subscription, as JSON
//! lines.

use std::{io::Write, process::ExitCode};

use chibo_proto::v1 as pb;
use futures::StreamExt;

use crate::{
    cli::ReadArgs,
    command::{connect, refused},
    json,
};

pub async fn run(args: ReadArgs) -> anyhow::Result<ExitCode> {
    let ReadArgs { server, stream, from, after, limit, follow, raw } = args;
    let mut client = connect(&server).await?;
    let mut events = if let Some(stream) = stream {
        client.read_stream(pb::ReadStreamRequest { stream, from_revision: from, max_count: limit }).await
    } else if follow {
        client.subscribe(pb::SubscribeRequest { after_position: after }).await
    } else {
        client.read_all(pb::ReadAllRequest { after_position: after, max_count: limit }).await
    }
    .map_err(refused)?
    .into_inner();
    let stdout = std::io::stdout();
    while let Some(event) = events.next().await {
        let event = event.map_err(refused)?;
        let line = if raw { json::raw_event(&event) } else { json::recorded_event(&event) };
        let mut out = stdout.lock();
        writeln!(out, "{line}")?;
        out.flush()?;
    }
    Ok(ExitCode::SUCCESS)
}
