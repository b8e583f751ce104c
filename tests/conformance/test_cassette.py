"""Unit tests of the cassette format: round trip, stable text, versions, source, redaction, atomic writes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conformance import cassette as cassette_module
from conformance.cassette import (
    CASSETTE_VERSION,
    Cassette,
    CassetteError,
    Chunk,
    Interaction,
    RecordedRequest,
    RecordedResponse,
    dumps_cassette,
    filter_headers,
    find_secrets,
    load_cassette,
    write_cassette_atomically,
)

RECORDINGS = Path(__file__).resolve().parents[2] / "recordings"


def make(chunks: list[Chunk] | None = None, body: object = None, source: dict | None = None) -> Cassette:
    request = RecordedRequest("POST", "/v1/chat/completions", {"content-type": "application/json"}, body or {"stream": True})
    response = RecordedResponse(200, {"content-type": "text/event-stream"}, chunks or [Chunk(3, b"data: {}\n\n")])
    return Cassette("openai-chat", "text_basic", source or {"kind": "written", "reference": "spec", "note": "n"},
                    [Interaction(request, response)])


def test_round_trip_keeps_exact_bytes_including_split_multibyte(tmp_path):
    emoji = "😀".encode()
    chunks = [Chunk(1, b"data: caf\xc3"), Chunk(2, b"\xa9 " + emoji[:2]), Chunk(4, emoji[2:] + b"\n\n")]
    path = tmp_path / "case.written.json"
    write_cassette_atomically(make(chunks), path)
    loaded = load_cassette(path)
    assert [chunk.data for chunk in loaded.interactions[0].response.chunks] == [chunk.data for chunk in chunks]
    assert [chunk.ms for chunk in loaded.interactions[0].response.chunks] == [1, 2, 4]
    raw = json.loads(path.read_text())
    assert "hex" in raw["interactions"][0]["response"]["chunks"][0]


def test_text_is_stable_with_one_chunk_per_line():
    chunks = [Chunk(1, b"data: a\n\n"), Chunk(2, b"data: b\n\n")]
    text = dumps_cassette(make(chunks))
    assert text == dumps_cassette(make(chunks))
    lines = [line.strip() for line in text.splitlines()]
    assert '{"text": "data: a\\n\\n"},' in lines and '{"text": "data: b\\n\\n"}' in lines
    assert '"chunk_ms": [1, 2],' in lines
    keys = [line.split(":")[0] for line in text.splitlines() if line.startswith('  "')]
    assert keys == sorted(keys)


def test_old_version_rejected_with_migration_hint(tmp_path):
    path = tmp_path / "old.json"
    raw = make().to_json() | {"version": CASSETTE_VERSION - 1}
    path.write_text(json.dumps(raw))
    with pytest.raises(CassetteError, match="format version 0.*Migrate it: record it again"):
        load_cassette(path)


def test_newer_version_asks_to_update_suite(tmp_path):
    path = tmp_path / "new.json"
    path.write_text(json.dumps(make().to_json() | {"version": CASSETTE_VERSION + 1}))
    with pytest.raises(CassetteError, match="update provider-conformance"):
        load_cassette(path)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ({"kind": "guessed"}, "must be 'recorded' or 'written'"),
        ({"kind": "recorded", "server": "vllm"}, "needs server_version, model, recorded_at"),
        ({"kind": "written", "note": "x"}, "needs reference"),
    ],
)
def test_source_is_required_and_complete(tmp_path, source, message):
    path = tmp_path / "c.json"
    path.write_text(json.dumps(make().to_json() | {"source": source}))
    with pytest.raises(CassetteError, match=message):
        load_cassette(path)


def test_malformed_chunk_names_the_file(tmp_path):
    path = tmp_path / "c.json"
    raw = make().to_json()
    raw["interactions"][0]["response"]["chunks"] = [{"text": "a", "hex": "00"}]
    path.write_text(json.dumps(raw))
    with pytest.raises(CassetteError, match=r"c.json interaction 0: a chunk needs"):
        load_cassette(path)


def test_recording_keeps_only_allow_listed_headers():
    headers = {"Authorization": "Bearer abcdefgh12345678", "Content-Type": "application/json", "Cookie": "a=b",
               "X-Api-Key": "k", "User-Agent": "x"}
    assert filter_headers(headers, cassette_module.KEPT_REQUEST_HEADERS) == {"content-type": "application/json"}


@pytest.mark.parametrize(
    "secret",
    ["Bearer sk-live-abcdefghijklmnop", "sk-proj-abcdefghijklmnopqrstuv", "AKIAABCDEFGHIJKLMNOP", "hf_abcdefghijklmnopqrstuvwx"],
)
def test_secret_in_body_refused_before_disk(tmp_path, secret):
    path = tmp_path / "c.json"
    with pytest.raises(CassetteError, match="credential-looking"):
        write_cassette_atomically(make(body={"note": secret}), path)
    assert not path.exists() and not list(tmp_path.iterdir())


def test_secret_header_refused_before_disk(tmp_path):
    cassette = make()
    cassette.interactions[0].request.headers["authorization"] = "EMPTY"
    with pytest.raises(CassetteError, match='header "authorization"'):
        dumps_cassette(cassette)


def test_failed_write_keeps_the_good_cassette(tmp_path, monkeypatch):
    path = tmp_path / "case.vllm.json"
    write_cassette_atomically(make([Chunk(1, b"data: good\n\n")]), path)
    good = path.read_text()

    def broken_replace(source, target):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_cassette_atomically(make([Chunk(1, b"data: new\n\n")]), path)
    assert path.read_text() == good
    assert [item.name for item in tmp_path.iterdir()] == [path.name], "the temporary file was left behind"


def test_no_secrets_anywhere_in_recordings():
    """The scan over every committed cassette: no credential-looking text, no secret header names."""
    files = [path for path in RECORDINGS.rglob("*") if path.is_file() and path.suffix in (".json", ".jsonl", ".txt")]
    assert files, f"no cassettes found under {RECORDINGS}"
    findings = {str(path.relative_to(RECORDINGS)): find_secrets(path.read_text(encoding="utf-8", errors="replace"))
                for path in files}
    assert {name: found for name, found in findings.items() if found} == {}


def test_every_openai_chat_cassette_loads():
    paths = sorted((RECORDINGS / "openai-chat").glob("*.json"))
    assert paths
    for path in paths:
        loaded = load_cassette(path)
        assert loaded.wire == "openai-chat"
        assert path.name.startswith(loaded.case + "."), f"{path.name} holds case {loaded.case}"
