#!/usr/bin/env bash
# The README's test command: every test, live-server tests included. Provisions the real llama.cpp
# and vLLM servers once into the user cache directory (the first run builds them, beside the first
# session), then runs four pytest sessions; extra arguments go to each of them.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
bash scripts/install-system-deps.sh
# The matrix accumulates the sessions written to its folder (replay and live columns): start afresh.
rm -rf reports/conformance reports/tests
mkdir -p reports/tests

# Provisioning runs beside the tests that need no server: on a bare machine the llama.cpp build takes
# many minutes of both cores, while the unit tests and the offline matrix are one pytest process on one
# core. Provisioning is niced so those tests keep their core; its output goes to a log, shown on failure.
provision_log() { echo "reports/tests/provision-$1.log"; }
nice -n 10 python -m conformance.servers provision llamacpp >"$(provision_log llamacpp)" 2>&1 & llamacpp_job=$!
nice -n 10 python -m conformance.servers provision vllm >"$(provision_log vllm)" 2>&1 & vllm_job=$!

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

# Unit tests and the offline conformance matrix: no server needed.
run core tests conformance --ignore=tests/loadtests -m "not live" "$@"

# Every later session needs both servers. Each provisioning step has its own time limit.
for name in llamacpp vllm; do
    job="${name}_job"
    if wait "${!job}"; then
        echo "[tests] $name provisioned: $(tail -n 1 "$(provision_log "$name")")"
    else
        echo "[tests] provisioning $name failed (the message names the step and its log); $(provision_log "$name") ends:" >&2
        tail -n 30 "$(provision_log "$name")" >&2
        exit 1
    fi
done

# The live-server smoke tests: start, stop, nothing left behind.
run servers tests --ignore=tests/loadtests -m live "$@"
# The conformance suite live against both local servers.
run conformance-live conformance --conformance-live "$@"
# Locust monkey-patches the whole process when imported, so its tests run in a pytest of their own.
run loadtests tests/loadtests "$@"
exit $status
