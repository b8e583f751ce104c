"""The embedded OpenAI-compatible server simulator (vLLM, Neuron and llama.cpp profiles).

Run it on its own with `python -m loadtests.sim --profile neuron`; the Locust scenarios start it in a
separate process when no `--host` is given; `--workers N` runs N processes on one port. It never
imports Locust (gevent would patch asyncio away).
"""

from loadtests.sim.profiles import FAULT_KINDS, PROFILES, SimProfile, parse_fault_rates

__all__ = ["FAULT_KINDS", "PROFILES", "SimProfile", "parse_fault_rates"]
