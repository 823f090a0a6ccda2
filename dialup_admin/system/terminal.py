"""A raw terminal session between this terminal and a serial port (what minicom was for).

Bytes go both ways untouched; the terminal is put in raw mode so Enter sends the CR a
modem wants and Ctrl-C goes to the far side. ``Ctrl-]`` (0x1d, as in telnet) leaves.
Changes on the machine: this terminal's mode, restored on the way out.
"""

from __future__ import annotations

import errno
import os
import select
import termios
import tty

ESCAPE = 0x1D  # Ctrl-]


def session(port_fd: int, stdin_fd: int = 0, stdout_fd: int = 1, escape: int = ESCAPE) -> str:
    """Copy stdin to the port and the port to stdout until Ctrl-], EOF or hang-up.

    Returns why it ended: ``"escape"``, ``"eof"`` (stdin closed) or ``"hangup"`` (the port
    went away). The terminal's settings are restored whatever happens.
    """
    saved = None
    if os.isatty(stdin_fd):
        saved = termios.tcgetattr(stdin_fd)
        tty.setraw(stdin_fd)
    try:
        return _copy(port_fd, stdin_fd, stdout_fd, escape)
    finally:
        if saved is not None:
            termios.tcsetattr(stdin_fd, termios.TCSADRAIN, saved)


def _write_all(fd: int, data: bytes) -> None:
    while data:
        n = os.write(fd, data)
        data = data[n:]


def _copy(port_fd: int, stdin_fd: int, stdout_fd: int, escape: int) -> str:
    while True:
        ready, _, _ = select.select([stdin_fd, port_fd], [], [])
        if stdin_fd in ready:
            data = os.read(stdin_fd, 1024)
            if not data:
                return "eof"
            cut = data.find(bytes([escape]))
            if cut >= 0:
                _write_all(port_fd, data[:cut])
                return "escape"
            _write_all(port_fd, data)
        if port_fd in ready:
            try:
                data = os.read(port_fd, 4096)
            except OSError as exc:
                if exc.errno in (errno.EIO, errno.ENXIO):
                    return "hangup"
                raise
            if not data:
                return "hangup"
            _write_all(stdout_fd, data)
