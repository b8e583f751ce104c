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
        ├── TruncatedStreamError             ended (or the connection dropped) before a finish
        ├── StreamServerError                an error object inside the stream (not throttle/overflow)
        └── ToolCallAssemblyError            tool-call deltas that do not fit together

``is_context_overflow`` holds the overflow wordings known for OpenAI-compatible servers, so
every family that meets the same servers matches the same way.
"""

from __future__ import annotations

__all__ = [
    "CONTEXT_OVERFLOW_MARKERS",
    "MalformedStreamError",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderHTTPError",
    "SingleToolCallOnlyError",
    "StreamError",
    "StreamServerError",
    "StructuredOutputError",
    "ToolCallAssemblyError",
    "TruncatedStreamError",
    "is_context_overflow",
]

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


def is_context_overflow(error_text: str) -> bool:
    """Whether an error message or body says the prompt does not fit the model's context."""
    lowered = error_text.lower()
    return any(marker in lowered for marker in CONTEXT_OVERFLOW_MARKERS)


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


class TruncatedStreamError(StreamError):
    """The stream ended, or the connection dropped, before the server said it was finished."""


class StreamServerError(StreamError):
    """The server reported an error inside an already started stream."""


class ToolCallAssemblyError(StreamError):
    """Tool-call deltas that cannot be assembled into calls (closed index reused, name missing)."""
