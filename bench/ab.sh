#!/usr/bin/env bash
# Two gateway binaries side by side, both up at once behind one emulator, measured by
# alternating short c1 wrk runs: machine drift (this VM's c1 latency moves 15 % between
# minutes) hits both alike. Usage:
#   bench/ab.sh OLD_BINARY NEW_BINARY [off|on|consumer|limit|limit-redis|admin] [ROUNDS]
# off: metrics and access log off (the request path alone); on: metrics on, access log to
# /dev/null; consumer: as off, and NEW requires a consumer key (the one bench/post.lua
# sends), so `bench/ab.sh BIN BIN consumer` prices key checking; limit: NEW's consumer
# also has requestsPerMinute and tokensPerMinute limits (high enough never to refuse), so
# every request reserves and settles in memory; limit-redis: the same counted in a
# redis-server started on port 19204; admin: as off, and NEW has an admin listener (port
# 19205), so its telemetry workers keep the recent-requests ring and the per-minute
# traffic the console reads (`bench/ab.sh BIN BIN admin` prices them). CONNS=32 runs wrk with 32 connections instead of 1
# (throughput under load rather than latency); LUA=post-stream.lua measures streams. Prints each run and the means. Ports
# 19201-19205 on 127.0.0.1.
set -euo pipefail
OLD=$1 NEW=$2 MODE=${3:-off} ROUNDS=${4:-8}
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TMP="$(mktemp -d /tmp/switchyard-ab.XXXXXX)"
"$OLD" mock --listen 127.0.0.1:19201 >/dev/null 2>&1 &
PIDS=($!)
trap 'kill "${PIDS[@]}" 2>/dev/null; rm -rf "$TMP"' EXIT
config() { # port [consumers]
    local extra='log: { access: "/dev/null" }'
    [ "$MODE" != on ] && extra=$'log: { access: "off" }\nmetrics: { enabled: false }'
    case "${2:-}" in
    consumers) extra+=$'\nconsumers:\n  - { name: bench, keys: ["sk-bench-0001"] }' ;;
    limits | limits-redis)
        extra+=$'\nconsumers:\n  - { name: bench, keys: ["sk-bench-0001"], limits: { requestsPerMinute: 1000000000, tokensPerMinute: 1000000000000 } }'
        [ "$2" = limits-redis ] && extra+=$'\nredis: { url: "redis://127.0.0.1:19204/0" }'
        ;;
    admin) extra+=$'\nadmin: { listen: "127.0.0.1:19205" }' ;;
    esac
    printf 'server: { listen: "127.0.0.1:%s" }\n%s\nproviders:\n  - { id: p, type: openai, baseUrl: "http://127.0.0.1:19201", apiTokens: ["sk-bench"] }\n' "$1" "$extra"
}
config 19202 > "$TMP/old.yaml"
case "$MODE" in
consumer) config 19203 consumers ;;
limit) config 19203 limits ;;
limit-redis)
    redis-server --port 19204 --bind 127.0.0.1 --save "" --appendonly no >/dev/null 2>&1 &
    PIDS+=($!)
    config 19203 limits-redis
    ;;
admin) config 19203 admin ;;
*) config 19203 ;;
esac > "$TMP/new.yaml"
SWITCHYARD_LOG=warn "$OLD" serve --config "$TMP/old.yaml" >/dev/null 2>&1 & PIDS+=($!)
OLD_PID=$!
SWITCHYARD_LOG=warn "$NEW" serve --config "$TMP/new.yaml" >/dev/null 2>&1 & PIDS+=($!)
NEW_PID=$!
sleep 1
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
run() { # port seconds pid -> req/s, p50 (us), gateway CPU per request (us)
    local before after out
    before=$(cpu_ticks "$3")
    out=$(wrk -t1 -c"${CONNS:-1}" -d"$2"s --latency -s "$ROOT/bench/${LUA:-post.lua}" "http://127.0.0.1:$1/v1/chat/completions")
    after=$(cpu_ticks "$3")
    echo "$out" | awk -v ticks=$((after - before)) -v hz="$(getconf CLK_TCK)" '
        function us(v) { if (v ~ /ms$/) return v * 1000; if (v ~ /us$/) return v + 0; return v * 1000000 }
        /requests in/ {n=$1} /Requests\/sec/ {r=$2} / 50%/ {p=us($2)}
        END {printf "%s %.1f %.1f\n", r, p, n ? ticks / hz * 1000000 / n : 0}'
}
run 19202 2 "$OLD_PID" >/dev/null; run 19203 2 "$NEW_PID" >/dev/null   # warm-up
for ((i = 1; i <= ROUNDS; i++)); do
    echo "old $(run 19202 3 "$OLD_PID")"
    echo "new $(run 19203 3 "$NEW_PID")"
done | tee "$TMP/runs"
awk '{s[$1]+=$2; p[$1]+=$3; c[$1]+=$4; n[$1]++} END {for (k in s) printf "%s: %.0f req/s, p50 %.1f us, gateway CPU %.1f us/request (mean of %d runs)\n", k, s[k]/n[k], p[k]/n[k], c[k]/n[k], n[k]}' "$TMP/runs"
