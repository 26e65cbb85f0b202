# shellcheck shell=bash
# Shared helpers for the extra bench lanes (bench/telemetry.sh, rss.sh, scale.sh, streams.sh, storm.sh).
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
NGINX_WORKER_PIDS=() # nginx workers: killed at exit in case their master was killed first
NGINX_LOGS=()        # "path:name" of nginx error logs copied to bench/out/<lane>/logs at exit
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
    for pid in "${NGINX_WORKER_PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null; done
    if [ -n "${TMP:-}" ] && [ -d "$TMP" ]; then
        ((${#NGINX_LOGS[@]} == 0)) || copy_nginx_logs
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

# pin CPUS -> the command prefix that pins to CPUS with taskset (nothing when CPUS is empty)
pin() { [ -z "$1" ] || printf '%s\n' taskset -c "$1"; }

start_emulator() { # port [cpus [extra mock args...]] -> sets MOCK_PID
    local port="$1" cpus="${2:-}" prefix=()
    mapfile -t prefix < <(pin "$cpus")
    log "starting emulator on $HOST:$port${cpus:+ (CPUs $cpus)}${3:+ with ${*:3}}"
    SWITCHYARD_LOG=warn "${prefix[@]}" "$BIN" mock --listen "$HOST:$port" --latency 0ms "${@:3}" >"$TMP/emulator.log" 2>&1 &
    MOCK_PID=$!
    PIDS+=("$MOCK_PID")
    wait_port "$port" "$MOCK_PID" emulator "$TMP/emulator.log"
}

start_gateway() { # name config port [cpus] -> sets GW_STARTED_PID; stdout/stderr to $TMP/<name>.log
    local name="$1" cfg="$2" port="$3" cpus="${4:-}" prefix=()
    mapfile -t prefix < <(pin "$cpus")
    log "starting gateway '$name' on $HOST:$port ($cfg)${cpus:+ on CPUs $cpus}"
    SWITCHYARD_LOG=warn "${prefix[@]}" "$BIN" serve --config "$cfg" >"$TMP/$name.log" 2>&1 &
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

# run_wrk OUTFILE URL SCRIPT THREADS CONNS DURATION_S [EXTRA_WRK_ARGS...] ; writes OUTFILE and
# OUTFILE.time. WRK_PREFIX (an array, empty by default) goes before wrk, e.g. (taskset -c 0).
WRK_PREFIX=()
run_wrk() {
    local out="$1" url="$2" script="$3" threads="$4" conns="$5" dur_s="$6" rc=0
    local TIMEFORMAT='%3U %3S %3R'
    { time timeout --foreground --kill-after=5 $((dur_s + 30)) "${WRK_PREFIX[@]}" \
        wrk -t"$threads" -c"$conns" -d"${dur_s}s" --latency "${@:7}" -s "$script" "$url" >"$out" 2>&1; } 2>"$out.time" || rc=$?
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

# --- helpers of the scale, streams and storm lanes ------------------------------------------
stop_pid() { # pid : TERM, wait up to 5 s, KILL; and forget it
    local pid="$1" keep=() p
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    for p in "${PIDS[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
    PIDS=("${keep[@]}")
}

children_of() { # pid -> direct child pids (from /proc, no procps needed)
    local f
    for f in /proc/[0-9]*/stat; do
        awk -v p="$1" '{ s=$0; sub(/^.*\) /, "", s); split(s, a, " "); if (a[2] == p) { print $1 } }' "$f" 2>/dev/null
    done
}

threads_named() { # pid prefix -> number of threads whose name starts with prefix
    local n=0 t c
    for t in /proc/"$1"/task/*; do
        c="$(cat "$t/comm" 2>/dev/null || true)"
        [[ "$c" == "$2"* ]] && n=$((n + 1))
    done
    echo "$n"
}

# Raise the soft open-files limit of this shell (and so of everything it starts) to WANT, bounded
# by the hard limit. Not in a $(...) subshell: read `ulimit -Sn` afterwards.
raise_nofile() {
    local want="$1" hard
    hard="$(ulimit -Hn)"
    [ "$hard" = unlimited ] || ((want <= hard)) || want="$hard"
    ulimit -Sn "$want" 2>/dev/null || true
}

# The gateway's telemetry, as a YAML fragment, for gateway NAME: TELEMETRY=on (default) keeps the
# defaults (metrics on, JSON access log) but writes the access log to $TMP/NAME.access.jsonl, a real
# file deleted at exit (not copied to bench/out: about 790 bytes a request); TELEMETRY=off turns
# metrics and the access log off.
TELEMETRY="${TELEMETRY:-on}"
check_telemetry() { [[ "$TELEMETRY" == on || "$TELEMETRY" == off ]] || die "TELEMETRY must be on or off"; }
telemetry_yaml() { # name
    if [ "$TELEMETRY" = off ]; then
        printf '%s\n' 'metrics: { enabled: false }' 'log: { access: "off" }'
    else
        printf 'log: { access: "%s" }\n' "$TMP/$1.access.jsonl"
    fi
}

# --- nginx ---------------------------------------------------------------------------------
ensure_nginx() { # -> sets NGINX_BIN (installs Debian's nginx if needed)
    NGINX_BIN="$(command -v nginx 2>/dev/null || true)"
    [ -n "$NGINX_BIN" ] || { [ -x /usr/sbin/nginx ] && NGINX_BIN=/usr/sbin/nginx; } || true
    if [ -z "$NGINX_BIN" ]; then
        local SUDO=()
        [ "$(id -u)" -eq 0 ] || SUDO=(sudo)
        log "installing from Debian: nginx"
        timeout 600 "${SUDO[@]}" apt-get update -qq
        timeout 900 "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -qq --no-install-recommends nginx >/dev/null
        NGINX_BIN="$(command -v nginx 2>/dev/null || echo /usr/sbin/nginx)"
        [ -x "$NGINX_BIN" ] || die "nginx not found after install"
    fi
}

# render_nginx OUT NGINX_PORT MOCK_PORT WORKERS WORKER_CONNECTIONS [LOCATION_EXTRA [UPSTREAM_COPIES [HTTP_EXTRA]]]
# bench/nginx.conf with the ports filled in and: `worker_processes WORKERS`, `worker_connections`,
# `worker_rlimit_nofile` (2 x connections); LOCATION_EXTRA (directives, one per line) added to the
# `location /` block, HTTP_EXTRA to the `http` block; UPSTREAM_COPIES (1) lists the emulator that
# many times in the upstream block, each with max_fails=0, so that `proxy_next_upstream` has a next
# server to try and never takes the emulator out.
render_nginx() {
    local out="$1" nport="$2" mport="$3" workers="$4" wconns="$5" loc="${6:-}" copies="${7:-1}" http="${8:-}"
    awk -v np="$nport" -v mp="$mport" -v w="$workers" -v wc="$wconns" -v loc="$loc" -v copies="$copies" -v http="$http" '
        { gsub(/__NGINX_PORT__/, np); gsub(/__MOCK_PORT__/, mp) }
        /^worker_processes / { print "worker_processes " w ";"; print "worker_rlimit_nofile " (2 * wc + 1024) ";"; next }
        /^[ \t]*worker_connections / { print "    worker_connections " wc ";"; next }
        /^[ \t]*server 127\.0\.0\.1:/ && copies > 1 {
            sub(/;[ \t]*$/, " max_fails=0;")
            for (i = 0; i < copies; i++) print
            next
        }
        /^[ \t]*access_log off;/ && http != "" { print; n = split(http, h, "\n"); for (i = 1; i <= n; i++) print "    " h[i]; next }
        /^[ \t]*proxy_buffering off;/ && loc != "" { print; n = split(loc, l, "\n"); for (i = 1; i <= n; i++) print "            " l[i]; next }
        { print }
    ' "$BENCH_DIR/nginx.conf" >"$out"
}

# start_nginx NAME CONF PORT [cpus] -> sets NGINX_STARTED_PID and NGINX_STARTED_PIDS (master +
# workers); prefix dir $TMP/NAME, its error log copied to bench/out/<lane>/logs/NAME-error.log.
start_nginx() {
    local name="$1" conf="$2" port="$3" cpus="${4:-}" dir="$TMP/$1" prefix=() workers=()
    mapfile -t prefix < <(pin "$cpus")
    mkdir -p "$dir/logs" "$dir/temp"
    cp "$conf" "$dir/nginx.conf"
    local args=(-e "$dir/logs/startup.log" -c "$dir/nginx.conf" -p "$dir/")
    timeout 10 "$NGINX_BIN" -t -q "${args[@]}" -g 'daemon off;' ||
        die "nginx config test failed ($name):\n$(cat "$dir/logs/startup.log" 2>/dev/null)"
    log "starting nginx '$name' on $HOST:$port ($(awk '/^worker_processes/ { print $2 + 0 }' "$dir/nginx.conf") workers)${cpus:+ on CPUs $cpus}"
    "${prefix[@]}" "$NGINX_BIN" "${args[@]}" -g 'daemon off;' >"$TMP/$name-stdout.log" 2>&1 &
    NGINX_STARTED_PID=$!
    PIDS+=("$NGINX_STARTED_PID")
    wait_port "$port" "$NGINX_STARTED_PID" "nginx $name" "$dir/logs/error.log"
    local want
    want="$(awk '/^worker_processes/ { print $2 + 0 }' "$dir/nginx.conf")"
    for _ in $(seq 50); do # workers appear right after the listener; bounded 5 s
        mapfile -t workers < <(children_of "$NGINX_STARTED_PID")
        ((${#workers[@]} >= want)) && break
        sleep 0.1
    done
    ((${#workers[@]} >= want)) || die "nginx $name: ${#workers[@]} of $want workers after 5 s"
    # shellcheck disable=SC2034 # read by the caller
    NGINX_STARTED_PIDS=("$NGINX_STARTED_PID" "${workers[@]}")
    NGINX_WORKER_PIDS+=("${workers[@]}")
    NGINX_LOGS+=("$dir/logs/error.log:$name-error.log")
}
copy_nginx_logs() { # called at exit by the lanes that start nginx
    local e
    mkdir -p "$OUT_DIR/$LANE_NAME/logs"
    for e in "${NGINX_LOGS[@]}"; do cp -f "${e%%:*}" "$OUT_DIR/$LANE_NAME/logs/${e#*:}" 2>/dev/null || true; done
}

# --- memory --------------------------------------------------------------------------------
rss_sum_kib() { # pids... -> summed VmRSS in kB (pure bash: cheap enough to sample often)
    local total=0 pid k v _
    for pid in "$@"; do
        while read -r k v _; do
            [ "$k" = VmRSS: ] && { total=$((total + v)); break; }
        done 2>/dev/null <"/proc/$pid/status" || true
    done
    echo "$total"
}
hwm_sum_kib() { # pids... -> summed VmHWM in kB (each process's own peak, over its life)
    local total=0 pid
    for pid in "$@"; do total=$((total + $(vm_kib "$pid" VmHWM || echo 0))); done
    echo "$total"
}
# Sample the summed VmRSS of PIDS every RSS_SAMPLE_S (0.2 s) into FILE (the highest value so far).
# Sets RSS_SAMPLER_PID; stop it with stop_rss_sampler.
RSS_SAMPLE_S="${RSS_SAMPLE_S:-0.2}"
start_rss_sampler() { # FILE pids...
    local f="$1"
    shift
    rss_sum_kib "$@" >"$f"
    (
        trap 'exit 0' TERM
        max="$(cat "$f")"
        while :; do
            cur="$(rss_sum_kib "$@")"
            if ((cur > max)); then max="$cur"; echo "$max" >"$f"; fi
            sleep "$RSS_SAMPLE_S"
        done
    ) &
    RSS_SAMPLER_PID=$!
    BG_PIDS+=("$RSS_SAMPLER_PID")
}
stop_rss_sampler() {
    kill -TERM "$RSS_SAMPLER_PID" 2>/dev/null
    wait "$RSS_SAMPLER_PID" 2>/dev/null || true
    local keep=() p
    for p in "${BG_PIDS[@]}"; do [ "$p" = "$RSS_SAMPLER_PID" ] || keep+=("$p"); done
    BG_PIDS=("${keep[@]}")
}

# measure_wrk OUT URL SCRIPT THREADS CONNS DURATION_S "PROXY_PIDS" [EXTRA_WRK_ARGS...]
# One measured wrk run, with the CPU of the proxy (the pids in PROXY_PIDS, space-separated; empty:
# none) and, when MEASURE_RSS=1, its summed VmRSS sampled during the run. Sets:
#   M_RPS M_P50 M_P99 M_REQ M_NON2XX M_SOCK  (wrk)
#   M_PROXY_PCT (% of one core) M_US (proxy CPU µs per request) M_OTHER (% of a core used by
#   processes other than wrk, the emulator (MOCK_PID) and the proxy) M_WALL (s)
#   M_RSS_IDLE M_RSS_PEAK M_HWM (kB; only with MEASURE_RSS=1)
MEASURE_RSS=0
# After measure_wrk: the figures every lane reports, stored under KEY in the caller's arrays RPS
# P50 P99 REQS PCT US OTHER (declared by the lane with `declare -A`), and a NOISY line when other
# processes disturbed the run. Lane-specific figures (errors, RSS) stay with the lane.
record_wrk() { # key
    local key="$1"
    RPS[$key]="$M_RPS"
    P50[$key]="$M_P50"
    P99[$key]="$M_P99"
    REQS[$key]="$M_REQ"
    PCT[$key]="$M_PROXY_PCT"
    US[$key]="$M_US"
    OTHER[$key]="$M_OTHER"
    ((M_OTHER <= OTHER_MAX_PCT)) || NOISY+=("$key: ${M_OTHER}% of a core used by other processes")
}

# The report on stdout, then exit 1 if any run had errors (ERRORS, listed in the report).
print_report_or_die() {
    echo
    cat "$REPORT"
    ((${#ERRORS[@]} == 0)) || die "${#ERRORS[@]} run(s) had errors: see the ERRORS section above"
}

# shellcheck disable=SC2034 # the M_* results are read by the caller
measure_wrk() {
    local out="$1" url="$2" script="$3" threads="$4" conns="$5" dur_s="$6" pids=()
    read -r -a pids <<<"$7"
    local busy0 busy1 emu0 emu1 prx0=0 prx1=0 wrk_u wrk_s parsed
    if [ "$MEASURE_RSS" = 1 ]; then
        M_RSS_IDLE="$(rss_sum_kib "${pids[@]}")"
        start_rss_sampler "$out.rss" "${pids[@]}"
    fi
    read -r _ _ _ busy0 <<<"$(stat_snap)"
    emu0="$(cpu_ticks "$MOCK_PID")"
    ((${#pids[@]} == 0)) || prx0="$(cpu_ticks "${pids[@]}")"
    run_wrk "$out" "$url" "$script" "$threads" "$conns" "$dur_s" "${@:8}"
    ((${#pids[@]} == 0)) || prx1="$(cpu_ticks "${pids[@]}")"
    emu1="$(cpu_ticks "$MOCK_PID")"
    read -r _ _ _ busy1 <<<"$(stat_snap)"
    if [ "$MEASURE_RSS" = 1 ]; then
        stop_rss_sampler
        M_RSS_PEAK="$(cat "$out.rss")"
        M_HWM="$(hwm_sum_kib "${pids[@]}")"
    fi
    parsed="$(parse_wrk "$out")"
    [ "$parsed" != PARSE_ERROR ] || die "could not parse wrk output $out:\n$(cat "$out")"
    read -r M_RPS M_P50 M_P99 M_REQ M_NON2XX M_SOCK <<<"$parsed"
    read -r wrk_u wrk_s M_WALL <<<"$(cat "$out.time")"
    M_PROXY_PCT="$(pct_of_core $((prx1 - prx0)) "$M_WALL")"
    M_US="$(awk -v d=$((prx1 - prx0)) -v t="$CLK_TCK" -v r="$M_REQ" 'BEGIN { printf "%.1f", (r > 0) ? d / t / r * 1000000 : 0 }')"
    M_OTHER="$(awk -v b="$(pct_of_core $((busy1 - busy0)) "$M_WALL")" -v u="$wrk_u" -v s="$wrk_s" -v w="$M_WALL" \
        -v e="$(pct_of_core $((emu1 - emu0)) "$M_WALL")" -v p="$M_PROXY_PCT" \
        'BEGIN { o = b - (u + s) / w * 100 - e - p; printf "%.0f", o < 0 ? 0 : o }')"
}

ratio_pct() { # a b -> a / b in %, one decimal ("-" when b is 0)
    awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "-"; else printf "%.1f", a / b * 100 }'
}

# smoke NAME URL STREAM(true|false) [EXPECTED_CODE (200)] : one chat request with curl; the code
# must match and a 200 stream must end with `data: [DONE]`. Bounded: 10 s.
smoke() {
    local name="$1" url="$2" stream="$3" want="${4:-200}" code
    code="$(curl -sS --max-time 10 -o "$TMP/smoke.out" -w '%{http_code}' \
        -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
        -d "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream\":$stream}" \
        "$url" || true)"
    [ "$code" = "$want" ] || die "smoke test $name: HTTP '$code' (expected $want): $(head -c 400 "$TMP/smoke.out" 2>/dev/null)"
    if [ "$stream" = true ] && [ "$want" = 200 ]; then
        grep -q '^data: \[DONE\]' "$TMP/smoke.out" || die "smoke test $name: stream has no 'data: [DONE]'"
    fi
}

cpu_list() { # the CPUs this script may use (its affinity mask), one per line
    awk '/^Cpus_allowed_list:/ { print $2 }' /proc/self/status | tr ',' '\n' |
        awk -F- '{ if (NF == 2) { for (i = $1; i <= $2; i++) print i } else print $1 }'
}
join_by() { local IFS="$1"; shift; echo "$*"; }

# Key the gateway's config schema has for its worker threads, if any (none so far: the tokio
# runtime sizes itself from the CPU affinity mask).
gateway_workers_key() {
    if grep -qE '^\s*pub workers\s*:' "$ROOT/crates/config/src/schema.rs" 2>/dev/null; then echo workers; fi
}

# The report's closing sections: the disturbed runs (NOISY) and the runs with errors (ERRORS);
# $1: what to say when there were none.
report_noise_and_errors() {
    if ((${#NOISY[@]})); then
        echo "## WARNING: the machine was not quiet"
        echo
        for e in "${NOISY[@]}"; do echo "- $e"; done
        echo
    fi
    if ((${#ERRORS[@]})); then
        echo "## ERRORS"
        echo
        for e in "${ERRORS[@]}"; do echo "- $e"; done
    else
        echo "${1:-No run had errors (non-2xx responses or socket errors), warm-ups included.}"
    fi
}
