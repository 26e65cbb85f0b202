#!/usr/bin/env bash
# Scale lane (issue 12): the gateway and nginx, each pinned to N cores, at c64, plain and streamed.
# See bench/README.md ("Scale lane"). Usage: bench/scale.sh [CORES...]   (default: 1)
#   bench/scale.sh 1 2 4     # on a machine with at least 5 CPUs
#   DURATION=3s WARMUP=1s QUIET_WAIT=0 bench/scale.sh     # a quick check
#
# CPU layout for N proxy cores, out of the T CPUs this script may use (its affinity mask):
#   proxy under test (nginx master + N workers, or the gateway): the last N CPUs;
#   the other T-N CPUs: the emulator on the first half (at least one), wrk on the rest. With
#   T-N = 1 (e.g. N=1 on a 2-core machine) the emulator and wrk SHARE that one CPU: proxy on CPU 1,
#   emulator + wrk on CPU 0. Then the load side may be what limits req/s: compare CPU µs/request.
# nginx runs with `worker_processes N`, the gateway with `server.workers: N` (GATEWAY_WORKERS=W
# overrides it, e.g. `GATEWAY_WORKERS=2 bench/scale.sh 1`: two runtime threads on one pinned core,
# to check that CPU per request does not grow with threads); the report counts its tokio threads.
#
# Ports, all on 127.0.0.1: MOCK_PORT 19011 (emulator), NGINX_PORT 19012, GATEWAY_PORT 19013.
# Each N restarts the three servers (the emulator's runtime is sized from its own mask too).
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LANE_NAME=scale
# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"

DURATION="${DURATION:-10s}"         # each measured run
WARMUP="${WARMUP:-2s}"              # warm-up before each measured run (0 to skip)
CONCURRENCY="${CONCURRENCY:-64}"
read -r -a MODES <<<"${SCALE_MODES:-non-stream stream}"
MOCK_PORT="${MOCK_PORT:-19011}"
NGINX_PORT="${NGINX_PORT:-19012}"
GATEWAY_PORT="${GATEWAY_PORT:-19013}"
WRK_THREADS="${WRK_THREADS:-}"      # default: one per wrk CPU
CORES=("$@")
((${#CORES[@]})) || CORES=(1)

DURATION_S="$(to_seconds "$DURATION")"
WARMUP_S="$(to_seconds "$WARMUP")"
((DURATION_S > 0)) || die "DURATION must be > 0"
[[ "$CONCURRENCY" =~ ^[1-9][0-9]*$ ]] || die "bad CONCURRENCY"
[[ "$QUIET_WAIT" =~ ^[0-9]+$ ]] || die "QUIET_WAIT must be a whole number"
check_telemetry
[ -z "$WRK_THREADS" ] || [[ "$WRK_THREADS" =~ ^[1-9][0-9]*$ ]] || die "bad WRK_THREADS"
for m in "${MODES[@]}"; do [[ "$m" == non-stream || "$m" == stream ]] || die "bad mode '$m' in SCALE_MODES"; done
check_port_var "$MOCK_PORT" MOCK_PORT
check_port_var "$NGINX_PORT" NGINX_PORT
check_port_var "$GATEWAY_PORT" GATEWAY_PORT
[ "$(printf '%s\n' "$MOCK_PORT" "$NGINX_PORT" "$GATEWAY_PORT" | sort -u | wc -l)" = 3 ] ||
    die "MOCK_PORT, NGINX_PORT and GATEWAY_PORT must differ"
mapfile -t ALL_CPUS < <(cpu_list)
T="${#ALL_CPUS[@]}"
((T >= 2)) || die "the scale lane needs at least 2 CPUs (this script may use $T)"
for n in "${CORES[@]}"; do
    [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "bad core count '$n'"
    ((n <= T - 1)) ||
        die "bad core count '$n': between 1 and $((T - 1)) on this machine (one CPU at least stays for the emulator and wrk)"
done
command -v taskset >/dev/null 2>&1 || die "taskset not found (Debian: util-linux)"

ensure_tools
ensure_nginx
build_gateway
make_tmp
install_traps
ports_free "$MOCK_PORT" "$NGINX_PORT" "$GATEWAY_PORT"
RAW="$OUT_DIR/$LANE_NAME/raw"
mkdir -p "$RAW"
rm -f "$RAW"/*
WORKERS_KEY="$(gateway_workers_key)"
CMDLINE="${GATEWAY_WORKERS:+GATEWAY_WORKERS=$GATEWAY_WORKERS }DURATION=$DURATION WARMUP=$WARMUP CONCURRENCY=$CONCURRENCY TELEMETRY=$TELEMETRY bench/scale.sh ${CORES[*]}"

mode_script() { if [ "$1" = stream ]; then echo "$BENCH_DIR/post-stream.lua"; else echo "$BENCH_DIR/post.lua"; fi; }
URL_PATH=/v1/chat/completions

declare -A RPS P50 P99 REQS ERRS PCT US OTHER LAYOUT THREADS_INFO
ERRORS=()
NOISY=()
PRE_BUSY="$(busy_1s)"
((PRE_BUSY <= 25)) || log "WARNING: the machine is busy (${PRE_BUSY}% of a core in use); runs will wait for it to calm down"

for n in "${CORES[@]}"; do
    # --- CPU sets ------------------------------------------------------------------------
    proxy_set=("${ALL_CPUS[@]:T-n:n}")
    rest=("${ALL_CPUS[@]:0:T-n}")
    if ((${#rest[@]} == 1)); then
        emu_set=("${rest[@]}")
        wrk_set=("${rest[@]}")
        shared=" (shared: only $T CPUs)"
    else
        half=$((${#rest[@]} / 2))
        emu_set=("${rest[@]:0:half}")
        wrk_set=("${rest[@]:half}")
        shared=""
    fi
    PROXY_CPUS="$(join_by , "${proxy_set[@]}")"
    EMU_CPUS="$(join_by , "${emu_set[@]}")"
    WRK_CPUS="$(join_by , "${wrk_set[@]}")"
    threads="${WRK_THREADS:-${#wrk_set[@]}}"
    ((threads <= CONCURRENCY)) || threads="$CONCURRENCY"
    WRK_PREFIX=(taskset -c "$WRK_CPUS")
    LAYOUT[$n]="proxy on CPU $PROXY_CPUS; emulator on CPU $EMU_CPUS; wrk ($threads threads) on CPU $WRK_CPUS$shared"
    log "== $n proxy core(s): ${LAYOUT[$n]}"

    # --- servers -------------------------------------------------------------------------
    start_emulator "$MOCK_PORT" "$EMU_CPUS"
    render_nginx "$TMP/nginx-$n.conf" "$NGINX_PORT" "$MOCK_PORT" "$n" 4096
    start_nginx "nginx-$n" "$TMP/nginx-$n.conf" "$NGINX_PORT" "$PROXY_CPUS"
    NGINX_PID="$NGINX_STARTED_PID"
    NGINX_ALL="${NGINX_STARTED_PIDS[*]}"
    server_extra=""
    [ -z "$WORKERS_KEY" ] || server_extra=", $WORKERS_KEY: ${GATEWAY_WORKERS:-$n}"
    {
        echo "server: { listen: \"$HOST:$GATEWAY_PORT\"$server_extra }"
        telemetry_yaml "gateway-$n"
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
    } >"$TMP/gateway-$n.yaml"
    start_gateway "gateway-$n" "$TMP/gateway-$n.yaml" "$GATEWAY_PORT" "$PROXY_CPUS"
    GW_PID="$GW_STARTED_PID"
    for mode in "${MODES[@]}"; do
        stream=false
        [ "$mode" = stream ] && stream=true
        smoke "nginx/$mode" "http://$HOST:$NGINX_PORT$URL_PATH" "$stream"
        smoke "gateway/$mode" "http://$HOST:$GATEWAY_PORT$URL_PATH" "$stream"
    done
    gw_threads="$(threads_named "$GW_PID" tokio-rt-worker)"
    workers_note=""
    [ -z "$WORKERS_KEY" ] || workers_note=", server.$WORKERS_KEY: ${GATEWAY_WORKERS:-$n}"
    THREADS_INFO[$n]="nginx: $((${#NGINX_STARTED_PIDS[@]} - 1)) worker processes; gateway: $gw_threads tokio worker threads (affinity $(taskset -cp "$GW_PID" | awk '{ print $NF }')$workers_note)"
    log "  ${THREADS_INFO[$n]}"

    # --- runs ----------------------------------------------------------------------------
    for mode in "${MODES[@]}"; do
        script="$(mode_script "$mode")"
        for proxy in nginx gateway; do
            if [ "$proxy" = nginx ]; then
                url="http://$HOST:$NGINX_PORT$URL_PATH"
                proxy_pids="$NGINX_ALL"
            else
                url="http://$HOST:$GATEWAY_PORT$URL_PATH"
                proxy_pids="$GW_PID"
            fi
            key="$n|$mode|$proxy"
            base="$RAW/n$n-$mode-$proxy"
            wait_quiet
            if ((WARMUP_S > 0)); then
                log "  $proxy $mode c$CONCURRENCY on $n core(s): warm-up ${WARMUP_S}s"
                run_wrk "$base.warmup.txt" "$url" "$script" "$threads" "$CONCURRENCY" "$WARMUP_S"
                read -r _ _ _ _ wnon wsock <<<"$(parse_wrk "$base.warmup.txt")"
                [ -n "${wsock:-}" ] || die "could not parse $base.warmup.txt"
                ((wnon + wsock == 0)) || ERRORS+=("warm-up $key: $wnon non-2xx, $wsock socket errors")
            fi
            log "  $proxy $mode c$CONCURRENCY on $n core(s): ${DURATION_S}s"
            measure_wrk "$base.txt" "$url" "$script" "$threads" "$CONCURRENCY" "$DURATION_S" "$proxy_pids"
            alive_or_die "$MOCK_PID" emulator "$key"
            alive_or_die "$NGINX_PID" nginx "$key"
            alive_or_die "$GW_PID" gateway "$key"
            record_wrk "$key"
            ERRS[$key]=$((M_NON2XX + M_SOCK))
            ((M_NON2XX + M_SOCK == 0)) || ERRORS+=("$key: $M_NON2XX non-2xx, $M_SOCK socket errors (see $base.txt)")
            log "    $M_RPS req/s, p50 $M_P50 us, p99 $M_P99 us, proxy ${M_PROXY_PCT}% = $M_US µs CPU/request; other ${M_OTHER}%"
        done
    done

    stop_pid "$GW_PID"
    stop_pid "$NGINX_PID"
    stop_pid "$MOCK_PID"
done
WRK_PREFIX=()

# --- report ------------------------------------------------------------------------------
REPORT="$OUT_DIR/$LANE_NAME/report.md"
{
    echo "# Switchyard scale lane: gateway vs nginx on N pinned cores, c$CONCURRENCY"
    echo
    echo "\`$CMDLINE\`"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "- machine: $T CPUs usable ($(join_by , "${ALL_CPUS[@]}")), $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
    echo "- $(wrk -v 2>&1 | head -n 1 | awk '{ print $1, $2 }'); nginx $("$NGINX_BIN" -v 2>&1 | sed 's/.*nginx\///'); $DURATION per run, warm-up $WARMUP; gateway telemetry $TELEMETRY"
    if [ -n "$WORKERS_KEY" ]; then
        echo "- gateway \`server.$WORKERS_KEY\`: set to N"
    else
        echo "- gateway \`server.workers\`: not in the config schema; the tokio runtime sizes itself from the affinity mask"
    fi
    for n in "${CORES[@]}"; do
        echo "- N=$n: ${LAYOUT[$n]}; ${THREADS_INFO[$n]}"
    done
    echo "- machine load just before (servers idle): ${PRE_BUSY}% of a core"
    echo
    echo "| proxy cores | mode | proxy | req/s | p50 µs | p99 µs | proxy CPU % | CPU µs/request | requests | errors | other % |"
    echo "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    for n in "${CORES[@]}"; do
        for mode in "${MODES[@]}"; do
            for proxy in nginx gateway; do
                k="$n|$mode|$proxy"
                echo "| $n | $mode | $proxy | $(fmt "${RPS[$k]}") | $(fmt "${P50[$k]}") | $(fmt "${P99[$k]}") | ${PCT[$k]} | ${US[$k]} | ${REQS[$k]} | ${ERRS[$k]} | ${OTHER[$k]} |"
            done
        done
    done
    echo
    echo "Gateway / nginx (req/s: higher is better for the gateway; CPU and latency: lower is):"
    echo
    echo "| proxy cores | mode | req/s | CPU µs/request | p50 | p99 |"
    echo "| ---: | --- | ---: | ---: | ---: | ---: |"
    for n in "${CORES[@]}"; do
        for mode in "${MODES[@]}"; do
            g="$n|$mode|gateway"
            x="$n|$mode|nginx"
            echo "| $n | $mode | $(ratio_pct "${RPS[$g]}" "${RPS[$x]}") % | $(ratio_pct "${US[$g]}" "${US[$x]}") % | $(ratio_pct "${P50[$g]}" "${P50[$x]}") % | $(ratio_pct "${P99[$g]}" "${P99[$x]}") % |"
        done
    done
    echo
    echo "CPU µs/request: the proxy's utime+stime (nginx: master and workers) from /proc/PID/stat over the"
    echo "measured run, divided by the requests wrk completed. other %: CPU used by processes that are"
    echo "none of wrk, the emulator and the proxy (above $OTHER_MAX_PCT %: disturbed)."
    echo
    report_noise_and_errors
    echo
    echo "Raw wrk output: bench/out/$LANE_NAME/raw/; process logs: bench/out/$LANE_NAME/logs/."
} >"$REPORT"

print_report_or_die
