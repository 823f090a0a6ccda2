"""RADIUS packets, as far as the health probes need them (RFC 2865, 2866, 5997). Pure.

Built and checked here, sent by ``system/radius_probe.py``:

* Status-Server (RFC 5997) with a Message-Authenticator: a server that knows us and
  shares our secret answers Access-Accept; with another secret FreeRADIUS drops it
  silently ("invalid Message-Authenticator! (Shared secret is incorrect.)");
* Access-Request without a Message-Authenticator, as pppd's radius.so sends them: any
  server that knows our address answers (Access-Reject for an unknown user), signing
  the reply with *its* secret. A reply whose Response Authenticator does not check out
  with ours is how a shared-secret mismatch shows itself.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

ACCESS_REQUEST = 1
ACCESS_ACCEPT = 2
ACCESS_REJECT = 3
ACCOUNTING_REQUEST = 4
ACCOUNTING_RESPONSE = 5
STATUS_SERVER = 12
CODE_NAMES = {ACCESS_REQUEST: "Access-Request", ACCESS_ACCEPT: "Access-Accept", ACCESS_REJECT: "Access-Reject",
              ACCOUNTING_REQUEST: "Accounting-Request", ACCOUNTING_RESPONSE: "Accounting-Response",
              STATUS_SERVER: "Status-Server", 11: "Access-Challenge"}

USER_NAME = 1
USER_PASSWORD = 2
NAS_PORT = 5
SERVICE_TYPE = 6
FRAMED_PROTOCOL = 7
FRAMED_IP_ADDRESS = 8
REPLY_MESSAGE = 18
NAS_IDENTIFIER = 32
MESSAGE_AUTHENTICATOR = 80

HEADER = struct.Struct("!BBH16s")
MAX_LENGTH = 4096

Attribute = tuple[int, bytes]


def _attrs(attributes: Iterable[Attribute]) -> bytes:
    out = bytearray()
    for kind, value in attributes:
        if not 0 < len(value) <= 253:
            raise ValueError(f"RADIUS attribute {kind}: value of {len(value)} bytes")
        out += bytes((kind, len(value) + 2)) + value
    return bytes(out)


def hide_password(password: bytes, secret: bytes, authenticator: bytes) -> bytes:
    """User-Password as RFC 2865 5.2 hides it: padded to 16, XORed with MD5 chains."""
    padded = password + b"\0" * (-len(password) % 16 or (16 if not password else 0))
    out = bytearray()
    last = authenticator
    for i in range(0, len(padded), 16):
        key = hashlib.md5(secret + last).digest()
        block = bytes(a ^ b for a, b in zip(padded[i:i + 16], key))
        out += block
        last = block
    return bytes(out)


def request(code: int, ident: int, authenticator: bytes, attributes: Sequence[Attribute], secret: bytes, *,
            message_authenticator: bool = False) -> bytes:
    """An Access-Request or Status-Server packet (``authenticator``: 16 random bytes).

    User-Password values in ``attributes`` are given in clear and hidden here. With
    ``message_authenticator`` an HMAC-MD5 of the whole packet, keyed with the secret, is added.
    """
    if len(authenticator) != 16:
        raise ValueError("the Request Authenticator is 16 bytes")
    attrs = [(k, hide_password(v, secret, authenticator) if k == USER_PASSWORD else v) for k, v in attributes]
    if message_authenticator:
        attrs.append((MESSAGE_AUTHENTICATOR, b"\0" * 16))
    body = _attrs(attrs)
    packet = HEADER.pack(code, ident, HEADER.size + len(body), authenticator) + body
    if message_authenticator:
        mac = hmac.new(secret, packet, hashlib.md5).digest()
        packet = packet[:-16] + mac
    return packet


def accounting_request(ident: int, attributes: Sequence[Attribute], secret: bytes) -> bytes:
    """An Accounting-Request: its authenticator is MD5 over the packet with 16 zeros, and the secret."""
    body = _attrs(attributes)
    length = HEADER.size + len(body)
    zeros = HEADER.pack(ACCOUNTING_REQUEST, ident, length, b"\0" * 16) + body
    auth = hashlib.md5(zeros + secret).digest()
    return HEADER.pack(ACCOUNTING_REQUEST, ident, length, auth) + body


@dataclass(frozen=True)
class Reply:
    code: int
    ident: int
    attributes: tuple[Attribute, ...]
    authentic: bool
    """The Response Authenticator checks out with our secret (a mismatch: another secret)."""

    @property
    def name(self) -> str:
        return CODE_NAMES.get(self.code, f"code {self.code}")

    def first(self, kind: int) -> bytes | None:
        return next((v for k, v in self.attributes if k == kind), None)


class MalformedPacket(ValueError):
    pass


def parse_reply(data: bytes, request_authenticator: bytes, secret: bytes) -> Reply:
    """Decode a reply and check its Response Authenticator (RFC 2865 section 3) against ``secret``."""
    if len(data) < HEADER.size:
        raise MalformedPacket("shorter than a RADIUS header")
    code, ident, length, auth = HEADER.unpack_from(data)
    if not HEADER.size <= length <= min(len(data), MAX_LENGTH):
        raise MalformedPacket(f"bad length {length}")
    attrs: list[Attribute] = []
    i = HEADER.size
    while i < length:
        if i + 2 > length or data[i + 1] < 2 or i + data[i + 1] > length:
            raise MalformedPacket("bad attribute length")
        attrs.append((data[i], data[i + 2:i + data[i + 1]]))
        i += data[i + 1]
    expected = hashlib.md5(data[:4] + request_authenticator + data[HEADER.size:length] + secret).digest()
    return Reply(code, ident, tuple(attrs), hmac.compare_digest(expected, auth))
