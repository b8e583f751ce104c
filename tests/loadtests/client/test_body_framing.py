"""HTTP/1.1 body framing as bytes are pushed in: every cut of the input gives the same body, and a broken frame
fails by name."""

from __future__ import annotations

import pytest

from loadtests.client.connection import BodyFraming
from loadtests.client.failures import RequestFailure

CHUNKED = {"transfer-encoding": "chunked"}
BODY = b"data: one\n\n" + b"data: " + b"x" * 40 + b"\n\n"
WIRE = b"b\r\ndata: one\n\n\r\n30;ext=1\r\n" + BODY[11:] + b"\r\n0\r\n\r\n"


def _pushed(headers: dict[str, str], pieces: list[bytes]) -> tuple[bytes, bool, int]:
    """The body, whether it ended, and after how many pieces."""
    framing, body = BodyFraming(headers), b""
    for n, piece in enumerate(pieces, 1):
        body += b"".join(framing.feed(piece))
        if framing.done:
            return body, True, n
    return body, False, len(pieces)


@pytest.mark.parametrize("headers, wire", [(CHUNKED, WIRE), ({"content-length": str(len(BODY))}, BODY)])
def test_every_two_way_and_bytewise_cut_gives_the_same_body_ending_with_its_last_byte(headers, wire):
    assert _pushed(headers, [wire]) == (BODY, True, 1)
    for cut in range(1, len(wire)):
        assert _pushed(headers, [wire[:cut], wire[cut:]]) == (BODY, True, 2), cut
    pieces = [wire[i:i + 1] for i in range(len(wire))]
    assert _pushed(headers, pieces) == (BODY, True, len(wire))


def test_trailers_are_read_to_their_empty_line():
    wire = b"3\r\nabc\r\n0\r\nX-Checksum: 1\r\nX-Other: 2\r\n\r\n"
    for cut in range(1, len(wire)):
        assert _pushed(CHUNKED, [wire[:cut], wire[cut:]]) == (b"abc", True, 2), cut
    assert _pushed(CHUNKED, [wire[:-2]]) == (b"abc", False, 1)


def test_a_close_delimited_body_is_everything_until_the_close():
    framing = BodyFraming({})
    assert framing.until_close and framing.feed(b"abc") == [b"abc"] and framing.feed(b"") == [] and not framing.done


def test_an_empty_sized_body_has_ended_before_any_byte():
    assert BodyFraming({"content-length": "0"}).done


@pytest.mark.parametrize("headers, wire, says", [
    (CHUNKED, b"zz\r\nabc", "bad chunk size line b'zz'"),
    (CHUNKED, b"-3\r\nabc", "bad chunk size line b'-3'"),
    (CHUNKED, b"1" * 5000, "no end of a chunk size line"),
    ({"content-length": "-1"}, b"", "bad content-length '-1'"),
    ({"content-length": "ten"}, b"", "bad content-length 'ten'"),
])
def test_a_broken_frame_is_a_protocol_failure_that_says_what_was_seen(headers, wire, says):
    with pytest.raises(RequestFailure) as err:
        BodyFraming(headers).feed(wire)
    assert err.value.kind == "protocol" and says in str(err.value)
