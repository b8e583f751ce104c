"""Mutations for the request-content, usage and broken-stream checks: defects filed against real providers.

An image block dropped from the request without a word, input and output token counts swapped, the
cache-write count lost (LiteLLM's `cache_creation_input_tokens`), and a cut stream surfacing as a KeyError
from inside the provider's parser.
"""

from __future__ import annotations

from collections.abc import AsyncIterable

from strands.types.streaming import StreamEvent

from .model import EventFilter, Mutation, StreamCall


def _drop_images(call: StreamCall) -> StreamCall:
    messages = [{**message, "content": [block for block in message["content"] if "image" not in block]}
                for message in call.messages]
    return StreamCall(messages, call.tool_specs, call.system_prompt, call.tool_choice,  # type: ignore[arg-type]
                      call.system_prompt_content, call.kwargs)


def _rewrite_usage(rewrite) -> EventFilter:  # type: ignore[no-untyped-def]
    async def rewritten(events: AsyncIterable[StreamEvent]) -> AsyncIterable[StreamEvent]:
        async for event in events:
            if "metadata" in event and "usage" in event["metadata"]:
                event = {"metadata": {**event["metadata"], "usage": rewrite(dict(event["metadata"]["usage"]))}}
            yield event

    return rewritten


def _swap_in_out(usage: dict) -> dict:  # type: ignore[type-arg]
    return {**usage, "inputTokens": usage["outputTokens"], "outputTokens": usage["inputTokens"]}


def _lose_cache_write(usage: dict) -> dict:  # type: ignore[type-arg]
    return {key: value for key, value in usage.items() if key != "cacheWriteInputTokens"}


async def _key_error_when_cut(events: AsyncIterable[StreamEvent]) -> AsyncIterable[StreamEvent]:
    """A cut or unreadable stream raises KeyError, as a parser indexing a finish_reason that never came does."""
    from providers.errors import ProviderConnectionError, StreamError

    try:
        async for event in events:
            yield event
    except (StreamError, ProviderConnectionError):
        raise KeyError("finish_reason") from None


MUTATIONS: dict[str, Mutation] = {
    m.name: m
    for m in (
        Mutation("dropped_image_blocks", "image blocks silently left out of the request", request=_drop_images),
        Mutation("swapped_usage", "inputTokens and outputTokens swapped", events=_rewrite_usage(_swap_in_out)),
        Mutation("dropped_cache_write_tokens", "cacheWriteInputTokens never reported",
                 events=_rewrite_usage(_lose_cache_write)),
        Mutation("key_error_on_cut_stream", "a cut stream raises KeyError from inside the provider",
                 events=_key_error_when_cut),
    )
}
