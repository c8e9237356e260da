//! The payloads read most, read in place: a replay decodes every event of the log, and most of
//! a province's events are study points earned in the app (78 % of the demo's), then members
//! speaking at meetings (12 %). Through prost, each such payload became a message of
//! `String`s, some of them parsed and dropped. Read here, no message is built: the text is
//! borrowed until the domain's checks pass, and only what the event keeps is copied.

use chibo_domain::event::{self as domain, Event, EventType, Submission};
use chibo_domain::{Date, EventId, Id};

use crate::wire::{key, Reader, Short, Writer, LEN, VARINT};

/// The event a stored payload of `event_type` holds, read in place, when the payload is of a
/// type read this way, is laid out as prost writes it, and passes the domain's shape rules.
/// `None` otherwise, for [`super::decode_payload`] and the `TryFrom` conversions to read or
/// refuse: where this gives an event, they give the same one.
pub fn decode_in_place(event_type: EventType, payload: &[u8]) -> Option<Event> {
    match event_type {
        EventType::StudyPointsEarned => study_points(payload).map(Event::StudyPointsEarned),
        EventType::MemberSpoke => member_spoke(payload).map(Event::MemberSpoke),
        _ => None,
    }
}

/// A request's submission (`chibo.v1.EventSubmission`) read in place, when it is laid out as
/// prost writes it, holds an event of a type read in place, and passes the domain's shape
/// rules. `None` otherwise, for prost and the `TryFrom` conversion to read or refuse: where
/// this gives a submission, they give the same one. Batched ingest is mostly study points, and
/// through prost each text of a submission was a `String` of its own before anything was
/// checked (docs/BENCHMARKS.md, twenty-third round).
pub fn submission_in_place(bytes: &[u8]) -> Option<Submission> {
    // `event_id = 1`, `occurred_at = 2`, `event = 3`; a missing one is left to the general
    // path, which names it.
    let mut reader = Reader::new(bytes);
    let event_id = reader.field(key(1, LEN), Reader::text)??;
    let occurred_at = reader.field(key(2, LEN), Reader::delimited)??;
    let event = reader.field(key(3, LEN), Reader::delimited)??;
    if !reader.is_done() {
        return None;
    }
    Some(Submission {
        event_id: EventId::parse("event_id", event_id).ok()?,
        occurred_at: crate::wire::timestamp(occurred_at)?,
        event: event_kind(event)?,
    })
}

/// `chibo.v1.Event`: its one `kind`, when that is a type read in place. Study points are
/// field 18, whose key takes two bytes.
fn event_kind(bytes: &[u8]) -> Option<Event> {
    const MEMBER_SPOKE: u64 = 11 << 3 | LEN as u64;
    const STUDY_POINTS_EARNED: u64 = 18 << 3 | LEN as u64;
    let mut reader = Reader::new(bytes);
    let event_type = match reader.varint()? {
        MEMBER_SPOKE => EventType::MemberSpoke,
        STUDY_POINTS_EARNED => EventType::StudyPointsEarned,
        _ => return None,
    };
    let payload = reader.delimited()?;
    if !reader.is_done() {
        return None;
    }
    decode_in_place(event_type, payload)
}

/// The payload of `event` written in place, as prost writes its message, for the types read
/// in place: `None` for the others, which [`super::encode_payload`] writes through prost. A
/// snapshot writes the payload of every fact in force, and the server of every event appended.
pub fn encode_in_place(event: &Event) -> Option<Vec<u8>> {
    match event {
        Event::StudyPointsEarned(e) => {
            let domain::StudyPointsEarnedFields { member_id, points, date, activity, source_ref } = &**e;
            let date = Short::<16>::of(date)?;
            let (member_id, date) = (member_id.as_str(), date.as_str());
            let len = 16 + member_id.len() + date.len() + activity.len() + source_ref.len();
            let mut writer = Writer::with_capacity(len);
            writer.text_field(1, member_id);
            writer.varint_field(2, u64::from(*points));
            writer.text_field(3, date);
            writer.text_field(4, activity);
            writer.text_field(5, source_ref);
            Some(writer.into_bytes())
        }
        Event::MemberSpoke(e) => {
            let domain::MemberSpokeFields { meeting_id, member_id, summary } = &**e;
            let (meeting_id, member_id) = (meeting_id.as_str(), member_id.as_str());
            let mut writer = Writer::with_capacity(16 + meeting_id.len() + member_id.len() + summary.len());
            writer.text_field(1, meeting_id);
            writer.text_field(2, member_id);
            writer.text_field(3, summary);
            Some(writer.into_bytes())
        }
        _ => None,
    }
}

/// `chibo.v1.MemberSpoke`: `meeting_id = 1`, `member_id = 2`, `summary = 3`.
fn member_spoke(payload: &[u8]) -> Option<domain::MemberSpoke> {
    let mut reader = Reader::new(payload);
    let meeting_id = reader.field(key(1, LEN), Reader::text)?.unwrap_or_default();
    let member_id = reader.field(key(2, LEN), Reader::text)?.unwrap_or_default();
    let summary = reader.field(key(3, LEN), Reader::text)?.unwrap_or_default();
    if !reader.is_done() {
        return None;
    }
    domain::MemberSpoke::new(domain::MemberSpokeFields {
        meeting_id: Id::parse("meeting_id", meeting_id).ok()?,
        member_id: Id::parse("member_id", member_id).ok()?,
        summary: summary.to_owned(),
    })
    .ok()
}

/// `chibo.v1.StudyPointsEarned`: `member_id = 1`, `points = 2`, `date = 3`, `activity = 4`,
/// `source_ref = 5`.
fn study_points(payload: &[u8]) -> Option<domain::StudyPointsEarned> {
    let mut reader = Reader::new(payload);
    let member_id = reader.field(key(1, LEN), Reader::text)?.unwrap_or_default();
    // protobuf's uint32: the varint's low 32 bits, as prost reads them.
    let points = reader.field(key(2, VARINT), Reader::varint)?.unwrap_or(0) as u32;
    let date = reader.field(key(3, LEN), Reader::text)?.unwrap_or_default();
    // Checked as UTF-8 by `shared::text_of`, unless it is a text seen lately.
    let activity = reader.field(key(4, LEN), Reader::delimited)?.unwrap_or_default();
    let source_ref = reader.field(key(5, LEN), Reader::text)?.unwrap_or_default();
    if !reader.is_done() {
        return None;
    }
    domain::StudyPointsEarned::new(domain::StudyPointsEarnedFields {
        member_id: Id::parse("member_id", member_id).ok()?,
        points,
        date: Date::parse("date", date).ok()?,
        activity: super::shared::text_of(activity)?,
        source_ref: source_ref.into(),
    })
    .ok()
}

#[cfg(test)]
mod tests {
    use prost::Message;
    use rand::{Rng, SeedableRng};

    use super::*;
    use crate::convert::decode_payload;
    use crate::testing::alter;
    use crate::v1 as pb;

    /// The event the general path reads from `payload`, if it reads one.
    fn general(event_type: EventType, payload: &[u8]) -> Option<Event> {
        Event::try_from(decode_payload(event_type.name(), payload).ok()?).ok()
    }

    /// Reads `payload` of `event_type` both ways. Where the in-place reader gives an event, the
    /// general path must give the same one. Returns whether the in-place reader took it.
    fn agree(event_type: EventType, payload: &[u8]) -> bool {
        let in_place = decode_in_place(event_type, payload);
        if in_place.is_some() {
            assert_eq!(in_place, general(event_type, payload), "{event_type:?}: {payload:02x?}");
        }
        in_place.is_some()
    }

    /// The event types read in place.
    const IN_PLACE: [EventType; 2] = [EventType::StudyPointsEarned, EventType::MemberSpoke];

    fn pick(rng: &mut impl Rng, options: &[&'static str]) -> String {
        options[rng.gen_range(0..options.len())].to_owned()
    }

    const IDS: [&str; 7] = ["m-0042", "member-1", "a", "", "Bad-Id", "m_1", "ấp"];
    const TEXTS: [&str; 7] =
        ["Nghị quyết 57-NQ/TW", "Resolution 57", "", " padded ", "tab\there", "ấp Tân Hòa", "\u{0}"];

    /// A message of `event_type` with fields of every shape, encoded: valid and invalid ids,
    /// dates and texts, points of every varint length and 0, fields left at their defaults.
    fn random_payload(event_type: EventType, rng: &mut impl Rng) -> Vec<u8> {
        match event_type {
            EventType::StudyPointsEarned => random_message(rng).encode_to_vec(),
            EventType::MemberSpoke => pb::MemberSpoke {
                meeting_id: pick(rng, &["meeting-2026-03", "h-1", "", "Họp", "x_y"]),
                member_id: pick(rng, &IDS),
                summary: match rng.gen_range(0..3) {
                    0 => pick(rng, &TEXTS),
                    1 => "ý kiến ".repeat(rng.gen_range(1..200)),
                    // Past the domain's limit for a paragraph.
                    _ => "x".repeat(rng.gen_range(1_000..6_000)),
                },
            }
            .encode_to_vec(),
            other => unreachable!("{other:?} is not read in place"),
        }
    }

    fn random_message(rng: &mut impl Rng) -> pb::StudyPointsEarned {
        let dates = ["2026-03-14", "2024-02-29", "2025-02-29", "2026-3-14", "", "2026-13-01", "x"];
        let refs = ["", "app:9f3a2", "sổ-tay/2026/03", "x"];
        pb::StudyPointsEarned {
            member_id: pick(rng, &IDS),
            points: match rng.gen_range(0..4) {
                0 => 0,
                1 => rng.gen_range(1..128),
                2 => rng.gen_range(128..100_000),
                _ => rng.gen(),
            },
            date: pick(rng, &dates),
            activity: pick(rng, &TEXTS),
            source_ref: pick(rng, &refs),
        }
    }

    #[test]
    fn payloads_as_prost_writes_them_are_read_in_place_when_valid() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        for event_type in IN_PLACE {
            let (mut valid, mut invalid) = (0, 0);
            for _ in 0..20_000 {
                let payload = random_payload(event_type, &mut rng);
                // Every valid payload prost writes is read in place; an invalid one never is.
                let expected = general(event_type, &payload);
                assert_eq!(decode_in_place(event_type, &payload), expected, "{event_type:?}: {payload:02x?}");
                match expected {
                    Some(_) => valid += 1,
                    None => invalid += 1,
                }
            }
            assert!(valid > 1_000 && invalid > 1_000, "{event_type:?}: {valid} valid, {invalid} invalid");
        }
    }

    /// The live engine takes events of these types as the server decoded them from a request,
    /// in place of decoding the payload the server encoded from them
    /// (`chibo_projections::handoff`): each must come back from its encoding as it was. And
    /// that encoding, written in place, is the one prost writes.
    #[test]
    fn every_valid_event_comes_back_from_its_encoding() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(17);
        for event_type in IN_PLACE {
            let mut valid = 0;
            for _ in 0..20_000 {
                let Some(event) = general(event_type, &random_payload(event_type, &mut rng)) else { continue };
                let encoded = crate::convert::encode_payload(&event);
                let through_prost = crate::convert::encode_kind(&crate::v1::event::Kind::from(&event));
                assert_eq!(encoded, through_prost, "written in place as prost writes it: {event:?}");
                assert_eq!(decode_in_place(event_type, &encoded).as_ref(), Some(&event), "{event:?}");
                assert_eq!(general(event_type, &encoded).as_ref(), Some(&event), "{event:?}");
                valid += 1;
            }
            assert!(valid > 1_000, "{event_type:?}: {valid} valid");
        }
    }

    #[test]
    fn the_in_place_reader_agrees_with_the_general_path_on_altered_bytes() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(13);
        for event_type in IN_PLACE {
            let (mut in_place, mut general) = (0, 0);
            for round in 0..100_000 {
                let mut payload = random_payload(event_type, &mut rng);
                if payload.is_empty() {
                    continue;
                }
                alter(&mut payload, round, &mut rng, |rng| random_payload(event_type, rng));
                if agree(event_type, &payload) {
                    in_place += 1;
                } else {
                    general += 1;
                }
            }
            // Both paths were exercised.
            assert!(in_place > 1_000 && general > 10_000, "{event_type:?}: {in_place} in place, {general} general");
        }
    }

    #[test]
    fn any_other_layout_is_left_to_the_general_path() {
        let message = pb::StudyPointsEarned {
            member_id: "m-0042".into(),
            points: 3,
            date: "2026-03-14".into(),
            activity: "Nghị quyết 57-NQ/TW".into(),
            source_ref: "app:9f3a2".into(),
        };
        let payload = message.encode_to_vec();
        let expected = general(EventType::StudyPointsEarned, &payload).expect("a valid message");
        assert_eq!(decode_in_place(EventType::StudyPointsEarned, &payload), Some(expected.clone()));
        let points_again = [&payload[..], &[0x10, 0x03]].concat();
        let unknown_field = [&payload[..], &[0x30, 0x01]].concat();
        let out_of_order = [&payload[payload.len() - 11..], &payload[..payload.len() - 11]].concat();
        let long_key = [&[0x8a, 0x00, 0x06][..], &payload[2..]].concat();
        for other in [points_again, unknown_field, out_of_order, long_key] {
            // The general path reads every one of them as the same event.
            assert_eq!(general(EventType::StudyPointsEarned, &other).as_ref(), Some(&expected), "{other:02x?}");
            assert_eq!(decode_in_place(EventType::StudyPointsEarned, &other), None, "{other:02x?}");
        }
        // A member who spoke, fields out of order; and other event types are not read in place.
        let spoke = pb::MemberSpoke { meeting_id: "h-1".into(), member_id: "m-1".into(), summary: "ý kiến".into() };
        let spoke = spoke.encode_to_vec();
        let expected = general(EventType::MemberSpoke, &spoke).expect("a valid message");
        assert_eq!(decode_in_place(EventType::MemberSpoke, &spoke), Some(expected));
        let swapped = [&spoke[5..10], &spoke[..5], &spoke[10..]].concat();
        assert!(general(EventType::MemberSpoke, &swapped).is_some());
        assert_eq!(decode_in_place(EventType::MemberSpoke, &swapped), None, "{swapped:02x?}");
        let held = pb::MeetingHeld::default().encode_to_vec();
        assert_eq!(decode_in_place(EventType::MeetingHeld, &held), None);
    }

    /// The submission prost and the `TryFrom` conversion read from `bytes`, if they read one.
    fn general_submission(bytes: &[u8]) -> Option<Submission> {
        Submission::try_from(pb::EventSubmission::decode(bytes).ok()?).ok()
    }

    /// A submission with fields of every shape, encoded as prost writes it: ids and instants
    /// valid and not, events of the types read in place and of another, fields left out.
    fn random_submission(rng: &mut impl Rng) -> Vec<u8> {
        let kind = match rng.gen_range(0..8) {
            0..=3 => Some(pb::event::Kind::StudyPointsEarned(random_message(rng))),
            4 | 5 => {
                let payload = random_payload(EventType::MemberSpoke, rng);
                Some(pb::event::Kind::MemberSpoke(pb::MemberSpoke::decode(&payload[..]).expect("prost's own")))
            }
            6 => Some(pb::event::Kind::EventRetracted(pb::EventRetracted {
                target_event_id: "0190f1c2-7d4e-7b3a-9c1d-2e3f4a5b6c7e".into(),
                reason: "entered twice".into(),
            })),
            _ => None,
        };
        let seconds = match rng.gen_range(0..6) {
            0 => 0,
            1 | 2 => rng.gen_range(-2_208_988_800..253_402_300_799),
            3 => rng.gen(),
            _ => 1_772_323_200,
        };
        let nanos = match rng.gen_range(0..6) {
            0 => 0,
            1 | 2 => rng.gen_range(0..1_000_000_000),
            3 => rng.gen(),
            4 => -1,
            _ => 999_999_999,
        };
        pb::EventSubmission {
            event_id: match rng.gen_range(0..4) {
                0 => pick(rng, &["0190F1C2-7D4E-7B3A-9C1D-2E3F4A5B6C7D", "", "x"]),
                _ => "0190f1c2-7d4e-7b3a-9c1d-2e3f4a5b6c7d".to_owned(),
            },
            occurred_at: (rng.gen_range(0..10) > 0).then_some(pbjson_types::Timestamp { seconds, nanos }),
            event: (rng.gen_range(0..10) > 0).then_some(pb::Event { kind }),
        }
        .encode_to_vec()
    }

    #[test]
    fn submissions_as_prost_writes_them_are_read_in_place_when_valid() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(23);
        let (mut in_place, mut general) = (0, 0);
        for _ in 0..20_000 {
            let bytes = random_submission(&mut rng);
            let expected = general_submission(&bytes);
            let read = submission_in_place(&bytes);
            // A valid submission of a type read in place is read in place, as the general path
            // reads it; every other is left to the general path.
            let of_type = expected
                .as_ref()
                .is_some_and(|s| matches!(s.event.event_type(), EventType::StudyPointsEarned | EventType::MemberSpoke));
            assert_eq!(read, if of_type { expected.clone() } else { None }, "{bytes:02x?}");
            if read.is_some() {
                in_place += 1;
            } else if expected.is_some() {
                general += 1;
            }
        }
        assert!(in_place > 200 && general > 200, "{in_place} in place, {general} valid left to the general path");
    }

    #[test]
    fn the_submission_reader_agrees_with_the_general_path_on_altered_bytes() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(29);
        let mut read = 0;
        for round in 0..100_000 {
            let mut bytes = random_submission(&mut rng);
            if bytes.is_empty() {
                continue;
            }
            alter(&mut bytes, round, &mut rng, random_submission);
            if let Some(submission) = submission_in_place(&bytes) {
                assert_eq!(Some(submission), general_submission(&bytes), "{bytes:02x?}");
                read += 1;
            }
        }
        assert!(read > 100, "{read} read in place");
    }
}
