"""Reading files that someone else may have replaced: never block, never read a device.

A FIFO in place of ``/etc/ppp/options`` or ``sessions.log`` would make a plain ``open()``
wait forever for a writer; a device node could be anything. Every file the tool reads
from the target goes through :func:`read_bytes`: it looks first (``stat``), opens
without blocking, checks again on the open descriptor, and refuses anything but a
regular file in one line.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from dialup_admin.errors import UserError


def kind_of(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device node"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a directory"
    return "not a regular file"


class NotRegular(UserError):
    """A path the tool must read holds something else than a regular file."""

    def __init__(self, path: Path | str, mode: int) -> None:
        super().__init__(f"{path} is {kind_of(mode)}, not a regular file: move it away (dialup-admin will not read it)")
        self.path = str(path)


def read_bytes(path: Path | str, *, limit: int | None = None) -> bytes:
    """The contents of the regular file ``path`` (links followed, as ``open`` does).

    Raises FileNotFoundError (or NotADirectoryError) when it is not there, as ``open``
    would, and :class:`NotRegular` for a FIFO, device, socket or directory. ``limit``
    stops reading after that many bytes.
    """
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        raise NotRegular(path, st.st_mode)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):  # swapped between the two looks
            raise NotRegular(path, st.st_mode)
        chunks: list[bytes] = []
        got = 0
        while limit is None or got < limit:
            chunk = os.read(fd, 1 << 20 if limit is None else min(1 << 20, limit - got))
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_or_empty(path: Path | str) -> bytes:
    """:func:`read_bytes`, or ``b""`` when the file is missing: a file the tool is about to
    create reads as empty. Whatever else is wrong is raised as :func:`read_bytes` does: what
    is there but is not a regular file (:class:`NotRegular`), or a file where a folder on
    the way should be (NotADirectoryError: damaged, not missing).
    """
    try:
        return read_bytes(path)
    except FileNotFoundError:
        return b""


def read_text(path: Path | str, errors: str = "replace") -> str:
    """:func:`read_bytes` decoded as UTF-8 (undecodable bytes replaced by default)."""
    return read_bytes(path).decode("utf-8", errors=errors)


def is_regular(path: Path | str) -> bool:
    """Whether ``path`` is a regular file (links followed); never opens it."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False
