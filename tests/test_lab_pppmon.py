"""The lab's PPP line monitor: negotiation frames named from the bytes on the line."""

from __future__ import annotations

from dialup_admin.lab.pppmon import PppMonitor, frame_name
from tests.support.answer import LCP_FRAME


def hdlc(payload: bytes) -> bytes:
    """Async HDLC framing as pppd sends it (flags, 0x7D escapes of control characters; FCS left out)."""
    out = bytearray(b"\x7e")
    for b in payload:
        if b < 0x20 or b in (0x7D, 0x7E):
            out += bytes((0x7D, b ^ 0x20))
        else:
            out.append(b)
    return bytes(out + b"\x7e")


def test_names_control_frames() -> None:
    assert frame_name(LCP_FRAME[1:-1]) == "LCP ConfReq"
    assert frame_name(hdlc(b"\xff\x03\xc0\x23\x02\x01\x00\x05\x00")[1:-1]) == "PAP AuthAck"
    assert frame_name(hdlc(b"\xc0\x21\x09\x01\x00\x08")[1:-1]) == "LCP EchoReq"  # address/control compressed
    assert frame_name(hdlc(b"\xff\x03\x80\x21\x02\x07\x00\x0a")[1:-1]) == "IPCP ConfAck"
    assert frame_name(hdlc(b"\x21\x45\x00\x00\x54")[1:-1]) is None  # IP data, protocol field compressed
    assert frame_name(b"\r") is None


def test_frames_split_across_chunks_and_sides() -> None:
    mon = PppMonitor()
    data = LCP_FRAME + hdlc(b"\xff\x03\xc0\x23\x01\x01\x00\x10")
    got: list[str] = []
    for i in range(0, len(data), 3):
        got += mon.feed("21", data[i:i + 3])
    assert got == ["LCP ConfReq", "PAP AuthReq"]
    assert mon.feed("11", hdlc(b"\xff\x03\xc0\x21\x02\x01\x00\x04")) == ["LCP ConfAck"]
    mon.feed("21", b"\x7e\xff\x7d")
    mon.reset("21")
    assert mon.feed("21", hdlc(b"\xff\x03\x80\x21\x01\x01\x00\x04")) == ["IPCP ConfReq"]
