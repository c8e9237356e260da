//! JSON in and out of the command line, in the protobuf JSON mapping (`eventId`,
//! `occurredAt`, …), with hashes in lowercase hex and stored bytes in base64.

use anyhow::Context;
use base64::{engine::general_purpose::STANDARD, Engine};
use chibo_integrity::Envelope;
use chibo_proto::{convert, v1 as pb};
use serde_json::{json, Value};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn time(t: &chibo_domain::Timestamp) -> Value {
    serde_json::to_value(pbjson_types::Timestamp { seconds: t.seconds(), nanos: t.nanos() as i32 })
        .unwrap_or(Value::Null)
}

/// An `EventSubmission` from its JSON form.
pub fn submission(value: Value) -> anyhow::Result<pb::EventSubmission> {
    let submission: pb::EventSubmission =
        serde_json::from_value(value).context("not an EventSubmission in the protobuf JSON mapping")?;
    if submission.event_id.is_empty() {
        anyhow::bail!("eventId is missing: every event needs a unique id (a lowercase UUID) so that a retry cannot record it twice");
    }
    Ok(submission)
}

/// A receipt as one JSON line.
pub fn receipt(r: &pb::Receipt) -> Value {
    json!({
        "eventId": r.event_id,
        "stream": r.stream,
        "revision": r.revision,
        "position": r.position,
        "hash": hex(&r.hash),
        "recordedAt": r.recorded_at.as_ref().and_then(|t| serde_json::to_value(t).ok()),
        "duplicate": r.duplicate,
    })
}

/// A recorded event, decoded: envelope fields, hashes, and the payload as JSON.
pub fn recorded_event(e: &pb::RecordedEvent) -> Value {
    let envelope = match Envelope::decode(&e.envelope) {
        Ok(envelope) => envelope,
        Err(err) => return json!({ "position": e.position, "error": format!("undecodable envelope: {err}") }),
    };
    let event = match convert::decode_payload(&envelope.event_type, &e.payload) {
        Ok(event) => serde_json::to_value(&event).unwrap_or(Value::Null),
        Err(err) => json!({ "error": err.to_string() }),
    };
    json!({
        "position": e.position,
        "stream": envelope.stream.to_string(),
        "revision": envelope.revision,
        "eventId": envelope.event_id.to_string(),
        "eventType": envelope.event_type,
        "schemaVersion": envelope.schema_version,
        "occurredAt": time(&envelope.occurred_at),
        "recordedAt": time(&envelope.recorded_at),
        "actor": envelope.actor,
        "hash": hex(&e.hash),
        "prevHash": hex(&envelope.prev_hash),
        "payloadDigest": hex(&envelope.payload_digest),
        "event": event,
    })
}

/// A recorded event as its stored bytes.
pub fn raw_event(e: &pb::RecordedEvent) -> Value {
    json!({
        "position": e.position,
        "envelope": STANDARD.encode(&e.envelope),
        "payload": STANDARD.encode(&e.payload),
        "salt": STANDARD.encode(&e.salt),
        "hash": hex(&e.hash),
    })
}
