"""Locust scenario for a vLLM OpenAI-compatible server: `locust -f loadtests/vllm.py [--host URL]`.

Without --host it load-tests the embedded simulator (vLLM profile). Per-chunk token ids and
continuous usage give exact per-token ITL. See `locust -f loadtests/vllm.py --help` for the options.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root, for `loadtests.core`

from loadtests.core.locust_glue import install  # noqa: E402
from loadtests.core.options import ScenarioSpec  # noqa: E402

SPEC = ScenarioSpec(name="vllm", sim_profile="vllm", default_mix="chat=6,long=1,tool=1,json=1,multiturn=1",
                    token_ids=True, continuous_usage=True)


class VLLMUser(install(SPEC)):
    """Streams chat completions from a vLLM server."""
