"""The written cassettes of the writer wire: Writer's chat stream, which no server here speaks.

OpenAI-shaped chunks (the shared table) with usage in a chunk of its own, plus tool-call arguments
split through escapes; the request stored is the one the reference provider sends.
"""

from __future__ import annotations

from typing import Any

from conformance.cases import Case
from conformance.written.builders import WrittenWire, limits
from conformance.written.openai_shaped import agent_answer, oc_call, oc_ok, openai_shaped, tool

MODEL = "palmyra-x5"
ARGUMENT_PIECES = ("{", '"c', "it", 'y"', ": ", '"T\\', "u00f6", "ky", 'o\\"', '"}')


def _reference_model(case: Case) -> Any:
    from providers.writer import WriterModel

    max_tokens, temperature = limits(case)
    return WriterModel({"api_key": "written"}, model_id="smollm2", max_tokens=max_tokens, temperature=temperature)


def _first_only(number: int, value: str) -> str | None:
    return value if number == 0 else None


RESPONSES = {
    **openai_shaped(MODEL, usage_separate=True),
    "tool_split_arguments": lambda: oc_ok(*tool(MODEL, True, *[
        oc_call(_first_only(number, "call_written01"), _first_only(number, "get_weather"), piece)
        for number, piece in enumerate(ARGUMENT_PIECES)])),
}


REFERENCE = (
    "https://dev.writer.com/api-reference/completion-api/chat-completion (streamed chat.completion.chunk "
    "objects, finish_reason, stream_options.include_usage)"
)

WRITTEN = WrittenWire(
    wire="writer", reference=REFERENCE, path="/v1/chat", reference_model=_reference_model, responses=RESPONSES,
    continuations={"agent_tool_loop": agent_answer},
)
# What the registry in conformance.written calls.
build = WRITTEN.build
