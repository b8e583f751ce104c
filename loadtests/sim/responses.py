"""What the simulator answers: one stream's plan (chunks, token counts, tool calls from the schema) and its frames.

Plain text is produced chunk by chunk as it is written; tool calls and JSON output are planned up
front from the request's schema. `ResponseWriter` is the part of `SimServer` that writes SSE frames
for a stream when the timer wheel says it is due, catching up by merging when behind.
"""

from __future__ import annotations

import json
import time

import orjson
from typing import TYPE_CHECKING, Any

from loadtests.sim.faults import STREAM_FAULTS, break_stream, finish_reason, reported_output_tokens, tool_arguments

if TYPE_CHECKING:
    import asyncio

    from loadtests.sim.apis import ApiFrames
    from loadtests.sim.protocol import SimProtocol

_WORDS = (" the model of a load test that streams tokens to every user in order and counts each one"
          " with time kept on both sides").split()
_TOKENS = tuple(" " + w for w in _WORDS)  # JSON-safe as they are
_TOKEN_DELTAS = tuple('{"content":"' + t + '"}' for t in _TOKENS)
_CHOICE_TAIL = ',"finish_reason":null}]'
_CATCH_UP_MAX = 16  # chunks merged into one write when behind schedule


def _count_words(value: Any) -> int:
    if isinstance(value, str):
        return len(value.split())
    if isinstance(value, list):
        return sum(_count_words(v.get("text", "") if isinstance(v, dict) else v) for v in value)
    return 0


def prompt_tokens_of(body: dict[str, Any]) -> int:
    """The simulator's tokenizer: one token per whitespace-separated word, plus 4 per message."""
    total = 0
    for message in body.get("messages", []):
        total += 4 + _count_words(message.get("content"))
        for call in message.get("tool_calls") or []:
            total += _count_words(call.get("function", {}).get("arguments", "").replace(",", " "))
    for tool in body.get("tools") or []:
        total += len(json.dumps(tool).split())
    return total


def synth_from_schema(schema: dict[str, Any], depth: int = 0) -> Any:
    """A value valid against a (simple) JSON schema, the way llm-d's simulator invents tool arguments."""
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "object":
        props = schema.get("properties", {})
        return {name: synth_from_schema(sub, depth + 1) for name, sub in props.items()}
    if kind == "array":
        return [synth_from_schema(schema.get("items", {"type": "string"}), depth + 1)] * max(1, schema.get("minItems", 1))
    if kind == "integer":
        return max(int(schema.get("minimum", 3)), 3)
    if kind == "number":
        return float(schema.get("minimum", 2.5))
    if kind == "boolean":
        return True
    text = "Paris" if depth else "value"
    return text * max(1, -(-schema.get("minLength", 1) // len(text)))


def _pieces(text: str, size: int = 4) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]




class SimStream:
    """One chat completion in flight: its plan (chunks) and its timing."""

    __slots__ = ("conn", "body", "stream", "recv_wall", "recv_mono", "chunks", "finish_reason", "prompt_tokens",
                 "include_usage", "continuous_usage", "token_ids", "fault", "handle", "emitted", "tokens_out",
                 "queue_ms", "bucket", "first_hit_ms", "admitted", "done", "rid", "kind", "itl_ms", "next_at",
                 "text_tokens", "text_step", "n_chunks", "prefix", "emit_wall", "api")

    def __init__(self, conn: SimProtocol, body: dict[str, Any], recv_wall: float, recv_mono: float) -> None:
        self.conn = conn
        self.body = body
        self.stream = bool(body.get("stream"))
        self.recv_wall = recv_wall
        self.recv_mono = recv_mono
        options = body.get("stream_options") or {}
        self.include_usage = bool(options.get("include_usage"))
        self.continuous_usage = bool(options.get("continuous_usage_stats"))
        self.token_ids = bool(body.get("return_token_ids"))
        self.chunks: list[tuple[str, int]] = []  # (delta JSON text, tokens in the chunk)
        self.finish_reason = "length"
        self.prompt_tokens = 0
        self.fault: str | None = None
        self.handle: asyncio.TimerHandle | None = None
        self.emitted = 0
        self.tokens_out = 0
        self.queue_ms = 0.0
        self.bucket: int | None = None
        self.first_hit_ms = 0.0
        self.admitted = False
        self.done = False
        self.rid = ""
        self.kind = "text"
        self.itl_ms = 0.0
        self.prefix = ""  # `data: {...,"choices":[{"index":0,"delta":` of every content chunk
        self.emit_wall: list[float] = []  # when each content chunk was written (Unix time)
        self.text_tokens = 0
        self.text_step = 1
        self.n_chunks = 0
        self.next_at = 0.0  # planned loop time of the next chunk: absolute, so timer lateness never accumulates
        self.api: ApiFrames | None = None  # the Responses or Messages events to write; None: chat's own frames



class ResponseWriter:
    """Planning and writing of responses; a part of `SimServer` (its profile, counters, loop and wheel)."""

    def plan(self, st: SimStream) -> None:
        body = st.body
        max_tokens = int(body.get("max_completion_tokens") or body.get("max_tokens") or 64)
        tools = body.get("tools") or []
        last_role = (body.get("messages") or [{}])[-1].get("role")
        wants_tool = tools and body.get("tool_choice", "auto") != "none" and last_role != "tool"
        p = self.profile
        if wants_tool:
            st.kind = "tool"
            fn = tools[0].get("function", {})
            args = tool_arguments(json.dumps(synth_from_schema(fn.get("parameters", {"type": "object"}))), st.fault)
            call_id = f"call_{self.next_id:08d}"
            head = {"tool_calls": [{"index": 0, "id": call_id, "type": "function",
                                    "function": {"name": fn.get("name", "tool"), "arguments": ""}}]}
            st.chunks.append((json.dumps(head), 1))
            pieces = _pieces(args)
            step = max(1, p.tool_tokens_per_chunk)
            for i in range(0, len(pieces), step):
                part = "".join(pieces[i:i + step])
                delta = {"tool_calls": [{"index": 0, "function": {"arguments": part}}]}
                st.chunks.append((json.dumps(delta), len(pieces[i:i + step])))
            st.finish_reason = "tool_calls"
            st.n_chunks = len(st.chunks)
            return
        fmt = body.get("response_format") or {}
        if fmt.get("type") == "json_schema":
            st.kind = "json"
            schema = (fmt.get("json_schema") or {}).get("schema", {"type": "object"})
            tokens = _pieces(json.dumps(synth_from_schema(schema)))
            st.finish_reason = "stop"
        else:
            # plain text is produced chunk by chunk at emit time (`chunk_at`): planning thousands of
            # tokens up front cost more CPU than sending them
            st.text_tokens = max_tokens
            st.text_step = max(1, p.tokens_per_chunk)
            st.n_chunks = -(-max_tokens // st.text_step)
            return
        if len(tokens) > max_tokens:
            tokens, st.finish_reason = tokens[:max_tokens], "length"
        step = max(1, p.tokens_per_chunk)
        for i in range(0, len(tokens), step):
            group = tokens[i:i + step]
            st.chunks.append((json.dumps({"content": "".join(group)}), len(group)))
        st.n_chunks = len(st.chunks)

    @staticmethod
    def chunk_at(st: SimStream, i: int) -> tuple[str, int]:
        """The i-th chunk: (delta JSON, tokens in it)."""
        if st.text_tokens:
            first = i * st.text_step
            n = min(st.text_step, st.text_tokens - first)
            return '{"content":"' + "".join(_TOKENS[(first + k) % len(_TOKENS)] for k in range(n)) + '"}', n
        return st.chunks[i]

    @staticmethod
    def tokens_per_chunk(st: SimStream) -> list[int]:
        if st.text_tokens:
            full, rest = divmod(st.text_tokens, st.text_step)
            return [st.text_step] * full + ([rest] if rest else [])
        return [n for _, n in st.chunks]


    def _frame(self, st: SimStream, choices: str, usage: str = "") -> bytes:
        extra = f',"usage":{usage}' if usage else ""
        return (f'data: {{"id":"{st.rid}","object":"chat.completion.chunk","created":{int(st.recv_wall)},'
                f'"model":"{self.profile.model_id}","choices":[{choices}]{extra}}}\n\n').encode()

    def _usage(self, st: SimStream, output_tokens: int | None = None) -> str:
        out = st.tokens_out if output_tokens is None else output_tokens
        return f'{{"prompt_tokens":{st.prompt_tokens},"completion_tokens":{out},"total_tokens":{st.prompt_tokens + out}}}'

    def role_chunk(self, st: SimStream) -> bytes:
        if st.api is not None:
            return st.api.prelude(st)
        usage = self._usage(st) if st.continuous_usage else ""
        return self._frame(st, '{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}', usage)

    def emit(self, st: SimStream) -> None:
        """Write st's due chunk, and in the same write any later ones already due.

        Behind schedule (more streams than a core can serve one write each), the simulator catches
        up as vLLM does when its client has not taken the last output yet: by merging. On schedule,
        every chunk is its own write at its own time.
        """
        if st.done:
            return
        now = self.loop.time()  # type: ignore[union-attr]
        frames: list[bytes] = []
        faulty = st.fault in STREAM_FAULTS
        while True:
            i = st.emitted
            if st.text_tokens:  # the common case, inlined: this runs once per event
                first = i * st.text_step
                n = st.text_step if st.text_tokens - first >= st.text_step else st.text_tokens - first
                if n == 1:
                    delta = _TOKEN_DELTAS[first % len(_TOKENS)]
                else:
                    delta = '{"content":"' + "".join(_TOKENS[(first + k) % len(_TOKENS)] for k in range(n)) + '"}'
            else:
                delta, n = st.chunks[i]
            first_id = 1000 + st.tokens_out
            st.emitted = i + 1
            st.tokens_out += n
            if st.api is not None:
                frame = st.api.content(st, delta)
            else:
                tail = _CHOICE_TAIL
                if st.token_ids:
                    tail = ',"token_ids":[' + ",".join(str(first_id + k) for k in range(n)) + "]" + tail
                if st.continuous_usage:
                    tail += ',"usage":' + self._usage(st)
                frame = (st.prefix + delta + tail + "}\n\n").encode()
            frames.append(b"%x\r\n%s\r\n" % (len(frame), frame))
            if (faulty and st.emitted >= 2) or st.emitted >= st.n_chunks:
                break
            if st.text_tokens:
                rest = st.text_tokens - st.emitted * st.text_step
                nxt = st.text_step if rest >= st.text_step else rest
            else:
                nxt = st.chunks[st.emitted][1]
            st.next_at += self.next_itl(st, nxt) / 1e3
            if st.next_at > now or len(frames) >= _CATCH_UP_MAX:
                break
        counters = self.counters
        # The emission time is read before the write: on loopback the write hands the bytes to the client and
        # wakes it, and on a busy machine the woken client may run first for milliseconds, so a time read after
        # the write could come after the client's receipt.
        if len(frames) == 1:  # on schedule
            st.emit_wall.append(time.time())
            st.conn.transport.write(frames[0])
            counters["sse_events"] += 1
        else:
            st.emit_wall.extend([time.time()] * len(frames))
            st.conn.transport.write(b"".join(frames))
            counters["sse_events"] += len(frames)
            counters["sse_events_merged"] += len(frames) - 1
        if faulty and st.emitted >= 2:
            break_stream(st, self.loop, self.profile.stall_s)  # type: ignore[arg-type]
            return
        if st.emitted < st.n_chunks:
            self.schedule(st)
            return
        self.finish_stream(st)

    def finish_stream(self, st: SimStream) -> None:
        usage = self._usage(st) if st.continuous_usage else ""
        finish = finish_reason(st.finish_reason, st.kind, st.fault)
        if st.api is not None:
            out = st.api.finish(st, finish, reported_output_tokens(st.tokens_out, st.fault))
            end = [out.pop()]  # the terminal event, after the ground truth
        else:
            out = [self._frame(st, f'{{"index":0,"delta":{{}},"finish_reason":"{finish}"}}', usage)]
            end = [b"data: [DONE]\n\n"]
        if st.include_usage and st.api is None:
            timings = ""
            if self.profile.server_kind == "llamacpp":
                timings = f',"timings":{{"predicted_n":{st.tokens_out},"prompt_n":{st.prompt_tokens}}}'
            out.append((f'data: {{"id":"{st.rid}","object":"chat.completion.chunk","created":{int(st.recv_wall)},'
                        f'"model":"{self.profile.model_id}","choices":[],'
                        f'"usage":{self._usage(st, reported_output_tokens(st.tokens_out, st.fault))}{timings}}}\n\n').encode())
        if self.profile.truth:
            recv = st.recv_wall
            emit_ms = [round((t - recv) * 1e3, 4) for t in st.emit_wall]
            truth = {"recv_wall": round(recv, 6), "ttft_ms": emit_ms[0] if emit_ms else None, "emit_ms": emit_ms,
                     "tokens": self.tokens_per_chunk(st), "queue_ms": round(st.queue_ms, 3),
                     "bucket": st.bucket, "first_hit_ms": st.first_hit_ms, "itl_ms": round(st.itl_ms, 3)}
            out.append(b": sim-truth " + orjson.dumps(truth) + b"\n\n")  # a fifth of json.dumps' cost with 64 floats
        out += end
        self.counters["generation_tokens"] += st.tokens_out
        self.counters["requests_ok"] += 1
        self.publish_counters()  # before the answer ends: a client that then asks any worker sees it counted
        st.conn.write_sse(b"".join(out), events=len(out))
        st.conn.end_chunked()
        self.release(st)

    def finish_unary(self, st: SimStream) -> None:
        chunks = [self.chunk_at(st, i) for i in range(st.n_chunks)]
        st.tokens_out = sum(n for _, n in chunks)
        message: dict[str, Any] = {"role": "assistant", "content": None}
        deltas = [json.loads(d) for d, _ in chunks]
        if st.kind == "tool":
            call = deltas[0]["tool_calls"][0]
            call["function"]["arguments"] = "".join(d["tool_calls"][0]["function"]["arguments"] for d in deltas[1:])
            call.pop("index", None)
            message["tool_calls"] = [call]
        else:
            message["content"] = "".join(d.get("content", "") for d in deltas)
        payload = {"id": st.rid, "object": "chat.completion", "created": int(st.recv_wall),
                   "model": self.profile.model_id,
                   "choices": [{"index": 0, "message": message, "finish_reason": st.finish_reason}],
                   "usage": json.loads(self._usage(st))}
        self.counters["generation_tokens"] += st.tokens_out
        self.counters["requests_ok"] += 1
        self.publish_counters()
        st.conn.send_json(200, payload)
        self.release(st)

