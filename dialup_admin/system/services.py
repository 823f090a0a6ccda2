"""How mgetty is kept running: an inittab respawn line or a systemd unit.

Detection (which init runs here), the refusals (``--init systemd`` where systemd is
not PID 1, ``--init inittab`` where no init reads an inittab), and the look at the
running machine after a start: :func:`verify_running` waits 5 s and fails with the
unit's status line or mgetty's log tail when a line's mgetty did not stay up. Reading
only; the starting and stopping are ``systemctl``/``telinit`` commands in the plan.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from dialup_admin.errors import BadInput, UserError
from dialup_admin.paths import Paths
from dialup_admin.system import commands, reading
from dialup_admin.system.procs import Proc, processes

INIT_CHOICES = ("auto", "inittab", "systemd", "none")
SETTLE_SECONDS = 5.0  # how long a started mgetty must stay up before the apply counts it as running


def detect_init(paths: Paths) -> str:
    """Which init the target uses: 'systemd', 'inittab' or 'none'.

    On the running machine the live init decides (systemd creates /run/systemd/system);
    in a --root tree, what is installed there does.
    """
    if paths.is_host and Path("/run/systemd/system").is_dir():
        return "systemd"
    if paths.inittab.is_file():
        return "inittab"
    if not paths.is_host and any(
        paths.of(p).exists() for p in ("/lib/systemd/systemd", "/usr/lib/systemd/systemd")
    ):
        return "systemd"
    return "none"


def systemd_running(paths: Paths) -> bool:
    return paths.is_host and Path("/run/systemd/system").is_dir()


def pid1() -> str:
    """What PID 1 of this machine is, for messages: ``init (/usr/sbin/init)``."""
    try:
        comm = Path("/proc/1/comm").read_text().strip()
    except OSError:
        return "unknown"
    try:
        exe = os.readlink("/proc/1/exe")
    except OSError:
        return comm
    return f"{comm} ({exe})"


def check_init(paths: Paths, init: str) -> None:
    """Refuse, in one line and before anything is written, an init this machine does not run.

    Only on the running machine: a --root tree is an image being prepared, whose init
    is not running here.
    """
    if not paths.is_host:
        return
    if init == "systemd" and not systemd_running(paths):
        raise BadInput(f"--init systemd: systemd is not running here (PID 1 is {pid1()}, no /run/systemd/system); "
                       "use --init inittab or --init none")
    if init == "inittab":
        if systemd_running(paths):
            raise BadInput("--init inittab: PID 1 is systemd, which does not read /etc/inittab; use --init systemd")
        if not paths.inittab.is_file():
            raise BadInput(f"--init inittab: there is no /etc/inittab here (PID 1 is {pid1()}); "
                           "use --init systemd or --init none")


def unit_name(tty: str) -> str:
    return f"mgetty@{tty}.service"


def unit_properties(unit: str) -> dict[str, str]:
    """``systemctl show`` of a unit: ActiveState, SubState, MainPID, NRestarts, Result."""
    proc = commands.run(("systemctl", "show", "--property=ActiveState,SubState,MainPID,NRestarts,Result", unit),
                        check=False, timeout=30)
    out: dict[str, str] = {}
    for line in proc.stdout.decode(errors="replace").splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out[key] = value
    return out


def unit_active(unit: str) -> bool:
    return unit_properties(unit).get("ActiveState") == "active"


def status_line(unit: str) -> str:
    """The unit's ``Active:`` line from ``systemctl status``."""
    proc = commands.run(("systemctl", "status", "--no-pager", "--lines=0", "--full", unit), check=False, timeout=30)
    lines = [ln.strip() for ln in proc.stdout.decode(errors="replace").splitlines() if ln.strip()]
    return next((ln for ln in lines if ln.startswith("Active:")), f"{unit}: no status")


def mgetty_pids(paths: Paths, tty: str) -> list[int]:
    """The pids of mgetty processes running on ``tty`` (from the target's /proc)."""
    return [p.pid for p in processes(paths) or [] if p.program == "mgetty" and p.names_tty(tty)]


def _is_answer(p: Proc, tty: str) -> bool:
    """Whether ``p`` is ``dialup-admin answer TTY`` (a direct line's program)."""
    args = list(p.argv)
    return "answer" in args and p.names_tty(tty) and any("dialup" in a for a in args[: args.index("answer")])


def program_pids(paths: Paths, tty: str) -> list[int]:
    """The pids of the line's program: mgetty, or ``dialup-admin answer`` on a direct line."""
    return [p.pid for p in processes(paths) or []
            if p.names_tty(tty) and (p.program == "mgetty" or _is_answer(p, tty))]


def call_pid(paths: Paths, tty: str) -> int | None:
    """The pid of a pppd answering a call on ``tty``: mgetty exec'd it, so the port is its stdin."""
    for p in processes(paths) or []:
        if p.program != "pppd":
            continue
        try:
            if os.readlink(paths.of(f"/proc/{p.pid}/fd/0")) == f"/dev/{tty}":
                return p.pid
        except OSError:
            continue
    return None


def line_busy(paths: Paths, tty: str) -> bool:
    """Whether the init's process runs on ``tty``: mgetty or answer waiting, or the pppd of a call."""
    return bool(program_pids(paths, tty)) or call_pid(paths, tty) is not None


def log_tail(path: str, count: int = 2) -> str:
    """mgetty's last words that say why it stopped (an ``exiting`` or ``failed`` line), then its last lines.

    The init may have started mgetty again meanwhile: the newest lines are then that
    start's, and the reason is a little above them.
    """
    try:
        lines = [ln.strip() for ln in reading.read_text(path).splitlines() if ln.strip()]
    except (OSError, reading.NotRegular):  # a FIFO in its place is not waited on
        return f"no log at {path}"
    if not lines:
        return f"{path} is empty"
    why = [ln for ln in lines if re.search(r"exiting|failed|cannot|error", ln, re.IGNORECASE)]
    shown = ([why[-1]] if why else []) + [ln for ln in lines[-count:] if not why or ln != why[-1]]
    return " | ".join(shown)


def verify_running(paths: Paths, init: str, started: Sequence[tuple[str, str]], stopped: Sequence[tuple[str, str]],
                   log_file: Callable[[str], str], seconds: float = SETTLE_SECONDS) -> None:
    """Wait ``seconds``; raise :class:`UserError` unless every ``started`` line's program stayed up.

    ``started``/``stopped`` are (tty, unit) pairs. systemd: the unit must be
    active/running, never restarted, its main process alive on the line; a unit that
    fails earlier fails at once; a stopped unit must be inactive. inittab: one program
    process on the line, not replaced meanwhile; a removed line must have none.
    """
    deadline = time.monotonic() + seconds
    first: dict[str, int] = {}
    while True:
        for tty, unit in started:
            if init == "systemd":
                if unit_properties(unit).get("ActiveState") == "failed":
                    raise _not_running(init, tty, unit, log_file)
            else:
                pids = program_pids(paths, tty)
                if pids and tty not in first:
                    first[tty] = pids[0]
        if time.monotonic() >= deadline:
            break
        time.sleep(0.25)
    for tty, unit in started:
        if init == "systemd":
            props = unit_properties(unit)
            running = (props.get("ActiveState"), props.get("SubState")) == ("active", "running")
            main = int(props.get("MainPID") or 0)
            alive = main in program_pids(paths, tty) or main == call_pid(paths, tty)
            if not running or props.get("NRestarts", "0") != "0" or not alive:
                raise _not_running(init, tty, unit, log_file)
        elif first.get(tty) not in program_pids(paths, tty) and call_pid(paths, tty) is None:
            raise _not_running(init, tty, unit, log_file)
    for tty, unit in stopped:
        if init == "systemd":
            if unit_properties(unit).get("ActiveState") not in ("inactive", "failed"):
                raise UserError(f"{unit} still runs after systemctl stop")
        elif line_busy(paths, tty):
            raise UserError(f"the program on {tty} still runs {seconds:g} s after telinit q")


def _not_running(init: str, tty: str, unit: str, log_file: Callable[[str], str]) -> UserError:
    mgetty = unit.startswith("mgetty@")
    log = f"; mgetty's log {log_file(tty)}: {log_tail(log_file(tty))}" if mgetty and log_file(tty) else ""
    if init == "systemd":
        props = unit_properties(unit)
        restarts = props.get("NRestarts", "0")
        why = (f"it exited and was restarted {restarts} time(s)" if restarts not in ("", "0")
               else f"it is {props.get('ActiveState')}/{props.get('SubState')}")
        return UserError(f"{unit} did not stay running: {why} within {SETTLE_SECONDS:g} s ({status_line(unit)}){log}")
    program = "mgetty" if mgetty else "dialup-admin answer"
    return UserError(f"{program} is not running on {tty} {SETTLE_SECONDS:g} s after telinit q"
                     + (f" ({log[2:]})" if log else " (see its lines in the syslog)"))
