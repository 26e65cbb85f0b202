# Shared by the Python test suites (tests/sdk, tests/console); sourced, not run.
#
#   prepare_python_env NAME  ->  $venv: target/NAME-venv with tests/NAME/requirements.txt
#                                installed (again only when that file changes), and
#                                $SWITCHYARD_BIN: the binary under test (built unless set).
# Needs $root (the repository). PYTHON: interpreter for the venv (default python3).
prepare_python_env() {
    local name=$1
    local reqs="$root/tests/$name/requirements.txt"
    venv="$root/target/$name-venv"
    local stamp="$venv/.requirements.sha256"
    if [[ ! -x "$venv/bin/python" ]]; then
        echo "$name: creating venv in target/$name-venv" >&2
        mkdir -p "$root/target"
        "${PYTHON:-python3}" -m venv "$venv"
    fi
    local want
    want="$(sha256sum "$reqs" | cut -d' ' -f1)"
    if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
        echo "$name: installing tests/$name/requirements.txt" >&2
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$reqs"
        echo "$want" > "$stamp"
    fi
    if [[ -z "${SWITCHYARD_BIN:-}" ]]; then
        echo "$name: cargo build -p switchyard" >&2
        cargo build --quiet -p switchyard
        export SWITCHYARD_BIN="${CARGO_TARGET_DIR:-$root/target}/debug/switchyard"
    fi
    if [[ ! -x "$SWITCHYARD_BIN" ]]; then
        echo "$name: SWITCHYARD_BIN=$SWITCHYARD_BIN is not an executable" >&2
        exit 2
    fi
}
