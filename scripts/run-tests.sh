#!/usr/bin/env bash
# The README's test command: every test, live-server tests included. Starts the real llama.cpp and
# vLLM servers on demand (provisioned once into the user cache directory; the first run builds them).
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
mkdir -p reports/tests

status=0
run() {
    local name="$1"; shift
    echo "[tests] $name: pytest $*"
    set +e
    python -m pytest "$@" --junitxml="reports/tests/$name.xml"
    local code=$?
    set -e
    if [ "$code" -eq 5 ]; then
        echo "[tests] $name collected no tests: that is a broken test layout, not a pass" >&2
        code=1
    fi
    [ "$code" -eq 0 ] || status=$code
}

# Locust monkey-patches the whole process when imported, so its tests run in a pytest of their own.
run core tests conformance --ignore=tests/loadtests "$@"
run loadtests tests/loadtests "$@"
exit $status
