"""The written cassettes of the openai-chat wire: quirks no local server produces, from the published format.

Parallel tool calls, late ids, 429/503, errors inside the stream, reasoning fields, every finish
reason: the 135M model on llama.cpp and vLLM cannot be made to send these, but real servers do. Each
cassette is built here from the documented chunk format and marked `source.kind = "written"` with its
reference, so a reviewer can tell it from a recording. `python -m conformance.written openai-chat`
regenerates them (the output is deterministic).
"""

from __future__ import annotations

from typing import Any

from conformance.cassette import Cassette, Chunk, Interaction, RecordedRequest, RecordedResponse
from conformance.written.builders import (
    DONE,
    JSON,
    SSE_UTF8,
    call,
    chunk,
    json_body,
    split_every,
    sse,
    timed,
    tool_delta,
    usage_chunk,
    written_source,
)

WIRE = "openai-chat"
OPENAI_STREAMING = "https://platform.openai.com/docs/api-reference/chat-streaming/streaming"
OPENAI_ERRORS = "https://platform.openai.com/docs/guides/error-codes"
VLLM_REASONING = "https://docs.vllm.ai/en/latest/features/reasoning_outputs.html"
LLAMACPP_SERVER = "https://github.com/ggml-org/llama.cpp/blob/master/tools/server/README.md"
VLLM_ERRORS = "https://github.com/vllm-project/vllm/blob/main/vllm/entrypoints/openai/protocol.py (ErrorResponse)"

PATH = "/v1/chat/completions"


def _request(tools: bool = False) -> RecordedRequest:
    body: dict[str, Any] = {
        "model": "smollm2",
        "messages": [{"role": "user", "content": "(as in the case)"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if tools:
        body["tools"] = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    return RecordedRequest("POST", PATH, {"content-type": JSON}, body)


def text_events(text_pieces: list[str], finish: str | None = "stop", usage: tuple[int, int] | None = (21, 9),
                done: bool = True) -> list[bytes]:
    parts = [sse(chunk({"role": "assistant", "content": ""}))]
    parts += [sse(chunk({"content": piece})) for piece in text_pieces]
    if finish is not None:
        parts.append(sse(chunk({}, finish)))
    if usage:
        parts.append(sse(usage_chunk(*usage)))
    if done:
        parts.append(DONE)
    return parts


def cassette(case: str, note: str, interactions: list[Interaction], reference: str = OPENAI_STREAMING) -> Cassette:
    return Cassette(WIRE, case, written_source(reference, note), interactions)


def streamed(parts: list[bytes], tools: bool = False, end: str = "complete") -> Interaction:
    response = RecordedResponse(200, {"content-type": SSE_UTF8}, timed(parts), end)  # type: ignore[arg-type]
    return Interaction(_request(tools), response)


def error(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Interaction:
    return Interaction(_request(), RecordedResponse(status, {"content-type": JSON, **(headers or {})},
                                                    [Chunk(20, json_body(body))]))


HELLO = ["Hello", ",", " conformance", " suite", "!"]


def weather_call(call_id: str = "call_tokyo001", arguments: str = '{"city": "Tokyo"}') -> list[bytes]:
    return [
        sse(chunk({"role": "assistant", "content": None, "tool_calls": [call(0, call_id, "get_weather", "")]})),
        sse(chunk(tool_delta(call(0, arguments=arguments)))),
    ]


def build() -> dict[str, Cassette]:
    """Every written openai-chat cassette by file name; the Agent structured-output case has one per path."""
    out: dict[str, Cassette] = {}

    def add(item: Cassette) -> None:
        out[f"{item.case}.written.json"] = item

    add(cassette("text_basic", "a plain streamed answer with a usage chunk", [streamed(text_events(HELLO))]))

    body = b"".join(text_events(["Grüße aus Zürich ", "😀", " and 東京."]))
    # 7-byte pieces cut through the two-byte ü, the four-byte emoji and the three-byte kanji.
    add(cassette("text_multibyte_split", "the same SSE bytes cut every 7 bytes, inside multi-byte characters",
                 [Interaction(_request(), RecordedResponse(200, {"content-type": SSE_UTF8}, timed(split_every(body, 7), step_ms=1)))]))
    cached = usage_chunk(1313, 9)
    # OpenAI's cached share of the prompt; the cache-write count is the LiteLLM proxy's extension of the chunk.
    cached["usage"] |= {"prompt_tokens_details": {"cached_tokens": 1024}, "cache_creation_input_tokens": 263}
    add(cassette("usage_cached", "usage with prompt_tokens_details.cached_tokens and cache_creation_input_tokens",
                 [streamed(text_events(HELLO, usage=None)[:-1] + [sse(cached), DONE])],
                 "https://platform.openai.com/docs/guides/prompt-caching and "
                 "https://docs.litellm.ai/docs/completion/prompt_caching"))
    add(cassette("usage_missing", "a server ignoring stream_options.include_usage: no usage chunk",
                 [streamed(text_events(HELLO, usage=None))]))

    finishes = {
        "finish_stop": ("stop", "finish_reason stop"),
        "finish_length": ("length", "finish_reason length: max_tokens reached"),
        "finish_content_filter": ("content_filter", "finish_reason content_filter (Azure OpenAI)"),
        "finish_unknown": ("eos_reached", "a finish_reason outside the published set"),
    }
    for case, (finish, note) in finishes.items():
        add(cassette(case, note, [streamed(text_events(HELLO, finish=finish))]))
    add(cassette("finish_null", "finish_reason null on every chunk, then [DONE]", [streamed(text_events(HELLO, finish=None))]))

    def tool_stream(calls: list[bytes], finish: str) -> list[bytes]:
        return calls + [sse(chunk({}, finish)), sse(usage_chunk(180, 14)), DONE]

    add(cassette("finish_tool_calls", "one tool call, finish_reason tool_calls", [streamed(tool_stream(weather_call(), "tool_calls"), True)]))
    add(cassette("tool_single", "one tool call: id and name first, then the arguments", [streamed(tool_stream(weather_call(), "tool_calls"), True)]))
    add(cassette("finish_function_call", "legacy finish_reason function_call closing a tool call",
                 [streamed(tool_stream(weather_call(), "function_call"), True)]))
    add(cassette("finish_stop_with_tool_calls", "tool calls present but finish_reason stop (gpt-oss, TGI via LiteLLM)",
                 [streamed(tool_stream(weather_call(), "stop"), True)]))
    add(cassette("finish_length_in_tool_call", "a tool call cut off by max_tokens mid-arguments",
                 [streamed(tool_stream(weather_call(arguments='{"city": "Tok'), "length"), True)]))

    parallel = [
        sse(chunk({"role": "assistant", "tool_calls": [call(0, "call_tokyo001", "get_weather", "")]})),
        sse(chunk(tool_delta(call(1, "call_paris001", "get_weather", "")))),
        sse(chunk(tool_delta(call(0, arguments='{"city": ')))),
        sse(chunk(tool_delta(call(1, arguments='{"city": "Paris"}')))),
        sse(chunk(tool_delta(call(0, arguments='"Tokyo"}')))),
    ]
    add(cassette("tool_parallel_interleaved", "two calls at indexes 0 and 1 with interleaved argument deltas",
                 [streamed(tool_stream(parallel, "tool_calls"), True)]))
    sequential = [
        sse(chunk({"role": "assistant", "tool_calls": [call(0, "call_tokyo001", "get_weather", "")]})),
        sse(chunk(tool_delta(call(0, arguments='{"city": ')))),
        sse(chunk(tool_delta(call(0, arguments='"Tokyo"}')))),
        sse(chunk(tool_delta(call(1, "call_paris001", "get_weather", "")))),
        sse(chunk(tool_delta(call(1, arguments='{"city": "Paris"}')))),
    ]
    add(cassette("tool_parallel", "two calls at indexes 0 and 1, one after the other (OpenAI's order)",
                 [streamed(tool_stream(sequential, "tool_calls"), True)]))
    same_index = [
        sse(chunk({"role": "assistant", "tool_calls": [call(0, "call_tokyo001", "get_weather", '{"city": "Tokyo"}')]})),
        sse(chunk(tool_delta(call(0, "call_paris001", "get_weather", '{"city": "Paris"}')))),
    ]
    add(cassette("tool_parallel_same_index", "two calls both sent at index 0, told apart by a new id (some servers)",
                 [streamed(tool_stream(same_index, "tool_calls"), True)]))
    late = [
        sse(chunk({"role": "assistant", "tool_calls": [call(0, arguments='{"ci')]})),
        sse(chunk(tool_delta(call(0, "call_tokyo001", None, 'ty": ')))),
        sse(chunk(tool_delta(call(0, None, "get_weather", '"Tokyo"}')))),
    ]
    add(cassette("tool_late_id", "the first delta has arguments only; id and name arrive in later deltas",
                 [streamed(tool_stream(late, "tool_calls"), True)]))
    arguments = '{"city": "Tokyo \\"Central\\"\\n"}'
    pieces: list[str] = []
    position = 0
    while position < len(arguments):
        size = 1 + len(pieces) % 2
        pieces.append(arguments[position : position + size])
        position += size
    split = [sse(chunk({"role": "assistant", "tool_calls": [call(0, "call_tokyo001", "get_weather", "")]}))]
    split += [sse(chunk(tool_delta(call(0, arguments=piece)))) for piece in pieces]
    add(cassette("tool_split_arguments", "arguments in one- and two-character pieces, through escapes",
                 [streamed(tool_stream(split, "tool_calls"), True)]))
    multibyte_body = b"".join(tool_stream(weather_call(arguments='{"city": "東京 Zürich"}'), "tool_calls"))
    add(cassette("tool_split_multibyte", "a tool-call stream cut every 5 bytes, inside the multi-byte city name",
                 [Interaction(_request(True), RecordedResponse(200, {"content-type": SSE_UTF8}, timed(split_every(multibyte_body, 5), step_ms=1)))]))
    zero = [
        sse(chunk({"role": "assistant", "tool_calls": [call(0, "call_time0001", "get_time", "")]})),
    ]
    add(cassette("tool_zero_args", "a zero-argument tool: arguments stay the empty string",
                 [streamed(tool_stream(zero, "tool_calls"), True)]))
    add(cassette("tool_result_round_trip", "the answer after a tool result",
                 [streamed(text_events(["It is 3 C", " with light snow", " in Oslo."], usage=(240, 12)), True)]))

    reasoning_pieces = ["The user", " wants a greeting", "."]
    for case, field_name, reference, note in (
        ("reasoning_content", "reasoning_content", LLAMACPP_SERVER, "reasoning in delta.reasoning_content (llama.cpp, vLLM < 0.10)"),
        ("reasoning_field", "reasoning", VLLM_REASONING, "reasoning in delta.reasoning (vLLM >= 0.10)"),
    ):
        parts = [sse(chunk({"role": "assistant", "content": ""}))]
        parts += [sse(chunk({field_name: piece})) for piece in reasoning_pieces]
        parts += [sse(chunk({"content": piece})) for piece in HELLO]
        parts += [sse(chunk({}, "stop")), sse(usage_chunk(21, 30)), DONE]
        add(cassette(case, note, [streamed(parts)], reference))

    add(cassette("error_429", "HTTP 429 with OpenAI's rate-limit body and Retry-After",
                 [error(429, {"error": {"message": "Rate limit reached for requests", "type": "requests",
                                        "param": None, "code": "rate_limit_exceeded"}}, {"retry-after": "1"})],
                 OPENAI_ERRORS))
    add(cassette("error_503", "HTTP 503 from an overloaded server",
                 [error(503, {"error": {"message": "The server is overloaded, please try again later.",
                                        "type": "server_error", "param": None, "code": None}})], OPENAI_ERRORS))
    add(cassette("overflow_openai_code", "OpenAI's context overflow: HTTP 400, code context_length_exceeded",
                 [error(400, {"error": {"message": "This model's maximum context length is 128000 tokens. However, your "
                                        "messages resulted in 130412 tokens. Please reduce the length of the messages.",
                                        "type": "invalid_request_error", "param": "messages",
                                        "code": "context_length_exceeded"}})], OPENAI_ERRORS))
    add(cassette("overflow_before_stream", "vLLM's context overflow: HTTP 400 JSON with a numeric code",
                 [error(400, {"object": "error", "message": "This model's maximum context length is 2048 tokens. "
                              "However, your request has 9012 input tokens. Please reduce the length of the input messages.",
                              "type": "BadRequestError", "param": None, "code": 400})], VLLM_ERRORS))
    mid = text_events(["Lorem", " ipsum"], finish=None, usage=None, done=False)
    mid.append(sse({"error": {"object": "error", "message": "This model's maximum context length is 2048 tokens. "
                              "However, you requested 2100 tokens (2000 in the messages, 100 in the completion).",
                              "type": "BadRequestError", "param": None, "code": 400}}))
    add(cassette("overflow_mid_stream", "an error object inside the SSE stream after some text (vLLM streaming errors)",
                 [streamed(mid)], VLLM_ERRORS))
    add(cassette("truncated_stream", "text chunks, then the body ends: no finish_reason, no usage, no [DONE]",
                 [streamed(text_events(["Hello", ", conf"], finish=None, usage=None, done=False))]))
    malformed = text_events(["Hello"], finish=None, usage=None, done=False)
    malformed.append(b'data: {"id": "chatcmpl-written", "choices": [{"index": 0, "delta": {"content": "x"\n\n')
    malformed += [sse(chunk({}, "stop")), sse(usage_chunk(21, 2)), DONE]
    add(cassette("malformed_line", "an SSE data line whose JSON is cut off, then a normal ending", [streamed(malformed)]))
    add(cassette("connection_closed", "the server drops the connection after two text chunks",
                 [streamed(text_events(["Hello", ", conf"], finish=None, usage=None, done=False), end="closed")]))

    structured = '{"city": "Tokyo", "celsius": 21}'
    add(cassette("structured_output", "a JSON answer under response_format json_schema, streamed as content",
                 [streamed(text_events([structured[:9], structured[9:20], structured[20:]], usage=(60, 14)))]))

    report_call = [
        sse(chunk({"role": "assistant", "tool_calls": [call(0, "call_report01", "WeatherReport", "")]})),
        sse(chunk(tool_delta(call(0, arguments='{"city": "Tokyo", ')))),
        sse(chunk(tool_delta(call(0, arguments='"celsius": 21}')))),
    ]
    structured_case = "agent_structured_output"
    out[f"{structured_case}.written-tool.json"] = cassette(
        structured_case, "tool path: the model calls the structured-output tool the Agent registered",
        [streamed(tool_stream(report_call, "tool_calls"), True)])
    json_answer = text_events([structured], usage=(60, 14))
    out[f"{structured_case}.written-native.json"] = cassette(
        structured_case, "native path (_supports_structured_output): JSON text, then the forced retry's JSON",
        [streamed(json_answer), streamed(json_answer)])

    add(cassette("agent_tool_loop", "two turns: a get_weather call, then the answer using its result", [
        streamed(tool_stream(weather_call(), "tool_calls"), True),
        streamed(text_events(["It is 21 C", " and sunny in Tokyo."], usage=(220, 11)), True),
    ]))
    return out

