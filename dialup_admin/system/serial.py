"""Serial ports, shared politely with mgetty and pppd: UUCP locks, termios, opening.

The lock protocol is the one mgetty and pppd use (HDB UUCP): ``/var/lock/LCK..ttyS1``
holds the owner's pid as ten ASCII digits and a newline (``"%10d\\n"``). A lock whose
pid is no longer running is stale and may be removed; a lock held by a live process
means hands off: mgetty sits on its port on a live server.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import struct
import termios
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from dialup_admin.errors import BadInput, UserError
from dialup_admin.paths import Paths
from dialup_admin.system import reading

LOCK_PREFIX = "LCK.."


@dataclass(frozen=True)
class LockOwner:
    """A live process holding a port's UUCP lock."""

    pid: int
    program: str
    lock_file: Path

    def describe(self) -> str:
        return f"pid {self.pid} ({self.program})"


def device_name(port: str | os.PathLike[str]) -> str:
    """The name a port is known by under /dev: ``/dev/ttyS1`` -> ``ttyS1``, ``/dev/pts/3`` -> ``pts/3``."""
    p = os.fspath(port)
    if p.startswith("/dev/"):
        return p[len("/dev/") :]
    return os.path.basename(p)


def lock_names(port: str | os.PathLike[str]) -> list[str]:
    """The lock names that guard ``port``.

    mgetty and pppd lock the name they were given (``LCK..ttyS1``); a symlink such as
    ``/dev/serial/by-id/usb-...`` or ``/dev/modem`` also stands for its target device, so
    both names are checked and taken.
    """
    p = os.fspath(port)
    names = [os.path.basename(p)]
    real = os.path.realpath(p)
    if real != p and os.path.dirname(real) == "/dev":
        base = os.path.basename(real)
        if base not in names:
            names.append(base)
    return names


def lock_path(paths: Paths, name: str) -> Path:
    return paths.lock_dir / f"{LOCK_PREFIX}{name}"


def read_lock_pid(path: Path) -> int | None:
    """The pid in a lock file: ASCII (HDB, as mgetty/pppd write it) or a 4-byte binary int
    (old UUCP). None for a missing, empty or unreadable file."""
    try:
        data = reading.read_bytes(path, limit=64)
    except FileNotFoundError:
        return None
    text = data.decode("ascii", errors="replace").strip()
    if text.isdigit():
        return int(text)
    if len(data) == 4:
        (pid,) = struct.unpack("=i", data)
        return pid if pid > 0 else None
    return None


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, it is just not ours
    return True


def program_of(pid: int) -> str:
    """The program name of a running process, for messages."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() or "unknown program"
    except OSError:
        return "unknown program"


def lock_owner(paths: Paths, port: str | os.PathLike[str]) -> LockOwner | None:
    """Who holds ``port``'s lock, if a live process does. Changes nothing."""
    for name in lock_names(port):
        lf = lock_path(paths, name)
        pid = read_lock_pid(lf)
        if pid is not None and pid != os.getpid() and pid_alive(pid):
            return LockOwner(pid, program_of(pid), lf)
    return None


@dataclass
class PortLock:
    """The UUCP lock(s) of one port, taken by :meth:`acquire` and freed by :meth:`release`.

    ``notes`` tells what was found on the way (stale locks removed), for reports.
    """

    paths: Paths
    port: str
    files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def acquire(self) -> PortLock:
        """Create ``LCK..<name>`` for every name of the port in the lock directory.

        Refuses (UserError) when a live process holds one, naming its pid and program;
        removes stale locks (dead pid, or unreadable and older than a few seconds).
        """
        lock_dir = self.paths.lock_dir
        if not lock_dir.is_dir():
            raise UserError(f"lock directory {lock_dir} does not exist (create it, or check --root)")
        try:
            for name in lock_names(self.port):
                self._take(lock_path(self.paths, name))
        except BaseException:
            self.release()
            raise
        return self

    def _take(self, lf: Path) -> None:
        pid = os.getpid()
        # One temp name per thread: detect locks many ports at once from one process.
        tmp = lf.with_name(f"LTMP.{pid}.{threading.get_native_id()}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        except PermissionError:
            raise UserError(
                f"cannot create a lock file in {lf.parent} (permission denied): run as root or join group dialout"
            ) from None
        try:
            os.write(fd, b"%10d\n" % pid)
            os.fchmod(fd, 0o644)
        finally:
            os.close(fd)
        try:
            for _attempt in range(20):
                try:
                    # link() is atomic and fails if the lock exists, even over NFS (as mgetty does).
                    os.link(tmp, lf)
                    self.files.append(lf)
                    return
                except FileExistsError:
                    pass
                other = read_lock_pid(lf)
                if other == pid:
                    return  # already ours (two names for the same lock)
                if other is None:
                    try:
                        age = time.time() - lf.stat().st_mtime
                    except FileNotFoundError:
                        continue
                    if age < 3:
                        time.sleep(0.1)  # another program is writing it right now
                        continue
                    self.notes.append(f"removed unreadable lock file {lf}")
                elif pid_alive(other):
                    raise UserError(
                        f"{self.port} is locked by pid {other} ({program_of(other)}) ({lf}); "
                        "stop that program first (on a server, mgetty holds its port)"
                    )
                else:
                    self.notes.append(f"removed stale lock file {lf} (pid {other} is not running)")
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(lf)
            raise UserError(f"could not take the lock {lf}: it keeps changing")
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    def release(self) -> None:
        """Remove the lock files, but only those that still hold our pid."""
        for lf in self.files:
            if read_lock_pid(lf) == os.getpid():
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(lf)
        self.files.clear()

    def __enter__(self) -> PortLock:
        return self.acquire()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


# --- termios and opening ------------------------------------------------------------


def baud_constant(speed: int) -> int:
    const = getattr(termios, f"B{speed}", None)
    if not isinstance(const, int):
        raise BadInput(f"unsupported serial speed {speed}")
    return const


def set_raw(fd: int, speed: int) -> None:
    """Put the port in raw 8N1 at ``speed``, ignoring modem lines (CLOCAL) for the talk
    with the modem, and with HUPCL so closing the port drops DTR (the modem hangs up),
    as mgetty and pppd set it. No flow control: a modem without CTS must not stall us."""
    attrs = termios.tcgetattr(fd)
    attrs[0] &= ~(
        termios.IGNBRK | termios.BRKINT | termios.PARMRK | termios.ISTRIP | termios.INLCR
        | termios.IGNCR | termios.ICRNL | termios.IXON | termios.IXOFF | termios.IXANY
    )
    attrs[1] &= ~termios.OPOST
    attrs[2] &= ~(termios.CSIZE | termios.PARENB | termios.CSTOPB | termios.CRTSCTS)
    attrs[2] |= termios.CS8 | termios.CREAD | termios.CLOCAL | termios.HUPCL
    attrs[3] &= ~(termios.ECHO | termios.ECHONL | termios.ICANON | termios.ISIG | termios.IEXTEN)
    attrs[6][termios.VMIN] = 1
    attrs[6][termios.VTIME] = 0
    attrs[4] = attrs[5] = baud_constant(speed)
    termios.tcsetattr(fd, termios.TCSANOW, attrs)


def set_speed(fd: int, speed: int) -> None:
    attrs = termios.tcgetattr(fd)
    attrs[4] = attrs[5] = baud_constant(speed)
    termios.tcsetattr(fd, termios.TCSADRAIN, attrs)


def open_port(port: str | os.PathLike[str], speed: int = 57600) -> int:
    """Open a serial port as mgetty and pppd do and return its fd (blocking, raw).

    O_NONBLOCK on open so a port without carrier does not hang the open; O_NOCTTY so
    the port never becomes our controlling terminal. Every failure is one clear line.
    """
    p = os.fspath(port)
    try:
        fd = os.open(p, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise UserError(f"{p}: no such port") from None
    except PermissionError:
        raise UserError(f"{p}: permission denied (run as root, or add your user to group dialout)") from None
    except IsADirectoryError:
        raise UserError(f"{p} is not a serial port (it is a directory)") from None
    except OSError as exc:
        if exc.errno in (errno.ENXIO, errno.ENODEV, errno.EIO):
            raise UserError(f"{p}: no device behind this port ({exc.strerror})") from None
        if exc.errno == errno.EBUSY:
            raise UserError(f"{p} is busy: another program opened it exclusively") from None
        raise UserError(f"{p}: cannot open ({exc.strerror})") from None
    try:
        if not os.isatty(fd):
            raise UserError(f"{p} is not a serial port (not a tty)")
        try:
            set_raw(fd, speed)
            termios.tcflush(fd, termios.TCIOFLUSH)
        except termios.error as exc:
            code = exc.args[0] if exc.args else 0
            if code in (errno.EIO, errno.ENXIO, errno.ENODEV):
                raise UserError(f"{p}: no device behind this port (I/O error)") from None
            raise UserError(f"{p}: cannot set up the port: {exc.args[-1]}") from None
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        fcntl.fcntl(fd, fcntl.F_SETFL, flags & ~os.O_NONBLOCK)
    except BaseException:
        os.close(fd)
        raise
    return fd


def drop_dtr(fd: int, seconds: float = 0.5) -> None:
    """Hang the modem up the hard way: speed B0 (DTR low) for a moment, then back."""
    try:
        attrs = termios.tcgetattr(fd)
        low = list(attrs)
        low[4] = low[5] = termios.B0
        termios.tcsetattr(fd, termios.TCSANOW, low)
        time.sleep(seconds)
        termios.tcsetattr(fd, termios.TCSANOW, attrs)
    except termios.error:
        pass


@contextlib.contextmanager
def locked_port(paths: Paths, port: str | os.PathLike[str], speed: int = 57600) -> Iterator[tuple[int, PortLock]]:
    """Lock then open ``port``; on exit close it (dropping DTR: HUPCL) and free the lock."""
    lock = PortLock(paths, os.fspath(port)).acquire()
    try:
        fd = open_port(port, speed)
        try:
            yield fd, lock
        finally:
            os.close(fd)
    finally:
        lock.release()


def natural_key(name: str) -> tuple[str, int]:
    """Sort key putting ttyS2 before ttyS10."""
    base = name.rstrip("0123456789")
    return base, int(name[len(base):] or -1)


def has_uart(paths: Paths, tty: str) -> bool:
    """Whether ``ttySN`` has a UART behind it: the kernel makes ttyS0-31 whether or not one exists."""
    try:
        return reading.read_text(paths.of(f"/sys/class/tty/{tty}/type")).strip() not in ("", "0")
    except (OSError, UserError):
        return False


def console_names(paths: Paths) -> set[str]:
    """The devices the kernel prints its console on (``/sys/class/tty/console/active``)."""
    try:
        return set(reading.read_text(paths.of("/sys/class/tty/console/active")).split())
    except OSError:
        return set()


def is_console(paths: Paths, port: str | os.PathLike[str]) -> bool:
    """Whether ``port`` (or the device a symlink points to) is the kernel's console."""
    names = console_names(paths)
    p = os.fspath(port)
    return bool(names & {os.path.basename(p), os.path.basename(os.path.realpath(p))})
