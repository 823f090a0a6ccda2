"""Snapshots of a tree: compare two to prove a command changed nothing (or only what it should)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

Snapshot = dict[str, tuple[str, int, int, int, bytes]]


def snapshot(root: Path) -> Snapshot:
    """Every path below ``root`` with its kind, mode, owner and bytes (or link target)."""
    out: Snapshot = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = os.lstat(p)
            rel = str(p.relative_to(root))
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", 0, st.st_uid, st.st_gid, os.readlink(p).encode())
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, b"")
            elif not stat.S_ISREG(st.st_mode):  # a FIFO or device: never opened (a FIFO would block)
                out[rel] = ("special", st.st_mode, st.st_uid, st.st_gid, str(st.st_rdev).encode())
            else:
                out[rel] = ("file", stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, p.read_bytes())
    return out
