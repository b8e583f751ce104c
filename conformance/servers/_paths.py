"""Where provisioned servers live: one user cache directory, shared by every checkout and CI step.

Kept out of the repository so a fresh clone reuses a previous build, and overridable through
PROVIDER_CONFORMANCE_CACHE so tests (and CI) can point it elsewhere.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import Iterator

import platformdirs

from ._errors import ProvisionError

__all__ = ["CACHE_ENV_VAR", "cache_dir", "logs_dir", "run_dir", "file_lock"]

CACHE_ENV_VAR = "PROVIDER_CONFORMANCE_CACHE"


def cache_dir() -> Path:
    """The cache root, created on first use; raises ProvisionError when it cannot be written."""
    configured = os.environ.get(CACHE_ENV_VAR)
    root = Path(configured) if configured else Path(platformdirs.user_cache_dir("provider-conformance"))
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = root / f".write-probe-{os.getpid()}"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        source = f"${CACHE_ENV_VAR}" if configured else "platformdirs.user_cache_dir"
        raise ProvisionError.failure(
            step="cache",
            what=f"the cache directory {root} (from {source}) is not writable: {exc}",
            fix=f"make it writable, or set {CACHE_ENV_VAR} to a writable directory",
        ) from exc
    return root


def logs_dir() -> Path:
    path = cache_dir() / "logs"
    path.mkdir(exist_ok=True)
    return path


def run_dir() -> Path:
    """Records of servers started in the background by the CLI (pid, port, log)."""
    path = cache_dir() / "run"
    path.mkdir(exist_ok=True)
    return path


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive fcntl lock, so two processes never build the same artifact at once.

    The kernel drops the lock when the holder dies, so a killed build never leaves it stuck.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
