-- wrk script: non-streaming chat completion with one big user message, so that the request body is
-- about BENCH_BODY_BYTES bytes (default 1048576, 1 MiB; the JSON around it adds ~70 bytes). The
-- body is built once per wrk thread. Used by bench/storm.sh (large-body lane).
local n = tonumber(os.getenv("BENCH_BODY_BYTES") or "1048576")
local word = "lorem ipsum "
local content = string.rep(word, math.floor(n / #word))
wrk.method = "POST"
wrk.body = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"' .. content .. '"}]}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-bench-0001"
