#!/usr/bin/env bash
# Runs fuzz targets for a fixed number of executions each and prints, per target, how many
# inputs it executed, how long it took, and whether it found a crash.
#
#   fuzz/run.sh [RUNS] [TARGET...]      RUNS defaults to 1000000; every target when none is named
#
# Needs the nightly toolchain and cargo-fuzz; installs either if missing (rustup, crates.io). Each target starts
# from its committed seeds (fuzz/seeds/TARGET, and the shipped rule sets for `rules`) and the
# inputs of bugs found before (fuzz/regressions/TARGET); what it learns goes to
# fuzz/corpus/TARGET (not committed), a crashing input to fuzz/artifacts/TARGET. Builds go to
# $CARGO_TARGET_DIR if set. SANITIZER=address runs under AddressSanitizer (slower; the targets
# are safe Rust, so the default is none); either way debug assertions and overflow checks are on.
set -euo pipefail

fuzz="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$fuzz")"
runs="${1:-1000000}"
shift || true
cd "$root"

if ! cargo +nightly --version >/dev/null 2>&1; then
    rustup toolchain install nightly --profile minimal
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

flags=(--sanitizer "${SANITIZER:-none}" --debug-assertions)
if [[ -n "${CARGO_TARGET_DIR:-}" ]]; then
    flags+=(--target-dir "$CARGO_TARGET_DIR/fuzz")
fi

if [[ $# -gt 0 ]]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo +nightly fuzz list)
fi

cargo +nightly fuzz build "${flags[@]}"

failed=0
for target in "${targets[@]}"; do
    corpora=("$fuzz/corpus/$target")
    [[ -d "$fuzz/seeds/$target" ]] && corpora+=("$fuzz/seeds/$target")
    [[ -d "$fuzz/regressions/$target" ]] && corpora+=("$fuzz/regressions/$target")
    [[ "$target" == rules ]] && corpora+=("$root/projections/rules")
    mkdir -p "$fuzz/corpus/$target"
    log="$fuzz/artifacts/$target.log"
    mkdir -p "$fuzz/artifacts"
    start=$(date +%s)
    if cargo +nightly fuzz run "${flags[@]}" "$target" "${corpora[@]}" -- \
        -runs="$runs" -print_final_stats=1 >"$log" 2>&1; then
        result=ok
    else
        result="FAILED (see $log)"
        failed=1
    fi
    seconds=$(($(date +%s) - start))
    executed=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    printf '%-12s %12s executions in %5d s: %s\n' "$target" "${executed:-?}" "$seconds" "$result"
done
exit "$failed"
