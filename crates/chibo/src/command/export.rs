//! `chibo audit export`: an audit bundle from a running server, written as it arrives.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{bail, Context};
use chibo_integrity::Checkpoint;
use chibo_proto::v1::{self as pb, audit_client::AuditClient};
use futures::StreamExt;

use crate::cli::ExportArgs;
use crate::command::{channel, emit, refused};

pub async fn run(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let ExportArgs { server, org, period, out, state } = args;
    let (from, to) = period.bounds();
    if from.is_empty() || to.is_empty() {
        bail!("a bundle covers a period: give --year, or --from and --to");
    }
    let since_size = match &state {
        Some(path) => accepted_size(path)?,
        None => 0,
    };
    let mut client = AuditClient::new(channel(&server).await?);
    let request = pb::ExportBundleRequest { org_id: org, from, to, since_size };
    let mut chunks = client.export_bundle(request).await.map_err(refused)?.into_inner();
    // To a file: a temporary one beside it, renamed once the whole bundle is in, so that a
    // failed export never leaves half a bundle under the name asked for.
    let (mut sink, tmp): (Box<dyn Write>, _) = match &out {
        Some(path) => {
            let tmp = path.with_extension("partial");
            let file = std::fs::File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
            (Box::new(std::io::BufWriter::new(file)), Some(tmp))
        }
        None => (Box::new(std::io::stdout().lock()), None),
    };
    let mut bytes = 0usize;
    while let Some(chunk) = chunks.next().await {
        let chunk = match chunk {
            Ok(chunk) => chunk,
            Err(status) => {
                drop(sink);
                if let Some(tmp) = &tmp {
                    drop(std::fs::remove_file(tmp));
                }
                return Err(refused(status));
            }
        };
        bytes += chunk.data.len();
        sink.write_all(&chunk.data)?;
    }
    sink.flush()?;
    drop(sink);
    if let (Some(path), Some(tmp)) = (&out, &tmp) {
        std::fs::File::open(tmp)?.sync_all()?;
        std::fs::rename(tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
        emit(&format!("wrote {} ({bytes} bytes)\n", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The tree size of the checkpoint in an inspector's state file. Only the size is needed here,
/// to ask for a consistency proof; `chibo audit verify` checks the signature.
fn accepted_size(path: &std::path::Path) -> anyhow::Result<u64> {
    let note = match std::fs::read_to_string(path) {
        Ok(note) => note,
        // No state yet: the inspector accepts the first bundle that verifies.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e).with_context(|| format!("cannot read the state file {}", path.display())),
    };
    let body = note.split_once("\n\n").map_or(note.as_str(), |(body, _)| body);
    let checkpoint = Checkpoint::parse(&format!("{body}\n"))
        .with_context(|| format!("the state file {} does not hold a checkpoint", path.display()))?;
    Ok(checkpoint.size)
}
