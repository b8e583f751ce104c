"""`python -m conformance.written [wire ...]`: regenerate the written cassettes (all wires when none given)."""

from __future__ import annotations

import argparse

from conformance.written import WRITERS, write


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m conformance.written", description=__doc__)
    parser.add_argument("wires", nargs="*", metavar="wire",
                        help=f"wires to rewrite (default all: {', '.join(WRITERS)})")
    wires = parser.parse_args(argv).wires or list(WRITERS)
    unknown = [wire for wire in wires if wire not in WRITERS]
    if unknown:
        parser.error(f"unknown wire {', '.join(unknown)}; known wires: {', '.join(WRITERS)}")
    for wire in wires:
        paths = write(wire)
        print(f"{wire}: {len(paths)} written cassettes in {paths[0].parent if paths else wire}")


if __name__ == "__main__":
    main()
