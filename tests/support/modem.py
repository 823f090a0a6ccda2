"""Test helpers for the modem lab: terminal sessions on a port, and ports that
misbehave (silent, garbage-talking, locked by a live process)."""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import threading
import tty
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pexpect.fdpexpect

from dialup_admin.system.serial import open_port


class Terminal:
    """A minicom-like session on a port, opened raw as the tool opens ports: type lines,
    send bytes, expect answers (bytes regexes); ``seen`` is everything read so far."""

    def __init__(self, port: str, timeout: float = 5.0) -> None:
        self.port = port
        self.fd = open_port(port, 57600)
        self.child: pexpect.fdpexpect.fdspawn[bytes] = pexpect.fdpexpect.fdspawn(self.fd, timeout=timeout)
        self._seen = io.BytesIO()
        self.child.logfile_read = self._seen

    @property
    def seen(self) -> bytes:
        return self._seen.getvalue()

    def type(self, line: str) -> None:
        self.child.send(line.encode() + b"\r")

    def send(self, data: bytes) -> None:
        self.child.send(data)

    def expect(self, pattern: str | bytes, timeout: float = -1) -> bytes:
        """Wait for ``pattern`` (at most ``timeout`` s, default 5) and return everything up to and including it."""
        pat = pattern.encode() if isinstance(pattern, str) else pattern
        self.child.expect(pat, timeout=timeout)
        before = self.child.before or b""
        after = self.child.after if isinstance(self.child.after, bytes) else b""
        return before + after

    def command(self, line: str, result: str = "OK", timeout: float = -1) -> bytes:
        """Type ``line`` and wait for the result code ``result`` on a line of its own."""
        self.type(line)
        return self.expect(rb"[\r\n]" + re.escape(result.encode()) + rb"\r", timeout)

    def read_exactly(self, n: int, timeout: float = 10.0) -> bytes:
        got = b""
        while len(got) < n:
            got += self.child.read_nonblocking(n - len(got), timeout=timeout)
        return got

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextlib.contextmanager
def silent_port() -> Iterator[str]:
    """A pty nobody answers on: what a port without a modem (or a dead modem) looks like."""
    master, slave = os.openpty()
    name = os.ttyname(slave)
    tty.setraw(slave)
    os.close(slave)
    try:
        yield name
    finally:
        os.close(master)


@contextlib.contextmanager
def garbage_port(noise: bytes = b"\x00\xff#~garbled line noise~\r\n") -> Iterator[str]:
    """A pty that answers everything with line noise (a wrong speed, or not a modem)."""
    master, slave = os.openpty()
    name = os.ttyname(slave)
    tty.setraw(slave)
    os.close(slave)
    stop = threading.Event()

    def answer() -> None:
        import select

        while not stop.is_set():
            r, _, _ = select.select([master], [], [], 0.05)
            if not r:
                continue
            try:
                if os.read(master, 4096):
                    os.write(master, noise)
            except OSError:
                stop.wait(0.02)  # slave closed: POLLHUP/EIO until someone reopens

    th = threading.Thread(target=answer, daemon=True)
    th.start()
    try:
        yield name
    finally:
        stop.set()
        th.join(2)
        os.close(master)


@contextlib.contextmanager
def live_lock(lock_dir: Path, name: str) -> Iterator[int]:
    """A UUCP lock on ``name`` held by a live process (a ``sleep``), as mgetty would hold it."""
    proc = subprocess.Popen(["sleep", "60"])
    comm = Path(f"/proc/{proc.pid}/comm")
    for _ in range(200):  # until the child has exec'd, so its name is "sleep"
        if comm.read_text().strip() == "sleep":
            break
        threading.Event().wait(0.01)
    lf = lock_dir / f"LCK..{name}"
    lf.write_bytes(b"%10d\n" % proc.pid)
    try:
        yield proc.pid
    finally:
        proc.kill()
        proc.wait()
        with contextlib.suppress(FileNotFoundError):
            lf.unlink()


def dead_pid() -> int:
    """A pid that is certainly not running (a child that has exited and been reaped)."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid
