//! The hash bound: single-core SHA-256 over exactly the messages a full verification hashes —
//! per event its envelope and its salted payload (with their domain tags), its Merkle leaf, and
//! one Merkle node; per stream its genesis — read into memory first, so that only hashing is
//! timed.

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use sha2::{Digest, Sha256};

use crate::{cli::DataArgs, figure};

// The hash spec's domain tags (docs/ARCHITECTURE.md, "The hash spec").
const EVENT_TAG: &[u8] = b"chibo:event:v1\0";
const PAYLOAD_TAG: &[u8] = b"chibo:payload:v1\0";
const GENESIS_TAG: &[u8] = b"chibo:genesis:v1\0";

/// Messages are hashed in slices of about this many bytes, read in between, untimed.
const SLICE_BYTES: usize = 64 << 20;

/// What the bound measured.
pub struct Bound {
    pub events: u64,
    pub messages: u64,
    pub bytes: u64,
    pub elapsed: Duration,
}

/// Messages laid end to end.
#[derive(Default)]
struct Messages {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl Messages {
    fn push(&mut self, parts: &[&[u8]]) {
        for part in parts {
            self.bytes.extend_from_slice(part);
        }
        self.ends.push(self.bytes.len());
    }

    /// Hashes every message, timed; then empties.
    fn hash(&mut self, bound: &mut Bound) {
        let started = Instant::now();
        let mut start = 0;
        for &end in &self.ends {
            std::hint::black_box(Sha256::digest(&self.bytes[start..end]));
            start = end;
        }
        bound.elapsed += started.elapsed();
        bound.messages += self.ends.len() as u64;
        bound.bytes += self.bytes.len() as u64;
        self.bytes.clear();
        self.ends.clear();
    }
}

/// SHA-256 over the messages verifying `data` hashes.
pub fn measure(data: &Path) -> anyhow::Result<Bound> {
    let mut bound = Bound { events: 0, messages: 0, bytes: 0, elapsed: Duration::ZERO };
    let mut messages = Messages::default();
    let mut streams: HashSet<String> = HashSet::new();
    let mut previous = [0u8; 32];
    chibo_store_sqlite::scan(data, |event| {
        if !streams.contains(event.stream) {
            streams.insert(event.stream.to_owned());
            messages.push(&[GENESIS_TAG, event.stream.as_bytes()]);
        }
        messages.push(&[EVENT_TAG, event.envelope]);
        messages.push(&[PAYLOAD_TAG, event.salt, event.payload]);
        messages.push(&[&[0u8][..], event.hash]);
        // A tree of n leaves has n - 1 inner nodes: one per event after the first.
        if bound.events > 0 {
            messages.push(&[&[1u8][..], &previous[..], event.hash]);
        }
        if let Ok(hash) = <[u8; 32]>::try_from(event.hash) {
            previous = hash;
        }
        bound.events += 1;
        if messages.bytes.len() >= SLICE_BYTES {
            messages.hash(&mut bound);
        }
    })
    .with_context(|| format!("cannot read {}", data.display()))?;
    messages.hash(&mut bound);
    Ok(bound)
}

/// Single-core SHA-256 of one large buffer: the most the hash function gives.
fn bulk() -> (u64, Duration) {
    let buffer = vec![0x5au8; SLICE_BYTES];
    let started = Instant::now();
    for _ in 0..4 {
        std::hint::black_box(Sha256::digest(std::hint::black_box(&buffer)));
    }
    (4 * SLICE_BYTES as u64, started.elapsed())
}

pub fn print(bound: &Bound) {
    let Bound { events, messages, bytes, elapsed } = *bound;
    figure::print(
        "hash.mb_per_s",
        bytes as f64 / 1e6 / elapsed.as_secs_f64().max(1e-9),
        "MB/s",
        "SHA-256, one core, the messages verify hashes",
    );
    figure::rate("hash.events_per_s", events, elapsed, "events/s", "the same, per event");
    figure::print("hash.messages_per_event", messages as f64 / events.max(1) as f64, "messages", "hashed per event");
    figure::print("hash.bytes_per_event", bytes as f64 / events.max(1) as f64, "B", "hashed per event");
}

pub fn run(args: DataArgs) -> anyhow::Result<()> {
    let bound = measure(&args.data)?;
    print(&bound);
    let (bytes, elapsed) = bulk();
    figure::print(
        "hash.bulk_mb_per_s",
        bytes as f64 / 1e6 / elapsed.as_secs_f64().max(1e-9),
        "MB/s",
        "SHA-256, one core, one 64 MiB buffer",
    );
    Ok(())
}
