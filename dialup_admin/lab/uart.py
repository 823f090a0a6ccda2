"""The DTR line of a lab guest's serial ports, for a guest whose init keeps mgetty running.

On a real serial port the last close drops DTR (HUPCL): the modem hangs up and resets
(``&D2``/``&D3``) before the init starts the next mgetty. A UML guest's ``/dev/ttyS1``
is a host pty that UML keeps open, so the host never sees the guest close it. This
watcher runs inside the guest and tells the host instead: it follows every open and
close of the ports with inotify (the kernel reports both for device nodes), counts
the open files, and when the last one is closed writes ``dtr-req-TTY-N`` in the lab
folder; the host (:class:`dialup_admin.lab.scenario.Lab`) then drops DTR on that line
and removes the file. Nothing in the guest is changed; the init and mgetty run
untouched. (The ``none`` lab has its own respawn loop that asks the host directly.)

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
RECONCILE = 5.0  # seconds without events after which the counts are checked against /proc
READY = "uart-ready"
LOG = "uart.log"
REQUEST = "dtr-req"


def holders(device: str) -> int:
    """How many file descriptors of live processes name ``device`` (this process's excluded)."""
    count = 0
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
                    count += 1
            except OSError:
                continue
    return count


class Watcher:
    """Counts the open files of each port from inotify events; asks for a DTR drop at the last close."""

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
        # Watches first, then the counts: an open in between is counted twice at worst.
        self.count = {tty: min(1, holders(f"/dev/{tty}")) for tty in ttys}
        self.drops = dict.fromkeys(ttys, 0)
        self._log = open(folder / LOG, "a", buffering=1, encoding="utf-8")  # noqa: SIM115

    def log(self, text: str) -> None:
        self._log.write(f"{time.monotonic():.2f} {text}\n")

    def request_drop(self, tty: str) -> None:
        self.drops[tty] += 1
        name = f"{REQUEST}-{tty}-{self.drops[tty]}"
        tmp = self.folder / f".{name}.tmp"
        tmp.write_text("")
        tmp.replace(self.folder / name)
        self.log(f"{tty}: last close: DTR drop {self.drops[tty]} asked of the host")

    def handle(self, data: bytes) -> None:
        offset = 0
        while offset + _EVENT.size <= len(data):
            wd, mask, _cookie, length = _EVENT.unpack_from(data, offset)
            offset += _EVENT.size + length
            if mask & IN_Q_OVERFLOW:
                self.log("inotify queue overflow: counting from /proc")
                self.reconcile()
                continue
            tty = self.tty_of.get(wd)
            if tty is None or mask & IN_IGNORED:
                continue
            if mask & IN_OPEN:
                self.count[tty] += 1
            if mask & (IN_CLOSE_WRITE | IN_CLOSE_NOWRITE):
                self.count[tty] -= 1
                if self.count[tty] <= 0:
                    self.count[tty] = 0
                    self.request_drop(tty)

    def reconcile(self) -> None:
        """Correct the counts where /proc disagrees (a missed event): open or not is what matters."""
        for tty in self.count:
            held = holders(f"/dev/{tty}") > 0
            if held and self.count[tty] == 0:
                self.count[tty] = 1
            elif not held and self.count[tty] > 0:
                self.count[tty] = 0
                self.request_drop(tty)

    def run(self) -> None:
        (self.folder / READY).write_text(f"{os.getpid()}\n")
        self.log(f"watching {', '.join(sorted(self.count))}: open files {self.count}")
        while True:
            ready, _, _ = select.select([self.fd], [], [], RECONCILE)
            if not ready:
                self.reconcile()
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
