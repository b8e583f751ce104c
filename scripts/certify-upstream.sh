#!/usr/bin/env bash
# Certify the upstream providers with the conformance gate (replayed cassettes, offline):
#   strands-agents' OpenAIModel and LlamaCppModel, strands-neuron's NeuronModel (project venv, the
#   `upstream` extra), and strands-vllm's VLLMModel (its own venv in .venv/upstream-vllm, because
#   strands-vllm 0.0.6 needs openai<2 while the project needs openai 2).
# Each run gates on conformance/baselines/upstream-<name>.json (known upstream defects as strict
# expected failures) and adds its column to reports/upstream/matrix.{md,html}.
# strands-agents' AnthropicModel, OllamaModel, WriterModel and LlamaAPIModel run on their own wires;
# its BedrockModel (boto3, not httpx) on bedrock-converse through the loopback replay server.
# Usage: bash scripts/certify-upstream.sh [--write-baselines] [NAME...]
#        (names: openai llamacpp neuron vllm anthropic ollama writer llamaapi bedrock)
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
set +e

mode="--conformance-baseline"
if [ "${1:-}" = "--write-baselines" ]; then mode="--conformance-write-baseline"; shift; fi
names=("$@")
[ "${#names[@]}" -gt 0 ] || names=(openai llamacpp neuron vllm anthropic ollama writer llamaapi bedrock)

vllm_python() {
    local venv=.venv/upstream-vllm
    local stamp="$venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
    if [ ! -f "$stamp" ]; then
        echo "[certify] making $venv for strands-vllm 0.0.6 (openai<2)" >&2
        python -m venv "$venv" || return 2
        # The project's own dependencies and test extra, less its openai>=2 pin: strands-vllm brings openai 1.x.
        mapfile -t deps < <("$venv/bin/python" -c '
import tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
for dep in project["dependencies"] + project["optional-dependencies"]["test"]:
    if not dep.startswith("openai"):
        print(dep)')
        "$venv/bin/python" -m pip install --quiet "strands-vllm==0.0.6" "${deps[@]}" 2>&1 \
            | grep -v 'is ignored: it is neither' >&2
        "$venv/bin/python" -m pip install --quiet --no-deps -e . 2>&1 | grep -v 'is ignored: it is neither' >&2
        "$venv/bin/python" -c 'import strands_vllm, conformance.plugin' || return 2
        rm -f "$venv"/.installed-*; touch "$stamp"
    fi
    echo "$venv/bin/python"
}

status=0
for name in "${names[@]}"; do
    python_bin=python
    if [ "$name" = vllm ]; then python_bin="$(vllm_python)" || { status=2; continue; }; fi
    baseline="conformance/baselines/upstream-$name.json"
    provider="conformance.upstream:$name"
    case "$name" in
        anthropic|ollama|writer) wire="$name" ;;
        llamaapi) wire=llama-api ;;
        bedrock) wire=bedrock-converse; provider=conformance.upstream_bedrock:bedrock ;;
        *) wire=openai-chat ;;
    esac
    echo "[certify] $name: $mode $baseline"
    # Rewriting reads the baseline too, so the one-line reasons already written for known defects are kept.
    keep=()
    if [ "$mode" = "--conformance-write-baseline" ] && [ -f "$baseline" ]; then keep=("--conformance-baseline=$baseline"); fi
    "$python_bin" -m pytest conformance -m "not live" -q -p no:cacheprovider -o addopts="" \
        --conformance-provider "$provider" --conformance-wire "$wire" "${keep[@]}" \
        "$mode=$baseline" --conformance-matrix-dir=reports/upstream --junitxml="reports/upstream/junit-$name.xml"
    code=$?
    echo "[certify] $name: exit $code"
    [ "$mode" = "--conformance-write-baseline" ] || [ "$code" -eq 0 ] || status=$code
done
python -m conformance.report.defects conformance/baselines/upstream-*.json > reports/upstream/DEFECTS.md
cat >> reports/upstream/DEFECTS.md <<'NOTES'
Not in the baselines:
- strands-neuron 0.1.3 probes `GET {base_url}/models` (blocking, 2 s timeout, two URLs) in its constructor:
  run as shipped (`conformance.upstream:neuron_as_shipped`) every replayed check fails on that request;
  the `neuron` column has the probe turned off so the other checks can judge its streaming code.
- WriterModel and LlamaAPIModel log `APIConnectionError` in the Agent checks: that is the replay refusing
  a second request no cassette holds (respx `SideEffectError` -> the SDK's connection error), so their
  transport is intercepted. The second request comes from an upstream defect: the tool call's arguments,
  sent in the delta that opens the call, are dropped, so the tool gets {} and the Agent retries.
- BedrockModel (boto3) replays through the loopback server on 127.0.0.1 (`conformance.upstream_bedrock:bedrock`).
  It forwards Bedrock's events as they come, so text and reasoning blocks open with their first delta (no
  contentBlockStart, which Bedrock sends only for tool blocks): the Strands loop and the validator accept
  that, so it is not a defect. A dropped connection raises urllib3's ProtocolError unmapped (it does raise).
- Not certified: MistralModel (the mistralai SDK is on httpx2, which the in-process replay does not
  intercept), LiteLLMModel (litellm fetches its model cost map over the network at run time; needs
  LITELLM_LOCAL_MODEL_COST_MAP=True).
NOTES
echo "[certify] matrix: reports/upstream/matrix.md, matrix.html; defects: reports/upstream/DEFECTS.md"
exit $status
