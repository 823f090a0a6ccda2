"""UUCP locks as mgetty and pppd use them, and opening ports, with real files and ptys."""

from __future__ import annotations

import os
import stat
import struct
from pathlib import Path

import pytest

from dialup_admin.errors import UserError
from dialup_admin.paths import Paths
from dialup_admin.system import serial
from tests.support.modem import dead_pid, live_lock, silent_port


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    (tmp_path / "var" / "lock").mkdir(parents=True)
    return Paths(tmp_path)


def test_lock_file_is_ascii_pid_like_mgetty_and_pppd(paths: Paths) -> None:
    with serial.PortLock(paths, "/dev/ttyS1") as lock:
        lf = paths.lock_dir / "LCK..ttyS1"
        assert lock.files == [lf]
        assert lf.read_bytes() == b"%10d\n" % os.getpid()
        assert len(lf.read_bytes()) == 11
        assert stat.S_IMODE(lf.stat().st_mode) == 0o644
        assert not list(paths.lock_dir.glob("LTMP.*"))
    assert not lf.exists()


def test_live_lock_is_refused_naming_pid_and_program(paths: Paths) -> None:
    with live_lock(paths.lock_dir, "ttyS1") as pid:
        with pytest.raises(UserError, match=rf"locked by pid {pid} \(sleep\)"):
            serial.PortLock(paths, "/dev/ttyS1").acquire()
        owner = serial.lock_owner(paths, "/dev/ttyS1")
        assert owner is not None and owner.pid == pid and owner.program == "sleep"
        assert (paths.lock_dir / "LCK..ttyS1").read_bytes() == b"%10d\n" % pid  # untouched


@pytest.mark.parametrize(
    "content",
    [b"%10d\n", b"%d\n", b"bin"],
    ids=["hdb-ascii", "short-ascii", "binary"],
)
def test_stale_locks_are_removed_and_reported(paths: Paths, content: bytes) -> None:
    pid = dead_pid()
    lf = paths.lock_dir / "LCK..ttyS1"
    lf.write_bytes(struct.pack("=i", pid) if content == b"bin" else content % pid)
    assert serial.read_lock_pid(lf) == pid
    assert serial.lock_owner(paths, "/dev/ttyS1") is None
    with serial.PortLock(paths, "/dev/ttyS1") as lock:
        assert lf.read_bytes() == b"%10d\n" % os.getpid()
        assert lock.notes == [f"removed stale lock file {lf} (pid {pid} is not running)"]


def test_old_unreadable_lock_is_stale_but_a_fresh_one_is_waited_for(paths: Paths) -> None:
    lf = paths.lock_dir / "LCK..ttyS1"
    lf.write_bytes(b"garbage")
    os.utime(lf, (1, 1))
    with serial.PortLock(paths, "/dev/ttyS1") as lock:
        assert "unreadable" in lock.notes[0]


def test_release_leaves_a_lock_someone_else_took_over(paths: Paths) -> None:
    lock = serial.PortLock(paths, "/dev/ttyS1").acquire()
    lf = paths.lock_dir / "LCK..ttyS1"
    lf.write_bytes(b"%10d\n" % 1)
    lock.release()
    assert lf.exists()


def test_symlinked_port_locks_both_names(paths: Paths, tmp_path: Path) -> None:
    # A by-id style name for a /dev device: both LCK..<link> and LCK..<device> are taken.
    link = tmp_path / "usb-Modem_1234-if00"
    link.symlink_to("/dev/null")
    assert serial.lock_names(link) == ["usb-Modem_1234-if00", "null"]
    with serial.PortLock(paths, str(link)) as lock:
        assert sorted(p.name for p in lock.files) == ["LCK..null", "LCK..usb-Modem_1234-if00"]
    with live_lock(paths.lock_dir, "null") as pid:
        with pytest.raises(UserError, match=f"pid {pid}"):
            serial.PortLock(paths, str(link)).acquire()
        assert not (paths.lock_dir / "LCK..usb-Modem_1234-if00").exists()


def test_missing_lock_dir(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="lock directory .* does not exist"):
        serial.PortLock(Paths(tmp_path), "/dev/ttyS1").acquire()


def test_open_port_errors_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such port"):
        serial.open_port(tmp_path / "ttyS9")
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError, match="not a serial port \\(not a tty\\)"):
        serial.open_port(tmp_path / "file")
    with pytest.raises(UserError, match="directory"):
        serial.open_port(tmp_path)


def test_open_port_sets_raw_8n1_with_hupcl(tmp_path: Path) -> None:
    import termios

    with silent_port() as port:
        fd = serial.open_port(port, 115200)
        try:
            attrs = termios.tcgetattr(fd)
            assert attrs[4] == termios.B115200
            assert attrs[2] & termios.CS8 and attrs[2] & termios.HUPCL and attrs[2] & termios.CLOCAL
            assert not attrs[3] & (termios.ECHO | termios.ICANON)
            assert os.get_blocking(fd)
        finally:
            os.close(fd)


def test_console_is_recognised(tmp_path: Path) -> None:
    paths = Paths(tmp_path)
    active = paths.of("/sys/class/tty/console/active")
    active.parent.mkdir(parents=True)
    active.write_text("tty0 ttyS0\n")
    assert serial.is_console(paths, "/dev/ttyS0")
    assert not serial.is_console(paths, "/dev/ttyS1")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch to an unprivileged user")
def test_open_port_permission_denied() -> None:
    with silent_port() as port:
        os.chmod(port, 0o600)
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: an ordinary user trying the root-only port
            try:
                os.setgid(65534)
                os.setuid(65534)
                try:
                    serial.open_port(port)
                    msg = "opened"
                except UserError as exc:
                    msg = str(exc)
                os.write(w, msg.encode())
            finally:
                os._exit(0)
        os.close(w)
        msg = os.read(r, 4096).decode()
        os.close(r)
        os.waitpid(pid, 0)
    assert msg == f"{port}: permission denied (run as root, or add your user to group dialout)"
