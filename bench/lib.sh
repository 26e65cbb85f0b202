# Shared helpers for the extra bench lanes (bench/telemetry.sh, bench/rss.sh).
# Sourced, not run. bench/run.sh keeps its own copies so that the main lanes stay as they were.
# The caller sets BENCH_DIR before sourcing; everything below is bounded in time.

ROOT="$(cd "$BENCH_DIR/.." && pwd)"
OUT_DIR="$BENCH_DIR/out"

SKIP_BUILD="${SKIP_BUILD:-0}"        # 1: use the existing binary
QUIET_WAIT="${QUIET_WAIT:-120}"      # max seconds to wait for other load to stop
BIN="${SWITCHYARD_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/switchyard}"
HOST=127.0.0.1                       # all load stays on loopback
TOKEN="sk-bench-0001"
OTHER_MAX_PCT=10 # % of a core used by other processes above which a run counts as disturbed
QUIET_MAX_PCT=15 # % of a core busy (servers idle) under which the machine counts as quiet

log() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '\n[bench] ERROR: %b\n\n' "$*" >&2; exit 1; }

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

check_port_var() { # value name
    [[ "$1" =~ ^[0-9]+$ ]] && (($1 > 0 && $1 < 65536)) || die "bad port $2='$1'"
}

# --- tools: wrk and curl (no nginx needed here) --------------------------------------------
ensure_tools() {
    local missing=() SUDO=()
    command -v wrk >/dev/null 2>&1 || missing+=(wrk)
    command -v curl >/dev/null 2>&1 || missing+=(curl)
    ((${#missing[@]})) || return 0
    [ "$(id -u)" -eq 0 ] || SUDO=(sudo)
    log "installing from Debian: ${missing[*]}"
    timeout 600 "${SUDO[@]}" apt-get update -qq
    timeout 900 "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    command -v wrk >/dev/null 2>&1 || die "wrk not found after install"
    command -v curl >/dev/null 2>&1 || die "curl not found after install"
}

build_gateway() {
    if [ "$SKIP_BUILD" != 1 ]; then
        log "building: cargo build --release -p switchyard"
        (cd "$ROOT" && cargo build --release -p switchyard)
    fi
    [ -x "$BIN" ] || die "gateway binary not found at $BIN"
}

# --- process management ------------------------------------------------------------------
# LANE_NAME names the sub-directory of bench/out/ that receives logs and raw output.
PIDS=() # everything we started, in start order; BG_PIDS: helper loops (scrapers), killed first
BG_PIDS=()
make_tmp() {
    TMP="$(mktemp -d -t "switchyard-bench-$LANE_NAME.XXXXXX")"
    chmod 755 "$TMP"
}
# Files copied to bench/out/<lane>/logs at exit; big files (the access log) are not copied.
cleanup() {
    local rc=$?
    set +e
    trap - EXIT INT TERM
    local i pid
    for pid in "${BG_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do kill -TERM "${PIDS[i]}" 2>/dev/null; done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    if [ -n "${TMP:-}" ] && [ -d "$TMP" ]; then
        mkdir -p "$OUT_DIR/$LANE_NAME/logs"
        cp -f "$TMP"/*.log "$OUT_DIR/$LANE_NAME/logs/" 2>/dev/null
        rm -rf "$TMP"
    fi
    exit "$rc"
}
install_traps() {
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

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

ports_free() { # ports...
    local p
    for p in "$@"; do
        port_open "$p" && die "port $HOST:$p is already in use (set the *_PORT variables)"
    done
    return 0
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
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
fmt() { awk -v v="$1" 'BEGIN { printf "%.0f", v }'; }

start_emulator() { # port -> sets MOCK_PID
    log "starting emulator on $HOST:$1"
    SWITCHYARD_LOG=warn "$BIN" mock --listen "$HOST:$1" --latency 0ms >"$TMP/emulator.log" 2>&1 &
    MOCK_PID=$!
    PIDS+=("$MOCK_PID")
    wait_port "$1" "$MOCK_PID" emulator "$TMP/emulator.log"
}

start_gateway() { # name config port -> sets GW_STARTED_PID; stdout/stderr to $TMP/<name>.log
    local name="$1" cfg="$2" port="$3"
    log "starting gateway '$name' on $HOST:$port ($cfg)"
    SWITCHYARD_LOG=warn "$BIN" serve --config "$cfg" >"$TMP/$name.log" 2>&1 &
    GW_STARTED_PID=$!
    PIDS+=("$GW_STARTED_PID")
    wait_port "$port" "$GW_STARTED_PID" "gateway $name" "$TMP/$name.log"
}

alive_or_die() { # pid name context
    kill -0 "$1" 2>/dev/null || die "$2 (pid $1) died ($3); logs in $OUT_DIR/$LANE_NAME/logs/"
}

# --- wrk ---------------------------------------------------------------------------------
# shellcheck source=bench/wrk.sh
source "$BENCH_DIR/wrk.sh"

# run_wrk OUTFILE URL SCRIPT THREADS CONNS DURATION_S ; writes OUTFILE and OUTFILE.time
run_wrk() {
    local out="$1" url="$2" script="$3" threads="$4" conns="$5" dur_s="$6" rc=0
    local TIMEFORMAT='%3U %3S %3R'
    { time timeout --foreground --kill-after=5 $((dur_s + 30)) \
        wrk -t"$threads" -c"$conns" -d"${dur_s}s" --latency -s "$script" "$url" >"$out" 2>&1; } 2>"$out.time" || rc=$?
    ((rc == 0)) || die "wrk failed (exit $rc) for $url; output:\n$(cat "$out")"
}

# Two cores leave no room for a parallel build: wait (bounded) until the machine is quiet.
busy_1s() {
    local b0 b1
    read -r _ _ _ b0 <<<"$(stat_snap)"
    sleep 1
    read -r _ _ _ b1 <<<"$(stat_snap)"
    pct_of_core $((b1 - b0)) 1
}
wait_quiet() {
    local waited=0 busy
    ((QUIET_WAIT > 0)) || return 0
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

# --- /metrics ----------------------------------------------------------------------------
# scrape URL OUTFILE -> HTTP code (the body goes to OUTFILE); bounded: 10 s
scrape() {
    curl -sS --max-time 10 -o "$2" -w '%{http_code}' "$1" 2>/dev/null || echo 000
}
# metrics_summary FILE -> "bytes series distinct_models has_other requests_total dropped"
metrics_summary() {
    local f="$1"
    local bytes series models other reqs dropped
    bytes="$(wc -c <"$f")"
    series="$(grep -vc '^#' "$f" || true)"
    models="$(grep -o 'model="[^"]*"' "$f" | sort -u | wc -l)"
    other="$(grep -q 'model="other"' "$f" && echo yes || echo no)"
    reqs="$(awk '$1 ~ /^switchyard_requests_total[{ ]/ { s += $NF } END { printf "%.0f", s }' "$f")"
    dropped="$(awk '$1 ~ /^switchyard_telemetry_dropped_total/ { s += $NF } END { printf "%.0f", s }' "$f")"
    echo "$bytes $series $models $other $reqs $dropped"
}

# A background loop that GETs /metrics once a second, as Prometheus would. Each line of
# LOGFILE: "http_code bytes seconds". Sets SCRAPER_PID; stop it with stop_scraper.
start_scraper() { # URL LOGFILE
    local url="$1" logf="$2"
    (
        trap 'exit 0' TERM
        while :; do
            curl -sS --max-time 5 -o /dev/null -w '%{http_code} %{size_download} %{time_total}\n' "$url" 2>/dev/null ||
                echo "000 0 0"
            sleep 1
        done
    ) >>"$logf" &
    SCRAPER_PID=$!
    BG_PIDS+=("$SCRAPER_PID")
}
stop_scraper() {
    kill -TERM "$SCRAPER_PID" 2>/dev/null
    wait "$SCRAPER_PID" 2>/dev/null
    local keep=() p
    for p in "${BG_PIDS[@]}"; do [ "$p" = "$SCRAPER_PID" ] || keep+=("$p"); done
    BG_PIDS=("${keep[@]}")
}
