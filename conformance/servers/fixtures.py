"""Session-scoped pytest fixtures that start the real llama.cpp and vLLM servers on demand.

A server is provisioned and started the first time a test asks for it and stopped at session end,
also when tests fail or the run is interrupted. A failure to provision or start raises, so the test
errors: a live test never skips.
"""

from __future__ import annotations

from typing import Callable, Iterator

import pytest

from . import SERVER_NAMES, RunningServer, provision, start_server

__all__ = ["conformance_llamacpp_server", "conformance_vllm_server", "conformance_live_server"]


def _terminal_progress(config: pytest.Config) -> Callable[[str], None]:
    """Progress lines straight to the terminal: provisioning takes minutes and pytest captures output."""
    capture = config.pluginmanager.getplugin("capturemanager")
    reporter = config.pluginmanager.getplugin("terminalreporter")

    def progress(message: str) -> None:
        line = f"[conformance.servers] {message}"
        if capture is None or reporter is None:
            print(line, flush=True)
            return
        with capture.global_and_fixture_disabled():
            reporter.write_line(line)

    return progress


def _serve(name: str, config: pytest.Config) -> Iterator[RunningServer]:
    progress = _terminal_progress(config)
    provision(name, progress=progress)
    with start_server(name) as server:
        progress(
            f"{name} ready at {server.base_url} in {server.ready_seconds:.1f} s "
            f"(pid {server.pid}, RSS {server.rss_bytes() / 2**20:.0f} MiB, log {server.log_path})"
        )
        yield server
        progress(f"{name}: stopping (pid {server.pid})")


@pytest.fixture(scope="session")
def conformance_llamacpp_server(pytestconfig: pytest.Config) -> Iterator[RunningServer]:
    yield from _serve("llamacpp", pytestconfig)


@pytest.fixture(scope="session")
def conformance_vllm_server(pytestconfig: pytest.Config) -> Iterator[RunningServer]:
    yield from _serve("vllm", pytestconfig)


@pytest.fixture(scope="session")
def conformance_live_server(request: pytest.FixtureRequest) -> RunningServer:
    """The server named by indirect parametrization:
    `@pytest.mark.parametrize("conformance_live_server", SERVER_NAMES, indirect=True)`."""
    name = getattr(request, "param", None)
    if name not in SERVER_NAMES:
        raise pytest.UsageError(
            f"conformance_live_server needs an indirect parameter, one of {', '.join(SERVER_NAMES)}; got {name!r}"
        )
    return request.getfixturevalue(f"conformance_{name}_server")
