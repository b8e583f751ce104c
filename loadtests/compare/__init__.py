"""Did the upgrade regress? Two load runs compared metric by metric, each difference told apart from noise.

`python -m loadtests.compare RUN_A RUN_B` reads each run's per-request records (`runs`), computes
TTFT, TPOT, ITL and E2E percentiles, throughput, goodput, error and nonconformance rates with a
bootstrap interval of B's change against A (`stats`), prints a table, writes an HTML page (`render`)
and exits 1 when a metric chosen with `--fail-on` regressed beyond its threshold and beyond noise,
so a CI job can gate a server upgrade on it; exit 2 when a run cannot be read.
"""

from loadtests.compare.runs import Run, UnreadableRun, load_run
from loadtests.compare.stats import Difference, Gate, compare, gate_failures, parse_gate

__all__ = ["Difference", "Gate", "Run", "UnreadableRun", "compare", "gate_failures", "load_run", "parse_gate"]
