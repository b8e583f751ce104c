"""Provisioning steps that are all-or-nothing, logged, and report progress while they run.

A step builds into a temporary sibling directory and renames it into place only after writing a
marker file, so an interrupted download, build or conversion is never mistaken for a good one.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Callable, Mapping, Sequence

from ._errors import ProvisionError
from ._paths import file_lock, logs_dir

__all__ = ["Progress", "MARKER_NAME", "build_once", "is_complete", "run_logged", "die_with_parent", "log_tail"]

Progress = Callable[[str], None]

MARKER_NAME = ".complete"
PROGRESS_INTERVAL_S = 15.0

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """preexec_fn: have the kernel SIGKILL this child when the process that started it dies.

    Covers the parent being SIGKILLed, where no Python cleanup can run.
    """
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")


def log_tail(path: Path, lines: int = 15) -> str:
    """The last lines of a log file ('' when missing), for progress lines and error messages."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 16384))
            text = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    # Progress bars redraw with \r; keep only what is visible.
    visible = [line.rsplit("\r", 1)[-1] for line in text.split("\n")]
    return "\n".join([line for line in visible if line.strip()][-lines:])


def is_complete(path: Path) -> bool:
    return (path / MARKER_NAME).is_file()


def build_once(final: Path, step: str, build: Callable[[Path], None], progress: Progress) -> Path:
    """Run `build(tmp_dir)` unless `final` is already complete; rename the result into place.

    Serialized by a lock next to `final`, so concurrent provisioners wait and then reuse the result.
    """
    if is_complete(final):
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(final.parent / f".{final.name}.lock"):
        if is_complete(final):
            return final
        tmp = final.parent / f".{final.name}.partial"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        started = time.monotonic()
        progress(f"[{step}] building {final}")
        build(tmp)
        (tmp / MARKER_NAME).write_text(
            json.dumps({"step": step, "seconds": round(time.monotonic() - started, 1), "finished": time.time()})
        )
        if final.exists():  # leftover of an older, incomplete layout
            shutil.rmtree(final)
        os.rename(tmp, final)
        progress(f"[{step}] done in {time.monotonic() - started:.0f} s")
    return final


def spawn_logged(
    argv: Sequence[str],
    log_path: Path,
    *,
    env: Mapping[str, str] | None,
    preexec_fn: Callable[[], None] | None,
    cwd: Path | None = None,
    shown: Sequence[str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start `argv` with its output in `log_path`, after a `$ command` line (`shown`, when the command worth
    reading is wrapped, e.g. by the supervisor). In a session of its own, so an interrupt can stop its whole
    tree (pip, make, compilers, the server's workers). Raises OSError when it cannot run."""
    with open(log_path, "wb") as log:
        log.write(("$ " + " ".join(shown or argv) + "\n").encode())
        log.flush()
        return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=cwd,
                                env=env, preexec_fn=preexec_fn, start_new_session=True)


def run_logged(
    step: str,
    command: Sequence[str | os.PathLike[str]],
    progress: Progress,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    fix: str,
    log_name: str | None = None,
) -> Path:
    """Run one command with its output in logs/<step>.log; print a progress line every 15 s.

    Raises ProvisionError naming the step, the command and the log when the command fails.
    """
    argv = [os.fspath(part) for part in command]
    log_path = logs_dir() / f"{log_name or step}.log"
    started = time.monotonic()
    try:
        process = spawn_logged(argv, log_path, env=dict(env) if env is not None else None, cwd=cwd,
                               preexec_fn=die_with_parent)
    except OSError as exc:
        raise ProvisionError.failure(
            step=step, what=f"could not run the command: {exc}", command=argv, log_path=log_path, fix=fix
        ) from exc
    try:
        next_report = started + PROGRESS_INTERVAL_S
        while process.poll() is None:
            time.sleep(0.5)
            if time.monotonic() >= next_report:
                next_report += PROGRESS_INTERVAL_S
                # Skip pip's per-package mirror warnings on this machine kind: they say nothing.
                recent = [line for line in log_tail(log_path, 8).splitlines() if "is ignored: it is neither" not in line]
                last = recent[-1] if recent else ""
                progress(f"[{step}] {time.monotonic() - started:.0f} s: {last[-160:]}")
    finally:
        if process.poll() is None:  # interrupted (Ctrl-C): leave nothing running
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    if process.returncode != 0:
        raise ProvisionError.failure(
            step=step,
            what=f"the command exited with status {process.returncode} after {time.monotonic() - started:.0f} s",
            command=argv,
            log_path=log_path,
            log_tail=log_tail(log_path),
            fix=fix,
        )
    return log_path
