//! An inspector's state file: the last checkpoint note they accepted for a log, exactly as
//! signed. `chibo audit verify` and `chibo verify` read it to refuse a rollback or a fork, and
//! replace it, durably, only after everything verified.

use std::path::Path;

use anyhow::Context as _;
use chibo_integrity::checkpoint::{self, Checkpoint};
use chibo_integrity::NoteVerifier;

/// The checkpoint in `path`, verified with `key`; `None` if the file does not exist yet (trust
/// on first use).
pub fn read(path: &Path, key: &NoteVerifier) -> anyhow::Result<Option<Checkpoint>> {
    let note = match std::fs::read_to_string(path) {
        Ok(note) => note,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read the state file {}", path.display())),
    };
    let accepted = checkpoint::open(&note, key).with_context(|| {
        format!("the state file {} does not hold a checkpoint signed by the key {key}", path.display())
    })?;
    Ok(Some(accepted))
}

/// Replaces the state file with `note` (a checkpoint note that verified), so that a crash
/// leaves the old state or the new one.
pub fn write(path: &Path, note: &str) -> anyhow::Result<()> {
    chibo_tlog::fs::write_durably(path, note.as_bytes())
        .with_context(|| format!("cannot write the state file {}", path.display()))
}

/// Reads a verifier key: the key itself (`name+keyid+base64`), or a file holding it.
pub fn key(arg: &str) -> anyhow::Result<NoteVerifier> {
    if let Ok(key) = NoteVerifier::parse(arg.trim()) {
        return Ok(key);
    }
    let text = std::fs::read_to_string(arg)
        .with_context(|| format!("--key {arg:?} is neither a verifier key nor a readable file"))?;
    NoteVerifier::parse(text.trim()).with_context(|| format!("--key {arg}: the file does not hold a verifier key"))
}
