#!/usr/bin/env bash
# Storm and large-body lanes (issue 12). See bench/README.md ("Storm and large-body lanes"). Usage:
#   bench/storm.sh                                     # both lanes, 10 s per run, c64
#   DURATION=3s WARMUP=1s QUIET_WAIT=0 bench/storm.sh   # a quick check
#   STORM_LANES=body bench/storm.sh                    # one lane only (storm | body)
#
# storm: the upstream answers 429 to every request (the emulator's `limited-` tokens), and the
#   gateway has retries and a fallback: provider `primary` (3 tokens, retryOnFailure maxRetries 2 on
#   429), route fallback on 429 to provider `backup` (2 tokens, maxRetries 1): 5 upstream attempts
#   per request before the client gets the last 429. nginx does the same number of attempts:
#   `proxy_next_upstream error timeout http_429 non_idempotent`, `proxy_next_upstream_tries`
#   = the gateway's attempts (measured with the emulator's request log in the smoke test), the
#   emulator listed that many times in the upstream block (max_fails=0), Authorization set to a
#   `limited-` token. Every response is a 429: a run fails when any is not (socket errors, or
#   fewer non-2xx than requests).
# body: non-streamed chat whose request body is about BODY_BYTES (1 MiB) (bench/post-large.lua);
#   nginx buffers it in memory (client_body_buffer_size 2m, client_max_body_size 64m), as the
#   gateway must to read it.
# Both report per proxy: req/s, p50/p99, proxy CPU µs per request, RSS idle (before the warm-up),
# before the measured run (after the warm-up) and at its peak (VmRSS summed over the proxy's processes, sampled every 0.2 s
# during the run) and VmHWM (each process's own peak).
# Each lane has its own gateway and nginx, so each peak belongs to one lane.
#
# Ports, all on 127.0.0.1: MOCK_PORT 19031 (emulator), NGINX_STORM_PORT 19032,
# GATEWAY_STORM_PORT 19033, NGINX_BODY_PORT 19034, GATEWAY_BODY_PORT 19035.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LANE_NAME=storm
# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"

DURATION="${DURATION:-10s}"
WARMUP="${WARMUP:-2s}"
CONCURRENCY="${CONCURRENCY:-64}"            # storm lane
BODY_CONCURRENCY="${BODY_CONCURRENCY:-$CONCURRENCY}"
BODY_BYTES="${BODY_BYTES:-1048576}"
WRK_THREADS="${WRK_THREADS:-2}"
NGINX_WORKERS="${NGINX_WORKERS:-$(nproc)}"
read -r -a LANES <<<"${STORM_LANES:-storm body}"
MOCK_PORT="${MOCK_PORT:-19031}"
NGINX_STORM_PORT="${NGINX_STORM_PORT:-19032}"
GATEWAY_STORM_PORT="${GATEWAY_STORM_PORT:-19033}"
NGINX_BODY_PORT="${NGINX_BODY_PORT:-19034}"
GATEWAY_BODY_PORT="${GATEWAY_BODY_PORT:-19035}"

DURATION_S="$(to_seconds "$DURATION")"
WARMUP_S="$(to_seconds "$WARMUP")"
((DURATION_S > 0)) || die "DURATION must be > 0"
for v in CONCURRENCY BODY_CONCURRENCY BODY_BYTES WRK_THREADS NGINX_WORKERS; do
    [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive whole number"
done
((BODY_BYTES <= 16 * 1024 * 1024)) || die "BODY_BYTES must be at most 16 MiB (the nginx and gateway limits are set for that)"
[[ "$QUIET_WAIT" =~ ^[0-9]+$ ]] || die "QUIET_WAIT must be a whole number"
check_telemetry
for l in "${LANES[@]}"; do [[ "$l" == storm || "$l" == body ]] || die "bad lane '$l' in STORM_LANES (storm | body)"; done
PORT_VARS=(MOCK_PORT NGINX_STORM_PORT GATEWAY_STORM_PORT NGINX_BODY_PORT GATEWAY_BODY_PORT)
for v in "${PORT_VARS[@]}"; do check_port_var "${!v}" "$v"; done
[ "$(for v in "${PORT_VARS[@]}"; do echo "${!v}"; done | sort -u | wc -l)" = 5 ] || die "the five *_PORT variables must differ"

ensure_tools
ensure_nginx
build_gateway
make_tmp
install_traps
ports_free "$MOCK_PORT" "$NGINX_STORM_PORT" "$GATEWAY_STORM_PORT" "$NGINX_BODY_PORT" "$GATEWAY_BODY_PORT"
RAW="$OUT_DIR/$LANE_NAME/raw"
mkdir -p "$RAW"
rm -f "$RAW"/*
CMDLINE="STORM_LANES=\"${LANES[*]}\" DURATION=$DURATION WARMUP=$WARMUP CONCURRENCY=$CONCURRENCY BODY_CONCURRENCY=$BODY_CONCURRENCY BODY_BYTES=$BODY_BYTES TELEMETRY=$TELEMETRY bench/storm.sh"
URL_PATH=/v1/chat/completions
has_lane() { [[ " ${LANES[*]} " == *" $1 "* ]]; }

start_emulator "$MOCK_PORT"
MOCK_URL="http://$HOST:$MOCK_PORT"

# upstream_attempts NAME URL -> upstream requests the emulator saw for one client request (429 expected)
upstream_attempts() {
    curl -sS --max-time 5 -X DELETE -o /dev/null "$MOCK_URL/_mock/requests" || die "cannot clear the emulator's request log"
    smoke "$1" "$2" false 429
    curl -sS --max-time 5 "$MOCK_URL/_mock/requests" -o "$TMP/recorded.json" || die "cannot read the emulator's request log"
    grep -o '"path":' "$TMP/recorded.json" | wc -l
}

provider_yaml() { # id tokens(json list) [retries]
    cat <<EOF
  - id: $1
    type: openai
    baseUrl: "$MOCK_URL"
    apiTokens: $2
EOF
    [ -z "${3:-}" ] || echo "    retryOnFailure: { enabled: true, maxRetries: $3, retryOnStatus: [\"429\"] }"
}

# --- storm: servers and smoke test -------------------------------------------------------------
if has_lane storm; then
    {
        echo "server: { listen: \"$HOST:$GATEWAY_STORM_PORT\" }"
        telemetry_yaml gateway-storm
        echo "providers:"
        provider_yaml primary '["limited-p1", "limited-p2", "limited-p3"]' 2
        provider_yaml backup '["limited-b1", "limited-b2"]' 1
        cat <<EOF
routes:
  - name: all
    provider: primary
    fallback: { onStatus: ["429"], targets: [{ provider: backup }] }
EOF
    } >"$TMP/gateway-storm.yaml"
    start_gateway gateway-storm "$TMP/gateway-storm.yaml" "$GATEWAY_STORM_PORT"
    GW_STORM_PID="$GW_STARTED_PID"
    GW_ATTEMPTS="$(upstream_attempts gateway-storm "http://$HOST:$GATEWAY_STORM_PORT$URL_PATH")"
    ((GW_ATTEMPTS >= 2)) || die "storm smoke test: the gateway made $GW_ATTEMPTS upstream attempt(s) for one request; retries and fallback are not working"
    render_nginx "$TMP/nginx-storm.conf" "$NGINX_STORM_PORT" "$MOCK_PORT" "$NGINX_WORKERS" 4096 \
        $'proxy_next_upstream error timeout http_429 non_idempotent;\nproxy_next_upstream_tries '"$GW_ATTEMPTS"$';\nproxy_set_header Authorization "Bearer limited-nginx";' \
        "$GW_ATTEMPTS"
    start_nginx nginx-storm "$TMP/nginx-storm.conf" "$NGINX_STORM_PORT"
    NGINX_STORM_PID="$NGINX_STARTED_PID"
    NGINX_STORM_ALL="${NGINX_STARTED_PIDS[*]}"
    NGINX_ATTEMPTS="$(upstream_attempts nginx-storm "http://$HOST:$NGINX_STORM_PORT$URL_PATH")"
    ((NGINX_ATTEMPTS == GW_ATTEMPTS)) ||
        log "WARNING: nginx made $NGINX_ATTEMPTS upstream attempts per request, the gateway $GW_ATTEMPTS"
    log "storm smoke test passed: both answer 429; upstream attempts per request: gateway $GW_ATTEMPTS, nginx $NGINX_ATTEMPTS"
fi

# --- body: servers and smoke test ----------------------------------------------------------------
if has_lane body; then
    {
        echo "server: { listen: \"$HOST:$GATEWAY_BODY_PORT\", maxBodyBytes: $((32 * 1024 * 1024)) }"
        telemetry_yaml gateway-body
        echo "providers:"
        provider_yaml mock "[\"$TOKEN\"]"
        printf '%s\n' "routes:" "  - name: all" "    provider: mock"
    } >"$TMP/gateway-body.yaml"
    start_gateway gateway-body "$TMP/gateway-body.yaml" "$GATEWAY_BODY_PORT"
    GW_BODY_PID="$GW_STARTED_PID"
    render_nginx "$TMP/nginx-body.conf" "$NGINX_BODY_PORT" "$MOCK_PORT" "$NGINX_WORKERS" 4096 "" 1 \
        $'client_max_body_size 64m;\nclient_body_buffer_size 2m;'
    start_nginx nginx-body "$TMP/nginx-body.conf" "$NGINX_BODY_PORT"
    NGINX_BODY_PID="$NGINX_STARTED_PID"
    NGINX_BODY_ALL="${NGINX_STARTED_PIDS[*]}"
    # The same body as bench/post-large.lua builds.
    awk -v n="$BODY_BYTES" 'BEGIN { w = "lorem ipsum "; printf "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\""; for (i = 0; i < int(n / length(w)); i++) printf "%s", w; printf "\"}]}" }' >"$TMP/large.json"
    BODY_SIZE="$(wc -c <"$TMP/large.json")"
    for p in nginx gateway; do
        port="$NGINX_BODY_PORT"
        [ "$p" = gateway ] && port="$GATEWAY_BODY_PORT"
        code="$(curl -sS --max-time 10 -o "$TMP/smoke.out" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
            -H 'Content-Type: application/json' --data-binary "@$TMP/large.json" "http://$HOST:$port$URL_PATH" || true)"
        [ "$code" = 200 ] || die "body smoke test $p: HTTP '$code' for a $BODY_SIZE-byte body: $(head -c 400 "$TMP/smoke.out" 2>/dev/null)"
    done
    log "body smoke test passed: a $BODY_SIZE-byte request gets 200 through nginx and the gateway"
fi

# --- runs --------------------------------------------------------------------------------
declare -A RPS P50 P99 REQS NON2XX SOCK PCT US OTHER IDLE BEFORE PEAK HWM
ORDER=()
ERRORS=()
NOISY=()
PRE_BUSY="$(busy_1s)"
((PRE_BUSY <= 25)) || log "WARNING: the machine is busy (${PRE_BUSY}% of a core in use); runs will wait for it to calm down"
MEASURE_RSS=1
for lane in "${LANES[@]}"; do
    if [ "$lane" = storm ]; then
        script="$BENCH_DIR/post.lua"
        conc="$CONCURRENCY"
    else
        script="$BENCH_DIR/post-large.lua"
        conc="$BODY_CONCURRENCY"
    fi
    threads="$WRK_THREADS"
    ((threads <= conc)) || threads="$conc"
    for p in nginx gateway; do
        key="$lane|$p"
        ORDER+=("$key")
        case "$key" in
            storm\|nginx) port="$NGINX_STORM_PORT" proxy_pids="$NGINX_STORM_ALL" main="$NGINX_STORM_PID" ;;
            storm\|gateway) port="$GATEWAY_STORM_PORT" proxy_pids="$GW_STORM_PID" main="$GW_STORM_PID" ;;
            body\|nginx) port="$NGINX_BODY_PORT" proxy_pids="$NGINX_BODY_ALL" main="$NGINX_BODY_PID" ;;
            body\|gateway) port="$GATEWAY_BODY_PORT" proxy_pids="$GW_BODY_PID" main="$GW_BODY_PID" ;;
        esac
        url="http://$HOST:$port$URL_PATH"
        base="$RAW/$lane-$p"
        wait_quiet
        read -r -a pid_list <<<"$proxy_pids"
        idle_kib="$(rss_sum_kib "${pid_list[@]}")" # before the warm-up: only the smoke test served
        if ((WARMUP_S > 0)); then
            log "$lane $p c$conc: warm-up ${WARMUP_S}s"
            BENCH_BODY_BYTES="$BODY_BYTES" run_wrk "$base.warmup.txt" "$url" "$script" "$threads" "$conc" "$WARMUP_S"
        fi
        log "$lane $p c$conc: ${DURATION_S}s"
        BENCH_BODY_BYTES="$BODY_BYTES" measure_wrk "$base.txt" "$url" "$script" "$threads" "$conc" "$DURATION_S" "$proxy_pids"
        alive_or_die "$MOCK_PID" emulator "$key"
        alive_or_die "$main" "$p" "$key"
        record_wrk "$key"
        NON2XX[$key]="$M_NON2XX"
        SOCK[$key]="$M_SOCK"
        IDLE[$key]="$idle_kib"
        BEFORE[$key]="$M_RSS_IDLE"
        PEAK[$key]="$M_RSS_PEAK"
        HWM[$key]="$M_HWM"
        if [ "$lane" = storm ]; then
            # Every answer must be the upstream's 429: as many non-2xx as requests (wrk counts the
            # requests cut off at the end as neither), and no socket error.
            ((M_SOCK == 0 && M_NON2XX >= M_REQ)) ||
                ERRORS+=("$key: $M_NON2XX non-2xx of $M_REQ requests, $M_SOCK socket errors (all should be 429; see $base.txt)")
        else
            ((M_NON2XX + M_SOCK == 0)) || ERRORS+=("$key: $M_NON2XX non-2xx, $M_SOCK socket errors (see $base.txt)")
        fi
        log "  $M_RPS req/s, p50 $M_P50 us, p99 $M_P99 us, $M_US µs CPU/request; RSS idle $(mib "$idle_kib") MiB, before the run $(mib "$M_RSS_IDLE") MiB, peak $(mib "$M_RSS_PEAK") MiB; other ${M_OTHER}%"
    done
done

# --- report ------------------------------------------------------------------------------
REPORT="$OUT_DIR/$LANE_NAME/report.md"
{
    echo "# Switchyard storm and large-body lanes"
    echo
    echo "\`$CMDLINE\`"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "- machine: $(nproc) cores, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo); $(wrk -v 2>&1 | head -n 1 | awk '{ print $1, $2 }'); nginx $("$NGINX_BIN" -v 2>&1 | sed 's/.*nginx\///') ($NGINX_WORKERS workers); no pinning"
    echo "- $DURATION per run after a $WARMUP warm-up, $WRK_THREADS wrk threads; gateway telemetry $TELEMETRY"
    if has_lane storm; then
        echo "- storm: every upstream answer is 429 (\`limited-\` tokens); gateway: primary (3 tokens, maxRetries 2 on 429) then fallback on 429 to backup (2 tokens, maxRetries 1); nginx: proxy_next_upstream http_429 non_idempotent, proxy_next_upstream_tries $GW_ATTEMPTS; upstream attempts per client request (emulator log): gateway $GW_ATTEMPTS, nginx $NGINX_ATTEMPTS; c$CONCURRENCY, bench/post.lua"
    fi
    if has_lane body; then
        echo "- body: $BODY_SIZE-byte chat requests (bench/post-large.lua, BODY_BYTES=$BODY_BYTES), c$BODY_CONCURRENCY; nginx buffers the body in memory (client_body_buffer_size 2m)"
    fi
    echo "- machine load just before (servers idle): ${PRE_BUSY}% of a core"
    echo
    echo "| lane | proxy | req/s | p50 µs | p99 µs | requests | non-2xx | socket errors | proxy CPU % | CPU µs/request | RSS idle MiB | RSS before run MiB | RSS peak MiB | VmHWM MiB | other % |"
    echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    for k in "${ORDER[@]}"; do
        IFS='|' read -r lane p <<<"$k"
        echo "| $lane | $p | $(fmt "${RPS[$k]}") | $(fmt "${P50[$k]}") | $(fmt "${P99[$k]}") | ${REQS[$k]} | ${NON2XX[$k]} | ${SOCK[$k]} | ${PCT[$k]} | ${US[$k]} | $(mib "${IDLE[$k]}") | $(mib "${BEFORE[$k]}") | $(mib "${PEAK[$k]}") | $(mib "${HWM[$k]}") | ${OTHER[$k]} |"
    done
    echo
    echo "Gateway / nginx:"
    echo
    echo "| lane | req/s | CPU µs/request | p99 | RSS peak |"
    echo "| --- | ---: | ---: | ---: | ---: |"
    for lane in "${LANES[@]}"; do
        g="$lane|gateway"
        x="$lane|nginx"
        echo "| $lane | $(ratio_pct "${RPS[$g]}" "${RPS[$x]}") % | $(ratio_pct "${US[$g]}" "${US[$x]}") % | $(ratio_pct "${P99[$g]}" "${P99[$x]}") % | $(ratio_pct "${PEAK[$g]}" "${PEAK[$x]}") % |"
    done
    echo
    echo "CPU µs/request: the proxy's utime+stime (nginx: master and workers) over the measured run divided by"
    echo "the requests wrk completed. RSS: VmRSS summed over the proxy's processes: idle (before the warm-up,"
    echo "after the smoke test), just before the measured run (after the warm-up), and the highest value sampled"
    echo "every ${RSS_SAMPLE_S} s during the run; VmHWM: the sum of each process's own peak over its life (smoke"
    echo "test and warm-up included; each lane has its own processes). other %: CPU of processes that are none of wrk,"
    echo "the emulator and the proxy (above $OTHER_MAX_PCT %: disturbed)."
    echo
    report_noise_and_errors "No run had errors (storm: every answer a 429 and no socket errors; body: no non-2xx, no socket errors)."
    echo
    echo "Raw wrk output: bench/out/$LANE_NAME/raw/; process logs: bench/out/$LANE_NAME/logs/."
} >"$REPORT"

print_report_or_die
