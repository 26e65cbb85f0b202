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

# shellcheck source=tests/python-env.sh
source "$root/tests/python-env.sh"
prepare_python_env console

export PYTHONDONTWRITEBYTECODE=1  # keep tests/console free of __pycache__
timeout --kill-after=10 "${CONSOLE_TEST_TIMEOUT:-180}" \
    "$venv/bin/python" -m pytest -q -p no:cacheprovider --durations=5 "$root/tests/console" "$@"
