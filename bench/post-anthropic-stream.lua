-- wrk script: a streamed Anthropic Messages request (Claude client), which the
-- gateway translates to the OpenAI-style emulator and back (translation lane).
wrk.method = "POST"
wrk.body = '{"model":"gpt-4o-mini","max_tokens":256,"messages":[{"role":"user","content":"hi"}],"stream":true}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["anthropic-version"] = "2023-06-01"
wrk.headers["x-api-key"] = "client-key"
