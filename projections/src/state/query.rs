//! Questions the rules and the standings ask of the state: who is a member of a cell on a
//! date, what a programme's framework says, which facts a cell holds.

use std::collections::BTreeSet;

use chibo_domain::event::{MeetingHeld, ProgrammeLaunched, ScoredBy};
use chibo_domain::{Date, Event, EventId, Id, Period, StreamName};

use super::{Fact, MembershipChange, State};

/// A member's standing in one cell on a date, from their joins and departures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Membership {
    /// Joined on or before the date and not left since.
    Active {
        /// The day of the last join.
        since: Date,
    },
    /// Left on or before the date.
    Left {
        /// The day of the departure.
        on: Date,
    },
}

/// A programme in force: its committee's stream and its launch.
#[derive(Debug, Clone, Copy)]
pub struct Programme<'a> {
    /// The committee stream that launched it.
    pub stream: &'a StreamName,
    /// The launch event's id.
    pub event_id: EventId,
    /// The launch.
    pub launched: &'a ProgrammeLaunched,
}

impl<'a> Programme<'a> {
    /// The committee that runs the programme.
    pub fn committee(&self) -> Option<&'a Id> {
        self.stream.id()
    }
}

impl State {
    /// The facts in force of `cell`'s stream, by event id.
    pub fn cell_fact(&self, cell: &Id, event_id: &EventId) -> Option<&Fact> {
        self.fact(&StreamName::Cell(cell.clone()), event_id)
    }

    /// `member`'s standing in `cell` on `date` (`None`: never joined by then). With `date`
    /// `None`, their standing after every recorded join and departure.
    pub fn membership(&self, cell: &Id, member: &Id, date: Option<Date>) -> Option<Membership> {
        let changes = self.index().cells.get(cell)?.membership.get(member)?;
        let mut standing = None;
        for &(on, _, _, change) in changes {
            if date.is_some_and(|d| on > d) {
                break;
            }
            standing = Some(match change {
                MembershipChange::Joined => Membership::Active { since: on },
                MembershipChange::Left => Membership::Left { on },
            });
        }
        standing
    }

    /// Whether `member` is a member of `cell` on `date` (or after every recorded change).
    pub fn is_member(&self, cell: &Id, member: &Id, date: Option<Date>) -> bool {
        matches!(self.membership(cell, member, date), Some(Membership::Active { .. }))
    }

    /// The members of `cell` on `date`, by id.
    pub fn members_on(&self, cell: &Id, date: Date) -> BTreeSet<&Id> {
        let Some(index) = self.index().cells.get(cell) else { return BTreeSet::new() };
        index.membership.keys().filter(|m| self.is_member(cell, m, Some(date))).collect()
    }

    /// Everyone `cell`'s records name as joining or leaving, by id.
    pub fn members_ever(&self, cell: &Id) -> impl Iterator<Item = &Id> {
        self.index().cells.get(cell).into_iter().flat_map(|c| c.membership.keys())
    }

    /// The cells other than `except` where `member` is a member after every recorded change.
    pub fn active_elsewhere(&self, member: &Id, except: &Id) -> Option<Id> {
        let cells = self.index().member_cells.get(member)?;
        cells.iter().map(|(cell, _)| cell).find(|cell| *cell != except && self.is_member(cell, member, None)).cloned()
    }

    /// `member`'s latest departure from a cell other than `except`: the cell and the day.
    pub fn last_left_elsewhere(&self, member: &Id, except: &Id) -> Option<(Id, Date)> {
        let cells = self.index().member_cells.get(member)?;
        let left = cells.iter().map(|(cell, _)| cell).filter(|cell| *cell != except);
        let left = left.filter_map(|cell| match self.membership(cell, member, None) {
            Some(Membership::Left { on }) => Some((on, cell)),
            _ => None,
        });
        left.max().map(|(on, cell)| (cell.clone(), on))
    }

    /// The programme `id`, as its launch in force says.
    pub fn programme(&self, id: &Id) -> Option<Programme<'_>> {
        let (stream, event_id) = self.index().programmes.get(id)?.first()?;
        match &self.fact(stream, event_id)?.event {
            Event::ProgrammeLaunched(launched) => Some(Programme { stream, event_id: *event_id, launched }),
            _ => None,
        }
    }

    /// The meeting `meeting` of `cell`, with its event id.
    pub fn meeting(&self, cell: &Id, meeting: &Id) -> Option<(EventId, &MeetingHeld)> {
        let id = self.index().cells.get(cell)?.meetings.get(meeting)?.first()?;
        match &self.cell_fact(cell, id)?.event {
            Event::MeetingHeld(held) => Some((*id, held)),
            _ => None,
        }
    }

    /// Whether `cell` registered for `programme` (a registration in force).
    pub fn is_registered(&self, cell: &Id, programme: &Id) -> bool {
        self.index().cells.get(cell).is_some_and(|c| c.registrations.contains_key(programme))
    }

    /// Whether `cell` holds a certification in force in `programme`: its last certification
    /// decision certified it rather than revoked it.
    pub fn is_certified(&self, programme: &Id, cell: &Id) -> bool {
        self.index()
            .certifications
            .get(&(programme.clone(), cell.clone()))
            .and_then(|decisions| decisions.last())
            .is_some_and(|(_, _, _, certified)| *certified)
    }

    /// `cell`'s latest scored month in `programme` and its total: the committee's score for a
    /// month wins over the cell's own.
    pub fn latest_indicator_total(&self, cell: &Id, programme: &Id) -> Option<(Period, u32, EventId)> {
        let index = self.index().cells.get(cell)?;
        let mut best: Option<(Period, ScoredBy, EventId)> = None;
        for ((p, period, by), ids) in &index.indicator_scores {
            if p != programme {
                continue;
            }
            let Some(id) = ids.first() else { continue };
            let rank = |by: ScoredBy| by == ScoredBy::Committee;
            let better = match &best {
                None => true,
                Some((bp, bby, _)) => (period, rank(*by)) > (bp, rank(*bby)),
            };
            if better {
                best = Some((*period, *by, *id));
            }
        }
        let (period, _, id) = best?;
        match &self.cell_fact(cell, &id)?.event {
            Event::IndicatorsScored(s) => Some((period, s.scores.iter().map(|s| s.points).sum(), id)),
            _ => None,
        }
    }
}
