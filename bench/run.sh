#!/usr/bin/env bash
# chibo's benchmark suite (docs/BENCHMARKS.md): builds the release binaries, starts a throwaway
# PostgreSQL and throwaway `chibo serve`s on loopback in a temporary directory, runs every
# `chibo-bench` subcommand at each log size, and prints one table of figures, with the ratios
# to their peers and the targets of DESIGN.md.
#
#   bench/run.sh            10^4, 10^5 and 10^6 events
#   bench/run.sh --quick    10^4 events: a smoke run of everything, in a minute or two
#   bench/run.sh --full     10^4 to 10^7 events (10^7 alone takes about 45 minutes and 10 GB for
#                           the server, docs/BENCHMARKS.md)
#   bench/run.sh --only N   N events alone (say 10000000: the 10^7 column without the others)
#
# PostgreSQL comes from Debian's packages (installed with apt-get if its server binaries are
# missing). The raw figures of every size go to $CHIBO_BENCH_OUT (default:
# target/bench-results.tsv).
set -euo pipefail

cd "$(dirname "$0")/.."
sizes="10000 100000 1000000"
case "${1:-}" in
    --quick) sizes="10000" ;;
    --full) sizes="10000 100000 1000000 10000000" ;;
    --only) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || { echo "bench/run.sh: --only takes a number of events" >&2; exit 2; }
            sizes=$2 ;;
    "") ;;
    *) echo "usage: bench/run.sh [--quick | --full | --only EVENTS]" >&2; exit 2 ;;
esac
# The shapes of the load: batched requests of BATCH events from BATCH_CLIENTS clients, and
# unary Submits from UNARY_CLIENTS clients (the unary run is capped at UNARY_EVENTS events).
BATCH=${CHIBO_BENCH_BATCH:-500}
BATCH_CLIENTS=${CHIBO_BENCH_BATCH_CLIENTS:-8}
UNARY_CLIENTS=${CHIBO_BENCH_UNARY_CLIENTS:-64}
UNARY_EVENTS=${CHIBO_BENCH_UNARY_EVENTS:-100000}
OUT=${CHIBO_BENCH_OUT:-${CARGO_TARGET_DIR:-target}/bench-results.tsv}

say() { echo "bench: $*" >&2; }

cargo build --release --locked -p chibo -p chibo-bench >&2
target=${CARGO_TARGET_DIR:-target}
CHIBO=$PWD/$target/release/chibo
BENCH=$PWD/$target/release/chibo-bench
[[ $target = /* ]] && { CHIBO=$target/release/chibo; BENCH=$target/release/chibo-bench; }

# The working directory is on disk (not a tmpfs), so that every fsync is a real one.
work=$(mktemp -d "${CHIBO_BENCH_DIR:-/var/tmp}/chibo-bench.XXXXXX")
chmod 755 "$work"
server_pid=""
pg_ctl=""
cleanup() {
    if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    if [[ -n $pg_ctl ]]; then as_pg "$pg_ctl" -D "$work/pg" -m fast stop >/dev/null 2>&1 || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

# --- PostgreSQL, from Debian's packages, on loopback --------------------------------------
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
if [[ -z $(pg_bin) || ! -x $(pg_bin)/postgres ]]; then
    say "installing PostgreSQL from Debian's packages"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql postgresql-contrib >&2
fi
bin=$(pg_bin)
# postgres refuses to run as root: as root, run it as the postgres user the package created.
as_pg() { if [[ $(id -u) = 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
mkdir -p "$work/pg" "$work/pgsock"
[[ $(id -u) = 0 ]] && chown postgres "$work/pg" "$work/pgsock"
as_pg "$bin/initdb" -D "$work/pg" -U postgres --auth=trust >/dev/null
pg_port=$((20000 + RANDOM % 20000))
pg_ctl=$bin/pg_ctl
as_pg "$pg_ctl" -D "$work/pg" -l "$work/pg/server.log" -w start \
    -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $work/pgsock -c fsync=on -c synchronous_commit=on -c max_connections=200" >/dev/null
PG="host=127.0.0.1 port=$pg_port user=postgres dbname=postgres"
say "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$pg_port"

# --- chibo serve, on a fresh data directory ------------------------------------------------
TOKEN=$("$CHIBO" keys new-token)
start_server() { # DATA
    : >"$work/serve.out"
    CHIBO_INIT_ADMIN_TOKEN=$TOKEN CHIBO_LOG=warn "$CHIBO" serve --data "$1" --listen 127.0.0.1:0 \
        --metrics off --web off --rate-limit 0 >"$work/serve.out" 2>>"$work/serve.err" &
    server_pid=$!
    for _ in $(seq 300); do
        addr=$(grep -o 'grpc=[^ ]*' "$work/serve.out" | head -n 1 | cut -d= -f2 || true)
        [[ -n $addr ]] && { URL="http://$addr"; return; }
        kill -0 "$server_pid" 2>/dev/null || { cat "$work/serve.err" >&2; exit 1; }
        sleep 0.1
    done
    say "chibo serve did not start"; exit 1
}
stop_server() {
    kill -TERM "$server_pid"; wait "$server_pid" || true; server_pid=""
}

: >"$OUT"
# Runs a chibo-bench subcommand and files its figures under SIZE.
measure() { # SIZE SUBCOMMAND ARGS…
    local size=$1; shift
    say "$size: chibo-bench $*"
    "$BENCH" "$@" | tee -a /dev/stderr | awk -v size="$size" -F'\t' -v OFS='\t' '$1 == "figure" { print size, $2, $3, $4, $5 }' >>"$OUT"
}

for n in $sizes; do
    # Batched ingest into a fresh server; the log it leaves is what the offline benchmarks read.
    data=$work/chibo-$n
    start_server "$data"
    measure "$n" load --addr "$URL" --token "$TOKEN" --mode batched --clients "$BATCH_CLIENTS" --batch "$BATCH" --events "$n"
    cell=$(CHIBO_TOKEN=$TOKEN "$CHIBO" read --server "$URL" --limit 400 | grep -o '"stream":"cell-[a-z0-9-]*"' | head -n 1 | sed 's/.*"cell-\(.*\)"/\1/' || true)
    year=$(( $(date -u +%Y) - 1 ))
    if [[ -n $cell ]]; then
        CHIBO_TOKEN=$TOKEN "$CHIBO" audit export "$cell" --year "$year" --server "$URL" --out "$work/cell.json" >/dev/null
    fi
    if (( n <= 100000 )); then
        CHIBO_TOKEN=$TOKEN "$CHIBO" audit export tinh-thai-binh --year "$year" --server "$URL" --out "$work/province.json" >/dev/null
    fi
    stop_server
    bytes=0
    for f in "$data"/chibo.db "$data"/chibo.db-wal; do [[ -f $f ]] && bytes=$((bytes + $(stat -c %s "$f"))); done
    printf '%s\tstore.bytes\t%s\tB\tchibo.db and its WAL after the load\n' "$n" "$bytes" >>"$OUT"
    measure "$n" verify --data "$data"
    measure "$n" rebuild --data "$data"
    measure "$n" merkle --data "$data" --proofs 1000
    measure "$n" evaluate --data "$data"
    [[ -f $work/cell.json ]] && measure "$n" bundle --file "$work/cell.json" --key "$data/keys/checkpoint.pub"
    if [[ -f $work/province.json ]]; then
        "$BENCH" bundle --file "$work/province.json" --key "$data/keys/checkpoint.pub" --iterations 1 |
            sed 's/\tbundle\./\tbundle.province./' | tee -a /dev/stderr |
            awk -v size="$n" -F'\t' -v OFS='\t' '$1 == "figure" { print size, $2, $3, $4, $5 }' >>"$OUT"
    fi
    rm -rf "$data" "$work/cell.json" "$work/province.json"

    # The peers: the same rows, in the same transactions.
    measure "$n" sqlite-peer --dir "$work" --batch "$BATCH" --events "$n"
    measure "$n" postgres-peer --pg "$PG" --clients "$BATCH_CLIENTS" --batch "$BATCH" --events "$n"

done

# Unary ingest, many clients, once: on the largest log up to UNARY_EVENTS (a client sends one
# stream at a time, so the clients busy at once are at most the streams of a wave).
largest=${sizes##* }
u=$(( largest < UNARY_EVENTS ? largest : UNARY_EVENTS ))
start_server "$work/unary"
measure "$u" load --addr "$URL" --token "$TOKEN" --mode unary --clients "$UNARY_CLIENTS" --events "$u"
stop_server
rm -rf "$work/unary"

# --- The table -----------------------------------------------------------------------------
echo
echo "chibo benchmarks: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(date -u +%Y-%m-%d)"
echo "batched: $BATCH_CLIENTS clients × $BATCH events per request; unary: $UNARY_CLIENTS clients (at most $UNARY_EVENTS events)"
awk -F'\t' '
    { v[$1, $2] = $3; u[$2] = $4; if (!($1 in seen)) { seen[$1] = 1; sizes[++ns] = $1 } }
    function row(label, key, target,   line, i, x) {
        line = sprintf("%-44s", label)
        for (i = 1; i <= ns; i++) { x = v[sizes[i], key]; line = line sprintf(" %14s", x == "" ? "-" : x) }
        printf "%s  %-10s %s\n", line, u[key], target
    }
    function ratio(label, a, b, target,   line, i, x, y) {
        line = sprintf("%-44s", label)
        for (i = 1; i <= ns; i++) {
            x = v[sizes[i], a]; y = v[sizes[i], b]
            line = line sprintf(" %14s", (x == "" || y == "" || y == 0) ? "-" : sprintf("%.2f", x / y))
        }
        printf "%s  %-10s %s\n", line, "x", target
    }
    END {
        head = sprintf("%-44s", "events in the log")
        for (i = 1; i <= ns; i++) head = head sprintf(" %14s", sizes[i])
        print head
        row("batched ingest over gRPC", "load.batched.events_per_s", "≥ 100,000")
        row("  streams in the widest wave", "load.batched.widest_wave", "")
        row("  requests in flight on average", "load.batched.in_flight", "")
        row("  p50 per request", "load.batched.p50_ms", "")
        row("  p99 per request", "load.batched.p99_ms", "")
        row("  p99.9 per request", "load.batched.p99_9_ms", "")
        row("raw SQLite peer", "sqlite_peer.events_per_s", "")
        ratio("  batched ingest / raw SQLite", "load.batched.events_per_s", "sqlite_peer.events_per_s", "≥ 0.5")
        row("PostgreSQL peer (trigger chain)", "postgres_peer.events_per_s", "")
        ratio("  batched ingest / PostgreSQL", "load.batched.events_per_s", "postgres_peer.events_per_s", "≥ 3")
        row("unary ingest", "load.unary.events_per_s", "≥ 10,000")
        row("  streams in the widest wave", "load.unary.widest_wave", "")
        row("  requests in flight on average", "load.unary.in_flight", "")
        row("  p50", "load.unary.p50_ms", "")
        row("  p99", "load.unary.p99_ms", "≤ 20")
        row("  p99.9", "load.unary.p99_9_ms", "")
        row("full verification", "verify.events_per_s", "")
        row("SHA-256 on the same bytes (1 core)", "hash.events_per_s", "")
        row("  verification / SHA-256", "verify.ratio_to_hash", "≥ 0.7")
        row("projection rebuild", "rebuild.events_per_s", "≥ 1,000,000")
        row("  CPU per event, every thread", "rebuild.cpu_us_per_event", "")
        row("  reading the rows alone", "rebuild.read_events_per_s", "")
        row("  reading and decoding, no apply", "rebuild.decode_events_per_s", "")
        row("state heap per member", "state.heap_bytes_per_member", "≤ 1,024")
        row("  of which the books of the streams", "state.books_bytes_per_member", "")
        row("    of which the contents of the facts", "state.contents_bytes_per_member", "")
        row("  of which the index", "state.index_bytes_per_member", "")
        row("state heap", "state.heap_bytes", "")
        row("state snapshot", "state.snapshot_bytes", "")
        row("  snapshot: encoding the state", "snapshot.encode_ms", "")
        row("  snapshot: reading it back", "snapshot.decode_ms", "")
        row("store on disk", "store.bytes", "")
        row("evaluation of the province year", "evaluate.ms", "")
        row("bundle verify, one cell-year", "bundle.verify_ms", "")
        row("bundle verify, the province", "bundle.province.verify_ms", "")
        for (i = 1; i <= ns; i++) {
            s = sizes[i]
            for (k in v) { split(k, p, SUBSEP); if (p[1] == s && p[2] ~ /^merkle\..*inclusion_bytes$/) m[p[2]] = 1 }
        }
    }
' "$OUT"
echo
echo "Merkle proofs (tree size: inclusion bytes, generate µs, verify µs; consistency bytes, generate µs, verify µs), per log:"
awk -F'\t' '$2 ~ /^merkle\./ {
        split($2, p, "."); key = $1 " " p[2]; if (!(key in seen)) { seen[key] = 1; order[++n] = key }
        f[key, p[3]] = $3
    }
    END { for (i = 1; i <= n; i++) { k = order[i]; split(k, q, " ")
        printf "  log %s, tree %s: %s B, %s, %s; %s B, %s, %s\n", q[1], q[2], f[k, "inclusion_bytes"],
            f[k, "inclusion_generate_us"], f[k, "inclusion_verify_us"], f[k, "consistency_bytes"],
            f[k, "consistency_generate_us"], f[k, "consistency_verify_us"] } }' "$OUT"
echo
echo "every figure: $OUT"
