"""An OpenAI-compatible LLM server simulator on raw asyncio: the load tests' default target and ground truth.

Why raw asyncio and not a web framework: it must serve at least twice the event rate one load-test
worker consumes, on one core. Streams wait on a millisecond timer wheel (one loop timer for all of
them: the loop's timers have millisecond resolution anyway) and write prebuilt SSE frames, so the
cost per event is little more than its write.

Ground truth: every streamed response ends with an SSE comment `: sim-truth {...}` holding the
time from request receipt to each content chunk actually written (not the planned time: asyncio
timers fire up to a millisecond late), so a client can measure its own timing error exactly.

Faults on demand: a request header `x-sim-fault: KIND` or a body field `"sim_fault": "KIND"`, or at
random with the profile's `fault_rates`; KIND is one of `profiles.FAULT_KINDS`.
"""

from __future__ import annotations

import asyncio
import heapq
import json
import random
import time
from collections import deque
from typing import Any

from loadtests.sim.profiles import FAULT_KINDS, SimProfile, bucket_for

_WORDS = (" the model of a load test that streams tokens to every user in order and counts each one"
          " with time kept on both sides").split()
_TOKENS = tuple(" " + w for w in _WORDS)  # JSON-safe as they are
_TOKEN_DELTAS = tuple('{"content":"' + t + '"}' for t in _TOKENS)
_CHOICE_TAIL = ',"finish_reason":null}]'
_CATCH_UP_MAX = 16  # chunks merged into one write when behind schedule
_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}


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


class _Stream:
    """One chat completion in flight: its plan (chunks) and its timing."""

    __slots__ = ("conn", "body", "stream", "recv_wall", "recv_mono", "chunks", "finish_reason", "prompt_tokens",
                 "include_usage", "continuous_usage", "token_ids", "fault", "handle", "emitted", "tokens_out",
                 "queue_ms", "bucket", "first_hit_ms", "admitted", "done", "rid", "kind", "itl_ms", "next_at",
                 "text_tokens", "text_step", "n_chunks", "prefix", "emit_wall")

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


class SimServer:
    """State shared by all connections: slots, queue, compiled buckets, counters."""

    def __init__(self, profile: SimProfile, seed: int | None = None) -> None:
        self.profile = profile
        self.rng = random.Random(seed)
        self.active: set[_Stream] = set()
        self.waiting: deque[_Stream] = deque()
        self.compiled_prefill: set[int] = set()
        self.compiled_batch: set[int] = set()
        self.counters = {"prompt_tokens": 0, "generation_tokens": 0, "requests_ok": 0, "sse_events": 0,
                         "sse_events_merged": 0}
        self.faults = dict.fromkeys(FAULT_KINDS, 0)
        self.next_id = 0
        self.loop: asyncio.AbstractEventLoop | None = None
        self.wheel: dict[int, list[_Stream]] = {}  # due millisecond (loop time) -> streams with a chunk due
        self.due_ms: list[int] = []  # heap of the wheel's keys
        self.armed_ms: int | None = None
        self.tick_handle: asyncio.TimerHandle | None = None
        # standard normal draws for the ITL spread, drawn once from the seeded generator
        self.normals = [self.rng.gauss(0.0, 1.0) for _ in range(4096)]
        self.normal_i = 0

    # ---- planning -------------------------------------------------------------------------
    def plan(self, st: _Stream) -> None:
        body = st.body
        max_tokens = int(body.get("max_completion_tokens") or body.get("max_tokens") or 64)
        tools = body.get("tools") or []
        last_role = (body.get("messages") or [{}])[-1].get("role")
        wants_tool = tools and body.get("tool_choice", "auto") != "none" and last_role != "tool"
        p = self.profile
        if wants_tool:
            st.kind = "tool"
            fn = tools[0].get("function", {})
            args = json.dumps(synth_from_schema(fn.get("parameters", {"type": "object"})))
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
    def chunk_at(st: _Stream, i: int) -> tuple[str, int]:
        """The i-th chunk: (delta JSON, tokens in it)."""
        if st.text_tokens:
            first = i * st.text_step
            n = min(st.text_step, st.text_tokens - first)
            return '{"content":"' + "".join(_TOKENS[(first + k) % len(_TOKENS)] for k in range(n)) + '"}', n
        return st.chunks[i]

    @staticmethod
    def tokens_per_chunk(st: _Stream) -> list[int]:
        if st.text_tokens:
            full, rest = divmod(st.text_tokens, st.text_step)
            return [st.text_step] * full + ([rest] if rest else [])
        return [n for _, n in st.chunks]

    def choose_fault(self, st: _Stream, header: str | None) -> str | None:
        fault = header or st.body.get("sim_fault")
        if fault is None and self.profile.fault_rates:
            draw = self.rng.random()
            for kind, prob in self.profile.fault_rates.items():
                if draw < prob:
                    fault = kind
                    break
                draw -= prob
        if fault is not None and fault not in FAULT_KINDS:
            return "bad:" + str(fault)
        return fault

    # ---- scheduling -----------------------------------------------------------------------
    def admit_or_queue(self, st: _Stream) -> None:
        if len(self.active) < self.profile.max_num_seqs:
            self.start(st)
        else:
            self.waiting.append(st)

    def start(self, st: _Stream) -> None:
        p, rng = self.profile, self.rng
        loop = self.loop
        assert loop is not None
        self.active.add(st)
        st.admitted = True
        now = loop.time()
        st.queue_ms = (now - st.recv_mono) * 1e3
        prefill = p.ttft_ms + (rng.gauss(0.0, p.ttft_spread_ms) if p.ttft_spread_ms else 0.0)
        if p.prefill_buckets:
            st.bucket = bucket_for(st.prompt_tokens, p.prefill_buckets)
            prefill += p.prefill_ms_per_1k_tokens * (st.bucket or st.prompt_tokens) / 1000.0
            if st.bucket not in self.compiled_prefill:
                self.compiled_prefill.add(st.bucket)
                st.first_hit_ms += p.first_hit_ms
        if p.batch_buckets:
            batch = bucket_for(len(self.active), p.batch_buckets) or p.batch_buckets[-1]
            if batch not in self.compiled_batch:
                self.compiled_batch.add(batch)
                st.first_hit_ms += p.first_hit_ms
        prefill = max(0.5, prefill + st.first_hit_ms)
        load = (len(self.active) - 1) / max(1, p.max_num_seqs)
        st.itl_ms = p.itl_ms * (1.0 + p.batch_slowdown * load)
        if st.stream:
            st.conn.write_sse(self.role_chunk(st))
            st.next_at = now + prefill / 1e3
            self.schedule(st)
        else:
            total = prefill + (st.text_tokens or sum(n for _, n in st.chunks)) * st.itl_ms
            st.handle = loop.call_at(now + total / 1e3, self.finish_unary, st)

    def release(self, st: _Stream) -> None:
        if st.done:
            return
        st.done = True
        if st.handle is not None:
            st.handle.cancel()
        if st.admitted:
            self.active.discard(st)
            while self.waiting and len(self.active) < self.profile.max_num_seqs:
                nxt = self.waiting.popleft()
                if not nxt.done:
                    self.start(nxt)
        else:
            try:
                self.waiting.remove(st)
            except ValueError:
                pass

    def next_itl(self, st: _Stream, tokens: int) -> float:
        spread = self.profile.itl_spread_ms
        if not spread:
            return st.itl_ms * tokens
        normals, i = self.normals, self.normal_i
        floor = 0.2 * st.itl_ms
        total = 0.0
        for _ in range(tokens):
            itl = st.itl_ms + spread * normals[i & 4095]
            i += 1
            total += itl if itl > floor else floor
        self.normal_i = i
        return total

    # ---- the timer wheel ------------------------------------------------------------------
    def schedule(self, st: _Stream) -> None:
        """Emit st's next chunk at loop time st.next_at (rounded up to the millisecond)."""
        key = -int(-st.next_at * 1000.0 // 1)
        bucket = self.wheel.get(key)
        if bucket is None:
            self.wheel[key] = [st]
            heapq.heappush(self.due_ms, key)
            if self.armed_ms is None or key < self.armed_ms:
                self._arm(key)
        else:
            bucket.append(st)

    def _arm(self, key: int) -> None:
        if self.tick_handle is not None:
            self.tick_handle.cancel()
        self.armed_ms = key
        self.tick_handle = self.loop.call_at(key / 1000.0, self._tick)  # type: ignore[union-attr]

    def _tick(self) -> None:
        self.armed_ms = -1  # ticking: streams scheduled meanwhile are picked up below, not armed
        self.tick_handle = None
        due, wheel, emit = self.due_ms, self.wheel, self.emit
        now_ms = self.loop.time() * 1000.0  # type: ignore[union-attr]
        while due and due[0] <= now_ms:  # never early: a timer that fires before its millisecond is re-armed
            for st in wheel.pop(heapq.heappop(due)):
                if not st.done:
                    emit(st)
        self.armed_ms = None
        if due:
            self._arm(due[0])

    # ---- frames ---------------------------------------------------------------------------
    def _frame(self, st: _Stream, choices: str, usage: str = "") -> bytes:
        extra = f',"usage":{usage}' if usage else ""
        return (f'data: {{"id":"{st.rid}","object":"chat.completion.chunk","created":{int(st.recv_wall)},'
                f'"model":"{self.profile.model_id}","choices":[{choices}]{extra}}}\n\n').encode()

    def _usage(self, st: _Stream) -> str:
        return (f'{{"prompt_tokens":{st.prompt_tokens},"completion_tokens":{st.tokens_out},'
                f'"total_tokens":{st.prompt_tokens + st.tokens_out}}}')

    def role_chunk(self, st: _Stream) -> bytes:
        usage = self._usage(st) if st.continuous_usage else ""
        return self._frame(st, '{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}', usage)

    def emit(self, st: _Stream) -> None:
        """Write st's due chunk, and in the same write any later ones already due.

        Behind schedule (more streams than a core can serve one write each), the simulator catches
        up as vLLM does when its client has not taken the last output yet: by merging. On schedule,
        every chunk is its own write at its own time.
        """
        if st.done:
            return
        now = self.loop.time()  # type: ignore[union-attr]
        frames: list[bytes] = []
        faulty = st.fault in ("stall", "drop")
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
        st.conn.transport.write(frames[0] if len(frames) == 1 else b"".join(frames))
        written = time.time()
        st.emit_wall.extend([written] * len(frames))
        self.counters["sse_events"] += len(frames)
        self.counters["sse_events_merged"] += len(frames) - 1
        if faulty and st.emitted >= 2:
            if st.fault == "drop":
                st.conn.transport.abort()
                return
            st.handle = self.loop.call_later(self.profile.stall_s, st.conn.transport.abort)  # type: ignore[union-attr]
            return
        if st.emitted < st.n_chunks:
            self.schedule(st)
            return
        self.finish_stream(st)

    def finish_stream(self, st: _Stream) -> None:
        usage = self._usage(st) if st.continuous_usage else ""
        out = [self._frame(st, f'{{"index":0,"delta":{{}},"finish_reason":"{st.finish_reason}"}}', usage)]
        if st.include_usage:
            timings = ""
            if self.profile.server_kind == "llamacpp":
                timings = f',"timings":{{"predicted_n":{st.tokens_out},"prompt_n":{st.prompt_tokens}}}'
            out.append((f'data: {{"id":"{st.rid}","object":"chat.completion.chunk","created":{int(st.recv_wall)},'
                        f'"model":"{self.profile.model_id}","choices":[],"usage":{self._usage(st)}{timings}}}\n\n').encode())
        if self.profile.truth:
            emit_ms = [round((t - st.recv_wall) * 1e3, 4) for t in st.emit_wall]
            truth = {"recv_wall": round(st.recv_wall, 6), "ttft_ms": emit_ms[0] if emit_ms else None, "emit_ms": emit_ms,
                     "tokens": self.tokens_per_chunk(st), "queue_ms": round(st.queue_ms, 3),
                     "bucket": st.bucket, "first_hit_ms": st.first_hit_ms, "itl_ms": round(st.itl_ms, 3)}
            out.append(f": sim-truth {json.dumps(truth, separators=(',', ':'))}\n\n".encode())
        out.append(b"data: [DONE]\n\n")
        self.counters["generation_tokens"] += st.tokens_out
        self.counters["requests_ok"] += 1
        st.conn.write_sse(b"".join(out), events=len(out))
        st.conn.end_chunked()
        self.release(st)

    def finish_unary(self, st: _Stream) -> None:
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
        st.conn.send_json(200, payload)
        self.release(st)

    def metrics_text(self) -> str:
        c = self.counters
        lines = [
            "# TYPE vllm:num_requests_running gauge", f'vllm:num_requests_running{{model_name="{self.profile.model_id}"}} {len(self.active)}',
            "# TYPE vllm:num_requests_waiting gauge", f'vllm:num_requests_waiting{{model_name="{self.profile.model_id}"}} {len(self.waiting)}',
            "# TYPE vllm:prompt_tokens_total counter", f'vllm:prompt_tokens_total{{model_name="{self.profile.model_id}"}} {c["prompt_tokens"]}',
            "# TYPE vllm:generation_tokens_total counter", f'vllm:generation_tokens_total{{model_name="{self.profile.model_id}"}} {c["generation_tokens"]}',
            "# TYPE vllm:request_success_total counter", f'vllm:request_success_total{{model_name="{self.profile.model_id}"}} {c["requests_ok"]}',
            "# TYPE sim_sse_events_total counter", f"sim_sse_events_total {c['sse_events']}",
            "# HELP sim_sse_events_merged_total content events written together with an earlier one (behind schedule)",
            "# TYPE sim_sse_events_merged_total counter", f"sim_sse_events_merged_total {c['sse_events_merged']}",
            "# TYPE sim_faults_total counter",
        ]
        lines += [f'sim_faults_total{{kind="{k}"}} {v}' for k, v in self.faults.items()]
        return "\n".join(lines) + "\n"


class SimProtocol(asyncio.Protocol):
    """One HTTP/1.1 keep-alive connection (no pipelining: clients wait for each response)."""

    def __init__(self, server: SimServer) -> None:
        self.server = server
        self.buf = b""
        self.transport: asyncio.Transport
        self.current: _Stream | None = None
        self.close_after = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        if self.current is not None:
            self.server.release(self.current)
            self.current = None

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while self.current is None:
            head_end = self.buf.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buf[:head_end].decode("latin-1").split("\r\n")
            try:
                method, path, _version = head[0].split(" ", 2)
            except ValueError:
                self.send_json(400, {"error": {"message": f"bad request line {head[0]!r}"}}, close=True)
                return
            headers = {}
            for line in head[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0") or 0)
            if len(self.buf) < head_end + 4 + length:
                return
            body = self.buf[head_end + 4:head_end + 4 + length]
            self.buf = self.buf[head_end + 4 + length:]
            self.close_after = headers.get("connection", "").lower() == "close"
            self.route(method, path.split("?", 1)[0], headers, body)

    # ---- responses --------------------------------------------------------------------------
    def send_raw(self, status: int, content_type: str, payload: bytes, extra: str = "", close: bool = False) -> None:
        conn = "close" if close or self.close_after else "keep-alive"
        self.transport.write((f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\nContent-Type: {content_type}\r\n"
                              f"Content-Length: {len(payload)}\r\nConnection: {conn}\r\n{extra}\r\n").encode() + payload)
        if conn == "close":
            self.transport.close()

    def send_json(self, status: int, payload: Any, extra: str = "", close: bool = False) -> None:
        self.current = None
        self.send_raw(status, "application/json", json.dumps(payload).encode(), extra, close)

    def write_sse(self, frame: bytes, events: int = 1) -> None:
        self.server.counters["sse_events"] += events
        self.transport.write(b"%x\r\n%s\r\n" % (len(frame), frame))

    def end_chunked(self) -> None:
        self.transport.write(b"0\r\n\r\n")
        self.current = None
        if self.close_after:
            self.transport.close()

    def route(self, method: str, path: str, headers: dict[str, str], body: bytes) -> None:
        srv = self.server
        if method == "GET" and path == "/health":
            payload = b'{"status":"ok"}' if srv.profile.server_kind == "llamacpp" else b""
            self.send_raw(200, "application/json", payload)
        elif method == "GET" and path == "/v1/models":
            self.send_json(200, {"object": "list", "data": [{"id": srv.profile.model_id, "object": "model",
                                                            "owned_by": "sim", "max_model_len": srv.profile.max_model_len}]})
        elif method == "GET" and path == "/metrics":
            self.send_raw(200, "text/plain; version=0.0.4", srv.metrics_text().encode())
        elif path == "/v1/chat/completions":
            if method != "POST":
                self.send_json(405, {"error": {"message": f"{method} not allowed on {path}; use POST"}})
                return
            self.chat(headers, body)
        else:
            self.send_json(404, {"error": {"message": f"no route {method} {path}"}})

    def chat(self, headers: dict[str, str], raw: bytes) -> None:
        srv = self.server
        recv_wall, recv_mono = time.time(), srv.loop.time()  # type: ignore[union-attr]
        try:
            body = json.loads(raw)
            if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
                raise ValueError("body must be a JSON object with a 'messages' list")
        except ValueError as exc:
            self.send_json(400, {"error": {"message": f"invalid request body: {exc}", "type": "BadRequestError"}})
            return
        if body.get("model") not in (None, srv.profile.model_id):
            self.send_json(404, {"error": {"message": f"The model `{body.get('model')}` does not exist.",
                                           "type": "NotFoundError", "code": 404}})
            return
        st = _Stream(self, body, recv_wall, recv_mono)
        srv.next_id += 1
        st.rid = f"chatcmpl-sim{srv.next_id:08d}"
        st.prefix = (f'data: {{"id":"{st.rid}","object":"chat.completion.chunk","created":{int(recv_wall)},'
                     f'"model":"{srv.profile.model_id}","choices":[{{"index":0,"delta":')
        st.fault = srv.choose_fault(st, headers.get("x-sim-fault"))
        if st.fault and st.fault.startswith("bad:"):
            self.send_json(400, {"error": {"message": f"unknown sim fault {st.fault[4:]!r}; valid: {list(FAULT_KINDS)}"}})
            return
        if st.fault:
            srv.faults[st.fault] += 1
        st.prompt_tokens = prompt_tokens_of(body)
        max_tokens = int(body.get("max_completion_tokens") or body.get("max_tokens") or 64)
        limit = srv.profile.max_model_len
        if st.fault == "context_overflow" or st.prompt_tokens + max_tokens > limit:
            shown = st.prompt_tokens if st.fault != "context_overflow" else limit + 1
            self.send_json(400, {"error": {"message": (
                f"This model's maximum context length is {limit} tokens. However, you requested "
                f"{shown + max_tokens} tokens ({shown} in the messages, {max_tokens} in the completion). "
                "Please reduce the length of the messages or completion."), "type": "BadRequestError", "code": 400}})
            return
        if st.fault == "429":
            self.send_json(429, {"error": {"message": "Rate limit exceeded, retry later", "type": "rate_limit_error",
                                           "code": 429}}, extra="Retry-After: 1\r\n")
            return
        if st.fault == "503":
            self.send_json(503, {"error": {"message": "Service unavailable: the engine is overloaded",
                                           "type": "ServiceUnavailableError", "code": 503}})
            return
        if st.fault == "html":
            self.current = None
            self.send_raw(200, "text/html", b"<html><head><title>Welcome</title></head><body>It works!</body></html>")
            return
        srv.counters["prompt_tokens"] += st.prompt_tokens
        srv.plan(st)
        self.current = st
        if st.stream:
            conn = "close" if self.close_after else "keep-alive"
            self.transport.write(("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                                  f"Transfer-Encoding: chunked\r\nConnection: {conn}\r\n\r\n").encode())
        srv.admit_or_queue(st)


async def serve(profile: SimProfile, host: str = "127.0.0.1", port: int = 0, seed: int | None = None,
                ready: Any = None) -> None:
    """Serve until cancelled; `ready(port)` is called once listening."""
    server = SimServer(profile, seed)
    loop = asyncio.get_running_loop()
    server.loop = loop
    aserver = await loop.create_server(lambda: SimProtocol(server), host, port, backlog=4096, reuse_address=True)
    bound = aserver.sockets[0].getsockname()[1]
    if ready is not None:
        ready(bound)
    async with aserver:
        await aserver.serve_forever()
