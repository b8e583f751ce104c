"""What every reference provider does the same way, whatever its wire or transport.

Why it exists: the providers (the httpx wires over ``providers._wire_model``, and LiteLLM, which
has its own transport) each had their own copy of the configuration API, the ``stream`` entry
point and the JSON-schema structured output. ``ProviderModel`` holds them once; a provider sets
``CONFIG_KEYS`` (usually the keys of the upstream TypedDict it is parametrized with) and writes
``_format_turn`` (a ``Turn`` in, its wire request out) and ``_stream_request``, the one generator
that sends a turn's request and yields Strands events.

- ``update_config`` / ``get_config``: unknown keys are rejected with the valid ones listed. Besides
  its own keys, every provider takes ``STREAM_GUARD_KEYS``, the bounds that keep a hostile server
  from hanging it or filling its memory (``max_event_bytes``, ``progress_timeout``: see ``providers.errors``).
- ``stream`` returns ``_stream_request`` itself (no re-yielding layer: the OpenAI chat core's hot
  path is that generator); the request is built by ``format_request`` on the first iteration.
- ``structured_output``: the schema goes into the request through ``_structured_output_params``,
  and the streamed text must validate into the output model (``StructuredOutputError`` otherwise).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Iterable, Mapping
from functools import partial
from typing import Any, ClassVar, Generic, NamedTuple, TypeVar, cast

import pydantic
from strands.models.model import Model
from strands.types.content import Messages, SystemContentBlock
from strands.types.streaming import StreamEvent
from strands.types.tools import ToolChoice, ToolSpec

from .errors import DEFAULT_MAX_EVENT_BYTES, StructuredOutputError

__all__ = ["DEFAULT_PROGRESS_TIMEOUT_S", "STREAM_GUARD_KEYS", "ConfigT", "ProviderModel", "Turn", "checked_client_args"]

#: Configuration keys every provider takes, whatever its upstream configuration.
STREAM_GUARD_KEYS: frozenset[str] = frozenset({"max_event_bytes", "progress_timeout"})

#: The progress deadline when neither ``progress_timeout`` nor a read timeout is configured.
DEFAULT_PROGRESS_TIMEOUT_S = 600.0

T = TypeVar("T", bound=pydantic.BaseModel)
ConfigT = TypeVar("ConfigT", bound=Mapping[str, Any])


class Turn(NamedTuple):
    """What one ``stream`` call asks for, as Strands passes it to ``format_request``."""

    messages: Messages
    tool_specs: list[ToolSpec] | None = None
    system_prompt: str | None = None
    tool_choice: ToolChoice | None = None
    system_prompt_content: list[SystemContentBlock] | None = None


def checked_client_args(
    owner: str, client_args: dict[str, Any] | None, valid: Iterable[str], argument: str = "client_args"
) -> dict[str, Any]:
    """A copy of ``client_args``; a key not in ``valid`` raises, naming the valid ones in ``valid``'s order."""
    args = dict(client_args or {})
    valid = tuple(valid)
    unknown = sorted(set(args) - set(valid))
    if unknown:
        raise ValueError(f"{owner} has no {argument} {unknown}; valid: {', '.join(valid)}")
    return args


class ProviderModel(Model, Generic[ConfigT]):
    """A Strands model with a checked configuration, one stream generator and JSON structured output."""

    #: Configuration keys the constructor and ``update_config`` accept.
    CONFIG_KEYS: ClassVar[frozenset[str]] = frozenset()
    #: An example model id for the error when ``model_id`` is missing; None: not checked here.
    MODEL_ID_EXAMPLE: ClassVar[str | None] = None
    #: The fix named when a structured answer is cut off by the token limit.
    _max_tokens_fix: ClassVar[str] = "raise the max tokens setting"

    config: dict[str, Any]

    def _init_config(self, config: dict[str, Any]) -> None:
        self._check_keys(config)
        self.config = config
        if self.MODEL_ID_EXAMPLE is not None and "model_id" not in config:
            raise ValueError(f"{type(self).__name__} needs `model_id` ({self.MODEL_ID_EXAMPLE})")

    # -- configuration API ---------------------------------------------------------------------

    def _check_keys(self, config: Mapping[str, Any]) -> None:
        valid = self.CONFIG_KEYS | STREAM_GUARD_KEYS
        unknown = sorted(set(config) - valid)
        if unknown:
            raise ValueError(
                f"{type(self).__name__} has no configuration key(s) {unknown}; "
                f"valid keys: {', '.join(sorted(valid))}"
            )

    def update_config(self, **model_config: Any) -> None:  # type: ignore[override]
        self._check_keys(model_config)
        self.config.update(model_config)
        self._config_changed()

    def get_config(self) -> ConfigT:  # type: ignore[override]
        return cast(ConfigT, dict(self.config))

    def _config_changed(self) -> None:
        """Hook: the configuration changed (a transport built from it is stale)."""

    def _max_event_bytes(self) -> int:
        """The bound on one line or event of the streamed answer (``max_event_bytes``)."""
        return int(self.config.get("max_event_bytes") or DEFAULT_MAX_EVENT_BYTES)

    def _progress_timeout(self) -> float:
        """Seconds without new content before the stream is ended (``progress_timeout``)."""
        configured = self.config.get("progress_timeout")
        return float(configured) if configured is not None else self._default_progress_timeout()

    def _default_progress_timeout(self) -> float:
        return DEFAULT_PROGRESS_TIMEOUT_S

    def _config_values(self, keys: tuple[str, ...]) -> dict[str, Any]:
        """The configuration values of ``keys`` that are set (None means unset), for request fields."""
        config = self.config
        return {key: config[key] for key in keys if config.get(key) is not None}

    # -- streaming --------------------------------------------------------------------------------

    def stream(  # type: ignore[override]
        self,
        messages: Messages,
        tool_specs: list[ToolSpec] | None = None,
        system_prompt: str | None = None,
        *,
        tool_choice: ToolChoice | None = None,
        system_prompt_content: list[SystemContentBlock] | None = None,
        **kwargs: Any,
    ) -> AsyncGenerator[StreamEvent, None]:
        """Stream one turn as Strands events (see ``providers._assembler`` for the rules).

        Returns the provider's generator itself; the request is built on the first iteration.
        """
        return self._stream_request(
            partial(self.format_request, messages, tool_specs, system_prompt, tool_choice, system_prompt_content)
        )

    def format_request(
        self,
        messages: Messages,
        tool_specs: list[ToolSpec] | None = None,
        system_prompt: str | None = None,
        tool_choice: ToolChoice | None = None,
        system_prompt_content: list[SystemContentBlock] | None = None,
    ) -> dict[str, Any]:
        """The request for one turn in the provider's wire format (always streamed)."""
        return self._format_turn(Turn(messages, tool_specs, system_prompt, tool_choice, system_prompt_content))

    def _format_turn(self, turn: Turn) -> dict[str, Any]:
        raise NotImplementedError(f"{type(self).__name__} must define _format_turn: the request in its wire format")

    def _stream_request(self, build_request: Callable[[], dict[str, Any]]) -> AsyncGenerator[StreamEvent, None]:
        """Send the request ``build_request()`` returns (called on the first iteration); yield Strands events."""
        raise NotImplementedError(f"{type(self).__name__} must define _stream_request: how a request is sent")

    # -- structured output ------------------------------------------------------------------------

    def _structured_output_params(self, output_model: type[pydantic.BaseModel]) -> dict[str, Any]:
        """Request fields asking for JSON matching the output model's schema."""
        return {
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": output_model.__name__, "schema": output_model.model_json_schema()},
            }
        }

    async def structured_output(  # type: ignore[override]
        self,
        output_model: type[T],
        prompt: Messages,
        system_prompt: str | None = None,
        **kwargs: Any,
    ) -> AsyncGenerator[dict[str, Any], None]:
        """Ask the server for JSON matching ``output_model``'s schema; yield events, then ``{"output": instance}``."""
        pieces: list[str] = []
        stop_reason = None
        schema_params = self._structured_output_params(output_model)

        def build_request() -> dict[str, Any]:
            request = self.format_request(prompt, None, system_prompt, None, kwargs.get("system_prompt_content"))
            request.update(schema_params)
            return request

        async for event in self._stream_request(build_request):
            if "contentBlockDelta" in event:
                delta_text = event["contentBlockDelta"]["delta"].get("text")
                if delta_text:
                    pieces.append(delta_text)
            elif "messageStop" in event:
                stop_reason = event["messageStop"]["stopReason"]
            yield event  # type: ignore[misc]
        answer = "".join(pieces)
        if stop_reason == "max_tokens":
            raise StructuredOutputError(
                f"the answer for {output_model.__name__} was cut off by the token limit after {len(answer)} "
                f"characters: {answer[:300]!r}; {self._max_tokens_fix}"
            )
        try:
            instance = output_model.model_validate_json(answer)
        except pydantic.ValidationError as exc:
            raise StructuredOutputError(
                f"the answer is not valid {output_model.__name__} JSON: {answer[:300]!r}\n{exc}"
            ) from exc
        yield {"output": instance}
