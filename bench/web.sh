#!/usr/bin/env bash
# The inspection dashboard's server time per page on the demo province (docs/BENCHMARKS.md,
# "The inspection dashboard"): builds the release binary, starts a throwaway `chibo serve` in a
# temporary directory, records the demo province (`chibo demo`, default size: 150 cells), signs
# in as the admin over HTTP, and asks each page ROUNDS times (default 5), printing the median and
# the largest of the `Server-Timing: app;dur=…` the server reports (time spent in the server,
# from the request read to the answer written out).
#
#   bench/web.sh             the demo province, 150 cells
#   bench/web.sh --cells 20  a smaller one
set -euo pipefail

cd "$(dirname "$0")/.."
CELLS=150
[[ "${1:-}" == "--cells" ]] && CELLS=$2
ROUNDS=${CHIBO_WEB_ROUNDS:-5}

cargo build --release --locked -p chibo >&2
target=${CARGO_TARGET_DIR:-target}
CHIBO=$PWD/$target/release/chibo
[[ $target = /* ]] && CHIBO=$target/release/chibo

work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
export CHIBO_TOKEN=$("$CHIBO" keys new-token)
CHIBO_INIT_ADMIN_TOKEN=$CHIBO_TOKEN CHIBO_LOG=warn "$CHIBO" serve --data "$work/data" --listen 127.0.0.1:0 \
    --metrics off --web 127.0.0.1:0 --rate-limit 0 --checkpoint-seconds 1 >"$work/out" &
server=$!
for _ in $(seq 100); do grep -q 'chibo serving' "$work/out" 2>/dev/null && break; sleep 0.1; done
grpc=http://$(sed -n 's/.* grpc=\([^ ]*\).*/\1/p' "$work/out")
web=$(sed -n 's/.* web=\([^ ]*\).*/\1/p' "$work/out"); web=${web%/}
"$CHIBO" demo --server "$grpc" --cells "$CELLS" >&2
sleep 2 # a checkpoint over the whole log, so that trails are proven

jar=$work/cookies
curl -s -o /dev/null -c "$jar" -H "Origin: $web" --data-urlencode "token=$CHIBO_TOKEN" "$web/login"
page() { curl -s -b "$jar" "$web$1"; }
# Pages to time: the largest committee (the province), a district, and the first cell and member
# of the province's cell leaderboard.
province=$(page /tree | grep -o 'data-org="[a-z0-9-]*" data-level="province"' | head -1 | cut -d'"' -f2)
district=$(page /tree | grep -o 'data-org="[a-z0-9-]*" data-level="district"' | head -1 | cut -d'"' -f2)
committee_page=$(page "/committee/$province")
cell=$(grep -o 'tr data-cell="[a-z0-9-]*"' <<<"$committee_page" | head -1 | cut -d'"' -f2)
member=$(grep -o 'tr data-member="[a-z0-9-]*"' <<<"$committee_page" | head -1 | cut -d'"' -f2)

printf 'path\tmedian_ms\tmax_ms\tbytes\n'
for path in /login /tree "/tree?q=tan" "/committee/$province" "/committee/$district" "/cell/$cell" \
    "/member/$member" "/audit/cell/$cell" "/audit/member/$member" "/evaluation/$province" \
    "/evaluation/$district"; do
    times=()
    for _ in $(seq "$ROUNDS"); do
        line=$(curl -s -D - -o "$work/body" -b "$jar" "$web$path" | tr -d '\r' | grep -i '^server-timing:')
        times+=("$(sed 's/.*dur=//' <<<"$line")")
    done
    bytes=$(wc -c <"$work/body")
    sorted=$(printf '%s\n' "${times[@]}" | sort -g)
    median=$(sed -n "$(((ROUNDS + 1) / 2))p" <<<"$sorted")
    max=$(tail -1 <<<"$sorted")
    printf '%s\t%s\t%s\t%s\n' "$path" "$median" "$max" "$bytes"
done
