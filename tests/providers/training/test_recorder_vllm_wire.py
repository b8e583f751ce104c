"""TokenRecorder with our real VLLMModel, over vLLM-shaped SSE chunks served in-process by respx."""

from __future__ import annotations

import json

import httpx
import respx
from strands import Agent

from providers import VLLMModel
from providers.training import TokenManager, TokenRecorder


def _sse(*chunks: dict) -> bytes:
    return b"".join(b"data: " + json.dumps(chunk).encode() + b"\n\n" for chunk in chunks) + b"data: [DONE]\n\n"


def _choice(delta: dict, ids: list[int], finish: str | None = None) -> dict:
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish, "token_ids": ids}]}


# The shape vLLM 0.32 streams with return_token_ids (see recordings/openai-chat/tokens_text.vllm.json):
# prompt ids on the first chunk, ids per content chunk, the end-of-turn id on the finish chunk.
BODY = _sse(
    {"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}],
     "prompt_token_ids": [1, 9690, 198, 2, 198, 1, 4093, 198, 6004, 2, 198, 1, 520, 9531, 198]},
    _choice({"content": "Hello"}, [19556]),
    _choice({"content": ", world"}, [28, 905]),
    _choice({}, [2], "stop"),
    {"choices": [], "usage": {"prompt_tokens": 15, "completion_tokens": 4, "total_tokens": 19}},
)


@respx.mock(assert_all_called=True)
def test_vllm_model_ids_reach_the_recorder_and_the_request_asks_for_them(respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post("http://vllm.test/v1/chat/completions").mock(
        return_value=httpx.Response(200, headers={"content-type": "text/event-stream"}, content=BODY)
    )
    recorder = TokenRecorder()
    model = VLLMModel(base_url="http://vllm.test/v1", model_id="smollm2", return_token_ids=True)

    Agent(model=model, callback_handler=recorder)("hi")

    assert json.loads(route.calls.last.request.content)["return_token_ids"] is True
    (call,) = recorder.history
    assert len(call.prompt_token_ids or ()) == 15 and call.token_ids == (19556, 28, 905, 2)
    assert call.text == "Hello, world" and call.usage is not None and call.usage.output_tokens == 4
    manager = TokenManager.from_history(recorder.history)
    assert manager.loss_mask == [0] * 15 + [1] * 4
