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
How it is done: `loadtests/runner/neuron.py`.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loadtests.runner.listeners import install  # noqa: E402
from loadtests.runner.neuron import lengths_inside_seq_len, warmup  # noqa: E402
from loadtests.runner.options import ScenarioSpec  # noqa: E402

SPEC = ScenarioSpec(name="neuron", sim_profile="neuron", default_mix="chat=6,long=2,tool=1,json=1",
                    token_ids=False, continuous_usage=True, neuron=True)
SCENARIO = install(SPEC, warmup=warmup)


class NeuronUser(SCENARIO.user):
    """Streams chat completions from vLLM on Neuron, inside the compiled sequence length."""

    def lengths(self, workload):
        return lengths_inside_seq_len(self.environment.parsed_options, workload)


class NeuronStages(SCENARIO.shape):
    """The stages of `--sweep-users` (`auto`: the batch buckets) or `--sweep-rates`; else -u, -r and -t drive the run."""
