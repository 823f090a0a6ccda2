"""Asking a RADIUS server whether it answers, and whether our shared secret is its secret.

Sends UDP packets from :mod:`dialup_admin.radius.packet` and reads the reply; changes
nothing (FreeRADIUS logs a refused login for the Access-Request probe's user,
``dialup-admin-probe``). Used by ``doctor`` and, as ``python -m
dialup_admin.system.radius_probe CONFIG``, by the ``--radius-fallback local`` wrapper:
exit status 0 when a RADIUS server answers, 1 when none does, 2 when the
configuration cannot be read.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from dataclasses import dataclass

from dialup_admin.radius import nas as nasfmt
from dialup_admin.radius import packet

PROBE_USER = b"dialup-admin-probe"

# Results of a probe.
ANSWERS = "answers"  # a reply signed with our secret
BAD_SECRET = "bad-secret"  # a reply signed with another secret
SILENT = "silent"  # no reply within the time
UNRESOLVED = "unresolved"  # the host name does not resolve


@dataclass(frozen=True)
class ProbeResult:
    host: str
    port: int
    status: str
    detail: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == ANSWERS


def resolve(host: str) -> str | None:
    """The IPv4 address ``host`` resolves to (as pppd's radiusclient resolves it), or None."""
    try:
        infos = socket.getaddrinfo(host, None, socket.AF_INET, socket.SOCK_DGRAM)
    except (socket.gaierror, UnicodeError, OSError):
        return None
    return str(infos[0][4][0]) if infos else None


def _exchange(address: str, port: int, data: bytes, timeout: float, tries: int) -> bytes | None:
    """Send ``data`` up to ``tries`` times; the first datagram back from that server, or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect((address, port))  # only the server's replies reach this socket
        except OSError:
            return None  # no route there: as good as silent
        for _ in range(tries):
            try:
                s.send(data)
            except OSError:
                return None  # unreachable (ICMP): as good as silent
            deadline = time.monotonic() + timeout
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                s.settimeout(left)
                try:
                    reply = s.recv(packet.MAX_LENGTH)
                except TimeoutError:
                    break
                except OSError:
                    return None  # ICMP port unreachable: nothing listens there
                if len(reply) >= 2 and reply[1] == data[1]:
                    return reply
    return None


def _ask(address: str, port: int, secret: bytes, code: int, timeout: float, tries: int) -> tuple[str, str]:
    ident = os.urandom(1)[0]
    auth = os.urandom(16)
    if code == packet.STATUS_SERVER:
        data = packet.request(code, ident, auth, [(packet.NAS_IDENTIFIER, b"dialup-admin")], secret,
                              message_authenticator=True)
    else:
        data = packet.request(code, ident, auth, [(packet.USER_NAME, PROBE_USER),
                                                  (packet.USER_PASSWORD, os.urandom(8).hex().encode()),
                                                  (packet.NAS_IDENTIFIER, b"dialup-admin")], secret)
    reply = _exchange(address, port, data, timeout, tries)
    if reply is None:
        return SILENT, ""
    try:
        parsed = packet.parse_reply(reply, auth, secret)
    except packet.MalformedPacket as exc:
        return BAD_SECRET, f"malformed reply ({exc})"
    if not parsed.authentic:
        return BAD_SECRET, f"{parsed.name} signed with another shared secret"
    return ANSWERS, parsed.name


def probe(host: str, port: int, secret: str, *, timeout: float = 2.0, tries: int = 1,
          status_only: bool = False) -> ProbeResult:
    """Whether the RADIUS server at ``host:port`` answers us, and with our secret.

    First a Status-Server; when that gets no answer (the server drops it when the
    secret differs, or does not do Status-Server) an Access-Request for a user that
    does not exist, which a server answers even with another secret, signed with its own.
    """
    start = time.monotonic()
    address = resolve(host)
    if address is None:
        return ProbeResult(host, port, UNRESOLVED, "the name does not resolve")
    key = secret.encode()
    status, detail = _ask(address, port, key, packet.STATUS_SERVER, timeout, tries)
    if status == SILENT and not status_only:
        status, detail = _ask(address, port, key, packet.ACCESS_REQUEST, timeout, tries)
    return ProbeResult(host, port, status, detail, time.monotonic() - start)


def probe_config(config_path: str, servers_path: str, *, timeout: float = 2.0,
                 status_only: bool = False, first_only: bool = False) -> list[ProbeResult]:
    """Probe every authserver of a radiusclient.conf (real paths), in order."""
    with open(config_path, "rb") as fh:
        conf = nasfmt.parse_config(fh.read())
    with open(servers_path, "rb") as fh:
        secrets = nasfmt.parse_servers(fh.read())
    out: list[ProbeResult] = []
    for host, port in nasfmt.parse_server_list(conf.get("authserver", ""), 1812):
        secret = secrets.get(host)
        if secret is None:
            out.append(ProbeResult(host, port, BAD_SECRET, f"no secret for {host} in {servers_path}"))
            continue
        result = probe(host, port, secret, timeout=timeout, status_only=status_only)
        out.append(result)
        if first_only and result.status in (ANSWERS, BAD_SECRET):
            break
    return out


def main(argv: list[str]) -> int:
    """``python -m dialup_admin.system.radius_probe [--root DIR] [CONFIG]``: exit 0 when a RADIUS
    server answers, 1 when none does, 2 when the configuration cannot be read."""
    import argparse
    from pathlib import Path

    from dialup_admin.paths import Paths

    parser = argparse.ArgumentParser(prog="dialup_admin.system.radius_probe")
    parser.add_argument("--root", default="/")
    parser.add_argument("config", nargs="?", default=nasfmt.CONFIG)
    args = parser.parse_args(argv)
    paths = Paths(Path(args.root))
    try:
        config = str(paths.of(args.config))
        with open(config, "rb") as fh:
            servers = str(paths.of(nasfmt.parse_config(fh.read()).get("servers", nasfmt.SERVERS)))
        results = probe_config(config, servers, status_only=True, first_only=True)
    except (OSError, ValueError) as exc:
        print(f"radius-probe: {exc}", file=sys.stderr)
        return 2
    return 0 if any(r.status in (ANSWERS, BAD_SECRET) for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
