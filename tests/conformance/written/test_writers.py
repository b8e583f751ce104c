"""The writers in conformance.written must reproduce the written cassettes in recordings/ byte for byte."""

from __future__ import annotations

import json

import pytest

from conformance.written import WRITERS, build, write
from conformance.written.__main__ import main
from conformance.wires import RECORDINGS_DIR


@pytest.mark.parametrize("wire", list(WRITERS))
def test_writer_reproduces_its_cassettes(wire, tmp_path):
    written = write(wire, tmp_path)
    assert written, f"{wire}: the writer produced no cassettes"
    for path in written:
        committed = RECORDINGS_DIR / wire / path.name
        assert committed.exists(), (
            f"{path.name} is written but not in recordings/{wire}/: run python -m conformance.written {wire}")
        assert path.read_bytes() == committed.read_bytes(), (
            f"recordings/{wire}/{path.name} differs from what conformance.written writes; "
            f"rerun python -m conformance.written {wire} and review the diff")


@pytest.mark.parametrize("wire", list(WRITERS))
def test_every_written_cassette_has_a_writer(wire):
    """A cassette marked written whose writer is gone could no longer be regenerated or reviewed."""
    on_disk = {path.name for path in (RECORDINGS_DIR / wire).glob("*.json")
               if json.loads(path.read_text(encoding="utf-8"))["source"]["kind"] == "written"}
    assert on_disk == set(build(wire))


def test_every_wire_with_written_cassettes_has_a_writer():
    wires = {path.parent.name for path in RECORDINGS_DIR.glob("*/*.json")
             if json.loads(path.read_text(encoding="utf-8"))["source"]["kind"] == "written"}
    assert wires == set(WRITERS)


def test_an_unknown_wire_is_refused_with_the_known_ones(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["no-such-wire"])
    assert exit_info.value.code == 2
    message = capsys.readouterr().err
    assert "unknown wire no-such-wire" in message
    assert all(wire in message for wire in WRITERS)
    with pytest.raises(ValueError, match="known wires: openai-chat"):
        build("no-such-wire")
