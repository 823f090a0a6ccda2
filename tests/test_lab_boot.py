"""The pieces that let a lab guest boot a real init, without booting one.

The guests themselves boot in the e2e tests (``test_e2e_init_survival.py``); here: the
unit set the lab masks, where unpacked packages land, the init scripts' shell, and the
DTR watcher with real inotify on a real pty.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dialup_admin.errors import BadInput
from dialup_admin.lab import boot, debs, uart
from dialup_admin.lab.guest import Guest, render_init


def test_the_lab_masks_what_a_machine_starts_but_journald_udev_and_the_tools_units(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    wants = pkg / "lib/systemd/system/sysinit.target.wants"
    wants.mkdir(parents=True)
    for name in ("systemd-udevd.service", "some-daemon.service", "mgetty@ttyS1.service", "x.target"):
        (wants / name).symlink_to(f"../{name}")
    masked = boot.masked_units([pkg])
    assert "some-daemon.service" in masked
    assert not {"systemd-udevd.service", "mgetty@ttyS1.service", "x.target"} & set(masked)
    assert not boot.SYSTEMD_KEEP & set(masked)
    boot.write_systemd_tree(tmp_path / "tree", [pkg])
    assert os.readlink(tmp_path / "tree/system/some-daemon.service") == "/dev/null"
    assert os.readlink(tmp_path / "tree/system/multi-user.target.wants/dialup-lab-command.service") == \
        "../dialup-lab-command.service"
    unit = (tmp_path / "tree/system/dialup-lab-syslog.service").read_text()
    assert "After=systemd-journald.service" in unit and "Restart=on-failure" in unit


def test_package_files_land_where_dpkg_would_put_them(tmp_path: Path) -> None:
    pkg = tmp_path / "sysvinit-core"
    (pkg / "sbin").mkdir(parents=True)
    (pkg / "sbin/init").write_bytes(b"")
    (pkg / "usr/share/doc/sysvinit-core").mkdir(parents=True)
    (pkg / "usr/share/doc/sysvinit-core/copyright").write_text("")
    (pkg / "lib/no/such/dir").mkdir(parents=True)
    (pkg / "lib/no/such/dir/file").write_text("")
    mounts = dict(boot.package_mounts([pkg]))
    sbin = os.path.realpath("/sbin")
    assert mounts[sbin] == [str(pkg / "sbin"), sbin]  # first the package, then the machine's own
    assert not any("share" in d for d in mounts)  # docs are left out
    lib = os.path.realpath("/lib")
    assert mounts[lib] == [str(pkg / "lib"), lib]  # the nearest directory this machine has


@pytest.mark.parametrize("init", ["systemd", "sysvinit"])
def test_init_scripts_are_valid_shell_and_hand_over_to_the_init(tmp_path: Path, init: str) -> None:
    text = render_init("server", tmp_path, {}, True, ("/etc",), init, disk=True,
                       mounts=[("/usr/sbin", ["/var/cache/x/sbin", "/usr/sbin"])], make_dirs=["/var/log/mgetty"])
    script = tmp_path / "init.sh"
    script.write_text(text)
    subprocess.run(["sh", "-n", str(script)], check=True)
    assert "mount -t ext4 /dev/ubda /run/dialup-lab/disk" in text
    assert "mount -t overlay -o lowerdir=/var/cache/x/sbin:/usr/sbin overlay /usr/sbin" in text
    assert text.rstrip().splitlines()[-2].startswith("exec ")
    run = boot.run_script(init, "server", tmp_path, {"A": "b"}, "command.sh", "ready", "output.log", "status")
    (tmp_path / "run.sh").write_text(run)
    subprocess.run(["sh", "-n", str(tmp_path / "run.sh")], check=True)
    assert run.rstrip().endswith(boot.POWEROFF[init])


def test_guest_init_and_ports_are_validated(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="guest init 'upstart'"):
        Guest("alpha", "true", folder=tmp_path, init="upstart")
    with pytest.raises(BadInput, match="absent serial ports"):
        Guest("alpha", "true", folder=tmp_path, serial=["/dev/null"], absent_serial=[1])
    with pytest.raises(BadInput, match="guest directory"):
        Guest("alpha", "true", folder=tmp_path, make_dirs=["relative/dir"])


def test_the_cache_lies_where_guests_see_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(debs.CACHE_ENV, str(tmp_path / "cache"))
    assert debs.cache_dir() == tmp_path / "cache/lab"
    with pytest.raises(Exception, match="not in the lab's cache"):
        debs.unpacked(debs.SYSVINIT, fetch=False)


def test_the_dtr_watcher_sees_a_ports_last_close(tmp_path: Path) -> None:
    """Real inotify on a real pty: a process holding the port exits, the host is asked to drop DTR."""
    master, slave = os.openpty()
    name = os.ttyname(slave)[len("/dev/"):]  # pts/N
    os.close(slave)
    holder = subprocess.Popen(["sleep", "60"], stdin=open(f"/dev/{name}", "rb"))  # noqa: SIM115
    watcher = subprocess.Popen([sys.executable, "-m", "dialup_admin.lab.uart", str(tmp_path), name],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while not (tmp_path / uart.READY).exists():
            assert watcher.poll() is None and time.monotonic() < deadline, watcher.stdout.read() if watcher.stdout else ""
            time.sleep(0.05)
        assert not list(tmp_path.glob(f"{uart.REQUEST}-*"))  # held: no drop yet
        holder.kill()
        holder.wait()
        request = tmp_path / f"{uart.REQUEST}-{name.replace('/', '-')}-1"
        while not list(tmp_path.glob(f"{uart.REQUEST}-*")):
            assert time.monotonic() < deadline, (tmp_path / uart.LOG).read_text()
            time.sleep(0.05)
        assert [p.name for p in tmp_path.glob(f"{uart.REQUEST}-*")] == [request.name]
        assert "last close" in (tmp_path / uart.LOG).read_text()
    finally:
        for p in (holder, watcher):
            if p.poll() is None:
                p.kill()
                p.wait()
        os.close(master)
