"""pppd and chat as ``dial`` runs them: the kernel's PPP support, the run, the pid.

Reading pppd's log (events, stages, exit statuses, the sentence for a failure) is
pure and lives in :mod:`dialup_admin.formats.pppd_log`.

- :func:`kernel_ppp` says whether this kernel can do PPP, and if not, the fix.
- :func:`run_pppd` starts real pppd under pexpect and follows it (changes the machine:
  pppd opens the port, dials, and, when the link comes up, stays running detached).
- :class:`DialRecord` is the pid record ``dial`` leaves in the state directory;
  :func:`stop_pppd` ends that pppd by its pid and waits for the port's lock to go.
"""

from __future__ import annotations

import errno
import json
import os
import platform
import re
import signal
import stat
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from dialup_admin.formats.pppd_log import LAB_HINT, Follower, KernelPpp
from dialup_admin.paths import Paths
from dialup_admin.system import commands, reading

if TYPE_CHECKING:
    import pexpect

# --- kernel PPP ------------------------------------------------------------------------


def _module_file(paths: Paths, release: str, name: str) -> bool:
    base = paths.of(f"/lib/modules/{release}")
    if not base.is_dir():
        return False
    try:
        builtin = (base / "modules.builtin").read_text()
    except OSError:
        builtin = ""
    if re.search(rf"/{name}\.ko\b", builtin):
        return True
    return any(base.rglob(f"{name}.ko*"))


def kernel_ppp(paths: Paths | None = None, release: str | None = None) -> KernelPpp:
    """Look at /dev/ppp, /proc/devices and the module tree; opens /dev/ppp, changes nothing."""
    paths = paths or Paths()
    release = release or platform.release()
    node = paths.of("/dev/ppp")
    try:
        is_char = stat.S_ISCHR(node.stat().st_mode)
    except FileNotFoundError:
        is_char = False
    try:
        devices = paths.of("/proc/devices").read_text()
    except OSError:
        devices = ""
    driver = bool(re.search(r"^\s*108 ppp$", devices, re.M)) or paths.of("/sys/module/ppp_generic").is_dir()
    if is_char:
        try:
            fd = os.open(node, os.O_RDWR)
        except OSError as exc:
            if exc.errno not in (errno.ENXIO, errno.ENODEV):
                if exc.errno in (errno.EACCES, errno.EPERM):
                    return KernelPpp(True)  # there, only not ours to open: pppd runs as root
                return KernelPpp(False, f"/dev/ppp cannot be opened ({exc.strerror})", "check dmesg")
        else:
            os.close(fd)
            return KernelPpp(True)
    if driver and not is_char:
        return KernelPpp(False, "the PPP driver is loaded but /dev/ppp is missing",
                         "mknod /dev/ppp c 108 0 (pppd does this itself when run as root)")
    async_too = " ppp_async" if not paths.of("/sys/module/ppp_async").is_dir() else ""
    if _module_file(paths, release, "ppp_generic"):
        return KernelPpp(False, f"the PPP kernel modules of {release} are not loaded",
                         f"modprobe ppp_generic{async_too}")
    inside = " (in a container, the host must load ppp_generic and pass /dev/ppp in)" if _in_container(paths) else ""
    return KernelPpp(
        False,
        f"/dev/ppp is missing and kernel {release} has no ppp_generic module{inside}",
        f"modprobe ppp_generic ppp_async where the modules exist, or boot a kernel with CONFIG_PPP and "
        f"CONFIG_PPP_ASYNC (distribution kernels have them), {LAB_HINT}",
    )


def _in_container(paths: Paths) -> bool:
    return paths.of("/.dockerenv").exists() or paths.of("/run/.containerenv").exists()


# --- running pppd ----------------------------------------------------------------------------

Echo = Callable[[str], None]


@dataclass
class Run:
    """The result of :func:`run_pppd`: exit status (None if we had to stop it) and the log."""

    status: int | None
    follower: Follower
    timed_out: bool = False


def run_pppd(argv: Sequence[str], *, on_line: Echo, timeout: float = 180) -> Run:
    """Run ``argv`` (pppd ... updetach) under pexpect, calling ``on_line`` for each log line.

    Returns when pppd exits: with ``updetach`` that is the foreground pppd leaving once
    the link is up (status 0; its detached child keeps the link) or pppd failing.
    On timeout or Ctrl-C pppd is sent SIGTERM (it hangs up the modem) and reaped.
    """
    import pexpect  # here: it is only needed by dial, and slow to import

    f = Follower()
    child = commands.spawn(argv, timeout=timeout, controlling_tty=False)
    deadline = time.monotonic() + timeout
    timed_out = False
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            i = child.expect([r"\r?\n", pexpect.EOF, pexpect.TIMEOUT], timeout=left)
            if i == 0:
                line = str(child.before)
                f.feed(line)
                on_line(line)
            elif i == 1:
                rest = str(child.before or "")
                for line in rest.splitlines():
                    f.feed(line)
                    on_line(line)
                break
            else:
                timed_out = True
                break
    except KeyboardInterrupt:
        _stop_child(child)
        raise
    if timed_out:
        _stop_child(child)
        return Run(None, f, timed_out=True)
    child.close()
    status = child.exitstatus if child.exitstatus is not None else 128 + (child.signalstatus or 0)
    return Run(status, f)


def _stop_child(child: pexpect.spawn[str]) -> None:
    if child.isalive():
        child.kill(signal.SIGTERM)
        for _ in range(100):  # pppd hangs up the modem first: give it a few seconds
            if not child.isalive():
                break
            time.sleep(0.1)
    child.close(force=True)


# --- the pid record ------------------------------------------------------------------------------


@dataclass
class DialRecord:
    """What ``dial`` leaves behind for ``hangup`` and ``status``: pppd's pid and the link."""

    peer: str
    pid: int
    device: str
    interface: str | None = None
    local: str | None = None
    remote: str | None = None
    dns: list[str] = field(default_factory=list)
    compression: list[str] = field(default_factory=list)
    started: float = 0.0

    @staticmethod
    def path(paths: Paths, peer: str) -> Path:
        return paths.state_dir / f"dial-{peer}.json"

    def save(self, paths: Paths) -> None:
        """Write ``/var/lib/dialup-admin/dial-PEER.json`` (creates the state directory)."""
        p = self.path(paths, self.peer)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(p.name + ".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n")
        os.replace(tmp, p)

    @classmethod
    def load(cls, paths: Paths, peer: str) -> DialRecord | None:
        try:
            data = json.loads(reading.read_bytes(cls.path(paths, peer)))
            return cls(**data)
        except FileNotFoundError:
            return None
        except (ValueError, TypeError):
            return None

    @classmethod
    def load_all(cls, paths: Paths) -> list[DialRecord]:
        out = []
        for p in sorted(paths.state_dir.glob("dial-*.json")) if paths.state_dir.is_dir() else []:
            rec = cls.load(paths, p.stem[len("dial-"):])
            if rec is not None:
                out.append(rec)
        return out

    @staticmethod
    def remove(paths: Paths, peer: str) -> None:
        try:
            DialRecord.path(paths, peer).unlink()
        except FileNotFoundError:
            pass


def pppd_pidfile_pid(paths: Paths, peer: str) -> tuple[int, str | None] | None:
    """pppd's own record of a running link ``linkname PEER``: pid and interface.

    pppd 2.4 writes /run/ppp-PEER.pid (``/var/run``), 2.5 /run/pppd/ppp-PEER.pid: the pid,
    then the interface name on the second line.
    """
    for sp in (f"/run/ppp-{peer}.pid", f"/var/run/ppp-{peer}.pid", f"/run/pppd/ppp-{peer}.pid"):
        try:
            words = reading.read_text(paths.of(sp)).split()
        except OSError:
            continue
        if words and words[0].isdigit():
            return int(words[0]), (words[1] if len(words) > 1 else None)
    return None


def is_pppd(pid: int) -> bool:
    """Whether ``pid`` is a running pppd (not a recycled pid of another program)."""
    try:
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return False
    return comm == "pppd"


def stop_pppd(pid: int, *, lock_files: Sequence[Path] = (), timeout: float = 20) -> bool:
    """Send pppd ``pid`` SIGTERM (it ends LCP, hangs up the modem and removes its lock)
    and wait for it to exit. Returns False if it had to be killed (SIGKILL).

    A lock file still naming the dead pid afterwards is stale and is removed, as every
    UUCP-lock user would: the port is free again when this returns.
    """
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return True
    clean = True
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(pid):
        clean = False
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        for _ in range(50):
            if not _alive(pid):
                break
            time.sleep(0.1)
    for lf in lock_files:
        if _lock_pid(lf) == pid:
            try:
                lf.unlink()
            except FileNotFoundError:
                pass
    return clean


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours is dead for our purpose.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][:1] != "Z"
    except (OSError, IndexError):
        return True


def _lock_pid(lf: Path) -> int | None:
    try:
        text = reading.read_text(lf).strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
