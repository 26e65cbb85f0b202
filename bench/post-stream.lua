-- wrk script: streaming chat completion (SSE, chunked transfer encoding).
-- wrk measures latency until the whole response (through `data: [DONE]`) has been read.
wrk.method = "POST"
wrk.body = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"stream":true}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-bench-0001"
