"""What it takes to launch one provisioned server: a command line and extra environment."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from ._errors import StartError
from ._steps import is_complete

__all__ = ["LaunchSpec", "require_provisioned"]


@dataclass(frozen=True)
class LaunchSpec:
    command: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)


def require_provisioned(name: str, *paths: Path) -> None:
    """Raise StartError when a provisioned artifact is missing or incomplete."""
    missing = [str(path) for path in paths if not is_complete(path)]
    if missing:
        raise StartError.failure(
            step=f"{name}-start",
            what=f"{name} is not provisioned (missing or incomplete: {', '.join(missing)})",
            fix=f"run: python -m conformance.servers provision {name}",
        )
