"""What only the Neuron scenario does: warm every compiled bucket before measuring, keep requests inside `--seq-len`.

Neuron compiles one graph per prefill bucket and batch size: a cold bucket's first request waits
for a compile (minutes on a real model), and a prompt plus max tokens beyond the compiled sequence
length is refused.
"""

from __future__ import annotations

import random
from typing import Any

import gevent

from loadtests.client.connection import Connection
from loadtests.runner.requests import run_request
from loadtests.runner.state import RunState
from loadtests.runner.workloads import build_request

TEMPLATE_MARGIN = 32  # tokens the chat template adds around the prompt words
WARMUP_OUTPUT = 4


def warm_buckets(st: RunState) -> None:
    """Hit every prefill bucket, then every batch size, twice: the first hit compiles, the second is warm.

    Two small requests first measure how the server counts our prompts (template overhead and tokens
    per word, from its usage), so that each later prompt lands inside the intended bucket; they are
    also the first and warm hits of the smallest bucket.
    """
    o = st.opts
    rng = random.Random(o.seed)
    timeout = max(o.stall_timeout_s, 900.0)  # a real compile takes minutes
    conn = Connection(st.target(), o.connect_timeout_s, timeout)

    def hit(words: int, first: bool, bucket: int | None) -> dict:
        req = build_request("chat", st.cfg, rng, prompt_tokens=words, output_tokens=WARMUP_OUTPUT)
        return run_request(st, conn, req, warmup=True, bucket=bucket, first_hit=first)

    small = hit(16, True, o.prefill_buckets[0])
    if not small["ok"]:
        raise SystemExit(f"Neuron warmup: the first request failed ({small['error']}); nothing was measured")
    medium = hit(48, False, o.prefill_buckets[0])
    slope, intercept = 1.0, float(TEMPLATE_MARGIN)
    if medium["ok"] and small.get("prompt_tokens") and medium.get("prompt_tokens"):
        slope = max(0.5, (medium["prompt_tokens"] - small["prompt_tokens"]) / 32.0)
        intercept = small["prompt_tokens"] - 16 * slope
    for bucket in o.prefill_buckets[1:]:
        target = bucket - 8  # a little room: the server's count of a prompt varies by a token or two
        words = int((target - intercept) / slope)
        if target + WARMUP_OUTPUT > o.seq_len or words < 1:
            break
        for first in (True, False):
            hit(words, first, bucket)
    conn.close()
    for batch in (b for b in o.batch_buckets if b <= o.max_num_seqs):
        for first in (True, False):
            conns = [Connection(st.target(), o.connect_timeout_s, timeout) for _ in range(batch)]
            jobs = [gevent.spawn(run_request, st, c, build_request("chat", st.cfg, rng, prompt_tokens=16,
                                                                     output_tokens=WARMUP_OUTPUT),
                                 warmup=True, batch=batch, first_hit=first) for c in conns]
            gevent.joinall(jobs)
            for c in conns:
                c.close()


def warmup(st: RunState) -> None:
    """The scenario's warmup: every bucket, unless `--warmup off`."""
    if st.opts.warmup == "on":
        warm_buckets(st)


def lengths_inside_seq_len(o: Any, workload: str) -> tuple[int, int]:
    """Prompt and output lengths of one request that fit the compiled sequence length with the chat template."""
    output = min(o.output_tokens, 32 if workload == "long" else o.output_tokens)
    prompt = o.long_prompt_tokens if workload == "long" else o.prompt_tokens
    prompt = min(prompt, o.seq_len - output - TEMPLATE_MARGIN)
    if prompt < 1:
        raise ValueError(f"--seq-len {o.seq_len} leaves no room for a prompt with {output} output tokens; "
                         "lower --output-tokens or raise --seq-len")
    return prompt, output
