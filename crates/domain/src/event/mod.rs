//! The event catalogue (DESIGN.md "Event catalogue (v1)"): every event a client can submit, as
//! checked Rust values, and the stream each one belongs in.
//!
//! One file per family of events. Each event `X` comes as a pair: `XFields`, plain data with
//! public fields, and `X`, the same data once `X::new` has checked its shape rules. An `X` can
//! only be built by `new` and only read (it derefs to its fields), so whoever holds an `X`, or
//! an [`Event`], holds an event that passed every shape rule. The parts an event lists (an
//! [`Attendance`], a [`Criterion`], ...) follow the same pattern where they have rules of their
//! own; parts without rules of their own ([`IndicatorScore`], [`CriterionCheck`]) are plain data.
//!
//! Shape rules need nothing but the event itself. Rules that need the log (is this member in
//! the cell? does a replacement have its target's type?) are checked against current state
//! elsewhere, before appending.

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;

use crate::error::{InvalidField, Result};
use crate::id::{EventId, StreamKind, StreamName};
use crate::text;
use crate::time::{Timestamp, MAX_YEAR, MIN_YEAR};

/// Declares `$name`, the checked form of `$fields`: built only by `new`, which runs
/// `$fields::check`, and read through `Deref`.
macro_rules! checked {
    ($(#[$attr:meta])* pub struct $name:ident($fields:ident);) => {
        $(#[$attr])*
        // The fields are boxed: an `Event` is then a tag and a pointer, whatever its type,
        // instead of as large as its largest type (144 bytes), and the state keeps one per
        // fact in force (docs/BENCHMARKS.md, tenth round).
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(Box<$fields>);

        impl $name {
            #[doc = concat!(
                "Checks the shape rules of a `", stringify!($name), "`. The error names the ",
                "offending field by its path inside the `", stringify!($name), "`."
            )]
            pub fn new(fields: $fields) -> $crate::error::Result<Self> {
                fields.check()?;
                Ok(Self(Box::new(fields)))
            }

            /// Takes the value apart, for example to build a changed copy with `new`.
            pub fn into_fields(self) -> $fields {
                *self.0
            }
        }

        impl ::std::ops::Deref for $name {
            type Target = $fields;

            fn deref(&self) -> &$fields {
                &self.0
            }
        }
    };
}

/// Declares a closed set of values (a proto enum without its `UNSPECIFIED`), with the
/// snake_case name each value has in messages and reports.
macro_rules! named_enum {
    (
        $(#[$attr:meta])*
        pub enum $name:ident { $($(#[$vattr:meta])* $variant:ident = $text:literal,)+ }
    ) => {
        $(#[$attr])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($(#[$vattr])* $variant,)+
        }

        impl $name {
            /// Every value, in schema order.
            pub const ALL: &'static [Self] = &[$(Self::$variant,)+];

            /// The value's name in messages and reports.
            pub fn name(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }

            /// "expected a, b or c", naming `values`: the end of an error message about a
            /// field that must hold one of them.
            pub fn expected_one_of(values: &[Self]) -> String {
                $crate::event::expected_one_of(values.iter().map(|v| v.name()))
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

mod correction;
mod credentials;
mod inspection;
mod keys;
mod meeting;
mod organization;
mod points;
mod programme;

pub use correction::{EventCorrected, EventCorrectedFields, EventRetracted, EventRetractedFields};
pub use credentials::{
    CredentialIssued, CredentialIssuedFields, CredentialKind, CredentialRevoked, CredentialRevokedFields, Role,
    CREDENTIAL_DIGEST_LEN,
};
pub use inspection::{
    CandidateTrained, CandidateTrainedFields, CellClassified, CellClassifiedFields, ClassificationLevel,
    CriterionCheck, InspectionConclusion, InspectionConducted, InspectionConductedFields, MemberClassified,
    MemberClassifiedFields,
};
pub use keys::{
    CheckpointSigned, CheckpointSignedFields, KeyAlgorithm, SigningKeyRegistered, SigningKeyRegisteredFields,
    SigningKeyRevoked, SigningKeyRevokedFields, ED25519_PUBLIC_KEY_LEN,
};
pub use meeting::{
    Attendance, AttendanceFields, AttendanceStatus, CheckInSource, Guest, GuestFields, MeetingHeld, MeetingHeldFields,
    MeetingKind, MeetingScored, MeetingScoredFields, MemberCommended, MemberCommendedFields, MemberReminded,
    MemberRemindedFields, MemberSpoke, MemberSpokeFields, ReminderSeverity, ResolutionAdopted, ResolutionAdoptedFields,
    ScorePart, ScorePartFields, TaskAssigned, TaskAssignedFields, TaskCompleted, TaskCompletedFields,
};
pub use organization::{
    MemberJoined, MemberJoinedFields, MemberLeft, MemberLeftFields, MemberRole, MemberRoleAssigned,
    MemberRoleAssignedFields, MembershipChange, OrgLevel, OrganizationRegistered, OrganizationRegisteredFields,
};
pub use points::{
    IndicatorScore, IndicatorsScored, IndicatorsScoredFields, ScoredBy, StudyPointsEarned, StudyPointsEarnedFields,
};
pub use programme::{
    CellCertified, CellCertifiedFields, CellRegistered, CellRegisteredFields, CellSelected, CellSelectedFields,
    CertificationRevoked, CertificationRevokedFields, CriteriaFramework, CriteriaFrameworkFields, Criterion,
    CriterionFields, Indicator, IndicatorFields, ProgrammeLaunched, ProgrammeLaunchedFields, RuleSetRef,
    RuleSetRefFields,
};

/// The most entries a list in an event may hold. Each is far above what a real cell or
/// programme needs, and keeps one event, and everything computed from it, small.
pub mod limit {
    /// `MeetingHeld.attendance`: the members of one cell.
    pub const ATTENDANCE: usize = 1000;
    /// `MeetingHeld.guests`.
    pub const GUESTS: usize = 100;
    /// Criteria of one framework; also `InspectionConducted.criteria`.
    pub const CRITERIA: usize = 200;
    /// Indicators of one framework, over all its criteria.
    pub const INDICATORS: usize = 200;
    /// `IndicatorsScored.scores`: at most one per indicator of a framework.
    pub const SCORES: usize = INDICATORS;
    /// `MeetingScored.parts`: the parts of one rubric.
    pub const SCORE_PARTS: usize = 50;
    /// `ProgrammeLaunched.rule_sets`.
    pub const RULE_SETS: usize = 50;
}

macro_rules! catalogue {
    ($($(#[$attr:meta])* $name:ident,)+) => {
        /// The type of an event: its name in the catalogue and in the envelope's `event_type`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum EventType {
            $($(#[$attr])* $name,)+
        }

        impl EventType {
            /// Every event type, in the order of the schema's `Event.kind` oneof.
            pub const ALL: [EventType; 30] = [$(EventType::$name,)+];

            /// The catalogue name, e.g. `MeetingHeld`.
            pub fn name(self) -> &'static str {
                match self {
                    $(Self::$name => stringify!($name),)+
                }
            }

            /// The type whose catalogue name is exactly `name`.
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $(stringify!($name) => Some(Self::$name),)+
                    _ => None,
                }
            }
        }

        /// Any event of the catalogue, checked.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum Event {
            $(#[doc = concat!("A [`", stringify!($name), "`].")] $name($name),)+
        }

        impl Event {
            /// The event's type.
            pub fn event_type(&self) -> EventType {
                match self {
                    $(Self::$name(_) => EventType::$name,)+
                }
            }
        }

        $(
            impl From<$name> for Event {
                fn from(event: $name) -> Self {
                    Self::$name(event)
                }
            }
        )+
    };
}

catalogue! {
    /// An organization (committee or cell) joins the party tree.
    OrganizationRegistered,
    /// A member joins a cell: admitted, or transferred in.
    MemberJoined,
    /// A member leaves a cell: transferred out, removed or deceased.
    MemberLeft,
    /// A member takes a role in the cell.
    MemberRoleAssigned,
    /// A committee launches a model-cell programme for a year.
    ProgrammeLaunched,
    /// A cell registers for a programme.
    CellRegistered,
    /// A committee selects a registered cell.
    CellSelected,
    /// A committee certifies a cell as a model.
    CellCertified,
    /// A committee revokes a certification.
    CertificationRevoked,
    /// A cell held a meeting.
    MeetingHeld,
    /// A member spoke at a meeting.
    MemberSpoke,
    /// A member was commended at a meeting.
    MemberCommended,
    /// A member was reminded or criticised at a meeting.
    MemberReminded,
    /// A meeting adopted a resolution.
    ResolutionAdopted,
    /// A task was assigned to a member.
    TaskAssigned,
    /// A member completed a task.
    TaskCompleted,
    /// A meeting was scored against a rubric.
    MeetingScored,
    /// A member earned study points.
    StudyPointsEarned,
    /// A programme's indicators were scored for a month.
    IndicatorsScored,
    /// A committee inspected a cell.
    InspectionConducted,
    /// A candidate for membership completed a course.
    CandidateTrained,
    /// A member was classified for a year.
    MemberClassified,
    /// A cell was classified for a year.
    CellClassified,
    /// An earlier event is corrected.
    EventCorrected,
    /// An earlier event is withdrawn.
    EventRetracted,
    /// A signing key is registered for a principal.
    SigningKeyRegistered,
    /// A signing key is revoked.
    SigningKeyRevoked,
    /// The server signed a checkpoint of the log.
    CheckpointSigned,
    /// A credential was issued.
    CredentialIssued,
    /// A credential was revoked.
    CredentialRevoked,
}

/// Where the events of one type are recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamHome {
    /// A `cell-{id}` stream.
    Cell,
    /// An `org-{id}` stream.
    Org,
    /// `$checkpoints`, written by the server alone.
    Checkpoints,
    /// `$credentials`, written by the server alone, on an admin's request.
    Credentials,
    /// The organization's own stream: `cell-{org_id}` for a cell, `org-{org_id}` otherwise.
    OwnStream,
    /// The `cell-{id}` or `org-{id}` stream of the event it corrects.
    TargetStream,
}

impl EventType {
    /// The type's field name in the schema's `Event.kind` oneof (`meeting_held` for
    /// `MeetingHeld`): the first step of the path in errors about an event's fields.
    pub fn field_name(self) -> String {
        let mut out = String::new();
        for (i, c) in self.name().chars().enumerate() {
            if c.is_ascii_uppercase() {
                if i > 0 {
                    out.push('_');
                }
                out.push(c.to_ascii_lowercase());
            } else {
                out.push(c);
            }
        }
        out
    }

    /// The version of the type's payload schema. Every type is at 1; a type whose payload
    /// changes incompatibly gets a new version here, so stored payloads stay decodable.
    pub fn schema_version(self) -> u32 {
        1
    }

    /// Where events of this type are recorded.
    pub fn home(self) -> StreamHome {
        use EventType::*;
        match self {
            OrganizationRegistered => StreamHome::OwnStream,
            MemberJoined | MemberLeft | MemberRoleAssigned | CellRegistered | MeetingHeld | MemberSpoke
            | MemberCommended | MemberReminded | ResolutionAdopted | TaskAssigned | TaskCompleted | MeetingScored
            | StudyPointsEarned | IndicatorsScored | CandidateTrained => StreamHome::Cell,
            ProgrammeLaunched | CellSelected | CellCertified | CertificationRevoked | InspectionConducted
            | MemberClassified | CellClassified | SigningKeyRegistered | SigningKeyRevoked => StreamHome::Org,
            EventCorrected | EventRetracted => StreamHome::TargetStream,
            CheckpointSigned => StreamHome::Checkpoints,
            CredentialIssued | CredentialRevoked => StreamHome::Credentials,
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Event {
    /// Checks that the event may be appended to `stream` (see [`EventType::home`]). The error's
    /// field is `stream`: the payload is taken as what the client meant, and the stream as
    /// where it was sent.
    pub fn check_stream(&self, stream: &StreamName) -> Result<()> {
        match self {
            Event::OrganizationRegistered(e) => e.check_stream(stream),
            Event::EventCorrected(e) => {
                self.event_type().check_stream_kind(stream)?;
                // A correction sits where its replacement would have been appended.
                e.replacement
                    .check_stream(stream)
                    .map_err(|inner| InvalidField::new("stream", format!("the replacement {}", inner.reason)))
            }
            _ => self.event_type().check_stream_kind(stream),
        }
    }
}

impl EventType {
    /// The part of [`Event::check_stream`] that needs only the type: the kind of stream.
    fn check_stream_kind(self, stream: &StreamName) -> Result<()> {
        let home = match (self.home(), stream.kind()) {
            (StreamHome::Cell, StreamKind::Cell)
            | (StreamHome::Org, StreamKind::Org)
            | (StreamHome::Checkpoints, StreamKind::Checkpoints)
            | (StreamHome::Credentials, StreamKind::Credentials)
            | (StreamHome::OwnStream | StreamHome::TargetStream, StreamKind::Cell | StreamKind::Org) => return Ok(()),
            (StreamHome::Cell, _) => "a cell-{id} stream",
            (StreamHome::Org, _) => "an org-{id} stream",
            (StreamHome::Checkpoints, _) => crate::id::CHECKPOINTS_STREAM,
            (StreamHome::Credentials, _) => crate::id::CREDENTIALS_STREAM,
            (StreamHome::OwnStream, _) => "its own cell-{id} or org-{id} stream",
            (StreamHome::TargetStream, _) => "the cell-{id} or org-{id} stream of the event it corrects",
        };
        Err(InvalidField::new("stream", format!("{self} belongs in {home}, not {stream}")))
    }
}

/// One event as a client submits it (`EventSubmission`), checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    /// The client-chosen id that makes resubmission idempotent.
    pub event_id: EventId,
    /// When it happened in the real world, as the client asserts.
    pub occurred_at: Timestamp,
    /// What happened.
    pub event: Event,
}

// ---------------------------------------------------------------------------------------------
// The checks the families share.

/// "expected a, b or c".
fn expected_one_of<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.collect();
    match names.split_last() {
        None => "expected nothing".to_owned(),
        Some((last, [])) => format!("expected {last}"),
        Some((last, rest)) => format!("expected {} or {last}", rest.join(", ")),
    }
}

/// Text that must be present: `text::required`, keeping the caller's value.
fn required_text(field: &str, value: &str, max: usize) -> Result<()> {
    if value.trim().is_empty() {
        return Err(InvalidField::new(field, "is empty"));
    }
    text::check(field, value, max)
}

/// Text that may be empty: `text::bounded`, keeping the caller's value.
fn bounded_text(field: &str, value: &str, max: usize) -> Result<()> {
    text::check(field, value, max)
}

/// A list of at most `max` entries.
fn at_most(field: &str, len: usize, max: usize) -> Result<()> {
    if len > max {
        return Err(InvalidField::new(field, format!("has {len} entries; the limit is {max}")));
    }
    Ok(())
}

/// A list of 1 to `max` entries; `why` says what the list is for when it is empty.
fn one_to(field: &str, len: usize, max: usize, why: &str) -> Result<()> {
    if len == 0 {
        return Err(InvalidField::new(field, format!("is empty; {why}")));
    }
    at_most(field, len, max)
}

/// Each entry of `list` has a different `key`. The error names the second occurrence.
fn unique<'a, K>(list: &str, key: &str, keys: impl IntoIterator<Item = &'a K>) -> Result<()>
where
    K: Eq + Hash + fmt::Display + ?Sized + 'a,
{
    let mut first = HashMap::new();
    for (i, k) in keys.into_iter().enumerate() {
        if let Some(j) = first.insert(k, i) {
            return Err(InvalidField::new(
                format!("{list}[{i}].{key}"),
                format!("\"{k}\" is listed twice (first at {list}[{j}])"),
            ));
        }
    }
    Ok(())
}

/// A year chibo records.
fn year(field: &str, year: u16) -> Result<()> {
    if !(MIN_YEAR..=MAX_YEAR).contains(&year) {
        return Err(InvalidField::new(field, format!("is {year}; years run from {MIN_YEAR} to {MAX_YEAR}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::Id;
    use crate::time::Date;

    pub(crate) fn id(s: &str) -> Id {
        Id::parse("id", s).unwrap()
    }

    pub(crate) fn date(s: &str) -> Date {
        Date::parse("date", s).unwrap()
    }

    /// The (field, reason) of a rejection.
    pub(crate) fn err(result: Result<impl fmt::Debug>) -> (String, String) {
        let e = result.unwrap_err();
        (e.field, e.reason)
    }

    pub(crate) fn pair(field: &str, reason: &str) -> (String, String) {
        (field.to_owned(), reason.to_owned())
    }

    /// One valid event of every type, in [`EventType::ALL`] order, for a cell `tan-hoa` under
    /// the committee `thaibinh`.
    pub(crate) fn one_of_each() -> Vec<Event> {
        vec![
            organization::tests::organization_registered().into(),
            organization::tests::member_joined().into(),
            organization::tests::member_left().into(),
            organization::tests::member_role_assigned().into(),
            programme::tests::programme_launched().into(),
            programme::tests::cell_registered().into(),
            programme::tests::cell_selected().into(),
            programme::tests::cell_certified().into(),
            programme::tests::certification_revoked().into(),
            meeting::tests::meeting_held().into(),
            meeting::tests::member_spoke().into(),
            meeting::tests::member_commended().into(),
            meeting::tests::member_reminded().into(),
            meeting::tests::resolution_adopted().into(),
            meeting::tests::task_assigned().into(),
            meeting::tests::task_completed().into(),
            meeting::tests::meeting_scored().into(),
            points::tests::study_points_earned().into(),
            points::tests::indicators_scored().into(),
            inspection::tests::inspection_conducted().into(),
            inspection::tests::candidate_trained().into(),
            inspection::tests::member_classified().into(),
            inspection::tests::cell_classified().into(),
            correction::tests::event_corrected().into(),
            correction::tests::event_retracted().into(),
            keys::tests::signing_key_registered().into(),
            keys::tests::signing_key_revoked().into(),
            keys::tests::checkpoint_signed().into(),
            credentials::tests::credential_issued().into(),
            credentials::tests::credential_revoked().into(),
        ]
    }

    fn stream(name: &str) -> StreamName {
        StreamName::parse("stream", name).unwrap()
    }

    #[test]
    fn an_event_is_its_type_and_a_pointer_to_its_fields() {
        // The state keeps an event per fact in force: its size is paid a million times.
        assert_eq!(std::mem::size_of::<Event>(), 2 * std::mem::size_of::<usize>());
        let event = one_of_each().remove(0);
        assert_eq!(event.clone(), event, "a copy is equal, field for field");
    }

    #[test]
    fn names_round_trip_in_schema_order() {
        let events = one_of_each();
        let types: Vec<EventType> = events.iter().map(Event::event_type).collect();
        assert_eq!(types, EventType::ALL);
        for t in EventType::ALL {
            assert_eq!(EventType::from_name(t.name()), Some(t));
            assert_eq!(t.to_string(), t.name());
            assert_eq!(t.schema_version(), 1);
        }
        assert_eq!(EventType::MeetingHeld.name(), "MeetingHeld");
        assert_eq!(EventType::from_name("meetingheld"), None);
        assert_eq!(EventType::from_name(""), None);
        assert_eq!(EventType::MeetingHeld.field_name(), "meeting_held");
        assert_eq!(EventType::StudyPointsEarned.field_name(), "study_points_earned");
        assert_eq!(EventType::OrganizationRegistered.field_name(), "organization_registered");
    }

    #[test]
    fn every_event_fits_its_home_and_nothing_else() {
        let cell = stream("cell-tan-hoa");
        let org = stream("org-thaibinh");
        let checkpoints = stream("$checkpoints");
        let credentials = stream("$credentials");
        for event in one_of_each() {
            let t = event.event_type();
            let streams = [&cell, &org, &checkpoints, &credentials];
            let fits: Vec<bool> = streams.iter().map(|s| event.check_stream(s).is_ok()).collect();
            let expected = match t.home() {
                StreamHome::Cell => [true, false, false, false],
                StreamHome::Org => [false, true, false, false],
                StreamHome::Checkpoints => [false, false, true, false],
                StreamHome::Credentials => [false, false, false, true],
                // The sample registers the cell tan-hoa.
                StreamHome::OwnStream => [true, false, false, false],
                // The sample corrects a MeetingHeld, which only a cell stream takes.
                StreamHome::TargetStream if t == EventType::EventCorrected => [true, false, false, false],
                StreamHome::TargetStream => [true, true, false, false],
            };
            assert_eq!(fits, expected, "{t}");
        }
    }

    #[test]
    fn a_misplaced_event_names_the_stream() {
        let events = one_of_each();
        let meeting = &events[EventType::MeetingHeld as usize];
        let e = meeting.check_stream(&stream("org-x")).unwrap_err();
        assert_eq!(e.field, "stream");
        assert_eq!(e.reason, "MeetingHeld belongs in a cell-{id} stream, not org-x");

        let programme = &events[EventType::ProgrammeLaunched as usize];
        let e = programme.check_stream(&stream("$checkpoints")).unwrap_err();
        assert_eq!(e.reason, "ProgrammeLaunched belongs in an org-{id} stream, not $checkpoints");

        let checkpoint = &events[EventType::CheckpointSigned as usize];
        let e = checkpoint.check_stream(&stream("cell-x")).unwrap_err();
        assert_eq!(e.reason, "CheckpointSigned belongs in $checkpoints, not cell-x");

        let retraction = &events[EventType::EventRetracted as usize];
        let e = retraction.check_stream(&stream("$checkpoints")).unwrap_err();
        assert_eq!(
            e.reason,
            "EventRetracted belongs in the cell-{id} or org-{id} stream of the event it corrects, \
             not $checkpoints"
        );

        let correction = &events[EventType::EventCorrected as usize];
        let e = correction.check_stream(&stream("org-thaibinh")).unwrap_err();
        assert_eq!(e.field, "stream");
        assert_eq!(e.reason, "the replacement MeetingHeld belongs in a cell-{id} stream, not org-thaibinh");
    }

    #[test]
    fn an_organization_registers_in_its_own_stream() {
        let cell = Event::from(organization::tests::organization_registered());
        assert!(cell.check_stream(&stream("cell-tan-hoa")).is_ok());
        let e = cell.check_stream(&stream("cell-other")).unwrap_err();
        assert_eq!(e.field, "stream");
        assert_eq!(e.reason, "OrganizationRegistered of cell \"tan-hoa\" belongs in cell-tan-hoa, not cell-other");
        assert!(cell.check_stream(&stream("org-tan-hoa")).is_err());

        let mut fields = organization::tests::organization_registered().into_fields();
        fields.level = OrgLevel::District;
        fields.cell_type = String::new();
        let district = Event::from(OrganizationRegistered::new(fields).unwrap());
        assert!(district.check_stream(&stream("org-tan-hoa")).is_ok());
        let e = district.check_stream(&stream("cell-tan-hoa")).unwrap_err();
        assert_eq!(e.reason, "OrganizationRegistered of district \"tan-hoa\" belongs in org-tan-hoa, not cell-tan-hoa");
        assert!(district.check_stream(&stream("$checkpoints")).is_err());
    }

    #[test]
    fn shared_checks_word_their_errors() {
        assert_eq!(expected_one_of(["a"].into_iter()), "expected a");
        assert_eq!(expected_one_of(["a", "b", "c"].into_iter()), "expected a, b or c");
        assert_eq!(MeetingKind::expected_one_of(MeetingKind::ALL), "expected regular, thematic or extraordinary");
        let e = one_to("parts", 0, 5, "a score has parts").unwrap_err();
        assert_eq!((e.field.as_str(), e.reason.as_str()), ("parts", "is empty; a score has parts"));
        let e = at_most("guests", 6, 5).unwrap_err();
        assert_eq!(e.reason, "has 6 entries; the limit is 5");
        let ids: Vec<Id> = ["a", "b", "a"].iter().map(|s| Id::parse("id", s).unwrap()).collect();
        let e = unique("attendance", "member_id", &ids).unwrap_err();
        assert_eq!(e.field, "attendance[2].member_id");
        assert_eq!(e.reason, "\"a\" is listed twice (first at attendance[0])");
        assert_eq!(year("year", 1899).unwrap_err().reason, "is 1899; years run from 1900 to 9999");
    }
}
