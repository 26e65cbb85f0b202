-- wrk script: non-streaming chat completion whose model name cycles through BENCH_MODELS
-- distinct names (default 1000): m-0, m-1, ..., m-999, one per request, round-robin in each
-- wrk thread (threads start at different offsets). Used by bench/rss.sh: with a route that
-- keeps the requested name, every name reaches the emulator and the gateway's telemetry.
-- The requests are formatted once in init(), so the per-request cost for wrk stays low.
-- BENCH_STREAM=1 asks for streamed answers ("stream": true) instead.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-bench-0001"

local next_id = 1
function setup(thread)
    thread:set("id", next_id)
    next_id = next_id + 1
end

function init(args)
    local n = tonumber(os.getenv("BENCH_MODELS") or "1000")
    local stream = os.getenv("BENCH_STREAM") == "1" and ',"stream":true' or ""
    reqs = {}
    for i = 0, n - 1 do
        local body = string.format('{"model":"m-%d","messages":[{"role":"user","content":"hi"}]%s}', i, stream)
        reqs[i + 1] = wrk.format(nil, nil, nil, body)
    end
    count = n
    pos = (((id or 1) - 1) * 397) % n -- 397: any offset, so threads do not move in lockstep
end

function request()
    pos = pos % count + 1
    return reqs[pos]
end
