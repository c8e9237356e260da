//! Full verification of a data directory, with the code `chibo verify --data` runs
//! (`chibo::offline::check_dir`): every chain and payload digest, and the Merkle tree
//! recomputed and checked against every checkpoint, with the directory's own key.
//! Compared with the hash bound on the same bytes.

use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context};
use chibo_integrity::NoteVerifier;

use crate::{cli::DataArgs, figure, hash};

fn key(data: &Path) -> anyhow::Result<Option<NoteVerifier>> {
    let file = data.join("keys").join("checkpoint.pub");
    match std::fs::read_to_string(&file) {
        Ok(text) => NoteVerifier::parse(text.trim())
            .map(Some)
            .with_context(|| format!("{} does not hold a checkpoint verifier key", file.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", file.display())),
    }
}

pub fn run(args: DataArgs) -> anyhow::Result<()> {
    let data = args.data;
    let key = key(&data)?;
    let bytes_on_disk = std::fs::metadata(data.join(chibo_store_sqlite::schema::DB_FILE))
        .with_context(|| format!("--data {}: no chibo data there", data.display()))?
        .len();

    let started = Instant::now();
    let chibo::offline::Checked { summary, report, tally: () } =
        chibo::offline::check_dir(&data, key, None).with_context(|| format!("cannot verify {}", data.display()))?;
    let elapsed = started.elapsed();
    if !summary.is_intact() || !report.is_intact() {
        bail!(
            "{} does not verify: this measures intact logs only (run `chibo verify --data` to see why)",
            data.display()
        );
    }

    let bound = hash::measure(&data)?;
    figure::rate(
        "verify.events_per_s",
        summary.events,
        elapsed,
        "events/s",
        "chains, payload digests, Merkle root, checkpoints",
    );
    figure::print(
        "verify.mb_per_s",
        bound.bytes as f64 / 1e6 / elapsed.as_secs_f64().max(1e-9),
        "MB/s",
        "of the bytes it hashes",
    );
    figure::millis("verify.wall_ms", elapsed, &format!("{} events, {} streams", summary.events, summary.streams));
    figure::print("verify.checkpoints", report.verified as f64, "checkpoints", "verified with the directory's key");
    figure::print("verify.db_bytes_per_event", bytes_on_disk as f64 / summary.events.max(1) as f64, "B", "chibo.db");
    hash::print(&bound);
    figure::ratio(
        "verify.ratio_to_hash",
        bound.elapsed.as_secs_f64(),
        elapsed.as_secs_f64(),
        "verification speed / single-core SHA-256 on the same bytes (target ≥ 0.7)",
    );
    Ok(())
}
