"""The pure RADIUS pieces: SHA-512 crypt, packets, the users and clients blocks, detail files."""

from __future__ import annotations

import hashlib
import ipaddress
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialup_admin.errors import BadInput
from dialup_admin.radius import crypt, detail, packet, users
from dialup_admin.radius.model import parse_server, secret_from_bytes


@pytest.mark.parametrize("password", ["Secret-pw1", "x", "a" * 100, "p@ss w0rd!~"])
def test_sha512_crypt_matches_openssl(password: str) -> None:
    salt = "abcdefgh12345678"
    want = subprocess.run(["openssl", "passwd", "-6", "-salt", salt, "-stdin"], input=password.encode(),
                          capture_output=True, check=True).stdout.decode().strip()
    assert crypt.sha512_crypt(password, salt) == want
    assert crypt.verify(password, want)
    assert not crypt.verify(password + "x", want)


def test_sha512_crypt_rounds_and_random_salt() -> None:
    want = subprocess.run(["openssl", "passwd", "-6", "-salt", "rounds=10000$saltsalt", "-stdin"],
                          input=b"pw", capture_output=True, check=True).stdout.decode().strip()
    assert crypt.sha512_crypt("pw", "saltsalt", rounds=10000) == want
    a, b = crypt.sha512_crypt("same"), crypt.sha512_crypt("same")
    assert a != b and a.startswith("$6$") and len(a.split("$")[2]) == 16
    with pytest.raises(ValueError):
        crypt.sha512_crypt("pw", "bad$salt")


@given(st.binary(min_size=0, max_size=128), st.binary(min_size=1, max_size=48), st.binary(min_size=16, max_size=16))
@settings(max_examples=50, deadline=None)
def test_hidden_password_reveals_with_the_secret(password: bytes, secret: bytes, auth: bytes) -> None:
    hidden = packet.hide_password(password, secret, auth)
    assert len(hidden) % 16 == 0 and len(hidden) >= max(16, len(password))
    # RFC 2865 5.2, the server's side: XOR back with the MD5 chain.
    out, last = b"", auth
    for i in range(0, len(hidden), 16):
        key = hashlib.md5(secret + last).digest()
        out += bytes(a ^ b for a, b in zip(hidden[i:i + 16], key))
        last = hidden[i:i + 16]
    assert out.rstrip(b"\0") == password.rstrip(b"\0")


def _reply(code: int, ident: int, req_auth: bytes, secret: bytes, attrs: bytes = b"") -> bytes:
    length = 20 + len(attrs)
    head = bytes([code, ident]) + length.to_bytes(2, "big")
    auth = hashlib.md5(head + req_auth + attrs + secret).digest()
    return head + auth + attrs


def test_reply_authenticator_tells_the_secret() -> None:
    req_auth = bytes(range(16))
    data = _reply(packet.ACCESS_ACCEPT, 7, req_auth, b"right-secret", bytes([18, 4]) + b"hi")
    good = packet.parse_reply(data, req_auth, b"right-secret")
    assert good.authentic and good.name == "Access-Accept" and good.first(packet.REPLY_MESSAGE) == b"hi"
    assert not packet.parse_reply(data, req_auth, b"other-secret").authentic
    with pytest.raises(packet.MalformedPacket):
        packet.parse_reply(data[:10], req_auth, b"x")
    with pytest.raises(packet.MalformedPacket):
        packet.parse_reply(data[:20] + bytes([18, 9]) + b"hi", req_auth, b"x")


def test_status_server_has_a_valid_message_authenticator() -> None:
    import hmac

    data = packet.request(packet.STATUS_SERVER, 1, b"A" * 16, [(packet.NAS_IDENTIFIER, b"nas1")], b"s3cret",
                          message_authenticator=True)
    mac = data[-16:]
    zeroed = data[:-16] + b"\0" * 16
    assert hmac.new(b"s3cret", zeroed, hashlib.md5).digest() == mac
    assert data[0] == packet.STATUS_SERVER and int.from_bytes(data[2:4], "big") == len(data)


def test_users_block_round_trip() -> None:
    us = [users.RadiusUser("bob", crypt.sha512_crypt("b")),
          users.RadiusUser("alice", crypt.sha512_crypt("a"), ipaddress.IPv4Address("192.168.32.12"), 1)]
    body = users.render_users(us)
    assert users.parse_users(body, "x") == sorted(us, key=lambda u: u.name)
    text = body.decode()
    assert text.index("alice") < text.index("bob") < text.index("DEFAULT\tFramed-Protocol == PPP")
    assert "Simultaneous-Use := 1" in text and "Framed-IP-Address = 192.168.32.12," in text
    assert users.redact_users_line('alice\tCrypt-Password := "$6$x$y"\n') == 'alice\tCrypt-Password := "********"\n'


def test_clients_block_round_trip_and_the_admins_clients() -> None:
    cs = [users.RadiusClient("nas1", "10.0.0.1", "Secret-1234"), users.RadiusClient("net", "10.1.0.0/24", "S-12345678")]
    assert users.parse_clients(users.render_clients(cs)) == cs
    stock = b"client localhost {\n\tipaddr = 127.0.0.1\n\tsecret = testing123\n\tlimit {\n\t\tmax = 1\n\t}\n}\n" \
            b"#client old {\n#\tipaddr = 10.9.9.9\n#}\nclient lan {\n  ipaddr = 192.168.1.0/24 # the LAN\n}\n"
    assert users.other_clients(stock) == {"127.0.0.1": "localhost", "192.168.1.0/24": "lan"}
    assert users.redact_clients_line('\tsecret = "x"\n') == "\tsecret = ********\n"


@pytest.mark.parametrize("spec,message", [("h:1:2", "IPv4 only"), ("::1", "IPv4 only"), ("-bad", "bad --radius host"),
                                          ("1.2.3", "bad --radius host"), ("h:70000", "bad --radius port")])
def test_bad_server_specs(spec: str, message: str) -> None:
    with pytest.raises(BadInput, match=message):
        parse_server(spec)


def test_secret_rules() -> None:
    assert secret_from_bytes(b"Good-Secret_1\n", "f") == "Good-Secret_1"
    for bad, message in ((b'with"quote', "quoting"), (b"dollar$sign", "quoting"), (b"hash#tag1", "quoting"),
                         (b"caf\xc3\xa9secret", "non-ASCII"), (b"\n\n", "line break")):
        with pytest.raises(BadInput, match=message):
            secret_from_bytes(bad, "f")


DETAIL = """Fri Dec  4 18:59:52 2026
\tUser-Name = "alice"
\tAcct-Status-Type = Start
\tAcct-Session-Id = "6570A1B2"
\tNAS-Port = 1
\tNAS-Identifier = "nas1"
\tNAS-Port-Id = "ttyS1"
\tFramed-IP-Address = 192.168.32.12
\tAcct-Unique-Session-Id = "u1"
\tTimestamp = 1000

Fri Dec  4 18:59:53 2026
\tUser-Name = "bob \\"the builder\\""
\tAcct-Status-Type = Start
\tAcct-Session-Id = "X1"
\tNAS-IP-Address = 10.0.0.2
\tNAS-Port = 3
\tTimestamp = 1010

Fri Dec  4 19:00:52 2026
\tUser-Name = "alice"
\tAcct-Status-Type = Stop
\tAcct-Session-Id = "6570A1B2"
\tNAS-Identifier = "nas1"
\tNAS-Port-Id = "ttyS1"
\tAcct-Session-Time = 60
\tAcct-Input-Octets = 5
\tAcct-Input-Gigawords = 1
\tAcct-Output-Octets = 2000
\tAcct-Terminate-Cause = User-Request
\tAcct-Unique-Session-Id = "u1"
\tTimestamp = 1060

Fri Dec  4 19:01:00 2026
\tUser-Name = "carol"
\tAcct-Status-Type = Stop
\tAcct-Session-Id = "C1"
\tNAS-Identifier = "nas2"
\tAcct-Session-Time = 30
\tTimestamp = 1100

Fri Dec  4 19:02:00 2026
\tUser-Name = "cut"
\tAcct-Status-Type = Start
"""


def test_detail_calls() -> None:
    calls = {c.user: c for c in detail.calls(detail.parse(DETAIL))}
    alice = calls["alice"]
    assert (alice.nas, alice.line, alice.address, alice.start, alice.end, alice.duration) == \
        ("nas1", "ttyS1", "192.168.32.12", 1000, 1060, 60)
    assert (alice.bytes_in, alice.bytes_out, alice.state, alice.cause) == ((1 << 32) + 5, 2000, "ended", "User-Request")
    bob = calls['bob "the builder"']
    assert (bob.nas, bob.line, bob.state, bob.end) == ("10.0.0.2", "3", "active", None)
    assert calls["carol"].start == 1070  # a Stop alone: started Session-Time before
    assert calls["cut"].state == "active"  # a record cut short still counts
    assert [c.user for c in detail.calls(detail.parse(DETAIL))][0] == "alice"
