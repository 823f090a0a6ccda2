"""What the RADIUS commands accept: servers, shared secrets, NAS names, NAS-Port numbers. Pure.

The limits are pppd 2.4.9's radiusclient library (pppd/plugins/radius), which every
dial-in server uses to talk to RADIUS:

* ``authserver``/``acctserver`` take at most 8 servers (SERVER_MAX), each ``host[:port]``,
  resolved with gethostbyname: IPv4 only;
* the ``servers`` file pairs a host with its secret, split on blanks (strtok " \\t\\n"):
  a secret cannot hold a space, a tab or a newline; it is cut at 48 bytes
  (MAX_SECRET_LENGTH) and the line at 127;
* radiusclient.conf values run to the end of the line (a newline would end them early).

FreeRADIUS reads the same secret in clients.conf (quoted there, see :mod:`.users`).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass

from dialup_admin.errors import BadInput

AUTH_PORT = 1812
MAX_SERVERS = 8  # radiusclient.h SERVER_MAX
MAX_SECRET = 48  # radiusclient.h MAX_SECRET_LENGTH
MAX_HOST = 63  # the servers file's host field (AUTH_ID_LEN - 1)
SERVERS_LINE = 127  # rc_find_server reads the servers file in 128-byte lines
MIN_SECRET = 8
UNSAFE = "\"'\\$#`{}"  # clients.conf would read these as quotes, escapes, ${variables} or comments

_HOST_RE = re.compile(r"^(?=.{1,63}$)[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


@dataclass(frozen=True)
class RadiusServer:
    """A RADIUS server as the dial-in servers name it: host (name or IPv4) and auth port.

    Accounting goes to the next port (1813 for 1812), as FreeRADIUS listens by default.
    """

    host: str
    port: int = AUTH_PORT

    @property
    def acct_port(self) -> int:
        return self.port + 1

    def __str__(self) -> str:
        return self.host if self.port == AUTH_PORT else f"{self.host}:{self.port}"


def port_number(value: str, what: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 65534:
        raise BadInput(f"bad {what} {value!r}: a UDP port from 1 to 65534 (accounting uses the next one)")
    return int(value)


def host_name(value: str, what: str = "host") -> str:
    """A host name or IPv4 address radiusclient can look up (gethostbyname: no IPv6)."""
    if ":" in value or value.startswith("["):
        raise BadInput(f"bad {what} {value!r}: pppd's RADIUS client speaks IPv4 only; give a name or an IPv4 address")
    try:
        ipaddress.IPv4Address(value)
        return value
    except ValueError:
        pass
    if not _HOST_RE.match(value) or value.replace(".", "").isdigit():
        raise BadInput(f"bad {what} {value!r}: a host name (letters, digits, '-', '.') or an IPv4 address")
    return value


def parse_server(spec: str) -> RadiusServer:
    """``HOST`` or ``HOST:PORT`` as given to ``--radius``."""
    host, sep, port = spec.partition(":")
    if sep and ":" in port:
        raise BadInput(f"bad --radius {spec!r}: pppd's RADIUS client speaks IPv4 only; give HOST or HOST:PORT")
    return RadiusServer(host_name(host, "--radius host"), port_number(port, "--radius port") if sep else AUTH_PORT)


def check_servers(servers: Sequence[RadiusServer]) -> tuple[RadiusServer, ...]:
    if len(servers) > MAX_SERVERS:
        raise BadInput(f"at most {MAX_SERVERS} --radius servers (pppd's RADIUS client tries that many)")
    seen: set[tuple[str, int]] = set()
    for s in servers:
        if (s.host, s.port) in seen:
            raise BadInput(f"--radius {s} is given twice")
        seen.add((s.host, s.port))
    return tuple(servers)


def secret_from_bytes(data: bytes, source: str) -> str:
    """The shared secret held in a file: one line; a single final newline is allowed.

    Refused: a newline inside, a NUL, blanks or other control characters (the servers
    file splits on blanks), non-ASCII, quotes, backslash, ``$``, ``#``, braces (FreeRADIUS's
    clients.conf would read them as syntax), more than 48 bytes (radiusclient cuts
    there), fewer than 8. The same secret thus reads the same on both sides.
    """
    body = data[:-1] if data.endswith(b"\n") else data
    if b"\0" in body:
        raise BadInput(f"{source}: the secret holds a NUL byte; write the secret alone on one line")
    if b"\n" in body or b"\r" in body:
        raise BadInput(f"{source}: the secret holds a line break; write the secret alone on one line")
    if not body:
        raise BadInput(f"{source}: the file is empty; write the shared secret on its one line")
    if any(not 0x21 <= b <= 0x7E for b in body):
        raise BadInput(f"{source}: the secret holds blanks, control or non-ASCII characters "
                       "(pppd's RADIUS client splits its servers file on blanks); use printable ASCII")
    odd = sorted({chr(b) for b in body if chr(b) in UNSAFE})
    if odd:
        raise BadInput(f"{source}: the secret holds {' '.join(odd)}, which FreeRADIUS's configuration would read "
                       "as quoting, variables or a comment; use letters, digits and -_.,:;=+*/@%!?^~()[]<>&|")
    if len(body) > MAX_SECRET:
        raise BadInput(f"{source}: the secret is {len(body)} bytes; pppd's RADIUS client keeps only {MAX_SECRET}")
    if len(body) < MIN_SECRET:
        raise BadInput(f"{source}: the secret is shorter than {MIN_SECRET} characters; RADIUS hides passwords with it")
    return body.decode("ascii")


def nas_identifier(value: str) -> str:
    """The NAS-Identifier this dial-in server sends: its host name, one safe word."""
    if not _NAME_RE.match(value):
        raise BadInput(f"bad NAS name {value!r}: letters, digits, '.', '_' and '-' (this server's host name)")
    return value


def client_name(value: str) -> str:
    """A FreeRADIUS client's short name (clients.conf section name, the shortname)."""
    if not _NAME_RE.match(value):
        raise BadInput(f"bad client name {value!r}: letters, digits, '.', '_' and '-', such as nas1")
    return value


def port_ids(ttys: Sequence[str]) -> dict[str, int]:
    """NAS-Port for each line (radiusclient's port-id-map): the number in the tty's name.

    ttyS1 is port 1, ttyUSB0 port 0, as an admin reading FreeRADIUS's logs expects;
    when two lines share a number (ttyS1 and ttyUSB1), the lines are numbered 1, 2...
    in the order given instead.
    """
    nums: dict[str, int] = {}
    for tty in ttys:
        m = re.search(r"(\d+)$", tty)
        nums[tty] = int(m.group(1)) if m else -1
    values = list(nums.values())
    if -1 in values or len(set(values)) != len(values):
        return {tty: i + 1 for i, tty in enumerate(ttys)}
    return nums
