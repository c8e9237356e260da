//! Which events the log holds, by event id: what idempotency asks of every append.
//!
//! Clients choose event ids, mostly at random. In a SQLite index each new id lands on a random
//! leaf, and a commit writes every page it changed to the WAL whole: past a few hundred
//! thousand events, a commit of 500 events changed about 500 leaves of the id index, 2 MB of
//! WAL for a quarter of a megabyte of events, and ingest fell with the log's size
//! (docs/BENCHMARKS.md, seventeenth round). So the ids are kept in two parts:
//! - `event_ids`, a table ordered by id, holds the ids of the events below `ids_through` (kept
//!   in `meta`);
//! - the ids of the events from `ids_through` on, the recent ones, are kept by the writer in
//!   memory ([`Ids`]), and read back from `events` when the store opens.
//!
//! Once the recent ids are a sixteenth of the log, and at least [`MERGE_AT_LEAST`], the writer
//! sorts them and inserts them into `event_ids` in that order, and moves `ids_through` past
//! them, in one transaction: each leaf of the table is written once for all of them, instead
//! of once for each commit that touched it. Which ids the log holds is the same at every
//! moment, whatever the split, and a restart finds the split the last merge committed.
//!
//! Nearly every id an append brings is new, and looking each up in the table cost a B-tree
//! search through SQLite (about a microsecond; a fourteenth of the server's CPU under a batched
//! load, eighteenth round). Bloom filters of the table's ids answer "not there" for almost all
//! of them without it: the table is searched only for an id a filter may hold. One filter is
//! made from the table when the store opens; a merge puts its ids into the newest, and once
//! that is full a new one, with room for twice as many ids as all the others hold, takes the
//! next. So the table is read once, at open, and a search probes a filter for each doubling of
//! the log since then.

use std::{
    collections::HashMap,
    hash::{BuildHasher, RandomState},
};

use chibo_domain::EventId;
use rusqlite::{params, Connection, OptionalExtension};

/// The fewest recent ids a merge takes: fewer would write the table's pages too often for
/// each id (each merge writes about every leaf the ids fall on).
pub const MERGE_AT_LEAST: usize = 65_536;

/// The fewest ids a [`Filter`] is made for: two megabytes.
const FILTER_AT_LEAST: u64 = 1 << 20;

/// The event ids of a log, as its writer keeps them.
#[derive(Debug)]
pub struct Ids {
    /// The recent ids, those of the events from `ids_through` on, with their positions.
    recent: HashMap<EventId, u64>,
    /// Filters that hold every id of the table between them, and perhaps a few others; the
    /// newest last.
    merged: Vec<Filter>,
    /// The key of the hash every filter places ids by: random for each process, so that no
    /// choice of ids makes a client's new ids look held more often than chance.
    keys: RandomState,
    merge_at_least: usize,
    /// The fewest ids a filter is made for.
    filter_at_least: u64,
}

/// A Bloom filter of event ids, placed by their keyed hash: it holds every id put in it, and
/// says so of few others (about one in a hundred while it holds no more than it was made for).
/// Ten bits an id, seven probes.
#[derive(Debug)]
struct Filter {
    bits: Vec<u64>,
    /// The number of bits, a power of two, minus one.
    mask: u64,
    /// How many ids it was made for.
    capacity: u64,
    /// How many ids were put in it.
    held: u64,
}

const BITS_PER_ID: u64 = 10;
const PROBES: u64 = 7;

impl Filter {
    fn new(capacity: u64) -> Self {
        let bits = capacity.saturating_mul(BITS_PER_ID).next_power_of_two().max(64);
        Self { bits: vec![0; (bits / 64) as usize], mask: bits - 1, capacity, held: 0 }
    }

    /// The bits of the id whose keyed hash is `hash`: the first, and the step to the next.
    fn probes(&self, hash: u64) -> impl Iterator<Item = u64> {
        let (first, step, mask) = (hash, hash.rotate_left(32) | 1, self.mask);
        (0..PROBES).map(move |i| first.wrapping_add(i.wrapping_mul(step)) & mask)
    }

    fn insert(&mut self, hash: u64) {
        for bit in self.probes(hash) {
            self.bits[(bit / 64) as usize] |= 1 << (bit % 64);
        }
        self.held += 1;
    }

    fn may_hold(&self, hash: u64) -> bool {
        self.probes(hash).all(|bit| self.bits[(bit / 64) as usize] & (1 << (bit % 64)) != 0)
    }

    fn is_full(&self) -> bool {
        self.held >= self.capacity
    }
}

fn sql(what: &str) -> impl Fn(rusqlite::Error) -> String + '_ {
    move |e| format!("{what}: {e}")
}

/// Hands each `(event_id, position)` row of `query` to `take`, refusing an id that is not 16
/// bytes; `which` names the ids in errors.
fn each_id(
    conn: &Connection,
    query: &str,
    params: impl rusqlite::Params,
    which: &str,
    mut take: impl FnMut(EventId, u64),
) -> Result<(), String> {
    let what = format!("reading {which} event ids");
    let failed = sql(&what);
    let mut rows = conn.prepare(query).map_err(&failed)?;
    let mut rows = rows.query(params).map_err(&failed)?;
    while let Some(row) = rows.next().map_err(&failed)? {
        let position: i64 = row.get(1).map_err(&failed)?;
        let id = row.get_ref(0).ok().and_then(|v| v.as_blob().ok()).and_then(|b| <[u8; 16]>::try_from(b).ok());
        let Some(id) = id else { return Err(format!("the event at position {position} has a malformed event id")) };
        take(EventId::from_bytes(id), position as u64);
    }
    Ok(())
}

impl Ids {
    /// Reads where the table stands and the recent ids after it. A merge happens once at least
    /// `merge_at_least` ids are recent (and a sixteenth of the log).
    pub fn load(conn: &Connection, merge_at_least: usize) -> Result<Self, String> {
        Self::load_with(conn, merge_at_least, FILTER_AT_LEAST)
    }

    /// [`Ids::load`], the filter made for at least `filter_at_least` ids.
    fn load_with(conn: &Connection, merge_at_least: usize, filter_at_least: u64) -> Result<Self, String> {
        let through: i64 = conn
            .query_row("SELECT value FROM meta WHERE key = 'ids_through'", [], |r| r.get(0))
            .map_err(sql("reading where the event ids stand"))?;
        let mut recent = HashMap::new();
        each_id(
            conn,
            "SELECT event_id, position FROM events WHERE position >= ?1",
            [through],
            "the recent",
            |id, p| {
                recent.insert(id, p);
            },
        )?;
        // The table holds one id for each event below `through`: room for as many again.
        let mut merged = Filter::new((through.max(0) as u64).saturating_mul(2).max(filter_at_least));
        let keys = RandomState::new();
        each_id(conn, "SELECT event_id, position FROM event_ids", [], "the merged", |id, _| {
            merged.insert(keys.hash_one(id.as_bytes()));
        })?;
        Ok(Self { recent, merged: vec![merged], keys, merge_at_least, filter_at_least })
    }

    /// Whether some filter may hold `id`: `false` means the table does not.
    fn may_be_merged(&self, id: &EventId) -> bool {
        let hash = self.keys.hash_one(id.as_bytes());
        self.merged.iter().any(|filter| filter.may_hold(hash))
    }

    /// Puts `id` into the newest filter, after starting a new one if it is full.
    fn filter(&mut self, id: &EventId) {
        if self.merged.last().is_none_or(Filter::is_full) {
            let held: u64 = self.merged.iter().map(|f| f.held).sum();
            self.merged.push(Filter::new(held.saturating_mul(2).max(self.filter_at_least)));
        }
        let hash = self.keys.hash_one(id.as_bytes());
        self.merged.last_mut().expect("a filter was just made if there was none").insert(hash);
    }

    /// The position of the event `id` names, if the log holds one: among the recent ids, then
    /// in the table, if the filter may hold it.
    pub fn position(&self, conn: &Connection, id: &EventId) -> Result<Option<u64>, String> {
        if let Some(position) = self.recent.get(id) {
            return Ok(Some(*position));
        }
        if !self.may_be_merged(id) {
            return Ok(None);
        }
        let found: Option<i64> = conn
            .prepare_cached("SELECT position FROM event_ids WHERE event_id = ?1")
            .and_then(|mut s| s.query_row([&id.as_bytes()[..]], |r| r.get(0)).optional())
            .map_err(sql("looking an event id up"))?;
        Ok(found.map(|p| p as u64))
    }

    /// Takes in the ids of a commit, once it is durable.
    pub fn committed(&mut self, ids: impl IntoIterator<Item = (EventId, u64)>) {
        self.recent.extend(ids);
    }

    /// How many ids are recent.
    pub fn recent(&self) -> usize {
        self.recent.len()
    }

    /// Whether a log of `log_size` events is due a merge.
    pub fn due(&self, log_size: u64) -> bool {
        self.recent.len() >= self.merge_at_least.max((log_size / 16) as usize)
    }

    /// Merges the recent ids into the table if a log of `log_size` events is due it, in a
    /// transaction of its own that also moves `ids_through` to `log_size`. The error is a
    /// storage failure; the ids stay recent then.
    pub fn merge_if_due(&mut self, conn: &Connection, log_size: u64) -> Result<bool, String> {
        if !self.due(log_size) {
            return Ok(false);
        }
        let mut sorted: Vec<(EventId, u64)> = self.recent.iter().map(|(id, p)| (*id, *p)).collect();
        sorted.sort_unstable();
        let merge = || -> rusqlite::Result<()> {
            let tx = conn.unchecked_transaction()?;
            {
                let mut insert = tx.prepare_cached("INSERT INTO event_ids (event_id, position) VALUES (?1, ?2)")?;
                for (id, position) in &sorted {
                    insert.execute(params![&id.as_bytes()[..], *position as i64])?;
                }
            }
            tx.execute("UPDATE meta SET value = ?1 WHERE key = 'ids_through'", [log_size as i64])?;
            tx.commit()
        };
        merge().map_err(sql("merging the recent event ids"))?;
        for (id, _) in &sorted {
            self.filter(id);
        }
        self.recent.clear();
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema;

    fn database() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join(schema::DB_FILE)).unwrap();
        schema::configure(&conn).unwrap();
        schema::migrate(&conn).unwrap();
        (dir, conn)
    }

    fn id(n: u8) -> EventId {
        EventId::from_bytes([n; 16])
    }

    fn add(conn: &Connection, ids: &mut Ids, position: u64, n: u8) {
        conn.execute(
            "INSERT INTO events (position, stream, revision, event_id, envelope, payload, salt, hash)
             VALUES (?1, 'cell-a', ?1, ?2, x'', x'', x'', x'')",
            params![position as i64, &id(n).as_bytes()[..]],
        )
        .unwrap();
        ids.committed([(id(n), position)]);
    }

    #[test]
    fn an_id_is_found_before_and_after_its_merge_and_after_a_reload() {
        let (_dir, conn) = database();
        let mut ids = Ids::load(&conn, 2).unwrap();
        add(&conn, &mut ids, 0, 9);
        assert!(!ids.merge_if_due(&conn, 1).unwrap(), "one recent id is under the least a merge takes");
        add(&conn, &mut ids, 1, 3);
        assert_eq!(ids.position(&conn, &id(3)).unwrap(), Some(1));
        assert!(ids.merge_if_due(&conn, 2).unwrap());
        assert_eq!(ids.recent(), 0);
        add(&conn, &mut ids, 2, 5);
        for (n, position) in [(9, 0), (3, 1), (5, 2)] {
            assert_eq!(ids.position(&conn, &id(n)).unwrap(), Some(position), "id {n}");
        }
        assert_eq!(ids.position(&conn, &id(4)).unwrap(), None);

        // A reload finds the table as merged and the one id after it as recent.
        let ids = Ids::load(&conn, 2).unwrap();
        let through: i64 =
            conn.query_row("SELECT value FROM meta WHERE key = 'ids_through'", [], |r| r.get(0)).unwrap();
        assert_eq!((through, ids.recent()), (2, 1));
        for (n, position) in [(9, 0), (3, 1), (5, 2)] {
            assert_eq!(ids.position(&conn, &id(n)).unwrap(), Some(position), "id {n} after a reload");
        }
        let table: Vec<(Vec<u8>, i64)> = conn
            .prepare("SELECT event_id, position FROM event_ids")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(table, vec![(vec![3; 16], 1), (vec![9; 16], 0)], "the table holds the merged ids, in order");
    }

    /// Ids spread like random ones, the same in every run.
    fn spread(n: u64, salt: u64) -> EventId {
        let mut x = n.wrapping_add(salt.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut next = || {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        EventId::from_bytes((u128::from(next()) << 64 | u128::from(next())).to_be_bytes())
    }

    #[test]
    fn a_filter_holds_every_id_put_in_it_and_few_others() {
        let keys = RandomState::new();
        let hash = |n, salt| keys.hash_one(spread(n, salt).as_bytes());
        let mut filter = Filter::new(50_000);
        for n in 0..50_000 {
            filter.insert(hash(n, 1));
        }
        assert!((0..50_000).all(|n| filter.may_hold(hash(n, 1))), "an id put in was not held");
        let others = (0..50_000).filter(|n| filter.may_hold(hash(*n, 2))).count();
        assert!(others < 1_000, "{others} of 50,000 other ids were taken as held");
        // Made for a tenth as many, it still holds every one, and takes far more others.
        let mut full = Filter::new(5_000);
        (0..50_000).for_each(|n| full.insert(hash(n, 1)));
        assert!((0..50_000).all(|n| full.may_hold(hash(n, 1))));
        assert!((0..50_000).filter(|n| full.may_hold(hash(*n, 2))).count() > 10_000);
    }

    #[test]
    fn a_full_filter_is_followed_by_one_twice_as_large_and_a_reload_makes_one() {
        let (_dir, conn) = database();
        let mut ids = Ids::load_with(&conn, 1, 4).unwrap();
        assert_eq!(ids.merged.iter().map(|f| f.capacity).collect::<Vec<_>>(), [4]);
        for position in 0..40u64 {
            add(&conn, &mut ids, position, position as u8 + 1);
            ids.merge_if_due(&conn, position + 1).unwrap();
            assert!(ids.merged.iter().all(|f| f.held <= f.capacity), "a filter holds more than it was made for");
        }
        let held: u64 = ids.merged.iter().map(|f| f.held).sum();
        assert!(held >= 38, "{held} ids merged");
        // 4, then room for twice what the others hold: 8, 24 … each at least twice the last.
        let capacities: Vec<u64> = ids.merged.iter().map(|f| f.capacity).collect();
        assert!(capacities.len() >= 3 && capacities.windows(2).all(|w| w[1] >= 2 * w[0]), "{capacities:?}");
        for position in 0..40u64 {
            assert_eq!(ids.position(&conn, &id(position as u8 + 1)).unwrap(), Some(position));
        }
        assert_eq!(ids.position(&conn, &id(200)).unwrap(), None);
        // A reload makes one filter of the table as it is, with room for as many again.
        let ids = Ids::load_with(&conn, 1, 4).unwrap();
        let through: u64 =
            conn.query_row("SELECT value FROM meta WHERE key = 'ids_through'", [], |r| r.get(0)).unwrap();
        let reloaded: Vec<(u64, u64)> = ids.merged.iter().map(|f| (f.held, f.capacity)).collect();
        assert_eq!(reloaded, [(held, 2 * through)]);
        assert!((1..=held as u8).all(|n| ids.may_be_merged(&id(n))));
    }

    #[test]
    fn a_merge_waits_for_a_sixteenth_of_the_log() {
        let (_dir, conn) = database();
        let mut ids = Ids::load(&conn, 1).unwrap();
        ids.committed((0..10).map(|n| (id(n + 1), 1_000 + u64::from(n))));
        assert!(!ids.due(176), "10 recent ids of 176 events are under a sixteenth");
        assert!(ids.due(175));
    }

    #[test]
    fn a_failed_merge_keeps_the_ids_recent_and_the_table_as_it_was() {
        let (_dir, conn) = database();
        let mut ids = Ids::load(&conn, 1).unwrap();
        add(&conn, &mut ids, 0, 1);
        assert!(ids.merge_if_due(&conn, 1).unwrap());
        // The same id again: the table's key refuses it, and nothing of the merge stays.
        add(&conn, &mut ids, 1, 2);
        ids.committed([(id(1), 1)]);
        let err = ids.merge_if_due(&conn, 2).unwrap_err();
        assert!(err.contains("merging the recent event ids"), "{err}");
        assert_eq!(ids.recent(), 2);
        let (rows, through): (i64, i64) = conn
            .query_row(
                "SELECT (SELECT count(*) FROM event_ids), (SELECT value FROM meta WHERE key = 'ids_through')",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((rows, through), (1, 1));
    }
}
