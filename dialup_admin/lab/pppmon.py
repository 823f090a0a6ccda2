"""A PPP line monitor for the lab: the negotiation frames on the simulated line, as events. Pure.

:class:`PppMonitor` is fed what each modem sends down the line in a call (the
simulator's ``monitor`` hook) and names the control frames in it: ``LCP ConfReq``,
``PAP AuthAck``, ``IPCP ConfAck``... (async HDLC framing: frames between 0x7E flags,
0x7D escapes; only the first bytes of each frame are unescaped, so a megabyte of data
costs little). The lab logs them, so events.log shows each side's negotiation with
the host's clock, and "CONNECT to IP" can be read off the wire: the moment both
sides have acknowledged IPCP.
"""

from __future__ import annotations

PROTOCOLS = {0xC021: "LCP", 0xC023: "PAP", 0x8021: "IPCP", 0x80FD: "CCP", 0x8057: "IPV6CP", 0xC223: "CHAP"}
CODES = {1: "ConfReq", 2: "ConfAck", 3: "ConfNak", 4: "ConfRej", 5: "TermReq", 6: "TermAck", 7: "CodeRej",
         8: "ProtRej", 9: "EchoReq", 10: "EchoRep", 11: "DiscReq"}
PAP_CODES = {1: "AuthReq", 2: "AuthAck", 3: "AuthNak"}
MAX_PENDING = 4096  # bytes of an unfinished frame kept per side (its head is all that matters)


def frame_name(frame: bytes) -> str | None:
    """``"LCP ConfReq"`` for a control frame (escaped, without flags); None for data or junk."""
    head = bytearray()
    escape = False
    for byte in frame:
        if escape:
            head.append(byte ^ 0x20)
            escape = False
        elif byte == 0x7D:
            escape = True
        else:
            head.append(byte)
        if len(head) >= 6:
            break
    i = 2 if head[:2] == b"\xff\x03" else 0  # address and control, unless compressed away
    if len(head) < i + 3:
        return None
    if head[i] & 1:  # protocol field compressed to one byte: a data protocol, never a control one
        return None
    proto = (head[i] << 8) | head[i + 1]
    name = PROTOCOLS.get(proto)
    if name is None:
        return None
    code = head[i + 2]
    return f"{name} {(PAP_CODES if name == 'PAP' else CODES).get(code, f'code {code}')}"


class PppMonitor:
    """Per-side frame splitting over chunks; :meth:`feed` returns the control frames completed."""

    def __init__(self) -> None:
        self._pending: dict[str, bytearray] = {}

    def feed(self, side: str, data: bytes) -> list[str]:
        buf = self._pending.setdefault(side, bytearray())
        buf += data
        *frames, rest = bytes(buf).split(b"\x7e")
        self._pending[side] = bytearray(rest[:MAX_PENDING])
        return [name for name in map(frame_name, frames) if name is not None]

    def reset(self, side: str) -> None:
        """A new call on this side: forget a half frame of the last one."""
        self._pending.pop(side, None)
