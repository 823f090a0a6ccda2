"""/etc/inittab: the admin's own entries, read to avoid clashing with them. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from dialup_admin.errors import UserError
from dialup_admin.model import Line


@dataclass(frozen=True)
class Entry:
    lineno: int
    id: str
    runlevels: str
    action: str
    process: str


def entries(data: bytes) -> list[Entry]:
    """The active entries (``id:runlevels:action:process``); comments and junk skipped."""
    out = []
    for n, raw in enumerate(data.splitlines(), 1):
        text = raw.decode("utf-8", errors="replace").strip()
        if not text or text.startswith("#"):
            continue
        parts = text.split(":", 3)
        if len(parts) == 4:
            out.append(Entry(n, *parts))
    return out


def check_conflicts(outside: bytes, lines: Iterable[Line], filename: str) -> None:
    """Refuse lines whose inittab id, or whose tty, an admin entry already uses."""
    admin = entries(outside)
    for ln in lines:
        for e in admin:
            if e.id == ln.inittab_id:
                raise UserError(
                    f"{filename} line {e.lineno} already uses the id {e.id!r}; "
                    f"rename that entry or leave {ln.tty} out"
                )
            words = e.process.split()
            if e.action in ("respawn", "once") and (ln.tty in words or f"/dev/{ln.tty}" in words):
                raise UserError(
                    f"{filename} line {e.lineno} already runs a program on {ln.tty} ({e.process.strip()}); "
                    "remove or comment out that entry first"
                )
