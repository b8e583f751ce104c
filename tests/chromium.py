"""A minimal Chrome DevTools Protocol client over `--remote-debugging-pipe`, for page tests.

The pipe transport (JSON messages ended by NUL on file descriptors 3 and 4) needs no websocket
library and no network port, so a test drives Debian's real Chromium with the standard library only.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-pipe",
)


class ChromiumError(Exception):
    """Chromium failed to start, answered with an error, or did not answer in time."""


def find_chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@contextmanager
def headless_chromium() -> Iterator[Chromium]:
    """A started Chromium for a test module's fixture; a missing browser fails the test saying how to install it."""
    executable = find_chromium()
    if executable is None:
        import pytest  # only here: the driver itself needs nothing beyond the standard library

        pytest.fail("chromium is not installed: run `bash scripts/install-system-deps.sh` (Debian's chromium)")
    with Chromium(executable) as chromium:
        yield chromium


class Chromium:
    """One headless Chromium with one page, driven through CDP; use as a context manager."""

    def __init__(self, executable: str, timeout: float = 30.0) -> None:
        self._timeout = timeout
        self._profile = tempfile.TemporaryDirectory(prefix="chromium-profile-")
        # A file, not a pipe: Chromium's chatter on stderr must never block it.
        self._stderr = tempfile.TemporaryFile()
        to_child_read, self._to_child = os.pipe()
        self._from_child, from_child_write = os.pipe()
        # Chromium expects its command pipe on fd 3 and its answer pipe on fd 4.
        high_read, high_write = _dup_high(to_child_read), _dup_high(from_child_write)

        def wire_pipes() -> None:
            os.dup2(high_read, 3)
            os.dup2(high_write, 4)

        self._process = subprocess.Popen(
            [executable, *CHROMIUM_FLAGS, f"--user-data-dir={self._profile.name}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
            pass_fds=(3, 4),
            preexec_fn=wire_pipes,
        )
        for fd in (to_child_read, from_child_write, high_read, high_write):
            os.close(fd)
        self._buffer = b""
        self._next_id = 0
        self._session: str | None = None
        self.events: list[dict[str, Any]] = []

    def __enter__(self) -> Chromium:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self._session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.send("Page.enable")
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self._session = None
            self.send("Browser.close")
        except ChromiumError:
            pass
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        for fd in (self._to_child, self._from_child):
            os.close(fd)
        self._stderr.close()
        self._profile.cleanup()

    def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if self._session is not None:
            message["sessionId"] = self._session
        os.write(self._to_child, json.dumps(message).encode() + b"\0")
        while True:
            answer = self._read_message()
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise ChromiumError(f"{method} failed: {answer['error']}")
                return answer.get("result", {})
            self.events.append(answer)

    def navigate(self, url: str) -> None:
        """Open `url` and wait for its load event, so the page's scripts have run."""
        self.events.clear()
        self.send("Page.navigate", {"url": url})
        deadline = time.monotonic() + self._timeout
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            if time.monotonic() > deadline:
                raise ChromiumError(f"{url} did not finish loading within {self._timeout} s")
            self.events.append(self._read_message())

    def evaluate(self, expression: str) -> Any:
        """Run JavaScript in the page and return its JSON value; a thrown error raises."""
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise ChromiumError(f"script failed: {result['exceptionDetails']}\nscript: {expression}")
        return result["result"].get("value")

    def screenshot(self, path: Path) -> None:
        import base64

        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        path.write_bytes(base64.b64decode(data))

    def _read_message(self) -> dict[str, Any]:
        deadline = time.monotonic() + self._timeout
        while b"\0" not in self._buffer:
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([self._from_child], [], [], max(remaining, 0))
            if not ready:
                raise ChromiumError(f"Chromium sent nothing for {self._timeout} s")
            chunk = os.read(self._from_child, 65536)
            if not chunk:
                self._stderr.seek(0)
                stderr = self._stderr.read().decode(errors="replace")
                raise ChromiumError(f"Chromium closed its debugging pipe (exit {self._process.poll()}): {stderr[-2000:]}")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)


def _dup_high(fd: int) -> int:
    # A descriptor above 4, so wiring fd 3 and 4 in the child cannot overwrite the other pipe end.
    import fcntl

    return fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
