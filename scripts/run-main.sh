#!/usr/bin/env bash
# The README's main command, on embedded defaults (no GPU, no cloud account, no key, no server):
# 1. the offline conformance matrix of every reference provider against the recorded cassettes;
# 2. a short load test of the embedded vLLM simulator with the Locust scenario.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
# The matrix accumulates the runs written to its folder: start this one afresh.
rm -rf reports/conformance
mkdir -p reports/conformance reports/load

echo "[main] conformance matrix, offline, every reference provider"
set +e
python -m pytest conformance -q -rfE -p no:cacheprovider --junitxml=reports/conformance/junit.xml
conformance_status=$?
set -e

echo "[main] load test of the embedded vLLM simulator (15 s, 16 users)"
set +e
locust -f loadtests/vllm.py --headless -u 16 -r 16 -t 15s --only-summary
load_status=$?
set -e

echo "[main] reports: reports/conformance/matrix.md, reports/conformance/matrix.html, reports/load/"
[ "$conformance_status" -eq 0 ] && [ "$load_status" -eq 0 ]
