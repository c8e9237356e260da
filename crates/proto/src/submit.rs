//! `chibo.v1.SubmitBatchRequest` as the server decodes it: its events kept as the bytes the
//! client encoded, each a slice of the request's buffer, for the server to read one at a time
//! (in place when it can, `chibo_proto::convert::submission_in_place`). prost's message type
//! decoded every text of every event into a `String` of its own before anything was checked,
//! and dropped them once the events were converted: a fifth of the server's time under batched
//! ingest (docs/BENCHMARKS.md, twenty-third round).
//!
//! The server's generated code takes this type for `SubmitBatch` (see `build.rs`); clients keep
//! prost's [`pb::SubmitBatchRequest`], whose encoding this decodes. It answers with a
//! [`SubmitBatchReply`], its receipts written as they are made.

use chibo_domain::{event::Submission, EventId, InvalidField, Timestamp};
use prost::bytes::{Buf, BufMut};
use prost::encoding::{self, DecodeContext, WireType};
use prost::{DecodeError, Message};

use crate::v1 as pb;
use crate::wire::Writer;

pub use prost::bytes::Bytes;

/// `chibo.v1.SubmitBatchRequest`, its `events` left encoded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SubmitBatchWire {
    /// `stream = 1`.
    pub stream: String,
    /// `expected_revision = 2`.
    pub expected_revision: Option<pb::ExpectedRevision>,
    /// `events = 3`: each `EventSubmission` as it came, not decoded.
    pub events: Vec<Bytes>,
}

const MESSAGE: &str = "SubmitBatchRequest";

/// Names `message.field` in a decoding error's path, as prost's generated code does.
fn within(message: &'static str, field: &'static str) -> impl FnOnce(DecodeError) -> DecodeError {
    move |mut e| {
        e.push(message, field);
        e
    }
}

impl Message for SubmitBatchWire {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        if !self.stream.is_empty() {
            encoding::string::encode(1, &self.stream, buf);
        }
        if let Some(expected) = &self.expected_revision {
            encoding::message::encode(2, expected, buf);
        }
        // An embedded message is written as a length-delimited field, as bytes are.
        encoding::bytes::encode_repeated(3, &self.events, buf);
    }

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        let at = |field| within(MESSAGE, field);
        match tag {
            1 => encoding::string::merge(wire_type, &mut self.stream, buf, ctx).map_err(at("stream")),
            2 => {
                let expected = self.expected_revision.get_or_insert_with(Default::default);
                encoding::message::merge(wire_type, expected, buf, ctx).map_err(at("expected_revision"))
            }
            // A slice of the request's buffer where the buffer allows (tonic's does): no copy.
            3 => encoding::bytes::merge_repeated(wire_type, &mut self.events, buf, ctx).map_err(at("events")),
            _ => encoding::skip_field(wire_type, tag, buf, ctx),
        }
    }

    fn encoded_len(&self) -> usize {
        let stream = if self.stream.is_empty() { 0 } else { encoding::string::encoded_len(1, &self.stream) };
        let expected = self.expected_revision.as_ref().map_or(0, |e| encoding::message::encoded_len(2, e));
        stream + expected + encoding::bytes::encoded_len_repeated(3, &self.events)
    }

    fn clear(&mut self) {
        *self = Self::default();
    }
}

/// The submission an event of a [`SubmitBatchWire`] holds, if it decodes and passes the
/// domain's shape rules; if not, the field at fault, from the submission's own fields down (a
/// message that does not decode is the submission itself at fault). Study points and speeches
/// are read in place; anything else, or anything laid out otherwise, through prost and the
/// `TryFrom` conversion, which read it or say why not.
pub fn submission(bytes: Bytes) -> Result<Submission, InvalidField> {
    if let Some(submission) = crate::convert::submission_in_place(&bytes) {
        return Ok(submission);
    }
    let decoded =
        pb::EventSubmission::decode(bytes).map_err(|e| InvalidField::new("", format!("does not decode: {e}")))?;
    Submission::try_from(decoded)
}

impl From<pb::SubmitBatchRequest> for SubmitBatchWire {
    /// The request as the server receives it: each event encoded.
    fn from(request: pb::SubmitBatchRequest) -> Self {
        let pb::SubmitBatchRequest { stream, expected_revision, events } = request;
        let events = events.iter().map(|event| Bytes::from(event.encode_to_vec())).collect();
        Self { stream, expected_revision, events }
    }
}

/// `chibo.v1.SubmitBatchResponse` as the server writes it: each receipt encoded as it is added,
/// into one buffer. prost's message held each receipt's id, stream and hash in allocations of
/// their own, three an event, made and dropped to be encoded once (docs/BENCHMARKS.md,
/// twenty-fourth round). The server's generated code sends this type for `SubmitBatch`;
/// clients decode the same bytes as prost's [`pb::SubmitBatchResponse`].
#[derive(Debug, Default)]
pub struct SubmitBatchReply {
    /// `receipts = 1`, each field's key, length and message, in order.
    receipts: Writer,
}

/// A receipt's fields, borrowed: `chibo.v1.Receipt`.
#[derive(Debug, Clone, Copy)]
pub struct ReceiptFields<'a> {
    /// `event_id = 1`.
    pub event_id: &'a EventId,
    /// `stream = 2`.
    pub stream: &'a str,
    /// `revision = 3`.
    pub revision: u64,
    /// `position = 4`.
    pub position: u64,
    /// `hash = 5`.
    pub hash: &'a [u8],
    /// `recorded_at = 6`.
    pub recorded_at: Timestamp,
    /// `duplicate = 7`.
    pub duplicate: bool,
}

/// The most a receipt takes besides its stream's text: its own key and length (4), its id's
/// key, length and text (38), the stream's key and length (3), two varints (2 × 11), the hash
/// (34), the time (19) and `duplicate` (2).
const RECEIPT_LEN: usize = 4 + 38 + 3 + 22 + 34 + 19 + 2;

impl SubmitBatchReply {
    /// A reply with room for `n` receipts to `stream`.
    pub fn with_capacity(n: usize, stream: &str) -> Self {
        Self { receipts: Writer::with_capacity(n * (RECEIPT_LEN + stream.len())) }
    }

    /// Adds a receipt.
    pub fn push(&mut self, receipt: ReceiptFields<'_>) {
        let ReceiptFields { event_id, stream, revision, position, hash, recorded_at, duplicate } = receipt;
        self.receipts.message_with(1, |r| {
            r.bytes_field(1, &event_id.canonical());
            r.text_field(2, stream);
            r.varint_field(3, revision);
            r.varint_field(4, position);
            r.bytes_field(5, hash);
            r.timestamp_field(6, recorded_at);
            r.varint_field(7, u64::from(duplicate));
        });
    }
}

impl Message for SubmitBatchReply {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        buf.put_slice(self.receipts.as_bytes());
    }

    /// Reads a receipt as its bytes, checking only that they are length-delimited: the server
    /// never decodes its own replies, and what is read is written back as it came.
    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        match tag {
            1 => {
                let mut receipt = Vec::new();
                encoding::bytes::merge(wire_type, &mut receipt, buf, ctx)
                    .map_err(within("SubmitBatchResponse", "receipts"))?;
                self.receipts.message_field(1, &receipt);
                Ok(())
            }
            _ => encoding::skip_field(wire_type, tag, buf, ctx),
        }
    }

    fn encoded_len(&self) -> usize {
        self.receipts.as_bytes().len()
    }

    fn clear(&mut self) {
        self.receipts.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn submission(n: u8) -> pb::EventSubmission {
        pb::EventSubmission {
            event_id: format!("0190f1c2-7d4e-7b3a-9c1d-2e3f4a5b6c{n:02x}"),
            occurred_at: Some(pbjson_types::Timestamp { seconds: 1_772_323_200 + i64::from(n), nanos: 0 }),
            event: Some(pb::Event {
                kind: Some(pb::event::Kind::StudyPointsEarned(pb::StudyPointsEarned {
                    member_id: "nguyen-van-an".into(),
                    points: u32::from(n) + 1,
                    date: "2026-02-27".into(),
                    activity: "Nghị quyết".into(),
                    source_ref: String::new(),
                })),
            }),
        }
    }

    fn request(events: usize) -> pb::SubmitBatchRequest {
        pb::SubmitBatchRequest {
            stream: "cell-a".into(),
            expected_revision: Some(pb::ExpectedRevision { kind: Some(pb::expected_revision::Kind::Exact(7)) }),
            events: (0..events).map(|n| submission(n as u8)).collect(),
        }
    }

    #[test]
    fn a_request_prost_writes_decodes_with_its_events_as_they_were_encoded() {
        for events in [0, 1, 3, 200] {
            let request = request(events);
            let encoded = request.encode_to_vec();
            let wire = SubmitBatchWire::decode(&encoded[..]).expect("decodes");
            assert_eq!(wire.stream, request.stream);
            assert_eq!(wire.expected_revision, request.expected_revision);
            let decoded: Vec<_> =
                wire.events.iter().map(|e| pb::EventSubmission::decode(e.clone()).expect("an event")).collect();
            assert_eq!(decoded, request.events);
            // Written back, it is the message prost wrote, and its length is the one it says.
            assert_eq!(wire.encode_to_vec(), encoded);
            assert_eq!(wire.encoded_len(), encoded.len());
            assert_eq!(SubmitBatchWire::from(request), wire);
        }
    }

    #[test]
    fn fields_repeated_merged_or_unknown_are_read_as_protobuf_says() {
        let first = request(2);
        let mut second = request(1);
        second.stream = "cell-b".into();
        second.expected_revision =
            Some(pb::ExpectedRevision { kind: Some(pb::expected_revision::Kind::NoStream(Default::default())) });
        // Two messages end to end are one: the last stream wins, the lists are joined, and an
        // unknown field (number 9, a varint) is skipped.
        let joined = [first.encode_to_vec(), second.encode_to_vec(), vec![0x48, 0x01]].concat();
        let wire = SubmitBatchWire::decode(&joined[..]).expect("decodes");
        let prost = pb::SubmitBatchRequest::decode(&joined[..]).expect("decodes");
        assert_eq!(wire.stream, "cell-b");
        assert_eq!(wire.expected_revision, prost.expected_revision);
        assert_eq!(wire.events.len(), 3);
        let events: Vec<_> = wire.events.iter().map(|e| pb::EventSubmission::decode(e.clone()).unwrap()).collect();
        assert_eq!(events, prost.events);
    }

    #[test]
    fn a_submission_is_read_in_place_or_through_prost_alike() {
        let valid = submission(3);
        let expected = Submission::try_from(valid.clone()).expect("valid");
        let bytes = Bytes::from(valid.encode_to_vec());
        assert_eq!(crate::convert::submission_in_place(&bytes).as_ref(), Some(&expected));
        assert_eq!(super::submission(bytes), Ok(expected.clone()));
        // Its fields in another order: read through prost, to the same submission.
        let mut reordered = Vec::new();
        encoding::message::encode(3, valid.event.as_ref().unwrap(), &mut reordered);
        encoding::string::encode(1, &valid.event_id, &mut reordered);
        encoding::message::encode(2, valid.occurred_at.as_ref().unwrap(), &mut reordered);
        assert_eq!(crate::convert::submission_in_place(&reordered), None);
        assert_eq!(super::submission(Bytes::from(reordered)), Ok(expected));
        // Refusals name the field at fault, as the conversion does.
        let mut invalid = valid.clone();
        invalid.occurred_at = None;
        let error = super::submission(Bytes::from(invalid.encode_to_vec())).unwrap_err();
        assert_eq!(error.field, "occurred_at");
        let mut invalid = valid;
        if let Some(pb::event::Kind::StudyPointsEarned(points)) = invalid.event.as_mut().and_then(|e| e.kind.as_mut()) {
            points.points = 0;
        }
        let error = super::submission(Bytes::from(invalid.encode_to_vec())).unwrap_err();
        assert_eq!(error.field, "event.study_points_earned.points");
        // Bytes that are no message at all.
        let error = super::submission(Bytes::from_static(&[0x0a, 0x05, 0x01])).unwrap_err();
        assert_eq!(error.field, "");
        assert!(error.reason.starts_with("does not decode: "), "{error}");
    }

    #[test]
    fn a_malformed_request_is_refused_naming_the_field() {
        let encoded = request(2).encode_to_vec();
        // Cut inside the last event: its length says more than is left.
        let cut = &encoded[..encoded.len() - 3];
        let error = SubmitBatchWire::decode(cut).unwrap_err().to_string();
        assert!(error.contains("SubmitBatchRequest.events"), "{error}");
        // A stream that is not UTF-8.
        let bad_stream = [0x0a, 0x02, 0xff, 0xfe];
        let error = SubmitBatchWire::decode(&bad_stream[..]).unwrap_err().to_string();
        assert!(error.contains("SubmitBatchRequest.stream"), "{error}");
        // Events of the wrong wire type (a varint).
        let error = SubmitBatchWire::decode(&[0x18, 0x01][..]).unwrap_err().to_string();
        assert!(error.contains("SubmitBatchRequest.events"), "{error}");
    }

    /// A receipt's fields, owned: id, stream, revision, position, hash, time, duplicate.
    type OwnedReceipt = (EventId, String, u64, u64, Vec<u8>, Timestamp, bool);

    /// Random receipts: ids of every byte, streams empty, short and long enough for a
    /// receipt's length to take two bytes, revisions and positions of every varint length and
    /// 0, hashes present and absent, times on both sides of 1970 and at 0.
    fn random_receipts(rng: &mut impl rand::Rng, n: usize) -> Vec<OwnedReceipt> {
        let streams = [String::new(), "cell-a".to_owned(), format!("cell-{}", "ấp-tân-hòa-".repeat(12))];
        (0..n)
            .map(|_| {
                let stream = streams[rng.gen_range(0..streams.len())].clone();
                let varint = |rng: &mut dyn rand::RngCore| rng.next_u64().checked_shr(rng.next_u32() % 65).unwrap_or(0);
                let hash = if rng.gen_bool(0.9) { rng.gen::<[u8; 32]>().to_vec() } else { Vec::new() };
                let seconds = match rng.gen_range(0..3) {
                    0 => 0,
                    1 => -rng.gen_range(1..2_000_000_000i64),
                    _ => rng.gen_range(1..4_000_000_000i64),
                };
                let nanos = if rng.gen_bool(0.3) { 0 } else { rng.gen_range(1..1_000_000_000) };
                let at = Timestamp::new("t", seconds, nanos).expect("a valid time");
                (EventId::from_bytes(rng.gen()), stream, varint(rng), varint(rng), hash, at, rng.gen())
            })
            .collect()
    }

    #[test]
    fn a_reply_is_the_bytes_prost_writes_for_its_receipts() {
        use rand::SeedableRng;
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        for n in (0..40).chain([500]) {
            let receipts = random_receipts(&mut rng, n);
            let mut reply = SubmitBatchReply::with_capacity(n, "cell-a");
            for (event_id, stream, revision, position, hash, recorded_at, duplicate) in &receipts {
                reply.push(ReceiptFields {
                    event_id,
                    stream,
                    revision: *revision,
                    position: *position,
                    hash,
                    recorded_at: *recorded_at,
                    duplicate: *duplicate,
                });
            }
            let prost = pb::SubmitBatchResponse {
                receipts: receipts
                    .iter()
                    .map(|(event_id, stream, revision, position, hash, at, duplicate)| pb::Receipt {
                        event_id: event_id.to_string(),
                        stream: stream.clone(),
                        revision: *revision,
                        position: *position,
                        hash: hash.clone(),
                        recorded_at: Some(pbjson_types::Timestamp { seconds: at.seconds(), nanos: at.nanos() as i32 }),
                        duplicate: *duplicate,
                    })
                    .collect(),
            };
            let expected = prost.encode_to_vec();
            assert_eq!(reply.encode_to_vec(), expected, "{receipts:?}");
            assert_eq!(reply.encoded_len(), expected.len());
            // Read back, it is written as it came.
            assert_eq!(SubmitBatchReply::decode(&expected[..]).expect("decodes").encode_to_vec(), expected);
        }
    }

    #[test]
    fn a_reply_read_back_skips_unknown_fields_and_names_a_malformed_receipt() {
        let receipt = pb::Receipt { event_id: "x".into(), revision: 3, ..Default::default() };
        let reply = pb::SubmitBatchResponse { receipts: vec![receipt.clone(), receipt] }.encode_to_vec();
        // An unknown field (number 9, a varint) between the receipts and after them.
        let half = reply.len() / 2;
        let with_unknown = [&reply[..half], &[0x48, 0x01], &reply[half..], &[0x48, 0x02]].concat();
        assert_eq!(SubmitBatchReply::decode(&with_unknown[..]).expect("decodes").encode_to_vec(), reply);
        // A receipt cut short, and receipts of the wrong wire type.
        let error = SubmitBatchReply::decode(&reply[..reply.len() - 1]).unwrap_err().to_string();
        assert!(error.contains("SubmitBatchResponse.receipts"), "{error}");
        let error = SubmitBatchReply::decode(&[0x08, 0x01][..]).unwrap_err().to_string();
        assert!(error.contains("SubmitBatchResponse.receipts"), "{error}");
    }
}
