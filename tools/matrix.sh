#!/usr/bin/env bash
# Run the test suite under every supported Python with tox. Interpreters are looked up on PATH,
# then among pyenv's versions; a missing one is reported and fails the run (never skipped).
set -euo pipefail
cd "$(dirname "$0")/.."

# MATRIX_VERSIONS narrows the list (CI skips the version `make test` has just run).
read -r -a versions <<< "${MATRIX_VERSIONS:-3.10 3.11 3.12 3.13}"
extra_path=""
missing=()
pyenv_root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
for v in "${versions[@]}"; do
    found=""
    for dir in "$pyenv_root"/versions/"$v".*/bin; do
        [[ -x "$dir/python$v" ]] && found="$dir"
    done
    if [[ -z $found ]] && command -v "python$v" >/dev/null 2>&1; then
        candidate=$(command -v "python$v")
        # A pyenv shim answers for versions it does not have; ask it to run.
        "$candidate" -c 'pass' >/dev/null 2>&1 && found=$(dirname "$candidate")
    fi
    if [[ -z $found ]]; then
        missing+=("$v")
    else
        echo "Python $v: $found/python$v"
        extra_path="$extra_path:$found"
    fi
done
if ((${#missing[@]})); then
    echo "error: no interpreter for Python ${missing[*]} (install it, e.g. 'pyenv install ${missing[0]}')" >&2
    exit 1
fi
envs=$(printf 'py%s,' "${versions[@]//./}")
# MATRIX_PARALLEL=N runs N versions at once: the suite mostly waits (on children, servers and
# timers) rather than computing, so on 2 cores three at once take about half the wall time.
if [[ -n ${MATRIX_PARALLEL:-} ]]; then
    PATH="${extra_path#:}:$PATH" exec .venv/bin/tox run-parallel -p "$MATRIX_PARALLEL" \
        --parallel-no-spinner -e "${envs%,}" "$@"
fi
PATH="${extra_path#:}:$PATH" exec .venv/bin/tox run -e "${envs%,}" "$@"
