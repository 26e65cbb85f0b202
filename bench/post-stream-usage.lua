-- wrk script: streaming chat completion that asks for usage (`stream_options.include_usage`), so
-- that the upstream stream is the same through every proxy: the gateway asks the upstream for usage
-- anyway, and the emulator then sends one more event (one more --chunk-delay). Used by
-- bench/streams.sh.
wrk.method = "POST"
wrk.body = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-bench-0001"
