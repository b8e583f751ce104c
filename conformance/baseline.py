"""Known failures of one provider, so it can adopt the gate and fail only on regressions.

A baseline is a small JSON file kept in the provider's repository:

    {
      "format": 1,
      "provider": "acme_provider.factory:make_model",   # optional: refuses a run of another provider
      "wire": "openai-chat",                            # optional, informative
      "expected_failures": {
        "<check id>": "one-line reason this check fails today"
      }
    }

Check ids are the `RunRecord.check` values the suite stores for every check (they are listed in the
matrix and written by `--conformance-write-baseline`). Each entry becomes a strict expected failure: the check
failing is expected, the check passing fails the run until the entry is removed.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from conformance.json_files import write_json_atomically

BASELINE_FORMAT = 1
MAX_REASON_CHARS = 200


class BaselineError(Exception):
    """A baseline file that cannot be used: the message names the file, the problem and the fix."""


@dataclass
class Baseline:
    """Check id -> one-line reason, for one provider."""

    expected_failures: dict[str, str] = field(default_factory=dict)
    provider: str | None = None
    wire: str | None = None

    def reason_for(self, check_id: str) -> str | None:
        return self.expected_failures.get(check_id)


def one_line_reason(text: str | None) -> str:
    """First non-empty line of a failure message, cut to a length a baseline entry can carry."""
    for line in (text or "").splitlines():
        line = line.strip()
        if line:
            return line if len(line) <= MAX_REASON_CHARS else line[: MAX_REASON_CHARS - 3] + "..."
    return "failed without a message"


def load_baseline(path: str | os.PathLike[str]) -> Baseline:
    """Read and validate a baseline file; every problem raises `BaselineError` with the fix."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BaselineError(
            f"baseline file {path} does not exist; create it with --conformance-write-baseline {path} "
            "(it records the checks failing today) or fix the path"
        ) from None
    except OSError as exc:
        raise BaselineError(f"baseline file {path} cannot be read: {exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BaselineError(
            f"baseline file {path} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}; "
            "fix it or write a new one with --conformance-write-baseline"
        ) from exc
    if not isinstance(data, dict):
        raise BaselineError(
            f"baseline file {path} must hold a JSON object with 'format' and 'expected_failures', "
            f"got a JSON {type(data).__name__}"
        )
    fmt = data.get("format")
    if fmt != BASELINE_FORMAT:
        raise BaselineError(
            f"baseline file {path} has format {fmt!r}; this gate reads format {BASELINE_FORMAT}. "
            "Write a new one with --conformance-write-baseline"
        )
    unknown = sorted(set(data) - {"format", "provider", "wire", "expected_failures"})
    if unknown:
        raise BaselineError(
            f"baseline file {path} has unknown keys {unknown}; "
            "allowed: format, provider, wire, expected_failures"
        )
    failures = data.get("expected_failures")
    if not isinstance(failures, dict):
        raise BaselineError(
            f"baseline file {path}: 'expected_failures' must be an object mapping check id to a "
            f"one-line reason, got {type(failures).__name__}"
        )
    for check_id, reason in failures.items():
        if not isinstance(reason, str) or not reason.strip():
            raise BaselineError(
                f"baseline file {path}: entry {check_id!r} needs a non-empty one-line reason string, "
                f"got {reason!r}"
            )
        if "\n" in reason:
            raise BaselineError(
                f"baseline file {path}: the reason of {check_id!r} spans several lines; keep one line"
            )
    for key in ("provider", "wire"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise BaselineError(f"baseline file {path}: '{key}' must be a string, got {data[key]!r}")
    return Baseline(expected_failures=dict(failures), provider=data.get("provider"), wire=data.get("wire"))


def write_baseline(path: str | os.PathLike[str], baseline: Baseline) -> None:
    """Write atomically (a failed write never leaves half a baseline), entries sorted for diffs."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data: dict[str, object] = {"format": BASELINE_FORMAT}
    if baseline.provider is not None:
        data["provider"] = baseline.provider
    if baseline.wire is not None:
        data["wire"] = baseline.wire
    data["expected_failures"] = dict(sorted(baseline.expected_failures.items()))
    write_json_atomically(path, data, indent=2)
