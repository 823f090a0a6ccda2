"""``detect``: which serial ports have a modem, what it is, and at what speed.

Every candidate port is probed at once, in its own thread: a silent port costs one
probe timeout per speed, however many ports there are (wvdialconf probes them one
after another). A port that a live process has locked is never opened, and the
kernel's console (``/sys/class/tty/console/active``) is never written to.
"""

from __future__ import annotations

import glob
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dialup_admin.errors import UserError
from dialup_admin.modem.selftest import ModemTalk
from dialup_admin.paths import Paths
from dialup_admin.system import serial

DEFAULT_SPEEDS = (115200, 57600, 9600)
PROBE_TIMEOUT = 0.25  # seconds to wait for OK at one speed; a modem answers AT in milliseconds


@dataclass
class PortResult:
    port: str  # the name to use (a stable /dev/serial/by-id name when there is one)
    device: str  # the device it is (/dev/ttyUSB0)
    status: str  # modem | silent | garbage | locked | console | error
    speed: int | None = None  # the highest speed at which the modem answered
    identity: dict[str, str] = field(default_factory=dict)
    detail: str = ""
    seconds: float = 0.0


@dataclass
class DetectReport:
    ports: list[PortResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def modems(self) -> list[PortResult]:
        return [p for p in self.ports if p.status == "modem"]

    def to_json(self) -> dict[str, Any]:
        return {"ports": [asdict(p) for p in self.ports], "warnings": self.warnings, "seconds": self.seconds}


def candidates(paths: Paths, patterns: list[str] | None = None) -> list[tuple[str, str]]:
    """``(name, device)`` of every port to probe, one entry per device.

    With ``patterns`` (paths or globs, taken as given): those ports. Otherwise
    ``/dev/serial/by-id/*`` (preferred: the names survive re-plugging), ``ttyUSB*``,
    ``ttyACM*``, and the ``ttyS*`` that have a UART behind them (``/sys/class/tty/ttySN/type``
    is not 0: the kernel creates ttyS0-31 whether or not a UART exists).
    """
    found: list[tuple[str, str]] = []
    seen: set[str] = set()

    def add(name: str) -> None:
        dev = os.path.realpath(name)
        if dev not in seen:
            seen.add(dev)
            found.append((name, dev))

    if patterns:
        for pat in patterns:
            matches = sorted(glob.glob(pat)) if glob.has_magic(pat) else [pat]
            if not matches:
                raise UserError(f"no port matches {pat}")
            for name in matches:
                add(name)
        return found
    dev = paths.of("/dev")
    for name in sorted(glob.glob(str(dev / "serial" / "by-id" / "*"))):
        add(name)
    for pat in ("ttyUSB*", "ttyACM*"):
        for name in sorted(glob.glob(str(dev / pat)), key=serial.natural_key):
            add(name)
    for name in sorted(glob.glob(str(dev / "ttyS*")), key=serial.natural_key):
        if serial.has_uart(paths, os.path.basename(name)):
            add(name)
    return found


def probe(
    paths: Paths, name: str, device: str, speeds: tuple[int, ...] = DEFAULT_SPEEDS, timeout: float = PROBE_TIMEOUT
) -> PortResult:
    """Probe one port: lock it, send AT at each speed (highest first), ask ATI0/ATI3 of a
    modem that answers, close (HUPCL) and unlock. Never touches a locked port or the console."""
    t0 = time.monotonic()
    res = PortResult(name, device, "error")
    try:
        if serial.is_console(paths, name):
            res.status, res.detail = "console", "the kernel's console: not probed"
            return res
        owner = serial.lock_owner(paths, name)
        if owner is not None:
            res.status, res.detail = "locked", f"locked by {owner.describe()}: not probed"
            return res
        try:
            lock = serial.PortLock(paths, name).acquire()
        except UserError as exc:
            res.status = "locked" if "locked by" in str(exc) else "error"
            res.detail = str(exc)
            return res
        try:
            fd = serial.open_port(name, speeds[0])
            try:
                _talk(fd, res, speeds, timeout)
            finally:
                os.close(fd)
        except UserError as exc:
            res.status, res.detail = "error", str(exc)
        finally:
            lock.release()
        return res
    finally:
        res.seconds = round(time.monotonic() - t0, 4)


def _talk(fd: int, res: PortResult, speeds: tuple[int, ...], timeout: float) -> None:
    talk = ModemTalk(fd)
    noise: list[str] = []
    for speed in speeds:
        serial.set_speed(fd, speed)
        st = talk.command("probe", "AT", timeout)
        if st.ok:
            res.status, res.speed = "modem", speed
            break
        if st.result == "garbage":
            noise.extend(st.text)
        elif st.result == "hung up":
            res.status, res.detail = "error", "the port hung up"
            return
    else:
        if noise:
            res.status = "garbage"
            res.detail = f"answers, but not like a modem: {' | '.join(noise)[:60]!r}"
        else:
            res.status = "silent"
            res.detail = f"no answer to AT at {', '.join(map(str, speeds))} bps"
        return
    for n in (0, 3):
        st = talk.command(f"ATI{n}", f"ATI{n}", max(timeout, 0.5))
        if st.ok and st.text:
            res.identity[f"ATI{n}"] = " ".join(st.text)


def conflicting_processes() -> list[str]:
    """Warnings about programs that grab serial ports: ModemManager, serial gettys, pppd, mgetty."""
    warnings: list[str] = []
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            comm = (entry / "comm").read_text().strip()
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        args = [a.decode(errors="replace") for a in argv if a]
        pid = entry.name
        if comm == "ModemManager":
            warnings.append(
                f"ModemManager is running (pid {pid}): it probes and grabs serial ports; "
                "stop it (systemctl stop ModemManager) or tag the port ID_MM_DEVICE_IGNORE"
            )
        elif comm in ("agetty", "getty", "mingetty", "serial-getty") or comm.endswith("getty") and comm != "mgetty":
            ttys = [a for a in args[1:] if any(k in a for k in ("ttyS", "ttyUSB", "ttyACM", "ttyAMA"))]
            if ttys:
                warnings.append(f"a serial getty ({comm}, pid {pid}) is on {', '.join(ttys)}")
        elif comm == "mgetty":
            ttys = [a for a in args[1:] if a.startswith(("tty", "/dev/"))]
            warnings.append(f"mgetty (pid {pid}) is on {', '.join(ttys) or 'a port'}")
        elif comm == "pppd":
            warnings.append(f"pppd is running (pid {pid}): {' '.join(args[1:4])}")
    return warnings


def detect(
    paths: Paths,
    patterns: list[str] | None = None,
    *,
    speeds: tuple[int, ...] = DEFAULT_SPEEDS,
    timeout: float = PROBE_TIMEOUT,
    parallel: bool = True,
) -> DetectReport:
    """Probe every candidate port (in parallel unless ``parallel`` is False)."""
    t0 = time.monotonic()
    report = DetectReport(warnings=conflicting_processes())
    ports = candidates(paths, patterns)
    if parallel and len(ports) > 1:
        with ThreadPoolExecutor(max_workers=min(64, len(ports))) as pool:
            results = list(pool.map(lambda nd: probe(paths, nd[0], nd[1], speeds, timeout), ports))
    else:
        results = [probe(paths, n, d, speeds, timeout) for n, d in ports]
    report.ports = results
    report.seconds = round(time.monotonic() - t0, 4)
    return report


def describe(report: DetectReport) -> list[str]:
    out: list[str] = []
    if report.ports:
        width = max(len(p.port) for p in report.ports)
        for p in report.ports:
            dev = f" ({p.device})" if p.device != p.port else ""
            if p.status == "modem":
                ident = p.identity.get("ATI3") or p.identity.get("ATI0") or "unknown modem"
                out.append(f"{p.port:<{width}}  modem at {p.speed} bps: {ident}{dev}")
            else:
                out.append(f"{p.port:<{width}}  {p.status}: {p.detail}{dev}")
    else:
        out.append("no candidate serial ports found")
    for w in report.warnings:
        out.append(f"warning: {w}")
    n = len(report.modems)
    out.append(f"{n} modem{'s' if n != 1 else ''} on {len(report.ports)} port(s), probed in {report.seconds:.2f} s")
    return out
