"""Locust scenario for a llama.cpp `llama-server`: `locust -f loadtests/llamacpp.py [--host URL]`.

llama.cpp serves a fixed number of slots (`-np`): concurrency above it queues, which shows up in
TTFT. It has no per-chunk token ids; each content chunk is one token and the final usage is exact.
Without --host it load-tests the embedded simulator (llama.cpp profile, 4 slots).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loadtests.runner.listeners import install  # noqa: E402
from loadtests.runner.options import ScenarioSpec  # noqa: E402

SPEC = ScenarioSpec(name="llamacpp", sim_profile="llamacpp", default_mix="chat=6,long=1,tool=1,json=1,multiturn=1",
                    token_ids=False, continuous_usage=False)
SCENARIO = install(SPEC)


class LlamaCppUser(SCENARIO.user):
    """Streams chat completions from llama-server."""


class LlamaCppStages(SCENARIO.shape):
    """The stages of `--sweep-users` or `--sweep-rates`; without a sweep Locust's -u, -r and -t drive the run."""
