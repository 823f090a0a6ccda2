"""The DTR line of a lab guest's serial ports, for a guest whose init keeps mgetty running.

On a real serial port the last close drops DTR (HUPCL): the modem hangs up and resets
(``&D2``/``&D3``) before the init starts the next mgetty. A UML guest's ``/dev/ttyS1``
is a host pty that UML keeps open, so the host never sees the guest close it. This
watcher runs inside the guest and tells the host instead: inotify wakes it at every
open and close of the ports (the kernel reports both for device nodes); it then looks
in /proc at which processes hold each port. When none of the processes that held it
still do (the port was closed by its last user, even if the init has already started
the next mgetty on it), it writes ``dtr-req-TTY-N`` in the lab folder; the host
(:class:`dialup_admin.lab.scenario.Lab`) then drops DTR on that line and removes the
file. Events are not counted: inotify merges identical events that follow each other.
Nothing in the guest is changed; the init and mgetty run untouched. (The ``none`` lab
has its own respawn loop that asks the host directly.)

Run in the guest: ``python -m dialup_admin.lab.uart FOLDER ttyS1 [ttyS2...]``; it logs
to ``FOLDER/uart.log`` and marks ``FOLDER/uart-ready`` once it watches.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import select
import struct
import sys
import time
from pathlib import Path

IN_CLOSE_WRITE = 0x00000008
IN_CLOSE_NOWRITE = 0x00000010
IN_OPEN = 0x00000020
IN_Q_OVERFLOW = 0x00004000
IN_IGNORED = 0x00008000
IN_CLOEXEC = 0o2000000
_EVENT = struct.Struct("iIII")
IDLE_LOOK = 5.0  # seconds without events after which the ports are looked at anyway
READY = "uart-ready"
LOG = "uart.log"
REQUEST = "dtr-req"


def holders(device: str) -> set[int]:
    """The live processes (this one excluded) with a file descriptor on ``device``."""
    out: set[int] = set()
    me = str(os.getpid())
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or pid == me:
            continue
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == device:
                    out.add(int(pid))
                    break
            except OSError:
                continue
    return out


class Watcher:
    """Follows who holds each port; asks the host for a DTR drop at a port's last close."""

    def __init__(self, folder: Path, ttys: list[str]) -> None:
        self.folder = folder
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        self._add = libc.inotify_add_watch
        self._add.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
        self.fd = libc.inotify_init1(IN_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        self.tty_of: dict[int, str] = {}
        for tty in ttys:
            wd = self._add(self.fd, f"/dev/{tty}".encode(), IN_OPEN | IN_CLOSE_WRITE | IN_CLOSE_NOWRITE)
            if wd < 0:
                raise OSError(ctypes.get_errno(), f"inotify_add_watch /dev/{tty}")
            self.tty_of[wd] = tty
        # Watches first, then who holds the ports: nothing is missed in between.
        self.held = {tty: holders(f"/dev/{tty}") for tty in ttys}
        self.drops = dict.fromkeys(ttys, 0)
        self._log = open(folder / LOG, "a", buffering=1, encoding="utf-8")  # noqa: SIM115

    def log(self, text: str) -> None:
        self._log.write(f"{time.monotonic():.2f} {text}\n")

    def request_drop(self, tty: str) -> None:
        self.drops[tty] += 1
        name = f"{REQUEST}-{tty.replace('/', '-')}-{self.drops[tty]}"
        tmp = self.folder / f".{name}.tmp"
        tmp.write_text("")
        tmp.replace(self.folder / name)
        self.log(f"{tty}: last close: DTR drop {self.drops[tty]} asked of the host")

    def handle(self, data: bytes) -> None:
        changed: set[str] = set()
        offset = 0
        while offset + _EVENT.size <= len(data):
            wd, mask, _cookie, length = _EVENT.unpack_from(data, offset)
            offset += _EVENT.size + length
            if mask & IN_Q_OVERFLOW:
                self.log("inotify queue overflow: looking at every port")
                changed.update(self.held)
            tty = self.tty_of.get(wd)
            if tty is not None and mask & (IN_OPEN | IN_CLOSE_WRITE | IN_CLOSE_NOWRITE):
                changed.add(tty)
        for tty in sorted(changed):
            self.look(tty)

    def look(self, tty: str) -> None:
        """Compare who holds ``tty`` now with before: all previous holders gone means a last close."""
        before, now = self.held[tty], holders(f"/dev/{tty}")
        if before != now:
            self.log(f"{tty}: held by {sorted(now) or 'nobody'} (before: {sorted(before) or 'nobody'})")
        if before and not before & now:
            self.request_drop(tty)
        self.held[tty] = now

    def run(self) -> None:
        (self.folder / READY).write_text(f"{os.getpid()}\n")
        self.log(f"watching {', '.join(sorted(self.held))}: held by {({t: sorted(p) for t, p in self.held.items()})}")
        while True:
            ready, _, _ = select.select([self.fd], [], [], IDLE_LOOK)
            if not ready:
                for tty in sorted(self.held):
                    self.look(tty)
                continue
            self.handle(os.read(self.fd, 65536))


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print("usage: python -m dialup_admin.lab.uart FOLDER TTY...", file=sys.stderr)
        return 2
    Watcher(Path(argv[0]), argv[1:]).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
