"""Retokenization drift: where training on decoded text would see different ids than vLLM sampled.

Two measures, both against the ids vLLM produced:

- text round trip: decode the response ids, tokenize the text again; drift when the ids differ
  (a sampled non-canonical split such as H+AVING where the tokenizer gives HAV+ING);
- chat round trip: send the conversation back with the response as an assistant message, as the
  next agent turn does; drift when the new prompt's ids do not start with the previous prompt's
  ids followed by the response ids (what ``TokenManager`` reports as ``Drift``).

``benchmarks/drift/drift_report.py`` runs these over the bundled prompts, live or from the
recorded cassette, and prints the counts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

from .recorder import ModelCallTokens
from .tokenizer import decode, encode, special_token_ids
from .trajectory import Drift, TokenManager

__all__ = [
    "DRIFT_PROMPTS_PATH",
    "ChatRoundTrip",
    "TextRoundTrip",
    "chat_round_trip",
    "drift_prompts",
    "text_round_trip",
]

DRIFT_PROMPTS_PATH = Path(__file__).with_name("data") / "drift_prompts.json"


def drift_prompts() -> list[str]:
    data = json.loads(DRIFT_PROMPTS_PATH.read_text(encoding="utf-8"))
    prompts = data.get("prompts") if isinstance(data, dict) else None
    if not isinstance(prompts, list) or not prompts or not all(isinstance(p, str) and p for p in prompts):
        raise ValueError(f"{DRIFT_PROMPTS_PATH} must hold {{\"prompts\": [non-empty strings]}}; got {str(data)[:200]}")
    return prompts


def _without_trailing_special(token_ids: Sequence[int]) -> tuple[int, ...]:
    special = special_token_ids()
    end = len(token_ids)
    while end and token_ids[end - 1] in special:
        end -= 1
    return tuple(token_ids[:end])


@dataclass(frozen=True)
class TextRoundTrip:
    """Response ids (trailing end-of-turn removed), their text, and that text tokenized again."""

    generated: tuple[int, ...]
    text: str
    retokenized: tuple[int, ...]

    @property
    def drifted(self) -> bool:
        return self.generated != self.retokenized

    @property
    def first_difference(self) -> int | None:
        for position, (left, right) in enumerate(zip(self.generated, self.retokenized)):
            if left != right:
                return position
        return None if len(self.generated) == len(self.retokenized) else min(len(self.generated), len(self.retokenized))

    def describe(self) -> str:
        position = self.first_difference
        if position is None:
            return "no drift"
        window = slice(max(position - 2, 0), position + 4)
        return (
            f"at token {position}: vLLM sampled {list(self.generated[window])} "
            f"({[decode([i]) for i in self.generated[window]]}), re-tokenization gives {list(self.retokenized[window])} "
            f"({[decode([i]) for i in self.retokenized[window]]})"
        )


def text_round_trip(token_ids: Sequence[int]) -> TextRoundTrip:
    generated = _without_trailing_special(token_ids)
    text = decode(generated)
    return TextRoundTrip(generated=generated, text=text, retokenized=tuple(encode(text)))


@dataclass(frozen=True)
class ChatRoundTrip:
    """The follow-up prompt checked against the first call's prompt and response ids."""

    drift: Drift | None

    @property
    def drifted(self) -> bool:
        return self.drift is not None


def chat_round_trip(first: ModelCallTokens, follow_up: ModelCallTokens) -> ChatRoundTrip:
    manager = TokenManager()
    manager.add_model_call(replace(first, index=0))
    return ChatRoundTrip(drift=manager.add_model_call(replace(follow_up, index=1)))
