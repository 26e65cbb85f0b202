#!/usr/bin/env bash
# Long-stream lane (issue 12): thousands of concurrent slow streams through the gateway and through
# nginx. See bench/README.md ("Long-stream lane"). Usage:
#   bench/streams.sh                                  # 4000 streams at once, 30 s per proxy
#   CONNS=200 DURATION=5s QUIET_WAIT=0 bench/streams.sh   # a quick check
#
# The emulator streams STREAM_CHUNKS (20) content chunks with CHUNK_DELAY (100ms) between events, so
# each stream lasts about 2.3 s (the request asks for usage, as the gateway does upstream anyway, so
# that both proxies get the same upstream stream); wrk keeps CONNS (4000) connections, each posting a streamed chat
# request with usage (bench/post-stream-usage.lua) as soon as its previous stream ends. Reported per proxy: streams/s,
# p50/p99 of the whole stream, the proxy's CPU per stream, its RSS idle and at the peak (VmRSS summed
# over its processes, sampled every 0.2 s during the run; nginx: master + workers) and the memory
# per concurrent stream, (peak - idle) / CONNS.
#
# Ports, all on 127.0.0.1: MOCK_PORT 19021 (emulator), NGINX_PORT 19022, GATEWAY_PORT 19023.
# Open files: the gateway holds 2 x CONNS sockets (client + upstream), wrk and the emulator CONNS
# each; the script raises `ulimit -n` to 2 x CONNS + 4096 and stops if the hard limit is lower.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LANE_NAME=streams
# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"

CONNS="${CONNS:-4000}"                  # concurrent streams (wrk connections)
DURATION="${DURATION:-30s}"             # each measured run
STREAM_CHUNKS="${STREAM_CHUNKS:-20}"    # emulator --stream-chunks
CHUNK_DELAY="${CHUNK_DELAY:-100ms}"     # emulator --chunk-delay
WRK_THREADS="${WRK_THREADS:-2}"
NGINX_WORKERS="${NGINX_WORKERS:-$(nproc)}"
read -r -a PROXIES <<<"${STREAM_PROXIES:-gateway nginx}"
MOCK_PORT="${MOCK_PORT:-19021}"
NGINX_PORT="${NGINX_PORT:-19022}"
GATEWAY_PORT="${GATEWAY_PORT:-19023}"

DURATION_S="$(to_seconds "$DURATION")"
((DURATION_S > 0)) || die "DURATION must be > 0"
for v in CONNS STREAM_CHUNKS WRK_THREADS NGINX_WORKERS; do
    [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive whole number"
done
((CONNS >= WRK_THREADS)) || die "CONNS must be at least WRK_THREADS"
[[ "$CHUNK_DELAY" =~ ^[0-9]+(ms|s)$ ]] || die "CHUNK_DELAY must look like 100ms or 1s"
[[ "$QUIET_WAIT" =~ ^[0-9]+$ ]] || die "QUIET_WAIT must be a whole number"
check_telemetry
for p in "${PROXIES[@]}"; do [[ "$p" == gateway || "$p" == nginx ]] || die "bad proxy '$p' in STREAM_PROXIES"; done
check_port_var "$MOCK_PORT" MOCK_PORT
check_port_var "$NGINX_PORT" NGINX_PORT
check_port_var "$GATEWAY_PORT" GATEWAY_PORT
[ "$(printf '%s\n' "$MOCK_PORT" "$NGINX_PORT" "$GATEWAY_PORT" | sort -u | wc -l)" = 3 ] ||
    die "MOCK_PORT, NGINX_PORT and GATEWAY_PORT must differ"
DELAY_MS="$(awk -v d="$CHUNK_DELAY" 'BEGIN { n = d + 0; if (d ~ /ms$/) print n; else print n * 1000 }')"
# A stream is about (chunks + 3) events apart; wrk's --timeout (2 s by default) must exceed it.
WRK_TIMEOUT_S=$(((STREAM_CHUNKS + 3) * DELAY_MS * 3 / 1000 + 10))

# --- open files ------------------------------------------------------------------------------
WANT_NOFILE=$((2 * CONNS + 4096))
raise_nofile "$WANT_NOFILE"
NOFILE="$(ulimit -Sn)"
[ "$NOFILE" = unlimited ] || ((NOFILE >= WANT_NOFILE)) ||
    die "ulimit -n is $NOFILE and the hard limit ($(ulimit -Hn)) does not allow $WANT_NOFILE (2 x CONNS + 4096): lower CONNS or raise the hard limit (e.g. ulimit -Hn as root, or LimitNOFILE)"
log "ulimit -n: $NOFILE (wanted $WANT_NOFILE for $CONNS streams)"

ensure_tools
ensure_nginx
build_gateway
make_tmp
install_traps
ports_free "$MOCK_PORT" "$NGINX_PORT" "$GATEWAY_PORT"
RAW="$OUT_DIR/$LANE_NAME/raw"
mkdir -p "$RAW"
rm -f "$RAW"/*
CMDLINE="CONNS=$CONNS DURATION=$DURATION STREAM_CHUNKS=$STREAM_CHUNKS CHUNK_DELAY=$CHUNK_DELAY TELEMETRY=$TELEMETRY bench/streams.sh"

start_emulator "$MOCK_PORT" "" --stream-chunks "$STREAM_CHUNKS" --chunk-delay "$CHUNK_DELAY"

render_nginx "$TMP/nginx.conf" "$NGINX_PORT" "$MOCK_PORT" "$NGINX_WORKERS" $((2 * CONNS + 512))
start_nginx nginx "$TMP/nginx.conf" "$NGINX_PORT"
NGINX_PID="$NGINX_STARTED_PID"
NGINX_ALL="${NGINX_STARTED_PIDS[*]}"

MAX_CONN=10000
((CONNS + 1000 <= MAX_CONN)) || MAX_CONN=$((CONNS + 1000))
{
    echo "server: { listen: \"$HOST:$GATEWAY_PORT\", maxConnections: $MAX_CONN }"
    telemetry_yaml gateway
    cat <<EOF
providers:
  - id: mock
    type: openai
    baseUrl: "http://$HOST:$MOCK_PORT"
    apiTokens: ["$TOKEN"]
routes:
  - name: all
    provider: mock
EOF
} >"$TMP/gateway.yaml"
start_gateway gateway "$TMP/gateway.yaml" "$GATEWAY_PORT"
GW_PID="$GW_STARTED_PID"

URL_PATH=/v1/chat/completions
proxy_port() { if [ "$1" = nginx ]; then echo "$NGINX_PORT"; else echo "$GATEWAY_PORT"; fi; }
proxy_pids() { if [ "$1" = nginx ]; then echo "$NGINX_ALL"; else echo "$GW_PID"; fi; }

# --- smoke test; the floor: one stream straight from the emulator ----------------------------
STREAM_S="$(curl -sS --max-time 30 -o "$TMP/smoke.out" -w '%{time_total}' \
    -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}}' \
    "http://$HOST:$MOCK_PORT$URL_PATH")" || die "smoke test: the emulator did not stream"
grep -q '^data: \[DONE\]' "$TMP/smoke.out" || die "smoke test: the emulator's stream has no 'data: [DONE]'"
for p in "${PROXIES[@]}"; do smoke "$p/stream" "http://$HOST:$(proxy_port "$p")$URL_PATH" true; done
# A stream the client leaves before its end carries no usage, and the gateway counts its tokens
# itself: the first time, that loads the tokenizer's BPE table (tens of MiB). Every wrk run ends by
# cutting CONNS streams off, so do it once now: the idle RSS then includes the table, as it would
# in production after the first client that hangs up, and the per-stream figure does not.
if [[ " ${PROXIES[*]} " == *" gateway "* ]]; then
    rss_a="$(vm_kib "$GW_PID" VmRSS)"
    curl -sS --max-time 0.5 -o /dev/null -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
        -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"stream":true}' \
        "http://$HOST:$GATEWAY_PORT$URL_PATH" 2>/dev/null || true
    sleep 1
    rss_b="$(vm_kib "$GW_PID" VmRSS)"
    TOKENIZER_NOTE="a stream cut off before the runs took the gateway's RSS from $(mib "$rss_a") to $(mib "$rss_b") MiB (tokenizer table loaded); idle RSS is measured after it"
    log "$TOKENIZER_NOTE"
fi
log "smoke test passed; one stream straight from the emulator takes ${STREAM_S}s"

# --- runs --------------------------------------------------------------------------------
declare -A RPS P50 P99 REQS ERRS PCT US OTHER IDLE PEAK HWM PER
ERRORS=()
NOISY=()
PRE_BUSY="$(busy_1s)"
((PRE_BUSY <= 25)) || log "WARNING: the machine is busy (${PRE_BUSY}% of a core in use); runs will wait for it to calm down"
MEASURE_RSS=1
for p in "${PROXIES[@]}"; do
    base="$RAW/$p"
    wait_quiet
    log "$p: $CONNS concurrent streams for ${DURATION_S}s (wrk --timeout ${WRK_TIMEOUT_S}s)"
    measure_wrk "$base.txt" "http://$HOST:$(proxy_port "$p")$URL_PATH" "$BENCH_DIR/post-stream-usage.lua" \
        "$WRK_THREADS" "$CONNS" "$DURATION_S" "$(proxy_pids "$p")" --timeout "${WRK_TIMEOUT_S}s"
    alive_or_die "$MOCK_PID" emulator "$p run"
    alive_or_die "$NGINX_PID" nginx "$p run"
    alive_or_die "$GW_PID" gateway "$p run"
    record_wrk "$p"
    ERRS[$p]=$((M_NON2XX + M_SOCK))
    IDLE[$p]="$M_RSS_IDLE"
    PEAK[$p]="$M_RSS_PEAK"
    HWM[$p]="$M_HWM"
    PER[$p]="$(awk -v a="$M_RSS_PEAK" -v b="$M_RSS_IDLE" -v c="$CONNS" 'BEGIN { printf "%.1f", (a - b) / c }')"
    ((M_NON2XX + M_SOCK == 0)) || ERRORS+=("$p: $M_NON2XX non-2xx, $M_SOCK socket errors (see $base.txt)")
    log "  $M_RPS streams/s, p50 $M_P50 us, p99 $M_P99 us; RSS idle $(mib "$M_RSS_IDLE") MiB, peak $(mib "$M_RSS_PEAK") MiB = ${PER[$p]} KiB/stream; $M_US µs CPU/stream"
    sleep 2 # let the cut-off streams wind down before the next proxy
done

# --- report ------------------------------------------------------------------------------
REPORT="$OUT_DIR/$LANE_NAME/report.md"
{
    echo "# Switchyard long-stream lane: $CONNS concurrent slow streams"
    echo
    echo "\`$CMDLINE\`"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "- machine: $(nproc) cores, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo); $(wrk -v 2>&1 | head -n 1 | awk '{ print $1, $2 }'); nginx $("$NGINX_BIN" -v 2>&1 | sed 's/.*nginx\///') ($NGINX_WORKERS workers)"
    echo "- emulator: --stream-chunks $STREAM_CHUNKS --chunk-delay $CHUNK_DELAY; one stream straight from it: ${STREAM_S}s, so at most $(awk -v c="$CONNS" -v s="$STREAM_S" 'BEGIN { printf "%.0f", c / s }') streams/s at c$CONNS"
    echo "- wrk: $WRK_THREADS threads, $CONNS connections, bench/post-stream-usage.lua, --timeout ${WRK_TIMEOUT_S}s, $DURATION per proxy, no warm-up; ulimit -n $NOFILE"
    echo "- gateway: telemetry $TELEMETRY, server.maxConnections $MAX_CONN${TOKENIZER_NOTE:+; $TOKENIZER_NOTE}"
    echo "- machine load just before (servers idle): ${PRE_BUSY}% of a core"
    echo
    echo "| proxy | streams/s | p50 ms | p99 ms | streams | errors | proxy CPU % | CPU µs/stream | RSS idle MiB | RSS peak MiB | KiB per concurrent stream | VmHWM MiB | other % |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    for p in "${PROXIES[@]}"; do
        echo "| $p | $(fmt "${RPS[$p]}") | $(awk -v v="${P50[$p]}" 'BEGIN { printf "%.0f", v / 1000 }') | $(awk -v v="${P99[$p]}" 'BEGIN { printf "%.0f", v / 1000 }') | ${REQS[$p]} | ${ERRS[$p]} | ${PCT[$p]} | ${US[$p]} | $(mib "${IDLE[$p]}") | $(mib "${PEAK[$p]}") | ${PER[$p]} | $(mib "${HWM[$p]}") | ${OTHER[$p]} |"
    done
    echo
    if [ -n "${RPS[gateway]:-}" ] && [ -n "${RPS[nginx]:-}" ]; then
        echo "Gateway / nginx: streams/s $(ratio_pct "${RPS[gateway]}" "${RPS[nginx]}") %, p99 $(ratio_pct "${P99[gateway]}" "${P99[nginx]}") %, CPU per stream $(ratio_pct "${US[gateway]}" "${US[nginx]}") %, memory per stream $(ratio_pct "${PER[gateway]}" "${PER[nginx]}") %."
        echo
    fi
    echo "streams/s counts the streams wrk saw end within the run. All connections start together and every"
    echo "stream lasts about as long, so they end in waves: a run loses up to one wave at its end (about"
    echo "$(awk -v s="$STREAM_S" -v d="$DURATION_S" 'BEGIN { printf "%.0f", s / d * 100 }') % here, one stream length over the run's length); compare proxies within one report."
    echo
    echo "RSS: VmRSS from /proc/PID/status summed over the proxy's processes (nginx: master + workers),"
    echo "idle just before the run and the highest value sampled every ${RSS_SAMPLE_S} s during it; KiB per"
    echo "concurrent stream = (peak - idle) / $CONNS. VmHWM: the sum of each process's own peak over its"
    echo "whole life, read after the run (it includes the end of the run, when wrk cuts $CONNS streams off)."
    echo
    report_noise_and_errors "No run had errors (non-2xx responses or socket errors, timeouts included)."
    echo
    echo "Raw wrk output: bench/out/$LANE_NAME/raw/; process logs: bench/out/$LANE_NAME/logs/."
} >"$REPORT"

print_report_or_die
