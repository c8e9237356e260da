//! The edge between the wire and the domain (architecture invariant 8): `TryFrom` from each
//! `chibo.v1` event message to its `chibo_domain` type, running every shape rule on the way in,
//! and `From` back to the message for replies and storage.
//!
//! Every conversion destructures its message field by field, without `..`, so a field added to
//! the schema fails to compile until it is handled here. Errors are [`InvalidField`]s whose path
//! is relative to the message converted (`attendance[2].reason`); each enclosing message
//! prefixes its own field (`meeting_held.attendance[2].reason`, then
//! `event.meeting_held.attendance[2].reason` in a submission).
//!
//! The way back is the exact inverse: for a valid message `m`, `pb::X::from(&X::try_from(m)?)`
//! is `m` again, and for a domain value `x`, `X::try_from(pb::X::from(&x))` is `x`.
#![deny(missing_docs)]

use chibo_domain::error::Result;
use chibo_domain::event::{self as domain, Event, EventType, Submission};
use chibo_domain::time::{MAX_YEAR, MIN_YEAR};
use chibo_domain::{Date, EventId, Id, InvalidField, Period, Timestamp};
use prost::Message;

use crate::v1 as pb;
use pb::event::Kind;

mod in_place;
mod shared;
pub use in_place::{decode_in_place, submission_in_place};

// ---------------------------------------------------------------------------------------------
// Events as stored payloads

/// Why a stored payload could not be read back.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PayloadError {
    /// The envelope names an event type the catalogue does not have.
    #[error("{0:?} is not an event type of the catalogue")]
    UnknownType(String),
    /// The bytes are not an encoding of the named type's message.
    #[error("the payload does not decode as {event_type}")]
    Decode {
        /// The type the envelope names.
        event_type: EventType,
        /// What prost found wrong.
        #[source]
        source: prost::DecodeError,
    },
}

/// The stored payload of `event`: the protobuf encoding of its message alone (a
/// `chibo.v1.MeetingHeld`, not the `Event` around it). The envelope names the type.
pub fn encode_payload(event: &Event) -> Vec<u8> {
    in_place::encode_in_place(event).unwrap_or_else(|| encode_kind(&Kind::from(event)))
}

/// The protobuf encoding of the message a wire `Kind` holds, without the oneof around it: what
/// a payload of that event is.
pub fn encode_kind(kind: &Kind) -> Vec<u8> {
    match kind {
        Kind::OrganizationRegistered(m) => m.encode_to_vec(),
        Kind::MemberJoined(m) => m.encode_to_vec(),
        Kind::MemberLeft(m) => m.encode_to_vec(),
        Kind::MemberRoleAssigned(m) => m.encode_to_vec(),
        Kind::ProgrammeLaunched(m) => m.encode_to_vec(),
        Kind::CellRegistered(m) => m.encode_to_vec(),
        Kind::CellSelected(m) => m.encode_to_vec(),
        Kind::CellCertified(m) => m.encode_to_vec(),
        Kind::CertificationRevoked(m) => m.encode_to_vec(),
        Kind::MeetingHeld(m) => m.encode_to_vec(),
        Kind::MemberSpoke(m) => m.encode_to_vec(),
        Kind::MemberCommended(m) => m.encode_to_vec(),
        Kind::MemberReminded(m) => m.encode_to_vec(),
        Kind::ResolutionAdopted(m) => m.encode_to_vec(),
        Kind::TaskAssigned(m) => m.encode_to_vec(),
        Kind::TaskCompleted(m) => m.encode_to_vec(),
        Kind::MeetingScored(m) => m.encode_to_vec(),
        Kind::StudyPointsEarned(m) => m.encode_to_vec(),
        Kind::IndicatorsScored(m) => m.encode_to_vec(),
        Kind::InspectionConducted(m) => m.encode_to_vec(),
        Kind::CandidateTrained(m) => m.encode_to_vec(),
        Kind::MemberClassified(m) => m.encode_to_vec(),
        Kind::CellClassified(m) => m.encode_to_vec(),
        Kind::EventCorrected(m) => m.encode_to_vec(),
        Kind::EventRetracted(m) => m.encode_to_vec(),
        Kind::SigningKeyRegistered(m) => m.encode_to_vec(),
        Kind::SigningKeyRevoked(m) => m.encode_to_vec(),
        Kind::CheckpointSigned(m) => m.encode_to_vec(),
        Kind::CredentialIssued(m) => m.encode_to_vec(),
        Kind::CredentialRevoked(m) => m.encode_to_vec(),
    }
}

/// Reads a stored payload back as the `Event` oneof, given the catalogue name of its type
/// (the envelope's `event_type`). Only the wire format is checked: a payload stored by an
/// earlier version is shown as it was, whatever the shape rules say today.
pub fn decode_payload(event_type: &str, payload: &[u8]) -> std::result::Result<pb::Event, PayloadError> {
    let event_type =
        EventType::from_name(event_type).ok_or_else(|| PayloadError::UnknownType(event_type.to_owned()))?;
    decode_payload_of(event_type, payload)
}

/// [`decode_payload`], for a caller that has already looked the type's name up.
pub fn decode_payload_of(event_type: EventType, payload: &[u8]) -> std::result::Result<pb::Event, PayloadError> {
    let kind = decode_kind(event_type, payload).map_err(|source| PayloadError::Decode { event_type, source })?;
    Ok(pb::Event { kind: Some(kind) })
}

fn decode_kind(event_type: EventType, payload: &[u8]) -> std::result::Result<Kind, prost::DecodeError> {
    Ok(match event_type {
        EventType::OrganizationRegistered => Kind::OrganizationRegistered(Message::decode(payload)?),
        EventType::MemberJoined => Kind::MemberJoined(Message::decode(payload)?),
        EventType::MemberLeft => Kind::MemberLeft(Message::decode(payload)?),
        EventType::MemberRoleAssigned => Kind::MemberRoleAssigned(Message::decode(payload)?),
        EventType::ProgrammeLaunched => Kind::ProgrammeLaunched(Message::decode(payload)?),
        EventType::CellRegistered => Kind::CellRegistered(Message::decode(payload)?),
        EventType::CellSelected => Kind::CellSelected(Message::decode(payload)?),
        EventType::CellCertified => Kind::CellCertified(Message::decode(payload)?),
        EventType::CertificationRevoked => Kind::CertificationRevoked(Message::decode(payload)?),
        EventType::MeetingHeld => Kind::MeetingHeld(Message::decode(payload)?),
        EventType::MemberSpoke => Kind::MemberSpoke(Message::decode(payload)?),
        EventType::MemberCommended => Kind::MemberCommended(Message::decode(payload)?),
        EventType::MemberReminded => Kind::MemberReminded(Message::decode(payload)?),
        EventType::ResolutionAdopted => Kind::ResolutionAdopted(Message::decode(payload)?),
        EventType::TaskAssigned => Kind::TaskAssigned(Message::decode(payload)?),
        EventType::TaskCompleted => Kind::TaskCompleted(Message::decode(payload)?),
        EventType::MeetingScored => Kind::MeetingScored(Message::decode(payload)?),
        EventType::StudyPointsEarned => Kind::StudyPointsEarned(Message::decode(payload)?),
        EventType::IndicatorsScored => Kind::IndicatorsScored(Message::decode(payload)?),
        EventType::InspectionConducted => Kind::InspectionConducted(Message::decode(payload)?),
        EventType::CandidateTrained => Kind::CandidateTrained(Message::decode(payload)?),
        EventType::MemberClassified => Kind::MemberClassified(Message::decode(payload)?),
        EventType::CellClassified => Kind::CellClassified(Message::decode(payload)?),
        EventType::EventCorrected => Kind::EventCorrected(Message::decode(payload)?),
        EventType::EventRetracted => Kind::EventRetracted(Message::decode(payload)?),
        EventType::SigningKeyRegistered => Kind::SigningKeyRegistered(Message::decode(payload)?),
        EventType::SigningKeyRevoked => Kind::SigningKeyRevoked(Message::decode(payload)?),
        EventType::CheckpointSigned => Kind::CheckpointSigned(Message::decode(payload)?),
        EventType::CredentialIssued => Kind::CredentialIssued(Message::decode(payload)?),
        EventType::CredentialRevoked => Kind::CredentialRevoked(Message::decode(payload)?),
    })
}

// ---------------------------------------------------------------------------------------------
// Submissions and the Event oneof

/// The reason given when an `Event` has no `kind`: either the client left it out or it chose a
/// type this server does not know (prost drops unknown oneof fields).
const NO_KIND: &str = "is missing or of an unknown event type";

impl TryFrom<pb::EventSubmission> for Submission {
    type Error = InvalidField;

    fn try_from(value: pb::EventSubmission) -> Result<Self> {
        let pb::EventSubmission { event_id, occurred_at, event } = value;
        Ok(Submission {
            event_id: EventId::parse("event_id", &event_id)?,
            occurred_at: timestamp_from_wire("occurred_at", occurred_at)?,
            event: nested_event("event", event)?,
        })
    }
}

impl From<&Submission> for pb::EventSubmission {
    fn from(value: &Submission) -> Self {
        let Submission { event_id, occurred_at, event } = value;
        Self {
            event_id: event_id.to_string(),
            occurred_at: Some(timestamp_to_wire(*occurred_at)),
            event: Some(event.into()),
        }
    }
}

/// Checks the instant held in `field`; `None` (the field left out) is an error.
pub fn timestamp_from_wire(field: &str, value: Option<pbjson_types::Timestamp>) -> Result<Timestamp> {
    let pbjson_types::Timestamp { seconds, nanos } = value.ok_or_else(|| InvalidField::new(field, "is missing"))?;
    Timestamp::new(field, seconds, nanos)
}

/// The wire form of an instant.
pub fn timestamp_to_wire(value: Timestamp) -> pbjson_types::Timestamp {
    pbjson_types::Timestamp {
        seconds: value.seconds(),
        // Below 10^9, so it fits.
        nanos: value.nanos() as i32,
    }
}

/// An `Event` held in `field` of an enclosing message. A missing kind is reported at `field`
/// itself, where the client can see which event it concerns.
fn nested_event(field: &str, value: Option<pb::Event>) -> Result<Event> {
    let pb::Event { kind } = value.ok_or_else(|| InvalidField::new(field, "is missing"))?;
    let kind = kind.ok_or_else(|| InvalidField::new(field, NO_KIND))?;
    Event::try_from(kind).map_err(|e| e.within(field))
}

impl TryFrom<pb::Event> for Event {
    type Error = InvalidField;

    /// Errors are prefixed with the oneof field (`meeting_held.date`); an `Event` without a
    /// kind is reported as field `event`.
    fn try_from(value: pb::Event) -> Result<Self> {
        let pb::Event { kind } = value;
        let kind = kind.ok_or_else(|| InvalidField::new("event", NO_KIND))?;
        Event::try_from(kind)
    }
}

impl TryFrom<Kind> for Event {
    type Error = InvalidField;

    /// Errors are prefixed with the oneof field (`meeting_held.date`).
    fn try_from(value: Kind) -> Result<Self> {
        fn at(field: &'static str) -> impl FnOnce(InvalidField) -> InvalidField {
            move |e| e.within(field)
        }
        Ok(match value {
            Kind::OrganizationRegistered(m) => {
                Event::OrganizationRegistered(m.try_into().map_err(at("organization_registered"))?)
            }
            Kind::MemberJoined(m) => Event::MemberJoined(m.try_into().map_err(at("member_joined"))?),
            Kind::MemberLeft(m) => Event::MemberLeft(m.try_into().map_err(at("member_left"))?),
            Kind::MemberRoleAssigned(m) => Event::MemberRoleAssigned(m.try_into().map_err(at("member_role_assigned"))?),
            Kind::ProgrammeLaunched(m) => Event::ProgrammeLaunched(m.try_into().map_err(at("programme_launched"))?),
            Kind::CellRegistered(m) => Event::CellRegistered(m.try_into().map_err(at("cell_registered"))?),
            Kind::CellSelected(m) => Event::CellSelected(m.try_into().map_err(at("cell_selected"))?),
            Kind::CellCertified(m) => Event::CellCertified(m.try_into().map_err(at("cell_certified"))?),
            Kind::CertificationRevoked(m) => {
                Event::CertificationRevoked(m.try_into().map_err(at("certification_revoked"))?)
            }
            Kind::MeetingHeld(m) => Event::MeetingHeld(m.try_into().map_err(at("meeting_held"))?),
            Kind::MemberSpoke(m) => Event::MemberSpoke(m.try_into().map_err(at("member_spoke"))?),
            Kind::MemberCommended(m) => Event::MemberCommended(m.try_into().map_err(at("member_commended"))?),
            Kind::MemberReminded(m) => Event::MemberReminded(m.try_into().map_err(at("member_reminded"))?),
            Kind::ResolutionAdopted(m) => Event::ResolutionAdopted(m.try_into().map_err(at("resolution_adopted"))?),
            Kind::TaskAssigned(m) => Event::TaskAssigned(m.try_into().map_err(at("task_assigned"))?),
            Kind::TaskCompleted(m) => Event::TaskCompleted(m.try_into().map_err(at("task_completed"))?),
            Kind::MeetingScored(m) => Event::MeetingScored(m.try_into().map_err(at("meeting_scored"))?),
            Kind::StudyPointsEarned(m) => Event::StudyPointsEarned(m.try_into().map_err(at("study_points_earned"))?),
            Kind::IndicatorsScored(m) => Event::IndicatorsScored(m.try_into().map_err(at("indicators_scored"))?),
            Kind::InspectionConducted(m) => {
                Event::InspectionConducted(m.try_into().map_err(at("inspection_conducted"))?)
            }
            Kind::CandidateTrained(m) => Event::CandidateTrained(m.try_into().map_err(at("candidate_trained"))?),
            Kind::MemberClassified(m) => Event::MemberClassified(m.try_into().map_err(at("member_classified"))?),
            Kind::CellClassified(m) => Event::CellClassified(m.try_into().map_err(at("cell_classified"))?),
            Kind::EventCorrected(m) => Event::EventCorrected((*m).try_into().map_err(at("event_corrected"))?),
            Kind::EventRetracted(m) => Event::EventRetracted(m.try_into().map_err(at("event_retracted"))?),
            Kind::SigningKeyRegistered(m) => {
                Event::SigningKeyRegistered(m.try_into().map_err(at("signing_key_registered"))?)
            }
            Kind::SigningKeyRevoked(m) => Event::SigningKeyRevoked(m.try_into().map_err(at("signing_key_revoked"))?),
            Kind::CheckpointSigned(m) => Event::CheckpointSigned(m.try_into().map_err(at("checkpoint_signed"))?),
            Kind::CredentialIssued(m) => Event::CredentialIssued(m.try_into().map_err(at("credential_issued"))?),
            Kind::CredentialRevoked(m) => Event::CredentialRevoked(m.try_into().map_err(at("credential_revoked"))?),
        })
    }
}

impl From<&Event> for pb::Event {
    fn from(value: &Event) -> Self {
        Self { kind: Some(value.into()) }
    }
}

impl From<&Event> for Kind {
    fn from(value: &Event) -> Self {
        match value {
            Event::OrganizationRegistered(e) => Kind::OrganizationRegistered(e.into()),
            Event::MemberJoined(e) => Kind::MemberJoined(e.into()),
            Event::MemberLeft(e) => Kind::MemberLeft(e.into()),
            Event::MemberRoleAssigned(e) => Kind::MemberRoleAssigned(e.into()),
            Event::ProgrammeLaunched(e) => Kind::ProgrammeLaunched(e.into()),
            Event::CellRegistered(e) => Kind::CellRegistered(e.into()),
            Event::CellSelected(e) => Kind::CellSelected(e.into()),
            Event::CellCertified(e) => Kind::CellCertified(e.into()),
            Event::CertificationRevoked(e) => Kind::CertificationRevoked(e.into()),
            Event::MeetingHeld(e) => Kind::MeetingHeld(e.into()),
            Event::MemberSpoke(e) => Kind::MemberSpoke(e.into()),
            Event::MemberCommended(e) => Kind::MemberCommended(e.into()),
            Event::MemberReminded(e) => Kind::MemberReminded(e.into()),
            Event::ResolutionAdopted(e) => Kind::ResolutionAdopted(e.into()),
            Event::TaskAssigned(e) => Kind::TaskAssigned(e.into()),
            Event::TaskCompleted(e) => Kind::TaskCompleted(e.into()),
            Event::MeetingScored(e) => Kind::MeetingScored(e.into()),
            Event::StudyPointsEarned(e) => Kind::StudyPointsEarned(e.into()),
            Event::IndicatorsScored(e) => Kind::IndicatorsScored(e.into()),
            Event::InspectionConducted(e) => Kind::InspectionConducted(e.into()),
            Event::CandidateTrained(e) => Kind::CandidateTrained(e.into()),
            Event::MemberClassified(e) => Kind::MemberClassified(e.into()),
            Event::CellClassified(e) => Kind::CellClassified(e.into()),
            Event::EventCorrected(e) => Kind::EventCorrected(Box::new(e.into())),
            Event::EventRetracted(e) => Kind::EventRetracted(e.into()),
            Event::SigningKeyRegistered(e) => Kind::SigningKeyRegistered(e.into()),
            Event::SigningKeyRevoked(e) => Kind::SigningKeyRevoked(e.into()),
            Event::CheckpointSigned(e) => Kind::CheckpointSigned(e.into()),
            Event::CredentialIssued(e) => Kind::CredentialIssued(e.into()),
            Event::CredentialRevoked(e) => Kind::CredentialRevoked(e.into()),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Field conversions the messages share

/// A domain enum and its wire enum: the same values, less the wire's `UNSPECIFIED`.
trait WireEnum: Sized + Copy + 'static {
    /// Every domain value.
    const ALL: &'static [Self];

    /// The value held in `field`. Unspecified is an error naming the `expected` values.
    fn from_wire(field: &str, value: i32, expected: &[Self]) -> Result<Self>;

    /// The wire value.
    fn to_wire(self) -> i32;
}

macro_rules! wire_enum {
    ($name:ident { $($variant:ident),+ $(,)? }) => {
        impl WireEnum for domain::$name {
            const ALL: &'static [Self] = domain::$name::ALL;

            fn from_wire(field: &str, value: i32, expected: &[Self]) -> Result<Self> {
                match pb::$name::try_from(value) {
                    Ok(pb::$name::Unspecified) => Err(InvalidField::new(
                        field,
                        format!("is unspecified; {}", Self::expected_one_of(expected)),
                    )),
                    $(Ok(pb::$name::$variant) => Ok(Self::$variant),)+
                    Err(_) => Err(InvalidField::new(field, format!("has unknown value {value}"))),
                }
            }

            fn to_wire(self) -> i32 {
                let wire = match self {
                    $(Self::$variant => pb::$name::$variant,)+
                };
                wire.into()
            }
        }
    };
}

wire_enum!(OrgLevel { Province, Bloc, District, Grassroots, Cell });
wire_enum!(MembershipChange { Admitted, TransferredIn, TransferredOut, Removed, Deceased });
wire_enum!(MemberRole { Secretary, DeputySecretary, CommitteeMember, Member });
wire_enum!(MeetingKind { Regular, Thematic, Extraordinary });
wire_enum!(AttendanceStatus { Present, Excused, Unexcused });
wire_enum!(CheckInSource { Paper, App });
wire_enum!(ReminderSeverity { Reminder, Criticism });
wire_enum!(ScoredBy { Cell, Committee });
wire_enum!(InspectionConclusion { Passed, NeedsImprovement, Failed });
wire_enum!(ClassificationLevel { Excellent, Good, Completed, NotCompleted });
wire_enum!(KeyAlgorithm { Ed25519 });
wire_enum!(Role { Recorder, Committee, Inspector, Member, Admin });
wire_enum!(CredentialKind { Token, Certificate });

/// The enum value held in `field`, any of the domain's values.
fn enum_field<T: WireEnum>(field: &str, value: i32) -> Result<T> {
    T::from_wire(field, value, T::ALL)
}

/// The sub-message held in `field`; `None` (the field left out) is an error.
fn message<W, D>(field: &str, value: Option<W>, convert: impl FnOnce(W) -> Result<D>) -> Result<D> {
    let value = value.ok_or_else(|| InvalidField::new(field, "is missing"))?;
    convert(value).map_err(|e| e.within(field))
}

/// The entries of the repeated `field`, each error naming its index.
fn list<W, D>(field: &str, values: Vec<W>, convert: impl Fn(W) -> Result<D>) -> Result<Vec<D>> {
    values
        .into_iter()
        .enumerate()
        .map(|(i, value)| convert(value).map_err(|e| e.within(format!("{field}[{i}]"))))
        .collect()
}

/// A SHA-256 digest held in `field`.
fn digest(field: &str, value: &[u8]) -> Result<[u8; 32]> {
    value
        .try_into()
        .map_err(|_| InvalidField::new(field, format!("is {} bytes; a SHA-256 digest is 32 bytes", value.len())))
}

/// A year held in `field`. The domain checks the range; this only narrows the integer.
fn year(field: &str, value: u32) -> Result<u16> {
    u16::try_from(value)
        .map_err(|_| InvalidField::new(field, format!("is {value}; years run from {MIN_YEAR} to {MAX_YEAR}")))
}

/// The wire form of an optional id or date: empty for `None`.
fn optional<T: ToString>(value: &Option<T>) -> String {
    value.as_ref().map(ToString::to_string).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Organizations and members

impl TryFrom<pb::OrganizationRegistered> for domain::OrganizationRegistered {
    type Error = InvalidField;

    fn try_from(value: pb::OrganizationRegistered) -> Result<Self> {
        let pb::OrganizationRegistered { org_id, parent_id, level, name, cell_type } = value;
        Self::new(domain::OrganizationRegisteredFields {
            org_id: Id::parse_owned("org_id", org_id)?,
            parent_id: Id::parse_optional_owned("parent_id", parent_id)?,
            level: enum_field("level", level)?,
            name,
            cell_type,
        })
    }
}

impl From<&domain::OrganizationRegistered> for pb::OrganizationRegistered {
    fn from(value: &domain::OrganizationRegistered) -> Self {
        let domain::OrganizationRegisteredFields { org_id, parent_id, level, name, cell_type } = &**value;
        Self {
            org_id: org_id.to_string(),
            parent_id: optional(parent_id),
            level: level.to_wire(),
            name: name.clone(),
            cell_type: cell_type.clone(),
        }
    }
}

impl TryFrom<pb::MemberJoined> for domain::MemberJoined {
    type Error = InvalidField;

    fn try_from(value: pb::MemberJoined) -> Result<Self> {
        let pb::MemberJoined { member_id, name, date, how, transfer_cell_id } = value;
        Self::new(domain::MemberJoinedFields {
            member_id: Id::parse_owned("member_id", member_id)?,
            name,
            date: Date::parse("date", &date)?,
            how: WireEnum::from_wire("how", how, domain::MembershipChange::JOINING)?,
            transfer_cell_id: Id::parse_optional_owned("transfer_cell_id", transfer_cell_id)?,
        })
    }
}

impl From<&domain::MemberJoined> for pb::MemberJoined {
    fn from(value: &domain::MemberJoined) -> Self {
        let domain::MemberJoinedFields { member_id, name, date, how, transfer_cell_id } = &**value;
        Self {
            member_id: member_id.to_string(),
            name: name.clone(),
            date: date.to_string(),
            how: how.to_wire(),
            transfer_cell_id: optional(transfer_cell_id),
        }
    }
}

impl TryFrom<pb::MemberLeft> for domain::MemberLeft {
    type Error = InvalidField;

    fn try_from(value: pb::MemberLeft) -> Result<Self> {
        let pb::MemberLeft { member_id, date, how, transfer_cell_id, reason } = value;
        Self::new(domain::MemberLeftFields {
            member_id: Id::parse_owned("member_id", member_id)?,
            date: Date::parse("date", &date)?,
            how: WireEnum::from_wire("how", how, domain::MembershipChange::LEAVING)?,
            transfer_cell_id: Id::parse_optional_owned("transfer_cell_id", transfer_cell_id)?,
            reason,
        })
    }
}

impl From<&domain::MemberLeft> for pb::MemberLeft {
    fn from(value: &domain::MemberLeft) -> Self {
        let domain::MemberLeftFields { member_id, date, how, transfer_cell_id, reason } = &**value;
        Self {
            member_id: member_id.to_string(),
            date: date.to_string(),
            how: how.to_wire(),
            transfer_cell_id: optional(transfer_cell_id),
            reason: reason.clone(),
        }
    }
}

impl TryFrom<pb::MemberRoleAssigned> for domain::MemberRoleAssigned {
    type Error = InvalidField;

    fn try_from(value: pb::MemberRoleAssigned) -> Result<Self> {
        let pb::MemberRoleAssigned { member_id, role, date } = value;
        Self::new(domain::MemberRoleAssignedFields {
            member_id: Id::parse_owned("member_id", member_id)?,
            role: enum_field("role", role)?,
            date: Date::parse("date", &date)?,
        })
    }
}

impl From<&domain::MemberRoleAssigned> for pb::MemberRoleAssigned {
    fn from(value: &domain::MemberRoleAssigned) -> Self {
        let domain::MemberRoleAssignedFields { member_id, role, date } = &**value;
        Self { member_id: member_id.to_string(), role: role.to_wire(), date: date.to_string() }
    }
}

// ---------------------------------------------------------------------------------------------
// Programmes

impl TryFrom<pb::Indicator> for domain::Indicator {
    type Error = InvalidField;

    fn try_from(value: pb::Indicator) -> Result<Self> {
        let pb::Indicator { indicator_id, name, max_points } = value;
        Self::new(domain::IndicatorFields {
            indicator_id: Id::parse_owned("indicator_id", indicator_id)?,
            name,
            max_points,
        })
    }
}

impl From<&domain::Indicator> for pb::Indicator {
    fn from(value: &domain::Indicator) -> Self {
        let domain::IndicatorFields { indicator_id, name, max_points } = &**value;
        Self { indicator_id: indicator_id.to_string(), name: name.clone(), max_points: *max_points }
    }
}

impl TryFrom<pb::Criterion> for domain::Criterion {
    type Error = InvalidField;

    fn try_from(value: pb::Criterion) -> Result<Self> {
        let pb::Criterion { criterion_id, name, hard, indicators } = value;
        Self::new(domain::CriterionFields {
            criterion_id: Id::parse_owned("criterion_id", criterion_id)?,
            name,
            hard,
            indicators: list("indicators", indicators, domain::Indicator::try_from)?,
        })
    }
}

impl From<&domain::Criterion> for pb::Criterion {
    fn from(value: &domain::Criterion) -> Self {
        let domain::CriterionFields { criterion_id, name, hard, indicators } = &**value;
        Self {
            criterion_id: criterion_id.to_string(),
            name: name.clone(),
            hard: *hard,
            indicators: indicators.iter().map(Into::into).collect(),
        }
    }
}

impl TryFrom<pb::CriteriaFramework> for domain::CriteriaFramework {
    type Error = InvalidField;

    fn try_from(value: pb::CriteriaFramework) -> Result<Self> {
        let pb::CriteriaFramework { criteria } = value;
        Self::new(domain::CriteriaFrameworkFields {
            criteria: list("criteria", criteria, domain::Criterion::try_from)?,
        })
    }
}

impl From<&domain::CriteriaFramework> for pb::CriteriaFramework {
    fn from(value: &domain::CriteriaFramework) -> Self {
        let domain::CriteriaFrameworkFields { criteria } = &**value;
        Self { criteria: criteria.iter().map(Into::into).collect() }
    }
}

impl TryFrom<pb::RuleSetRef> for domain::RuleSetRef {
    type Error = InvalidField;

    fn try_from(value: pb::RuleSetRef) -> Result<Self> {
        let pb::RuleSetRef { name, version } = value;
        Self::new(domain::RuleSetRefFields { name: Id::parse_owned("name", name)?, version })
    }
}

impl From<&domain::RuleSetRef> for pb::RuleSetRef {
    fn from(value: &domain::RuleSetRef) -> Self {
        let domain::RuleSetRefFields { name, version } = &**value;
        Self { name: name.to_string(), version: *version }
    }
}

impl TryFrom<pb::ProgrammeLaunched> for domain::ProgrammeLaunched {
    type Error = InvalidField;

    fn try_from(value: pb::ProgrammeLaunched) -> Result<Self> {
        let pb::ProgrammeLaunched {
            programme_id,
            year: programme_year,
            name,
            framework,
            certification_threshold,
            rule_sets,
            monthly_study_points_minimum,
        } = value;
        Self::new(domain::ProgrammeLaunchedFields {
            programme_id: Id::parse_owned("programme_id", programme_id)?,
            year: year("year", programme_year)?,
            name,
            framework: message("framework", framework, domain::CriteriaFramework::try_from)?,
            certification_threshold,
            rule_sets: list("rule_sets", rule_sets, domain::RuleSetRef::try_from)?,
            monthly_study_points_minimum,
        })
    }
}

impl From<&domain::ProgrammeLaunched> for pb::ProgrammeLaunched {
    fn from(value: &domain::ProgrammeLaunched) -> Self {
        let domain::ProgrammeLaunchedFields {
            programme_id,
            year,
            name,
            framework,
            certification_threshold,
            rule_sets,
            monthly_study_points_minimum,
        } = &**value;
        Self {
            programme_id: programme_id.to_string(),
            year: u32::from(*year),
            name: name.clone(),
            framework: Some(framework.into()),
            certification_threshold: *certification_threshold,
            rule_sets: rule_sets.iter().map(Into::into).collect(),
            monthly_study_points_minimum: *monthly_study_points_minimum,
        }
    }
}

impl TryFrom<pb::CellRegistered> for domain::CellRegistered {
    type Error = InvalidField;

    fn try_from(value: pb::CellRegistered) -> Result<Self> {
        let pb::CellRegistered { programme_id, date } = value;
        Self::new(domain::CellRegisteredFields {
            programme_id: Id::parse_owned("programme_id", programme_id)?,
            date: Date::parse("date", &date)?,
        })
    }
}

impl From<&domain::CellRegistered> for pb::CellRegistered {
    fn from(value: &domain::CellRegistered) -> Self {
        let domain::CellRegisteredFields { programme_id, date } = &**value;
        Self { programme_id: programme_id.to_string(), date: date.to_string() }
    }
}

impl TryFrom<pb::CellSelected> for domain::CellSelected {
    type Error = InvalidField;

    fn try_from(value: pb::CellSelected) -> Result<Self> {
        let pb::CellSelected { programme_id, cell_id, decision_number, date } = value;
        Self::new(domain::CellSelectedFields {
            programme_id: Id::parse_owned("programme_id", programme_id)?,
            cell_id: Id::parse_owned("cell_id", cell_id)?,
            decision_number,
            date: Date::parse("date", &date)?,
        })
    }
}

impl From<&domain::CellSelected> for pb::CellSelected {
    fn from(value: &domain::CellSelected) -> Self {
        let domain::CellSelectedFields { programme_id, cell_id, decision_number, date } = &**value;
        Self {
            programme_id: programme_id.to_string(),
            cell_id: cell_id.to_string(),
            decision_number: decision_number.clone(),
            date: date.to_string(),
        }
    }
}

impl TryFrom<pb::CellCertified> for domain::CellCertified {
    type Error = InvalidField;

    fn try_from(value: pb::CellCertified) -> Result<Self> {
        let pb::CellCertified { programme_id, cell_id, decision_number, date, score } = value;
        Self::new(domain::CellCertifiedFields {
            programme_id: Id::parse_owned("programme_id", programme_id)?,
            cell_id: Id::parse_owned("cell_id", cell_id)?,
            decision_number,
            date: Date::parse("date", &date)?,
            score,
        })
    }
}

impl From<&domain::CellCertified> for pb::CellCertified {
    fn from(value: &domain::CellCertified) -> Self {
        let domain::CellCertifiedFields { programme_id, cell_id, decision_number, date, score } = &**value;
        Self {
            programme_id: programme_id.to_string(),
            cell_id: cell_id.to_string(),
            decision_number: decision_number.clone(),
            date: date.to_string(),
            score: *score,
        }
    }
}

impl TryFrom<pb::CertificationRevoked> for domain::CertificationRevoked {
    type Error = InvalidField;

    fn try_from(value: pb::CertificationRevoked) -> Result<Self> {
        let pb::CertificationRevoked { programme_id, cell_id, decision_number, date, reason } = value;
        Self::new(domain::CertificationRevokedFields {
            programme_id: Id::parse_owned("programme_id", programme_id)?,
            cell_id: Id::parse_owned("cell_id", cell_id)?,
            decision_number,
            date: Date::parse("date", &date)?,
            reason,
        })
    }
}

impl From<&domain::CertificationRevoked> for pb::CertificationRevoked {
    fn from(value: &domain::CertificationRevoked) -> Self {
        let domain::CertificationRevokedFields { programme_id, cell_id, decision_number, date, reason } = &**value;
        Self {
            programme_id: programme_id.to_string(),
            cell_id: cell_id.to_string(),
            decision_number: decision_number.clone(),
            date: date.to_string(),
            reason: reason.clone(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Meetings

impl TryFrom<pb::Attendance> for domain::Attendance {
    type Error = InvalidField;

    fn try_from(value: pb::Attendance) -> Result<Self> {
        let pb::Attendance { member_id, status, reason } = value;
        Self::new(domain::AttendanceFields {
            member_id: Id::parse_owned("member_id", member_id)?,
            status: enum_field("status", status)?,
            reason,
        })
    }
}

impl From<&domain::Attendance> for pb::Attendance {
    fn from(value: &domain::Attendance) -> Self {
        let domain::AttendanceFields { member_id, status, reason } = &**value;
        Self { member_id: member_id.to_string(), status: status.to_wire(), reason: reason.clone() }
    }
}

impl TryFrom<pb::Guest> for domain::Guest {
    type Error = InvalidField;

    fn try_from(value: pb::Guest) -> Result<Self> {
        let pb::Guest { name, committee_id, position } = value;
        Self::new(domain::GuestFields { name, committee_id: Id::parse_owned("committee_id", committee_id)?, position })
    }
}

impl From<&domain::Guest> for pb::Guest {
    fn from(value: &domain::Guest) -> Self {
        let domain::GuestFields { name, committee_id, position } = &**value;
        Self { name: name.clone(), committee_id: committee_id.to_string(), position: position.clone() }
    }
}

impl TryFrom<pb::MeetingHeld> for domain::MeetingHeld {
    type Error = InvalidField;

    fn try_from(value: pb::MeetingHeld) -> Result<Self> {
        let pb::MeetingHeld {
            meeting_id,
            kind,
            date,
            duration_minutes,
            topic,
            minutes,
            attendance,
            guests,
            check_in_source,
            documents_posted_on,
            committee_prepared,
        } = value;
        Self::new(domain::MeetingHeldFields {
            meeting_id: Id::parse_owned("meeting_id", meeting_id)?,
            kind: enum_field("kind", kind)?,
            date: Date::parse("date", &date)?,
            duration_minutes,
            topic,
            minutes,
            attendance: list("attendance", attendance, domain::Attendance::try_from)?,
            guests: list("guests", guests, domain::Guest::try_from)?,
            check_in_source: enum_field("check_in_source", check_in_source)?,
            documents_posted_on: Date::parse_optional("documents_posted_on", &documents_posted_on)?,
            committee_prepared,
        })
    }
}

impl From<&domain::MeetingHeld> for pb::MeetingHeld {
    fn from(value: &domain::MeetingHeld) -> Self {
        let domain::MeetingHeldFields {
            meeting_id,
            kind,
            date,
            duration_minutes,
            topic,
            minutes,
            attendance,
            guests,
            check_in_source,
            documents_posted_on,
            committee_prepared,
        } = &**value;
        Self {
            meeting_id: meeting_id.to_string(),
            kind: kind.to_wire(),
            date: date.to_string(),
            duration_minutes: *duration_minutes,
            topic: topic.clone(),
            minutes: minutes.clone(),
            attendance: attendance.iter().map(Into::into).collect(),
            guests: guests.iter().map(Into::into).collect(),
            check_in_source: check_in_source.to_wire(),
            documents_posted_on: optional(documents_posted_on),
            committee_prepared: *committee_prepared,
        }
    }
}

impl TryFrom<pb::MemberSpoke> for domain::MemberSpoke {
    type Error = InvalidField;

    fn try_from(value: pb::MemberSpoke) -> Result<Self> {
        let pb::MemberSpoke { meeting_id, member_id, summary } = value;
        Self::new(domain::MemberSpokeFields {
            meeting_id: Id::parse_owned("meeting_id", meeting_id)?,
            member_id: Id::parse_owned("member_id", member_id)?,
            summary,
        })
    }
}

impl From<&domain::MemberSpoke> for pb::MemberSpoke {
    fn from(value: &domain::MemberSpoke) -> Self {
        let domain::MemberSpokeFields { meeting_id, member_id, summary } = &**value;
        Self { meeting_id: meeting_id.to_string(), member_id: member_id.to_string(), summary: summary.clone() }
    }
}

impl TryFrom<pb::MemberCommended> for domain::MemberCommended {
    type Error = InvalidField;

    fn try_from(value: pb::MemberCommended) -> Result<Self> {
        let pb::MemberCommended { meeting_id, member_id, reason } = value;
        Self::new(domain::MemberCommendedFields {
            meeting_id: Id::parse_owned("meeting_id", meeting_id)?,
            member_id: Id::parse_owned("member_id", member_id)?,
            reason,
        })
    }
}

impl From<&domain::MemberCommended> for pb::MemberCommended {
    fn from(value: &domain::MemberCommended) -> Self {
        let domain::MemberCommendedFields { meeting_id, member_id, reason } = &**value;
        Self { meeting_id: meeting_id.to_string(), member_id: member_id.to_string(), reason: reason.clone() }
    }
}

impl TryFrom<pb::MemberReminded> for domain::MemberReminded {
    type Error = InvalidField;

    fn try_from(value: pb::MemberReminded) -> Result<Self> {
        let pb::MemberReminded { meeting_id, member_id, reason, severity } = value;
        Self::new(domain::MemberRemindedFields {
            meeting_id: Id::parse_owned("meeting_id", meeting_id)?,
            member_id: Id::parse_owned("member_id", member_id)?,
            reason,
            severity: enum_field("severity", severity)?,
        })
    }
}

impl From<&domain::MemberReminded> for pb::MemberReminded {
    fn from(value: &domain::MemberReminded) -> Self {
        let domain::MemberRemindedFields { meeting_id, member_id, reason, severity } = &**value;
        Self {
            meeting_id: meeting_id.to_string(),
            member_id: member_id.to_string(),
            reason: reason.clone(),
            severity: severity.to_wire(),
        }
    }
}

impl TryFrom<pb::ResolutionAdopted> for domain::ResolutionAdopted {
    type Error = InvalidField;

    fn try_from(value: pb::ResolutionAdopted) -> Result<Self> {
        let pb::ResolutionAdopted { meeting_id, resolution_id, title, summary } = value;
        Self::new(domain::ResolutionAdoptedFields {
            meeting_id: Id::parse_owned("meeting_id", meeting_id)?,
            resolution_id: Id::parse_owned("resolution_id", resolution_id)?,
            title,
            summary,
        })
    }
}

impl From<&domain::ResolutionAdopted> for pb::ResolutionAdopted {
    fn from(value: &domain::ResolutionAdopted) -> Self {
        let domain::ResolutionAdoptedFields { meeting_id, resolution_id, title, summary } = &**value;
        Self {
            meeting_id: meeting_id.to_string(),
            resolution_id: resolution_id.to_string(),
            title: title.clone(),
            summary: summary.clone(),
        }
    }
}

impl TryFrom<pb::TaskAssigned> for domain::TaskAssigned {
    type Error = InvalidField;

    fn try_from(value: pb::TaskAssigned) -> Result<Self> {
        let pb::TaskAssigned { task_id, resolution_id, member_id, description, due } = value;
        Self::new(domain::TaskAssignedFields {
            task_id: Id::parse_owned("task_id", task_id)?,
            resolution_id: Id::parse_optional_owned("resolution_id", resolution_id)?,
            member_id: Id::parse_owned("member_id", member_id)?,
            description,
            due: Date::parse("due", &due)?,
        })
    }
}

impl From<&domain::TaskAssigned> for pb::TaskAssigned {
    fn from(value: &domain::TaskAssigned) -> Self {
        let domain::TaskAssignedFields { task_id, resolution_id, member_id, description, due } = &**value;
        Self {
            task_id: task_id.to_string(),
            resolution_id: optional(resolution_id),
            member_id: member_id.to_string(),
            description: description.clone(),
            due: due.to_string(),
        }
    }
}

impl TryFrom<pb::TaskCompleted> for domain::TaskCompleted {
    type Error = InvalidField;

    fn try_from(value: pb::TaskCompleted) -> Result<Self> {
        let pb::TaskCompleted { task_id, member_id, date, outcome } = value;
        Self::new(domain::TaskCompletedFields {
            task_id: Id::parse_owned("task_id", task_id)?,
            member_id: Id::parse_owned("member_id", member_id)?,
            date: Date::parse("date", &date)?,
            outcome,
        })
    }
}

impl From<&domain::TaskCompleted> for pb::TaskCompleted {
    fn from(value: &domain::TaskCompleted) -> Self {
        let domain::TaskCompletedFields { task_id, member_id, date, outcome } = &**value;
        Self {
            task_id: task_id.to_string(),
            member_id: member_id.to_string(),
            date: date.to_string(),
            outcome: outcome.clone(),
        }
    }
}

impl TryFrom<pb::ScorePart> for domain::ScorePart {
    type Error = InvalidField;

    fn try_from(value: pb::ScorePart) -> Result<Self> {
        let pb::ScorePart { part, points } = value;
        Self::new(domain::ScorePartFields { part, points })
    }
}

impl From<&domain::ScorePart> for pb::ScorePart {
    fn from(value: &domain::ScorePart) -> Self {
        let domain::ScorePartFields { part, points } = &**value;
        Self { part: part.clone(), points: *points }
    }
}

impl TryFrom<pb::MeetingScored> for domain::MeetingScored {
    type Error = InvalidField;

    fn try_from(value: pb::MeetingScored) -> Result<Self> {
        let pb::MeetingScored { meeting_id, rubric, parts, scorer } = value;
        Self::new(domain::MeetingScoredFields {
            meeting_id: Id::parse_owned("meeting_id", meeting_id)?,
            rubric: message("rubric", rubric, domain::RuleSetRef::try_from)?,
            parts: list("parts", parts, domain::ScorePart::try_from)?,
            scorer: Id::parse_owned("scorer", scorer)?,
        })
    }
}

impl From<&domain::MeetingScored> for pb::MeetingScored {
    fn from(value: &domain::MeetingScored) -> Self {
        let domain::MeetingScoredFields { meeting_id, rubric, parts, scorer } = &**value;
        Self {
            meeting_id: meeting_id.to_string(),
            rubric: Some(rubric.into()),
            parts: parts.iter().map(Into::into).collect(),
            scorer: scorer.to_string(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Points

impl TryFrom<pb::StudyPointsEarned> for domain::StudyPointsEarned {
    type Error = InvalidField;

    fn try_from(value: pb::StudyPointsEarned) -> Result<Self> {
        let pb::StudyPointsEarned { member_id, points, date, activity, source_ref } = value;
        Self::new(domain::StudyPointsEarnedFields {
            member_id: Id::parse_owned("member_id", member_id)?,
            points,
            date: Date::parse("date", &date)?,
            activity: shared::text(&activity),
            source_ref: source_ref.into(),
        })
    }
}

impl From<&domain::StudyPointsEarned> for pb::StudyPointsEarned {
    fn from(value: &domain::StudyPointsEarned) -> Self {
        let domain::StudyPointsEarnedFields { member_id, points, date, activity, source_ref } = &**value;
        Self {
            member_id: member_id.to_string(),
            points: *points,
            date: date.to_string(),
            activity: activity.to_string(),
            source_ref: source_ref.to_string(),
        }
    }
}

impl TryFrom<pb::IndicatorScore> for domain::IndicatorScore {
    type Error = InvalidField;

    fn try_from(value: pb::IndicatorScore) -> Result<Self> {
        let pb::IndicatorScore { indicator_id, points } = value;
        Ok(Self { indicator_id: Id::parse_owned("indicator_id", indicator_id)?, points })
    }
}

impl From<&domain::IndicatorScore> for pb::IndicatorScore {
    fn from(value: &domain::IndicatorScore) -> Self {
        let domain::IndicatorScore { indicator_id, points } = value;
        Self { indicator_id: indicator_id.to_string(), points: *points }
    }
}

impl TryFrom<pb::IndicatorsScored> for domain::IndicatorsScored {
    type Error = InvalidField;

    fn try_from(value: pb::IndicatorsScored) -> Result<Self> {
        let pb::IndicatorsScored { programme_id, period, scores, scored_by } = value;
        Self::new(domain::IndicatorsScoredFields {
            programme_id: Id::parse_owned("programme_id", programme_id)?,
            period: Period::parse("period", &period)?,
            scores: list("scores", scores, domain::IndicatorScore::try_from)?,
            scored_by: enum_field("scored_by", scored_by)?,
        })
    }
}

impl From<&domain::IndicatorsScored> for pb::IndicatorsScored {
    fn from(value: &domain::IndicatorsScored) -> Self {
        let domain::IndicatorsScoredFields { programme_id, period, scores, scored_by } = &**value;
        Self {
            programme_id: programme_id.to_string(),
            period: period.to_string(),
            scores: scores.iter().map(Into::into).collect(),
            scored_by: scored_by.to_wire(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Inspections, development, classification

impl TryFrom<pb::CriterionCheck> for domain::CriterionCheck {
    type Error = InvalidField;

    fn try_from(value: pb::CriterionCheck) -> Result<Self> {
        let pb::CriterionCheck { criterion_id, met } = value;
        Ok(Self { criterion_id: Id::parse_owned("criterion_id", criterion_id)?, met })
    }
}

impl From<&domain::CriterionCheck> for pb::CriterionCheck {
    fn from(value: &domain::CriterionCheck) -> Self {
        let domain::CriterionCheck { criterion_id, met } = value;
        Self { criterion_id: criterion_id.to_string(), met: *met }
    }
}

impl TryFrom<pb::InspectionConducted> for domain::InspectionConducted {
    type Error = InvalidField;

    fn try_from(value: pb::InspectionConducted) -> Result<Self> {
        let pb::InspectionConducted { inspection_id, cell_id, date, findings, conclusion, programme_id, criteria } =
            value;
        Self::new(domain::InspectionConductedFields {
            inspection_id: Id::parse_owned("inspection_id", inspection_id)?,
            cell_id: Id::parse_owned("cell_id", cell_id)?,
            date: Date::parse("date", &date)?,
            findings,
            conclusion: enum_field("conclusion", conclusion)?,
            programme_id: Id::parse_optional_owned("programme_id", programme_id)?,
            criteria: list("criteria", criteria, domain::CriterionCheck::try_from)?,
        })
    }
}

impl From<&domain::InspectionConducted> for pb::InspectionConducted {
    fn from(value: &domain::InspectionConducted) -> Self {
        let domain::InspectionConductedFields {
            inspection_id,
            cell_id,
            date,
            findings,
            conclusion,
            programme_id,
            criteria,
        } = &**value;
        Self {
            inspection_id: inspection_id.to_string(),
            cell_id: cell_id.to_string(),
            date: date.to_string(),
            findings: findings.clone(),
            conclusion: conclusion.to_wire(),
            programme_id: optional(programme_id),
            criteria: criteria.iter().map(Into::into).collect(),
        }
    }
}

impl TryFrom<pb::CandidateTrained> for domain::CandidateTrained {
    type Error = InvalidField;

    fn try_from(value: pb::CandidateTrained) -> Result<Self> {
        let pb::CandidateTrained { candidate_id, name, course, date } = value;
        Self::new(domain::CandidateTrainedFields {
            candidate_id: Id::parse_owned("candidate_id", candidate_id)?,
            name,
            course,
            date: Date::parse("date", &date)?,
        })
    }
}

impl From<&domain::CandidateTrained> for pb::CandidateTrained {
    fn from(value: &domain::CandidateTrained) -> Self {
        let domain::CandidateTrainedFields { candidate_id, name, course, date } = &**value;
        Self {
            candidate_id: candidate_id.to_string(),
            name: name.clone(),
            course: course.clone(),
            date: date.to_string(),
        }
    }
}

impl TryFrom<pb::MemberClassified> for domain::MemberClassified {
    type Error = InvalidField;

    fn try_from(value: pb::MemberClassified) -> Result<Self> {
        let pb::MemberClassified { year: classified_year, cell_id, member_id, level, rule_set, evaluation_digest } =
            value;
        Self::new(domain::MemberClassifiedFields {
            year: year("year", classified_year)?,
            cell_id: Id::parse_owned("cell_id", cell_id)?,
            member_id: Id::parse_owned("member_id", member_id)?,
            level: enum_field("level", level)?,
            rule_set: message("rule_set", rule_set, domain::RuleSetRef::try_from)?,
            evaluation_digest: digest("evaluation_digest", &evaluation_digest)?,
        })
    }
}

impl From<&domain::MemberClassified> for pb::MemberClassified {
    fn from(value: &domain::MemberClassified) -> Self {
        let domain::MemberClassifiedFields { year, cell_id, member_id, level, rule_set, evaluation_digest } = &**value;
        Self {
            year: u32::from(*year),
            cell_id: cell_id.to_string(),
            member_id: member_id.to_string(),
            level: level.to_wire(),
            rule_set: Some(rule_set.into()),
            evaluation_digest: evaluation_digest.to_vec(),
        }
    }
}

impl TryFrom<pb::CellClassified> for domain::CellClassified {
    type Error = InvalidField;

    fn try_from(value: pb::CellClassified) -> Result<Self> {
        let pb::CellClassified { year: classified_year, cell_id, level, rule_set, evaluation_digest } = value;
        Self::new(domain::CellClassifiedFields {
            year: year("year", classified_year)?,
            cell_id: Id::parse_owned("cell_id", cell_id)?,
            level: enum_field("level", level)?,
            rule_set: message("rule_set", rule_set, domain::RuleSetRef::try_from)?,
            evaluation_digest: digest("evaluation_digest", &evaluation_digest)?,
        })
    }
}

impl From<&domain::CellClassified> for pb::CellClassified {
    fn from(value: &domain::CellClassified) -> Self {
        let domain::CellClassifiedFields { year, cell_id, level, rule_set, evaluation_digest } = &**value;
        Self {
            year: u32::from(*year),
            cell_id: cell_id.to_string(),
            level: level.to_wire(),
            rule_set: Some(rule_set.into()),
            evaluation_digest: evaluation_digest.to_vec(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Corrections

impl TryFrom<pb::EventCorrected> for domain::EventCorrected {
    type Error = InvalidField;

    fn try_from(value: pb::EventCorrected) -> Result<Self> {
        let pb::EventCorrected { target_event_id, reason, replacement } = value;
        Self::new(domain::EventCorrectedFields {
            target_event_id: EventId::parse("target_event_id", &target_event_id)?,
            reason,
            replacement: Box::new(nested_event("replacement", replacement.map(|e| *e))?),
        })
    }
}

impl From<&domain::EventCorrected> for pb::EventCorrected {
    fn from(value: &domain::EventCorrected) -> Self {
        let domain::EventCorrectedFields { target_event_id, reason, replacement } = &**value;
        Self {
            target_event_id: target_event_id.to_string(),
            reason: reason.clone(),
            replacement: Some(Box::new(replacement.as_ref().into())),
        }
    }
}

impl TryFrom<pb::EventRetracted> for domain::EventRetracted {
    type Error = InvalidField;

    fn try_from(value: pb::EventRetracted) -> Result<Self> {
        let pb::EventRetracted { target_event_id, reason } = value;
        Self::new(domain::EventRetractedFields {
            target_event_id: EventId::parse("target_event_id", &target_event_id)?,
            reason,
        })
    }
}

impl From<&domain::EventRetracted> for pb::EventRetracted {
    fn from(value: &domain::EventRetracted) -> Self {
        let domain::EventRetractedFields { target_event_id, reason } = &**value;
        Self { target_event_id: target_event_id.to_string(), reason: reason.clone() }
    }
}

// ---------------------------------------------------------------------------------------------
// Keys and checkpoints

impl TryFrom<pb::SigningKeyRegistered> for domain::SigningKeyRegistered {
    type Error = InvalidField;

    fn try_from(value: pb::SigningKeyRegistered) -> Result<Self> {
        let pb::SigningKeyRegistered { key_id, principal, algorithm, public_key } = value;
        Self::new(domain::SigningKeyRegisteredFields {
            key_id: Id::parse_owned("key_id", key_id)?,
            principal,
            algorithm: enum_field("algorithm", algorithm)?,
            public_key,
        })
    }
}

impl From<&domain::SigningKeyRegistered> for pb::SigningKeyRegistered {
    fn from(value: &domain::SigningKeyRegistered) -> Self {
        let domain::SigningKeyRegisteredFields { key_id, principal, algorithm, public_key } = &**value;
        Self {
            key_id: key_id.to_string(),
            principal: principal.clone(),
            algorithm: algorithm.to_wire(),
            public_key: public_key.clone(),
        }
    }
}

impl TryFrom<pb::SigningKeyRevoked> for domain::SigningKeyRevoked {
    type Error = InvalidField;

    fn try_from(value: pb::SigningKeyRevoked) -> Result<Self> {
        let pb::SigningKeyRevoked { key_id, reason } = value;
        Self::new(domain::SigningKeyRevokedFields { key_id: Id::parse_owned("key_id", key_id)?, reason })
    }
}

impl From<&domain::SigningKeyRevoked> for pb::SigningKeyRevoked {
    fn from(value: &domain::SigningKeyRevoked) -> Self {
        let domain::SigningKeyRevokedFields { key_id, reason } = &**value;
        Self { key_id: key_id.to_string(), reason: reason.clone() }
    }
}

impl TryFrom<pb::CheckpointSigned> for domain::CheckpointSigned {
    type Error = InvalidField;

    fn try_from(value: pb::CheckpointSigned) -> Result<Self> {
        let pb::CheckpointSigned { note } = value;
        Self::new(domain::CheckpointSignedFields { note })
    }
}

impl From<&domain::CheckpointSigned> for pb::CheckpointSigned {
    fn from(value: &domain::CheckpointSigned) -> Self {
        let domain::CheckpointSignedFields { note } = &**value;
        Self { note: note.clone() }
    }
}

impl TryFrom<pb::CredentialIssued> for domain::CredentialIssued {
    type Error = InvalidField;

    fn try_from(value: pb::CredentialIssued) -> Result<Self> {
        let pb::CredentialIssued { credential_id, principal, role, scope_org_id, member_id, kind, digest } = value;
        Self::new(domain::CredentialIssuedFields {
            credential_id: Id::parse_owned("credential_id", credential_id)?,
            principal,
            role: enum_field("role", role)?,
            scope_org_id: Id::parse_optional_owned("scope_org_id", scope_org_id)?,
            member_id: Id::parse_optional_owned("member_id", member_id)?,
            kind: enum_field("kind", kind)?,
            digest,
        })
    }
}

impl From<&domain::CredentialIssued> for pb::CredentialIssued {
    fn from(value: &domain::CredentialIssued) -> Self {
        let domain::CredentialIssuedFields { credential_id, principal, role, scope_org_id, member_id, kind, digest } =
            &**value;
        Self {
            credential_id: credential_id.to_string(),
            principal: principal.clone(),
            role: role.to_wire(),
            scope_org_id: scope_org_id.as_ref().map(Id::to_string).unwrap_or_default(),
            member_id: member_id.as_ref().map(Id::to_string).unwrap_or_default(),
            kind: kind.to_wire(),
            digest: digest.clone(),
        }
    }
}

impl TryFrom<pb::CredentialRevoked> for domain::CredentialRevoked {
    type Error = InvalidField;

    fn try_from(value: pb::CredentialRevoked) -> Result<Self> {
        let pb::CredentialRevoked { credential_id, reason } = value;
        Self::new(domain::CredentialRevokedFields {
            credential_id: Id::parse_owned("credential_id", credential_id)?,
            reason,
        })
    }
}

impl From<&domain::CredentialRevoked> for pb::CredentialRevoked {
    fn from(value: &domain::CredentialRevoked) -> Self {
        let domain::CredentialRevokedFields { credential_id, reason } = &**value;
        Self { credential_id: credential_id.to_string(), reason: reason.clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: Kind) -> pb::Event {
        pb::Event { kind: Some(kind) }
    }

    fn rule_set(name: &str, version: u32) -> pb::RuleSetRef {
        pb::RuleSetRef { name: name.into(), version }
    }

    fn indicator(id: &str, max_points: u32) -> pb::Indicator {
        pb::Indicator { indicator_id: id.into(), name: format!("Chỉ số {id}"), max_points }
    }

    fn attendance(member: &str, status: pb::AttendanceStatus, reason: &str) -> pb::Attendance {
        pb::Attendance { member_id: member.into(), status: status.into(), reason: reason.into() }
    }

    fn meeting_held() -> pb::MeetingHeld {
        pb::MeetingHeld {
            meeting_id: "2026-03".into(),
            kind: pb::MeetingKind::Regular.into(),
            date: "2026-03-05".into(),
            duration_minutes: 120,
            topic: "Sinh hoạt thường kỳ tháng 3".into(),
            minutes: "Biên bản...".into(),
            attendance: vec![
                attendance("nguyen-van-a", pb::AttendanceStatus::Present, ""),
                attendance("le-van-c", pb::AttendanceStatus::Excused, "ốm"),
                attendance("pham-d", pb::AttendanceStatus::Unexcused, ""),
            ],
            guests: vec![pb::Guest {
                name: "Trần Thị B".into(),
                committee_id: "thaibinh".into(),
                position: "Huyện ủy viên".into(),
            }],
            check_in_source: pb::CheckInSource::App.into(),
            documents_posted_on: "2026-03-03".into(),
            committee_prepared: true,
        }
    }

    const TARGET: &str = "0190f1c2-7d4e-7b3a-9c1d-2e3f4a5b6c7d";

    /// One valid message of every event type, in `EventType::ALL` order, every field set to a
    /// non-default value where the rules allow it, so a field dropped on the way shows.
    fn one_of_each() -> Vec<pb::Event> {
        vec![
            event(Kind::OrganizationRegistered(pb::OrganizationRegistered {
                org_id: "tan-hoa".into(),
                parent_id: "thaibinh".into(),
                level: pb::OrgLevel::Cell.into(),
                name: "Chi bộ ấp Tân Hoà".into(),
                cell_type: "commune".into(),
            })),
            event(Kind::MemberJoined(pb::MemberJoined {
                member_id: "nguyen-van-a".into(),
                name: "Nguyễn Văn A".into(),
                date: "2024-03-01".into(),
                how: pb::MembershipChange::TransferredIn.into(),
                transfer_cell_id: "dong-hai".into(),
            })),
            event(Kind::MemberLeft(pb::MemberLeft {
                member_id: "nguyen-van-a".into(),
                date: "2025-06-30".into(),
                how: pb::MembershipChange::TransferredOut.into(),
                transfer_cell_id: "dong-hai".into(),
                reason: "chuyển công tác".into(),
            })),
            event(Kind::MemberRoleAssigned(pb::MemberRoleAssigned {
                member_id: "nguyen-van-a".into(),
                role: pb::MemberRole::DeputySecretary.into(),
                date: "2024-04-01".into(),
            })),
            event(Kind::ProgrammeLaunched(pb::ProgrammeLaunched {
                programme_id: "kieu-mau-2026".into(),
                year: 2026,
                name: "Chi bộ kiểu mẫu 2026".into(),
                framework: Some(pb::CriteriaFramework {
                    criteria: vec![
                        pb::Criterion {
                            criterion_id: "leads".into(),
                            name: "Lãnh đạo tốt".into(),
                            hard: false,
                            indicators: vec![indicator("i1", 20), indicator("i2", 30)],
                        },
                        pb::Criterion {
                            criterion_id: "products".into(),
                            name: "Sản phẩm cụ thể".into(),
                            hard: true,
                            indicators: vec![indicator("i3", 50)],
                        },
                    ],
                }),
                certification_threshold: 90,
                rule_sets: vec![rule_set("vn-qd366-2025", 1), rule_set("phutho-meeting-score", 2)],
                monthly_study_points_minimum: 20,
            })),
            event(Kind::CellRegistered(pb::CellRegistered {
                programme_id: "kieu-mau-2026".into(),
                date: "2026-01-15".into(),
            })),
            event(Kind::CellSelected(pb::CellSelected {
                programme_id: "kieu-mau-2026".into(),
                cell_id: "tan-hoa".into(),
                decision_number: "123-QĐ/HU".into(),
                date: "2026-02-01".into(),
            })),
            event(Kind::CellCertified(pb::CellCertified {
                programme_id: "kieu-mau-2026".into(),
                cell_id: "tan-hoa".into(),
                decision_number: "456-QĐ/HU".into(),
                date: "2026-12-20".into(),
                score: 93,
            })),
            event(Kind::CertificationRevoked(pb::CertificationRevoked {
                programme_id: "kieu-mau-2026".into(),
                cell_id: "tan-hoa".into(),
                decision_number: "789-QĐ/HU".into(),
                date: "2027-03-01".into(),
                reason: "vi phạm kỷ luật".into(),
            })),
            event(Kind::MeetingHeld(meeting_held())),
            event(Kind::MemberSpoke(pb::MemberSpoke {
                meeting_id: "2026-03".into(),
                member_id: "nguyen-van-a".into(),
                summary: "Đề xuất mô hình dân vận khéo".into(),
            })),
            event(Kind::MemberCommended(pb::MemberCommended {
                meeting_id: "2026-03".into(),
                member_id: "nguyen-van-a".into(),
                reason: "Hoàn thành xuất sắc nhiệm vụ".into(),
            })),
            event(Kind::MemberReminded(pb::MemberReminded {
                meeting_id: "2026-03".into(),
                member_id: "pham-d".into(),
                reason: "Vắng họp không có lý do chính đáng".into(),
                severity: pb::ReminderSeverity::Criticism.into(),
            })),
            event(Kind::ResolutionAdopted(pb::ResolutionAdopted {
                meeting_id: "2026-03".into(),
                resolution_id: "nq-2026-03".into(),
                title: "Nghị quyết tháng 3".into(),
                summary: "Tập trung vận động hộ nghèo".into(),
            })),
            event(Kind::TaskAssigned(pb::TaskAssigned {
                task_id: "t-1".into(),
                resolution_id: "nq-2026-03".into(),
                member_id: "nguyen-van-a".into(),
                description: "Vận động hộ nghèo".into(),
                due: "2026-04-01".into(),
            })),
            event(Kind::TaskCompleted(pb::TaskCompleted {
                task_id: "t-1".into(),
                member_id: "nguyen-van-a".into(),
                date: "2026-03-28".into(),
                outcome: "Xong".into(),
            })),
            event(Kind::MeetingScored(pb::MeetingScored {
                meeting_id: "2026-03".into(),
                rubric: Some(rule_set("phutho-meeting-score", 1)),
                parts: vec![
                    pb::ScorePart { part: "preparation".into(), points: 15 },
                    pb::ScorePart { part: "attendance".into(), points: 18 },
                ],
                scorer: "thaibinh".into(),
            })),
            event(Kind::StudyPointsEarned(pb::StudyPointsEarned {
                member_id: "nguyen-van-a".into(),
                points: 25,
                date: "2026-03-10".into(),
                activity: "Nghị quyết Đại hội XIV".into(),
                source_ref: "stdv-8812".into(),
            })),
            event(Kind::IndicatorsScored(pb::IndicatorsScored {
                programme_id: "kieu-mau-2026".into(),
                period: "2026-03".into(),
                scores: vec![
                    pb::IndicatorScore { indicator_id: "i1".into(), points: 18 },
                    pb::IndicatorScore { indicator_id: "i2".into(), points: 30 },
                ],
                scored_by: pb::ScoredBy::Committee.into(),
            })),
            event(Kind::InspectionConducted(pb::InspectionConducted {
                inspection_id: "kt-2026-1".into(),
                cell_id: "tan-hoa".into(),
                date: "2026-11-10".into(),
                findings: "Sổ sách đầy đủ".into(),
                conclusion: pb::InspectionConclusion::NeedsImprovement.into(),
                programme_id: "kieu-mau-2026".into(),
                criteria: vec![
                    pb::CriterionCheck { criterion_id: "leads".into(), met: true },
                    pb::CriterionCheck { criterion_id: "products".into(), met: false },
                ],
            })),
            event(Kind::CandidateTrained(pb::CandidateTrained {
                candidate_id: "hoang-e".into(),
                name: "Hoàng Văn E".into(),
                course: "Lớp bồi dưỡng nhận thức về Đảng".into(),
                date: "2026-05-20".into(),
            })),
            event(Kind::MemberClassified(pb::MemberClassified {
                year: 2026,
                cell_id: "tan-hoa".into(),
                member_id: "nguyen-van-a".into(),
                level: pb::ClassificationLevel::Good.into(),
                rule_set: Some(rule_set("vn-qd366-2025", 1)),
                evaluation_digest: vec![7; 32],
            })),
            event(Kind::CellClassified(pb::CellClassified {
                year: 2026,
                cell_id: "tan-hoa".into(),
                level: pb::ClassificationLevel::NotCompleted.into(),
                rule_set: Some(rule_set("vn-qd366-2025", 1)),
                evaluation_digest: vec![9; 32],
            })),
            event(Kind::EventCorrected(Box::new(pb::EventCorrected {
                target_event_id: TARGET.into(),
                reason: "Ghi sai thời lượng".into(),
                replacement: Some(Box::new(event(Kind::MeetingHeld(pb::MeetingHeld {
                    duration_minutes: 95,
                    ..meeting_held()
                })))),
            }))),
            event(Kind::EventRetracted(pb::EventRetracted {
                target_event_id: TARGET.into(),
                reason: "Nhập trùng".into(),
            })),
            event(Kind::SigningKeyRegistered(pb::SigningKeyRegistered {
                key_id: "thaibinh-2026".into(),
                principal: "committee:thaibinh".into(),
                algorithm: pb::KeyAlgorithm::Ed25519.into(),
                public_key: vec![3; 32],
            })),
            event(Kind::SigningKeyRevoked(pb::SigningKeyRevoked {
                key_id: "thaibinh-2026".into(),
                reason: "Thiết bị bị mất".into(),
            })),
            event(Kind::CheckpointSigned(pb::CheckpointSigned {
                note: "chibo.thaibinh.example/2026\n42\nqUJ5Rb1+OLnQ=\n\n\u{2014} chibo AAAAAQ==\n".into(),
            })),
            event(Kind::CredentialIssued(pb::CredentialIssued {
                credential_id: "thu-ky-tan-hoa".into(),
                principal: "Thư ký chi bộ Tân Hoà".into(),
                role: pb::Role::Recorder.into(),
                scope_org_id: "tan-hoa".into(),
                member_id: String::new(),
                kind: pb::CredentialKind::Token.into(),
                digest: vec![9; 32],
            })),
            event(Kind::CredentialRevoked(pb::CredentialRevoked {
                credential_id: "thu-ky-tan-hoa".into(),
                reason: "Chuyển công tác".into(),
            })),
        ]
    }

    fn sample(event_type: EventType) -> pb::Event {
        one_of_each().swap_remove(event_type as usize)
    }

    /// The sample of type `$variant` with `$body` applied to its message `$m`.
    macro_rules! broken {
        ($variant:ident, |$m:ident| $body:expr) => {{
            let mut event = sample(EventType::$variant);
            match event.kind.as_mut() {
                Some(Kind::$variant($m)) => {
                    $body;
                }
                _ => unreachable!("samples are in EventType::ALL order"),
            }
            event
        }};
    }

    fn rejection(event: pb::Event) -> (String, String) {
        let e = Event::try_from(event).unwrap_err();
        (e.field, e.reason)
    }

    fn pair(field: &str, reason: &str) -> (String, String) {
        (field.to_owned(), reason.to_owned())
    }

    #[test]
    fn every_event_type_round_trips() {
        let samples = one_of_each();
        assert_eq!(samples.len(), EventType::ALL.len());
        for (wire, event_type) in samples.into_iter().zip(EventType::ALL) {
            let event = Event::try_from(wire.clone()).unwrap_or_else(|e| panic!("{event_type}: {e}"));
            assert_eq!(event.event_type(), event_type);
            // pb -> domain -> pb, and domain -> pb -> domain.
            assert_eq!(pb::Event::from(&event), wire, "{event_type}");
            assert_eq!(Event::try_from(pb::Event::from(&event)).unwrap(), event, "{event_type}");
            // The stored payload is the inner message, and reads back as the same event.
            let payload = encode_payload(&event);
            assert_ne!(payload, wire.encode_to_vec(), "{event_type}: the payload is not the wrapper");
            let decoded = decode_payload(event_type.name(), &payload).unwrap();
            assert_eq!(decoded, wire, "{event_type}");
            assert_eq!(Event::try_from(decoded).unwrap(), event, "{event_type}");
        }
    }

    #[test]
    fn the_payload_is_the_message_alone() {
        let wire = meeting_held();
        let event = Event::try_from(event(Kind::MeetingHeld(wire.clone()))).unwrap();
        assert_eq!(encode_payload(&event), wire.encode_to_vec());
        assert_eq!(pb::MeetingHeld::decode(encode_payload(&event).as_slice()).unwrap(), wire);
    }

    #[test]
    fn unreadable_payloads_say_why() {
        let e = decode_payload("MeetingHappened", &[]).unwrap_err();
        assert!(matches!(&e, PayloadError::UnknownType(name) if name == "MeetingHappened"));
        assert_eq!(e.to_string(), "\"MeetingHappened\" is not an event type of the catalogue");
        // Field 1 (meeting_id, a string) with a length running past the end.
        let e = decode_payload("MeetingHeld", &[0x0a, 0x05, b'a']).unwrap_err();
        assert!(matches!(e, PayloadError::Decode { event_type: EventType::MeetingHeld, .. }), "{e:?}");
        assert_eq!(e.to_string(), "the payload does not decode as MeetingHeld");
        // An empty payload is every field at its default: it decodes, and the rules reject it.
        let empty = decode_payload("CheckpointSigned", &[]).unwrap();
        assert_eq!(rejection(empty), pair("checkpoint_signed.note", "is empty"));
    }

    #[test]
    fn submissions_round_trip_and_name_their_fields() {
        let wire = pb::EventSubmission {
            event_id: TARGET.into(),
            occurred_at: Some(pbjson_types::Timestamp { seconds: 1_772_668_800, nanos: 5 }),
            event: Some(sample(EventType::MeetingHeld)),
        };
        let submission = Submission::try_from(wire.clone()).unwrap();
        assert_eq!(submission.event_id.to_string(), TARGET);
        assert_eq!(submission.occurred_at.nanos(), 5);
        assert_eq!(pb::EventSubmission::from(&submission), wire);

        let fails = |change: fn(&mut pb::EventSubmission)| {
            let mut broken = wire.clone();
            change(&mut broken);
            let e = Submission::try_from(broken).unwrap_err();
            (e.field, e.reason)
        };
        assert_eq!(fails(|s| s.event_id = "X".into()).0, "event_id");
        assert_eq!(fails(|s| s.occurred_at = None), pair("occurred_at", "is missing"));
        assert_eq!(
            fails(|s| s.occurred_at = Some(pbjson_types::Timestamp { seconds: 0, nanos: -1 })),
            pair("occurred_at", "nanos -1 is outside 0..=999999999")
        );
        assert_eq!(fails(|s| s.event = None), pair("event", "is missing"));
        assert_eq!(
            fails(|s| s.event = Some(pb::Event { kind: None })),
            pair("event", "is missing or of an unknown event type")
        );
        assert_eq!(
            fails(|s| {
                if let Some(Kind::MeetingHeld(m)) = s.event.as_mut().and_then(|e| e.kind.as_mut()) {
                    m.attendance[1].reason.clear();
                }
            }),
            pair("event.meeting_held.attendance[1].reason", "is empty; an excused absence records its reason")
        );
    }

    #[test]
    fn an_event_without_a_kind_is_named_event() {
        assert_eq!(rejection(pb::Event { kind: None }), pair("event", "is missing or of an unknown event type"));
    }

    #[test]
    fn enums_must_be_set_and_known() {
        assert_eq!(
            rejection(broken!(MeetingHeld, |m| m.kind = 0)),
            pair("meeting_held.kind", "is unspecified; expected regular, thematic or extraordinary")
        );
        assert_eq!(rejection(broken!(MeetingHeld, |m| m.kind = 42)), pair("meeting_held.kind", "has unknown value 42"));
        assert_eq!(
            rejection(broken!(MeetingHeld, |m| m.attendance[2].status = 0)),
            pair("meeting_held.attendance[2].status", "is unspecified; expected present, excused or unexcused")
        );
        assert_eq!(
            rejection(broken!(MemberJoined, |m| m.how = 0)),
            pair("member_joined.how", "is unspecified; expected admitted or transferred_in")
        );
        assert_eq!(
            rejection(broken!(MemberLeft, |m| m.how = 0)),
            pair("member_left.how", "is unspecified; expected transferred_out, removed or deceased")
        );
        assert_eq!(
            rejection(broken!(MemberLeft, |m| m.how = pb::MembershipChange::Admitted.into())),
            pair(
                "member_left.how",
                "admitted is not a way to leave a cell; expected transferred_out, removed or deceased"
            )
        );
        assert_eq!(
            rejection(broken!(SigningKeyRegistered, |m| m.algorithm = -1)),
            pair("signing_key_registered.algorithm", "has unknown value -1")
        );
    }

    #[test]
    fn sub_messages_must_be_present() {
        assert_eq!(
            rejection(broken!(ProgrammeLaunched, |m| m.framework = None)),
            pair("programme_launched.framework", "is missing")
        );
        assert_eq!(rejection(broken!(MeetingScored, |m| m.rubric = None)), pair("meeting_scored.rubric", "is missing"));
        assert_eq!(
            rejection(broken!(CellClassified, |m| m.rule_set = None)),
            pair("cell_classified.rule_set", "is missing")
        );
        assert_eq!(
            rejection(broken!(EventCorrected, |m| m.replacement = None)),
            pair("event_corrected.replacement", "is missing")
        );
        assert_eq!(
            rejection(broken!(EventCorrected, |m| m.replacement = Some(Box::default()))),
            pair("event_corrected.replacement", "is missing or of an unknown event type")
        );
    }

    #[test]
    fn a_replacement_is_checked_like_any_event() {
        assert_eq!(
            rejection(broken!(EventCorrected, |m| {
                if let Some(Kind::MeetingHeld(held)) = m.replacement.as_mut().and_then(|e| e.kind.as_mut()) {
                    held.date = "2026-02-30".into();
                }
            })),
            pair("event_corrected.replacement.meeting_held.date", "\"2026-02-30\": 2026-02 has no day 30")
        );
        let retraction = sample(EventType::EventRetracted);
        assert_eq!(
            rejection(broken!(EventCorrected, |m| m.replacement = Some(Box::new(retraction)))),
            pair(
                "event_corrected.replacement",
                "is EventRetracted; a replacement is an ordinary event, not a correction, \
                 retraction or checkpoint"
            )
        );
    }

    #[test]
    fn byte_fields_have_their_lengths() {
        assert_eq!(
            rejection(broken!(MemberClassified, |m| m.evaluation_digest.pop())),
            pair("member_classified.evaluation_digest", "is 31 bytes; a SHA-256 digest is 32 bytes")
        );
        assert_eq!(
            rejection(broken!(CellClassified, |m| m.evaluation_digest.clear())),
            pair("cell_classified.evaluation_digest", "is 0 bytes; a SHA-256 digest is 32 bytes")
        );
        assert_eq!(
            rejection(broken!(SigningKeyRegistered, |m| m.public_key.push(0))),
            pair("signing_key_registered.public_key", "is 33 bytes; an ed25519 public key is 32 bytes")
        );
    }

    #[test]
    fn years_are_checked_before_and_after_narrowing() {
        assert_eq!(
            rejection(broken!(CellClassified, |m| m.year = 70_000)),
            pair("cell_classified.year", "is 70000; years run from 1900 to 9999")
        );
        assert_eq!(
            rejection(broken!(ProgrammeLaunched, |m| m.year = 1899)),
            pair("programme_launched.year", "is 1899; years run from 1900 to 9999")
        );
        assert_eq!(
            rejection(broken!(MemberClassified, |m| m.year = 10_000)),
            pair("member_classified.year", "is 10000; years run from 1900 to 9999")
        );
    }

    /// Every field that the conversion or the rules can reject, broken one at a time: the error
    /// names exactly that field, by its path from the `Event`.
    #[test]
    fn every_field_is_named_by_its_path() {
        let bad_id = "Bad Id";
        let bad_date = "2026-13-01";
        let cases: Vec<(pb::Event, &str)> = vec![
            (broken!(OrganizationRegistered, |m| m.org_id = bad_id.into()), "organization_registered.org_id"),
            (broken!(OrganizationRegistered, |m| m.parent_id = bad_id.into()), "organization_registered.parent_id"),
            (broken!(OrganizationRegistered, |m| m.level = 0), "organization_registered.level"),
            (broken!(OrganizationRegistered, |m| m.name.clear()), "organization_registered.name"),
            (broken!(OrganizationRegistered, |m| m.cell_type = "\u{0}".into()), "organization_registered.cell_type"),
            (broken!(MemberJoined, |m| m.member_id = bad_id.into()), "member_joined.member_id"),
            (broken!(MemberJoined, |m| m.name.clear()), "member_joined.name"),
            (broken!(MemberJoined, |m| m.date = bad_date.into()), "member_joined.date"),
            (broken!(MemberJoined, |m| m.how = 9), "member_joined.how"),
            (broken!(MemberJoined, |m| m.transfer_cell_id = bad_id.into()), "member_joined.transfer_cell_id"),
            (broken!(MemberLeft, |m| m.member_id = bad_id.into()), "member_left.member_id"),
            (broken!(MemberLeft, |m| m.date = bad_date.into()), "member_left.date"),
            (broken!(MemberLeft, |m| m.how = 9), "member_left.how"),
            (broken!(MemberLeft, |m| m.transfer_cell_id.clear()), "member_left.transfer_cell_id"),
            (broken!(MemberLeft, |m| m.reason = "\u{1}".into()), "member_left.reason"),
            (broken!(MemberRoleAssigned, |m| m.member_id = bad_id.into()), "member_role_assigned.member_id"),
            (broken!(MemberRoleAssigned, |m| m.role = 0), "member_role_assigned.role"),
            (broken!(MemberRoleAssigned, |m| m.date = bad_date.into()), "member_role_assigned.date"),
            (broken!(ProgrammeLaunched, |m| m.programme_id = bad_id.into()), "programme_launched.programme_id"),
            (broken!(ProgrammeLaunched, |m| m.year = 0), "programme_launched.year"),
            (broken!(ProgrammeLaunched, |m| m.name.clear()), "programme_launched.name"),
            (
                broken!(ProgrammeLaunched, |m| m.framework.as_mut().unwrap().criteria.clear()),
                "programme_launched.framework.criteria",
            ),
            (
                broken!(ProgrammeLaunched, |m| m.framework.as_mut().unwrap().criteria[1].criterion_id = bad_id.into()),
                "programme_launched.framework.criteria[1].criterion_id",
            ),
            (
                broken!(ProgrammeLaunched, |m| m.framework.as_mut().unwrap().criteria[1].name.clear()),
                "programme_launched.framework.criteria[1].name",
            ),
            (
                broken!(ProgrammeLaunched, |m| m.framework.as_mut().unwrap().criteria[1].indicators.clear()),
                "programme_launched.framework.criteria[1].indicators",
            ),
            (
                broken!(ProgrammeLaunched, |m| m.framework.as_mut().unwrap().criteria[0].indicators[1].indicator_id =
                    bad_id.into()),
                "programme_launched.framework.criteria[0].indicators[1].indicator_id",
            ),
            (
                broken!(ProgrammeLaunched, |m| m.framework.as_mut().unwrap().criteria[0].indicators[1].name.clear()),
                "programme_launched.framework.criteria[0].indicators[1].name",
            ),
            (
                broken!(ProgrammeLaunched, |m| m.framework.as_mut().unwrap().criteria[0].indicators[1].max_points = 0),
                "programme_launched.framework.criteria[0].indicators[1].max_points",
            ),
            (
                broken!(ProgrammeLaunched, |m| m.framework.as_mut().unwrap().criteria[1].indicators[0].indicator_id =
                    "i1".into()),
                "programme_launched.framework.criteria[1].indicators[0].indicator_id",
            ),
            (
                broken!(ProgrammeLaunched, |m| m.certification_threshold = 101),
                "programme_launched.certification_threshold",
            ),
            (
                broken!(ProgrammeLaunched, |m| m.rule_sets[1].name = bad_id.into()),
                "programme_launched.rule_sets[1].name",
            ),
            (broken!(ProgrammeLaunched, |m| m.rule_sets[1].version = 0), "programme_launched.rule_sets[1].version"),
            (broken!(CellRegistered, |m| m.programme_id = bad_id.into()), "cell_registered.programme_id"),
            (broken!(CellRegistered, |m| m.date = bad_date.into()), "cell_registered.date"),
            (broken!(CellSelected, |m| m.programme_id = bad_id.into()), "cell_selected.programme_id"),
            (broken!(CellSelected, |m| m.cell_id = bad_id.into()), "cell_selected.cell_id"),
            (broken!(CellSelected, |m| m.decision_number.clear()), "cell_selected.decision_number"),
            (broken!(CellSelected, |m| m.date = bad_date.into()), "cell_selected.date"),
            (broken!(CellCertified, |m| m.programme_id = bad_id.into()), "cell_certified.programme_id"),
            (broken!(CellCertified, |m| m.cell_id = bad_id.into()), "cell_certified.cell_id"),
            (broken!(CellCertified, |m| m.decision_number.clear()), "cell_certified.decision_number"),
            (broken!(CellCertified, |m| m.date = bad_date.into()), "cell_certified.date"),
            (broken!(CertificationRevoked, |m| m.programme_id = bad_id.into()), "certification_revoked.programme_id"),
            (broken!(CertificationRevoked, |m| m.cell_id = bad_id.into()), "certification_revoked.cell_id"),
            (broken!(CertificationRevoked, |m| m.decision_number.clear()), "certification_revoked.decision_number"),
            (broken!(CertificationRevoked, |m| m.date = bad_date.into()), "certification_revoked.date"),
            (broken!(CertificationRevoked, |m| m.reason.clear()), "certification_revoked.reason"),
            (broken!(MeetingHeld, |m| m.meeting_id = bad_id.into()), "meeting_held.meeting_id"),
            (broken!(MeetingHeld, |m| m.kind = 7), "meeting_held.kind"),
            (broken!(MeetingHeld, |m| m.date = bad_date.into()), "meeting_held.date"),
            (broken!(MeetingHeld, |m| m.topic.clear()), "meeting_held.topic"),
            (broken!(MeetingHeld, |m| m.minutes = "\u{1b}".into()), "meeting_held.minutes"),
            (broken!(MeetingHeld, |m| m.attendance.clear()), "meeting_held.attendance"),
            (
                broken!(MeetingHeld, |m| m.attendance[1].member_id = bad_id.into()),
                "meeting_held.attendance[1].member_id",
            ),
            (
                broken!(MeetingHeld, |m| m.attendance[2].member_id = "nguyen-van-a".into()),
                "meeting_held.attendance[2].member_id",
            ),
            (broken!(MeetingHeld, |m| m.attendance[0].status = 0), "meeting_held.attendance[0].status"),
            (broken!(MeetingHeld, |m| m.attendance[1].reason.clear()), "meeting_held.attendance[1].reason"),
            (broken!(MeetingHeld, |m| m.guests[0].name.clear()), "meeting_held.guests[0].name"),
            (broken!(MeetingHeld, |m| m.guests[0].committee_id = bad_id.into()), "meeting_held.guests[0].committee_id"),
            (broken!(MeetingHeld, |m| m.guests[0].position = "x".repeat(129)), "meeting_held.guests[0].position"),
            (broken!(MeetingHeld, |m| m.guests = vec![m.guests[0].clone(); 101]), "meeting_held.guests"),
            (broken!(MeetingHeld, |m| m.check_in_source = 0), "meeting_held.check_in_source"),
            (broken!(MeetingHeld, |m| m.documents_posted_on = bad_date.into()), "meeting_held.documents_posted_on"),
            (broken!(MemberSpoke, |m| m.meeting_id = bad_id.into()), "member_spoke.meeting_id"),
            (broken!(MemberSpoke, |m| m.member_id = bad_id.into()), "member_spoke.member_id"),
            (broken!(MemberSpoke, |m| m.summary = "x".repeat(4097)), "member_spoke.summary"),
            (broken!(MemberCommended, |m| m.meeting_id = bad_id.into()), "member_commended.meeting_id"),
            (broken!(MemberCommended, |m| m.member_id = bad_id.into()), "member_commended.member_id"),
            (broken!(MemberCommended, |m| m.reason.clear()), "member_commended.reason"),
            (broken!(MemberReminded, |m| m.meeting_id = bad_id.into()), "member_reminded.meeting_id"),
            (broken!(MemberReminded, |m| m.member_id = bad_id.into()), "member_reminded.member_id"),
            (broken!(MemberReminded, |m| m.reason.clear()), "member_reminded.reason"),
            (broken!(MemberReminded, |m| m.severity = 0), "member_reminded.severity"),
            (broken!(ResolutionAdopted, |m| m.meeting_id = bad_id.into()), "resolution_adopted.meeting_id"),
            (broken!(ResolutionAdopted, |m| m.resolution_id = bad_id.into()), "resolution_adopted.resolution_id"),
            (broken!(ResolutionAdopted, |m| m.title.clear()), "resolution_adopted.title"),
            (broken!(ResolutionAdopted, |m| m.summary = "x".repeat(4097)), "resolution_adopted.summary"),
            (broken!(TaskAssigned, |m| m.task_id = bad_id.into()), "task_assigned.task_id"),
            (broken!(TaskAssigned, |m| m.resolution_id = bad_id.into()), "task_assigned.resolution_id"),
            (broken!(TaskAssigned, |m| m.member_id = bad_id.into()), "task_assigned.member_id"),
            (broken!(TaskAssigned, |m| m.description.clear()), "task_assigned.description"),
            (broken!(TaskAssigned, |m| m.due.clear()), "task_assigned.due"),
            (broken!(TaskCompleted, |m| m.task_id = bad_id.into()), "task_completed.task_id"),
            (broken!(TaskCompleted, |m| m.member_id = bad_id.into()), "task_completed.member_id"),
            (broken!(TaskCompleted, |m| m.date = bad_date.into()), "task_completed.date"),
            (broken!(TaskCompleted, |m| m.outcome = "x".repeat(4097)), "task_completed.outcome"),
            (broken!(MeetingScored, |m| m.meeting_id = bad_id.into()), "meeting_scored.meeting_id"),
            (broken!(MeetingScored, |m| m.rubric.as_mut().unwrap().name.clear()), "meeting_scored.rubric.name"),
            (broken!(MeetingScored, |m| m.rubric.as_mut().unwrap().version = 0), "meeting_scored.rubric.version"),
            (broken!(MeetingScored, |m| m.parts.clear()), "meeting_scored.parts"),
            (broken!(MeetingScored, |m| m.parts[1].part.clear()), "meeting_scored.parts[1].part"),
            (broken!(MeetingScored, |m| m.parts[1].part = "preparation".into()), "meeting_scored.parts[1].part"),
            (broken!(MeetingScored, |m| m.scorer = bad_id.into()), "meeting_scored.scorer"),
            (broken!(StudyPointsEarned, |m| m.member_id = bad_id.into()), "study_points_earned.member_id"),
            (broken!(StudyPointsEarned, |m| m.points = 0), "study_points_earned.points"),
            (broken!(StudyPointsEarned, |m| m.date = bad_date.into()), "study_points_earned.date"),
            (broken!(StudyPointsEarned, |m| m.activity.clear()), "study_points_earned.activity"),
            (broken!(StudyPointsEarned, |m| m.source_ref = "x".repeat(129)), "study_points_earned.source_ref"),
            (broken!(IndicatorsScored, |m| m.programme_id = bad_id.into()), "indicators_scored.programme_id"),
            (broken!(IndicatorsScored, |m| m.period = "2026-3".into()), "indicators_scored.period"),
            (broken!(IndicatorsScored, |m| m.scores.clear()), "indicators_scored.scores"),
            (
                broken!(IndicatorsScored, |m| m.scores[1].indicator_id = bad_id.into()),
                "indicators_scored.scores[1].indicator_id",
            ),
            (
                broken!(IndicatorsScored, |m| m.scores[1].indicator_id = "i1".into()),
                "indicators_scored.scores[1].indicator_id",
            ),
            (broken!(IndicatorsScored, |m| m.scored_by = 0), "indicators_scored.scored_by"),
            (broken!(InspectionConducted, |m| m.inspection_id = bad_id.into()), "inspection_conducted.inspection_id"),
            (broken!(InspectionConducted, |m| m.cell_id = bad_id.into()), "inspection_conducted.cell_id"),
            (broken!(InspectionConducted, |m| m.date = bad_date.into()), "inspection_conducted.date"),
            (broken!(InspectionConducted, |m| m.findings.clear()), "inspection_conducted.findings"),
            (broken!(InspectionConducted, |m| m.conclusion = 0), "inspection_conducted.conclusion"),
            (broken!(InspectionConducted, |m| m.programme_id = bad_id.into()), "inspection_conducted.programme_id"),
            (broken!(InspectionConducted, |m| m.programme_id.clear()), "inspection_conducted.criteria"),
            (
                broken!(InspectionConducted, |m| m.criteria[1].criterion_id = bad_id.into()),
                "inspection_conducted.criteria[1].criterion_id",
            ),
            (broken!(CandidateTrained, |m| m.candidate_id = bad_id.into()), "candidate_trained.candidate_id"),
            (broken!(CandidateTrained, |m| m.name.clear()), "candidate_trained.name"),
            (broken!(CandidateTrained, |m| m.course.clear()), "candidate_trained.course"),
            (broken!(CandidateTrained, |m| m.date = bad_date.into()), "candidate_trained.date"),
            (broken!(MemberClassified, |m| m.year = 0), "member_classified.year"),
            (broken!(MemberClassified, |m| m.cell_id = bad_id.into()), "member_classified.cell_id"),
            (broken!(MemberClassified, |m| m.member_id = bad_id.into()), "member_classified.member_id"),
            (broken!(MemberClassified, |m| m.level = 0), "member_classified.level"),
            (
                broken!(MemberClassified, |m| m.rule_set.as_mut().unwrap().version = 0),
                "member_classified.rule_set.version",
            ),
            (broken!(MemberClassified, |m| m.evaluation_digest.clear()), "member_classified.evaluation_digest"),
            (broken!(CellClassified, |m| m.year = 0), "cell_classified.year"),
            (broken!(CellClassified, |m| m.cell_id = bad_id.into()), "cell_classified.cell_id"),
            (broken!(CellClassified, |m| m.level = 0), "cell_classified.level"),
            (
                broken!(CellClassified, |m| m.rule_set.as_mut().unwrap().name = bad_id.into()),
                "cell_classified.rule_set.name",
            ),
            (broken!(CellClassified, |m| m.evaluation_digest.push(1)), "cell_classified.evaluation_digest"),
            (broken!(EventCorrected, |m| m.target_event_id = "nope".into()), "event_corrected.target_event_id"),
            (broken!(EventCorrected, |m| m.reason.clear()), "event_corrected.reason"),
            (broken!(EventCorrected, |m| m.replacement = None), "event_corrected.replacement"),
            (broken!(EventRetracted, |m| m.target_event_id = "nope".into()), "event_retracted.target_event_id"),
            (broken!(EventRetracted, |m| m.reason.clear()), "event_retracted.reason"),
            (broken!(SigningKeyRegistered, |m| m.key_id = bad_id.into()), "signing_key_registered.key_id"),
            (broken!(SigningKeyRegistered, |m| m.principal.clear()), "signing_key_registered.principal"),
            (broken!(SigningKeyRegistered, |m| m.algorithm = 0), "signing_key_registered.algorithm"),
            (broken!(SigningKeyRegistered, |m| m.public_key.clear()), "signing_key_registered.public_key"),
            (broken!(SigningKeyRevoked, |m| m.key_id = bad_id.into()), "signing_key_revoked.key_id"),
            (broken!(SigningKeyRevoked, |m| m.reason.clear()), "signing_key_revoked.reason"),
            (broken!(CheckpointSigned, |m| m.note.clear()), "checkpoint_signed.note"),
            (broken!(CredentialIssued, |m| m.credential_id = bad_id.into()), "credential_issued.credential_id"),
            (broken!(CredentialIssued, |m| m.role = 0), "credential_issued.role"),
            (broken!(CredentialIssued, |m| m.kind = 9), "credential_issued.kind"),
            (broken!(CredentialIssued, |m| m.scope_org_id = bad_id.into()), "credential_issued.scope_org_id"),
            (broken!(CredentialIssued, |m| m.member_id = "an".into()), "credential_issued.member_id"),
            (broken!(CredentialIssued, |m| m.digest.pop()), "credential_issued.digest"),
            (broken!(CredentialRevoked, |m| m.reason.clear()), "credential_revoked.reason"),
        ];
        for (event, field) in cases {
            assert_eq!(rejection(event).0, field);
        }
    }
}
