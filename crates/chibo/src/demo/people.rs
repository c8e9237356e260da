//! The members: who is in which cell before the year starts, who leads each cell, and who
//! joins, transfers, dies or is removed during the year.
//!
//! A member belongs to one cell at a time. Joining and leaving never fall on a day the cell
//! meets, so whether a member counts on that day is never in doubt. A transfer leaves one cell
//! in one month and arrives in the other the next month; the plan submits the arrival after
//! the departure (see `plan`).

use rand::{rngs::StdRng, seq::SliceRandom, Rng};

use super::{calendar::Day, names, texts, tree::Tree, tree::Unit, Schedule};

/// How keen a member is on the study app: it sets how many points they earn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zeal {
    Low,
    Usual,
    Keen,
}

#[derive(Debug, Clone)]
pub struct Person {
    pub id: String,
    pub name: String,
    pub zeal: Zeal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Joined {
    Admitted,
    TransferredIn { from: usize },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Left {
    TransferredOut { to: usize },
    Removed,
    Deceased,
}

/// One member's time in one cell.
#[derive(Debug, Clone)]
pub struct Membership {
    pub person: usize,
    pub cell: usize,
    pub from: Day,
    pub joined: Joined,
    pub until: Option<(Day, Left)>,
}

impl Membership {
    /// Whether the member is in the cell on `day`. Never asked for the day of joining or
    /// leaving (nothing the member does is recorded on those days).
    pub fn active_on(&self, day: Day) -> bool {
        self.from < day && self.until.is_none_or(|(until, _)| day < until)
    }

    /// In the cell from before the year to after it.
    pub fn stays(&self) -> bool {
        self.until.is_none()
    }
}

/// The cell's officers, elected at its last congress.
#[derive(Debug, Clone)]
pub struct Officers {
    pub elected_on: Day,
    pub secretary: usize,
    pub deputy: usize,
    pub committee: Vec<usize>,
}

/// A candidate (quần chúng ưu tú) who finished the course in the year.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub person: usize,
    pub cell: usize,
    pub trained_on: Day,
}

#[derive(Debug, Clone)]
pub struct Roster {
    pub persons: Vec<Person>,
    pub memberships: Vec<Membership>,
    /// Membership indices of each cell, in the order the members joined it.
    pub by_cell: Vec<Vec<usize>>,
    pub officers: Vec<Officers>,
    pub candidates: Vec<Candidate>,
}

impl Roster {
    pub fn person_of(&self, membership: usize) -> &Person {
        &self.persons[self.memberships[membership].person]
    }

    /// Memberships of `cell` active on `day`, in joining order.
    pub fn active(&self, cell: usize, day: Day) -> Vec<usize> {
        self.by_cell[cell].iter().copied().filter(|&m| self.memberships[m].active_on(day)).collect()
    }

    fn add_person(&mut self, rng: &mut StdRng) -> usize {
        let name = names::person(rng);
        let zeal = match rng.gen_range(0..100) {
            0..15 => Zeal::Low,
            15..88 => Zeal::Usual,
            _ => Zeal::Keen,
        };
        // A province-wide number keeps ids unique however common the name.
        let id = format!("{}-{:05}", names::slug(&name), self.persons.len() + 1);
        self.persons.push(Person { id, name, zeal });
        self.persons.len() - 1
    }

    fn add_membership(&mut self, membership: Membership) -> usize {
        let cell = membership.cell;
        self.memberships.push(membership);
        let m = self.memberships.len() - 1;
        self.by_cell[cell].push(m);
        m
    }
}

/// The members of every cell on the eve of `year`: most joined the Party years ago, the most
/// senior lead the cell.
pub fn before_the_year(rng: &mut StdRng, tree: &Tree, year: i32) -> Roster {
    let mut roster = Roster {
        persons: Vec::new(),
        memberships: Vec::new(),
        by_cell: vec![Vec::new(); tree.cells.len()],
        officers: Vec::new(),
        candidates: Vec::new(),
    };
    // Nothing before the year is dated after November, so it all comes before the cells
    // register for the year's programmes in December.
    let last = Day::ymd(year - 1, 11, 30);
    for (c, cell) in tree.cells.iter().enumerate() {
        let size = match cell.unit {
            Unit::Hospital => rng.gen_range(12..=34),
            Unit::Agency => rng.gen_range(8..=24),
            Unit::Village => rng.gen_range(15..=40),
            Unit::Ward => rng.gen_range(12..=36),
            Unit::Enterprise => rng.gen_range(10..=34),
        };
        let mut joined: Vec<Day> = (0..size)
            .map(|_| {
                // Party age skewed towards recent years: 1 to 35 years.
                let u: f64 = rng.gen();
                let years_ago = 1 + (u * u * 35.0) as i32;
                let first = Day::ymd(year - years_ago, 1, 1);
                first.plus(rng.gen_range(0..365)).min(last)
            })
            .collect();
        joined.sort();
        for from in joined {
            let person = roster.add_person(rng);
            roster.add_membership(Membership { person, cell: c, from, joined: Joined::Admitted, until: None });
        }
        roster.officers.push(elect(rng, &roster, c, year));
    }
    roster
}

/// The officers of `cell`, elected at a congress two years before `year` among members of
/// some standing.
fn elect(rng: &mut StdRng, roster: &Roster, cell: usize, year: i32) -> Officers {
    let members = &roster.by_cell[cell];
    let congress = Day::ymd(year - 2, 4, 1).plus(rng.gen_range(0..60));
    // The senior half, by party age; they all joined long before the congress or, in a cell
    // of newcomers, the congress waits for them.
    let senior: Vec<usize> = members[..members.len().div_ceil(2)].to_vec();
    let newest_officer = roster.memberships[senior[senior.len() - 1]].from;
    let elected_on = congress.max(newest_officer.plus(30)).min(Day::ymd(year - 1, 11, 30));
    let mut picks = senior.clone();
    picks.shuffle(rng);
    let committee_size = match members.len() {
        0..15 => 0,
        15..30 => 1,
        _ => 3,
    };
    Officers { elected_on, secretary: picks[0], deputy: picks[1], committee: picks[2..2 + committee_size].to_vec() }
}

/// The year's comings and goings: transfers between cells, deaths, removals from the rolls
/// and admissions (with the candidates trained before them).
pub fn during_the_year(rng: &mut StdRng, roster: &mut Roster, tree: &Tree, schedules: &[Schedule], year: i32) {
    let cells = tree.cells.len();
    let initial: Vec<usize> = roster.by_cell.iter().map(Vec::len).collect();
    let mut joins = vec![0usize; cells];
    let mut leaves = vec![0usize; cells];
    let officers: Vec<usize> = roster
        .officers
        .iter()
        .flat_map(|o| [o.secretary, o.deputy].into_iter().chain(o.committee.iter().copied()))
        .collect();
    // Cells keep 8 to 40 members whatever the order of the changes.
    let can_leave = |c: usize, leaves: &[usize]| initial[c] - leaves[c] > 8;
    let can_join = |c: usize, joins: &[usize]| initial[c] + joins[c] < 40;
    let mut changing = vec![false; roster.memberships.len()];
    let leaver = |rng: &mut StdRng, roster: &Roster, changing: &[bool], cell: usize| {
        let eligible: Vec<usize> =
            roster.by_cell[cell].iter().copied().filter(|m| !changing[*m] && !officers.contains(m)).collect();
        eligible.choose(rng).copied()
    };
    // A day in `month` on which `cell` does not meet.
    let free_day = |rng: &mut StdRng, cell: usize, month: u32, days: std::ops::RangeInclusive<u32>| loop {
        let day = Day::ymd(year, month, rng.gen_range(days.clone()));
        if !schedules[cell].meets_on(day) {
            break day;
        }
    };

    if cells >= 2 {
        for _ in 0..(cells / 8).max(1) {
            let from = rng.gen_range(0..cells);
            let to = (from + rng.gen_range(1..cells)) % cells;
            if !can_leave(from, &leaves) || !can_join(to, &joins) {
                continue;
            }
            let Some(m) = leaver(rng, roster, &changing, from) else { continue };
            let month = rng.gen_range(2..=10);
            let out = free_day(rng, from, month, 1..=28);
            let arrive = free_day(rng, to, month + 1, 1..=20);
            changing[m] = true;
            roster.memberships[m].until = Some((out, Left::TransferredOut { to }));
            let person = roster.memberships[m].person;
            roster.add_membership(Membership {
                person,
                cell: to,
                from: arrive,
                joined: Joined::TransferredIn { from },
                until: None,
            });
            changing.push(true);
            leaves[from] += 1;
            joins[to] += 1;
        }
    }
    for (count, left, months) in [(cells / 25, Left::Deceased, 1..=11), (cells / 50, Left::Removed, 5..=11)] {
        for _ in 0..count {
            let cell = rng.gen_range(0..cells);
            if !can_leave(cell, &leaves) {
                continue;
            }
            let Some(m) = leaver(rng, roster, &changing, cell) else { continue };
            let month = rng.gen_range(months.clone());
            let day = free_day(rng, cell, month, 1..=28);
            changing[m] = true;
            roster.memberships[m].until = Some((day, left));
            leaves[cell] += 1;
        }
    }
    for cell in 0..cells {
        let admitted = match rng.gen_range(0..100) {
            0..60 => 0,
            60..90 => 1,
            _ => 2,
        };
        for _ in 0..admitted {
            if !can_join(cell, &joins) {
                break;
            }
            let month = rng.gen_range(3..=11);
            let day = free_day(rng, cell, month, 1..=28);
            let person = roster.add_person(rng);
            roster.add_membership(Membership { person, cell, from: day, joined: Joined::Admitted, until: None });
            changing.push(true);
            joins[cell] += 1;
            let trained_on = day.plus(-rng.gen_range(40..=120));
            if trained_on >= Day::ymd(year, 1, 10) {
                roster.candidates.push(Candidate { person, cell, trained_on });
            }
        }
        // Candidates still waiting for admission at the end of the year.
        if rng.gen_bool(0.25) {
            let person = roster.add_person(rng);
            let trained_on = Day::ymd(year, rng.gen_range(2..=11), rng.gen_range(1..=28));
            roster.candidates.push(Candidate { person, cell, trained_on });
        }
    }
}

/// The reason recorded when a member leaves.
pub fn leaving_reason(rng: &mut StdRng, left: Left) -> String {
    match left {
        Left::TransferredOut { .. } => names::pick_one(rng, texts::TRANSFER_REASONS).to_owned(),
        Left::Removed => texts::REMOVAL_REASON.to_owned(),
        Left::Deceased => texts::DECEASED_REASON.to_owned(),
    }
}
