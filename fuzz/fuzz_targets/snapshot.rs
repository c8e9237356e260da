//! Arbitrary bytes as the projection snapshot a server finds in `DATA/projections/` on start:
//! `State::decode`, which must refuse a damaged file rather than panic (the engine then rebuilds
//! from the log).
//!
//! A state that decodes is canonical from then on: it encodes to bytes that decode to a state
//! encoding to the same bytes ("equal states, and only they, encode to equal bytes").
#![no_main]

use chibo_projections::State;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let state = match State::decode(data) {
        Ok(state) => state,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let bytes = state.encode();
    let again = State::decode(&bytes).expect("an encoded state decodes");
    assert_eq!(again.encode(), bytes, "a state has one encoding");
    assert_eq!(
        (again.log_size(), again.last_hash(), again.unreadable()),
        (state.log_size(), state.last_hash(), state.unreadable())
    );
});
