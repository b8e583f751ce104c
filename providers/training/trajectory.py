"""Turn recorded model calls into RL trajectories: token ids, a loss mask, and segments.

A multi-turn agent run makes several model calls. Call k+1's prompt is the chat template applied
to everything so far, so in the ideal case it starts with call k's prompt followed by call k's
response ids, and only the new part (tool results, the next turn's header) is fresh prompt.
The trajectory then is one sequence: prompt tokens masked 0, sampled response tokens masked 1.

When call k+1's prompt does not start with the trajectory so far, the template re-tokenized the
earlier response differently from how it was sampled (or rendered it differently, e.g. a tool call
re-serialized). Training on a spliced sequence would teach the model tokens it never produced, so
the manager reports that as a ``Drift`` and starts a new trajectory from call k+1's own prompt
(``on_drift="split"``), or raises ``TrajectoryDriftError`` (``on_drift="raise"``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Literal, Sequence

from .recorder import ModelCallTokens

__all__ = [
    "Drift",
    "MissingTokenIdsError",
    "Segment",
    "TokenManager",
    "Trajectory",
    "TrajectoryDriftError",
]

SegmentKind = Literal["prompt", "response"]
DriftPolicy = Literal["split", "raise"]
_DRIFT_WINDOW = 8  # ids shown either side of the first mismatch


class MissingTokenIdsError(ValueError):
    """A model call in the history carried no token ids, so no trajectory can include it."""


@dataclass(frozen=True)
class Segment:
    """A run of ids from one model call: its fresh prompt part (mask 0) or its response (mask 1)."""

    kind: SegmentKind
    start: int
    end: int
    model_call: int

    @property
    def loss_mask_value(self) -> int:
        return 1 if self.kind == "response" else 0

    def __len__(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class Drift:
    """Model call ``model_call``'s prompt left the trajectory at ``position``.

    ``expected`` holds the trajectory's ids from ``position`` on (a window), ``got`` the prompt's.
    """

    model_call: int
    position: int
    trajectory_length: int
    prompt_length: int
    expected: tuple[int, ...]
    got: tuple[int, ...]

    def describe(self) -> str:
        return (
            f"model call {self.model_call}: prompt ({self.prompt_length} ids) does not extend the trajectory "
            f"({self.trajectory_length} ids); first difference at position {self.position}: "
            f"trajectory has {list(self.expected)}, prompt has {list(self.got)}"
        )


class TrajectoryDriftError(ValueError):
    """Raised with ``on_drift="raise"`` when a prompt does not extend the trajectory."""

    def __init__(self, drift: Drift) -> None:
        super().__init__(
            drift.describe() + "; the chat template re-tokenized or re-rendered an earlier response. "
            'Use on_drift="split" to keep separate trajectories'
        )
        self.drift = drift


@dataclass(frozen=True)
class Trajectory:
    token_ids: tuple[int, ...]
    loss_mask: tuple[int, ...]
    segments: tuple[Segment, ...]

    @property
    def model_calls(self) -> tuple[int, ...]:
        return tuple(sorted({segment.model_call for segment in self.segments}))

    def __len__(self) -> int:
        return len(self.token_ids)


class TokenManager:
    """Builds trajectories from recorded model calls (``add_model_call``) or by hand (``add_prompt``/``add_response``).

    ``token_ids``, ``loss_mask`` and ``segments`` are those of the current (latest) trajectory;
    ``trajectories`` lists all of them and ``drifts`` says why there is more than one.
    """

    def __init__(self, *, on_drift: DriftPolicy = "split") -> None:
        if on_drift not in ("split", "raise"):
            raise ValueError(f'on_drift must be "split" or "raise", got {on_drift!r}')
        self.on_drift: DriftPolicy = on_drift
        self.drifts: list[Drift] = []
        self._closed: list[Trajectory] = []
        self._ids: list[int] = []
        self._mask: list[int] = []
        self._segments: list[Segment] = []

    @classmethod
    def from_history(cls, history: Iterable[ModelCallTokens], *, on_drift: DriftPolicy = "split") -> "TokenManager":
        manager = cls(on_drift=on_drift)
        for call in history:
            manager.add_model_call(call)
        return manager

    @property
    def token_ids(self) -> list[int]:
        return list(self._ids)

    @property
    def loss_mask(self) -> list[int]:
        return list(self._mask)

    @property
    def segments(self) -> list[Segment]:
        return list(self._segments)

    @property
    def trajectories(self) -> list[Trajectory]:
        current = [self._current()] if self._ids else []
        return [*self._closed, *current]

    def __len__(self) -> int:
        return len(self._ids)

    def add_prompt(self, token_ids: Sequence[int], *, model_call: int = -1) -> None:
        """Append prompt ids (loss mask 0) to the current trajectory."""
        self._append("prompt", token_ids, model_call)

    def add_response(self, token_ids: Sequence[int], *, model_call: int = -1) -> None:
        """Append sampled response ids (loss mask 1) to the current trajectory."""
        self._append("response", token_ids, model_call)

    def add_model_call(self, call: ModelCallTokens) -> Drift | None:
        """Extend the trajectory with one call; returns the Drift when its prompt did not extend it."""
        # A chat prompt is never empty: an empty list means the server sent no prompt ids.
        if not call.prompt_token_ids or call.token_ids is None:
            missing = "prompt_token_ids" if not call.prompt_token_ids else "token_ids"
            raise MissingTokenIdsError(
                f"model call {call.index} has no {missing}; build the model with return_token_ids=True "
                "and check that the server is vLLM 0.10.2 or later"
            )
        prompt = call.prompt_token_ids
        drift: Drift | None = None
        if self._ids:
            position = _first_difference(self._ids, prompt)
            if position is None:
                prompt = prompt[len(self._ids):]
            else:
                drift = Drift(
                    model_call=call.index,
                    position=position,
                    trajectory_length=len(self._ids),
                    prompt_length=len(prompt),
                    expected=tuple(self._ids[position:position + _DRIFT_WINDOW]),
                    got=tuple(prompt[position:position + _DRIFT_WINDOW]),
                )
                if self.on_drift == "raise":
                    raise TrajectoryDriftError(drift)
                self.drifts.append(drift)
                self._closed.append(self._current())
                self._ids, self._mask, self._segments = [], [], []
        self.add_prompt(prompt, model_call=call.index)
        self.add_response(call.token_ids, model_call=call.index)
        return drift

    def _append(self, kind: SegmentKind, token_ids: Sequence[int], model_call: int) -> None:
        if not token_ids:
            return
        start = len(self._ids)
        self._ids.extend(token_ids)
        self._mask.extend([1 if kind == "response" else 0] * len(token_ids))
        self._segments.append(Segment(kind=kind, start=start, end=len(self._ids), model_call=model_call))

    def _current(self) -> Trajectory:
        return Trajectory(tuple(self._ids), tuple(self._mask), tuple(self._segments))


def _first_difference(trajectory: Sequence[int], prompt: Sequence[int]) -> int | None:
    """None when ``prompt`` starts with all of ``trajectory``, else the first index where it does not."""
    for position, expected in enumerate(trajectory):
        if position >= len(prompt) or prompt[position] != expected:
            return position
    return None
