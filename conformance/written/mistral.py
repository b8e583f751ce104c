"""The written cassettes of the mistral wire: Mistral's chat stream, which no server here speaks.

OpenAI-shaped chunks (the shared table) with usage on the finish chunk, plus the finish reasons only
Mistral sends (`model_length`, `error`); the request stored is the one the reference provider sends.
"""

from __future__ import annotations

from typing import Any

from conformance.cases import Case
from conformance.written.builders import WrittenWire, limits
from conformance.written.openai_shaped import MISTRAL_MODEL, agent_answer, oc, oc_ok, oc_usage, openai_shaped


def _reference_model(case: Case) -> Any:
    from providers.mistral import MistralModel

    max_tokens, temperature = limits(case)
    return MistralModel("written", model_id="smollm2", max_tokens=max_tokens, temperature=temperature)


RESPONSES = {
    **openai_shaped(MISTRAL_MODEL, usage_separate=False),
    "finish_model_length": lambda: oc_ok(oc({"role": "assistant", "content": "Hello"}),
                                         oc({}, "model_length", oc_usage())),
    "finish_error": lambda: oc_ok(oc({"role": "assistant", "content": "Hel"}), oc({}, "error", oc_usage())),
}


REFERENCE = (
    "https://docs.mistral.ai/api/#tag/chat/operation/chat_completion_v1_chat_completions_post (streamed "
    "chunks, finish_reason stop/length/model_length/error/tool_calls, usage on the last chunk)"
)

WRITTEN = WrittenWire(
    wire="mistral", reference=REFERENCE, path="/v1/chat/completions", reference_model=_reference_model,
    responses=RESPONSES, extra_cases={"finish_model_length": "text_basic", "finish_error": "text_basic"},
    continuations={"agent_tool_loop": agent_answer},
)
# What the registry in conformance.written calls.
build = WRITTEN.build
