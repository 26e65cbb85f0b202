#!/usr/bin/env bash
# Codex CLI (the Responses API only) against the gateway and the emulator:
# `codex exec` through an OpenAI-style provider without the Responses API
# (bridged through chat), one with it (native pass-through), and a Claude
# provider (bridged). Each must exit 0 within the timeout, print the
# emulator's answer, and complete a tool round trip (the emulator calls
# Codex's first function tool; Codex runs it and sends the output back; the
# answer is "Tool said: ...").
#
#   bash tests/clients/codex.sh
#
# Env: SWITCHYARD_BIN (else built), CODEX_VERSION (default 0.171.0),
#      CLIENT_TIMEOUT (seconds per run, default 120).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
target="${CARGO_TARGET_DIR:-$root/target}"
version="${CODEX_VERSION:-0.171.0}"
limit="${CLIENT_TIMEOUT:-120}"

if [[ -z "${SWITCHYARD_BIN:-}" ]]; then
    cargo build --quiet -p switchyard
    SWITCHYARD_BIN="$target/debug/switchyard"
fi

# Codex from npm, once per version.
clients="$target/clients"
codex="$clients/node_modules/.bin/codex"
if [[ ! -x "$codex" ]] || ! "$codex" --version 2>/dev/null | grep -q "$version"; then
    echo "codex: installing @openai/codex@$version" >&2
    mkdir -p "$clients"
    (cd "$clients" && npm install --silent --no-audit --no-fund "@openai/codex@$version")
fi

work="$(mktemp -d "${TMPDIR:-/var/tmp}/switchyard-codex.XXXXXX")"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ok() {
    for _ in $(seq 1 100); do
        if curl -sf "$1" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    echo "codex: $1 did not answer" >&2
    return 1
}

emu="127.0.0.1:$(free_port)"
"$SWITCHYARD_BIN" mock --listen "$emu" >"$work/emulator.log" 2>&1 &
pids+=($!)
wait_ok "http://$emu/_mock/health"

gw="127.0.0.1:$(free_port)"
cat >"$work/switchyard.yaml" <<YAML
server: { listen: "$gw" }
providers:
  - { id: native, type: openai, baseUrl: "http://$emu", apiTokens: ["sk-oai-000000001"] }
  - { id: chat, type: openai, baseUrl: "http://$emu", apiTokens: ["sk-chat-00000001"], responsesApi: false }
  - { id: claude, type: claude, baseUrl: "http://$emu", apiTokens: ["sk-ant-000000001"] }
routes:
  - { name: claude, models: ["claude-*"], provider: claude }
  - { name: chat, models: ["chat-*"], provider: chat }
  - { name: openai, models: ["gpt-*"], provider: native }
YAML
"$SWITCHYARD_BIN" serve --config "$work/switchyard.yaml" >"$work/gateway.log" 2>&1 &
pids+=($!)
wait_ok "http://$gw/health"

# Codex's home (config, sessions) and a working directory of their own.
# Not under /tmp: Codex refuses to create its helper binaries there.
mkdir -p "$work/home" "$work/repo"
cat >"$work/home/config.toml" <<TOML
model_provider = "switchyard"

[model_providers.switchyard]
name = "Switchyard"
base_url = "http://$gw/v1"
env_key = "SWITCHYARD_KEY"
wire_api = "responses"
TOML

failed=0
for case in "chat-model:/v1/chat/completions" "gpt-4o-mini:/v1/responses" "claude-sonnet-4-5:/v1/messages"; do
    model="${case%%:*}"
    path="${case#*:}"
    curl -sf -X DELETE "http://$emu/_mock/requests" >/dev/null
    out="$work/$model.out"
    set +e
    (cd "$work/repo" && CODEX_HOME="$work/home" SWITCHYARD_KEY=sk-client \
        timeout --kill-after=5 "$limit" "$codex" exec --skip-git-repo-check -s read-only \
        -m "$model" "Say hello to the gateway" </dev/null >"$out" 2>"$work/$model.err")
    rc=$?
    set -e
    upstream="$(curl -sf "http://$emu/_mock/requests")"
    if [[ $rc -ne 0 ]]; then
        echo "FAIL codex $model: exit $rc"; tail -20 "$work/$model.err"; failed=1; continue
    fi
    if ! grep -q "Tool said:" "$out"; then
        echo "FAIL codex $model: no tool round trip in the answer:"; cat "$out"; tail -20 "$work/$model.err"; failed=1; continue
    fi
    if ! grep -q "\"path\":\"[^\"]*$path" <<<"$upstream"; then
        echo "FAIL codex $model: nothing reached $path upstream"; failed=1; continue
    fi
    echo "ok   codex $model ($path): $(head -c 80 "$out")"
done
if [[ $failed -ne 0 ]]; then
    echo "--- gateway log"; tail -20 "$work/gateway.log"
    exit 1
fi
