"""A fresh Debian 12 to install the .deb into: a debootstrap minbase chroot, cached as a tarball.

The tarball lives outside the checkout (``/var/cache/dialup-admin-tests``, or
``$DIALUP_ADMIN_TEST_CACHE``) so every clone on the machine reuses it; it is made once per
set of dependencies (the key hashes the suite, the mirror and the .deb's Depends), with the
dependencies' .debs already downloaded, so a run needs no network. Each command runs in
its own private mount namespace with /proc mounted: nothing stays mounted when it ends.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
SECURITY = "http://deb.debian.org/debian-security"
# man-db and bash-completion are in the base, as on a sysadmin's machine: `man PAGE` and Tab.
INCLUDE = ("man-db", "bash-completion")
RECIPE = 2  # bump when base_tarball makes its tree differently: the cached one is then remade
CACHE = Path(os.environ.get("DIALUP_ADMIN_TEST_CACHE", "/var/cache/dialup-admin-tests"))
PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
SOURCES = (f"deb {MIRROR} {SUITE} main\n"
           f"deb {MIRROR} {SUITE}-updates main\n"
           f"deb {SECURITY} {SUITE}-security main\n")


def why_no_chroot() -> str | None:
    """Why a Debian chroot cannot be made here, or None."""
    if os.geteuid() != 0:
        return "debootstrap and chroot need root"
    for tool in ("debootstrap", "unshare", "chroot", "dpkg-buildpackage", "lintian"):
        if shutil.which(tool, path=PATH) is None:
            return f"{tool} is not installed (make test installs it)"
    return None


class Chroot:
    """A Debian tree at ``root``; :meth:`run` runs a shell script inside it as root."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def run(self, script: str, *args: str, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        """``sh -c script sh ARGS...`` inside, with a clean environment; output captured."""
        outer = ('mount -t proc proc "$0/proc" && exec chroot "$0" /usr/bin/env -i PATH=' + PATH +
                 ' HOME=/root LANG=C.UTF-8 TERM=dumb DEBIAN_FRONTEND=noninteractive "$@"')
        argv = ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", outer, str(self.root),
                "sh", "-c", script, "sh", *args]
        out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env={"PATH": PATH})
        if check and out.returncode != 0:
            raise AssertionError(f"in the chroot, exit {out.returncode}: {script}\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
        return out

    def packages(self) -> list[str]:
        out = self.run("dpkg-query -W -f '${db:Status-Abbrev} ${Package}\\n'").stdout
        return sorted(line.split()[-1] for line in out.splitlines() if line.startswith("ii"))


def deb_depends(deb: Path) -> str:
    return subprocess.run(["dpkg-deb", "-f", str(deb), "Depends"], capture_output=True, text=True,
                          check=True).stdout.strip()


def base_tarball(deb: Path) -> Path:
    """The cached base for ``deb``: minbase + INCLUDE, upgraded, with the deb's dependencies
    downloaded (not installed). Made once under a lock; raises RuntimeError when it cannot."""
    recipe = [str(RECIPE), SUITE, MIRROR, SOURCES, *INCLUDE, deb_depends(deb)]
    key = hashlib.sha256("\n".join(recipe).encode()).hexdigest()[:16]
    tarball = CACHE / f"{SUITE}-minbase-{key}.tar.gz"
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if tarball.exists():
            return tarball
        work = Path(tempfile.mkdtemp(prefix="make-", dir=CACHE))
        try:
            root = work / "root"
            made = subprocess.run(["debootstrap", "--variant=minbase", f"--include={','.join(INCLUDE)}", SUITE,
                                   str(root), MIRROR], capture_output=True, text=True, timeout=1800,
                                  env={"PATH": PATH})
            if made.returncode != 0:
                last = (made.stdout + made.stderr).strip().splitlines()[-1:] or ["(no output)"]
                raise RuntimeError(f"debootstrap could not make a {SUITE} chroot: {last[0]}")
            (root / "etc/apt/sources.list").write_text(SOURCES)
            # dpkg without fsync, as container images have it: a test's chroot is thrown away anyway.
            (root / "etc/dpkg/dpkg.cfg.d/unsafe-io").write_text("force-unsafe-io\n")
            # No service starts inside a chroot (policy-rc.d lives in /usr/sbin, not /etc).
            (root / "usr/sbin/policy-rc.d").write_text("#!/bin/sh\nexit 101\n")
            (root / "usr/sbin/policy-rc.d").chmod(0o755)
            shutil.copy(deb, root / "tmp" / deb.name)
            Chroot(root).run(
                "echo 'man-db man-db/auto-update boolean false' | debconf-set-selections"
                " && apt-get update -q && apt-get -y -q upgrade && apt-get clean"
                ' && apt-get install -y -q --no-install-recommends --download-only "/tmp/$1"'
                ' && rm "/tmp/$1"', deb.name, timeout=1800)
            part = tarball.with_suffix(".part")
            subprocess.run(["tar", "--numeric-owner", "-C", str(root), "-czf", str(part), "."], check=True)
            os.replace(part, tarball)
            for old in CACHE.glob(f"{SUITE}-minbase-*.tar.gz"):  # an older key: dependencies changed
                if old != tarball:
                    old.unlink()
            return tarball
        finally:
            shutil.rmtree(work, ignore_errors=True)


def unpack(tarball: Path, into: Path) -> Chroot:
    into.mkdir(parents=True)
    subprocess.run(["tar", "--numeric-owner", "-C", str(into), "-xzf", str(tarball)], check=True)
    return Chroot(into)
