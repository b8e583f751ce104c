"""The bundled served tokenizer and the drift measures, offline."""

from __future__ import annotations

import json
from pathlib import Path

from providers.training import ModelCallTokens
from providers.training.drift import chat_round_trip, drift_prompts, text_round_trip
from providers.training.tokenizer import decode, encode, same_as_served, special_token_ids


def test_bundled_tokenizer_round_trips_and_knows_the_chatml_specials() -> None:
    text = "HAVING 123 naïve <tool_call>"
    assert decode(encode(text)) == text
    assert {0, 1, 2} <= special_token_ids()
    assert decode([1, *encode("hi"), 2]) == "hi"  # specials are skipped, as vLLM streams


def test_non_canonical_split_is_text_drift() -> None:
    canonical = text_round_trip([*encode("HAVING"), 2])
    assert not canonical.drifted and canonical.generated == tuple(encode("HAVING"))
    sampled = [*encode("H"), *encode("AVING")]
    assert decode(sampled) == "HAVING" and tuple(sampled) != tuple(encode("HAVING"))
    result = text_round_trip(sampled)
    assert result.drifted and result.first_difference == 0
    assert "vLLM sampled" in result.describe()


def test_chat_round_trip_uses_the_trajectory_rule() -> None:
    first = ModelCallTokens(0, (1, 5), (6, 2), "end_turn", "x", 0)
    extends = ModelCallTokens(1, (1, 5, 6, 2, 198), (7,), "end_turn", "y", 0)
    breaks = ModelCallTokens(1, (1, 5, 9, 2, 198), (7,), "end_turn", "y", 0)
    assert not chat_round_trip(first, extends).drifted
    assert chat_round_trip(first, breaks).drift.position == 2


def test_bundled_prompts_load() -> None:
    assert len(drift_prompts()) >= 20


def test_same_as_served_compares_content(tmp_path: Path) -> None:
    from providers.training.tokenizer import SERVED_TOKENIZER_PATH

    data = json.loads(SERVED_TOKENIZER_PATH.read_text(encoding="utf-8"))
    (tmp_path / "tokenizer.json").write_text(json.dumps(data, indent=2), encoding="utf-8")
    same, why = same_as_served(tmp_path)
    assert same and "re-serialized" in why
    data["model"]["vocab"]["HAVING-not-a-token"] = 99999
    (tmp_path / "tokenizer.json").write_text(json.dumps(data), encoding="utf-8")
    assert same_as_served(tmp_path)[0] is False
    assert "does not exist" in same_as_served(tmp_path / "missing")[1]
