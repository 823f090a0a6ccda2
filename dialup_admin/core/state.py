"""The tool's record of what it set up (``/etc/dialup-admin/server.json``).

Later commands (adduser, users, doctor, rollback) read it to know the pool, the
lines and the mgetty layout without asking again.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from dialup_admin.errors import BadInput, UserError
from dialup_admin.model import DirectSettings, Line, MgettySettings, Server
from dialup_admin.paths import Paths


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
    """The recorded server state, or None when setup-server has not run."""
    try:
        raw = paths.server_state.read_text()
    except FileNotFoundError:
        return None
    try:
        data: dict[str, Any] = json.loads(raw)
    except ValueError:
        raise UserError(f"{paths.system(paths.server_state)} is not valid JSON; rerun setup-server") from None
    return data


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
    except (KeyError, TypeError, ValueError, BadInput) as exc:
        raise UserError(f"{paths.system(paths.server_state)} is damaged ({exc}); rerun setup-server") from None


def require_server(paths: Paths) -> Server:
    server = load_server(paths)
    if server is None:
        raise UserError("no server is set up here yet: run dialup-admin setup-server --tty ttyS1 first")
    return server
