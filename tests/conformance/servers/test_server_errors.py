"""Fast tests of the live-server package's failure paths, with tiny fake servers where a real one
is not the point (the real servers are exercised by test_live_servers.py and test_no_orphans.py)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest

from conformance.servers import (
    CACHE_ENV_VAR,
    ProvisionError,
    ServerError,
    StartError,
    UnknownServerError,
    provision,
    start_server,
)
from conformance.servers import _llamacpp, _registry
from conformance.servers.__main__ import main as cli_main
from conformance.servers._launch import LaunchSpec
from conformance.servers._steps import MARKER_NAME, build_once, run_logged

FAKE_SERVER = textwrap.dedent(
    """
    import http.server, json, subprocess, sys
    port = int(sys.argv[1])
    subprocess.Popen(["sleep", "300"])  # a worker process, like vLLM's engine core
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({"data": [{"id": "smollm2"}]} if self.path == "/v1/models" else {"status": "ok"})
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body.encode())
        def log_message(self, *args):
            pass
    http.server.HTTPServer(("127.0.0.1", port), Handler).serve_forever()
    """
)


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv(CACHE_ENV_VAR, str(cache))
    return cache


def fake_kind(monkeypatch: pytest.MonkeyPatch, command: list[str]) -> None:
    """Make the name "llamacpp" launch `command` (with {port} filled in) instead of llama-server."""
    kind = _registry.ServerKind(
        "llamacpp",
        provision=lambda progress: None,
        launch=lambda port: LaunchSpec(tuple(part.replace("{port}", str(port)) for part in command)),
        ready_timeout_s=20.0,
    )
    monkeypatch.setitem(_registry._KINDS, "llamacpp", kind)


def test_unknown_server_name_lists_the_known_ones() -> None:
    for call in (lambda: provision("ollama"), lambda: start_server("ollama")):
        with pytest.raises(UnknownServerError) as caught:
            call()
        assert "'ollama'" in str(caught.value) and "llamacpp, vllm" in str(caught.value)
        assert isinstance(caught.value, ServerError)


def test_cli_unknown_server_name_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["start", "ollama"]) == 2
    assert "unknown server name 'ollama'" in capsys.readouterr().err


def test_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        with pytest.raises(StartError, match=f"port {port} on 127.0.0.1 is already in use"):
            start_server("llamacpp", port=port)


def test_unwritable_cache_dir_names_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv(CACHE_ENV_VAR, str(blocker / "cache"))
    with pytest.raises(ProvisionError, match=rf"\(from \${CACHE_ENV_VAR}\) is not writable") as caught:
        provision("llamacpp")
    assert "set PROVIDER_CONFORMANCE_CACHE to a writable directory" in str(caught.value)


def test_start_before_provisioning_says_how_to_provision() -> None:
    with pytest.raises(StartError, match="python -m conformance.servers provision vllm"):
        start_server("vllm")


def test_missing_cmake_is_reported_before_any_download(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_llamacpp.shutil, "which", lambda tool: None if tool == "cmake" else "/usr/bin/" + tool)
    with pytest.raises(ProvisionError, match="needs cmake, not found on PATH") as caught:
        provision("llamacpp", progress=lambda message: None)
    assert "apt-get install cmake g++" in str(caught.value)


def test_server_exiting_during_start_reports_status_and_log(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_kind(monkeypatch, ["sh", "-c", "echo model file is corrupt; exit 3"])
    with pytest.raises(StartError) as caught:
        start_server("llamacpp")
    message = str(caught.value)
    assert "exited with status 3 during start-up" in message
    assert "model file is corrupt" in message and "log: " in message and "command: sh -c" in message


def test_server_never_ready_times_out_and_is_stopped(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pid_file = tmp_path / "server.pid"
    fake_kind(monkeypatch, ["sh", "-c", f"echo $$ > {pid_file}; exec sleep 300"])
    with pytest.raises(StartError, match="not ready at http://127.0.0.1:\\d+ after 1 s"):
        start_server("llamacpp", ready_timeout=1.0)
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)


def test_start_and_stop_reach_every_process_of_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_kind(monkeypatch, [sys.executable, "-c", FAKE_SERVER, "{port}"])
    with start_server("llamacpp") as server:
        assert server.base_url == f"http://127.0.0.1:{server.port}" and server.model_id == "smollm2"
        assert httpx.get(f"{server.base_url}/health").status_code == 200
        assert server.pid != server.pgid and server.is_alive()
        assert server.log_path.is_file()
    assert not server.is_alive(), "a process of the server group survived stop()"
    with pytest.raises(ProcessLookupError):
        os.kill(server.pid, 0)


def test_failed_step_leaves_nothing_that_looks_complete(tmp_path: Path) -> None:
    final = tmp_path / "artifact"

    def broken_build(tmp: Path) -> None:
        (tmp / "half-written").write_text("...")
        raise KeyboardInterrupt  # an interrupted download or build

    with pytest.raises(KeyboardInterrupt):
        build_once(final, "demo", broken_build, progress=lambda message: None)
    assert not final.exists()

    calls: list[Path] = []
    build_once(final, "demo", lambda tmp: calls.append(tmp), progress=lambda message: None)
    build_once(final, "demo", lambda tmp: calls.append(tmp), progress=lambda message: None)
    assert len(calls) == 1 and (final / MARKER_NAME).is_file() and not (final / "half-written").exists()


def test_failed_command_names_step_command_and_log() -> None:
    with pytest.raises(ProvisionError) as caught:
        run_logged("demo-step", ["sh", "-c", "echo compiler exploded; exit 4"], lambda m: None, fix="do the thing")
    message = str(caught.value)
    assert message.startswith("[demo-step] the command exited with status 4")
    assert "command: sh -c echo compiler exploded; exit 4" in message
    assert "compiler exploded" in message and "what to do: do the thing" in message
    log_line = next(line for line in message.splitlines() if line.strip().startswith("log: "))
    assert Path(log_line.split("log: ", 1)[1]).read_text().endswith("compiler exploded\n")


def test_long_step_reports_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    from conformance.servers import _steps

    monkeypatch.setattr(_steps, "PROGRESS_INTERVAL_S", 0.3)
    lines: list[str] = []
    run_logged("slow", ["sh", "-c", "echo compiling; sleep 1.2"], lines.append, fix="-")
    assert lines and all(line.startswith("[slow] ") and "compiling" in line for line in lines), lines


def test_cli_start_status_logs_stop_from_separate_invocations(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_kind(monkeypatch, [sys.executable, "-c", FAKE_SERVER, "{port}"])
    assert cli_main(["start", "llamacpp"]) == 0
    started = capsys.readouterr().out
    assert "llamacpp: ready at http://127.0.0.1:" in started
    try:
        assert cli_main(["start", "llamacpp"]) == 1, "a second start must refuse while the first runs"
        assert "already running" in capsys.readouterr().err
        assert cli_main(["status", "llamacpp"]) == 0
        assert "/health 200" in capsys.readouterr().out
        assert cli_main(["logs", "llamacpp"]) == 0
        assert "$ " in capsys.readouterr().out  # the log starts with the command line
    finally:
        assert cli_main(["stop", "llamacpp"]) == 0
    assert "llamacpp: stopped" in capsys.readouterr().out
    assert cli_main(["status", "llamacpp"]) == 0
    assert capsys.readouterr().out.strip() == "llamacpp: not running"


def test_cli_background_start_outlives_the_cli_process(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """`start` in one process, `status`/`stop` in another: the server must survive the first exiting."""
    fake_server = tmp_path / "fake_server.py"
    fake_server.write_text(FAKE_SERVER)
    starter = textwrap.dedent(
        f"""
        import sys
        from conformance.servers import _registry
        from conformance.servers._launch import LaunchSpec
        _registry._KINDS["llamacpp"] = _registry.ServerKind(
            "llamacpp", lambda progress: None,
            lambda port: LaunchSpec(({sys.executable!r}, {str(fake_server)!r}, str(port))), 20.0)
        from conformance.servers.__main__ import main
        sys.exit(main(["start", "llamacpp"]))
        """
    )
    started = subprocess.run([sys.executable, "-c", starter], capture_output=True, text=True, timeout=60)
    assert started.returncode == 0, started.stderr
    try:
        assert cli_main(["status", "llamacpp"]) == 0, "the server died with the CLI process that started it"
        assert "/health 200" in capsys.readouterr().out
    finally:
        assert cli_main(["stop", "llamacpp"]) == 0
    assert "llamacpp: stopped" in capsys.readouterr().out
