#!/usr/bin/env bash
# Certify the upstream providers with the conformance gate (replayed cassettes, offline):
#   strands-agents' providers, each on its wire: OpenAIModel and LlamaCppModel (openai-chat),
#   AnthropicModel, OllamaModel, WriterModel, LlamaAPIModel, MistralModel, LiteLLMModel on their own wires,
#   BedrockModel (bedrock-converse), OpenAIResponsesModel (openai-responses), GeminiModel (gemini, google-genai on
#   aiohttp: loopback), SageMakerAIModel (sagemaker, boto3: loopback); and the community providers strands-neuron's NeuronModel and
#   strands-amazon-nova's NovaAPIModel (openai-chat), strands-vllm's VLLMModel (openai-chat) and
#   strands-sglang's SGLangModel (sglang-generate).
# A provider whose pins clash with the project's venv gets a venv of its own, .venv/upstream-<name>
# (own_venv below): strands-vllm 0.0.6 needs openai<2 (the project needs openai 2), strands-sglang 0.6.2
# needs Python 3.12 and transformers 5. The others run in the project venv (the `upstream` extra).
# Clients that are not on httpx (boto3, mistralai's httpx2, litellm's aiohttp) replay through the loopback
# server on 127.0.0.1; litellm loads its bundled model cost map (LITELLM_LOCAL_MODEL_COST_MAP=True).
# Each run gates on conformance/baselines/upstream-<name>.json (known upstream defects as strict
# expected failures) and adds its column to reports/upstream/matrix.{md,html}.
# Usage: bash scripts/certify-upstream.sh [--write-baselines] [NAME...]
#        (names: openai openai_responses llamacpp neuron vllm anthropic ollama writer llamaapi bedrock gemini sagemaker
#         mistral litellm nova sglang)
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
set +e

mode="--conformance-baseline"
if [ "${1:-}" = "--write-baselines" ]; then mode="--conformance-write-baseline"; shift; fi
names=("$@")
[ "${#names[@]}" -gt 0 ] || names=(openai openai_responses llamacpp neuron vllm anthropic ollama writer llamaapi bedrock gemini sagemaker mistral litellm nova sglang)

# An interpreter of at least version $1: on PATH, or one that pyenv has installed.
python_at_least() {
    local candidate
    for candidate in python3 python3.12 python3.13 $(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.*/bin/python3 2>/dev/null | sort -V); do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c "import sys; sys.exit(sys.version_info < tuple(map(int, '$1'.split('.'))))" 2>/dev/null; then
            echo "$candidate"; return
        fi
    done
    echo "[certify] no Python $1 or newer on PATH or in pyenv; install one" >&2
    return 2
}

# own_venv NAME PYTHON DROP REQUIREMENT...: the python of .venv/upstream-NAME, made once per change of its
# recipe: PYTHON's venv with the project's dependencies and test extra (less those starting with DROP,
# when DROP is not empty: the requirement brings its own pin), the REQUIREMENTs, and the project itself.
own_venv() {
    local name=$1 base=$2 drop=$3; shift 3
    local venv=".venv/upstream-$name"
    local stamp="$venv/.installed-$( (cat pyproject.toml; echo "$base $drop $*") | sha256sum | cut -c1-16)"
    if [ ! -f "$stamp" ]; then
        echo "[certify] making $venv for $* (${drop:+no project pin on $drop, }$("$base" --version))" >&2
        "$base" -m venv "$venv" || return 2
        mapfile -t deps < <(DROP="$drop" "$venv/bin/python" -c '
import os, tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
drop = os.environ["DROP"]
for dep in project["dependencies"] + project["optional-dependencies"]["test"]:
    if not (drop and dep.startswith(drop)):
        print(dep)')
        "$venv/bin/python" -m pip install --quiet "$@" "${deps[@]}" 2>&1 | grep -v 'is ignored: it is neither' >&2
        "$venv/bin/python" -m pip install --quiet --no-deps -e . 2>&1 | grep -v 'is ignored: it is neither' >&2
        "$venv/bin/python" -c 'import conformance.plugin' || return 2
        rm -f "$venv"/.installed-*; touch "$stamp"
    fi
    echo "$venv/bin/python"
}

status=0
for name in "${names[@]}"; do
    python_bin=python provider="conformance.upstream:$name" wire=openai-chat
    case "$name" in
        openai|llamacpp|neuron) ;;
        vllm) python_bin="$(own_venv vllm python openai strands-vllm==0.0.6)" || { status=2; continue; } ;;
        anthropic|ollama|writer) wire="$name" ;;
        llamaapi) wire=llama-api ;;
        bedrock) wire=bedrock-converse provider=conformance.upstream_bedrock:bedrock ;;
        mistral) wire=mistral provider=conformance.upstream_mistral:mistral ;;
        litellm) wire=litellm provider=conformance.upstream_litellm:litellm ;;
        nova) provider=conformance.upstream_nova:nova ;;
        sglang) wire=sglang-generate provider=conformance.upstream_sglang:sglang
                python_bin="$(own_venv sglang "$(python_at_least 3.12)" "" strands-sglang==0.6.2)" || { status=2; continue; } ;;
        openai_responses) wire=openai-responses provider=conformance.upstream_responses:openai_responses ;;
        gemini) wire=gemini provider=conformance.upstream_gemini:gemini ;;
        sagemaker) wire=sagemaker provider=conformance.upstream_sagemaker:sagemaker ;;
        *) echo "[certify] unknown name $name" >&2; status=2; continue ;;
    esac
    baseline="conformance/baselines/upstream-$name.json"
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
- MistralModel (the mistralai SDK is on httpx2, which the in-process replay does not intercept) and
  LiteLLMModel (litellm's own aiohttp transport) replay through the loopback server too; LiteLLMModel
  runs with litellm's bundled model cost map (LITELLM_LOCAL_MODEL_COST_MAP=True), with no request
  leaving 127.0.0.1 (tests/conformance/test_upstream_litellm.py).
- strands-sglang's SGLangModel asks `/generate` for `"stream": false` (by design: RL rollouts want one
  answer), so it cannot read SGLang's stream, and every answer check of the sglang-generate wire fails it
  on that one defect; its request checks judge its prompt. It sends token ids:
  the factory gives it the suite's byte vocabulary and a ChatML/Hermes chat template, and answers its
  `/model_info` and `/v1/models` probes (which no cassette holds) as a text-only server with no context length.
NOTES
echo "[certify] matrix: reports/upstream/matrix.md, matrix.html; defects: reports/upstream/DEFECTS.md"
exit $status
