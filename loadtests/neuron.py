"""Locust scenario for vLLM on AWS Neuron (Inferentia / Trainium): `locust -f loadtests/neuron.py [--host URL]`.

Neuron compiles one graph per prefill bucket and batch size: a cold bucket's first request waits
for a compile (minutes on a real model), so this scenario
- keeps prompt + max tokens inside `--seq-len` (the compiled sequence length),
- first warms every prefill bucket and every batch size once (and once more warm), reporting the
  first-hit TTFT per bucket apart from the steady state (the master or local process does it once,
  before any user starts; it counts into -t),
- sweeps concurrency along the batch buckets with `--sweep-users auto` (up to `--max-num-seqs`).
Older Neuron vLLM releases lack per-chunk token ids, so continuous usage counts the tokens.
Without --host it load-tests the embedded simulator's Neuron profile (8 slots, 400 ms first-hit compile).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import gevent  # noqa: E402

from loadtests.core.http_stream import Connection  # noqa: E402
from loadtests.core.locust_glue import install, run_request  # noqa: E402
from loadtests.core.options import ScenarioSpec  # noqa: E402
from loadtests.core.workloads import build_request  # noqa: E402

SPEC = ScenarioSpec(name="neuron", sim_profile="neuron", default_mix="chat=6,long=2,tool=1,json=1",
                    token_ids=False, continuous_usage=True, neuron=True)
TEMPLATE_MARGIN = 32  # tokens the chat template adds around the prompt words
WARMUP_OUTPUT = 4


def warm_buckets(st) -> None:
    """Hit every prefill bucket, then every batch size, twice: the first hit compiles, the second is warm.

    Two small requests first measure how the server counts our prompts (template overhead and tokens
    per word, from its usage), so that each later prompt lands inside the intended bucket; they are
    also the first and warm hits of the smallest bucket.
    """
    import random

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


class NeuronUser(install(SPEC, warmup=lambda st: warm_buckets(st) if st.opts.warmup == "on" else None)):
    """Streams chat completions from vLLM on Neuron, inside the compiled sequence length."""

    def lengths(self, workload):
        o = self.environment.parsed_options
        output = min(o.output_tokens, 32 if workload == "long" else o.output_tokens)
        prompt = o.long_prompt_tokens if workload == "long" else o.prompt_tokens
        prompt = min(prompt, o.seq_len - output - TEMPLATE_MARGIN)
        if prompt < 1:
            raise ValueError(f"--seq-len {o.seq_len} leaves no room for a prompt with {output} output tokens; "
                             "lower --output-tokens or raise --seq-len")
        return prompt, output
