"""The tool's record of what it set up (``/etc/dialup-admin/server.json``).

Later commands (adduser, users, doctor, rollback) read it to know the pool, the
lines and the mgetty layout without asking again.
"""

from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path
from typing import Any

from dialup_admin.errors import BadInput, UserError
from dialup_admin.model import DirectSettings, Line, MgettySettings, Server, tty_name
from dialup_admin.paths import Paths
from dialup_admin.system import reading

# setup-server reads the old file too (to keep the lines' addresses), so it cannot be the fix itself.
MOVE_ASIDE = "move it aside (mv {where} {where}.bad) and rerun dialup-admin setup-server"


class DamagedState(UserError):
    """server.json holds something the tool did not write; ``problem`` and ``fix`` for doctor."""

    def __init__(self, where: str, problem: str) -> None:
        self.problem = f"{where} {problem}"
        self.fix = MOVE_ASIDE.format(where=where)
        super().__init__(f"{self.problem}: {self.fix}")


class BadRecord(Exception):
    """A record file holds junk; ``problem`` says what, after the file's name."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def read_record(path: Path) -> dict[str, Any] | None:
    """The JSON object the tool recorded at ``path`` (server.json, client.json, radius.json);
    None when there is none. Junk (binary, not JSON, JSON that is not an object) raises
    :class:`BadRecord`: the tool wrote the file, so someone else damaged it, and the caller
    names the file and the fix.
    """
    try:
        raw = reading.read_bytes(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        raise BadRecord("is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadRecord("is damaged (not a JSON object)")
    return data


def server_to_json(server: Server, extra: dict[str, Any]) -> str:
    data: dict[str, Any] = {
        "pool": str(server.pool),
        "dns": [str(d) for d in server.dns],
        "lines": [{"tty": ln.tty, "local": str(ln.local), "remote": str(ln.remote), **({"direct": True} if ln.direct else {})}
                  for ln in server.lines],
        "mgetty": server.mgetty.__dict__,
    }
    if server.direct_lines:
        data["direct"] = dict(server.direct.__dict__)
    data.update(extra)
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def load_server_json(paths: Paths) -> dict[str, Any] | None:
    """The recorded server state, or None when setup-server has not run.

    Junk in the file (binary, not JSON, JSON that is not an object) is refused in one
    line naming the file: the tool wrote it, so someone else damaged it.
    """
    where = paths.system(paths.server_state)
    try:
        data = read_record(paths.server_state)
    except BadRecord as exc:
        raise DamagedState(where, exc.problem) from None
    if data is None:
        return None
    try:
        check_shape(data)
    except (ValueError, BadInput) as exc:
        raise DamagedState(where, f"is damaged ({exc})") from None
    return data


_IFACE_RE = re.compile(r"[A-Za-z0-9_.:@-]{1,15}\Z")


def _system_path(data: dict[str, Any], key: str) -> None:
    value = data.get(key)
    if value is None:
        return
    if (not isinstance(value, str) or not value.startswith("/") or ".." in value.split("/")
            or any(ord(c) < 0x21 or ord(c) == 0x7F for c in value)):
        raise ValueError(f"{key} {value!r} is not a plain absolute path")


def check_shape(data: dict[str, Any]) -> None:
    """Raise ValueError unless ``data`` has the shape setup-server writes (every field it reads).

    Everything read from server.json ends up in file names (``options.TTY``), config
    files or programs run: a line's tty must be a plain name, paths absolute without
    ``..`` or blanks, addresses addresses.
    """
    lines = data.get("lines", [])
    if not isinstance(lines, list):
        raise ValueError("lines is not a list")
    for d in lines:
        if not isinstance(d, dict):
            raise ValueError("a line is not an object")
        tty = d.get("tty")
        if not isinstance(tty, str) or tty_name(tty) != tty:
            raise ValueError(f"bad tty {tty!r}")
        for key in ("local", "remote"):
            if not isinstance(d.get(key), str):
                raise ValueError(f"{tty}: {key} address missing")
            ipaddress.IPv4Address(d[key])
        if not isinstance(d.get("direct", False), bool):
            raise ValueError(f"{tty}: direct is not true or false")
    if "pool" in data:
        if not isinstance(data["pool"], str):
            raise ValueError("pool is not text")
        ipaddress.IPv4Network(data["pool"])
    dns = data.get("dns", [])
    if not isinstance(dns, list) or not all(isinstance(x, str) for x in dns):
        raise ValueError("dns is not a list of addresses")
    for x in dns:
        ipaddress.IPv4Address(x)
    for key in ("mgetty", "direct", "radius"):
        if not isinstance(data.get(key, {}), dict):
            raise ValueError(f"{key} is not an object")
    for key in ("mgetty_binary", "mgetty_config_dir", "pppd", "answer_pppd"):
        _system_path(data, key)
    if not isinstance(data.get("answer_command", ""), str) or "\n" in data.get("answer_command", ""):
        raise ValueError("answer_command is not one line of text")
    if data.get("init") not in (None, "inittab", "systemd", "none"):
        raise ValueError(f"unknown init {data.get('init')!r}")
    share = data.get("share_internet")
    if share is not None and (not isinstance(share, str) or not _IFACE_RE.match(share) or share in (".", "..")):
        raise ValueError(f"share_internet {share!r} is not an interface name")
    if not isinstance(data.get("proxyarp", False), bool):
        raise ValueError("proxyarp is not true or false")


def load_server(paths: Paths) -> Server | None:
    data = load_server_json(paths)
    if data is None:
        return None
    try:
        lines = tuple(
            Line(d["tty"], ipaddress.IPv4Address(d["local"]), ipaddress.IPv4Address(d["remote"]),
                 direct=bool(d.get("direct", False)))
            for d in data["lines"]
        )
        return Server(
            lines=lines,
            pool=ipaddress.IPv4Network(data["pool"]),
            dns=tuple(ipaddress.IPv4Address(d) for d in data.get("dns", [])),
            mgetty=MgettySettings(**data.get("mgetty", {})),
            direct=DirectSettings(**data.get("direct", {})),
        )
    except (KeyError, TypeError, ValueError, AttributeError, BadInput) as exc:
        raise DamagedState(paths.system(paths.server_state), f"is damaged ({exc})") from None


def require_server(paths: Paths) -> Server:
    server = load_server(paths)
    if server is None:
        raise UserError("no server is set up here yet: run dialup-admin setup-server --tty ttyS1 first")
    return server
