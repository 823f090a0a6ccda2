"""How mgetty is kept running: an inittab respawn line or a systemd unit."""

from __future__ import annotations

from pathlib import Path

from dialup_admin.paths import Paths

INIT_CHOICES = ("auto", "inittab", "systemd", "none")


def detect_init(paths: Paths) -> str:
    """Which init the target uses: 'systemd', 'inittab' or 'none'.

    On the running machine the live init decides (systemd creates /run/systemd/system);
    in a --root tree, what is installed there does.
    """
    if paths.is_host and Path("/run/systemd/system").is_dir():
        return "systemd"
    if paths.inittab.is_file():
        return "inittab"
    if not paths.is_host and any(
        paths.of(p).exists() for p in ("/lib/systemd/systemd", "/usr/lib/systemd/systemd")
    ):
        return "systemd"
    return "none"


def systemd_running(paths: Paths) -> bool:
    return paths.is_host and Path("/run/systemd/system").is_dir()
