#!/usr/bin/env bash
# RSS lane: does the gateway's memory stay flat between 100k and 1M requests when clients send
# 1,000 distinct model names, with metrics and the access log on? See bench/README.md ("RSS lane").
# Usage: bench/rss.sh   or   RSS_TOTAL=200000 bench/rss.sh (a short check)
#
# wrk runs in steps (each at most RSS_STEP seconds), and the requests each step completed are
# summed. After each step the gateway's VmRSS is read from /proc. At the first step that brings
# the total to RSS_FIRST (100k) or more, and again at RSS_TOTAL (1M), the RSS and /metrics
# (exposition size, distinct `model` label values) are recorded.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LANE_NAME=rss
# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"

RSS_FIRST="${RSS_FIRST:-100000}"      # first measuring point, in requests
RSS_TOTAL="${RSS_TOTAL:-1000000}"     # second measuring point and end
RSS_MODELS="${RSS_MODELS:-1000}"      # distinct model names sent
RSS_STEP="${RSS_STEP:-5}"             # longest wrk step, seconds
RSS_MAX_TIME="${RSS_MAX_TIME:-300}"   # give up (inconclusive) after this many seconds of load
MAX_MODELS="${MAX_MODELS:-}"          # metrics.maxModels; empty: the gateway's default (100)
RSS_STREAM="${RSS_STREAM:-0}"         # 1: streamed answers instead of one JSON answer
CONCURRENCY="${CONCURRENCY:-64}"
MOCK_PORT="${MOCK_PORT:-19001}"
GATEWAY_PORT="${GATEWAY_PORT:-19003}"
ADMIN_PORT="${ADMIN_PORT:-19006}"
TARGET_GROWTH_PCT=10                  # RSS at RSS_TOTAL vs at RSS_FIRST; informational

for v in RSS_FIRST RSS_TOTAL RSS_MODELS RSS_STEP RSS_MAX_TIME CONCURRENCY; do
    [[ "${!v}" =~ ^[0-9]+$ ]] && ((${!v} > 0)) || die "$v must be a positive whole number"
done
[[ "$RSS_STREAM" == 0 || "$RSS_STREAM" == 1 ]] || die "RSS_STREAM must be 0 or 1"
MODE_NAME=non-streamed
[ "$RSS_STREAM" = 0 ] || MODE_NAME=streamed
[ -z "$MAX_MODELS" ] || [[ "$MAX_MODELS" =~ ^[0-9]+$ ]] || die "MAX_MODELS must be a whole number"
((RSS_TOTAL > RSS_FIRST)) || die "RSS_TOTAL must be larger than RSS_FIRST"
[[ "$QUIET_WAIT" =~ ^[0-9]+$ ]] || die "QUIET_WAIT must be a whole number"
check_port_var "$MOCK_PORT" MOCK_PORT
check_port_var "$GATEWAY_PORT" GATEWAY_PORT
check_port_var "$ADMIN_PORT" ADMIN_PORT
[ "$(printf '%s\n' "$MOCK_PORT" "$GATEWAY_PORT" "$ADMIN_PORT" | sort -u | wc -l)" = 3 ] ||
    die "MOCK_PORT, GATEWAY_PORT and ADMIN_PORT must differ"
THREADS=1
((CONCURRENCY > 1)) && THREADS=2
EXPECTED_MAX_MODELS="${MAX_MODELS:-100}"

ensure_tools
build_gateway
make_tmp
install_traps
ports_free "$MOCK_PORT" "$GATEWAY_PORT" "$ADMIN_PORT"
RAW="$OUT_DIR/$LANE_NAME/raw"
mkdir -p "$RAW"
rm -f "$RAW"/*

start_emulator "$MOCK_PORT"

ACCESS_LOG="$TMP/access.jsonl" # not *.log: not copied to bench/out at exit
METRICS_LINE="metrics: { enabled: true }"
[ -z "$MAX_MODELS" ] || METRICS_LINE="metrics: { enabled: true, maxModels: $MAX_MODELS }"
# One route, no `models`: it matches every model, and the provider has no modelMapping, so
# the requested name is sent upstream as it is.
cat >"$TMP/gateway.yaml" <<EOF
server: { listen: "$HOST:$GATEWAY_PORT" }
admin: { listen: "$HOST:$ADMIN_PORT" }
$METRICS_LINE
log: { access: "$ACCESS_LOG" }
providers:
  - id: mock
    type: openai
    baseUrl: "http://$HOST:$MOCK_PORT"
    apiTokens: ["$TOKEN"]
routes:
  - name: all
    provider: mock
EOF
start_gateway gateway "$TMP/gateway.yaml" "$GATEWAY_PORT"
GW_PID="$GW_STARTED_PID"
wait_port "$ADMIN_PORT" "$GW_PID" "gateway admin" "$TMP/gateway.log"
URL="http://$HOST:$GATEWAY_PORT/v1/chat/completions"
METRICS_URL="http://$HOST:$ADMIN_PORT/metrics"
RSS_IDLE="$(vm_kib "$GW_PID" VmRSS)"

# --- smoke test: an arbitrary model name goes through and is logged as it was sent ---------
code="$(curl -sS --max-time 5 -o "$TMP/smoke.out" -w '%{http_code}' \
    -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d '{"model":"m-smoke","messages":[{"role":"user","content":"hi"}]}' "$URL" || true)"
[ "$code" = 200 ] || die "smoke test: HTTP '$code': $(head -c 400 "$TMP/smoke.out" 2>/dev/null)"
code="$(scrape "$METRICS_URL" "$RAW/metrics-smoke.txt")" # also flushes the access log
[ "$code" = 200 ] || die "smoke test: GET $METRICS_URL answered HTTP '$code'"
grep -q '"model":"m-smoke"' "$ACCESS_LOG" || die "smoke test: the access log has no line with model m-smoke:\n$(head -c 600 "$ACCESS_LOG")"
grep -q 'model="m-smoke"' "$RAW/metrics-smoke.txt" || die "smoke test: /metrics has no model=\"m-smoke\" series"
log "smoke test passed (model names pass through; /metrics and the access log work)"
# Scrape once a second throughout, as Prometheus would (SCRAPE=0: only at the checkpoints).
# Without it, the first scrape with every series (at the first checkpoint) is where the
# exporter's render buffers are first allocated, and RSS settles after it.
if [ "${SCRAPE:-1}" = 1 ]; then
    start_scraper "$METRICS_URL" "$RAW/scrapes.log"
fi
TOTAL=1 # requests completed, the smoke test's included

# checkpoint NAME -> sets CP_<field>[NAME]: requests, RSS, HWM, /metrics summary
declare -A CP_REQS CP_RSS CP_HWM CP_BYTES CP_SERIES CP_MODELS CP_OTHER CP_MREQS CP_DROPPED CP_ELAPSED
checkpoint() {
    local name="$1" code
    code="$(scrape "$METRICS_URL" "$RAW/metrics-$name.txt")"
    [ "$code" = 200 ] || die "GET $METRICS_URL answered HTTP '$code' at $name"
    # RSS after the scrape: the scrape has let the telemetry worker catch up.
    CP_REQS[$name]="$TOTAL"
    CP_RSS[$name]="$(vm_kib "$GW_PID" VmRSS)"
    CP_HWM[$name]="$(vm_kib "$GW_PID" VmHWM)"
    CP_ELAPSED[$name]="$ELAPSED"
    read -r CP_BYTES[$name] CP_SERIES[$name] CP_MODELS[$name] CP_OTHER[$name] CP_MREQS[$name] CP_DROPPED[$name] \
        <<<"$(metrics_summary "$RAW/metrics-$name.txt")"
    log "  checkpoint $name: $TOTAL requests, VmRSS $(mib "${CP_RSS[$name]}") MiB, /metrics ${CP_BYTES[$name]} bytes, ${CP_MODELS[$name]} model label values"
}

# --- load, in steps ----------------------------------------------------------------------
PRE_BUSY="$(busy_1s)"
((PRE_BUSY <= 25)) || log "WARNING: the machine is busy (${PRE_BUSY}% of a core in use); waiting for it to calm down"
wait_quiet
SERIES=() # "step requests_total rss_kib req/s"
ERRORS=()
ELAPSED=0
RATE=0
step=0
target="$RSS_FIRST"
phase=first
INCONCLUSIVE=""
gw0="$(cpu_ticks "$GW_PID")"
t_start="$(date +%s)"
while :; do
    remaining=$((target - TOTAL))
    if ((remaining <= 0)); then
        checkpoint "$phase"
        [ "$phase" = first ] || break
        phase=total
        target="$RSS_TOTAL"
        continue
    fi
    if ((ELAPSED >= RSS_MAX_TIME)); then
        INCONCLUSIVE="stopped after ${ELAPSED}s of load (RSS_MAX_TIME) with $TOTAL requests, before $target"
        log "  !! $INCONCLUSIVE"
        checkpoint "$phase"
        break
    fi
    # Long enough to reach the target at the last rate, at least 1 s, at most RSS_STEP.
    secs="$RSS_STEP"
    if ((RATE > 0)); then
        secs=$(((remaining + RATE - 1) / RATE))
        ((secs >= 1)) || secs=1
        ((secs <= RSS_STEP)) || secs="$RSS_STEP"
    elif ((step == 0)); then
        secs=2 # first step: measure the rate
    fi
    step=$((step + 1))
    out="$RAW/step-$(printf '%03d' "$step").txt"
    BENCH_MODELS="$RSS_MODELS" BENCH_STREAM="$RSS_STREAM" run_wrk "$out" "$URL" "$BENCH_DIR/post-models.lua" "$THREADS" "$CONCURRENCY" "$secs"
    alive_or_die "$GW_PID" gateway "step $step"
    alive_or_die "$MOCK_PID" emulator "step $step"
    parsed="$(parse_wrk "$out")"
    [ "$parsed" != PARSE_ERROR ] || die "could not parse wrk output $out:\n$(cat "$out")"
    read -r rps _ _ req non2xx sockerr <<<"$parsed"
    ((non2xx + sockerr == 0)) || ERRORS+=("step $step: $non2xx non-2xx, $sockerr socket errors (see $out)")
    TOTAL=$((TOTAL + req))
    ELAPSED=$(($(date +%s) - t_start))
    RATE="$(fmt "$rps")"
    rss="$(vm_kib "$GW_PID" VmRSS)"
    SERIES+=("$step $TOTAL $rss $RATE $secs")
    log "  step $step (${secs}s): $req requests at $RATE req/s; total $TOTAL; VmRSS $(mib "$rss") MiB"
done
gw1="$(cpu_ticks "$GW_PID")"
t_end="$(date +%s)"
GW_PCT="$(pct_of_core $((gw1 - gw0)) $((t_end - t_start)))"

LOG_BYTES="$(wc -c <"$ACCESS_LOG")"
LOG_LINES="$(wc -l <"$ACCESS_LOG")"
LOG_NAMES="$(grep -o '"requested_model":"m-[0-9]*"' "$ACCESS_LOG" | sort -u | wc -l)"
head -n 3 "$ACCESS_LOG" >"$RAW/access-sample.jsonl"
RSS_END="$(vm_kib "$GW_PID" VmRSS)"
HWM_END="$(vm_kib "$GW_PID" VmHWM)"

# --- report ------------------------------------------------------------------------------
REPORT="$OUT_DIR/$LANE_NAME/report.md"
{
    echo "# Switchyard RSS with $RSS_MODELS distinct model names"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "- machine: $(nproc) cores, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo); $(wrk -v 2>&1 | head -n 1 | awk '{ print $1, $2 }')"
    echo "- gateway: metrics on (maxModels ${MAX_MODELS:-default}; /metrics scraped every second unless SCRAPE=0), access log to a file in the bench temp dir, one route for every model, no modelMapping"
    echo "- load: $MODE_NAME chat, c$CONCURRENCY, $THREADS wrk threads, \`bench/post-models.lua\` (model m-0..m-$((RSS_MODELS - 1)), round-robin), $step wrk steps of at most ${RSS_STEP}s, ${ELAPSED}s of load in all"
    echo "- machine load just before (servers idle): ${PRE_BUSY}% of a core; the gateway used ${GW_PCT}% of a core on average during the lane"
    echo
    echo "| point | requests completed | VmRSS MiB | VmHWM MiB | /metrics bytes | series | distinct \`model\` values | \`other\` present | requests_total (all series) | dropped records |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |"
    echo "| idle, at start | 0 | $(mib "$RSS_IDLE") | - | - | - | - | - | - | - |"
    for p in first total; do
        [ -n "${CP_REQS[$p]:-}" ] || continue
        label="first (>= $RSS_FIRST)"
        [ "$p" = first ] || label="end (>= $RSS_TOTAL)"
        echo "| $label | ${CP_REQS[$p]} | $(mib "${CP_RSS[$p]}") | $(mib "${CP_HWM[$p]}") | ${CP_BYTES[$p]} | ${CP_SERIES[$p]} | ${CP_MODELS[$p]} | ${CP_OTHER[$p]} | ${CP_MREQS[$p]} | ${CP_DROPPED[$p]} |"
    done
    echo
    if [ -n "${CP_RSS[first]:-}" ] && [ -n "${CP_RSS[total]:-}" ] && [ -z "$INCONCLUSIVE" ]; then
        growth="$(awk -v a="${CP_RSS[first]}" -v b="${CP_RSS[total]}" 'BEGIN { printf "%+.1f", (b - a) / a * 100 }')"
        v="met"
        awk -v g="$growth" -v t="$TARGET_GROWTH_PCT" 'BEGIN { exit !(g <= t && g >= -t) }' || v="**MISSED**"
        echo "- RSS from ${CP_REQS[first]} to ${CP_REQS[total]} requests: $(mib "${CP_RSS[first]}") -> $(mib "${CP_RSS[total]}") MiB, $growth %; target within $TARGET_GROWTH_PCT %: $v"
    else
        echo "- RSS growth: inconclusive (${INCONCLUSIVE:-a checkpoint is missing})"
    fi
    bound=$((EXPECTED_MAX_MODELS + 2))
    mv="met"
    for p in first total; do
        [ -n "${CP_MODELS[$p]:-}" ] && ((${CP_MODELS[$p]} <= bound)) || mv="**MISSED**"
    done
    echo "- distinct \`model\` label values: ${CP_MODELS[first]:-?} at first, ${CP_MODELS[total]:-?} at total; bound maxModels $EXPECTED_MAX_MODELS + \`other\` (+ \`none\`) = $bound: $mv"
    echo "- distinct requested models in the access log: $LOG_NAMES (expected $RSS_MODELS, plus m-smoke)"
    echo "- access log: $LOG_BYTES bytes ($(mib $((LOG_BYTES / 1024))) MiB), $LOG_LINES lines, for $TOTAL requests wrk and curl saw complete"
    echo "- RSS at the end: $(mib "$RSS_END") MiB; peak (VmHWM) $(mib "$HWM_END") MiB"
    echo
    echo "RSS after each wrk step (read between steps, the gateway idle):"
    echo
    echo "| step | seconds | requests so far | req/s | VmRSS MiB |"
    echo "| ---: | ---: | ---: | ---: | ---: |"
    for s in "${SERIES[@]}"; do
        read -r st tot rss rate secs <<<"$s"
        echo "| $st | $secs | $tot | $rate | $(mib "$rss") |"
    done
    echo
    if ((${#ERRORS[@]})); then
        echo "## ERRORS"
        echo
        for e in "${ERRORS[@]}"; do echo "- $e"; done
    else
        echo "No step had errors (non-2xx responses or socket errors)."
    fi
    echo
    echo "Raw wrk output and the two /metrics scrapes: bench/out/$LANE_NAME/raw/; process logs: bench/out/$LANE_NAME/logs/."
} >"$REPORT"

echo
cat "$REPORT"
((${#ERRORS[@]} == 0)) || die "${#ERRORS[@]} step(s) had errors: see the ERRORS section above"
[ -z "$INCONCLUSIVE" ] || die "$INCONCLUSIVE"
