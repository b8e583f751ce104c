"""The simulator's /metrics page."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from loadtests.sim.server import SimServer


def metrics_text(server: SimServer) -> str:
    """The Prometheus text of /metrics: vLLM's names for what vLLM also reports, `sim_` for the simulator's own."""
    c = server.counters
    lines = [
        "# TYPE vllm:num_requests_running gauge", f'vllm:num_requests_running{{model_name="{server.profile.model_id}"}} {len(server.active)}',
        "# TYPE vllm:num_requests_waiting gauge", f'vllm:num_requests_waiting{{model_name="{server.profile.model_id}"}} {len(server.waiting)}',
        "# TYPE vllm:prompt_tokens_total counter", f'vllm:prompt_tokens_total{{model_name="{server.profile.model_id}"}} {c["prompt_tokens"]}',
        "# TYPE vllm:generation_tokens_total counter", f'vllm:generation_tokens_total{{model_name="{server.profile.model_id}"}} {c["generation_tokens"]}',
        "# TYPE vllm:request_success_total counter", f'vllm:request_success_total{{model_name="{server.profile.model_id}"}} {c["requests_ok"]}',
        "# TYPE sim_sse_events_total counter", f"sim_sse_events_total {c['sse_events']}",
        "# HELP sim_sse_events_merged_total content events written together with an earlier one (behind schedule)",
        "# TYPE sim_sse_events_merged_total counter", f"sim_sse_events_merged_total {c['sse_events_merged']}",
        "# TYPE sim_faults_total counter",
    ]
    lines += [f'sim_faults_total{{kind="{k}"}} {v}' for k, v in server.faults.items()]
    return "\n".join(lines) + "\n"
