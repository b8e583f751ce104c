"""The third-party recipe of docs/release-gate.md, run as a provider author runs it.

The example package `examples/acme_provider` (outside our import tree) is put on the path, the
installed suite runs from another directory with `--pyargs conformance`, and its committed baseline
must hold: exit 0, every baseline entry an expected failure, the JUnit XML and the matrix written.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "acme_provider"


def run_gate(workdir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    # The example first; a PYTHONPATH of the caller's (a checkout's own code) stays behind it.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(EXAMPLE / "src"), os.environ.get("PYTHONPATH")]))}
    command = [
        sys.executable, "-m", "pytest", "--pyargs", "conformance", "-m", "not live",
        "-p", "no:cacheprovider", "-q", "--conformance-provider", "acme_provider:make_model", "--conformance-wire", "openai-chat", *extra,
    ]
    return subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=900)


def test_the_example_provider_passes_the_gate_with_its_baseline(tmp_path: Path) -> None:
    baseline = json.loads((EXAMPLE / "conformance-baseline.json").read_text())["expected_failures"]
    done = run_gate(tmp_path, f"--conformance-baseline={EXAMPLE / 'conformance-baseline.json'}", "--junitxml=reports/conformance.xml")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]

    suite = ET.parse(tmp_path / "reports" / "conformance.xml").getroot().find("testsuite")
    assert suite is not None
    known = [
        case for case in suite.iter("testcase")
        if (skip := case.find("skipped")) is not None and skip.get("message", "").startswith("baseline: ")
    ]
    assert len(known) == len(baseline), f"{len(known)} known failures reported for {len(baseline)} baseline entries"
    assert int(suite.get("failures", "0")) == 0 and int(suite.get("tests", "0")) > 50

    matrix = (tmp_path / "reports" / "conformance" / "matrix.md").read_text()
    assert "| acme_provider:make_model (openai-chat, replay) |" in matrix


def test_without_its_baseline_the_example_fails_with_exit_code_1(tmp_path: Path) -> None:
    # The failing check is a `should` one: it fails the run with --conformance-strict.
    done = run_gate(tmp_path, "--conformance-no-matrix", "-k", "update_config", "--conformance-strict")
    assert done.returncode == 1, done.stdout[-3000:]
    assert "test_update_config_rejects_unknown_key" in done.stdout
