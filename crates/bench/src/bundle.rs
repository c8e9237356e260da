//! Offline verification of an audit bundle (`bundle::verify`, what `chibo audit verify`
//! runs): every chain, payload digest and inclusion proof, and both signatures, over a file
//! `chibo audit export` wrote, read into memory first.

use std::time::Instant;

use anyhow::{bail, Context};
use chibo_integrity::{bundle, NoteVerifier};

use crate::{cli::BundleArgs, figure};

pub fn run(args: BundleArgs) -> anyhow::Result<()> {
    let BundleArgs { file, key, iterations } = args;
    if iterations == 0 {
        bail!("--iterations: must be at least 1");
    }
    let text = std::fs::read_to_string(&key).with_context(|| format!("--key {}: cannot read it", key.display()))?;
    let key =
        NoteVerifier::parse(text.trim()).with_context(|| format!("--key {}: not a verifier key", key.display()))?;
    let document = std::fs::read(&file).with_context(|| format!("--file {}: cannot read it", file.display()))?;

    let mut report = None;
    let started = Instant::now();
    for _ in 0..iterations {
        report = Some(bundle::verify(&document, &key, None));
    }
    let elapsed = started.elapsed() / u32::try_from(iterations).unwrap_or(u32::MAX);
    let report = report.context("no verification ran")?;
    if !report.is_verified() {
        let first = report.problems.first().map_or_else(|| "no checkpoint".to_owned(), |p| format!("{p:?}"));
        bail!(
            "--file {}: the bundle does not verify ({} problems; first: {first})",
            file.display(),
            report.problems.len()
        );
    }
    let events: u64 = report.streams.iter().map(|s| s.events).sum();
    let what = format!("{events} events in {} streams, {} bytes", report.streams.len(), document.len());
    figure::millis("bundle.verify_ms", elapsed, &what);
    figure::rate("bundle.events_per_s", events, elapsed, "events/s", &what);
    figure::print(
        "bundle.mb_per_s",
        document.len() as f64 / 1e6 / elapsed.as_secs_f64().max(1e-9),
        "MB/s",
        "of the bundle file",
    );
    Ok(())
}
