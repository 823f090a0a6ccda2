"""Running system programs: never through a shell, secrets only on stdin."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence

from dialup_admin.errors import UserError

# Which Debian package provides a program the tool runs, for the "not found" message.
PACKAGE_OF = {
    "pppd": "ppp",
    "chat": "ppp",
    "pppstats": "ppp",
    "mgetty": "mgetty",
    "useradd": "passwd",
    "usermod": "passwd",
    "userdel": "passwd",
    "groupadd": "passwd",
    "chpasswd": "passwd",
    "telinit": "sysvinit-core or systemd-sysv",
    "systemctl": "systemd",
    "nft": "nftables",
    "linux.uml": "user-mode-linux",
    "busybox": "busybox-static",
    "make": "make",
    "cc": "build-essential",
    "gcc": "build-essential",
    "apt-get": "apt",
    "ip": "iproute2",
    "mkfs.ext4": "e2fsprogs",
    "dpkg-deb": "dpkg",
    "freeradius": "freeradius",
    "radclient": "freeradius-utils",
    "radtest": "freeradius-utils",
}


def which(program: str) -> str | None:
    """Find ``program`` on PATH, also in the sbin directories a non-root PATH lacks."""
    found = shutil.which(program)
    if found:
        return found
    extra = os.pathsep.join(("/usr/local/sbin", "/usr/sbin", "/sbin"))
    return shutil.which(program, path=extra)


def require(program: str) -> str:
    """The full path of ``program``, or a one-line error naming the package to install."""
    found = which(program)
    if found is None:
        pkg = PACKAGE_OF.get(program)
        hint = f" (install it: apt-get install {pkg})" if pkg else ""
        raise UserError(f"{program} not found{hint}")
    return found


def run(
    argv: Sequence[str],
    *,
    stdin: bytes | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    timeout: float | None = 300,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``argv`` (no shell); on failure raise a one-line :class:`UserError`.

    Secrets go in ``stdin``, never in ``argv``: argv is visible to every user in ``ps``.
    """
    exe = argv[0] if "/" in argv[0] else require(argv[0])
    try:
        proc = subprocess.run(
            [exe, *argv[1:]],
            input=stdin if stdin is not None else b"",
            capture_output=True,
            env=dict(env) if env is not None else None,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError:
        raise UserError(f"{argv[0]} not found") from None
    except subprocess.TimeoutExpired:
        raise UserError(f"{argv[0]} did not finish within {timeout:.0f} s") from None
    if check and proc.returncode != 0:
        raise UserError(f"{' '.join(argv[:2])} failed (exit {proc.returncode}): {last_line(proc.stderr or proc.stdout)}")
    return proc


def last_line(output: bytes) -> str:
    lines = [ln.strip() for ln in output.decode(errors="replace").splitlines() if ln.strip()]
    return lines[-1] if lines else "no output"
