"""The gate in a provider author's environment, not ours: a fresh virtual environment outside the repository.

The suite is installed from this checkout (not editable: it runs from site-packages, with no pytest
configuration of ours in reach) beside popular plugins that own names a careless plugin would take
(pytest-base-url's `--base-url`, pytest-django's `live_server`, pytest-recording's `--record-mode`),
reorder the tests (pytest-randomly) or spread them over processes (pytest-xdist). The example package
stands for the author's repository, and the example CI workflow's replay job runs there as written.
The environment is made once per session (about 1-3 minutes with a warm ~/.cache/pip).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "acme_provider"
WORKFLOW = REPO / "examples" / "ci" / "provider-gate.yml"
FOREIGN_PLUGINS = (
    "pytest-base-url", "pytest-django", "pytest-recording", "pytest-xdist", "pytest-timeout",
    "pytest-randomly", "pytest-html",
)
SUMMARY = re.compile(r"=+ (.*\bin [\d.]+s.*) =+$")


@dataclass(frozen=True)
class AuthorEnv:
    project: Path
    env: dict[str, str]

    def run(self, command: str | list[str], timeout: float = 900) -> subprocess.CompletedProcess[str]:
        return subprocess.run(command, cwd=self.project, env=self.env, shell=isinstance(command, str),
                              capture_output=True, text=True, timeout=timeout, executable="/bin/bash"
                              if isinstance(command, str) else None)


def _replay_job_steps() -> list[str]:
    job = yaml.safe_load(WORKFLOW.read_text())["jobs"]["replay"]
    return [step["run"] for step in job["steps"] if "run" in step]


@pytest.fixture(scope="session")
def author_env(tmp_path_factory: pytest.TempPathFactory) -> AuthorEnv:
    root = tmp_path_factory.mktemp("author")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    pip = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q"]
    subprocess.run([*pip, "pip"], check=True, capture_output=True)  # the workflow calls `python -m pip`
    project = root / "acme"
    shutil.copytree(EXAMPLE, project)
    # pip builds in the source tree (build/, *.egg-info): it gets a copy, never this checkout.
    suite = root / "provider-conformance"
    shutil.copytree(REPO, suite, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "*.egg-info", "reports", "node_modules", "__pycache__", "examples"))
    env = {
        key: value for key, value in os.environ.items()
        if not key.startswith(("PYTEST_", "PYTHON", "VIRTUAL_ENV"))  # nothing of this repository's session
    }
    env.update(PATH=f"{venv / 'bin'}:{env['PATH']}", CONFORMANCE=f"provider-conformance[test] @ {suite.as_uri()}")
    return AuthorEnv(project, env)


@pytest.fixture(scope="session")
def installed(author_env: AuthorEnv) -> AuthorEnv:
    """The workflow's install step, then the plugins and strands-vllm (openai<2) beside the suite, in one command."""
    install, *_ = _replay_job_steps()
    done = author_env.run(install)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    done = author_env.run(f'python -m pip install -q "$CONFORMANCE" strands-vllm==0.0.6 {" ".join(FOREIGN_PLUGINS)}')
    assert done.returncode == 0, "the suite and strands-vllm 0.0.6 do not resolve together:\n" + done.stderr[-3000:]
    return author_env


def _summary(done: subprocess.CompletedProcess[str]) -> str:
    lines = [match.group(1) for line in done.stdout.splitlines() if (match := SUMMARY.match(line.strip()))]
    assert lines, done.stdout[-3000:] + done.stderr[-3000:]
    return lines[-1]


def _outcomes(done: subprocess.CompletedProcess[str]) -> dict[str, int]:
    """The counts by outcome; "deselected" left out, since xdist's controller does not count it."""
    counts = {word: int(number) for number, word in re.findall(r"(\d+) (\w+)", _summary(done))}
    counts.pop("deselected", None)
    return counts


STRICT_GATE = [
    "python", "-m", "pytest", "--pyargs", "conformance", "-m", "not live", "-p", "no:cacheprovider",
    "--strict-markers", "-W", "error::pytest.PytestUnknownMarkWarning", "--conformance-provider", "neuron",
    "--conformance-no-matrix", "-k", "grammar or stop_reason",
]


def test_the_gate_runs_strict_and_silent_beside_popular_plugins(installed: AuthorEnv) -> None:
    done = installed.run(STRICT_GATE)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    summary = _summary(done)
    assert "passed" in summary and "warning" not in summary and "error" not in summary, summary
    assert "Using --randomly-seed" in done.stdout, "pytest-randomly was not active: the order was not shuffled"


def test_the_gate_gives_the_same_results_under_xdist(installed: AuthorEnv) -> None:
    serial = _outcomes(installed.run([*STRICT_GATE, "-p", "no:randomly"]))
    spread = installed.run([*STRICT_GATE, "-n", "2"])
    assert spread.returncode == 0, spread.stdout[-4000:] + spread.stderr[-2000:]
    assert "created: 2/2 workers" in spread.stdout
    assert _outcomes(spread) == serial and serial.get("passed", 0) > 0


def test_the_short_option_names_yield_to_plugins_that_own_them(installed: AuthorEnv) -> None:
    """pytest-base-url owns --base-url: pytest still starts, --base-url stays theirs, ours is the long name."""
    done = installed.run(["python", "-m", "pytest", "--pyargs", "conformance", "--help"])
    assert done.returncode == 0, done.stderr[-2000:]
    assert "--conformance-base-url" in done.stdout and "--base-url=url" in done.stdout
    done = installed.run([*STRICT_GATE, "--provider", "neuron", "--base-url", "http://127.0.0.1:9"])
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]


def test_an_unrelated_pytest_run_imports_nothing_of_the_suite(installed: AuthorEnv, tmp_path: Path) -> None:
    (tmp_path / "test_unrelated.py").write_text("def test_nothing():\n    pass\n")
    probe = (
        "import sys, pytest\n"
        f"assert pytest.main(['-q', '-p', 'no:cacheprovider', {str(tmp_path)!r}]) == 0\n"
        "print(sorted(name for name in sys.modules if name.split('.')[0] in ('conformance', 'providers', 'strands')))\n"
    )
    done = installed.run(["python", "-c", probe])
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "['conformance', 'conformance.pytest_entry']"


def test_the_example_workflow_replay_job_passes(installed: AuthorEnv) -> None:
    _, gate = _replay_job_steps()
    done = installed.run(gate)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "xfailed" in _summary(done), "the baseline's known failures are expected failures"
    for report in ("conformance-junit.xml", "conformance/matrix.md", "allure-results"):
        assert (installed.project / "reports" / report).exists(), report
