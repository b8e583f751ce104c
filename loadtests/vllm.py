"""Locust scenario for a vLLM OpenAI-compatible server: `locust -f loadtests/vllm.py [--host URL]`.

Without --host it load-tests the embedded simulator (vLLM profile). Per-chunk token ids and
continuous usage give exact per-token ITL. The scenario's options are listed in loadtests/README.md
and defined in `loadtests/runner/options.py`; the web UI shows them under custom parameters
(Locust's `--help` does not list a locustfile's own options).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root, for `loadtests.runner`

from loadtests.runner.listeners import install  # noqa: E402
from loadtests.runner.options import ScenarioSpec  # noqa: E402

SPEC = ScenarioSpec(name="vllm", sim_profile="vllm", default_mix="chat=6,long=1,tool=1,json=1,multiturn=1",
                    token_ids=True, continuous_usage=True)
SCENARIO = install(SPEC)


class VLLMUser(SCENARIO.user):
    """Streams chat completions from a vLLM server."""


class VLLMStages(SCENARIO.shape):
    """The stages of `--sweep-users` or `--sweep-rates`; without a sweep Locust's -u, -r and -t drive the run."""
