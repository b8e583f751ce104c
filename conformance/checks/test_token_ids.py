"""Token ids from vLLM (``return_token_ids``) are the ones RL training can trust.

Against our real vLLM server (marked ``live``) and replayed from cassettes recorded from it:

- the prompt ids count equals the server's ``usage.prompt_tokens``, the response ids count its
  ``usage.completion_tokens`` (read from the wire, and as our VLLMModel reported them);
- the response ids decode, with the served model's own tokenizer (bundled, offline), to exactly
  the streamed text; a tool call's ids decode to the ``<tool_call>`` block the agent executed;
- a multi-turn Agent run with a tool gives trajectories where ``len(loss_mask) == len(token_ids)``
  and both mask values occur; prompt drift between turns is reported, not hidden;
- an unknown tool forced on the model is answered by ToolCallValidationHooks, and that exact
  error is in the ids of the next prompt the model saw.

These checks are vLLM-specific, so they drive one provider and one server themselves rather than
the suite's provider x case matrix; they use the suite's cassette, capture and replay modules.
Re-record: ``pytest conformance/checks/test_token_ids.py --conformance-live --conformance-record -m live``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from strands import Agent, tool
from strands.hooks import BeforeModelCallEvent, HookProvider, HookRegistry

from conformance.capture import Capture
from conformance.cassette import Cassette, Interaction, load_cassette, write_cassette_atomically
from conformance.plugin import SETTINGS_KEY
from conformance.replay import Replay
from conformance.wires import RECORDINGS_DIR
from providers import VLLMModel
from providers.training import ModelCallTokens, TokenManager, TokenRecorder, ToolCallValidationHooks
from providers.training.tokenizer import SERVED_MODEL_ID, decode, encode

CASSETTE_DIR = RECORDINGS_DIR / "openai-chat"
REPLAY_BASE_URL = "http://vllm.replay/v1"
TOOL_CALL_BLOCK = re.compile(r"<tool_call>\s*(\{.*\})\s*</tool_call>", re.DOTALL)


@tool
def calculator(expression: str) -> str:
    """Evaluate a product, sum or difference of two whole numbers.

    Args:
        expression: two whole numbers joined by *, + or -, e.g. "6*7"
    """
    match = re.fullmatch(r"\s*(\d+)\s*([*+-])\s*(\d+)\s*", expression)
    if match is None:
        raise ValueError(f"calculator takes 'A*B', 'A+B' or 'A-B' with whole numbers, got {expression!r}")
    left, operator, right = int(match[1]), match[2], int(match[3])
    return str(left * right if operator == "*" else left + right if operator == "+" else left - right)


class ForceFirstToolCall(HookProvider):
    """Makes the first model call a tool call (the 135M model never calls one by itself).

    vLLM's ``structured_outputs.regex`` constrains sampling to a hermes ``<tool_call>`` block, so the
    server's own tool parser turns it into streamed ``tool_calls``; later calls are unconstrained.
    """

    def __init__(self, regex: str, params: dict[str, Any]) -> None:
        self.regex = regex
        self.params = params
        self.calls = 0

    def register_hooks(self, registry: HookRegistry, **kwargs: Any) -> None:
        registry.add_callback(BeforeModelCallEvent, self.before_model_call)

    def before_model_call(self, event: BeforeModelCallEvent) -> None:
        params = dict(self.params)
        if self.calls == 0:
            params["structured_outputs"] = {"regex": self.regex}
        self.calls += 1
        event.agent.model.update_config(params=params)


@dataclass
class Scenario:
    case: str
    prompt: str
    params: dict[str, Any]
    forced_tool_regex: str | None = None


TEXT = Scenario("tokens_text", "Say hello in five words.", {"temperature": 0.0, "max_tokens": 64})
TOOL_RUN = Scenario(
    "tokens_tool_run",
    "What is 6 times 7? Use the calculator tool.",
    {"temperature": 0.0, "max_tokens": 200},
    r'<tool_call>\n\{"name": "calculator", "arguments": \{"expression": "[0-9]{1,3} ?[*+-] ?[0-9]{1,3}"\}\}\n</tool_call>',
)
UNKNOWN_TOOL = Scenario(
    "tokens_unknown_tool",
    "Print the word hello.",
    {"temperature": 0.0, "max_tokens": 200},
    r'<tool_call>\n\{"name": "fake_tool", "arguments": \{"text": "[a-z]{1,8}"\}\}\n</tool_call>',
)
SCENARIOS = {scenario.case: scenario for scenario in (TEXT, TOOL_RUN, UNKNOWN_TOOL)}


@dataclass
class ScenarioRun:
    """What one scenario's Agent run left to judge: the recorded token ids, the messages, the traffic."""

    recorder: TokenRecorder
    messages: list[dict[str, Any]]
    interactions: list[Interaction]


def run_scenario(scenario: Scenario, base_url: str) -> tuple[TokenRecorder, list[dict[str, Any]]]:
    model = VLLMModel(base_url=base_url, model_id=SERVED_MODEL_ID, return_token_ids=True, params=scenario.params)
    recorder = TokenRecorder()
    hooks: list[HookProvider] = [ToolCallValidationHooks()]
    if scenario.forced_tool_regex:
        hooks.append(ForceFirstToolCall(scenario.forced_tool_regex, scenario.params))
    agent = Agent(model=model, tools=[calculator], hooks=hooks, callback_handler=recorder)
    agent(scenario.prompt)
    return recorder, agent.messages


def cassette_path(case: str) -> Path:
    return CASSETTE_DIR / f"{case}.vllm.json"


# -- the checks, shared by live and replay --------------------------------------------------------

def wire_usage(interaction: Interaction) -> dict[str, int]:
    """The ``usage`` object of one recorded SSE response, read straight from the bytes."""
    found = []
    for line in interaction.response.body.decode("utf-8").splitlines():
        if line.startswith("data:") and line[5:].strip() not in ("", "[DONE]"):
            chunk = json.loads(line[5:])
            if chunk.get("usage"):
                found.append(chunk["usage"])
    assert len(found) == 1, f"expected exactly one usage chunk in the response, found {len(found)}"
    return found[0]


def check_counts(scenario_run: ScenarioRun) -> None:
    history = scenario_run.recorder.history
    assert len(history) == len(scenario_run.interactions), (
        f"{len(history)} model calls recorded but {len(scenario_run.interactions)} requests on the wire"
    )
    for call, interaction in zip(history, scenario_run.interactions):
        assert interaction.request.body.get("return_token_ids") is True, "the request did not ask for token ids"
        usage = wire_usage(interaction)
        assert call.prompt_token_ids and call.token_ids, f"model call {call.index} carried no token ids"
        assert len(call.prompt_token_ids) == usage["prompt_tokens"], (
            f"model call {call.index}: {len(call.prompt_token_ids)} prompt ids, usage.prompt_tokens={usage['prompt_tokens']}"
        )
        assert len(call.token_ids) == usage["completion_tokens"], (
            f"model call {call.index}: {len(call.token_ids)} response ids, usage.completion_tokens={usage['completion_tokens']}"
        )
        assert call.usage is not None
        assert (call.usage.input_tokens, call.usage.output_tokens) == (usage["prompt_tokens"], usage["completion_tokens"])


def check_text_decodes(call: ModelCallTokens) -> None:
    assert call.token_ids
    assert decode(call.token_ids) == call.text, (
        f"model call {call.index}: ids decode to {decode(call.token_ids)!r}, the stream said {call.text!r}"
    )


def tool_uses(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [block["toolUse"] for message in messages for block in message["content"] if "toolUse" in block]


def tool_results(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [block["toolResult"] for message in messages for block in message["content"] if "toolResult" in block]


def check_tool_call_decodes(call: ModelCallTokens, tool_use: dict[str, Any]) -> None:
    assert call.token_ids and call.stop_reason == "tool_use" and call.tool_use_count == 1
    decoded = decode(call.token_ids)
    block = TOOL_CALL_BLOCK.search(decoded)
    assert block is not None, f"model call {call.index}: ids decode to {decoded!r}, no <tool_call> block"
    parsed = json.loads(block[1])
    assert parsed == {"name": tool_use["name"], "arguments": tool_use["input"]}, (
        f"the sampled call {parsed} is not the call the agent ran {tool_use}"
    )


def check_trajectories(scenario_run: ScenarioRun, record_property: Callable[[str, Any], None]) -> TokenManager:
    manager = TokenManager.from_history(scenario_run.recorder.history)
    masks = set()
    for trajectory in manager.trajectories:
        assert len(trajectory.loss_mask) == len(trajectory.token_ids)
        assert sum(len(s) for s in trajectory.segments) == len(trajectory.token_ids)
        masks |= set(trajectory.loss_mask)
    assert masks == {0, 1}, f"loss mask values seen: {sorted(masks)}"
    responses = sum(len(call.token_ids or ()) for call in scenario_run.recorder.history)
    assert sum(sum(t.loss_mask) for t in manager.trajectories) == responses
    record_property("trajectory_drifts", [drift.describe() for drift in manager.drifts])
    for drift in manager.drifts:
        print(f"[token-ids] DRIFT {drift.describe()}")
    return manager


def check_scenario(scenario: Scenario, scenario_run: ScenarioRun, record_property: Callable[[str, Any], None]) -> None:
    check_counts(scenario_run)
    history = scenario_run.recorder.history
    if scenario is TEXT:
        assert len(history) == 1
        check_text_decodes(history[0])
        return
    assert len(history) == 2, f"expected a tool call then an answer, got {len(history)} model calls"
    uses, results = tool_uses(scenario_run.messages), tool_results(scenario_run.messages)
    assert len(uses) == 1 and len(results) == 1
    check_tool_call_decodes(history[0], uses[0])
    check_text_decodes(history[1])
    check_trajectories(scenario_run, record_property)
    result_text = results[0]["content"][0]["text"]
    if scenario is UNKNOWN_TOOL:
        assert results[0]["status"] == "error"
        assert result_text == "Error: unknown tool: fake_tool | allowed_tools=[calculator]"
    else:
        assert results[0]["status"] == "success"
    # What the tool answered is what the model read next, token for token.
    assert history[1].prompt_token_ids is not None
    assert decode(history[1].prompt_token_ids).count(result_text) == 1, (
        f"the tool result {result_text!r} is not in the next prompt the model saw"
    )


# -- replay (offline) -----------------------------------------------------------------------------

@pytest.mark.parametrize("case", list(SCENARIOS))
def test_token_ids_replayed(case: str, record_property: Callable[[str, Any], None]) -> None:
    cassette = load_cassette(cassette_path(case))
    with Replay(cassette) as replay:
        recorder, messages = run_scenario(SCENARIOS[case], REPLAY_BASE_URL)
    assert not replay.mismatches, replay.mismatches[0]
    assert not replay.unplayed(), f"{len(replay.unplayed())} recorded interaction(s) never played"
    check_scenario(SCENARIOS[case], ScenarioRun(recorder, messages, cassette.interactions), record_property)


# -- live (real vLLM) -----------------------------------------------------------------------------

@pytest.fixture
def vllm_root(request: pytest.FixtureRequest) -> str:
    """``--conformance-live --conformance-base-url`` names a running vLLM server; otherwise the session's own one is started."""
    if not request.config.getoption("--conformance-live", default=False):
        pytest.skip("live token-id check: runs with --conformance-live (an offline run never starts a server)")
    base_url = request.config.getoption("--conformance-base-url", default=None)
    if base_url:
        # Only vLLM returns token ids: a --conformance-base-url of another server kind is not this check's to judge.
        probed = getattr(request.config.stash.get(SETTINGS_KEY, None), "probed", None)
        if probed is not None and probed.kind != "vllm":
            pytest.skip(f"live token-id check needs vLLM (return_token_ids); --conformance-base-url {base_url} is a "
                        f"{probed.kind} server")
        return str(base_url).rstrip("/")
    return str(request.getfixturevalue("conformance_vllm_server").base_url)


def mark_streams_ended_by_done(capture: Capture) -> None:
    """Count a stream as read to its end when its body ends with the SSE ``[DONE]`` event.

    The provider stops reading at ``[DONE]`` (the server's explicit end), which the capture counts
    as an unread body; what it holds is nevertheless the server's whole answer.
    """
    for exchange in capture.exchanges:
        body = b"".join(chunk.data for chunk in exchange.chunks)
        if exchange.end is None and body.rstrip().endswith(b"data: [DONE]"):
            exchange.end, exchange.error = "complete", None


@pytest.mark.live
@pytest.mark.parametrize("case", list(SCENARIOS))
def test_token_ids_live(
    case: str, vllm_root: str, request: pytest.FixtureRequest, record_property: Callable[[str, Any], None]
) -> None:
    scenario = SCENARIOS[case]
    with Capture() as capture:
        recorder, messages = run_scenario(scenario, vllm_root + "/v1")
    mark_streams_ended_by_done(capture)
    assert not capture.incomplete_reasons(), capture.incomplete_reasons()
    interactions = capture.interactions()
    check_scenario(scenario, ScenarioRun(recorder, messages, interactions), record_property)
    if request.config.getoption("--conformance-record", default=False):
        version = httpx.get(vllm_root + "/version", timeout=5).json().get("version", "unknown")
        write_cassette_atomically(
            Cassette(
                wire="openai-chat",
                case=case,
                source={"kind": "recorded", "server": "vllm", "server_version": f"vllm {version}",
                        "model": SERVED_MODEL_ID, "provider": "vllm", "by": "conformance/checks/test_token_ids.py",
                        "recorded_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d")},
                interactions=interactions,
            ),
            cassette_path(case),
        )


@pytest.mark.live
def test_bundled_tokenizer_is_the_served_one(vllm_root: str) -> None:
    """The server's own /tokenize and /detokenize agree with the bundled tokenizer."""
    texts = ["HAVING", "Hello, world! 123 45.6", "naïve café résumé", "def f(x):\n    return x ** 2\n",
             "<tool_call>\n{\"name\": \"calculator\"}\n</tool_call>", "https://example.com/a?b=c&d=e"]
    with httpx.Client(base_url=vllm_root, timeout=30) as client:
        for text in texts:
            answer = client.post("/tokenize", json={"model": SERVED_MODEL_ID, "prompt": text, "add_special_tokens": False})
            assert answer.status_code == 200, answer.text
            served = answer.json()["tokens"]
            assert served == encode(text), f"{text!r}: server {served}, bundled {encode(text)}"
            back = client.post("/detokenize", json={"model": SERVED_MODEL_ID, "tokens": served})
            assert back.status_code == 200, back.text
            assert back.json()["prompt"] == decode(served) == text
