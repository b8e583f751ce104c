"""The one error tree of the live-server package, so callers catch a single class.

    ServerError
     +-- ProvisionError   a build, download, install or conversion step failed
     +-- StartError       the server did not come up (port taken, exited early, timed out)

Every message names the step, the command and the log file, and says what to do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

__all__ = ["ServerError", "ProvisionError", "StartError", "UnknownServerError"]


class ServerError(RuntimeError):
    """Base class of every failure to provision, start or stop a live server."""

    @classmethod
    def failure(
        cls,
        *,
        step: str,
        what: str,
        command: Sequence[str] | None = None,
        log_path: Path | None = None,
        log_tail: str | None = None,
        fix: str,
    ) -> ServerError:
        """The error with the multi-line message every failure carries: step, what happened, command, log, fix."""
        lines = [f"[{step}] {what}"]
        if command is not None:
            lines.append("  command: " + " ".join(str(part) for part in command))
        if log_path is not None:
            lines.append(f"  log: {log_path}")
        if log_tail:
            lines.append("  last lines of the log:")
            lines.extend("    " + line for line in log_tail.rstrip().splitlines())
        lines.append(f"  what to do: {fix}")
        return cls("\n".join(lines))


class ProvisionError(ServerError):
    """A provisioning step (download, build, install, conversion) failed."""


class StartError(ServerError):
    """A provisioned server could not be started or did not become ready."""


class UnknownServerError(ServerError, ValueError):
    """A server name outside SERVER_NAMES."""
