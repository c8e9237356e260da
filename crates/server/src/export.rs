//! Audit bundles (`chibo-bundle-v1`, docs/AUDIT.md): a cell's or a committee's streams for a
//! period, each event with its inclusion proof in a checkpoint signed for the export, and a
//! manifest signed by the same key naming every stream and range, so that nothing can be left
//! out afterwards unnoticed.
//!
//! The document goes out in chunks, one stream at a time; the manifest, which needs every
//! stream's range, comes last (JSON fields have no order).

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use chibo_domain::StreamName;
use chibo_integrity::bundle::{self, BundleEvent, BundleStream, ConsistencyFrom, Manifest, StreamRange, Subject};
use chibo_integrity::Envelope;
use chibo_proto::v1 as pb;
use chibo_store::StoredEvent;
use chibo_tlog::MerkleLog;
use tokio::sync::mpsc;
use tonic::Status;

use chibo_projections::access::Action;

use crate::audit::{org_streams, proof_status, read_stream, Answers, AuditService, Period};
use crate::auth::Caller;
use crate::reports::id;

/// Starts writing the bundle `request` asks for.
pub(crate) async fn export(
    service: &AuditService,
    caller: &Caller,
    request: pb::ExportBundleRequest,
) -> Result<Answers<pb::BundleChunk>, Status> {
    let pb::ExportBundleRequest { org_id, from, to, since_size } = request;
    let org = id("org_id", &org_id)?;
    caller.may(&service.domain, Action::ReadOrg(&org))?;
    for (field, value) in [("from", &from), ("to", &to)] {
        if value.is_empty() {
            return Err(Status::invalid_argument(format!("{field}: a bundle covers a period; give its {field} date")));
        }
    }
    let period = Period::parse(&from, &to)?;
    service.domain.caught_up(service.store.as_ref()).await?;
    let (streams, is_cell) = org_streams(&service.domain, "org_id", &org)?;
    let signed = service
        .checkpoints
        .sign_now()
        .await
        .map_err(|why| Status::failed_precondition(format!("no checkpoint can be signed for the bundle: {why}")))?;
    let checkpoint = signed.checkpoint.clone();
    let consistency = match since_size {
        // Nothing to prove; or a log smaller than what the inspector accepted, which no proof
        // can reconcile: the bundle goes out as it is, and their verifier refuses the rollback.
        old if old == 0 || old >= checkpoint.size => Vec::new(),
        old => {
            let proof =
                service.log.consistency_proof(old, checkpoint.size).map_err(|e| proof_status("since_size", e))?;
            vec![ConsistencyFrom { size: old, proof: proof.iter().map(|h| BASE64.encode(h)).collect() }]
        }
    };
    let head = format!(
        "{{\"format\":{},\"key\":{},\"checkpoint\":{},\"consistency\":{},\"streams\":[",
        json(bundle::FORMAT)?,
        json(&service.checkpoints.verifier().to_string())?,
        json(&signed.note)?,
        json(&consistency)?,
    );
    let subject =
        Subject { kind: if is_cell { "cell" } else { "committee" }.to_owned(), org: org.to_string(), from, to };
    let (tx, rx) = mpsc::channel(8);
    let (store, log, checkpoints) = (service.store.clone(), service.log.clone(), service.checkpoints.clone());
    tokio::spawn(async move {
        let send = |bytes: Vec<u8>| tx.send(Ok(pb::BundleChunk { data: bytes }));
        if send(head.into_bytes()).await.is_err() {
            return;
        }
        let mut ranges = Vec::new();
        for stream in streams {
            let written = async {
                let events = read_stream(store.as_ref(), &stream).await?;
                let Some((range, part)) = stream_part(&log, &stream, events, checkpoint.size, &period)? else {
                    return Ok(None);
                };
                let comma = if ranges.is_empty() { "" } else { "," };
                Ok::<_, Status>(Some((range, format!("{comma}{}", json(&part)?))))
            };
            match written.await {
                Ok(None) => {}
                Ok(Some((range, text))) => {
                    ranges.push(range);
                    if send(text.into_bytes()).await.is_err() {
                        return;
                    }
                }
                Err(status) => {
                    drop(tx.send(Err(status)).await);
                    return;
                }
            }
        }
        let manifest = Manifest {
            origin: checkpoint.origin,
            size: checkpoint.size,
            root: checkpoint.root,
            subject,
            streams: ranges,
        };
        let tail = checkpoints
            .sign_manifest(&manifest)
            .map_err(|e| Status::internal(format!("the manifest cannot be signed: {e}")))
            .and_then(|note| Ok(format!("],\"manifest\":{}}}\n", json(&note)?)));
        drop(send_last(&tx, tail).await);
    });
    Ok(Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx)))
}

async fn send_last(
    tx: &mpsc::Sender<Result<pb::BundleChunk, Status>>,
    tail: Result<String, Status>,
) -> Result<(), mpsc::error::SendError<Result<pb::BundleChunk, Status>>> {
    tx.send(tail.map(|text| pb::BundleChunk { data: text.into_bytes() })).await
}

fn json<T: serde::Serialize + ?Sized>(value: &T) -> Result<String, Status> {
    serde_json::to_string(value).map_err(|e| Status::internal(format!("the bundle cannot be encoded: {e}")))
}

/// One stream's part of the bundle: from the first event dated on or after the period's first
/// day (or the head alone, if none is) to the stream's head at the checkpoint's `size`; `None`
/// if the stream had no event yet at that size.
fn stream_part(
    log: &MerkleLog,
    stream: &StreamName,
    mut events: Vec<StoredEvent>,
    size: u64,
    period: &Period,
) -> Result<Option<(StreamRange, BundleStream)>, Status> {
    events.retain(|e| e.position < size);
    let Some(last) = events.last() else { return Ok(None) };
    let (last_revision, last_hash) = (last.revision, last.hash);
    // An envelope that does not decode is kept: the verifier will say what is wrong with it.
    let dated_before = |e: &StoredEvent| {
        Envelope::decode(&e.envelope).is_ok_and(|env| period.from.is_some_and(|from| env.occurred_at.seconds() < from))
    };
    let start = events.iter().position(|e| !dated_before(e)).unwrap_or(events.len() - 1);
    let mut part = BundleStream { stream: stream.to_string(), events: Vec::with_capacity(events.len() - start) };
    let first = events[start].revision;
    for event in events.drain(start..) {
        let proof = log.inclusion_proof(event.position, size).map_err(|e| proof_status("org_id", e))?;
        let StoredEvent { position, stream: _, revision: _, envelope, payload, salt, hash } = event;
        part.events.push(BundleEvent {
            position,
            envelope: BASE64.encode(envelope),
            payload: Some(BASE64.encode(payload)),
            salt: BASE64.encode(salt),
            hash: BASE64.encode(hash),
            inclusion: proof.iter().map(|h| BASE64.encode(h)).collect(),
        });
    }
    let range = StreamRange { stream: stream.to_string(), first, last: last_revision, last_hash };
    Ok(Some((range, part)))
}
