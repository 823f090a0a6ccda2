"""Private mount namespaces for the tests (:func:`private_mounts`), and whether this machine
lets the tests make them and network namespaces.

Asked once per run, by trying it; when it cannot be done, the reason is the true one
(issue 11 item 20): in a chroot whose ``/`` is not a mount point, ``unshare --propagation
private`` and ``ip netns`` both fail, and tests said "not permitted" or "cannot create a
veth pair", or waited 30 s for an mgetty that never started.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path

CHROOT = ("/ is not a mount point here (a chroot?): private mount namespaces and ip netns need one "
          "(bind-mount the chroot's directory onto itself before entering it, or run on the machine or in a container)")


def root_is_mount_point() -> bool:
    """Whether ``/`` of this process is a mount point (it is not inside a plain chroot)."""
    try:
        with open("/proc/self/mountinfo") as f:
            lines = f.read().splitlines()
    except OSError:
        return True  # cannot tell: let the real attempt speak
    return any(len(p) > 4 and p[4] == "/" for p in (ln.split() for ln in lines))


def _last_line(proc: subprocess.CompletedProcess[bytes]) -> str:
    lines = [ln.strip() for ln in (proc.stderr or proc.stdout).decode(errors="replace").splitlines() if ln.strip()]
    return lines[-1] if lines else f"exit {proc.returncode}"


def _run(*argv: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(list(argv), capture_output=True, timeout=30)


@functools.cache
def mount_ns_problem() -> str | None:
    """Why a private mount namespace (``unshare --mount --propagation private``) cannot be had, or None."""
    if shutil.which("unshare") is None:
        return "unshare (util-linux) is missing"
    if os.geteuid() != 0:
        return "private mount namespaces and bind mounts need root"
    if not root_is_mount_point():
        return CHROOT
    proc = _run("unshare", "--mount", "--propagation", "private", "true")
    if proc.returncode != 0:
        return f"unshare --mount is not permitted here: {_last_line(proc)}"
    return None


@functools.cache
def netns_problem() -> str | None:
    """Why a network namespace with a veth pair in it cannot be had, or None."""
    if shutil.which("ip") is None:
        return "ip (iproute2) is missing"
    if os.geteuid() != 0:
        return "network namespaces need root"
    if not root_is_mount_point():
        return CHROOT
    name = f"da-probe-{uuid.uuid4().hex[:8]}"
    add = _run("ip", "netns", "add", name)
    try:
        if add.returncode != 0:
            return f"ip netns add fails here: {_last_line(add)}"
        veth = _run("ip", "-n", name, "link", "add", "da-p0", "type", "veth", "peer", "name", "da-p1")
        if veth.returncode != 0:
            return f"cannot create a veth pair in a network namespace: {_last_line(veth)}"
    finally:
        _run("ip", "netns", "del", name)
    return None


# Inside "unshare --mount --propagation private": a tmpfs on each directory up to the first
# "--", then each SOURCE TARGET pair up to the next "--" bind-mounted, then the program
# exec'd (the same pid: the caller can signal it). Nothing is mounted outside.
_MOUNTS = r"""set -e
while [ "$1" != "--" ]; do mount -t tmpfs tmpfs "$1"; shift; done
shift
while [ "$1" != "--" ]; do mount --bind "$1" "$2"; shift 2; done
shift
exec "$@"
"""


def private_mounts(argv: Sequence[str], binds: Iterable[tuple[Path | str, str]] = (),
                   tmpfs: Sequence[str] = ()) -> list[str]:
    """The command that runs ``argv`` in a private mount namespace of its own, where each of
    ``tmpfs`` is an empty tmpfs and each (host path, system path) of ``binds`` is bind-mounted
    over the system path: the program sees the test's files, the host sees no change."""
    flat = [str(x) for src, dst in binds for x in (src, dst)]
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", _MOUNTS, "sh",
            *tmpfs, "--", *flat, "--", *argv]
