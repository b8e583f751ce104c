"""Print what the suite holds: checks and matrix rows per family, and the cassettes recorded vs written.

`python -m conformance.inventory [--provider NAME] [--wire NAME]` collects the suite without running it,
so a reviewer sees the matrix (and a release note can quote it) in a second.
"""

from __future__ import annotations

import sys
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from conformance.cassette import load_cassette
from conformance.wires import get_wire


class _Collector:
    def __init__(self) -> None:
        self.rows: Counter[str] = Counter()
        self.checks: defaultdict[str, set[str]] = defaultdict(set)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        for item in session.items:
            marker = item.get_closest_marker("family")
            if marker is None:
                continue
            family = marker.args[0]
            self.rows[family] += 1
            self.checks[family].add(item.originalname)  # type: ignore[attr-defined]


def main(argv: list[str]) -> int:
    collector = _Collector()
    root = Path(__file__).resolve().parent
    code = pytest.main([str(root / "checks"), "--collect-only", "-q", "-p", "no:cacheprovider", *argv], plugins=[collector])
    print("\nfamily                checks  matrix rows")
    for family in sorted(collector.rows):
        print(f"{family:<20} {len(collector.checks[family]):>7} {collector.rows[family]:>12}")
    wire_name = next((argv[i + 1] for i, arg in enumerate(argv[:-1]) if arg in ("--conformance-wire", "--wire")), "openai-chat")
    kinds: Counter[str] = Counter()
    for path in sorted(get_wire(wire_name).cassette_dir.glob("*.json")):
        source = load_cassette(path).source
        kinds[f"{source['kind']} ({source.get('server', 'from the published format')})"] += 1
    print(f"\ncassettes of {wire_name}: " + ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items())))
    return int(code)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
