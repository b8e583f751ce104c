"""What the installed suite costs a pytest run that is not the suite's: the target is under 50 ms.

pytest imports every installed plugin's entry point in every run, so the suite's entry point must stay
small and load the suite only in its own runs. This collects a one-test folder outside the repository
with the suite's plugin and without it (`-p no:conformance`), alternating, and prints the medians and
their difference. Run it with the Python of an environment where the package is installed:

    python benchmarks/plugin/bench_startup.py [--runs 15] [--python /path/to/venv/bin/python]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_MS = 50.0


def collect_ms(python: str, folder: Path, *extra: str) -> float:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    started = time.perf_counter()
    subprocess.run([python, "-m", "pytest", "--co", "-q", "-p", "no:cacheprovider", *extra, str(folder)],
                   cwd=folder, env=env, check=True, capture_output=True)
    return (time.perf_counter() - started) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--python", default=sys.executable, help="interpreter of the environment to measure")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "test_unrelated.py").write_text("def test_nothing():\n    pass\n")
        collect_ms(args.python, folder)  # warm the file cache and the bytecode
        with_plugin, without = [], []
        for _ in range(args.runs):
            with_plugin.append(collect_ms(args.python, folder))
            without.append(collect_ms(args.python, folder, "-p", "no:conformance"))
    # The minimum is the verdict: other load on the machine only ever adds time to a run.
    cost = min(with_plugin) - min(without)
    for name, runs in (("with the suite's plugin", with_plugin), ("without it (-p no:conformance)", without)):
        print(f"pytest --co of one unrelated test, {name}: min {min(runs):.0f} ms, "
              f"median {statistics.median(runs):.0f} ms ({len(runs)} runs)")
    print(f"importing the entry point (pytest already loaded): {plugin_import_ms(args.python):.1f} ms")
    print(f"startup cost of the installed suite: {cost:.1f} ms (target < {TARGET_MS:.0f} ms): "
          f"{'PASS' if cost < TARGET_MS else 'FAIL'}")
    return 0 if cost < TARGET_MS else 1


def plugin_import_ms(python: str) -> float:
    """The entry point's own import time once pytest is loaded (what every pytest run pays for it)."""
    probe = ("import time, pytest\nstarted = time.perf_counter()\nimport conformance.pytest_entry\n"
             "print((time.perf_counter() - started) * 1000)")
    done = subprocess.run([python, "-c", probe], capture_output=True, text=True, check=True)
    return float(done.stdout.strip())

if __name__ == "__main__":
    sys.exit(main())
