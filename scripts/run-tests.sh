#!/usr/bin/env bash
# The README's test command: every test, live-server tests included. Provisions the real llama.cpp
# and vLLM servers once into the user cache directory (the first run builds them), then runs three
# pytest sessions; extra arguments go to each of them.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
bash scripts/install-system-deps.sh
# The matrix accumulates the sessions written to its folder (replay and live columns): start afresh.
rm -rf reports/conformance reports/tests
mkdir -p reports/tests

# Provisioning first and on its own, so a failure names its step before any test runs. Both servers
# at once (their steps take file locks; the llama.cpp build is the long one on a cold machine).
python -m conformance.servers provision llamacpp & llamacpp_job=$!
python -m conformance.servers provision vllm & vllm_job=$!
llamacpp_status=0; wait "$llamacpp_job" || llamacpp_status=$?
vllm_status=0; wait "$vllm_job" || vllm_status=$?
if [ "$llamacpp_status" -ne 0 ] || [ "$vllm_status" -ne 0 ]; then
    echo "[tests] provisioning the live servers failed (the message above names the step and its log)" >&2
    exit 1
fi

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
    echo "[tests] $name: exit $code"
}

# Unit tests, live-server smoke tests and the offline conformance matrix.
run core tests conformance --ignore=tests/loadtests "$@"
# The conformance suite live against both local servers.
run conformance-live conformance --conformance-live "$@"
# Locust monkey-patches the whole process when imported, so its tests run in a pytest of their own.
run loadtests tests/loadtests "$@"
exit $status
