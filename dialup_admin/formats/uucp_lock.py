"""A UUCP lock file's contents (``/var/lock/LCK..ttyS1``): the pid of the process holding the port. Pure.

HDB UUCP locks, as mgetty and pppd write them, hold the pid in ASCII (``%10d\\n``);
old UUCP and Kermit wrote it as a 4-byte binary int.
"""

from __future__ import annotations

import struct


def pid(data: bytes) -> int | None:
    """The pid a lock file names; None when it names none (empty, junk, or a binary pid <= 0)."""
    text = data.decode("ascii", errors="replace").strip()
    if text.isdigit():
        return int(text)
    if len(data) == 4:
        (value,) = struct.unpack("=i", data)
        return value if value > 0 else None
    return None
