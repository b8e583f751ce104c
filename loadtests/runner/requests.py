"""One request on the hot path, and its accounting off it.

`stream_once` does only what must happen while the answer arrives (send, read, parse, and for a
stream sampled for the conformance rules, keep its raw bytes); `account` turns the result into
latencies, validation, the conformance verdict, the Locust request event and the record; the
`Accountant` greenlet runs `account` when the worker has nothing to read.
"""

from __future__ import annotations

import json
import math
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import gevent
from gevent.event import Event
from locust import events

from loadtests.client.chat_stream import Latencies, StreamResult, latencies_of
from loadtests.client.connection import Connection
from loadtests.client.failures import TARGET_WRONG_KINDS, RequestFailure, as_failure, classify_http_error
from loadtests.client.nonconformance import SAMPLE_CHARS, check_stream
from loadtests.client.sse import SSEParser
from loadtests.report.records import RequestRecord
from loadtests.runner.workloads import WorkloadRequest, validate_output
from loadtests.sim.profiles import bucket_for

if TYPE_CHECKING:
    from loadtests.runner.state import RunState

OPENING_REQUESTS = 10  # the first outcomes of a process that may show the target itself is wrong
# A sampled stream that waited longer than this to be accounted is not judged: checking one costs about three
# times reading it, and a worker this far behind has no idle time left to give it. (Its age, not the length of
# the queue: 200 users in step end 200 requests at once, and a queue that long is gone in a tenth of a second.)
CHECK_MAX_WAIT_S = 1.0
# Nor is one judged while the worker's process used more than this share of a core over the last second: its
# checks compete with the reads for the one interpreter lock, and a worker past it has no time to spare.
CHECK_MAX_CPU_SHARE = 0.85
# Finished requests waiting to be accounted above which the accountant stops waiting for an idle loop.
ACCOUNT_BACKLOG = 32
_NEXT_TURN = 1e-6
_LOWEST_PRIORITY = -2  # libev's EV_MINPRI


class CpuGauge:
    """The process's share of one core over the last whole window, read without a timer of its own.

    The first window opens at the first reading (the first request accounted), leaving start-up out.
    """

    def __init__(self, window_s: float = 1.0) -> None:
        self.window_s = window_s
        self.share = 0.0
        self._start: tuple[float, float] | None = None

    def read(self) -> float:
        now, cpu = time.monotonic(), time.process_time()
        if self._start is None:
            self._start = (now, cpu)
        t0, c0 = self._start
        if now - t0 >= self.window_s:
            self.share = (cpu - c0) / (now - t0)
            self._start = (now, cpu)
        return self.share


@dataclass
class RequestOutcome:
    """What one request left on the critical path; `account` turns it into figures later."""

    req: WorkloadRequest
    t_send: float
    t_failed: float
    users: int
    t_intended: float | None
    stage: int | None
    warmup: bool
    fields: dict[str, Any]
    body_len: int
    status: int | None = None
    res: StreamResult | None = None
    exc: RequestFailure | None = None
    raw: list[bytes] | None = None  # the body as it came, for a stream sampled for the conformance rules
    queued_at: float = math.inf  # monotonic time it was handed to the accountant (inf: accounted at once)


def stream_once(st: RunState, conn: Connection, req: WorkloadRequest, *, t_intended: float | None = None,
                stage: int | None = None, warmup: bool = False, body: bytes | None = None, **fields: Any) -> RequestOutcome:
    """Send one streamed request of the run's API and read it to the end: only what must happen while it arrives.

    `body`: the request already encoded (an open-loop user encodes it before waiting for its slot).
    """
    if body is None:
        body = json.dumps(req.body).encode()
    st.inflight += 1
    out = RequestOutcome(req, time.time(), 0.0, st.inflight * st.worker_count, t_intended, stage, warmup, fields, len(body))
    try:
        api = st.api
        out.t_send, resp = conn.request("POST", api.path, body, api.headers,
                                        timeout_s=request_timeout_s(st.opts, req, conn.read_timeout))
        out.status = resp.status
        if resp.status != 200:
            raise classify_http_error(resp.status, resp.read_all(), resp.headers.get("retry-after"))
        if "text/event-stream" not in resp.content_type:
            raw = resp.read_all(4096)
            conn.close()
            raise RequestFailure("not_sse", f"expected a text/event-stream body, got {resp.content_type or 'no content type'!r}: "
                                         f"{raw[:120]!r}; is {conn.target} an OpenAI-compatible server with streaming?", 200)
        acc = api.reader(out.t_send)
        feed = SSEParser(st.opts.max_event_bytes).feed
        on_data, on_comment = acc.on_data, acc.on_comment
        outputs = acc.result.chunk_ts
        seen = 0
        raw = out.raw = [] if not warmup and st.sampler.take() else None

        def consume(ts: float, piece: bytes) -> None:
            nonlocal seen
            if raw is not None:
                raw.append(piece)
            for kind, text in feed(piece):
                if kind == "data":
                    on_data(ts, text)
                else:
                    on_comment(ts, text)
            if len(outputs) != seen:  # content moved on: only this holds off the stall watchdog
                seen = len(outputs)
                conn.last_progress = time.monotonic()

        resp.stream_body(consume)
        res = acc.finish()
        if not res.done:
            raise RequestFailure("protocol", f"the stream ended without {api.end_marker}")
        out.res = res
    except gevent.GreenletExit:
        # the run ended while this request was in flight (after the stop grace): a failure of its own kind
        _failed(out, conn, RequestFailure("unfinished", "still in flight when the run ended; a stalled or very slow "
                                                        "stream, or raise --stop-timeout"))
        st.accountant.submit(out)
        raise
    except Exception as err:  # whatever broke, this request gets exactly one outcome
        _failed(out, conn, as_failure(err))
    finally:
        st.inflight -= 1
    if len(st.opening) < OPENING_REQUESTS:
        _judge_opening(st, out.exc)
    return out


def _judge_opening(st: RunState, exc: RequestFailure | None) -> None:
    """End the run early only when its first requests all failed in one way that means the target is wrong.

    Nothing listening, a host that is not an OpenAI streaming server, a model it does not serve: then
    every request fails alike and waiting for -t only delays the message. A success or any other kind
    of failure among them settles it: intermittent faults are the server's to be measured, not ours to
    stop at (with 5% HTML answers, three of them used to arrive before the first success).
    """
    if exc is None or not (exc.kind in TARGET_WRONG_KINDS or exc.status == 404):
        st.opening = [None] * OPENING_REQUESTS  # settled: the target answers as one should
        return
    st.opening.append(exc.kind if exc.status != 404 else "http_404")
    if len(st.opening) == OPENING_REQUESTS and len(set(st.opening)) == 1:
        st.abort(f"the first {OPENING_REQUESTS} requests all failed the same way, so the target looks wrong: {exc}")


def _failed(out: RequestOutcome, conn: Connection, exc: RequestFailure) -> None:
    out.exc = exc
    out.t_failed = time.time()
    conn.close()  # whatever is left of the response must never be read as the next one


def request_timeout_s(opts: Any, req: WorkloadRequest, stall_timeout_s: float) -> float:
    """`--request-timeout-s`, or by default the stall timeout (queueing and prefill; the Neuron warmup's
    allows for compiling) plus 0.25 s per requested output token (a floor of 4 tokens a second)."""
    if opts.request_timeout_s:
        return opts.request_timeout_s
    return stall_timeout_s + 0.25 * int(req.body.get("max_tokens") or req.body.get("max_output_tokens") or 0)


def run_request(st: RunState, conn: Connection, req: WorkloadRequest, **kw: Any) -> dict[str, Any]:
    """One request measured and accounted at once (warmup); returns its record."""
    return account(st, stream_once(st, conn, req, **kw))


def account(st: RunState, out: RequestOutcome, *, in_thread: bool = False, judge: bool = True) -> dict[str, Any]:
    """Latencies, validation, ground-truth errors and the Locust request event of one finished request.

    `in_thread`: judge its conformance in the checker thread, the other greenlets running meanwhile (the
    accountant's way); otherwise at once, holding the loop (a drain, which must not let requests move on).
    `judge`: False leaves a sampled stream unjudged (the accountant fell behind), marked as skipped.
    """
    req, res, exc = out.req, out.res, out.exc
    lat = None
    if exc is None:
        assert res is not None
        try:
            lat = latencies_of(res)
        except Exception as err:
            exc = as_failure(err)
    if lat is not None:
        t_end = max(res.t_end, res.chunk_ts[-1])  # type: ignore[union-attr]
    else:  # failed while reading, or a complete stream without output
        t_end = out.t_failed or (res.t_end if res is not None and res.t_end else time.time())
    rec = _record(st, out, t_end, exc)
    itl_token: list[tuple[float, int]] = []
    itl_chunk: list[float] = []
    if exc is None:
        assert lat is not None and res is not None
        try:
            _measure(st, out, rec, lat, res, t_end)
            itl_token, itl_chunk = lat.itl_token_ms, lat.itl_chunk_ms
        except Exception as err:  # an answer odd enough to break the analysis is one failure, not a lost request
            exc = as_failure(err)
            rec = _record(st, out, t_end, exc)
    if exc is None and out.raw is not None:
        if not judge:
            rec.conformance_skipped = True
        else:
            exc = _judge_conformance(st, out, rec, lat, res, in_thread)  # type: ignore[arg-type]
            if exc is not None:
                itl_token, itl_chunk = [], []
    record = rec.to_dict()
    record["ok"] = rec.ok
    events.request.fire(request_type="SSE" if not out.warmup else "WARMUP", name=req.workload,
                        response_time=rec.e2e_ms or 0.0, response_length=out.body_len,
                        exception=exc, context={"llm_record": record, "itl_token": itl_token, "itl_chunk": itl_chunk})
    return record


def _record(st: RunState, out: RequestOutcome, t_end: float, exc: RequestFailure | None) -> RequestRecord:
    rec = RequestRecord(workload=out.req.workload, ok=exc is None, worker=st.worker_index, t_intended=out.t_intended,
                        t_send=out.t_send, t_end=t_end, stage=out.stage, users=out.users, warmup=out.warmup,
                        status=out.status, **out.fields)
    if out.t_intended is not None:
        rec.send_lag_ms = round((out.t_send - out.t_intended) * 1e3, 3)
    if exc is not None:
        rec.error_kind, rec.error = exc.kind, str(exc)
        if exc.backoff_s:
            rec.backoff_s = exc.backoff_s
        rec.e2e_ms = round((t_end - out.t_send) * 1e3, 3)
    return rec


def _measure(st: RunState, out: RequestOutcome, rec: RequestRecord, lat: Latencies, res: StreamResult, t_end: float) -> None:
    """The figures of a successful request: latencies, validity, SLOs, the error against the simulator's truth."""
    t_send = out.t_send
    rec.ttft_ms, rec.e2e_ms = round(lat.ttft_ms, 3), round(lat.e2e_ms, 3)
    rec.tpot_ms = None if lat.tpot_ms is None else round(lat.tpot_ms, 3)
    rec.output_tokens, rec.prompt_tokens = lat.output_tokens, res.prompt_tokens
    rec.chunks, rec.events, rec.token_source, rec.finish_reason = len(res.chunk_ts), res.events, res.token_source, res.finish_reason
    if lat.itl_chunk_ms:
        ordered = sorted(lat.itl_chunk_ms)
        rec.itl_chunk_p50_ms = round(ordered[len(ordered) // 2], 3)
        rec.itl_chunk_max_ms = round(ordered[-1], 3)
    if out.t_intended is not None:
        rec.intended_e2e_ms = round((t_end - out.t_intended) * 1e3, 3)
    rec.valid, rec.invalid_reason = validate_output(out.req, res)
    slo = st.slo
    rec.slo_ok = all(v is not None and v <= slo[k] for k, v in (("ttft", lat.ttft_ms), ("tpot", lat.tpot_ms or 0.0),
                                                                ("e2e", lat.e2e_ms)) if k in slo)
    if st.spec.neuron and res.prompt_tokens:
        rec.bucket = bucket_for(res.prompt_tokens, tuple(st.opts.prefill_buckets)) or rec.bucket  # the server's count
    if res.truth and res.truth.get("ttft_ms") is not None:
        # the simulator's wall-clock time of its first write, seen from our send time: the error left is ours
        first_write = res.truth["recv_wall"] + res.truth["ttft_ms"] / 1e3
        rec.truth_ttft_ms = round((first_write - t_send) * 1e3, 3)
        rec.ttft_err_ms = round(lat.ttft_ms - rec.truth_ttft_ms, 3)
        emit = res.truth.get("emit_ms", [])
        if len(emit) == len(res.chunk_ts):
            errs = [lat.itl_chunk_ms[i - 1] - (emit[i] - emit[i - 1]) for i in range(1, len(emit))]
            rec.extra["itl_errs"] = errs
            if errs:
                rec.itl_err_p99_ms = round(sorted(abs(e) for e in errs)[int(0.99 * (len(errs) - 1))], 3)


def _judge_conformance(st: RunState, out: RequestOutcome, rec: RequestRecord, lat: Latencies,
                       res: StreamResult, in_thread: bool) -> RequestFailure | None:
    """The conformance suite's rules over a sampled stream's raw bytes; a broken rule fails it as nonconformant.

    Its timings stay in its record, but like every failed request it enters no latency statistic.
    """
    raw = b"".join(out.raw or ())
    req = out.req
    # In a thread of its own: judging a long stream takes milliseconds of pure Python, and held on the event
    # loop it would let the kernel merge the events arriving meanwhile (every ITL of that moment lost); the
    # thread gives the loop the GIL back within the interpreter's switch interval.
    args = (st.wire, raw, req.body)
    kw = {"output_schema": req.schema if req.expect == "json" else None, "counted_tokens": res.counted_tokens,
          "latency_ms": lat.e2e_ms, "ttft_ms": lat.ttft_ms}
    found = st.checker.apply(check_stream, args, kw) if in_thread else check_stream(*args, **kw)
    rec.conformance_checked = True
    if not found:
        return None
    exc = RequestFailure("nonconformant", "; ".join(map(str, found))[:1000])
    rec.ok = False
    rec.error_kind, rec.error = exc.kind, str(exc)
    rec.nonconformant = sorted({violation.rule for violation in found})
    rec.extra["stream_sample"] = raw[:SAMPLE_CHARS].decode("utf-8", "replace")
    return exc


class Accountant:
    """Accounts finished requests while the worker has nothing to read, and never two without a read between.

    Accounting one request costs as much as reading a hundred events. Done inline, requests that end
    together (users started together stay in step) hold every socket back for tens of ms; events
    that queue meanwhile are merged by the kernel under one receive timestamp, and every TTFT and
    ITL of that moment is wrong. Here it waits for an idle event loop, so reads always go first.
    A busy worker is rarely idle: past `backlog` waiting requests it accounts one per turn of the
    loop, each after the loop has polled the sockets and read every one with data. (Back to back
    they held the loop for up to 250 ms at 200 streams; `gevent.sleep(0)` would not do, since the
    loop runs up to 50 such callbacks before it polls again. Both measured.)
    """

    def __init__(self, st: RunState, backlog: int = ACCOUNT_BACKLOG) -> None:
        self.st = st
        self.backlog = backlog
        self.queue: deque[RequestOutcome] = deque()
        self.wakeup = Event()
        self.greenlet: gevent.Greenlet | None = None
        self.cpu = CpuGauge()

    def submit(self, out: RequestOutcome) -> None:
        out.queued_at = time.monotonic()
        self.queue.append(out)
        if self.greenlet is None or self.greenlet.dead:
            self.greenlet = gevent.spawn(self._run)
        self.wakeup.set()

    def drain(self, *, final: bool = False) -> None:
        """Account everything waiting now (before a report is sent or written).

        `final`: the run's traffic is over, so no read is left to hold back and every sampled stream is
        judged, however long it waited (the stop itself can hold the loop for seconds: Locust's stop
        looks up its caller's source, our report is written).
        """
        while self.queue:
            out = self.queue.popleft()
            account(self.st, out, judge=final or not self._saturated(out))

    def _saturated(self, out: RequestOutcome) -> bool:
        """Whether the worker is saturated, so a sampled stream is left unjudged: the request waited too long
        to be accounted, or the process is using nearly all of its core."""
        return time.monotonic() - out.queued_at > CHECK_MAX_WAIT_S or self.cpu.read() > CHECK_MAX_CPU_SHARE

    @staticmethod
    def _after_next_poll() -> None:
        """Wait one turn of the loop in which every socket found readable is served first.

        A timer at the loop's lowest priority: libev invokes the watchers that fell due together
        highest priority first (and, within one, the last queued first: a plain timer would run
        before the reads polled with it).
        """
        hub = gevent.get_hub()
        timer = hub.loop.timer(_NEXT_TURN, priority=_LOWEST_PRIORITY)
        try:
            hub.wait(timer)
        finally:
            timer.close()

    def _run(self) -> None:
        queue = self.queue
        while True:
            if not queue:
                self.wakeup.clear()
                self.wakeup.wait()
                continue
            if len(queue) < self.backlog:
                gevent.idle()
            else:
                self._after_next_poll()
            if queue:
                out = queue.popleft()
                account(self.st, out, in_thread=True, judge=not self._saturated(out))
