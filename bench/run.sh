#!/usr/bin/env bash
# Switchyard benchmark harness: direct emulator vs nginx vs gateway, measured with wrk.
# See bench/README.md. Usage: bench/run.sh   or   DURATION=30s bench/run.sh
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# `bench/run.sh telemetry|rss|scale|streams|storm|profile` runs an extra lane (bench/<lane>.sh); the
# arguments after the lane name go to its script (e.g. `bench/run.sh scale 1 2`).
case "${1:-}" in
    telemetry | rss | scale | streams | storm | profile) exec "$BENCH_DIR/$1.sh" "${@:2}" ;;
esac
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
OUT_DIR="$BENCH_DIR/out"

DURATION="${DURATION:-10s}"          # measured run per lane
WARMUP="${WARMUP:-2s}"               # warm-up run before each measured lane
MOCK_PORT="${MOCK_PORT:-19001}"      # emulator (direct lane)
NGINX_PORT="${NGINX_PORT:-19002}"    # nginx -> emulator
GATEWAY_PORT="${GATEWAY_PORT:-19003}" # switchyard gateway -> emulator
SKIP_BUILD="${SKIP_BUILD:-0}"        # 1: use the existing binary
QUIET_WAIT="${QUIET_WAIT:-120}"      # max seconds to wait before each lane for other load to stop
RETRIES="${RETRIES:-2}"              # re-measure a lane disturbed by other processes this many times
BIN="${SWITCHYARD_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/switchyard}"
HOST=127.0.0.1                       # all load stays on loopback
TOKEN="sk-bench-0001"

LANES=(direct nginx gateway)
MODES=(non-stream stream)
CONCURRENCIES=(1 64)

# Targets (issue 12; informational: they are reported, they do not fail the run).
# Added latency at c1 per mode (p99 is targeted for non-stream only), throughput and CPU per
# request at c64 against nginx's.
declare -A TARGET_ADD_P50_US=([non-stream]=40 [stream]=70)
declare -A TARGET_ADD_P99_US=([non-stream]=150 [stream]=)
TARGET_TPUT_PCT=90
declare -A TARGET_CPU_RATIO=([non-stream]=1.3 [stream]=1.5)
TARGET_RSS_MIB=40
TARGET_RSS_AFTER_REQS=100000

log() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '\n[bench] ERROR: %b\n\n' "$*" >&2; exit 1; }

OTHER_MAX_PCT=10 # % of a core used by other processes above which a lane counts as disturbed
QUIET_MAX_PCT=15 # % of a core busy (servers idle) under which the machine counts as quiet

# --- arguments -------------------------------------------------------------------------
to_seconds() { # 10s | 10 | 2m | 1h -> seconds
    local v="$1"
    [[ "$v" =~ ^([0-9]+)([smh]?)$ ]] || die "bad duration '$v' (use e.g. 10s, 2m)"
    local n="${BASH_REMATCH[1]}" u="${BASH_REMATCH[2]}"
    case "$u" in
        m) echo $((n * 60)) ;;
        h) echo $((n * 3600)) ;;
        *) echo "$n" ;;
    esac
}
DURATION_S="$(to_seconds "$DURATION")"
WARMUP_S="$(to_seconds "$WARMUP")"
((DURATION_S > 0)) || die "DURATION must be > 0"
for p in "$MOCK_PORT" "$NGINX_PORT" "$GATEWAY_PORT"; do
    [[ "$p" =~ ^[0-9]+$ ]] && ((p > 0 && p < 65536)) || die "bad port '$p'"
done
[[ "$QUIET_WAIT" =~ ^[0-9]+$ && "$RETRIES" =~ ^[0-9]+$ ]] || die "QUIET_WAIT and RETRIES must be whole numbers"
[[ "$MOCK_PORT" != "$NGINX_PORT" && "$MOCK_PORT" != "$GATEWAY_PORT" && "$NGINX_PORT" != "$GATEWAY_PORT" ]] ||
    die "MOCK_PORT, NGINX_PORT and GATEWAY_PORT must differ"

# --- tools -------------------------------------------------------------------------------
find_nginx() {
    if command -v nginx >/dev/null 2>&1; then
        command -v nginx
    elif [ -x /usr/sbin/nginx ]; then
        echo /usr/sbin/nginx
    fi
}
NGINX_BIN="$(find_nginx)"
missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
[ -n "$NGINX_BIN" ] || missing+=(nginx)
command -v curl >/dev/null 2>&1 || missing+=(curl)
if ((${#missing[@]})); then
    SUDO=()
    [ "$(id -u)" -eq 0 ] || SUDO=(sudo)
    log "installing from Debian: ${missing[*]}"
    timeout 600 "${SUDO[@]}" apt-get update -qq
    timeout 900 "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    NGINX_BIN="$(find_nginx)"
    [ -n "$NGINX_BIN" ] || die "nginx not found after install"
    command -v wrk >/dev/null 2>&1 || die "wrk not found after install"
fi

# --- build -------------------------------------------------------------------------------
if [ "$SKIP_BUILD" != 1 ]; then
    log "building: cargo build --release -p switchyard"
    (cd "$ROOT" && cargo build --release -p switchyard)
fi
[ -x "$BIN" ] || die "gateway binary not found at $BIN"

# --- process management ------------------------------------------------------------------
TMP="$(mktemp -d -t switchyard-bench.XXXXXX)"
chmod 755 "$TMP" # nginx workers drop privileges when run as root
PIDS=()          # everything we started, in start order
NGINX_WORKERS=()

cleanup() {
    local rc=$?
    set +e
    trap - EXIT INT TERM
    local i pid
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do kill -TERM "${PIDS[i]}" 2>/dev/null; done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    for pid in "${NGINX_WORKERS[@]}"; do kill -KILL "$pid" 2>/dev/null; done
    if [ -d "$TMP" ]; then
        mkdir -p "$OUT_DIR/logs"
        cp -f "$TMP"/*.log "$OUT_DIR/logs/" 2>/dev/null
        cp -f "$TMP"/nginx/logs/*.log "$OUT_DIR/logs/" 2>/dev/null
        rm -rf "$TMP"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

wait_port() { # port pid name logfile ; bounded: 10 s
    local port="$1" pid="$2" name="$3" logf="$4"
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || die "$name exited during start-up; log:\n$(tail -n 20 "$logf" 2>/dev/null)"
        port_open "$port" && return 0
        sleep 0.1
    done
    die "$name did not listen on $HOST:$port within 10 s; log:\n$(tail -n 20 "$logf" 2>/dev/null)"
}

children_of() { # pid -> direct child pids (from /proc, no procps needed)
    local ppid="$1" f
    for f in /proc/[0-9]*/stat; do
        awk -v p="$ppid" '{ s=$0; sub(/^.*\) /, "", s); split(s, a, " "); if (a[2] == p) { print $1 } }' "$f" 2>/dev/null
    done
}

CLK_TCK="$(getconf CLK_TCK)"
cpu_ticks() { # pids... -> summed utime+stime (all threads) in clock ticks
    local total=0 pid t
    for pid in "$@"; do
        t="$(awk '{ s=$0; sub(/^.*\) /, "", s); split(s, a, " "); print a[12] + a[13] }' "/proc/$pid/stat" 2>/dev/null || echo 0)"
        total=$((total + ${t:-0}))
    done
    echo "$total"
}

stat_snap() { # machine-wide ticks from /proc/stat: "idle+iowait irq+softirq steal user+nice+system"
    awk '$1 == "cpu" { print $5 + $6, $7 + $8, $9 + 0, $2 + $3 + $4; exit }' /proc/stat
}

pct_of_core() { # ticks wall_seconds -> % of one core
    awk -v d="$1" -v t="$CLK_TCK" -v w="$2" 'BEGIN { printf "%.0f", d / t / w * 100 }'
}

vm_kib() { # pid field -> kB value of VmRSS/VmHWM
    awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"
}

for p in "$MOCK_PORT" "$NGINX_PORT" "$GATEWAY_PORT"; do
    port_open "$p" && die "port $HOST:$p is already in use (set MOCK_PORT/NGINX_PORT/GATEWAY_PORT)"
done

# --- start: emulator ---------------------------------------------------------------------
log "starting emulator on $HOST:$MOCK_PORT"
SWITCHYARD_LOG=warn "$BIN" mock --listen "$HOST:$MOCK_PORT" --latency 0ms >"$TMP/emulator.log" 2>&1 &
MOCK_PID=$!
PIDS+=("$MOCK_PID")
wait_port "$MOCK_PORT" "$MOCK_PID" emulator "$TMP/emulator.log"

# --- start: nginx ------------------------------------------------------------------------
log "starting nginx on $HOST:$NGINX_PORT ($NGINX_BIN)"
mkdir -p "$TMP/nginx/logs" "$TMP/nginx/temp"
sed -e "s/__MOCK_PORT__/$MOCK_PORT/g" -e "s/__NGINX_PORT__/$NGINX_PORT/g" \
    "$BENCH_DIR/nginx.conf" >"$TMP/nginx/nginx.conf"
NGINX_ARGS=(-e "$TMP/nginx/logs/startup.log" -c "$TMP/nginx/nginx.conf" -p "$TMP/nginx/")
timeout 10 "$NGINX_BIN" -t -q "${NGINX_ARGS[@]}" -g 'daemon off;' ||
    die "nginx config test failed; see $TMP/nginx/logs/startup.log"
"$NGINX_BIN" "${NGINX_ARGS[@]}" -g 'daemon off;' >"$TMP/nginx/logs/stdout.log" 2>&1 &
NGINX_PID=$!
PIDS+=("$NGINX_PID")
wait_port "$NGINX_PORT" "$NGINX_PID" nginx "$TMP/nginx/logs/error.log"
for _ in $(seq 50); do # workers appear right after the listener; bounded 5 s
    mapfile -t NGINX_WORKERS < <(children_of "$NGINX_PID")
    ((${#NGINX_WORKERS[@]} > 0)) && break
    sleep 0.1
done

# --- start: gateway ----------------------------------------------------------------------
log "starting gateway on $HOST:$GATEWAY_PORT"
cat >"$TMP/gateway.yaml" <<EOF
server: { listen: "$HOST:$GATEWAY_PORT" }
providers:
  - id: mock
    type: openai
    baseUrl: "http://$HOST:$MOCK_PORT"
    apiTokens: ["$TOKEN"]
routes:
  - name: all
    provider: mock
EOF
SWITCHYARD_LOG=warn "$BIN" serve --config "$TMP/gateway.yaml" >"$TMP/gateway.log" 2>&1 &
GW_PID=$!
PIDS+=("$GW_PID")
wait_port "$GATEWAY_PORT" "$GW_PID" gateway "$TMP/gateway.log"
GW_RSS_START_KIB="$(vm_kib "$GW_PID" VmRSS)"

lane_port() {
    case "$1" in
        direct) echo "$MOCK_PORT" ;;
        nginx) echo "$NGINX_PORT" ;;
        gateway) echo "$GATEWAY_PORT" ;;
    esac
}
lane_url() { echo "http://$HOST:$(lane_port "$1")/v1/chat/completions"; }
mode_script() { if [ "$1" = stream ]; then echo "$BENCH_DIR/post-stream.lua"; else echo "$BENCH_DIR/post.lua"; fi; }
lane_pids() { # pids whose CPU is attributed to the proxy column of a lane
    case "$1" in
        nginx) echo "$NGINX_PID ${NGINX_WORKERS[*]}" ;;
        gateway) echo "$GW_PID" ;;
    esac
}

check_alive() {
    local name pid
    for name in emulator nginx gateway; do
        case "$name" in
            emulator) pid="$MOCK_PID" ;;
            nginx) pid="$NGINX_PID" ;;
            gateway) pid="$GW_PID" ;;
        esac
        kill -0 "$pid" 2>/dev/null || die "$name (pid $pid) died during the benchmark (after: $1); logs in $OUT_DIR/logs/"
    done
}

# --- smoke test: one request per lane and mode, must be 200 (and end in [DONE]) -----------
GW_SMOKE_REQS=0
for lane in "${LANES[@]}"; do
    for mode in "${MODES[@]}"; do
        stream=false
        [ "$mode" = stream ] && stream=true
        code="$(curl -sS --max-time 5 -o "$TMP/smoke.out" -w '%{http_code}' \
            -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
            -d "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream\":$stream}" \
            "$(lane_url "$lane")" || true)"
        [ "$code" = 200 ] || die "smoke test $lane/$mode: HTTP '$code': $(head -c 400 "$TMP/smoke.out" 2>/dev/null)"
        if [ "$mode" = stream ]; then
            grep -q '^data: \[DONE\]' "$TMP/smoke.out" || die "smoke test $lane/$mode: stream has no 'data: [DONE]'"
        fi
        [ "$lane" = gateway ] && GW_SMOKE_REQS=$((GW_SMOKE_REQS + 1))
    done
done
log "smoke test passed on all lanes"

# --- wrk ---------------------------------------------------------------------------------
# shellcheck source=bench/wrk.sh
source "$BENCH_DIR/wrk.sh"

# run_wrk OUTFILE URL SCRIPT THREADS CONNS DURATION DURATION_S ; writes OUTFILE and OUTFILE.time
run_wrk() {
    local out="$1" url="$2" script="$3" threads="$4" conns="$5" dur="$6" dur_s="$7" rc=0
    local TIMEFORMAT='%3U %3S %3R'
    { time timeout --foreground --kill-after=5 $((dur_s + 30)) \
        wrk -t"$threads" -c"$conns" -d"$dur" --latency -s "$script" "$url" >"$out" 2>&1; } 2>"$out.time" || rc=$?
    ((rc == 0)) || die "wrk failed (exit $rc) for $url; output:\n$(cat "$out")"
}

# Two cores leave no room for a parallel build: before each lane, wait (bounded)
# until the machine is quiet. Our servers are idle then, so any load is someone else's.
busy_1s() {
    local b0 b1
    read -r _ _ _ b0 <<<"$(stat_snap)"
    sleep 1
    read -r _ _ _ b1 <<<"$(stat_snap)"
    pct_of_core $((b1 - b0)) 1
}
wait_quiet() {
    local waited=0 busy
    while :; do
        busy="$(busy_1s)"
        ((busy <= QUIET_MAX_PCT)) && return 0
        waited=$((waited + 1))
        if ((waited >= QUIET_WAIT)); then
            log "  machine still busy (${busy}% of a core) after ${QUIET_WAIT}s of waiting; measuring anyway"
            return 0
        fi
        ((waited % 10 == 1)) && log "  waiting for the machine to be quiet (${busy}% of a core busy)"
    done
}
PRE_BUSY="$(busy_1s)"
((PRE_BUSY <= 25)) || log "WARNING: the machine is busy (${PRE_BUSY}% of a core in use); lanes will wait for it to calm down"

mkdir -p "$OUT_DIR/raw"
rm -f "$OUT_DIR"/raw/*.txt "$OUT_DIR"/raw/*.time
declare -A RPS P50 P99 REQS ERRS CPU_WRK CPU_EMU CPU_PROXY CPU_IDLE CPU_IRQ CPU_STEAL CPU_OTHER
NOISY_LANES=()
ERROR_LANES=()
GW_MEASURED_REQS=0
GW_WARMUP_REQS=0
GW_DISCARDED_REQS=0
RETRIED=0
WARMUP_ERRORS=()

total_lanes=$((${#LANES[@]} * ${#MODES[@]} * ${#CONCURRENCIES[@]}))
n=0
for mode in "${MODES[@]}"; do
    script="$(mode_script "$mode")"
    for c in "${CONCURRENCIES[@]}"; do
        threads=1
        ((c > 1)) && threads=2
        for lane in "${LANES[@]}"; do
            n=$((n + 1))
            key="$lane|$mode|$c"
            url="$(lane_url "$lane")"
            base="$OUT_DIR/raw/${lane}-${mode}-c${c}"
            attempt=0
            while :; do
                attempt=$((attempt + 1))
                wait_quiet
                log "[$n/$total_lanes] $lane $mode c=$c: warm-up $WARMUP, then $DURATION (attempt $attempt)"

                if ((WARMUP_S > 0)); then
                    run_wrk "$base.warmup.txt" "$url" "$script" "$threads" "$c" "$WARMUP" "$WARMUP_S"
                    read -r _ _ _ wreq wnon wsock <<<"$(parse_wrk "$base.warmup.txt")"
                    [ -n "${wsock:-}" ] || die "could not parse wrk output $base.warmup.txt"
                    ((wnon + wsock == 0)) || WARMUP_ERRORS+=("$lane $mode c$c: $wnon non-2xx, $wsock socket errors")
                    [ "$lane" = gateway ] && GW_WARMUP_REQS=$((GW_WARMUP_REQS + wreq))
                fi

                read -r -a proxy_pids <<<"$(lane_pids "$lane")"
                read -r idle0 irq0 steal0 busy0 <<<"$(stat_snap)"
                emu0="$(cpu_ticks "$MOCK_PID")"
                prx0=0
                ((${#proxy_pids[@]})) && prx0="$(cpu_ticks "${proxy_pids[@]}")"
                run_wrk "$base.txt" "$url" "$script" "$threads" "$c" "$DURATION" "$DURATION_S"
                emu1="$(cpu_ticks "$MOCK_PID")"
                read -r idle1 irq1 steal1 busy1 <<<"$(stat_snap)"
                prx1=0
                ((${#proxy_pids[@]})) && prx1="$(cpu_ticks "${proxy_pids[@]}")"
                check_alive "$lane $mode c=$c"

                parsed="$(parse_wrk "$base.txt")"
                [ "$parsed" != PARSE_ERROR ] || die "could not parse wrk output $base.txt:\n$(cat "$base.txt")"
                read -r rps p50 p99 req non2xx sockerr <<<"$parsed"
                read -r wrk_u wrk_s wall <<<"$(cat "$base.txt.time")"
                if ((non2xx + sockerr > 0)); then # errors count whatever the attempt
                    ERROR_LANES+=("$lane $mode c$c: $non2xx non-2xx responses, $sockerr socket errors (see $base.txt)")
                    log "  !! $lane $mode c=$c had $non2xx non-2xx responses and $sockerr socket errors"
                fi
                RPS[$key]="$rps"
                P50[$key]="$p50"
                P99[$key]="$p99"
                REQS[$key]="$req"
                ERRS[$key]=$((non2xx + sockerr))
                # CPU as % of one core over the wall time of the wrk run (200% = both cores).
                CPU_WRK[$key]="$(awk -v u="$wrk_u" -v s="$wrk_s" -v w="$wall" 'BEGIN { printf "%.0f", (u + s) / w * 100 }')"
                CPU_EMU[$key]="$(pct_of_core $((emu1 - emu0)) "$wall")"
                CPU_IDLE[$key]="$(pct_of_core $((idle1 - idle0)) "$wall")"
                CPU_IRQ[$key]="$(pct_of_core $((irq1 - irq0)) "$wall")"
                CPU_STEAL[$key]="$(pct_of_core $((steal1 - steal0)) "$wall")"
                if ((${#proxy_pids[@]})); then
                    CPU_PROXY[$key]="$(pct_of_core $((prx1 - prx0)) "$wall")"
                else
                    CPU_PROXY[$key]="-"
                fi
                # Process time on the machine that is not wrk, the emulator or the proxy
                # (a build, another job): it means the figures are disturbed.
                CPU_OTHER[$key]="$(awk -v b="$(pct_of_core $((busy1 - busy0)) "$wall")" -v w="${CPU_WRK[$key]}" \
                    -v e="${CPU_EMU[$key]}" -v p="${CPU_PROXY[$key]}" 'BEGIN { o = b - w - e - (p == "-" ? 0 : p); printf "%.0f", o < 0 ? 0 : o }')"
                log "  $rps req/s, p50 ${p50} us, p99 ${p99} us, $req requests; other processes: ${CPU_OTHER[$key]}% of a core"
                if ((${CPU_OTHER[$key]} > OTHER_MAX_PCT && attempt <= RETRIES)); then
                    log "  !! disturbed by other processes: measuring this lane again"
                    [ "$lane" = gateway ] && GW_DISCARDED_REQS=$((GW_DISCARDED_REQS + req))
                    RETRIED=$((RETRIED + 1))
                    continue
                fi
                break
            done
            if ((${CPU_OTHER[$key]} > OTHER_MAX_PCT)); then
                NOISY_LANES+=("$lane $mode c$c: ${CPU_OTHER[$key]}% of a core used by other processes ($attempt attempts)")
            fi
            [ "$lane" = gateway ] && GW_MEASURED_REQS=$((GW_MEASURED_REQS + req))
        done
    done
done

GW_RSS_KIB="$(vm_kib "$GW_PID" VmRSS)"
GW_HWM_KIB="$(vm_kib "$GW_PID" VmHWM)"
GW_TOTAL_REQS=$((GW_MEASURED_REQS + GW_WARMUP_REQS + GW_DISCARDED_REQS + GW_SMOKE_REQS))

# --- report ------------------------------------------------------------------------------
fmt() { awk -v v="$1" 'BEGIN { printf "%.0f", v }'; }
fmt1() { awk -v v="$1" 'BEGIN { printf "%.1f", v }'; }
sub_() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", a - b }'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }
verdict() { if "$@"; then echo "met"; else echo "**MISSED**"; fi; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

REPORT="$TMP/report.md"
{
    echo "# Switchyard benchmark"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "- machine: $(nproc) cores, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
    echo "- duration per lane: $DURATION (warm-up $WARMUP before each lane); threads: 1 at c1, 2 at c64"
    echo "- wrk: $(wrk -v 2>&1 | head -n 1 | awk '{ print $1, $2 }'); nginx: $("$NGINX_BIN" -v 2>&1 | sed 's/.*: //')"
    echo "- machine load just before the lanes (servers idle): ${PRE_BUSY}% of a core; lanes measured again because other processes disturbed them: $RETRIED"
    echo "- ports: direct $MOCK_PORT, nginx $NGINX_PORT, gateway $GATEWAY_PORT (all on $HOST)"
    echo
    echo "| lane | mode | concurrency | req/s | p50 µs | p99 µs |"
    echo "| --- | --- | ---: | ---: | ---: | ---: |"
    for mode in "${MODES[@]}"; do
        for c in "${CONCURRENCIES[@]}"; do
            for lane in "${LANES[@]}"; do
                k="$lane|$mode|$c"
                echo "| $lane | $mode | $c | $(fmt "${RPS[$k]}") | $(fmt "${P50[$k]}") | $(fmt "${P99[$k]}") |"
            done
        done
    done
    echo
    echo "CPU during each measured run, in % of one core (200% = both cores). Per process from"
    echo "/proc/<pid>/stat (wrk: bash \`time\`); machine-wide idle, irq+softirq (loopback packet"
    echo "processing not charged to a process) and steal (taken by the hypervisor) from /proc/stat;"
    echo "other = process CPU on the machine that is none of wrk, the emulator and the proxy:"
    echo
    echo "| lane | mode | concurrency | requests | errors | wrk % | emulator % | proxy % | other % | idle % | irq+softirq % | steal % |"
    echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    for mode in "${MODES[@]}"; do
        for c in "${CONCURRENCIES[@]}"; do
            for lane in "${LANES[@]}"; do
                k="$lane|$mode|$c"
                echo "| $lane | $mode | $c | ${REQS[$k]} | ${ERRS[$k]} | ${CPU_WRK[$k]} | ${CPU_EMU[$k]} | ${CPU_PROXY[$k]} | ${CPU_OTHER[$k]} | ${CPU_IDLE[$k]} | ${CPU_IRQ[$k]} | ${CPU_STEAL[$k]} |"
            done
        done
    done
    echo
    echo "## Derived figures"
    echo
    echo "Added latency at c1 (lane minus direct emulator), µs:"
    echo
    echo "| mode | lane | added p50 | added p99 | target | verdict |"
    echo "| --- | --- | ---: | ---: | --- | --- |"
    for mode in "${MODES[@]}"; do
        d="direct|$mode|1"
        for lane in gateway nginx; do
            k="$lane|$mode|1"
            a50="$(sub_ "${P50[$k]}" "${P50[$d]}")"
            a99="$(sub_ "${P99[$k]}" "${P99[$d]}")"
            if [ "$lane" = gateway ]; then
                t50="${TARGET_ADD_P50_US[$mode]}"
                t99="${TARGET_ADD_P99_US[$mode]}"
                v50="$(verdict le "$a50" "$t50")"
                if [ -n "$t99" ]; then
                    v99="$(verdict le "$a99" "$t99")"
                    echo "| $mode | gateway | $a50 | $a99 | p50 <= $t50, p99 <= $t99 | p50 $v50, p99 $v99 |"
                else
                    echo "| $mode | gateway | $a50 | $a99 | p50 <= $t50 | p50 $v50 |"
                fi
            else
                echo "| $mode | nginx (reference) | $a50 | $a99 | - | - |"
            fi
        done
    done
    echo
    echo "Throughput at c64, gateway vs nginx:"
    echo
    echo "| mode | gateway req/s | nginx req/s | gateway/nginx | target | verdict |"
    echo "| --- | ---: | ---: | ---: | --- | --- |"
    for mode in "${MODES[@]}"; do
        g="${RPS[gateway|$mode|64]}"
        x="${RPS[nginx|$mode|64]}"
        pct="$(awk -v g="$g" -v x="$x" 'BEGIN { printf "%.1f", g / x * 100 }')"
        echo "| $mode | $(fmt "$g") | $(fmt "$x") | $pct % | >= $TARGET_TPUT_PCT % | $(verdict ge "$pct" "$TARGET_TPUT_PCT") |"
    done
    echo
    echo "CPU per request at c64 (the proxy's CPU % of a core / its req/s), gateway vs nginx:"
    echo
    echo "| mode | gateway µs | nginx µs | gateway/nginx | target | verdict |"
    echo "| --- | ---: | ---: | ---: | --- | --- |"
    for mode in "${MODES[@]}"; do
        gk="gateway|$mode|64"
        nk="nginx|$mode|64"
        gu="$(awk -v c="${CPU_PROXY[$gk]}" -v r="${RPS[$gk]}" 'BEGIN { printf "%.1f", c / 100 * 1000000 / r }')"
        nu="$(awk -v c="${CPU_PROXY[$nk]}" -v r="${RPS[$nk]}" 'BEGIN { printf "%.1f", c / 100 * 1000000 / r }')"
        ratio="$(awk -v g="$gu" -v n="$nu" 'BEGIN { printf "%.2f", g / n }')"
        t="${TARGET_CPU_RATIO[$mode]}"
        echo "| $mode | $gu | $nu | ${ratio}x | <= ${t}x | $(verdict le "$ratio" "$t") |"
    done
    echo
    echo "Gateway memory (MiB = 1024 KiB, from /proc/$GW_PID/status):"
    echo
    echo "- requests served by the gateway: $GW_TOTAL_REQS in total ($GW_MEASURED_REQS in measured lanes, $GW_WARMUP_REQS in warm-ups, $GW_DISCARDED_REQS in disturbed runs measured again, $GW_SMOKE_REQS smoke)"
    echo "- RSS at start (idle): $(mib "$GW_RSS_START_KIB") MiB"
    echo "- peak RSS (VmHWM): $(mib "$GW_HWM_KIB") MiB"
    rss_v="$(verdict lt "$(mib "$GW_RSS_KIB")" "$TARGET_RSS_MIB")"
    if ((GW_TOTAL_REQS < TARGET_RSS_AFTER_REQS)); then
        rss_v="inconclusive (fewer than $TARGET_RSS_AFTER_REQS requests served; raise DURATION)"
    fi
    echo "- RSS after the run (VmRSS): $(mib "$GW_RSS_KIB") MiB; target < $TARGET_RSS_MIB MiB after $TARGET_RSS_AFTER_REQS requests: $rss_v (peak: $(verdict lt "$(mib "$GW_HWM_KIB")" "$TARGET_RSS_MIB"))"
    echo
    if ((${#NOISY_LANES[@]})); then
        echo "## WARNING: the machine was not quiet"
        echo
        echo "Other processes used more than $OTHER_MAX_PCT% of a core during these lanes; their figures are"
        echo "disturbed (look for builds or tests running at the same time) and should be re-measured:"
        echo
        for e in "${NOISY_LANES[@]}"; do echo "- $e"; done
        echo
    fi
    if ((${#ERROR_LANES[@]} + ${#WARMUP_ERRORS[@]})); then
        echo "## ERRORS"
        echo
        for e in "${ERROR_LANES[@]}"; do echo "- $e"; done
        for e in "${WARMUP_ERRORS[@]}"; do echo "- warm-up $e"; done
    else
        echo "No lane had errors (non-2xx responses or socket errors), warm-ups included."
    fi
    echo
    echo "Raw wrk output: bench/out/raw/; process logs: bench/out/logs/."
} >"$REPORT"

cp "$REPORT" "$OUT_DIR/latest.md"
echo
cat "$REPORT"

if ((${#ERROR_LANES[@]} + ${#WARMUP_ERRORS[@]})); then
    die "$((${#ERROR_LANES[@]} + ${#WARMUP_ERRORS[@]})) lane(s) had errors: see the ERRORS section above"
fi
