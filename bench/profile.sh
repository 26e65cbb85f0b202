#!/usr/bin/env bash
# Profile lane (issue 12): where the gateway's CPU goes, per lane. Usage:
#   bench/profile.sh                       # every lane, 6 s of samples each
#   PROFILE_LANES="plain-c64 stream-c64" SECONDS_PER_LANE=10 bench/profile.sh
#
# For each lane it starts the emulator and a gateway (metrics on, access log to /dev/null), puts
# wrk load on it, and records the gateway alone with `perf record -F 1999 -g -p PID` for
# SECONDS_PER_LANE seconds (after a 2 s warm-up). It prints the top 10 frames by self time
# (`perf report --no-children --sort symbol`) per lane and writes a markdown report to
# bench/out/profile/report.md; the perf.data files stay in bench/out/profile/raw/ for
# `perf report -i` or a flamegraph (`perf script | inferno-collapse-perf | inferno-flamegraph`).
# Lanes:
#   plain-c64, stream-c64, plain-c1, stream-c1: bench/post.lua / post-stream.lua;
#   long:  2,000 concurrent slow streams (emulator --stream-chunks 20 --chunk-delay 100ms);
#   storm: every upstream answer is a 429, retries (3 + 2 tokens) and a fallback, c64;
#   body:  1 MiB prompts (bench/post-large.lua), c16.
# Needs perf (Debian: linux-perf) and wrk; installs neither silently: it stops and says so.
# Ports: MOCK_PORT 19041, GATEWAY_PORT 19043.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LANE_NAME=profile
# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"

SECONDS_PER_LANE="${SECONDS_PER_LANE:-6}"
read -r -a LANES <<<"${PROFILE_LANES:-plain-c64 stream-c64 plain-c1 stream-c1 long storm body}"
MOCK_PORT="${MOCK_PORT:-19041}"
GATEWAY_PORT="${GATEWAY_PORT:-19043}"
TOP="${TOP:-10}"

command -v perf >/dev/null 2>&1 || die "perf is not installed (Debian: apt-get install linux-perf)"
ensure_tools
build_gateway
make_tmp
install_traps
ports_free "$MOCK_PORT" "$GATEWAY_PORT"
RAW="$OUT_DIR/$LANE_NAME/raw"
mkdir -p "$RAW"
rm -f "$RAW"/*
WRK_PREFIX=()
MOCK_URL="http://$HOST:$MOCK_PORT"
URL="http://$HOST:$GATEWAY_PORT/v1/chat/completions"

gateway_config() { # lane -> YAML on stdout
    echo "server: { listen: \"$HOST:$GATEWAY_PORT\", maxBodyBytes: $((32 * 1024 * 1024)) }"
    echo "log: { access: /dev/null }"
    echo "providers:"
    if [ "$1" = storm ]; then
        cat <<EOF
  - id: primary
    type: openai
    baseUrl: "$MOCK_URL"
    apiTokens: ["limited-p1", "limited-p2", "limited-p3"]
    retryOnFailure: { enabled: true, maxRetries: 2, retryOnStatus: ["429"] }
  - id: backup
    type: openai
    baseUrl: "$MOCK_URL"
    apiTokens: ["limited-b1", "limited-b2"]
    retryOnFailure: { enabled: true, maxRetries: 1, retryOnStatus: ["429"] }
routes:
  - name: all
    provider: primary
    fallback: { onStatus: ["429"], targets: [{ provider: backup }] }
EOF
    else
        cat <<EOF
  - id: mock
    type: openai
    baseUrl: "$MOCK_URL"
    apiTokens: ["$TOKEN"]
routes:
  - name: all
    provider: mock
EOF
    fi
}

REPORT="$OUT_DIR/$LANE_NAME/report.md"
{
    echo "# Gateway profile per lane ($(date -u +%Y-%m-%dT%H:%MZ), commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'))"
    echo
    echo "Command: \`PROFILE_LANES=\"${LANES[*]}\" SECONDS_PER_LANE=$SECONDS_PER_LANE bench/profile.sh\`."
    echo "Top $TOP frames of the gateway process by self time (perf record -F 1999 -g; % of its samples)."
} >"$REPORT"

for lane in "${LANES[@]}"; do
    emu_args=()
    script="$BENCH_DIR/post.lua" conns=64 threads=2
    case "$lane" in
    plain-c64) ;;
    stream-c64) script="$BENCH_DIR/post-stream.lua" ;;
    plain-c1) conns=1 threads=1 ;;
    stream-c1) script="$BENCH_DIR/post-stream.lua" conns=1 threads=1 ;;
    long) script="$BENCH_DIR/post-stream.lua" conns=2000 emu_args=(--stream-chunks 20 --chunk-delay 100ms) ;;
    storm) ;;
    body) script="$BENCH_DIR/post-large.lua" conns=16 ;;
    *) die "unknown lane '$lane' (plain-c64 stream-c64 plain-c1 stream-c1 long storm body)" ;;
    esac
    ((conns < 1000)) || raise_nofile $((2 * conns + 4096))
    wait_quiet
    start_emulator "$MOCK_PORT" "" "${emu_args[@]}"
    gateway_config "$lane" >"$TMP/gateway-$lane.yaml"
    start_gateway "gateway-$lane" "$TMP/gateway-$lane.yaml" "$GATEWAY_PORT"
    gw="$GW_STARTED_PID"
    dur=$((SECONDS_PER_LANE + 4))
    log "$lane: wrk -c$conns for ${dur}s, perf on the gateway (pid $gw) for ${SECONDS_PER_LANE}s after 2 s"
    timeout --kill-after=5 $((dur + 30)) wrk -t"$threads" -c"$conns" -d"${dur}s" -s "$script" "$URL" >"$RAW/$lane.wrk" 2>&1 &
    wrk_pid=$!
    sleep 2
    perf record -q -F 1999 -g -p "$gw" -o "$RAW/$lane.perf.data" -- sleep "$SECONDS_PER_LANE" >/dev/null 2>&1 ||
        die "perf record failed (is kernel.perf_event_paranoid too high? try: sysctl kernel.perf_event_paranoid=1)"
    wait "$wrk_pid" || true
    alive_or_die "$gw" gateway "$lane"
    reqs="$(awk '/requests in/ { print $1 }' "$RAW/$lane.wrk")"
    perf report -i "$RAW/$lane.perf.data" --no-children --sort symbol --stdio --percent-limit 0.5 \
        >"$RAW/$lane.report" 2>/dev/null || die "perf report failed for $lane"
    grep -E '^ +[0-9.]+%' "$RAW/$lane.report" | awk -v n="$TOP" 'NR <= n' >"$RAW/$lane.top"
    {
        echo
        echo "## $lane (wrk -c$conns, ${reqs:-?} requests in ${dur}s)"
        echo
        echo '```'
        sed -E 's/ +$//' "$RAW/$lane.top"
        echo '```'
    } >>"$REPORT"
    stop_pid "$gw"
    stop_pid "$MOCK_PID"
done

cat "$REPORT"
log "report: $REPORT"
