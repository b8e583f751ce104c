"""The token-id checks judge the provider under test: a provider declaring token ids and returning none
or wrong ones fails them, one whose streams raise fails them, one that does not declare them gets
them as not applicable (never passed), and the reference vLLM provider passes them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FAKES = "tests.conformance.token_id_fakes"


def outcomes(junit: Path) -> dict[str, tuple[str, str]]:
    """pytest test name -> (outcome, message) from a JUnit XML file."""
    found = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        children = {child.tag: child for child in case}
        if "failure" in children:
            found[case.get("name")] = ("failed", children["failure"].get("message", ""))
        elif "skipped" in children:
            found[case.get("name")] = ("skipped", children["skipped"].get("message", ""))
        else:
            found[case.get("name")] = ("passed", "")
    return found


def test_the_checks_judge_the_provider_under_test(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    providers = [arg for name in ("silent", "shifted", "raising", "undeclared") for arg in ("--conformance-provider", f"{FAKES}:{name}")]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "conformance/checks/test_token_ids.py", "-k", "replayed", "-p", "no:cacheprovider",
         "-o", "addopts=", "--conformance-no-matrix", "--conformance-provider", "vllm", *providers, f"--junitxml={junit}"],
        cwd=REPO, capture_output=True, text=True, timeout=600,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    seen = outcomes(junit)
    cases = ("tokens_text", "tokens_tool_run", "tokens_unknown_tool")
    for case in cases:
        assert seen[f"test_token_ids_replayed[vllm-{case}]"][0] == "passed"
        for name in ("silent", "shifted", "raising"):
            assert seen[f"test_token_ids_replayed[{FAKES}:{name}-{case}]"][0] == "failed", (name, case)
        outcome, message = seen[f"test_token_ids_replayed[{FAKES}:undeclared-{case}]"]
        assert outcome == "skipped" and "not applicable: provider" in message and "does not declare token ids" in message
    text_failures = {name: seen[f"test_token_ids_replayed[{FAKES}:{name}-tokens_text]"][1] for name in ("silent", "shifted")}
    assert "request 0 did not ask for token ids" in text_failures["silent"]
    assert "ids decode to" in text_failures["shifted"]
