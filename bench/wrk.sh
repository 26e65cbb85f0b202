# Shared by bench/run.sh and bench/lib.sh (sourced, not run): reading wrk's output.

# parse_wrk FILE -> "rps p50_us p99_us requests non2xx socket_errors"
parse_wrk() {
    awk '
    function us(v,   n, u) {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        if (u == "us") return n
        if (u == "ms") return n * 1000
        if (u == "s")  return n * 1000000
        if (u == "m")  return n * 60000000
        if (u == "h")  return n * 3600000000
        return -1
    }
    /^[ \t]+50%/ { p50 = us($2) }
    /^[ \t]+99%/ { p99 = us($2) }
    / requests in / { req = $1 }
    /^Requests\/sec:/ { rps = $2 }
    /Non-2xx or 3xx responses:/ { non2xx = $NF }
    /Socket errors:/ {
        s = $0; sub(/.*Socket errors:/, "", s); gsub(/[a-z,]/, "", s)
        n = split(s, a, " "); for (i = 1; i <= n; i++) sockerr += a[i]
    }
    END {
        if (rps == "" || p50 == "" || p99 == "" || req == "") { print "PARSE_ERROR"; exit }
        printf "%s %.2f %.2f %d %d %d\n", rps, p50, p99, req, non2xx + 0, sockerr + 0
    }' "$1"
}
