//! `chibo submit`: one event (a JSON object) or a batch (a JSON array) to one stream.

use std::{io::Read, process::ExitCode};

use anyhow::{bail, Context};
use chibo_proto::v1 as pb;

use crate::{
    cli::SubmitArgs,
    command::{connect, refused, submit_batch},
    json,
};

fn expected(text: &str) -> anyhow::Result<pb::ExpectedRevision> {
    use pb::expected_revision::Kind;
    let kind = match text {
        "any" => Kind::Any(pb::Empty {}),
        "no-stream" => Kind::NoStream(pb::Empty {}),
        n => {
            Kind::Exact(n.parse().with_context(|| format!("--expected {n:?} is not `any`, `no-stream` or a revision"))?)
        }
    };
    Ok(pb::ExpectedRevision { kind: Some(kind) })
}

pub async fn run(args: SubmitArgs) -> anyhow::Result<ExitCode> {
    let SubmitArgs { server, stream, expected: expected_text, file } = args;
    let expected_revision = Some(expected(&expected_text)?);
    let text = if file == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).context("cannot read the submission from stdin")?;
        text
    } else {
        std::fs::read_to_string(&file).with_context(|| format!("cannot read {file}"))?
    };
    let value: serde_json::Value = serde_json::from_str(&text).context("the input is not JSON")?;
    let mut client = connect(&server).await?;
    let receipts = match value {
        serde_json::Value::Array(items) => {
            let events = items
                .into_iter()
                .enumerate()
                .map(|(i, item)| json::submission(item).with_context(|| format!("events[{i}]")))
                .collect::<anyhow::Result<Vec<_>>>()?;
            submit_batch(&mut client, stream, expected_revision, events).await?
        }
        item @ serde_json::Value::Object(_) => {
            let event = json::submission(item).context("event")?;
            let response = client
                .submit(pb::SubmitRequest { stream, expected_revision, event: Some(event) })
                .await
                .map_err(refused)?;
            response.into_inner().receipt.into_iter().collect()
        }
        _ => bail!("the input must be a JSON object (one submission) or an array (a batch)"),
    };
    let lines: String = receipts.iter().map(|r| format!("{}\n", json::receipt(r))).collect();
    super::emit(&lines)?;
    Ok(ExitCode::SUCCESS)
}
