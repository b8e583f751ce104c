"""The simulator's /metrics page."""

from __future__ import annotations

from typing import TYPE_CHECKING

from loadtests.sim.profiles import FAULT_KINDS

if TYPE_CHECKING:
    from loadtests.sim.server import SimServer


def metrics_text(server: SimServer) -> str:
    """The Prometheus text of /metrics: vLLM's names for what vLLM also reports, `sim_` for the simulator's own."""
    c = server.stats()
    model = server.profile.model_id
    lines = [
        "# TYPE vllm:num_requests_running gauge", f'vllm:num_requests_running{{model_name="{model}"}} {c["running"]}',
        "# TYPE vllm:num_requests_waiting gauge", f'vllm:num_requests_waiting{{model_name="{model}"}} {c["waiting"]}',
        "# TYPE vllm:prompt_tokens_total counter", f'vllm:prompt_tokens_total{{model_name="{model}"}} {c["prompt_tokens"]}',
        "# TYPE vllm:generation_tokens_total counter", f'vllm:generation_tokens_total{{model_name="{model}"}} {c["generation_tokens"]}',
        "# TYPE vllm:request_success_total counter", f'vllm:request_success_total{{model_name="{model}"}} {c["requests_ok"]}',
        "# TYPE sim_sse_events_total counter", f"sim_sse_events_total {c['sse_events']}",
        "# HELP sim_sse_events_merged_total content events written together with an earlier one (behind schedule)",
        "# TYPE sim_sse_events_merged_total counter", f"sim_sse_events_merged_total {c['sse_events_merged']}",
        "# TYPE sim_faults_total counter",
    ]
    lines += [f'sim_faults_total{{kind="{k}"}} {c["fault:" + k]}' for k in FAULT_KINDS]
    return "\n".join(lines) + "\n"
