#!/usr/bin/env bash
# SDK acceptance tests: the official `openai` and `anthropic` Python SDKs talk to
# the gateway, which translates to each provider dialect of the emulator.
#
#   bash tests/sdk/run.sh [pytest args...]
#
# Env: SWITCHYARD_BIN (skip the cargo build and use this binary),
#      SDK_TEST_TIMEOUT (seconds for the whole pytest run, default 600),
#      PYTHON (interpreter used to create the venv, default python3).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

venv="$root/target/sdk-venv"
reqs="$root/tests/sdk/requirements.txt"
stamp="$venv/.requirements.sha256"

if [[ ! -x "$venv/bin/python" ]]; then
    echo "sdk: creating venv in target/sdk-venv" >&2
    mkdir -p "$root/target"
    "${PYTHON:-python3}" -m venv "$venv"
fi
want="$(sha256sum "$reqs" | cut -d' ' -f1)"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    echo "sdk: installing tests/sdk/requirements.txt" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$reqs"
    echo "$want" > "$stamp"
fi

if [[ -z "${SWITCHYARD_BIN:-}" ]]; then
    echo "sdk: cargo build -p switchyard" >&2
    cargo build --quiet -p switchyard
    export SWITCHYARD_BIN="$root/target/debug/switchyard"
fi
if [[ ! -x "$SWITCHYARD_BIN" ]]; then
    echo "sdk: SWITCHYARD_BIN=$SWITCHYARD_BIN is not an executable" >&2
    exit 2
fi

export PYTHONDONTWRITEBYTECODE=1  # keep tests/sdk free of __pycache__
timeout --kill-after=10 "${SDK_TEST_TIMEOUT:-600}" \
    "$venv/bin/python" -m pytest -q -p no:cacheprovider --durations=5 "$root/tests/sdk" "$@"
