"""Token-in/token-out support for RL training on vLLM: exact token ids per model call, trajectories
with loss masks, tool-call validation for rollouts, and the served model's own tokenizer (offline).

    TokenRecorder            Agent callback handler keeping vLLM's prompt/response ids per model call
    TokenManager             trajectories (ids, loss mask, segments) from the recorder's history
    ToolCallValidationHooks  deterministic errors for unknown tools and bad arguments
    served_tokenizer         the tokenizer of the model our vLLM server serves, from bundled data
"""

from .recorder import MalformedTokenIdsError, ModelCallTokens, TokenRecorder, TokenUsage
from .tool_validation import ToolCallValidationHooks, format_allowed_tools, validate_tool_input
from .trajectory import Drift, MissingTokenIdsError, Segment, TokenManager, Trajectory, TrajectoryDriftError

__all__ = [
    "Drift",
    "MalformedTokenIdsError",
    "MissingTokenIdsError",
    "ModelCallTokens",
    "Segment",
    "TokenManager",
    "TokenRecorder",
    "TokenUsage",
    "ToolCallValidationHooks",
    "Trajectory",
    "TrajectoryDriftError",
    "format_allowed_tools",
    "validate_tool_input",
]
