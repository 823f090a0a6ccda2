"""The parts of FreeRADIUS's configuration dialup-admin manages, as text. Pure.

**Users** live in a managed block at the *top* of the users file
(``mods-config/files/authorize``; ``/etc/freeradius/3.0/users`` links to it). Why the
users file and not rlm_sql on SQLite: it is FreeRADIUS's own default store, needs no
extra module or schema, and is a plain file, so every change goes through the tool's
plan (``--dry-run``, ``--diff`` with hashes hidden, atomic write, journal, ``rollback``)
like every other file it writes; FreeRADIUS re-reads it on SIGHUP without dropping a
request. A pool has tens to hundreds of users: the users file is read into memory and
matched in microseconds (bench/radius.py measures it).

The block sits above Debian's stock ``DEFAULT Framed-Protocol == PPP`` entry, which has
no Fall-Through and would otherwise end the search before our users. Each user entry::

    dreamcast	Crypt-Password := "$6$...", Simultaneous-Use := 1
    	Framed-IP-Address = 192.168.32.12,
    	Fall-Through = Yes

(only the SHA-512 crypt hash of the password, never the password; Simultaneous-Use
with ``--max-sessions``, Framed-IP-Address with ``--ip``), then the PPP defaults every
caller gets (Service-Type Framed-User, Framed-Protocol PPP, Van Jacobson compression),
with Fall-Through so the admin's own entries below still apply.

**Clients** (the dial-in servers) live in a managed block at the end of clients.conf.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

from dialup_admin.errors import BadInput, UserError

USERS_BLOCK = "users"
CLIENTS_BLOCK = "clients"

_USER_RE = re.compile(r'^(?P<name>[a-z_][a-z0-9_.-]*)\tCrypt-Password := "(?P<hash>\$6\$[^"\s]+)"'
                      r'(?:, Simultaneous-Use := (?P<max>\d+))?$')
_IP_RE = re.compile(r"^\tFramed-IP-Address = (?P<ip>[0-9.]+),$")
_CLIENT_RE = re.compile(r"^client (?P<name>\S+) \{$")
_FIELD_RE = re.compile(r'^\t(?P<key>[a-z_]+) = (?P<value>"[^"]*"|\S+)$')


@dataclass(frozen=True)
class RadiusUser:
    name: str
    hash: str  # "$6$..." (SHA-512 crypt)
    ip: ipaddress.IPv4Address | None = None
    max_sessions: int | None = None

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "ip": str(self.ip) if self.ip else None, "max_sessions": self.max_sessions}


@dataclass(frozen=True)
class RadiusClient:
    """A dial-in server FreeRADIUS accepts requests from: its name, address (or network), secret."""

    name: str
    address: str  # IPv4 address or network, as clients.conf's ipaddr takes it
    secret: str

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "address": self.address}


def render_users(users: Iterable[RadiusUser]) -> bytes:
    """The users block body: our users (sorted), then the PPP defaults."""
    out = ["# Dial-in users (dialup-admin adduser --radius): only SHA-512 crypt hashes of passwords.\n"]
    for u in sorted(users, key=lambda u: u.name):
        check = f'Crypt-Password := "{u.hash}"'
        if u.max_sessions is not None:
            check += f", Simultaneous-Use := {u.max_sessions}"
        out.append(f"{u.name}\t{check}\n")
        if u.ip is not None:
            out.append(f"\tFramed-IP-Address = {u.ip},\n")
        out.append("\tFall-Through = Yes\n\n")
    out.append("# PPP defaults for every dial-in caller (pppd's radius.so sends Framed-Protocol = PPP).\n"
               "DEFAULT\tFramed-Protocol == PPP\n"
               "\tService-Type = Framed-User,\n"
               "\tFramed-Protocol = PPP,\n"
               "\tFramed-Compression = Van-Jacobson-TCP-IP,\n"
               "\tFall-Through = Yes\n")
    return "".join(out).encode()


def parse_users(body: bytes, where: str) -> list[RadiusUser]:
    """Read back a users block this module rendered."""
    users: list[RadiusUser] = []
    current: dict[str, object] | None = None
    for n, line in enumerate(body.decode("utf-8", errors="replace").splitlines(), 1):
        m = _USER_RE.match(line)
        if m:
            current = {"name": m["name"], "hash": m["hash"], "max": int(m["max"]) if m["max"] else None, "ip": None}
            continue
        ip = _IP_RE.match(line)
        if ip and current is not None:
            try:
                current["ip"] = ipaddress.IPv4Address(ip["ip"])
            except ValueError:
                raise UserError(f"{where}: dialup-admin block line {n}: bad address {ip['ip']}") from None
            continue
        if line == "\tFall-Through = Yes" and current is not None:
            users.append(RadiusUser(str(current["name"]), str(current["hash"]),
                                    current["ip"] if isinstance(current["ip"], ipaddress.IPv4Address) else None,
                                    current["max"] if isinstance(current["max"], int) else None))
            current = None
    return users


def client_address(value: str) -> str:
    """An IPv4 address or network for clients.conf's ipaddr."""
    try:
        net = ipaddress.IPv4Network(value, strict=False)
    except ValueError:
        raise BadInput(f"bad client address {value!r}: an IPv4 address (or network) of the dial-in server") from None
    if net.prefixlen == 32:
        addr = net.network_address
        if addr.is_unspecified or addr.is_multicast or str(addr) == "255.255.255.255":
            raise BadInput(f"bad client address {value}: not a host")
        return str(addr)
    if net.prefixlen < 8:
        raise BadInput(f"client network {value} is too wide: name the dial-in servers' network, such as 10.0.0.0/24")
    return str(net)


def render_clients(clients: Iterable[RadiusClient]) -> bytes:
    out = ["# The dial-in servers of the pool (dialup-admin radius-server --client NAME=ADDR).\n"]
    for c in sorted(clients, key=lambda c: c.name):
        out.append(f"client {c.name} {{\n"
                   f"\tipaddr = {c.address}\n"
                   f'\tsecret = "{c.secret}"\n'
                   f"\tshortname = {c.name}\n"
                   # "other": FreeRADIUS trusts accounting for Simultaneous-Use, no checkrad/SNMP.
                   f"\tnas_type = other\n"
                   f"}}\n")
    return "".join(out).encode()


def parse_clients(body: bytes) -> list[RadiusClient]:
    clients: list[RadiusClient] = []
    name: str | None = None
    fields: dict[str, str] = {}
    for line in body.decode("utf-8", errors="replace").splitlines():
        m = _CLIENT_RE.match(line)
        if m:
            name, fields = m["name"], {}
            continue
        f = _FIELD_RE.match(line)
        if f and name is not None:
            fields[f["key"]] = f["value"].strip('"')
            continue
        if line == "}" and name is not None:
            clients.append(RadiusClient(name, fields.get("ipaddr", ""), fields.get("secret", "")))
            name = None
    return clients


def other_clients(text: bytes) -> dict[str, str]:
    """Address -> name of the clients defined outside our block (uncommented ``client`` sections)."""
    out: dict[str, str] = {}
    name: str | None = None
    depth = 0
    for raw in text.decode("utf-8", errors="replace").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.match(r"^client\s+(\S+)\s*\{$", line)
        if m and depth == 0:
            name, depth = m.group(1), 1
            continue
        depth += line.count("{") - line.count("}")
        a = re.match(r"^ipaddr\s*=\s*(\S+)$", line)
        if a and name is not None and depth == 1:
            try:
                out[str(ipaddress.IPv4Network(a.group(1).strip('"'), strict=False)).removesuffix("/32")] = name
            except ValueError:
                pass
        if depth <= 0:
            name, depth = None, 0
    return out


def redact_clients_line(line: str) -> str:
    """``--diff`` of clients.conf without the shared secrets."""
    return re.sub(r'^(\s*secret\s*=\s*).*$', r"\1********", line.rstrip("\n")) + ("\n" if line.endswith("\n") else "")


def redact_users_line(line: str) -> str:
    """``--diff`` of the users file without the password hashes."""
    return re.sub(r'((?:Crypt|SSHA2-512|Cleartext)-Password\s*:?=\s*)"[^"]*"', r'\1"********"', line)
