//! The demo province behind `chibo demo`: Thái Bình's party tree with a year of every cell's
//! life, generated from a seed and submitted as ordinary events.
//!
//! Everything is a function of the settings (seed, number of cells, year): the same settings
//! give the same event ids, payloads and instants, so submitting the plan twice records nothing
//! the second time. Every event is built as a `chibo_domain` value, so it has passed the
//! domain's shape rules before it is converted for the wire, and the plan keeps to the rules
//! the server enforces against the log: parents before children, members in one cell at a
//! time, meetings, points and scores only for members and cells that exist on that day, and
//! nothing dated after today.
//!
//! - [`tree`]: the organizations; [`people`]: members, officers and the year's changes;
//! - [`programme`]: the programmes, registrations, selections, inspections, certifications;
//! - [`year`]: one cell's meetings, points and self-assessment;
//! - [`plan`]: ordering, ids and batches.

pub mod calendar;
mod names;
mod people;
mod plan;
mod programme;
mod texts;
mod tree;
mod year;

use chibo_domain::{
    event::{
        CellCertified, CellCertifiedFields, CellRegistered, CellRegisteredFields, CellSelected, CellSelectedFields,
        CriterionCheck, InspectionConducted, InspectionConductedFields, OrgLevel, OrganizationRegistered,
        OrganizationRegisteredFields, ProgrammeLaunched,
    },
    Id,
};
use rand::{rngs::StdRng, seq::SliceRandom, Rng, SeedableRng};

use calendar::Day;
use plan::Recorder;
pub use plan::{Batch, Plan, MAX_BATCH};
use year::time;

/// What the province is built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    pub seed: u64,
    pub cells: usize,
    /// The year of cell life to generate; it must be over.
    pub year: i32,
}

/// The root of the demo's tree, and the first stream it writes.
pub const PROVINCE: &str = tree::PROVINCE;

/// When a cell meets in the year: a regular meeting early each month, and a thematic meeting
/// on another day in the first month of each quarter. About one cell in three goes further and
/// holds a second thematic meeting, in the quarter's second month, in two or three quarters:
/// the 130 % of the thematic target that an excellent cell needs.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub regular: [Day; 12],
    /// Each thematic meeting's day and quarter, in order.
    pub thematic: Vec<(Day, u32)>,
}

impl Schedule {
    fn new(rng: &mut StdRng, year: i32) -> Schedule {
        let usual = rng.gen_range(3..=8);
        let weekday = |day: Day| if day.weekday() == 6 { day.plus(1) } else { day };
        let regular = std::array::from_fn(|m| weekday(Day::ymd(year, m as u32 + 1, usual + rng.gen_range(0..=2))));
        let mut thematic: Vec<(Day, u32)> =
            (1..=4).map(|q| (weekday(Day::ymd(year, 3 * q - 2, rng.gen_range(12..=20))), q)).collect();
        if rng.gen_bool(0.35) {
            let extra = rng.gen_range(2..=3);
            let mut quarters = [1, 2, 3, 4];
            quarters.shuffle(rng);
            for &q in &quarters[..extra] {
                thematic.push((weekday(Day::ymd(year, 3 * q - 1, rng.gen_range(15..=22))), q));
            }
            thematic.sort();
        }
        Schedule { regular, thematic }
    }

    pub fn meets_on(&self, day: Day) -> bool {
        self.regular.contains(&day) || self.thematic.iter().any(|&(d, _)| d == day)
    }
}

/// Every organization is recorded on 3 February (the Party's founding day) 36 years before
/// the year, before any member's joining date.
fn founding(year: i32) -> Day {
    Day::ymd(year - 36, 2, 3)
}

/// The two random sources: one for what happens, one for the event ids. Apart, so that the
/// ids do not shift when the generator draws one more number.
const CONTENT: u64 = 1;
const EVENT_IDS: u64 = 2;

/// Mixes the settings into one seed, so that a different year or size gives different event
/// ids as well as different events.
fn mixed_seed(settings: &Settings, salt: u64) -> u64 {
    let mut x = settings.seed ^ salt;
    for part in [settings.year as u64, settings.cells as u64] {
        // splitmix64 steps.
        x = x.wrapping_add(part).wrapping_add(0x9e37_79b9_7f4a_7c15);
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^= x >> 31;
    }
    x
}

/// The whole province, in the order it must be submitted.
pub fn build(settings: &Settings) -> anyhow::Result<Plan> {
    let Settings { cells, year, .. } = *settings;
    let mut rng = StdRng::seed_from_u64(mixed_seed(settings, CONTENT));
    let tree = tree::layout(cells);
    let schedules: Vec<Schedule> = tree.cells.iter().map(|_| Schedule::new(&mut rng, year)).collect();
    let mut roster = people::before_the_year(&mut rng, &tree, year);
    people::during_the_year(&mut rng, &mut roster, &tree, &schedules, year);
    let programmes = programme::launch(&mut rng, &tree, year)?;
    let enrolments = programme::enrol(&mut rng, &tree, &programmes, year);
    // A few people of each committee who attend its cells' meetings as guests.
    let guests: Vec<Vec<String>> =
        tree.committees.iter().map(|_| (0..3).map(|_| names::person(&mut rng)).collect()).collect();

    let mut out = Recorder::default();
    organizations(&tree, year, &mut out)?;
    programmes_and_decisions(&tree, &programmes, &enrolments, year, &mut out)?;
    for cell in 0..tree.cells.len() {
        let enrolment = enrolments.iter().find(|e| e.cell == cell).map(|e| (e, &programmes[e.programme]));
        let cell_year = year::CellYear {
            tree: &tree,
            cell,
            roster: &roster,
            schedule: &schedules[cell],
            enrolment,
            guests: &guests[tree.cells[cell].parent],
            year,
        };
        cell_year.record(&mut rng, &mut out)?;
    }

    let mut ids = StdRng::seed_from_u64(mixed_seed(settings, EVENT_IDS));
    let batches = out.finish(&mut ids)?;
    let members = roster.persons.iter().enumerate().filter(|(p, _)| roster.memberships.iter().any(|m| m.person == *p));
    Ok(Plan { batches, committees: tree.committees.len(), cells: tree.cells.len(), members: members.count() })
}

/// How deep an organization sits in the tree: its parent is less deep, and every cell is
/// deeper than every committee.
fn depth(level: OrgLevel) -> u8 {
    match level {
        OrgLevel::Province => 0,
        OrgLevel::Bloc | OrgLevel::District => 1,
        OrgLevel::Grassroots => 2,
        OrgLevel::Cell => 3,
    }
}

fn organizations(tree: &tree::Tree, year: i32, out: &mut Recorder) -> anyhow::Result<()> {
    let day = founding(year);
    for committee in &tree.committees {
        let registered = OrganizationRegistered::new(OrganizationRegisteredFields {
            org_id: Id::parse("org_id", &committee.id)?,
            parent_id: committee.parent.map(|p| Id::parse("parent_id", &tree.committees[p].id)).transpose()?,
            level: committee.level,
            name: committee.name.clone(),
            cell_type: String::new(),
        })?;
        out.registration(depth(committee.level), &format!("org-{}", committee.id), day, time::REGISTERED, registered);
    }
    for cell in &tree.cells {
        let registered = OrganizationRegistered::new(OrganizationRegisteredFields {
            org_id: Id::parse("org_id", &cell.id)?,
            parent_id: Some(Id::parse("parent_id", &tree.committees[cell.parent].id)?),
            level: OrgLevel::Cell,
            name: cell.name.clone(),
            cell_type: cell.unit.cell_type().to_owned(),
        })?;
        // With the tree, before any record book: a transfer may name a cell that comes later.
        out.registration(depth(OrgLevel::Cell), &format!("cell-{}", cell.id), day, time::REGISTERED, registered);
    }
    Ok(())
}

/// The programmes, the cells' registrations, and the committees' selections, inspections and
/// certifications.
fn programmes_and_decisions(
    tree: &tree::Tree,
    programmes: &[programme::Programme],
    enrolments: &[programme::Enrolment],
    year: i32,
    out: &mut Recorder,
) -> anyhow::Result<()> {
    for (p, programme) in programmes.iter().enumerate() {
        let committee = &tree.committees[programme.committee];
        let stream = format!("org-{}", committee.id);
        let launched = ProgrammeLaunched::new(programme.launched.clone())?;
        out.registration(depth(committee.level), &stream, programme.launched_on, time::PROGRAMME, launched);
        let programme_id = programme.launched.programme_id.clone();
        // One decision selects all of a committee's cells, another certifies them.
        let decision = |n: usize| format!("{}-{}", 100 + 37 * p + n, programme.decisions);
        for (k, e) in enrolments.iter().enumerate().filter(|(_, e)| e.programme == p) {
            let cell = &tree.cells[e.cell];
            let cell_id = Id::parse("cell_id", &cell.id)?;
            let registered = CellRegistered::new(CellRegisteredFields {
                programme_id: programme_id.clone(),
                date: e.registered_on.date(),
            })?;
            out.cell(&format!("cell-{}", cell.id), e.registered_on, time::PROGRAMME, registered);
            if let Some(day) = e.selected_on {
                let selected = CellSelected::new(CellSelectedFields {
                    programme_id: programme_id.clone(),
                    cell_id: cell_id.clone(),
                    decision_number: decision(0),
                    date: day.date(),
                })?;
                out.decision(&stream, day, time::DECISION, selected);
            }
            if let Some(inspection) = &e.inspection {
                let conducted = InspectionConducted::new(InspectionConductedFields {
                    inspection_id: Id::parse("inspection_id", &format!("kt-{year}-{:03}", k + 1))?,
                    cell_id: cell_id.clone(),
                    date: inspection.day.date(),
                    findings: texts::findings(
                        inspection.checks.iter().all(|(_, met)| *met),
                        inspection.hard_failed(programme),
                    )
                    .to_owned(),
                    conclusion: inspection.conclusion,
                    programme_id: Some(programme_id.clone()),
                    criteria: inspection
                        .checks
                        .iter()
                        .map(|(criterion_id, met)| CriterionCheck { criterion_id: criterion_id.clone(), met: *met })
                        .collect(),
                })?;
                out.decision(&stream, inspection.day, time::DECISION, conducted);
            }
            if let Some(day) = e.certified_on {
                let certified = CellCertified::new(CellCertifiedFields {
                    programme_id: programme_id.clone(),
                    cell_id,
                    decision_number: decision(1),
                    date: day.date(),
                    score: e.totals[11],
                })?;
                out.decision(&stream, day, time::DECISION, certified);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
