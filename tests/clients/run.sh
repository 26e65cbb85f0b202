#!/usr/bin/env bash
# Real-client acceptance: the coding agents people point at a gateway, installed
# from npm at pinned versions, run non-interactively against the gateway and the
# emulator (no other network):
#
#   codex exec   (Codex CLI; Responses API only) through an OpenAI-style
#                provider without the Responses API (bridged through chat) and
#                through one with it (native pass-through to the emulator's
#                /v1/responses);
#   claude -p    (Claude Code, default model settings) through a `claude`
#                provider and through an OpenAI-style provider (route
#                `claude-*` -> chat completions).
#
# Each run must exit 0, print the emulator's answer and complete a tool call
# round trip: the emulator answers a request that declares tools and ends with
# the user's turn with a call of the first tool (sample arguments: the string
# "sf"), and a request whose last turn holds a tool result with
# `Tool said: <first 40 chars of the result>`. So `Tool said:` in the client's
# output proves the client ran the tool and sent its result back; the gateway's
# access log must show the two requests (finish reasons `tool_calls`, then
# `stop`) on the expected provider, and the emulator's record the upstream API
# used (chat completions, Responses or Anthropic Messages).
#
#   bash tests/clients/run.sh
#
# Env: SWITCHYARD_BIN (default target/debug/switchyard; built if missing),
#      CLIENTS_PREFIX (npm prefix, default target/clients; reinstalled only when
#      the pinned versions below change), CLIENT_TIMEOUT (seconds per client
#      run, default 90), CLIENTS (which runs, default
#      "codex-bridged codex-native claude-claude claude-openai").
set -euo pipefail

CODEX_VERSION=0.171.0      # npm @openai/codex
CLAUDE_VERSION=2.1.332     # npm @anthropic-ai/claude-code

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
prefix="${CLIENTS_PREFIX:-$root/target/clients}"
bin="${SWITCHYARD_BIN:-$root/target/debug/switchyard}"
client_timeout="${CLIENT_TIMEOUT:-90}"
runs="${CLIENTS:-codex-bridged codex-native claude-claude claude-openai}"
started=$SECONDS

say() { printf '== clients: %s\n' "$*"; }
fail() { printf '== clients: FAIL: %s\n' "$*" >&2; exit 1; }

# --- the clients, from npm, cached by pinned version -------------------------
command -v npm >/dev/null 2>&1 || fail "npm not found: install Node.js (20+) and npm"
want="@openai/codex@$CODEX_VERSION @anthropic-ai/claude-code@$CLAUDE_VERSION"
codex="$prefix/node_modules/.bin/codex"
claude="$prefix/node_modules/.bin/claude"
if [ "$(cat "$prefix/.pinned" 2>/dev/null)" != "$want" ] || [ ! -x "$codex" ] || [ ! -x "$claude" ]; then
    say "installing $want into $prefix"
    rm -rf "$prefix/node_modules" "$prefix/package.json" "$prefix/package-lock.json" "$prefix/.pinned"
    mkdir -p "$prefix"
    # Each package ships its binary in a per-platform optional dependency, so no
    # install script has to run (npm 11 skips unapproved ones anyway).
    timeout 300 npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error $want \
        || fail "npm install $want failed (is the npm registry reachable?)"
    printf '%s' "$want" > "$prefix/.pinned"
fi
say "$("$codex" --version 2>/dev/null | head -1), $("$claude" --version 2>/dev/null | head -1)"

if [ ! -x "$bin" ]; then
    say "building switchyard"
    cargo build --locked -p switchyard
fi

# --- emulator and gateways on free ports -------------------------------------
work="$(mktemp -d "$prefix/run.XXXXXX")"
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    if [ -n "${KEEP_CLIENTS_WORK:-}" ]; then say "work dir kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 143' TERM INT
export NO_PROXY="127.0.0.1,localhost" no_proxy="127.0.0.1,localhost"
unset HTTP_PROXY HTTPS_PROXY ALL_PROXY http_proxy https_proxy all_proxy

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_up() { # name url log
    local i
    for i in $(seq 1 200); do
        if curl -fsS -o /dev/null --max-time 1 "$2" 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    tail -20 "$3" >&2
    fail "$1 did not answer $2 within 20s"
}

emu_port=$(free_port)
"$bin" mock --listen "127.0.0.1:$emu_port" > "$work/emulator.log" 2>&1 &
pids+=($!)
emu="http://127.0.0.1:$emu_port"
wait_up emulator "$emu/_mock/health" "$work/emulator.log"

# Gateway A sends claude-* to a `claude` provider, gateway B to an
# OpenAI-style chat provider; both have the two Codex routes.
start_gateway() { # name claude-provider; sets $gw_url
    local port
    port=$(free_port)
    cat > "$work/$1.yaml" <<EOF
server: { listen: "127.0.0.1:$port" }
providers:
  # OpenAI with its Responses API (the emulator serves /v1/responses): native.
  - { id: native, type: openai, baseUrl: "$emu", apiTokens: ["sk-native-0001"] }
  # An OpenAI-compatible server with chat completions only: bridged.
  - { id: chatonly, type: openai, baseUrl: "$emu", responsesApi: false, apiTokens: ["sk-chat-0001"] }
  - { id: claude, type: claude, baseUrl: "$emu", apiTokens: ["sk-ant-0001"] }
routes:
  - { name: native, models: ["gpt-native"], provider: native }
  - { name: bridged, models: ["gpt-bridged"], provider: chatonly }
  - { name: claude, models: ["claude-*"], provider: $2 }
EOF
    SWITCHYARD_LOG=info NO_COLOR=1 "$bin" serve --config "$work/$1.yaml" > "$work/$1.log" 2>&1 &
    pids+=($!)
    gw_url="http://127.0.0.1:$port"
    wait_up "gateway $1" "$gw_url/health" "$work/$1.log"
}
start_gateway gw-claude claude
gw_a=$gw_url
start_gateway gw-openai chatonly
gw_b=$gw_url

# The tool both clients end up running: the emulator's sample argument is "sf".
mkdir -p "$work/bin"
printf '#!/bin/sh\necho switchyard-tool-ran\n' > "$work/bin/sf"
chmod +x "$work/bin/sf"

# --- checks --------------------------------------------------------------------
# Access-log records of one gateway for one model: "provider finish_reason" lines.
access() { # log model
    python3 - "$1" "$2" <<'EOF'
import json, sys
for line in open(sys.argv[1], errors="replace"):
    if not line.startswith("{"):
        continue
    r = json.loads(line)
    if r.get("model") == sys.argv[2]:
        print(r.get("path"), r.get("status"), r.get("provider"), r.get("finish_reason"))
EOF
}
# Upstream paths the emulator saw for one model since the last reset.
upstream() { # model
    curl -fsS "$emu/_mock/requests" | python3 -c '
import json, sys
for r in json.load(sys.stdin):
    if r.get("model") == sys.argv[1]:
        print(r["method"], r["path"].split("?")[0])' "$1"
}
check() { # name rc out-file log model provider upstream-path
    local name=$1 rc=$2 out=$3 log=$4 model=$5 provider=$6 path=$7 got up i
    # The access-log line is written when the response has been sent, which
    # can be just after the client exits.
    for i in $(seq 1 50); do
        got=$(access "$log" "$model")
        if grep -q "$provider stop" <<<"$got"; then break; fi
        sleep 0.1
    done
    up=$(upstream "$model")
    if [ "$rc" != 0 ] || ! grep -q "Tool said:" "$out" \
        || ! grep -q "$provider tool_calls" <<<"$got" || ! grep -q "$provider stop" <<<"$got" \
        || ! grep -q "POST $path" <<<"$up"; then
        printf -- '--- %s: exit %s\n--- stdout\n' "$name" "$rc" >&2
        tail -c 3000 "$out" >&2
        printf -- '--- stderr\n' >&2
        tail -c 4000 "$out.err" >&2
        printf -- '--- gateway access log for %s\n%s\n--- emulator saw\n%s\n' "$model" "$got" "$up" >&2
        fail "$name"
    fi
    say "ok $name: $(grep -m1 -o 'Tool said:.*' "$out" | cut -c1-70) ($(grep -c . <<<"$got") requests, upstream $path) [$((SECONDS - started))s]"
}

# --- Codex CLI ------------------------------------------------------------------
# Its config: one model provider (the gateway) speaking the Responses API, the
# key from SWITCHYARD_KEY, no retries, no update check, no analytics. `exec`
# never asks for approval; the sandbox is off so the shell tool simply runs.
run_codex() { # name model upstream-path provider
    local home="$work/$1"
    mkdir -p "$home/codex" "$home/project"
    cat > "$home/codex/config.toml" <<EOF
model = "$2"
model_provider = "switchyard"
approval_policy = "never"
sandbox_mode = "danger-full-access"
check_for_update_on_startup = false

[model_providers.switchyard]
name = "Switchyard"
base_url = "$gw_a/v1"
env_key = "SWITCHYARD_KEY"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0

[analytics]
enabled = false
EOF
    local rc=0
    (cd "$home/project" && env HOME="$home" CODEX_HOME="$home/codex" SWITCHYARD_KEY=sk-client-0001 \
        PATH="$work/bin:$PATH" timeout "$client_timeout" "$codex" exec --skip-git-repo-check \
        "List the files here with the shell tool." < /dev/null > "$home/out" 2> "$home/out.err") || rc=$?
    check "$1" "$rc" "$home/out" "$work/gw-claude.log" "$2" "$4" "$3"
    # The shell tool really ran (`bash -lc sf`; a login shell resets PATH, so
    # it is not found — either way the output went back to the model).
    grep -q "sf" "$home/out.err" || fail "$1: codex did not run the tool"
}

# --- Claude Code -----------------------------------------------------------------
# Gateway URL and key from ANTHROPIC_BASE_URL / ANTHROPIC_API_KEY; no
# non-essential traffic (auto-update, telemetry, error reporting, release
# notes); a fresh HOME so no user settings apply. Default model settings; only
# the Bash tool is offered (so it is the emulator's "first tool") and allowed:
# with the default tools the first is Agent, whose sub-agents would get a tool
# call again and again.
run_claude() { # name gateway-url gateway-log provider upstream-path
    local home="$work/$1"
    mkdir -p "$home/project"
    local rc=0
    (cd "$home/project" && env HOME="$home" ANTHROPIC_BASE_URL="$2" ANTHROPIC_API_KEY=sk-client-0001 \
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_AUTOUPDATER=1 DISABLE_TELEMETRY=1 \
        DISABLE_ERROR_REPORTING=1 PATH="$work/bin:$PATH" \
        timeout "$client_timeout" "$claude" -p "List the files here with the Bash tool." \
        --tools Bash --allowedTools Bash < /dev/null > "$home/out" 2> "$home/out.err") || rc=$?
    # The model Claude Code chose (its default): the one the emulator saw.
    local model
    model=$(curl -fsS "$emu/_mock/requests" | python3 -c '
import json, sys
print(next((r["model"] for r in json.load(sys.stdin) if r["model"]), ""))')
    check "$1" "$rc" "$home/out" "$3" "$model" "$4" "$5"
    grep -q "Tool said: switchyard-tool-ran" "$home/out" || fail "$1: the tool result did not reach the model"
}

for r in $runs; do
    curl -fsS -X DELETE -o /dev/null "$emu/_mock/requests"
    case $r in
        codex-bridged) run_codex codex-bridged gpt-bridged /v1/chat/completions chatonly ;;
        codex-native) run_codex codex-native gpt-native /v1/responses native ;;
        claude-claude) run_claude claude-claude "$gw_a" "$work/gw-claude.log" claude /v1/messages ;;
        claude-openai) run_claude claude-openai "$gw_b" "$work/gw-openai.log" chatonly /v1/chat/completions ;;
        *) fail "unknown run $r (codex-bridged codex-native claude-claude claude-openai)" ;;
    esac
done
say "all passed in $((SECONDS - started))s"
