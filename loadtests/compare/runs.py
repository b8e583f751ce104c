"""One load run as the comparison reads it: its per-request records, not only its summary.

A confidence interval needs the spread between requests, which a summary of percentiles has lost;
records.jsonl keeps one line per request (see `loadtests.report.records`). A run is its output
folder (records.jsonl, and summary.json for the SLOs it was judged by) or a records file itself.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loadtests.report.records import itl_per_token

NONCONFORMANT = "nonconformant"  # the failure kind of a response that broke a conformance rule under load


class UnreadableRun(Exception):
    """A run that cannot be compared: the message says which file, what is wrong and what to give instead."""


@dataclass(frozen=True)
class Request:
    """What the comparison needs of one measured request (latencies in ms, times in Unix seconds)."""

    ok: bool
    t_send: float
    t_end: float
    error_kind: str | None
    good: bool  # succeeded and met every SLO the run was given
    checked: bool  # judged by the conformance rules (a load run may check only a sample of its streams)
    ttft: float | None
    tpot: float | None
    itl: float | None
    e2e: float | None


@dataclass(frozen=True)
class Run:
    name: str
    path: Path
    requests: list[Request]
    slo: dict[str, float]  # from summary.json; empty when the run had none (or no summary)
    checks_conformance: bool  # some of its responses were judged by the conformance rules
    api: str = "chat"  # the endpoint it spoke (runs from before --api existed spoke chat)

    @property
    def first_send(self) -> float:
        return min(r.t_send for r in self.requests)

    @property
    def duration_s(self) -> float:
        return max(r.t_end for r in self.requests) - self.first_send


def _request(rec: dict[str, Any]) -> Request:
    ok = bool(rec["ok"])
    return Request(ok=ok, t_send=float(rec["t_send"]), t_end=float(rec["t_end"]), error_kind=rec.get("error_kind"),
                   good=ok and rec.get("slo_ok", True) is not False,
                   checked=bool(rec.get("conformance_checked")) or rec.get("error_kind") == NONCONFORMANT,
                   ttft=rec.get("ttft_ms") if ok else None, tpot=rec.get("tpot_ms") if ok else None,
                   itl=itl_per_token(rec) if ok else None, e2e=rec.get("e2e_ms") if ok else None)


def _records_path(path: Path) -> Path:
    if path.is_dir():
        records = path / "records.jsonl"
        if not records.is_file():
            raise UnreadableRun(f"{path}: no records.jsonl in this folder; give a load run's report folder "
                                "(reports/load/<scenario>-<time>/) or its records.jsonl")
        return records
    if path.is_file():
        return path
    raise UnreadableRun(f"{path}: no such file or folder; give a load run's report folder or its records.jsonl")


def load_run(arg: str) -> Run:
    """Read a run folder or records file; `UnreadableRun` says what is wrong and where."""
    path = Path(arg)
    records_path = _records_path(path)
    folder = records_path.parent
    requests: list[Request] = []
    checks_conformance = False
    try:
        with records_path.open(encoding="utf-8") as fh:
            for number, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                    if rec.get("warmup"):
                        continue
                    request = _request(rec)
                except (ValueError, KeyError, TypeError, AttributeError) as exc:
                    raise UnreadableRun(f"{records_path}:{number}: not a load-test record ({type(exc).__name__}: {exc}); "
                                        f"expected one JSON object per line with ok, t_send and t_end") from None
                if not (math.isfinite(request.t_send) and math.isfinite(request.t_end)):
                    raise UnreadableRun(f"{records_path}:{number}: t_send/t_end not finite numbers")
                checks_conformance = checks_conformance or request.checked
                requests.append(request)
    except (OSError, UnicodeDecodeError) as exc:
        raise UnreadableRun(f"{records_path}: cannot read it ({exc})") from None
    if not requests:
        raise UnreadableRun(f"{records_path}: no measured request in it (empty, or warmup only); "
                            "was the run stopped before its first request ended?")
    slo: dict[str, float] = {}
    api = "chat"
    summary_path = folder / "summary.json"
    if summary_path.is_file():
        try:
            summary = json.loads(summary_path.read_text(encoding="utf-8"))
            slo, api = dict(summary.get("slo") or {}), str(summary.get("api") or api)
        except (ValueError, OSError, AttributeError) as exc:
            raise UnreadableRun(f"{summary_path}: not a load-test summary ({exc})") from None
    name = folder.name if records_path.name == "records.jsonl" else records_path.name
    return Run(name=name, path=path, requests=requests, slo=slo, checks_conformance=checks_conformance, api=api)
