"""Session-scoped pytest fixtures that start the real llama.cpp and vLLM servers on demand.

A server is provisioned and started the first time a test asks for it and stopped at session end,
also when tests fail or the run is interrupted. A failure to provision or start raises, so the test
errors: a live test never skips.
"""

from __future__ import annotations

import sys
from typing import Iterator

import pytest

from . import RunningServer, provision, start_server

__all__ = ["llamacpp_server", "vllm_server", "live_server"]


def _progress(message: str) -> None:
    # pytest captures fixture output; provisioning can take minutes, so show it as it happens.
    sys.__stderr__.write(f"[conformance.servers] {message}\n")
    sys.__stderr__.flush()


def _serve(name: str) -> Iterator[RunningServer]:
    provision(name, progress=_progress)
    with start_server(name) as server:
        _progress(f"{name} ready at {server.base_url} in {server.ready_seconds:.1f} s (pid {server.pid})")
        yield server


@pytest.fixture(scope="session")
def llamacpp_server() -> Iterator[RunningServer]:
    yield from _serve("llamacpp")


@pytest.fixture(scope="session")
def vllm_server() -> Iterator[RunningServer]:
    yield from _serve("vllm")


@pytest.fixture(scope="session")
def live_server(request: pytest.FixtureRequest) -> RunningServer:
    """The server named by indirect parametrization: `@pytest.mark.parametrize("live_server", [...], indirect=True)`."""
    name = getattr(request, "param", None)
    if name not in ("llamacpp", "vllm"):
        raise pytest.UsageError(f"live_server needs an indirect parameter 'llamacpp' or 'vllm', got {name!r}")
    return request.getfixturevalue(f"{name}_server")
