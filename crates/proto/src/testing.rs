//! What the tests of the in-place readers share, here and in `chibo-integrity` (the `testing`
//! feature): messages altered at random, to hold an in-place reader to the general decoder.

use rand::Rng;

/// Alters the message `bytes` (not empty) one of six ways, by `round`: a byte changed
/// anywhere (keys, lengths, digits, text, varints), twice as often as the others; a bit
/// flipped; cut short; a byte inserted; or another message from `another` after it, which
/// protobuf merges with it (fields repeated, out of order).
pub fn alter<R: Rng>(bytes: &mut Vec<u8>, round: usize, rng: &mut R, another: impl FnOnce(&mut R) -> Vec<u8>) {
    match round % 6 {
        0 | 1 => {
            let at = rng.gen_range(0..bytes.len());
            bytes[at] = rng.gen();
        }
        2 => {
            let at = rng.gen_range(0..bytes.len());
            bytes[at] ^= 1 << rng.gen_range(0..8);
        }
        3 => bytes.truncate(rng.gen_range(0..bytes.len())),
        4 => bytes.insert(rng.gen_range(0..=bytes.len()), rng.gen()),
        _ => bytes.extend(another(rng)),
    }
}
