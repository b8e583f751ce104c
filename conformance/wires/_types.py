"""The types every wire module and every check shares: what a response means, what a request means, a wire.

A wire module reads bytes into these; the checks compare a provider's behaviour with them, so no check
names a wire. Kept apart from the registry so a wire module can import them without importing the others.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

__all__ = [
    "CONTENT_HANDLING",
    "CONTENT_KINDS",
    "ERROR_KINDS",
    "RECORDINGS_DIR",
    "ExpectedToolCall",
    "RequestMeaning",
    "RequestReader",
    "SentToolCall",
    "SentToolResult",
    "WireDecodeError",
    "WireExpectation",
    "WireFamily",
    "blocks_text",
    "json_object",
]

RECORDINGS_DIR = Path(__file__).resolve().parent.parent.parent / "recordings"

# How a wire-only error case must end: ModelThrottledException, ContextWindowOverflowException, or any
# other exception that names the problem (never a normal messageStop).
ERROR_KINDS = ("throttled", "context_overflow", "failed")
# Finish words that are Strands stop reasons already (Strands took its names from Bedrock's stopReason,
# and Anthropic's stop_reason shares four of them): each means itself on the wires that send them.
STRANDS_NAMED_FINISH_WORDS: dict[str, str] = {word: word for word in (
    "end_turn", "tool_use", "max_tokens", "stop_sequence", "content_filtered", "guardrail_intervened")}


class WireDecodeError(ValueError):
    """The reference decoder could not read the bytes (a broken cassette or a non-conforming server)."""


@dataclass
class ExpectedToolCall:
    call_id: str | None
    name: str | None
    arguments: str = ""

    @property
    def input(self) -> Any:
        return json.loads(self.arguments) if self.arguments.strip() else {}


@dataclass
class WireExpectation:
    """What the response bytes say, decoded independently of any provider: the checks' expected values."""

    text: str = ""
    reasoning: str = ""
    tool_calls: list[ExpectedToolCall] = field(default_factory=list)
    finish_reason: str | None = None
    usage: dict[str, int] | None = None  # Strands names: inputTokens, outputTokens, totalTokens
    # other readings of the same counts that Strands' own providers use (Anthropic's input_tokens
    # without the cached share, which strands' AnthropicModel reports as inputTokens)
    usage_also: list[dict[str, int]] = field(default_factory=list)
    saw_done: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SentToolCall:
    call_id: str
    name: str
    input: Any


@dataclass(frozen=True)
class SentToolResult:
    call_id: str
    text: str


@dataclass
class RequestMeaning:
    """What a request body means: replay matches by order only, so the request-shape checks compare these."""

    tools: list[dict[str, Any]] = field(default_factory=list)  # {"name", "description", "parameters"}
    # "auto", "any", ("tool", name) or None (nothing sent); a single tool plus "any" also forces that tool.
    tool_choice: Any = None
    system_text: str | None = None
    system_messages: int = 0
    system_first: bool = True
    roles: list[str] = field(default_factory=list)  # conversation roles after the system prompt
    tool_calls: list[SentToolCall] = field(default_factory=list)
    tool_results: list[SentToolResult] = field(default_factory=list)
    streaming: bool = False
    usage_requested: bool = False
    params: dict[str, Any] = field(default_factory=dict)  # sampling parameters as sent (temperature, ...)
    # The non-text content the body carries, as CONTENT_KINDS names it, in order; images as base64 data.
    content: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)


# The content blocks a Strands user can send beyond text and tool calls, by the name a request reader gives them.
# `reasoning_unsigned` is a reasoning block without its signature: read back as `reasoning` when sent.
CONTENT_KINDS = ("image", "document", "reasoning", "reasoning_unsigned", "cache_point", "tool_result_image",
                 "citations")
# What a wire does with such a block: `send` it (the reader must find it), `send_or_refuse` (the wire has a
# place for it that not every server takes), `refuse` (raise an error naming it), `omit` (the wire has no
# place for it and leaving it out is the documented behaviour: a hint such as a cache point, or reasoning
# the vendor does not take back). Silently dropping a block the table says to send is the defect.
CONTENT_HANDLING = ("send", "send_or_refuse", "refuse", "omit")


class RequestReader(Protocol):
    def __call__(self, body: Any) -> RequestMeaning: ...


def json_object(body: Any, wire: str) -> dict[str, Any]:
    """A request body as the JSON object every wire here sends, or a ValueError naming what came instead."""
    if not isinstance(body, dict):
        raise ValueError(f"a {wire} request body is a JSON object; got {type(body).__name__}: {str(body)[:200]}")
    return body


def sampling_params(config: Any, names: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """The case parameters a wire's config object carries: (the wire's key, the case's name) pairs."""
    config = config or {}
    return {name: config[key] for key, name in names if key in config}


def blocks_text(content: Any) -> str:
    """The text of a message content: a string, or a list of blocks whose `text` parts are joined."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(block.get("text", "") for block in content if isinstance(block, dict))


@dataclass(frozen=True)
class WireFamily:
    """A wire: its cassette folder (`recordings/<name>/<case>.<variant>.json`), API prefix, decoders and tables."""

    name: str
    api_prefix: str
    # Reads a successful response body into what the provider must reproduce (checks compare to it).
    decode: Callable[[bytes], WireExpectation]
    # case name -> Strands stop reason the provider must report; each case has cassettes.
    stop_reasons: Mapping[str, str]
    # case name -> why this wire cannot express it (the check is skipped with this reason).
    unsupported: Mapping[str, str] = field(default_factory=dict)
    description: str = ""
    recordings_root: Path = RECORDINGS_DIR
    # Reads a request body into what it means; a wire without one gets its request-shape checks skipped.
    read_request: Callable[[object], RequestMeaning] | None = None
    # False for a wire without tool call ids (Ollama's /api/chat): calls and results pair by order and name.
    carries_call_ids: bool = True
    # The wire's own finish words -> Strands stop reason, where they are not the case names without
    # `finish_` (Anthropic says end_turn, not stop). Live checks read what the model really did with it.
    finish_words: Mapping[str, str] = field(default_factory=dict)
    # Wire-only error cases -> how the stream must end, one of ERROR_KINDS.
    errors: Mapping[str, str] = field(default_factory=dict)
    # Set for a wire that holds only recorded traffic: a case without a cassette is skipped with this reason.
    only_recorded: str | None = None
    # Content kind (CONTENT_KINDS) -> (one of CONTENT_HANDLING, why): what the request must do with the block.
    content: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    # The wire's published request schema, trimmed to the parts it uses: a file name in conformance/schemas/.
    request_schema: str | None = None
    # Live server kind -> case -> why that server's side of this wire cannot run the case (a server that
    # ignores a request field on this wire though it honours it on another); the live cell is skipped.
    live_limits: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        wrong = {case: kind for case, kind in self.errors.items() if kind not in ERROR_KINDS}
        if wrong:
            raise ValueError(f"wire {self.name}: error kinds {wrong} are not among {', '.join(ERROR_KINDS)}")
        odd = {kind: how for kind, (how, _why) in self.content.items()
               if kind not in CONTENT_KINDS or how not in CONTENT_HANDLING}
        if odd:
            raise ValueError(f"wire {self.name}: content table {odd} uses kinds outside {CONTENT_KINDS} "
                             f"or handling outside {CONTENT_HANDLING}")

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

    def cannot_express(self, case: str, cassette_case: str) -> str | None:
        """Why this wire skips `case` (replayed from `cassette_case`), or None when it runs."""
        if case in self.unsupported:
            return self.unsupported[case]
        if self.only_recorded is not None and not self.variants(cassette_case):
            return self.only_recorded
        return None

    def strands_stop_reason(self, finish_word: str | None) -> str | None:
        """The Strands stop reason a wire finish word means (None when the table does not know it)."""
        if finish_word in self.finish_words:
            return self.finish_words[finish_word]
        return self.stop_reasons.get(f"finish_{finish_word}")

    def api_base(self, server_root: str) -> str:
        return server_root.rstrip("/") + self.api_prefix
