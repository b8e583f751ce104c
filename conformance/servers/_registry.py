"""The known servers, by name: how to provision each and how to launch it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ._errors import UnknownServerError
from ._launch import LaunchSpec
from ._llamacpp import llamacpp_launch, provision_llamacpp
from ._steps import Progress
from ._vllm import provision_vllm, vllm_launch

__all__ = ["SERVER_NAMES", "ServerKind", "server_kind", "provision"]

SERVER_NAMES: tuple[str, ...] = ("llamacpp", "vllm")


@dataclass(frozen=True)
class ServerKind:
    name: str
    provision: Callable[[Progress], None]
    launch: Callable[[int], LaunchSpec]
    ready_timeout_s: float  # cold-cache start plus headroom for a busy 2-core machine


_KINDS = {
    "llamacpp": ServerKind("llamacpp", provision_llamacpp, llamacpp_launch, ready_timeout_s=120.0),
    "vllm": ServerKind("vllm", provision_vllm, vllm_launch, ready_timeout_s=600.0),
}


def server_kind(name: str) -> ServerKind:
    try:
        return _KINDS[name]
    except KeyError:
        raise UnknownServerError.failure(
            step="server-name",
            what=f"unknown server name {name!r}",
            fix=f"use one of: {', '.join(SERVER_NAMES)}",
        ) from None


def provision(name: str, *, progress: Progress = print) -> None:
    """Build or install everything `name` needs into the cache; a no-op when already done."""
    server_kind(name).provision(progress)
