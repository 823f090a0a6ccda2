"""``sessions --radius``: the pool's calls, from FreeRADIUS's accounting detail files. Reading only.

Run on the RADIUS server: every dial-in server's pppd (radius.so) reports its calls there,
so one list shows who called, through which server and line, when, for how long, with
which address and how many bytes. A call with a Start and no Stop is in progress (or
its server died before it could say otherwise: FreeRADIUS cannot tell).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from dialup_admin.errors import UserError
from dialup_admin.paths import Paths
from dialup_admin.radius import detail
from dialup_admin.system import freeradius as fr


def detail_files(paths: Paths) -> list[Path]:
    """Every accounting detail file below radacct (one folder per NAS address), oldest first."""
    base = paths.of(fr.RADACCT_DIR)
    try:
        folders = sorted(p for p in base.iterdir() if p.is_dir())
    except FileNotFoundError:
        return []
    except PermissionError:
        raise UserError(f"cannot read {fr.RADACCT_DIR} (FreeRADIUS keeps it to itself): run as root") from None
    files: list[Path] = []
    for folder in folders:
        try:
            files += [p for p in folder.iterdir() if p.name.startswith("detail") and p.is_file()]
        except PermissionError:
            raise UserError(f"cannot read {paths.system(folder)}: run as root") from None
    return sorted(files, key=lambda p: (p.stat().st_mtime, p.name))


def read_calls(paths: Paths, now: int) -> list[detail.Call]:
    """The pool's calls; a call in progress gets its duration so far."""
    if not fr.installed(paths):
        raise UserError("no FreeRADIUS here: sessions --radius runs on the pool's RADIUS server "
                        "(dialup-admin radius-server)")
    records: list[detail.Record] = []
    for f in detail_files(paths):
        try:
            records += detail.parse(f.read_text(errors="replace"))
        except PermissionError:
            raise UserError(f"cannot read {paths.system(f)}: run as root") from None
    out = []
    for call in detail.calls(records):
        if call.state == "active" and call.start is not None:
            call = replace(call, duration=max(0, now - call.start))
        out.append(call)
    return out
