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

# shellcheck source=tests/python-env.sh
source "$root/tests/python-env.sh"
prepare_python_env sdk

export PYTHONDONTWRITEBYTECODE=1  # keep tests/sdk free of __pycache__
timeout --kill-after=10 "${SDK_TEST_TIMEOUT:-600}" \
    "$venv/bin/python" -m pytest -q -p no:cacheprovider --durations=5 "$root/tests/sdk" "$@"
