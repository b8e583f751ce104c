"""When the simulator does what: slots (`max_num_seqs`), prefill and first-hit compile time, inter-token gaps, the timer wheel.

Every stream waits on one millisecond timer wheel: one loop timer for all of them (the loop's timers
have millisecond resolution anyway), so the cost per event is little more than its write.
"""

from __future__ import annotations

import heapq
import time
from typing import TYPE_CHECKING

from loadtests.sim.profiles import bucket_for

# Longest stretch of writing before the loop polls its sockets (new requests, /metrics) again.
TICK_BUDGET_S = 0.005

if TYPE_CHECKING:
    from loadtests.sim.responses import SimStream


class Scheduler:
    """Slots, timing and the timer wheel; a part of `SimServer` (its profile, rng, loop and stream sets)."""

    def admit_or_queue(self, st: SimStream) -> None:
        if len(self.active) < self.profile.max_num_seqs:
            self.start(st)
        else:
            self.waiting.append(st)

    def start(self, st: SimStream) -> None:
        p, rng = self.profile, self.rng
        loop = self.loop
        assert loop is not None
        self.active.add(st)
        st.admitted = True
        # The clock itself, not loop.time(): uvloop's is the millisecond its iteration began, up to a
        # millisecond behind the receipt, and a plan from it emitted the first token before its TTFT.
        # Timers then fire at loop.time() >= next_at, which lags the clock: late, never early.
        now = time.monotonic()
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

    def release(self, st: SimStream) -> None:
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

    def next_itl(self, st: SimStream, tokens: int) -> float:
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

    def schedule(self, st: SimStream) -> None:
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
        budget_end = time.perf_counter() + TICK_BUDGET_S
        while due and due[0] <= now_ms:  # never early: a timer that fires before its millisecond is re-armed
            key = heapq.heappop(due)
            bucket = wheel.pop(key)
            for n, st in enumerate(bucket):
                if not st.done:
                    emit(st)
                if n & 31 == 31 and n + 1 < len(bucket) and time.perf_counter() > budget_end:
                    self._resume_after_poll(key, bucket[n + 1:])
                    return
            if due and due[0] <= now_ms and time.perf_counter() > budget_end:
                self._resume_after_poll(None, [])
                return
        self.armed_ms = None
        if due:
            self._arm(due[0])

    def _resume_after_poll(self, key: int | None, rest: list[SimStream]) -> None:
        """Behind schedule: finish the due chunks in a callback after the loop's next poll of the sockets.

        Flooded, one tick would otherwise write everything due before anything else is answered: with
        300 streams at 1 ms ITL a `/metrics` request waited up to 0.33 s on a quiet machine and over 5 s
        on a busy one; in slices, under 20 ms (measured).
        """
        if rest:
            assert key is not None
            waiting = self.wheel.get(key)
            if waiting is None:
                self.wheel[key] = rest
                heapq.heappush(self.due_ms, key)
            else:
                waiting[:0] = rest
        self.tick_handle = self.loop.call_soon(self._tick)  # type: ignore[union-attr,assignment]
