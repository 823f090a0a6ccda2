"""The lab's guest harness: user-mode Linux guests with kernel PPP.

The e2e tests boot real guests (about 2 s each) and run real pppd between two of
them over a plain socat pty pair (a null-modem cable; the modem simulator comes later).
"""

from __future__ import annotations

import os
import select
import subprocess
import time
import tty
from pathlib import Path

import pytest

from dialup_admin.errors import BadInput, UserError
from dialup_admin.lab import Guest, GuestError, GuestResult
from dialup_admin.lab.guest import render_init, tool_command, visible_in_guest
from tests.support.lab import needs_uml, pty_pair, run_ppp_pair

TOOL = tool_command()


def explain(result: GuestResult) -> str:
    """Everything a failing assertion should show."""
    return (
        f"guest {result.name} exit {result.status}\n--- output\n{result.output}"
        f"--- syslog\n{result.syslog}--- console (tail)\n" + "\n".join(result.console.splitlines()[-30:])
    )


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


# -- without a guest ---------------------------------------------------------------


def test_missing_uml_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr("dialup_admin.system.commands.which", lambda program: None)
    guest = Guest("alpha", "true", folder=tmp_path / "alpha")
    with pytest.raises(UserError, match="apt-get install user-mode-linux"):
        guest.start()
    guest.close()


@pytest.mark.parametrize("name", ["", "Upper", "1abc", "a b", "x" * 21, "a/b"])
def test_guest_name_is_validated(name: str) -> None:
    with pytest.raises(BadInput):
        Guest(name, "true")


def test_folder_with_a_comma_is_refused(tmp_path: Path) -> None:
    # The folder is hostfs's mount data and part of init= on the kernel command line.
    with pytest.raises(BadInput):
        Guest("alpha", "true", folder=tmp_path / "a,b")


def test_guest_tmpfs_hides_host_dirs() -> None:
    assert not visible_in_guest("/tmp/venv/bin/dialup-admin")
    assert not visible_in_guest("/run")
    assert visible_in_guest("/runaway/x")
    assert visible_in_guest("/usr/sbin/pppd")


def test_init_script_is_valid_shell(tmp_path: Path) -> None:
    script = tmp_path / "init.sh"
    script.write_text(render_init("alpha", tmp_path, {"GREETING": "it's here"}, True, ("/etc",)))
    subprocess.run(["sh", "-n", str(script)], check=True)
    text = script.read_text()
    # Module load order: insmod does not resolve dependencies.
    order = ["crc-ccitt", "slhc", "ppp_generic", "ppp_async", "bsd_comp", "ppp_deflate"]
    positions = [text.index(f"/{name} ") if f"/{name} " in text else text.index(f"/{name};") for name in order]
    assert positions == sorted(positions)
    assert "export GREETING='it'\"'\"'s here'" in text


# -- real guests ---------------------------------------------------------------------


@pytest.mark.e2e
@needs_uml
def test_guest_boots_with_ppp_and_runs_the_tool(tmp_path: Path) -> None:
    folder = tmp_path / "alpha"
    folder.mkdir()
    (folder / "from-host.txt").write_text("hello guest\n")
    command = f"""
set -e
echo "uname $(uname -r)"
[ -c /dev/ppp ] && echo "ppp device ok"
{TOOL} --version
cat from-host.txt
echo "written by the guest" > from-guest.txt
echo "# lab" >> /etc/ppp/options && echo "etc writable"
touch /var/lock/LCK..test && echo "lock dir writable"
logger -t labtest "hello syslog"
useradd -m -s /bin/sh labcaller && echo "labcaller:secret" | chpasswd && [ -d /home/labcaller ]
grep -q '^labcaller:' /etc/shadow && echo "accounts writable"
"""
    result = Guest("alpha", command, folder=folder).run(timeout=60)
    assert result.status == 0, explain(result)
    uml_release = sorted(p.name for p in Path("/usr/lib/uml/modules").iterdir())[-1]
    assert f"uname {uml_release}" in result.output
    assert "ppp device ok" in result.output
    assert "dialup-admin, version" in result.output
    assert "hello guest" in result.output
    assert "etc writable" in result.output and "lock dir writable" in result.output
    assert (folder / "from-guest.txt").read_text() == "written by the guest\n"
    assert "labtest: hello syslog" in result.syslog
    assert "accounts writable" in result.output
    # The host is untouched: the guest wrote to its private overlays.
    assert "# lab" not in Path("/etc/ppp/options").read_text().splitlines()[-1:]
    assert "labcaller:" not in Path("/etc/passwd").read_text()
    assert not Path("/home/labcaller").exists()
    assert result.boot_seconds is not None and result.boot_seconds > 0


@pytest.mark.e2e
@needs_uml
def test_timeout_kills_the_guest_and_says_which_stage(tmp_path: Path) -> None:
    # The guest holds its serial line (a host pty) open: UML's helper watching that tty
    # calls setsid() and leaves the process group, and must be killed all the same.
    command = "exec 5<>/dev/ttyS1; lab_mark started; lab_wait_file go 30 && lab_put seen < go; sleep 600"
    with pty_pair() as (line, _other):
        guest = Guest("stuck", command, serial=[line], folder=tmp_path / "stuck", modules=False)
        with guest:
            pgid = guest.pid
            assert pgid is not None
            guest.wait_for_file("started", timeout=60)
            # Files the host makes while the guest runs reach it, and back.
            guest.put("go", "from the host\n")
            assert guest.wait_for_file("seen", timeout=30).read_text() == "from the host\n"
            assert any(os.getsid(pid) != pgid for pid in guest.helper_pids())
            with pytest.raises(GuestError, match="stage command: did not power off within 0.5 s") as info:
                guest.wait(timeout=0.5)
            assert info.value.stage == "command"
            assert not group_alive(pgid)
            assert guest.helper_pids() == []
            uml_dir = guest.uml_dir
            assert uml_dir is not None and (uml_dir / guest.umid).is_dir()
        assert not uml_dir.exists()


@pytest.mark.e2e
@needs_uml
def test_two_guests_ping_over_ppp(tmp_path: Path) -> None:
    started = time.monotonic()
    try:
        server, client = run_ppp_pair(tmp_path)
    except GuestError as exc:
        pytest.fail(f"{exc}\n" + "\n".join(exc.log_lines))
    logs = explain(server) + explain(client)
    assert server.status == 0, logs
    assert client.status == 0, logs
    assert "3 packets transmitted, 3 packets received" in server.output, logs
    assert "3 packets transmitted, 3 packets received" in client.output, logs
    assert "inet 10.0.0.2 peer 10.0.0.1" in client.output
    assert "local  IP address 10.0.0.1" in server.syslog
    assert "LCP terminated by peer" in client.syslog
    assert time.monotonic() - started < 120


@pytest.mark.e2e
@needs_uml
def test_serial_lines_are_ttys1_ttys2_in_order(tmp_path: Path) -> None:
    masters, slaves = [], []
    for _ in range(2):
        master, slave = os.openpty()
        tty.setraw(slave)
        masters.append(master)
        slaves.append(slave)
    try:
        command = "printf 'line-one\\n' > /dev/ttyS1 && printf 'line-two\\n' > /dev/ttyS2"
        guest = Guest("lines", command, serial=[os.ttyname(s) for s in slaves], folder=tmp_path / "g", modules=False)
        result = guest.run(timeout=60)
        assert result.status == 0, explain(result)
        seen = [read_available(m) for m in masters]
    finally:
        for fd in masters + slaves:
            os.close(fd)
    assert "line-one" in seen[0] and "line-two" not in seen[0]
    assert "line-two" in seen[1]


def read_available(fd: int) -> str:
    data = b""
    while select.select([fd], [], [], 0.5)[0]:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: every slave side closed
            break
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace")


@needs_uml
def test_missing_serial_line_is_one_clear_error(tmp_path: Path) -> None:
    guest = Guest("alpha", "true", serial=[tmp_path / "no-such-pty"], folder=tmp_path / "alpha")
    with pytest.raises(UserError, match="cannot open serial line .*no-such-pty: No such file"):
        guest.start()
    assert guest.pid is None and guest.uml_dir is None
    guest.close()
