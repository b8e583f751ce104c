"""The scenarios' own command-line options (Locust custom arguments, each with an environment variable).

Values are checked where they are parsed, so a bad SLO or rate stops the run before it starts with a
message naming the flag, the value and the fix.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from typing import Any

from loadtests.client.apis import API_NAMES
from loadtests.client.sse import DEFAULT_MAX_EVENT_BYTES
from loadtests.runner import capacity
from loadtests.runner.api_bodies import unsupported
from loadtests.runner.schedule import Stage
from loadtests.runner.workloads import parse_mix
from loadtests.sim.profiles import parse_fault_rates


@dataclass(frozen=True)
class ScenarioSpec:
    """What differs between the vLLM, Neuron and llama.cpp scenarios."""

    name: str
    sim_profile: str
    default_mix: str
    token_ids: bool  # vLLM's return_token_ids (older Neuron releases lack it)
    continuous_usage: bool
    neuron: bool = False


def _positive_ms(flag: str):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} takes milliseconds as a number, got {text!r}; e.g. {flag} 500") from None
        if not math.isfinite(value) or value <= 0:
            raise argparse.ArgumentTypeError(f"{flag} must be a positive number of milliseconds, got {text!r}")
        return value
    return parse


def _positive(flag: str, integer: bool = False):
    def parse(text: str) -> float | int:
        try:
            value = int(text) if integer else float(text)
        except ValueError:
            kind = "an integer" if integer else "a number"
            raise argparse.ArgumentTypeError(f"{flag} takes {kind}, got {text!r}") from None
        if not value > 0 or (not integer and not math.isfinite(value)):
            raise argparse.ArgumentTypeError(f"{flag} must be > 0, got {text!r}")
        return value
    return parse


def _bounded(flag: str, low: float, high: float, what: str, example: str, low_open: bool = False):
    """A number within [low, high] (or (low, high] with low_open); nan and infinities never pass."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} takes {what}, got {text!r}; e.g. {flag} {example}") from None
        if not math.isfinite(value) or not (low < value if low_open else low <= value) or value > high:
            raise argparse.ArgumentTypeError(f"{flag} must be {what}, got {text!r}; e.g. {flag} {example}")
        return value
    return parse


def _bounded_int(flag: str, low: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} takes an integer, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{flag} must be >= {low}, got {text!r}")
        return value
    return parse


def _int_list(flag: str):
    def parse(text: str) -> list[int]:
        if text.strip() in ("", "auto"):
            return [] if text.strip() == "" else ["auto"]  # type: ignore[list-item]
        try:
            values = [int(v) for v in text.split(",") if v.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} takes comma-separated integers, got {text!r}; e.g. 1,2,4,8") from None
        if not values or any(v <= 0 for v in values):
            raise argparse.ArgumentTypeError(f"{flag} values must be > 0, got {text!r}")
        return values
    return parse


def _float_list(flag: str):
    def parse(text: str) -> list[float]:
        if not text.strip():
            return []
        try:
            values = [float(v) for v in text.split(",") if v.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} takes comma-separated numbers, got {text!r}; e.g. 2,4,8") from None
        if any(not v > 0 for v in values):
            raise argparse.ArgumentTypeError(f"{flag} values must be > 0, got {text!r}")
        return values
    return parse


def _checked(parser_fn, flag: str):
    def parse(text: str) -> Any:
        try:
            return parser_fn(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"{flag}: {exc}") from None
    return parse


def add_arguments(parser: Any, spec: ScenarioSpec) -> None:
    """Register the options on Locust's parser (configargparse: `env_var` gives each its variable)."""
    g = parser.add_argument_group(f"LLM load test ({spec.name})")
    g.add_argument("--model", env_var="LOADTEST_MODEL", default="",
                   help="model id sent in requests (default: the first id of GET /v1/models)")
    g.add_argument("--api", env_var="LOADTEST_API", choices=API_NAMES, default="chat",
                   help="the API the requests speak: chat (POST /v1/chat/completions), responses (POST /v1/responses) "
                        "or messages (Anthropic, POST /v1/messages)")
    g.add_argument("--workload-mix", env_var="LOADTEST_WORKLOAD_MIX", default=spec.default_mix,
                   type=_checked(parse_mix, "--workload-mix"),
                   help="weights of chat,long,tool,json,multiturn, e.g. chat=6,tool=1,json=1")
    g.add_argument("--prompt-tokens", env_var="LOADTEST_PROMPT_TOKENS", type=_positive("--prompt-tokens", True), default=64)
    g.add_argument("--output-tokens", env_var="LOADTEST_OUTPUT_TOKENS", type=_positive("--output-tokens", True), default=64)
    g.add_argument("--long-prompt-tokens", env_var="LOADTEST_LONG_PROMPT_TOKENS", type=_positive("--long-prompt-tokens", True),
                   default=1024)
    g.add_argument("--slo-ttft-ms", env_var="LOADTEST_SLO_TTFT_MS", type=_positive_ms("--slo-ttft-ms"), default=None)
    g.add_argument("--slo-tpot-ms", env_var="LOADTEST_SLO_TPOT_MS", type=_positive_ms("--slo-tpot-ms"), default=None)
    g.add_argument("--slo-e2e-ms", env_var="LOADTEST_SLO_E2E_MS", type=_positive_ms("--slo-e2e-ms"), default=None)
    g.add_argument("--slo-percentile", env_var="LOADTEST_SLO_PERCENTILE", type=_bounded("--slo-percentile", 0, 100, "a percentile above 0 and at most 100", "99", low_open=True),
                   default=99.0,
                   help="the percentile that must meet each SLO for the run to pass")
    g.add_argument("--max-error-rate", env_var="LOADTEST_MAX_ERROR_RATE", type=_bounded("--max-error-rate", 0, 1, "a fraction from 0 to 1", "0.01"), default=0.0,
                   help="fraction of failed requests tolerated before the run fails (default 0: any error fails)")
    g.add_argument("--arrival", env_var="LOADTEST_ARRIVAL", choices=("closed", "poisson", "constant"), default="closed",
                   help="closed loop (each user sends when the last answer ends) or an open-loop global schedule")
    g.add_argument("--rate", env_var="LOADTEST_RATE", type=_positive("--rate"), default=None,
                   help="open loop: requests per second, global across users and workers")
    g.add_argument("--sweep-rates", env_var="LOADTEST_SWEEP_RATES", type=_float_list("--sweep-rates"), default=[],
                   help="open loop: a step sweep of rates, one stage each; reports the max rate meeting the SLOs")
    g.add_argument("--sweep-users", env_var="LOADTEST_SWEEP_USERS", type=_int_list("--sweep-users"), default=[],
                   help="closed loop: a concurrency sweep, one stage per user count ('auto' on neuron: the batch buckets)")
    capacity.add_arguments(g, _positive, _bounded)
    g.add_argument("--stage-s", env_var="LOADTEST_STAGE_S", type=_positive("--stage-s"), default=10.0)
    g.add_argument("--lag-budget-ms", env_var="LOADTEST_LAG_BUDGET_MS", type=_positive_ms("--lag-budget-ms"), default=25.0,
                   help="open loop: p99 send lag above this fails the run (the workers could not keep the schedule)")
    g.add_argument("--stall-timeout-s", env_var="LOADTEST_STALL_TIMEOUT_S", type=_positive("--stall-timeout-s"), default=30.0,
                   help="a response with no content progress (token, tool-call or reasoning delta) for this long fails as stall")
    g.add_argument("--request-timeout-s", env_var="LOADTEST_REQUEST_TIMEOUT_S", type=_positive("--request-timeout-s"),
                   default=None, help="deadline of one whole response (default: --stall-timeout-s + 0.25 s per requested "
                                      "output token)")
    g.add_argument("--max-event-bytes", env_var="LOADTEST_MAX_EVENT_BYTES", type=_positive("--max-event-bytes", True),
                   default=DEFAULT_MAX_EVENT_BYTES, help="an SSE event longer than this fails its request as oversize")
    g.add_argument("--connect-timeout-s", env_var="LOADTEST_CONNECT_TIMEOUT_S", type=_positive("--connect-timeout-s"), default=5.0)
    g.add_argument("--token-ids", env_var="LOADTEST_TOKEN_IDS", choices=("on", "off"), default="on" if spec.token_ids else "off",
                   help="ask for vLLM's per-chunk token_ids (exact per-token ITL)")
    g.add_argument("--conformance-sample", env_var="LOADTEST_CONFORMANCE_SAMPLE", default=0.2,
                   type=_bounded("--conformance-sample", 0, 1, "a fraction from 0 to 1", "1"),
                   help="share of the streams judged by the conformance suite's rules (1: every one, 0: none); a broken "
                        "rule fails the request as nonconformant")
    g.add_argument("--report-dir", env_var="LOADTEST_REPORT_DIR", default="reports/load")
    g.add_argument("--run-name", env_var="LOADTEST_RUN_NAME", default="", help="folder under --report-dir (default: scenario-time)")
    g.add_argument("--seed", env_var="LOADTEST_SEED", type=int, default=1)
    g.add_argument("--sim-profile", env_var="LOADTEST_SIM_PROFILE", default=spec.sim_profile, choices=("vllm", "neuron", "llamacpp"),
                   help="embedded simulator profile, used when no --host is given")
    g.add_argument("--sim-args", env_var="LOADTEST_SIM_ARGS", default="",
                   help="extra simulator flags, e.g. '--ttft-ms 80 --itl-ms 5 --fault-rate 429=0.05'")
    g.add_argument("--sim-fault-rate", env_var="LOADTEST_SIM_FAULT_RATE", default="",
                   type=_checked(lambda t: (parse_fault_rates(t), t)[1], "--sim-fault-rate"),
                   help="faults the simulator injects at random, e.g. 429=0.05,stall=0.01,drop=0.01")
    g.add_argument("--sim-cpu", env_var="LOADTEST_SIM_CPU", type=_bounded_int("--sim-cpu", 0), default=None,
                   help="pin the simulator to this core")
    if spec.neuron:
        n = parser.add_argument_group("Neuron")
        n.add_argument("--seq-len", env_var="LOADTEST_SEQ_LEN", type=_positive("--seq-len", True), default=2048,
                       help="compiled sequence length: prompt + max tokens stay inside it")
        n.add_argument("--prefill-buckets", env_var="LOADTEST_PREFILL_BUCKETS", type=_int_list("--prefill-buckets"),
                       default=[128, 256, 512, 1024, 2048])
        n.add_argument("--batch-buckets", env_var="LOADTEST_BATCH_BUCKETS", type=_int_list("--batch-buckets"), default=[1, 2, 4, 8])
        n.add_argument("--max-num-seqs", env_var="LOADTEST_MAX_NUM_SEQS", type=_positive("--max-num-seqs", True), default=8)
        n.add_argument("--warmup", env_var="LOADTEST_WARMUP", choices=("on", "off"), default="on",
                       help="hit every prefill bucket and batch size once before measuring")


def check_locust_options(opts: Any) -> None:
    """Locust's user count, which it does not check itself (`-u -5` ran and ended in a traceback)."""
    users = getattr(opts, "num_users", None)
    if users is not None and users < 0:
        raise ValueError(f"-u/--users must be 0 or more, got {users}; e.g. -u 16 -r 16")


def check_api(opts: Any) -> None:
    """A workload the chosen --api cannot express stops the run before it starts, naming both."""
    why = unsupported(opts.api, list(opts.workload_mix))
    if why:
        raise ValueError(why)


def stages_of(opts: Any, spec: ScenarioSpec) -> tuple[str, list[Stage]]:
    """The run's mode ("closed" or the arrival kind) and its stages; ValueError on inconsistent flags."""
    if spec.neuron and opts.seq_len < opts.output_tokens + 33:
        raise ValueError(f"--seq-len {opts.seq_len} leaves no room for a prompt beside --output-tokens {opts.output_tokens} "
                         "and the chat template (32 tokens); raise --seq-len or lower --output-tokens")
    if opts.find_max_rate:
        return capacity.first_stage(opts, bool(opts.slo_ttft_ms or opts.slo_tpot_ms or opts.slo_e2e_ms))
    users = opts.sweep_users
    if users == ["auto"]:
        if not spec.neuron:
            raise ValueError("--sweep-users auto is for neuron.py (the batch buckets); give explicit counts, e.g. 1,2,4,8")
        users = [b for b in opts.batch_buckets if b <= opts.max_num_seqs]
    if opts.arrival == "closed":
        if opts.rate or opts.sweep_rates:
            raise ValueError("--rate/--sweep-rates need an open-loop --arrival poisson or constant")
        if users:
            return "closed", [Stage(opts.stage_s, users=u) for u in users]
        return "closed", [Stage(math.inf)]
    if users:
        raise ValueError("--sweep-users is a closed-loop sweep; with an open-loop --arrival use --sweep-rates")
    if opts.sweep_rates:
        return opts.arrival, [Stage(opts.stage_s, rate=r) for r in opts.sweep_rates]
    if not opts.rate:
        raise ValueError(f"--arrival {opts.arrival} needs --rate REQUESTS_PER_S (global) or --sweep-rates")
    return opts.arrival, [Stage(math.inf, rate=opts.rate)]
