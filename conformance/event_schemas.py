"""What each provider-facing Strands stream event may look like: one JSON Schema per event key.

Kept apart from the validator's state machine (`conformance.validator`), which checks the order of the
events; this module holds only their shapes, from `strands.types.streaming` and the stop reasons of
`strands.types.event_loop`, so a Strands upgrade that adds a field or a reason is an edit here.
"""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

__all__ = ["EVENT_SCHEMAS", "EVENT_VALIDATORS", "LOOP_INTERNAL_KEYS", "STOP_REASONS"]

# strands.types.event_loop.StopReason (1.62): the reasons a provider may report.
STOP_REASONS = (
    "cancelled",
    "checkpoint",
    "content_filtered",
    "end_turn",
    "guardrail_intervened",
    "interrupt",
    "limit_output_tokens",
    "limit_total_tokens",
    "limit_turns",
    "max_tokens",
    "stop_sequence",
    "tool_use",
)

_NON_NEGATIVE_INT = {"type": "integer", "minimum": 0}
_NON_EMPTY_STRING = {"type": "string", "minLength": 1}
_BLOCK_INDEX = {"type": ["integer", "null"], "minimum": 0}

EVENT_SCHEMAS: dict[str, dict[str, Any]] = {
    "messageStart": {
        "type": "object",
        "required": ["role"],
        "properties": {"role": {"const": "assistant"}},
        "additionalProperties": False,
    },
    "contentBlockStart": {
        "type": "object",
        "required": ["start"],
        "properties": {
            "contentBlockIndex": _BLOCK_INDEX,
            "start": {
                "type": "object",
                "properties": {
                    "toolUse": {
                        "type": "object",
                        "required": ["toolUseId", "name"],
                        "properties": {
                            "toolUseId": _NON_EMPTY_STRING,
                            "name": _NON_EMPTY_STRING,
                            "reasoningSignature": {"type": "string"},
                        },
                        "additionalProperties": False,
                    }
                },
                "additionalProperties": False,
            },
        },
        "additionalProperties": False,
    },
    "contentBlockDelta": {
        "type": "object",
        "required": ["delta"],
        "properties": {
            "contentBlockIndex": _BLOCK_INDEX,
            "delta": {
                "type": "object",
                "minProperties": 1,
                "maxProperties": 1,
                "properties": {
                    "text": {"type": "string"},
                    "toolUse": {
                        "type": "object",
                        "required": ["input"],
                        "properties": {
                            "input": {"type": "string"},
                            "toolUseId": _NON_EMPTY_STRING,
                            "name": _NON_EMPTY_STRING,
                        },
                        "additionalProperties": False,
                    },
                    "reasoningContent": {
                        "type": "object",
                        "minProperties": 1,
                        "properties": {
                            "text": {"type": "string"},
                            "signature": {"type": "string"},
                            "redactedContent": {},
                        },
                        "additionalProperties": False,
                    },
                    "citation": {"type": "object"},
                },
                "additionalProperties": False,
            },
        },
        "additionalProperties": False,
    },
    "contentBlockStop": {
        "type": "object",
        "properties": {"contentBlockIndex": _BLOCK_INDEX},
        "additionalProperties": False,
    },
    "messageStop": {
        "type": "object",
        "required": ["stopReason"],
        "properties": {
            "stopReason": {"enum": list(STOP_REASONS)},
            "additionalModelResponseFields": {},
        },
        "additionalProperties": False,
    },
    "metadata": {
        "type": "object",
        "required": ["usage", "metrics"],
        "properties": {
            "usage": {
                "type": "object",
                "required": ["inputTokens", "outputTokens", "totalTokens"],
                "properties": {
                    "inputTokens": _NON_NEGATIVE_INT,
                    "outputTokens": _NON_NEGATIVE_INT,
                    "totalTokens": _NON_NEGATIVE_INT,
                    "cacheReadInputTokens": _NON_NEGATIVE_INT,
                    "cacheWriteInputTokens": _NON_NEGATIVE_INT,
                },
                "additionalProperties": False,
            },
            "metrics": {
                "type": "object",
                "required": ["latencyMs"],
                "properties": {"latencyMs": _NON_NEGATIVE_INT, "timeToFirstByteMs": _NON_NEGATIVE_INT},
                "additionalProperties": False,
            },
            "trace": {},
        },
        "additionalProperties": False,
    },
    "redactContent": {
        "type": "object",
        "properties": {
            "redactUserContentMessage": {"type": ["string", "null"]},
            "redactAssistantContentMessage": {"type": ["string", "null"]},
        },
        "additionalProperties": False,
    },
}

EVENT_VALIDATORS = {key: Draft202012Validator(schema) for key, schema in EVENT_SCHEMAS.items()}
# Exception events the Strands loop makes itself from what a provider raises; a provider never yields them.
LOOP_INTERNAL_KEYS = (
    "internalServerException",
    "modelStreamErrorException",
    "serviceUnavailableException",
    "throttlingException",
    "validationException",
)
