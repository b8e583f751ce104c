"""An OpenAI-compatible LLM server simulator on raw asyncio: the load tests' default target and ground truth.

The parts, one module each: `protocol` (HTTP/1.1 in and out, routes), `scheduling` (slots, timing,
the timer wheel), `responses` (planning and writing chunks, token counts, usage), `faults`, `metrics`;
this module holds the state they share and `serve`.

Ground truth: every streamed response ends with an SSE comment `: sim-truth {...}` holding the
time from request receipt to each content chunk actually written (not the planned time: asyncio
timers fire up to a millisecond late), so a client can measure its own timing error exactly.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
from collections import deque
from typing import Any

from loadtests.sim.profiles import FAULT_KINDS, SimProfile
from loadtests.sim.protocol import SimProtocol
from loadtests.sim.responses import ResponseWriter, SimStream
from loadtests.sim.scheduling import Scheduler
from loadtests.sim.workers import PUBLISH_EVERY_S, SharedStats, own_stats


class SimServer(Scheduler, ResponseWriter):
    """State shared by all connections: slots, queue, compiled buckets, counters, the timer wheel."""

    def __init__(self, profile: SimProfile, seed: int | None = None) -> None:
        self.profile = profile
        self.rng = random.Random(seed)
        self.active: set[SimStream] = set()
        self.waiting: deque[SimStream] = deque()
        self.compiled_prefill: set[int] = set()
        self.compiled_batch: set[int] = set()
        self.counters = {"prompt_tokens": 0, "generation_tokens": 0, "requests_ok": 0, "sse_events": 0,
                         "sse_events_merged": 0}
        self.faults = dict.fromkeys(FAULT_KINDS, 0)
        self.next_id = 0
        self.loop: asyncio.AbstractEventLoop | None = None
        self.wheel: dict[int, list[SimStream]] = {}  # due millisecond (loop time) -> streams with a chunk due
        self.due_ms: list[int] = []  # heap of the wheel's keys
        self.armed_ms: int | None = None
        self.tick_handle: asyncio.TimerHandle | None = None
        # standard normal draws for the ITL spread, drawn once from the seeded generator
        self.normals = [self.rng.gauss(0.0, 1.0) for _ in range(4096)]
        self.normal_i = 0
        self.shared: SharedStats | None = None  # the counters of all workers, when one of several
        self.worker = 0

    def publish_counters(self) -> None:
        """One of several workers: this one's counters into its row now (also every 10 ms)."""
        if self.shared is not None:
            self.shared.publish(self.worker, self)

    def stats(self) -> dict[str, int]:
        """Counters, running and waiting requests and faults: of the whole simulator, all workers added."""
        if self.shared is None:
            return own_stats(self)
        self.publish_counters()
        return self.shared.totals()


async def serve(profile: SimProfile, host: str = "127.0.0.1", port: int = 0, seed: int | None = None,
                ready: Any = None, *, sock: socket.socket | None = None, shared: SharedStats | None = None,
                worker: int = 0) -> None:
    """Serve until cancelled; `ready(port)` is called once listening.

    `sock`, `shared`, `worker`: one of several workers on one port (see `workers`): its bound socket,
    the counters all workers share, and its index.
    """
    server = SimServer(profile, seed)
    loop = asyncio.get_running_loop()
    server.loop = loop
    if shared is not None:
        server.shared, server.worker = shared, worker
        server.next_id = worker * 100_000_000  # ids stay unique across workers

        def publish() -> None:
            shared.publish(worker, server)
            loop.call_later(PUBLISH_EVERY_S, publish)

        publish()
    if sock is not None:
        aserver = await loop.create_server(lambda: SimProtocol(server), sock=sock, backlog=4096)
    else:
        try:
            aserver = await loop.create_server(lambda: SimProtocol(server), host, port, backlog=4096, reuse_address=True)
        except OSError as exc:
            reason = os.strerror(exc.errno) if exc.errno else exc
            raise SystemExit(f"cannot listen on {host}:{port}: {reason}; choose another --port (0: any free one)") from None
    bound = aserver.sockets[0].getsockname()[1]
    if ready is not None:
        ready(bound)
    async with aserver:
        await aserver.serve_forever()
