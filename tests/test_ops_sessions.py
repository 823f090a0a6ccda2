"""Session records: the real hook scripts run with pppd's environment, and `sessions`."""

from __future__ import annotations

import grp
import json
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from dialup_admin.core import sessions
from dialup_admin.paths import Paths
from tests.support.ns import mount_ns_problem
from tests.support.ops import fake_process, local_hook, pppd_env, run_hook, run_private
from tests.support.tool import RunCli

# The hooks give new record files (and their directory) to group adm where it exists.
GROUP = "adm" if subprocess.run(["getent", "group", "adm"], capture_output=True).returncode == 0 else "root"

needs_private_mounts = pytest.mark.skipif(mount_ns_problem() is not None, reason=mount_ns_problem() or "")


def test_up_then_down_is_one_call(tmp_path: Path) -> None:
    up, records = local_hook(tmp_path, "ip-up")
    down, _ = local_hook(tmp_path, "ip-down")
    run_hook(up, pppd_env())
    run_hook(down, pppd_env(CONNECT_TIME="75", BYTES_SENT="123456", BYTES_RCVD="7890"))
    recs, bad = sessions.parse_records(records.read_bytes())
    assert bad == 0 and [r.event for r in recs] == ["up", "down"]
    (call,) = sessions.build_sessions(recs, sessions.Live(Paths(tmp_path)), now=0)
    assert (call.user, call.tty, call.ifname, call.local, call.remote) == \
        ("dreamcast", "ttyS1", "ppp0", "192.168.32.1", "192.168.32.2")
    assert (call.duration, call.bytes_in, call.bytes_out, call.state) == (75, 7890, 123456, "ended")
    st = records.stat()
    assert stat.S_IMODE(st.st_mode) == 0o640 and st.st_uid == 0
    assert stat.S_IMODE(records.parent.stat().st_mode) == 0o750
    assert grp.getgrgid(st.st_gid).gr_name == GROUP == grp.getgrgid(records.parent.stat().st_gid).gr_name


@pytest.mark.parametrize("shell", ["/bin/sh", "/bin/bash", "busybox-sh"])
def test_one_write_per_record(tmp_path: Path, shell: str) -> None:
    """strace shows the record leaves in a single write(2) on an O_APPEND descriptor."""
    if subprocess.run(["which", "strace"], capture_output=True).returncode != 0:
        pytest.skip("strace is not installed")
    argv = [shutil.which("busybox") or "/bin/busybox", "sh"] if shell == "busybox-sh" else [shell]
    if subprocess.run([*argv, "-c", "true"], capture_output=True).returncode != 0:
        pytest.skip(f"{shell} is not available")
    up, records = local_hook(tmp_path, "ip-down")
    log = tmp_path / "trace"
    env = pppd_env(CONNECT_TIME="1", BYTES_SENT="2", BYTES_RCVD="3")
    proc = subprocess.run(["strace", "-f", "-e", "trace=openat,open,write", "-o", str(log), *argv, str(up)],
                          env=env, capture_output=True, timeout=60)
    if proc.returncode != 0 and b"ptrace" in proc.stderr:
        pytest.skip("ptrace is not permitted here")
    trace = log.read_text().splitlines()
    opened = [ln for ln in trace if "sessions.log" in ln and "open" in ln]
    assert opened and all("O_APPEND" in ln for ln in opened)
    line = records.read_bytes()
    assert line.count(b"\n") == 1 and len(line) < 4096  # under PIPE_BUF
    # strace -f lines: "PID write(...)", the pid padded with spaces when it is short.
    writes = [ln for ln in trace if re.match(r"^\d+\s+write\(", ln) and "dialup-admin/1" in ln]
    assert len(writes) == 1 and writes[0].rstrip().endswith(f"= {len(line)}")


def test_concurrent_calls_never_interleave(tmp_path: Path) -> None:
    up, records = local_hook(tmp_path, "ip-up")
    procs = []
    for i in range(24):
        env = pppd_env(PPPD_PID=str(5000 + i), IFNAME=f"ppp{i}", PEERNAME="u" * 60 + str(i))
        args = [env["IFNAME"], env["DEVICE"], env["SPEED"], env["IPLOCAL"], env["IPREMOTE"], ""]
        procs.append(subprocess.Popen([str(up), *args], env=env, stdin=subprocess.DEVNULL))
    for p in procs:
        assert p.wait(timeout=60) == 0
    recs, bad = sessions.parse_records(records.read_bytes())
    assert bad == 0 and sorted(r.pid or 0 for r in recs) == list(range(5000, 5024))


def test_caller_chosen_names_cannot_forge_records(tmp_path: Path) -> None:
    up, records = local_hook(tmp_path, "ip-up")
    evil = "x\tdown\t0\t1\nDIALUP-admin/1\tup\t1\t2\t\x1b[2J"
    run_hook(up, pppd_env(PEERNAME=evil, IFNAME="ppp0;rm -rf /"))
    data = records.read_bytes()
    assert data.count(b"\n") == 1 and data.count(b"\t") == 8
    recs, bad = sessions.parse_records(data)
    assert bad == 0 and recs[0].peer.startswith("x_down_0_1_DIALUP-admin") and "\x1b" not in recs[0].peer
    assert recs[0].ifname == "ppp0_rm_-rf__"


def test_missing_variables_still_make_a_record(tmp_path: Path) -> None:
    up, records = local_hook(tmp_path, "ip-up")
    subprocess.run([str(up)], env={}, check=True)  # pppd without auth: no PEERNAME, and so on
    recs, bad = sessions.parse_records(records.read_bytes())
    assert bad == 0 and recs[0].peer == "-" and recs[0].pid is None


def test_torn_and_foreign_lines_are_skipped() -> None:
    good = b"dialup-admin/1\tup\t100\t7\tppp0\tttyS1\tbob\t10.0.0.1\t10.0.0.2\n"
    data = b"garbage\n" + b"dialup-admin/1\tdown\t1" + good + b"dialup-admin/1\tup\tnot-a-time\n"
    recs, bad = sessions.parse_records(data)
    assert [r.peer for r in recs] == ["bob"] and bad == 3


@needs_private_mounts
def test_installed_hooks_run_through_debians_ip_up(root: Path, run: RunCli) -> None:
    """The files setup-server installs, run by the host's real /etc/ppp/ip-up (run-parts),
    next to an admin script that keeps running."""
    if "run-parts" not in Path("/etc/ppp/ip-up").read_text():
        pytest.skip("this host's /etc/ppp/ip-up is not Debian's run-parts wrapper")
    (root / "etc/ppp").mkdir(parents=True)
    for event in ("ip-up", "ip-down"):
        (root / f"etc/ppp/{event}").write_bytes(Path(f"/etc/ppp/{event}").read_bytes())
        os.chmod(root / f"etc/ppp/{event}", 0o755)
    assert run("setup-server", "--tty", "ttyS1", "--init", "none", "--no-accounts").exit_code == 0
    # Debian's wrapper runs ip-up.d already: no block is added to it.
    assert (root / "etc/ppp/ip-up").read_bytes() == Path("/etc/ppp/ip-up").read_bytes()
    admin = root / "etc/ppp/ip-up.d/00admin"
    admin.write_text("#!/bin/sh\necho \"admin $PPP_IFACE $PEERNAME\" >> /var/log/admin-ran\n")
    admin.chmod(0o755)
    out = run_private([(root / "etc/ppp/ip-up.d", "/etc/ppp/ip-up.d")], ["/etc/ppp/ip-up", "ppp0", "/dev/ttyS1",
                      "57600", "192.168.32.1", "192.168.32.2", ""], pppd_env())
    assert f"== /var/log/dialup-admin/sessions.log 640 root:{GROUP} 750" in out
    assert "\tup\t" in out and "\tdreamcast\t" in out
    assert "admin ppp0 dreamcast" in out


@needs_private_mounts
def test_installed_hooks_without_run_parts(root: Path, run: RunCli) -> None:
    """Not Debian: the admin's own ip-down gets a block calling our hook; its lines still run."""
    (root / "etc/ppp").mkdir(parents=True)
    own = "#!/bin/sh\necho \"admin down $1\" >> /var/log/admin-ran\n"
    (root / "etc/ppp/ip-down").write_text(own)
    os.chmod(root / "etc/ppp/ip-down", 0o750)
    assert run("setup-server", "--tty", "ttyS1", "--init", "none", "--no-accounts").exit_code == 0
    text = (root / "etc/ppp/ip-down").read_text()
    assert text.startswith(own) and "/etc/ppp/ip-down.d/dialup-admin" in text
    assert stat.S_IMODE((root / "etc/ppp/ip-down").stat().st_mode) == 0o750
    assert (root / "etc/ppp/ip-up").read_text().startswith("#!/bin/sh\n")  # made, as there was none
    env = pppd_env(CONNECT_TIME="30", BYTES_SENT="10", BYTES_RCVD="20")
    out = run_private([(root / "etc/ppp", "/etc/ppp")], ["/etc/ppp/ip-down", "ppp0", "/dev/ttyS1", "57600",
                      "192.168.32.1", "192.168.32.2", ""], env)
    assert "admin down ppp0" in out
    assert "\tdown\t" in out and "\t30\t10\t20\n" in out


def write_records(root: Path, text: str) -> None:
    d = root / "var/log/dialup-admin"
    d.mkdir(parents=True)
    (d / "sessions.log").write_text(text)


RECORDS = (
    "dialup-admin/1\tup\t1700000000\t100\tppp0\tttyS1\tdreamcast\t192.168.32.1\t192.168.32.2\n"
    "dialup-admin/1\tup\t1700000100\t200\tppp1\tttyS3\tmailstation\t192.168.32.3\t192.168.32.4\n"
    "dialup-admin/1\tdown\t1700000600\t100\tppp0\tttyS1\tdreamcast\t192.168.32.1\t192.168.32.2\t600\t5000\t3000\n"
    "dialup-admin/1\tup\t1700001000\t300\tppp0\tttyS1\tdreamcast\t192.168.32.1\t192.168.32.2\n"
)


def test_sessions_ended_active_lost(root: Path, run: RunCli) -> None:
    write_records(root, RECORDS)
    fake_process(root, 300, ["/usr/sbin/pppd", "auth", "-chap", "+pap", "login"], comm="pppd")
    fake_process(root, 200, ["/usr/bin/vim"])  # pid 200 was reused: that call is lost, not active
    stats = root / "sys/class/net/ppp0/statistics"
    stats.mkdir(parents=True)
    (stats / "rx_bytes").write_text("4321\n")
    (stats / "tx_bytes").write_text("8765\n")
    res = run("sessions", "--json")
    assert res.exit_code == 0
    calls = json.loads(res.stdout)
    assert [(c["user"], c["state"]) for c in calls] == [
        ("dreamcast", "ended"), ("mailstation", "lost"), ("dreamcast", "active")]
    assert (calls[0]["duration"], calls[0]["bytes_in"], calls[0]["bytes_out"]) == (600, 3000, 5000)
    assert (calls[2]["bytes_in"], calls[2]["bytes_out"]) == (4321, 8765)
    active = json.loads(run("sessions", "--active", "--json").stdout)
    assert [c["pid"] for c in active] == [300]
    table = run("sessions").output.splitlines()
    assert table[0].split() == ["USER", "TTY", "START", "DURATION", "CALLER", "IN", "OUT", "STATE"]
    assert "0:10:00" in table[1] and "2.9 KiB" in table[1] and table[1].rstrip().endswith("ended")


def test_sessions_without_records(root: Path, run: RunCli) -> None:
    res = run("sessions")
    assert res.exit_code == 0 and "No calls recorded yet." in res.output
    assert json.loads(run("sessions", "--json").stdout) == []
