#!/usr/bin/env bash
# Telemetry lane: what metrics + the access log cost the gateway, OFF versus ON, at c64.
# See bench/README.md ("Telemetry lane"). Usage: bench/telemetry.sh   or   DURATION=30s PAIRS=3 bench/telemetry.sh
#
# Two gateways run side by side against one emulator, the same routes and provider:
#   off: metrics: { enabled: false }, log: { access: "off" }
#   on:  metrics on (default), access log to a file in the bench temp dir (a real disk write),
#        /metrics scraped once a second from the admin listener during each measured run.
# Runs alternate off, on, off, on, ... (PAIRS pairs per mode), each DURATION long.
# Then a saturation phase (SATURATION=0 skips it): non-streamed at c$SAT_CONCURRENCY (256) for
# SAT_DURATION, off then on; it reports switchyard_telemetry_dropped_total, the drain time and
# both gateways' peak RSS (VmHWM).
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LANE_NAME=telemetry
# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"

DURATION="${DURATION:-10s}"               # each measured run
WARMUP="${WARMUP:-2s}"                    # warm-up of each gateway before each mode (0 to skip)
PAIRS="${PAIRS:-2}"                       # off/on pairs per mode
CONCURRENCY="${CONCURRENCY:-64}"
MODES=(${TELEMETRY_MODES:-non-stream stream})
MOCK_PORT="${MOCK_PORT:-19001}"
GATEWAY_PORT="${GATEWAY_PORT:-19003}"     # gateway, telemetry off
GATEWAY_ON_PORT="${GATEWAY_ON_PORT:-19005}" # gateway, telemetry on
ADMIN_PORT="${ADMIN_PORT:-19006}"         # admin listener (/metrics) of the "on" gateway
TARGET_PCT=90                             # on/off req/s; informational
SATURATION="${SATURATION:-1}"             # 1: the saturation phase after the pairs
SAT_CONCURRENCY="${SAT_CONCURRENCY:-256}"
SAT_DURATION="${SAT_DURATION:-$DURATION}"

DURATION_S="$(to_seconds "$DURATION")"
WARMUP_S="$(to_seconds "$WARMUP")"
((DURATION_S > 0)) || die "DURATION must be > 0"
[[ "$PAIRS" =~ ^[0-9]+$ ]] && ((PAIRS >= 1)) || die "PAIRS must be >= 1"
[[ "$CONCURRENCY" =~ ^[0-9]+$ ]] && ((CONCURRENCY >= 1)) || die "bad CONCURRENCY"
[[ "$SATURATION" == 0 || "$SATURATION" == 1 ]] || die "SATURATION must be 0 or 1"
[[ "$SAT_CONCURRENCY" =~ ^[0-9]+$ ]] && ((SAT_CONCURRENCY >= 2)) || die "bad SAT_CONCURRENCY"
SAT_DURATION_S="$(to_seconds "$SAT_DURATION")"
((SAT_DURATION_S > 0)) || die "SAT_DURATION must be > 0"
[[ "$QUIET_WAIT" =~ ^[0-9]+$ ]] || die "QUIET_WAIT must be a whole number"
for m in "${MODES[@]}"; do [[ "$m" == non-stream || "$m" == stream ]] || die "bad mode '$m' in TELEMETRY_MODES"; done
check_port_var "$MOCK_PORT" MOCK_PORT
check_port_var "$GATEWAY_PORT" GATEWAY_PORT
check_port_var "$GATEWAY_ON_PORT" GATEWAY_ON_PORT
check_port_var "$ADMIN_PORT" ADMIN_PORT
[ "$(printf '%s\n' "$MOCK_PORT" "$GATEWAY_PORT" "$GATEWAY_ON_PORT" "$ADMIN_PORT" | sort -u | wc -l)" = 4 ] ||
    die "MOCK_PORT, GATEWAY_PORT, GATEWAY_ON_PORT and ADMIN_PORT must differ"
THREADS=1
((CONCURRENCY > 1)) && THREADS=2

ensure_tools
build_gateway
make_tmp
install_traps
ports_free "$MOCK_PORT" "$GATEWAY_PORT" "$GATEWAY_ON_PORT" "$ADMIN_PORT"
RAW="$OUT_DIR/$LANE_NAME/raw"
mkdir -p "$RAW"
rm -f "$RAW"/*

start_emulator "$MOCK_PORT"

ACCESS_LOG="$TMP/access.jsonl" # deliberately not *.log: it is not copied to bench/out at exit
PROVIDER_AND_ROUTE="providers:
  - id: mock
    type: openai
    baseUrl: \"http://$HOST:$MOCK_PORT\"
    apiTokens: [\"$TOKEN\"]
routes:
  - name: all
    provider: mock"
cat >"$TMP/gateway-off.yaml" <<EOF
server: { listen: "$HOST:$GATEWAY_PORT" }
metrics: { enabled: false }
log: { access: "off" }
$PROVIDER_AND_ROUTE
EOF
cat >"$TMP/gateway-on.yaml" <<EOF
server: { listen: "$HOST:$GATEWAY_ON_PORT" }
admin: { listen: "$HOST:$ADMIN_PORT" }
metrics: { enabled: true }
log: { access: "$ACCESS_LOG" }
$PROVIDER_AND_ROUTE
EOF
start_gateway gateway-off "$TMP/gateway-off.yaml" "$GATEWAY_PORT"
GW_OFF_PID="$GW_STARTED_PID"
start_gateway gateway-on "$TMP/gateway-on.yaml" "$GATEWAY_ON_PORT"
GW_ON_PID="$GW_STARTED_PID"
wait_port "$ADMIN_PORT" "$GW_ON_PID" "gateway-on admin" "$TMP/gateway-on.log"
METRICS_URL="http://$HOST:$ADMIN_PORT/metrics"

gw_pid() { if [ "$1" = on ]; then echo "$GW_ON_PID"; else echo "$GW_OFF_PID"; fi; }
gw_url() {
    if [ "$1" = on ]; then echo "http://$HOST:$GATEWAY_ON_PORT/v1/chat/completions"; else echo "http://$HOST:$GATEWAY_PORT/v1/chat/completions"; fi
}
mode_script() { if [ "$1" = stream ]; then echo "$BENCH_DIR/post-stream.lua"; else echo "$BENCH_DIR/post.lua"; fi; }
check_alive() {
    alive_or_die "$MOCK_PID" emulator "$1"
    alive_or_die "$GW_OFF_PID" gateway-off "$1"
    alive_or_die "$GW_ON_PID" gateway-on "$1"
}

# --- smoke test ------------------------------------------------------------------------------
ON_REQS=0 # requests sent to the "on" gateway that wrk or curl saw complete
for t in off on; do
    for mode in "${MODES[@]}"; do
        stream=false
        [ "$mode" = stream ] && stream=true
        code="$(curl -sS --max-time 5 -o "$TMP/smoke.out" -w '%{http_code}' \
            -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
            -d "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream\":$stream}" \
            "$(gw_url "$t")" || true)"
        [ "$code" = 200 ] || die "smoke test telemetry-$t/$mode: HTTP '$code': $(head -c 400 "$TMP/smoke.out" 2>/dev/null)"
        if [ "$mode" = stream ]; then
            grep -q '^data: \[DONE\]' "$TMP/smoke.out" || die "smoke test telemetry-$t/$mode: stream has no 'data: [DONE]'"
        fi
        [ "$t" = on ] && ON_REQS=$((ON_REQS + 1))
    done
done
code="$(scrape "$METRICS_URL" "$RAW/metrics-smoke.txt")"
[ "$code" = 200 ] || die "smoke test: GET $METRICS_URL answered HTTP '$code'"
grep -q '^switchyard_requests_total' "$RAW/metrics-smoke.txt" || die "smoke test: /metrics has no switchyard_requests_total"
[ "$(wc -l <"$ACCESS_LOG")" -ge "$ON_REQS" ] ||
    die "smoke test: the access log $ACCESS_LOG has $(wc -l <"$ACCESS_LOG") lines after $ON_REQS requests"
[ ! -s "$TMP/gateway-off.log" ] || ! grep -q '"request_id"' "$TMP/gateway-off.log" ||
    die "smoke test: the 'off' gateway writes an access log to stdout"
log "smoke test passed (both gateways answer, /metrics and the access log work)"

PRE_BUSY="$(busy_1s)"
((PRE_BUSY <= 25)) || log "WARNING: the machine is busy (${PRE_BUSY}% of a core in use); runs will wait for it to calm down"

# --- runs --------------------------------------------------------------------------------
declare -A RPS P50 P99 REQS ERRS CPU_GW CPU_OTHER US_PER_REQ SCRAPES DRAIN_MS DROPPED
ORDER=() # keys "mode|pair|t" in run order
ERRORS=()
NOISY=()
WARMUP_REQS_ON=0
declare -A LOG_LINES_AFTER_MODE RSS_AFTER_MODE
dropped_now() { # dropped counter of the "on" gateway (this scrape also flushes the worker)
    scrape "$METRICS_URL" "$TMP/m.txt" >/dev/null
    read -r _ _ _ _ _ d <<<"$(metrics_summary "$TMP/m.txt")"
    echo "${d:-0}"
}

total_runs=$((${#MODES[@]} * PAIRS * 2))
n=0
for mode in "${MODES[@]}"; do
    script="$(mode_script "$mode")"
    if ((WARMUP_S > 0)); then
        for t in off on; do
            wait_quiet
            log "$mode c$CONCURRENCY telemetry $t: warm-up ${WARMUP_S}s"
            run_wrk "$RAW/$mode-warmup-$t.txt" "$(gw_url "$t")" "$script" "$THREADS" "$CONCURRENCY" "$WARMUP_S"
            read -r _ _ _ wreq wnon wsock <<<"$(parse_wrk "$RAW/$mode-warmup-$t.txt")"
            [ -n "${wsock:-}" ] || die "could not parse $RAW/$mode-warmup-$t.txt"
            ((wnon + wsock == 0)) || ERRORS+=("warm-up $mode telemetry $t: $wnon non-2xx, $wsock socket errors")
            if [ "$t" = on ]; then
                WARMUP_REQS_ON=$((WARMUP_REQS_ON + wreq))
                ON_REQS=$((ON_REQS + wreq))
            fi
        done
        dropped_now >/dev/null # let the worker catch up with the warm-up before measuring
    fi
    for ((pair = 1; pair <= PAIRS; pair++)); do
        for t in off on; do
            n=$((n + 1))
            key="$mode|$pair|$t"
            ORDER+=("$key")
            base="$RAW/$mode-pair$pair-$t"
            pid="$(gw_pid "$t")"
            wait_quiet
            log "[$n/$total_runs] $mode c$CONCURRENCY telemetry $t (pair $pair): ${DURATION_S}s"
            d0=0
            [ "$t" = on ] && d0="$(dropped_now)"
            if [ "$t" = on ]; then
                : >"$base.scrapes"
                start_scraper "$METRICS_URL" "$base.scrapes"
            fi
            read -r _ _ _ busy0 <<<"$(stat_snap)"
            emu0="$(cpu_ticks "$MOCK_PID")"
            gw0="$(cpu_ticks "$pid")"
            run_wrk "$base.txt" "$(gw_url "$t")" "$script" "$THREADS" "$CONCURRENCY" "$DURATION_S"
            emu1="$(cpu_ticks "$MOCK_PID")"
            read -r _ _ _ busy1 <<<"$(stat_snap)"
            gw1="$(cpu_ticks "$pid")"
            if [ "$t" = on ]; then
                stop_scraper
                # The worker may still be writing records of this run: wait for it (a scrape
                # flushes it, up to 2 s) and charge that CPU to the run as well.
                ds0="$(date +%s%N)"
                d1="$(dropped_now)"
                DRAIN_MS[$key]=$((($(date +%s%N) - ds0) / 1000000))
                gw1="$(cpu_ticks "$pid")"
                DROPPED[$key]=$((d1 - d0))
                ok="$(awk '$1 == 200 { n++ } END { print n + 0 }' "$base.scrapes")"
                all="$(wc -l <"$base.scrapes")"
                SCRAPES[$key]="$ok/$all"
            else
                DRAIN_MS[$key]="-"
                DROPPED[$key]="-"
                SCRAPES[$key]="-"
            fi
            check_alive "$mode telemetry $t pair $pair"
            parsed="$(parse_wrk "$base.txt")"
            [ "$parsed" != PARSE_ERROR ] || die "could not parse wrk output $base.txt:\n$(cat "$base.txt")"
            read -r rps p50 p99 req non2xx sockerr <<<"$parsed"
            read -r wrk_u wrk_s wall <<<"$(cat "$base.txt.time")"
            ((non2xx + sockerr == 0)) || ERRORS+=("$mode telemetry $t pair $pair: $non2xx non-2xx, $sockerr socket errors (see $base.txt)")
            [ "$t" = on ] && ON_REQS=$((ON_REQS + req))
            RPS[$key]="$rps"
            P50[$key]="$p50"
            P99[$key]="$p99"
            REQS[$key]="$req"
            ERRS[$key]=$((non2xx + sockerr))
            CPU_GW[$key]="$(pct_of_core $((gw1 - gw0)) "$wall")"
            US_PER_REQ[$key]="$(awk -v d=$((gw1 - gw0)) -v t="$CLK_TCK" -v r="$req" 'BEGIN { printf "%.1f", (r > 0) ? d / t / r * 1000000 : 0 }')"
            wrk_pct="$(awk -v u="$wrk_u" -v s="$wrk_s" -v w="$wall" 'BEGIN { printf "%.0f", (u + s) / w * 100 }')"
            # Busy CPU that is none of wrk, the emulator and the gateway under test. The curl
            # scrapes of the "on" runs land here (a few ms a second).
            CPU_OTHER[$key]="$(awk -v b="$(pct_of_core $((busy1 - busy0)) "$wall")" -v w="$wrk_pct" \
                -v e="$(pct_of_core $((emu1 - emu0)) "$wall")" -v p="$(pct_of_core $((gw1 - gw0)) "$wall")" \
                'BEGIN { o = b - w - e - p; printf "%.0f", o < 0 ? 0 : o }')"
            ((${CPU_OTHER[$key]} <= OTHER_MAX_PCT)) ||
                NOISY+=("$mode telemetry $t pair $pair: ${CPU_OTHER[$key]}% of a core used by other processes")
            log "  $rps req/s, p50 ${p50} us, p99 ${p99} us, $req requests, gateway ${US_PER_REQ[$key]} µs CPU/request; other: ${CPU_OTHER[$key]}%"
        done
    done
    LOG_LINES_AFTER_MODE[$mode]="$(wc -l <"$ACCESS_LOG")"
    RSS_AFTER_MODE[$mode]="on $(mib "$(vm_kib "$GW_ON_PID" VmRSS)") MiB (peak $(mib "$(vm_kib "$GW_ON_PID" VmHWM)")), off $(mib "$(vm_kib "$GW_OFF_PID" VmRSS)") MiB (peak $(mib "$(vm_kib "$GW_OFF_PID" VmHWM)"))"
done

# --- saturation -----------------------------------------------------------------------------
# Non-streamed at SAT_CONCURRENCY, off then on: does the "on" gateway drop records when it
# cannot keep up, and how much memory do the waiting records take (peak RSS)?
declare -A SAT
if [ "$SATURATION" = 1 ]; then
    for t in off on; do
        pid="$(gw_pid "$t")"
        base="$RAW/saturation-$t"
        wait_quiet
        log "saturation: non-stream c$SAT_CONCURRENCY telemetry $t: ${SAT_DURATION_S}s"
        [ "$t" = on ] && d0="$(dropped_now)"
        gw0="$(cpu_ticks "$pid")"
        run_wrk "$base.txt" "$(gw_url "$t")" "$BENCH_DIR/post.lua" 2 "$SAT_CONCURRENCY" "$SAT_DURATION_S"
        if [ "$t" = on ]; then
            ds0="$(date +%s%N)"
            d1="$(dropped_now)"
            SAT[drain_ms]=$((($(date +%s%N) - ds0) / 1000000))
            SAT[dropped]=$((d1 - d0))
        fi
        gw1="$(cpu_ticks "$pid")"
        check_alive "saturation telemetry $t"
        parsed="$(parse_wrk "$base.txt")"
        [ "$parsed" != PARSE_ERROR ] || die "could not parse wrk output $base.txt:\n$(cat "$base.txt")"
        read -r rps p50 p99 req non2xx sockerr <<<"$parsed"
        read -r _ _ wall <<<"$(cat "$base.txt.time")"
        ((non2xx + sockerr == 0)) || ERRORS+=("saturation telemetry $t: $non2xx non-2xx, $sockerr socket errors (see $base.txt)")
        [ "$t" = on ] && ON_REQS=$((ON_REQS + req))
        SAT[$t.rps]="$rps"
        SAT[$t.p99]="$p99"
        SAT[$t.req]="$req"
        SAT[$t.cpu]="$(pct_of_core $((gw1 - gw0)) "$wall")"
        SAT[$t.rss]="$(mib "$(vm_kib "$pid" VmRSS)")"
        SAT[$t.hwm]="$(mib "$(vm_kib "$pid" VmHWM)")"
        log "  $rps req/s, p99 ${p99} us, $req requests; VmRSS ${SAT[$t.rss]} MiB, peak ${SAT[$t.hwm]} MiB"
    done
    SAT[threads]="$(ls "/proc/$GW_ON_PID/task" | while read -r tid; do cat "/proc/$GW_ON_PID/task/$tid/comm"; done | grep -c '^telemetry-' || true)"
    log "  records dropped during the \"on\" run: ${SAT[dropped]} (drain ${SAT[drain_ms]} ms)"
fi

# --- access log and final /metrics ---------------------------------------------------------
code="$(scrape "$METRICS_URL" "$RAW/metrics-final.txt")"
[ "$code" = 200 ] || die "final GET $METRICS_URL answered HTTP '$code'"
read -r m_bytes m_series m_models _ m_reqs m_dropped <<<"$(metrics_summary "$RAW/metrics-final.txt")"
LOG_BYTES="$(wc -c <"$ACCESS_LOG")"
LOG_LINES="$(wc -l <"$ACCESS_LOG")"
LOG_GONE="$(grep -c '"client_disconnected":true' "$ACCESS_LOG" || true)"
head -n 3 "$ACCESS_LOG" >"$RAW/access-sample.jsonl"

# --- report ------------------------------------------------------------------------------
mean_rps() { # mode t
    local k s=0 c=0
    for k in "${ORDER[@]}"; do
        [[ "$k" == "$1|"*"|$2" ]] || continue
        s="$(awk -v a="$s" -v b="${RPS[$k]}" 'BEGIN { print a + b }')"
        c=$((c + 1))
    done
    awk -v s="$s" -v c="$c" 'BEGIN { printf "%.0f", c ? s / c : 0 }'
}
mean_us() { # mode t
    local k s=0 c=0
    for k in "${ORDER[@]}"; do
        [[ "$k" == "$1|"*"|$2" ]] || continue
        s="$(awk -v a="$s" -v b="${US_PER_REQ[$k]}" 'BEGIN { print a + b }')"
        c=$((c + 1))
    done
    awk -v s="$s" -v c="$c" 'BEGIN { printf "%.1f", c ? s / c : 0 }'
}
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b > 0) ? a / b * 100 : 0 }'; }

REPORT="$OUT_DIR/$LANE_NAME/report.md"
{
    echo "# Switchyard telemetry cost: off vs on"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "- machine: $(nproc) cores, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo); $(wrk -v 2>&1 | head -n 1 | awk '{ print $1, $2 }')"
    echo "- $DURATION per run, c$CONCURRENCY, $THREADS wrk threads; warm-up $WARMUP per gateway and mode; $PAIRS off/on pairs per mode, in the order off, on, off, on, ..."
    echo "- off: \`metrics: { enabled: false }\`, \`log: { access: \"off\" }\`"
    echo "- on: metrics on, \`log: { access: <file in the bench temp dir> }\`, GET /metrics from the admin listener once a second during each run"
    echo "- machine load just before the runs (servers idle): ${PRE_BUSY}% of a core"
    echo
    echo "| mode | pair | telemetry | req/s | p50 µs | p99 µs | requests | errors | gateway CPU % | gateway CPU µs/req | other % | scrapes ok/all | drain ms | records dropped |"
    echo "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    for k in "${ORDER[@]}"; do
        IFS='|' read -r mode pair t <<<"$k"
        echo "| $mode | $pair | $t | $(fmt "${RPS[$k]}") | $(fmt "${P50[$k]}") | $(fmt "${P99[$k]}") | ${REQS[$k]} | ${ERRS[$k]} | ${CPU_GW[$k]} | ${US_PER_REQ[$k]} | ${CPU_OTHER[$k]} | ${SCRAPES[$k]} | ${DRAIN_MS[$k]} | ${DROPPED[$k]} |"
    done
    echo
    echo "gateway CPU µs/req: the gateway's CPU time from the start of the run until the telemetry worker"
    echo "has caught up (the \"drain\", a /metrics scrape right after wrk ends), divided by the requests wrk completed."
    echo
    echo "On/off, per mode (target: on >= $TARGET_PCT % of off, i.e. telemetry costs < 10 % of throughput):"
    echo
    echo "| mode | off req/s (mean) | on req/s (mean) | on/off | on/off per pair | off µs CPU/req | on µs CPU/req | verdict |"
    echo "| --- | ---: | ---: | ---: | --- | ---: | ---: | --- |"
    for mode in "${MODES[@]}"; do
        off="$(mean_rps "$mode" off)"
        on="$(mean_rps "$mode" on)"
        r="$(pct "$on" "$off")"
        per=()
        for ((pair = 1; pair <= PAIRS; pair++)); do
            per+=("$(pct "${RPS[$mode|$pair|on]}" "${RPS[$mode|$pair|off]}") %")
        done
        v="met"
        awk -v r="$r" -v t="$TARGET_PCT" 'BEGIN { exit !(r >= t) }' || v="**MISSED**"
        ((${#NOISY[@]} == 0)) || v="$v (disturbed: see the warning)"
        echo "| $mode | $off | $on | $r % | $(IFS=','; echo "${per[*]}" | sed 's/,/, /g') | $(mean_us "$mode" off) | $(mean_us "$mode" on) | $v |"
    done
    echo
    echo "Access log of the \"on\" gateway (a file in the bench temp dir, deleted at exit; 3 sample lines in bench/out/$LANE_NAME/raw/access-sample.jsonl):"
    echo
    echo "- size: $LOG_BYTES bytes ($(mib $((LOG_BYTES / 1024))) MiB), $LOG_LINES lines, $(awk -v b="$LOG_BYTES" -v l="$LOG_LINES" 'BEGIN { printf "%.0f", l ? b / l : 0 }') bytes a line"
    echo "- requests wrk and curl saw complete on the \"on\" gateway: $ON_REQS (measured runs + $WARMUP_REQS_ON in warm-ups + smoke tests)"
    echo "- lines minus completed requests: $((LOG_LINES - ON_REQS)); lines with \`client_disconnected: true\`: $LOG_GONE (requests wrk cut off when a run ended, up to $CONCURRENCY a run)"
    for mode in "${MODES[@]}"; do
        echo "- after the $mode runs: ${LOG_LINES_AFTER_MODE[$mode]} lines; gateway VmRSS ${RSS_AFTER_MODE[$mode]}"
    done
    echo "- /metrics at the end: switchyard_requests_total = $m_reqs, switchyard_telemetry_dropped_total = $m_dropped; exposition $m_bytes bytes, $m_series series, $m_models distinct model label values"
    echo
    if [ "$SATURATION" = 1 ]; then
        echo "Saturation: non-stream, c$SAT_CONCURRENCY, 2 wrk threads, $SAT_DURATION per run, off then on (after the pairs; peak RSS is over each gateway's whole life):"
        echo
        echo "| telemetry | req/s | p99 µs | requests | gateway CPU % | records dropped | drain ms | VmRSS MiB | peak RSS (VmHWM) MiB |"
        echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
        echo "| off | $(fmt "${SAT[off.rps]}") | $(fmt "${SAT[off.p99]}") | ${SAT[off.req]} | ${SAT[off.cpu]} | - | - | ${SAT[off.rss]} | ${SAT[off.hwm]} |"
        echo "| on | $(fmt "${SAT[on.rps]}") | $(fmt "${SAT[on.p99]}") | ${SAT[on.req]} | ${SAT[on.cpu]} | ${SAT[dropped]} | ${SAT[drain_ms]} | ${SAT[on.rss]} | ${SAT[on.hwm]} |"
        echo
        echo "Telemetry worker threads of the \"on\" gateway: ${SAT[threads]}."
        echo
    fi
    report_noise_and_errors
    echo
    echo "Raw wrk output and scrape logs: bench/out/$LANE_NAME/raw/; process logs: bench/out/$LANE_NAME/logs/."
} >"$REPORT"

echo
cat "$REPORT"
((${#ERRORS[@]} == 0)) || die "${#ERRORS[@]} run(s) had errors: see the ERRORS section above"
