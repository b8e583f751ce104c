"""The errors our providers raise, shared by every wire family.

A provider translates foreign failures (httpx errors, HTTP statuses, error objects inside a
stream) at one boundary into either the two Strands exceptions the event loop acts on, or one
of ours. The tree::

    strands ModelThrottledException          HTTP 429 / 503, rate-limit errors (the loop retries)
    strands ContextWindowOverflowException   prompt too long (the loop reduces context, retries);
                                             the original error is ``__cause__``
    ProviderError                            base of ours
    ├── ProviderHTTPError                    any other non-2xx answer: .status, .body, .url
    │   └── SingleToolCallOnlyError          Neuron: "only supports single tool-calls at once"
    ├── ProviderConnectionError              server unreachable / refused: .url
    ├── StructuredOutputError                the answer does not validate into the output model
    └── StreamError                          the response stream broke its contract
        ├── MalformedStreamError             a line or chunk that cannot be decoded
        │   ├── InvalidUTF8Error             bytes that are not UTF-8: .offset in the body
        │   └── OversizeEventError           a line or event over max_event_bytes: .limit
        ├── TruncatedStreamError             ended (or the connection dropped) before a finish
        │   └── StalledStreamError           no new content within the progress deadline
        ├── StreamServerError                an error object inside the stream (not throttle/overflow)
        └── ToolCallAssemblyError            tool-call deltas that do not fit together

Every wire decides the same way on hostile bytes:

- Invalid UTF-8 anywhere in a streamed body raises ``InvalidUTF8Error`` naming the byte offset in
  the body; it is never replaced with U+FFFD (text the server did not send) nor skipped.
- A line (SSE, NDJSON) or event (a multi-line SSE event, an event-stream frame) longer than the
  ``max_event_bytes`` configuration key (every provider takes it; default
  ``DEFAULT_MAX_EVENT_BYTES``, 8 MiB) raises ``OversizeEventError`` as soon as the bound is
  passed, so a line that never ends costs at most that much memory.
- Tool-call arguments that are not JSON when the call ends raise ``MalformedStreamError`` naming
  the tool and the bytes seen, unless the finish says the tokens ran out (then the stop reason is
  ``max_tokens``): Strands would otherwise run the tool with ``{}``.

Every provider ends a stream that makes no progress:

- The provider's own timeout option, named and counted as its upstream SDK names it (``timeout``
  in seconds for most, ``timeout_ms`` for Mistral, ``boto_client_config``'s read and connect
  timeouts for Bedrock), applies to connecting and to every read, the response headers included;
  left unset it is 600 s (read) and 10 s (connect). A server that never answers raises
  ``ProviderConnectionError``.
- The progress deadline, configuration key ``progress_timeout`` (seconds; every provider takes
  it; default: the read timeout, so 600 s unless the timeout option says otherwise): when no new
  content (text, reasoning, tool-call data) arrives for that long, the stream raises
  ``StalledStreamError``. Comments (``: ping``), keep-alive events and chunks without content
  (``"choices": []``) do not count as progress.

Context overflow has one home: ``CONTEXT_OVERFLOW_MARKERS`` (wordings every OpenAI-compatible
server may use) and ``VENDOR_OVERFLOW_MARKERS`` (each vendor's own, by provider name). A provider
matches ``overflow_markers(<its name>)``; ``is_context_overflow(text)`` with no vendor matches every
known wording, for callers that do not know which server answered (the load tests). The module
imports nothing heavy, so reading these wordings costs no import of strands or httpx.
"""

from __future__ import annotations

__all__ = [
    "CONTEXT_OVERFLOW_MARKERS",
    "DEFAULT_MAX_EVENT_BYTES",
    "InvalidUTF8Error",
    "MalformedStreamError",
    "OversizeEventError",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderHTTPError",
    "SingleToolCallOnlyError",
    "StalledStreamError",
    "StreamError",
    "StreamServerError",
    "StructuredOutputError",
    "ToolCallAssemblyError",
    "TruncatedStreamError",
    "VENDOR_OVERFLOW_MARKERS",
    "is_context_overflow",
    "overflow_markers",
]

#: The default bound on one line or event of a streamed answer (configuration key ``max_event_bytes``).
DEFAULT_MAX_EVENT_BYTES = 8 * 1024 * 1024

# Lower-case substrings. vLLM: "This model's maximum context length is 2048 tokens..." and
# "max_model_len"; OpenAI: code context_length_exceeded; llama.cpp: type exceed_context_size_error,
# older builds "the request exceeds the available context size" / "kv cache" / "slot" wording.
CONTEXT_OVERFLOW_MARKERS: tuple[str, ...] = (
    "context_length_exceeded",
    "maximum context length",
    "max_model_len",
    "exceed_context_size_error",
    "exceeds the available context size",
    "context size",
    "context window",
    "context length",
    "kv cache",
    "prompt is too long",
    "input is too long",
    "too many tokens",
)


# Each vendor's own wordings besides the shared ones, keyed by reference provider name.
VENDOR_OVERFLOW_MARKERS: dict[str, tuple[str, ...]] = {
    # Anthropic: "prompt is too long: N tokens > M maximum" (shared); these from its local servers.
    "anthropic": ("input length exceeds context window", "exceed your context limit"),
    # Bedrock's wordings, as upstream's list.
    "bedrock": (
        "input is too long for requested model",
        "input length and `max_tokens` exceed context limit",
        "too many total text bytes",
    ),
    # Gemini's 400 INVALID_ARGUMENT: "The input token count (N) exceeds the maximum number of tokens allowed (M)."
    "gemini": ("exceeds the maximum number of tokens",),
    "llamaapi": ("exceed context limit", "model's maximum context limit"),
    # As the upstream provider: llama.cpp words overflow with "context", "kv cache" or "slot" on a 400.
    # Too broad to match when the server is unknown, so only the llama.cpp provider uses them.
    "llamacpp": ("context", "slot"),
    "mistral": ("too large for model",),
    # Ollama's llama runner.
    "ollama": (
        "the prompt is longer than the context length",
        "the input length exceeds the context length",
        "exceeds the available context",
        "exceeded max context length",
    ),
    "writer": ("exceed context limit", "model's maximum context limit", "is longer than the model's context length"),
}
_BROAD_VENDORS = frozenset({"llamacpp"})
_EVERY_MARKER: tuple[str, ...] = tuple(
    dict.fromkeys(
        (*CONTEXT_OVERFLOW_MARKERS,
         *(marker for vendor, markers in VENDOR_OVERFLOW_MARKERS.items() if vendor not in _BROAD_VENDORS
           for marker in markers))
    )
)


def overflow_markers(vendor: str | None = None) -> tuple[str, ...]:
    """The lower-case overflow wordings for ``vendor`` (a reference provider name), or every known one."""
    if vendor is None:
        return _EVERY_MARKER
    return (*CONTEXT_OVERFLOW_MARKERS, *VENDOR_OVERFLOW_MARKERS.get(vendor, ()))


def is_context_overflow(error_text: str, vendor: str | None = None) -> bool:
    """Whether an error message or body says the prompt does not fit the model's context."""
    lowered = error_text.lower()
    return any(marker in lowered for marker in overflow_markers(vendor))


class ProviderError(Exception):
    """Base of the errors our providers raise (besides the two Strands exceptions)."""


class ProviderHTTPError(ProviderError):
    """The server answered with an HTTP error that is neither throttling nor context overflow."""

    def __init__(self, status: int | None, body: str, url: str, hint: str = "") -> None:
        self.status = status
        self.body = body
        self.url = url
        where = f"HTTP {status} from {url}" if status is not None else f"error inside the stream from {url}"
        message = f"{where}: {body[:2000]}"
        if hint:
            message = f"{message}\n{hint}"
        super().__init__(message)


class SingleToolCallOnlyError(ProviderHTTPError):
    """The server's model can only emit one tool call per turn and the request allowed several."""


class ProviderConnectionError(ProviderError):
    """The server could not be reached (refused, unresolvable, timed out before an answer)."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        super().__init__(
            f"cannot reach the model server at {url}: {reason}. "
            "Check that the server is running and that base_url points at it."
        )


class StructuredOutputError(ProviderError):
    """A structured-output answer that is missing, cut off, or does not validate into the model."""


class StreamError(ProviderError):
    """The streamed response broke the wire format's contract."""


class MalformedStreamError(StreamError):
    """A line or chunk of the stream could not be decoded; it is never skipped."""


class InvalidUTF8Error(MalformedStreamError):
    """Bytes of the stream that are not UTF-8; ``offset`` is the first bad byte's offset in the body."""

    def __init__(self, url: str, offset: int, bad: bytes) -> None:
        self.offset = offset
        super().__init__(f"the stream from {url} is not UTF-8 at byte offset {offset} (bytes {bad!r})")


class OversizeEventError(MalformedStreamError):
    """A line or event longer than the configured bound (``max_event_bytes``), stopped at once."""

    def __init__(self, url: str, limit: int, what: str = "a line or event") -> None:
        self.limit = limit
        super().__init__(
            f"{what} in the stream from {url} is over {limit} bytes (max_event_bytes); the stream was stopped"
        )


class TruncatedStreamError(StreamError):
    """The stream ended, or the connection dropped, before the server said it was finished."""


class StalledStreamError(TruncatedStreamError):
    """No new content arrived for the progress deadline (``progress_timeout``) or the read timeout."""

    def __init__(self, url: str, seconds: float | None, why: str) -> None:
        self.seconds = seconds
        super().__init__(f"the stream from {url} made no progress: {why}; stopped")


class StreamServerError(StreamError):
    """The server reported an error inside an already started stream.

    ``reported`` is the server's own error when it sent one, ``(status or None, message, raw
    text)``: the provider's error boundary reads it to tell throttling and context overflow (the
    two Strands exceptions, this error as their cause) from any other failure.
    """

    def __init__(self, message: str, reported: tuple[int | None, str, str] | None = None) -> None:
        super().__init__(message)
        self.reported = reported


class ToolCallAssemblyError(StreamError):
    """Tool-call deltas that cannot be assembled into calls (closed index reused, name missing)."""
