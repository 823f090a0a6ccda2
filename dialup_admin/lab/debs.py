"""Debian packages a lab guest needs that this machine does not (or cannot) install.

* ``sysvinit-core``: the sysvinit guest's PID 1 (``/sbin/init``, ``telinit``,
  ``shutdown``, ``halt``). A machine whose init is systemd cannot install it (it
  replaces ``/sbin/init``), so it is only downloaded and unpacked here.
* ``udev``: systemd learns of devices (``dev-ttyS1.device``, which ``mgetty@.service``
  binds to) from udev only. Every Debian machine has it; a container host may not.
  The version of this machine's systemd is taken, so the pair matches.

Each package is fetched with ``apt-get download`` (the machine's own apt sources and
keys; nothing is installed, no apt state is changed) and unpacked with
``dpkg-deb -x`` into :func:`cache_dir`. A guest mounts the unpacked files over its
read-only root (:func:`dialup_admin.lab.guest.package_mounts`), exactly where dpkg
would have put them.

What this changes on the machine: the cache directory only (``/var/cache/dialup-admin/lab``
as root, else ``~/.cache/dialup-admin/lab``; ``$DIALUP_ADMIN_CACHE`` overrides).
It must not lie below /tmp or /run: the guests hide those. Undo: remove the directory.

Run ``python -m dialup_admin.lab.debs`` to fetch both ahead of time (``make test`` does).
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

from dialup_admin.errors import UserError
from dialup_admin.system import commands

CACHE_ENV = "DIALUP_ADMIN_CACHE"
APT_TIMEOUT = 300
SYSVINIT = "sysvinit-core"
UDEV = "udev"
_VERSION_RE = re.compile(r"^[0-9A-Za-z.+~:-]+$")


def cache_dir() -> Path:
    """Where unpacked packages are kept (see the module's docstring)."""
    env = os.environ.get(CACHE_ENV)
    if env:
        base = Path(env)
    elif os.geteuid() == 0:
        base = Path("/var/cache/dialup-admin")
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dialup-admin"
    return base / "lab"


def installed_version(package: str) -> str | None:
    """The version of ``package`` installed on this machine, or None."""
    try:
        proc = commands.run(["dpkg-query", "-W", "-f=${Status}\t${Version}", package], timeout=30, check=False)
    except (OSError, UserError):  # no dpkg-query, or it did not answer in time
        return None
    status, _, version = proc.stdout.decode(errors="replace").partition("\t")
    if proc.returncode != 0 or not status.endswith(" installed") or not _VERSION_RE.match(version):
        return None
    return version


def wanted_version(package: str) -> str | None:
    """The version to fetch: udev must match this machine's systemd; others: apt's candidate."""
    return installed_version("systemd") if package == UDEV else None


def unpacked(package: str, fetch: bool = True) -> Path:
    """The directory holding ``package``'s files as dpkg would install them (fetched when missing).

    Raises a one-line :class:`UserError` when it is not cached and cannot be fetched.
    """
    version = wanted_version(package)
    name = f"{package}_{version}" if version else package
    target = cache_dir() / name.replace(":", "%3a")
    if (target / ".complete").is_file():
        return target
    if not fetch:
        raise UserError(f"{package} is not in the lab's cache {cache_dir()} (fetch it: python -m dialup_admin.lab.debs)")
    _fetch(package, version, target)
    return target


def _fetch(package: str, version: str | None, target: Path) -> None:
    commands.require("apt-get")
    commands.require("dpkg-deb")
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{package}-", dir=target.parent))
    try:
        spec = f"{package}={version}" if version else package
        try:
            proc = commands.run(["apt-get", "download", "-q", spec], cwd=work, timeout=APT_TIMEOUT, check=False)
        except commands.TimedOut:
            raise UserError(f"apt-get download {spec} did not finish within {APT_TIMEOUT} s") from None
        debs = sorted(work.glob("*.deb"))
        if proc.returncode != 0 or len(debs) != 1:
            why = commands.last_line(proc.stderr or proc.stdout)
            raise UserError(f"cannot fetch {spec} for the lab (apt-get download: {why}); "
                            "check the network and apt sources (apt-get update)")
        root = work / "root"
        commands.run(["dpkg-deb", "-x", str(debs[0]), str(root)], timeout=APT_TIMEOUT)
        (root / ".complete").write_text(debs[0].name + "\n")
        if target.exists():
            shutil.rmtree(target)
        root.rename(target)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def host_has_udev() -> bool:
    """Whether this machine's own files include udev's daemon (then the guests use those)."""
    return any(Path(p).exists() for p in ("/lib/systemd/systemd-udevd", "/usr/lib/systemd/systemd-udevd"))


def main(argv: list[str]) -> int:
    """Fetch what the lab's init guests need; print where it is. Exit 1 (one line) when it cannot."""
    packages = argv or [SYSVINIT, UDEV]
    status = 0
    for package in packages:
        if package == UDEV and host_has_udev():
            print(f"{UDEV}: this machine has it; the guests use its own")
            continue
        try:
            print(f"{package}: {unpacked(package)}")
        except UserError as exc:
            print(f"{package}: {exc}", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
