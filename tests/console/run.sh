#!/usr/bin/env bash
# Browser tests of the web console: a real headless Chromium (Selenium and
# chromedriver) logs in, adds a provider and a route, chats in the Playground
# and checks every page against a gateway and the emulator.
#
#   bash tests/console/run.sh [pytest args...]
#
# Needs `chromium` and `chromedriver` on PATH (Debian: apt-get install chromium
# chromium-driver). Screenshots of every page: target/console-screenshots/.
# Env: SWITCHYARD_BIN (skip the cargo build and use this binary),
#      CONSOLE_TEST_TIMEOUT (seconds for the whole run, default 180),
#      CHROMIUM, CHROMEDRIVER (paths, if not on PATH),
#      PYTHON (interpreter used to create the venv, default python3).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

for tool in chromium chromedriver; do
    var="$(echo "$tool" | tr a-z A-Z)"
    if [[ -z "${!var:-}" ]] && ! command -v "$tool" >/dev/null 2>&1; then
        echo "console: $tool not found (apt-get install chromium chromium-driver, or set $var)" >&2
        exit 2
    fi
done

venv="$root/target/console-venv"
reqs="$root/tests/console/requirements.txt"
stamp="$venv/.requirements.sha256"

if [[ ! -x "$venv/bin/python" ]]; then
    echo "console: creating venv in target/console-venv" >&2
    mkdir -p "$root/target"
    "${PYTHON:-python3}" -m venv "$venv"
fi
want="$(sha256sum "$reqs" | cut -d' ' -f1)"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    echo "console: installing tests/console/requirements.txt" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$reqs"
    echo "$want" > "$stamp"
fi

if [[ -z "${SWITCHYARD_BIN:-}" ]]; then
    echo "console: cargo build -p switchyard" >&2
    cargo build --quiet -p switchyard
    export SWITCHYARD_BIN="${CARGO_TARGET_DIR:-$root/target}/debug/switchyard"
fi
if [[ ! -x "$SWITCHYARD_BIN" ]]; then
    echo "console: SWITCHYARD_BIN=$SWITCHYARD_BIN is not an executable" >&2
    exit 2
fi

export PYTHONDONTWRITEBYTECODE=1  # keep tests/console free of __pycache__
timeout --kill-after=10 "${CONSOLE_TEST_TIMEOUT:-180}" \
    "$venv/bin/python" -m pytest -q -p no:cacheprovider --durations=5 "$root/tests/console" "$@"
