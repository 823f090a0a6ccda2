"""A minimal account database in a --root tree, for the real shadow-utils with --prefix."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
from pathlib import Path

PASSWD = "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
GROUP = "root:x:0:\ndaemon:x:1:\n"
SHADOW = "root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n"
GSHADOW = "root:*::\ndaemon:*::\n"


def make_db(root: Path, passwd: str = "", group: str = "") -> None:
    """etc/passwd, group, shadow, gshadow (+ extra lines) and the host's login.defs below ``root``."""
    etc = root / "etc"
    etc.mkdir(parents=True, exist_ok=True)
    (etc / "passwd").write_text(PASSWD + passwd)
    (etc / "group").write_text(GROUP + group)
    shadow = SHADOW + "".join(f"{ln.split(':')[0]}:!:19000:0:99999:7:::\n" for ln in passwd.splitlines())
    gshadow = GSHADOW + "".join(f"{ln.split(':')[0]}:!::\n" for ln in group.splitlines())
    (etc / "shadow").write_text(shadow)
    (etc / "gshadow").write_text(gshadow)
    os.chmod(etc / "shadow", 0o640)
    os.chmod(etc / "gshadow", 0o640)
    shutil.copy("/etc/login.defs", etc / "login.defs")


def setup_server(run: object, *extra: str) -> None:
    res = run("setup-server", "--tty", "ttyS1", "--tty", "ttyS3", "--init", "none",  # type: ignore[operator]
              "--mgetty", "/sbin/mgetty", *extra)
    assert res.exit_code == 0, res.output


def _entry(path: Path, name: str) -> list[str] | None:
    """The fields of ``name``'s line in a colon-separated database file, or None."""
    for line in path.read_text().splitlines():
        parts = line.split(":")
        if parts[0] == name:
            return parts
    return None


def passwd_line(root: Path, name: str) -> list[str] | None:
    return _entry(root / "etc/passwd", name)


def group_line(root: Path, name: str) -> list[str] | None:
    return _entry(root / "etc/group", name)


def shadow_hash(root: Path, name: str) -> str | None:
    parts = _entry(root / "etc/shadow", name)
    return parts[1] if parts else None


def _libcrypt() -> ctypes.CDLL:
    # libcrypt directly: Python's crypt module is deprecated (3.11) and gone in 3.13.
    lib = ctypes.CDLL(ctypes.util.find_library("crypt") or "libcrypt.so.1")
    lib.crypt.restype = ctypes.c_char_p
    lib.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    return lib


def verify(password: str, hashed: str) -> bool:
    """Check a shadow hash with the C library's crypt(3), as pppd and PAM do."""
    out = _libcrypt().crypt(password.encode(), hashed.encode())
    return out is not None and out.decode() == hashed
