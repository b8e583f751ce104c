"""The registry of wire families: which cassettes a `--wire` name replays, and its stop-reason table.

The checks never name a wire. A wire family is a cassette folder (`recordings/<name>/`, files
`<case>.<variant>.json`), the path prefix its providers put after the server root, the table of its
finish reasons (cassette case -> the Strands stop reason a provider must report), and the cases the
wire cannot express (skipped with that reason). Adding Anthropic, Bedrock Converse, Ollama, ... is
one `register_wire(...)` call (a reference decoder of its response bodies and a reader of its request bodies) plus cassettes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from conformance.expectations import WireExpectation, decode_openai_chat
from conformance.request_meaning import RequestMeaning, read_openai_chat_request

__all__ = ["RECORDINGS_DIR", "WireFamily", "get_wire", "known_wires", "register_wire"]

RECORDINGS_DIR = Path(__file__).resolve().parent.parent / "recordings"


@dataclass(frozen=True)
class WireFamily:
    name: str
    api_prefix: str
    # Reads a successful response body into what the provider must reproduce (checks compare to it).
    decode: Callable[[bytes], WireExpectation]
    # case name -> Strands stop reason; each case has cassettes `<case>.<variant>.json`.
    stop_reasons: Mapping[str, str]
    # case name -> why this wire cannot express it (the check is skipped with this reason).
    unsupported: Mapping[str, str] = field(default_factory=dict)
    description: str = ""
    recordings_root: Path = RECORDINGS_DIR
    # Reads a request body into what it means (request-shape checks compare meanings); a wire without
    # one gets its request-shape checks skipped with that reason.
    read_request: Callable[[object], RequestMeaning] | None = None
    # False for a wire without tool call ids (Ollama's /api/chat): calls and results pair by order and name.
    carries_call_ids: bool = True
    # The wire's own finish words -> Strands stop reason, where they are not the case names without
    # `finish_` (Anthropic says end_turn, not stop). Live checks read what the model really did with it.
    finish_words: Mapping[str, str] = field(default_factory=dict)

    @property
    def cassette_dir(self) -> Path:
        return self.recordings_root / self.name

    def cassette_path(self, case: str, variant: str) -> Path:
        return self.cassette_dir / f"{case}.{variant}.json"

    def variants(self, case: str) -> list[str]:
        """The cassettes on disk for a case, e.g. ['llamacpp', 'vllm', 'written']."""
        prefix = f"{case}."
        return sorted(
            path.name[len(prefix) : -len(".json")]
            for path in self.cassette_dir.glob(f"{case}.*.json")
            if "." not in path.name[len(prefix) : -len(".json")]
        )

    def strands_stop_reason(self, finish_word: str | None) -> str | None:
        """The Strands stop reason a wire finish word means (None when the table does not know it)."""
        if finish_word in self.finish_words:
            return self.finish_words[finish_word]
        return self.stop_reasons.get(f"finish_{finish_word}")

    def api_base(self, server_root: str) -> str:
        return server_root.rstrip("/") + self.api_prefix


_WIRES: dict[str, WireFamily] = {}


def register_wire(wire: WireFamily, *, replace: bool = False) -> WireFamily:
    if wire.name in _WIRES and not replace:
        raise ValueError(f"wire family {wire.name!r} is already registered (pass replace=True to redefine it)")
    _WIRES[wire.name] = wire
    return wire


def known_wires() -> list[str]:
    return sorted(_WIRES)


def get_wire(name: str) -> WireFamily:
    try:
        return _WIRES[name]
    except KeyError:
        raise KeyError(f"unknown wire family {name!r}; known: {', '.join(known_wires())}") from None


OPENAI_CHAT = register_wire(
    WireFamily(
        name="openai-chat",
        api_prefix="/v1",
        decode=decode_openai_chat,
        read_request=read_openai_chat_request,
        description="OpenAI chat completions, streamed as SSE (vLLM, llama.cpp, Neuron, OpenAI, LiteLLM)",
        stop_reasons={
            "finish_stop": "end_turn",
            "finish_length": "max_tokens",
            "finish_tool_calls": "tool_use",
            "finish_content_filter": "content_filtered",
            "finish_function_call": "tool_use",
            "finish_null": "end_turn",
            "finish_unknown": "end_turn",
            "finish_stop_with_tool_calls": "tool_use",
            "finish_length_in_tool_call": "max_tokens",
        },
    )
)


# The wire families of issue 5 (Anthropic, Bedrock Converse, Ollama, Mistral, Writer, Llama API, LiteLLM).
import conformance.other_wires  # noqa: E402,F401
