"""Session records: pppd's ip-up/ip-down hooks append them, ``sessions`` reads them.

The hooks are small shell scripts (``templates/session-hook.j2``) installed in
``/etc/ppp/ip-up.d`` and ``/etc/ppp/ip-down.d``; each call appends one line to
:data:`RECORDS`. A record line is tab-separated::

    dialup-admin/1  up    START PID IFNAME TTY PEER LOCAL REMOTE
    dialup-admin/1  down  END   PID IFNAME TTY PEER LOCAL REMOTE CONNECT_TIME BYTES_SENT BYTES_RCVD

An ``up`` without its ``down`` is a call in progress when its pppd still runs (its
bytes then come from the kernel's interface counters), otherwise a call whose pppd
died before ip-down ran ("lost").
"""

from __future__ import annotations

import re
import stat
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from dialup_admin.core.plan import FileSpec, Plan
from dialup_admin.formats import managed
from dialup_admin.paths import Paths
from dialup_admin.render import render
from dialup_admin.system import reading

TAG = "dialup-admin/1"
RECORDS_DIR = "/var/log/dialup-admin"
RECORDS = f"{RECORDS_DIR}/sessions.log"
HOOK_NAME = "dialup-admin"  # run-parts only runs names made of [A-Za-z0-9_-]
HOOKS = {event: f"/etc/ppp/{event}.d/{HOOK_NAME}" for event in ("ip-up", "ip-down")}
WRAPPER_BLOCK = "sessions"
# Characters a hook keeps in a field; everything else (tabs, newlines...) becomes "_".
CHARSET = "A-Za-z0-9._@:+-"
WIDTH = 64


def hook_script(event: str, records: str = RECORDS) -> str:
    """The hook pppd runs for ``event`` (ip-up or ip-down); ``records`` is the file it appends to."""
    records_dir = records.rsplit("/", 1)[0] or "/"
    return render("session-hook.j2", event=event, records=records, records_dir=records_dir,
                  tag=TAG, charset=CHARSET, width=WIDTH)


def wrapper_block(event: str) -> bytes:
    """The lines that make an ip-up/ip-down without run-parts call our hook."""
    hook = HOOKS[event]
    return (
        f'# record the call for "dialup-admin sessions" (an append, nothing else)\n'
        f'if [ -x {hook} ]; then {hook} "$@"; fi\n'
    ).encode()


def runs_hook_dir(script: bytes, event: str) -> bool:
    """Whether an ip-up/ip-down script runs the scripts in its ``.d`` directory (Debian's do)."""
    return f"/etc/ppp/{event}.d".encode() in script and b"run-parts" in script


def plan_hooks(plan: Plan, force: bool = False) -> None:
    """Plan the session hooks: a script in ip-up.d/ip-down.d, and, where /etc/ppp/ip-up does
    not run that directory (not Debian), a managed block in it that calls the script.

    Changes on the machine: writes /etc/ppp/ip-{up,down}.d/dialup-admin (0755) and may
    create or extend /etc/ppp/ip-up and /etc/ppp/ip-down; the admin's lines stay.
    """
    for event, hook in HOOKS.items():
        plan.file(hook, FileSpec(hook_script(event), mode=0o755))
        wrapper = f"/etc/ppp/{event}"
        real = plan.paths.of(wrapper)
        old = reading.read_or_empty(real)
        if old and runs_hook_dir(managed.split(old, wrapper, name=WRAPPER_BLOCK, force=force).outside, event):
            continue
        mode = stat.S_IMODE(real.stat().st_mode) | 0o700 if old else 0o755  # the admin's mode, but runnable
        plan.block(wrapper, WRAPPER_BLOCK, wrapper_block(event), force=force, mode=mode, header=b"#!/bin/sh\n")


# --- reading ------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    event: str  # up | down
    time: int
    pid: int | None
    ifname: str
    tty: str
    peer: str
    local: str
    remote: str
    connect_time: int | None = None
    bytes_sent: int | None = None
    bytes_rcvd: int | None = None


@dataclass(frozen=True)
class Session:
    """One call. Bytes are counted at the server: ``bytes_in`` came from the caller."""

    user: str
    tty: str
    ifname: str
    local: str
    remote: str
    start: int | None
    end: int | None
    duration: int | None
    bytes_in: int | None
    bytes_out: int | None
    state: str  # ended | active | lost
    pid: int | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


# Beyond these a field is junk, not a figure: a time after 9999-12-31 cannot be shown as a
# date, a counter past 2**64 no kernel keeps, a pid past PID_MAX_LIMIT no kernel hands out.
MAX_TIME = 253402300799
MAX_COUNT = 2**64
MAX_PID = 2**22


def _int(text: str, limit: int = MAX_COUNT) -> int | None:
    # ASCII digits only ("\u00b2".isdigit() is True), and not absurdly long before int() reads it.
    if not text or len(text) > 20 or not text.isascii() or not text.isdigit():
        return None
    value = int(text)
    return value if value <= limit else None


_ADDR_RE = re.compile(r"^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$")


def _addr(text: str) -> str:
    """An IPv4 address in dotted form, or "-" (a regex: ipaddress is slow over long histories)."""
    return text if _ADDR_RE.match(text) else "-"


def parse_records(data: bytes) -> tuple[list[Record], int]:
    """The records in ``data`` and how many lines were unreadable (skipped, never fatal)."""
    out: list[Record] = []
    bad = 0
    for raw in data.split(b"\n"):
        if not raw:
            continue
        start = raw.rfind(TAG.encode())
        if start > 0:  # a torn line (a full disk cut a write short) run into the next record
            bad += 1
            raw = raw[start:]
        f = raw.decode("ascii", errors="replace").split("\t")
        if f[0] != TAG or len(f) < 9 or f[1] not in ("up", "down") or _int(f[2], MAX_TIME) is None:
            bad += 1
            continue
        if f[1] == "down" and len(f) != 12 or f[1] == "up" and len(f) != 9:
            bad += 1
            continue
        t = _int(f[2], MAX_TIME)
        assert t is not None
        extra: dict[str, int | None] = {}
        if f[1] == "down":
            extra = {"connect_time": _int(f[9], t), "bytes_sent": _int(f[10]), "bytes_rcvd": _int(f[11])}
        out.append(Record(f[1], t, _int(f[3], MAX_PID), f[4], f[5], f[6], _addr(f[7]), _addr(f[8]), **extra))
    return out, bad


def pair(records: Iterable[Record]) -> list[tuple[Record | None, Record | None]]:
    """Match each ``down`` with the open ``up`` of the same pppd (pid, interface), in order."""
    open_ups: dict[tuple[int | None, str], int] = {}
    pairs: list[tuple[Record | None, Record | None]] = []
    for r in records:
        key = (r.pid, r.ifname)
        if r.event == "up":
            # The same pid and interface again: the earlier call lost its ip-down, and stays open.
            open_ups[key] = len(pairs)
            pairs.append((r, None))
        else:
            i = open_ups.pop(key, None)
            if i is None:
                pairs.append((None, r))
            else:
                pairs[i] = (pairs[i][0], r)
    return pairs


@dataclass(frozen=True)
class Live:
    """The state of the machine ``sessions`` consults for calls without an ip-down record."""

    paths: Paths

    def pppd_running(self, pid: int) -> bool:
        """Whether ``pid`` is a live pppd (a reused pid belonging to something else is not)."""
        try:
            comm = reading.read_text(self.paths.of(f"/proc/{pid}/comm")).strip()
        except OSError:
            return False
        return comm == "pppd"

    def counters(self, ifname: str) -> tuple[int | None, int | None]:
        """(received, sent) bytes of a network interface, from the kernel's counters."""
        out: list[int | None] = []
        for name in ("rx_bytes", "tx_bytes"):
            try:
                out.append(int(reading.read_text(self.paths.of(f"/sys/class/net/{ifname}/statistics/{name}"))))
            except (OSError, ValueError):
                out.append(None)
        return out[0], out[1]


def build_sessions(records: Iterable[Record], live: Live, now: int) -> list[Session]:
    """Calls, oldest first, from the records and the live state of the machine."""
    sessions: list[Session] = []
    for up, down in pair(records):
        r = up or down
        assert r is not None
        start = up.time if up else (down.time - down.connect_time if down and down.connect_time is not None else None)
        if down is not None:
            sessions.append(Session(
                r.peer, r.tty, r.ifname, r.local, r.remote, start, down.time,
                down.connect_time if down.connect_time is not None else (down.time - start if start else None),
                down.bytes_rcvd, down.bytes_sent, "ended", r.pid,
            ))
            continue
        assert up is not None
        if up.pid is not None and up.ifname != "-" and live.pppd_running(up.pid):
            rx, tx = live.counters(up.ifname)
            sessions.append(Session(up.peer, up.tty, up.ifname, up.local, up.remote, up.time, None,
                                    max(0, now - up.time), rx, tx, "active", up.pid))
        else:
            sessions.append(Session(up.peer, up.tty, up.ifname, up.local, up.remote, up.time, None,
                                    None, None, None, "lost", up.pid))
    return sessions


def read_sessions(paths: Paths, now: int) -> tuple[list[Session], int]:
    """The calls recorded on the target, and the number of unreadable record lines."""
    records, bad = parse_records(reading.read_or_empty(paths.of(RECORDS)))
    return build_sessions(records, Live(paths), now), bad


def human_bytes(n: int | None) -> str:
    if n is None:
        return "-"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def human_duration(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}"
