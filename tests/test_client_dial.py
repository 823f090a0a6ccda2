"""dial and hangup: the log parser and explanations on captured real logs, real pppd
against the modem simulator, hangup by pid."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from client_helpers import CALLER, LOGS, phone_line
from conftest import RunCli, run_tool
from dialup_admin.core.client import Client
from dialup_admin.core.dial import pppd_argv
from dialup_admin.paths import Paths
from dialup_admin.formats import pppd_log
from dialup_admin.system import ppp

INDEX = json.loads((LOGS / "index.json").read_text())
NO_KERNEL = not Path("/dev/ppp").exists()
needs_no_kernel_ppp = pytest.mark.skipif(not NO_KERNEL, reason="this kernel has PPP: the e2e lab tests dial for real")


def follow(name: str) -> pppd_log.Follower:
    f = pppd_log.Follower()
    for line in (LOGS / name).read_text().splitlines():
        f.feed(line)
    return f


NOT_AVAILABLE = pppd_log.KernelPpp(False, "/dev/ppp is missing", "modprobe ppp_generic ppp_async")

# --- the parser on captured logs --------------------------------------------------------


def test_guide_ppp_go_lines_are_the_stages() -> None:
    f = follow("guide-ppp-go.log")
    stages = [e.stage for e in f.events if e.stage]
    assert stages == (LOGS / "guide-ppp-go.log").read_text().splitlines()
    assert f.interface == "ppp0" and f.device == "/dev/modem"
    assert f.remote_message == "Session started successfully"
    assert f.compression == ["Deflate (15)"]
    assert f.up


def test_real_lab_success_log() -> None:
    f = follow("lab-success.log")
    assert INDEX["lab-success.log"]["status"] == 0
    stages = [e.stage for e in f.events if e.stage]
    assert stages == ["Dialing 11...", "Serial connection established.", "Using interface ppp0",
                      "Connect: ppp0 <--> /dev/ttyS1", "Remote message: Login ok", "PAP authentication succeeded",
                      "Deflate (15) compression enabled", "local  IP address 192.168.32.2",
                      "remote IP address 192.168.32.1", "primary   DNS address 192.168.32.1",
                      "secondary DNS address 192.168.32.3"]
    assert (f.interface, f.device, f.local, f.remote) == ("ppp0", "/dev/ttyS1", "192.168.32.2", "192.168.32.1")
    assert f.dns == ["192.168.32.1", "192.168.32.3"] and f.connected and f.up


def test_real_lab_wrong_password_log() -> None:
    f = follow("lab-wrong-password.log")
    assert INDEX["lab-wrong-password.log"]["status"] == 19
    assert pppd_log.explain(19, f, ppp.kernel_ppp) == (
        "the server refused our user name or password (the server said: Login incorrect): "
        "check pap-secrets on both sides")
    assert "password=<hidden>" in "\n".join(f.lines)  # pppd's hide-password: nothing to redact


def test_real_lab_busy_log() -> None:
    f = follow("lab-busy.log")
    assert INDEX["lab-busy.log"]["status"] == 8 and f.has("connect-failed")
    assert pppd_log.explain(8, f, ppp.kernel_ppp) == "the dial failed: the modem said BUSY (the number is busy)"


def test_real_connect_transcript() -> None:
    f = follow("chat-connect.log")
    assert INDEX["chat-connect.log"]["status"] == 0
    assert f.connected and f.modem_said is None
    assert [e.stage for e in f.events if e.stage] == ["Dialing 11..."]


@pytest.mark.parametrize("name, said, words", [
    ("chat-busy.log", "BUSY", "the number is busy"),
    ("chat-no-carrier.log", "NO CARRIER", "no modem answered"),
    ("chat-no-answer.log", "NO ANSWER", "nobody answered"),
    ("chat-no-dialtone.log", "NO DIALTONE", "no dial tone"),
])
def test_real_chat_failures_explained(name: str, said: str, words: str) -> None:
    f = follow(name)
    assert f.modem_said == said
    # chat exits 4 + the index of the ABORT string; pppd then logs this and exits 8.
    f.feed("Connect script failed")
    text = pppd_log.explain(8, f, ppp.kernel_ppp)
    assert text.startswith(f"the dial failed: the modem said {said}") and words in text
    assert "\n" not in text


def test_real_chat_timeout_explained() -> None:
    f = follow("chat-timeout.log")
    assert INDEX["chat-timeout.log"]["status"] == 3 and f.chat_timed_out
    text = pppd_log.explain(8, f, ppp.kernel_ppp)
    assert "did not answer OK in time" in text


@pytest.mark.parametrize("name", ["no-kernel-dev-missing.log", "no-kernel-enxio.log"])
def test_real_no_kernel_logs(name: str) -> None:
    assert INDEX[name]["status"] == 4
    f = follow(name)
    assert f.has("no-kernel")
    text = pppd_log.explain(4, f, NOT_AVAILABLE)
    assert text == "no kernel PPP support: /dev/ppp is missing; fix: modprobe ppp_generic ppp_async"


@pytest.mark.parametrize("status", sorted(pppd_log.EXIT_STATUS) + [99])
def test_every_exit_status_has_one_plain_line(status: int) -> None:
    text = pppd_log.explain(status, pppd_log.Follower(), NOT_AVAILABLE)
    assert text and "\n" not in text and "Traceback" not in text


@pytest.mark.parametrize("lines, status, want", [
    (["Device ttyS0 is locked by pid 4242"], 6, "ttyS0 is in use (locked by pid 4242)"),
    (["Failed to open /dev/ttyS9: No such file or directory"], 7, "could not be opened: /dev/ttyS9: No such file or directory"),
    (["Remote message: Login incorrect", "PAP authentication failed"], 19, "refused our user name or password (the server said: Login incorrect)"),
    (["LCP: timeout sending Config-Requests"], 10, "the other side never answered"),
    (["send (ATDT11^M)", "expect (CONNECT)", " -- got it", "", "Modem hangup"], 16, "the other side dropped the call"),
    (["Serial line is looped back."], 17, "looped back"),
    (["pppd: In file /etc/ppp/peers/dialup: unrecognized option 'bogus'"], 2, "refused its options: pppd: In file"),
])
def test_messages_pppd_writes(lines: list[str], status: int, want: str) -> None:
    # Message texts as pppd 2.4.9's sources write them (no kernel PPP here to capture them).
    f = pppd_log.Follower()
    for ln in lines:
        f.feed(ln)
    assert want in pppd_log.explain(status, f, ppp.kernel_ppp)


def test_compression_directions() -> None:
    f = pppd_log.Follower()
    for ln in ("Deflate (15) receive compression enabled", "BSD-Compress (15) transmit compression enabled"):
        f.feed(ln)
    assert f.compression == ["Deflate (15)", "BSD-Compress (15)"]


# --- kernel PPP detection -----------------------------------------------------------------


def test_kernel_without_ppp(tmp_path: Path) -> None:
    k = ppp.kernel_ppp(Paths(tmp_path), release="6.1.0-test")
    assert not k.available
    assert "ppp_generic" in k.reason and "dialup-admin lab" in k.fix and "modprobe ppp_generic ppp_async" in k.fix


def test_kernel_with_modules_not_loaded(tmp_path: Path) -> None:
    mod = tmp_path / "lib/modules/6.1.0-test/kernel/drivers/net/ppp"
    mod.mkdir(parents=True)
    (mod / "ppp_generic.ko.xz").write_bytes(b"")
    k = ppp.kernel_ppp(Paths(tmp_path), release="6.1.0-test")
    assert not k.available and k.fix == "modprobe ppp_generic ppp_async"


def test_kernel_driver_without_node(tmp_path: Path) -> None:
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc/devices").write_text("Character devices:\n  1 mem\n108 ppp\n")
    k = ppp.kernel_ppp(Paths(tmp_path), release="6.1.0-test")
    assert not k.available and "mknod /dev/ppp c 108 0" in k.fix


@needs_no_kernel_ppp
def test_this_machine_has_no_kernel_ppp() -> None:
    assert not ppp.kernel_ppp().available


# --- dial for real ------------------------------------------------------------------------


def setup_client(root: Path, device: str) -> None:
    proc = run_tool("--root", str(root), "setup-client", "--device", device, "--number", "11",
                    "--password-stdin", input=b"ppp\n")
    assert proc.returncode == 0, proc.stderr


@needs_no_kernel_ppp
def test_dial_for_real_reaches_no_kernel_ppp(root: Path) -> None:
    with phone_line() as line:
        setup_client(root, line.caller_port)
        proc = run_tool("--root", str(root), "dial", timeout=60)
        err = proc.stderr.decode()
        assert proc.returncode == 1, (proc.stdout, err)
        assert err.startswith("dialup-admin: error: no kernel PPP support:") and err.count("\n") == 1
        assert "fix: modprobe ppp_generic" in err and "dialup-admin lab" in err
        assert "Calling 11 on " + line.caller_port in proc.stdout.decode()
        # pppd 2.4.9 checks for kernel PPP before it opens the port: the modem never saw it.
        time.sleep(0.3)
        assert not any(e.startswith(f"{CALLER} port opened") for e in line.line.events), line.line.events
    assert not list((root / "var/lib/dialup-admin").glob("dial-*.json"))


@needs_no_kernel_ppp
def test_dial_verbose_shows_pppds_own_words(root: Path) -> None:
    setup_client(root, "/dev/ttyS0")
    proc = run_tool("--root", str(root), "dial", "-v", timeout=60)
    assert proc.returncode == 1
    assert "| Couldn't open the /dev/ppp device" in proc.stdout.decode()


def test_dial_dry_run_and_argv_carry_no_secret(root: Path, run: RunCli) -> None:
    setup_client(root, "/dev/ttyS0")
    res = run("dial", "--dry-run")
    assert res.exit_code == 0 and "Would run:" in res.output and "updetach" in res.output
    assert "ppp\n" not in res.output.split("Would run:")[1].replace("ppp/", "")
    c = Client(peer="dialup", device="/dev/ttyS0", number="11", user="ppp")
    assert pppd_argv(Paths(), c, "/usr/sbin/pppd") == ["/usr/sbin/pppd", "call", "dialup", "updetach"]


def test_dial_without_setup_is_one_line(run: RunCli) -> None:
    res = run("dial")
    assert res.exit_code == 1 and res.output.startswith("dialup-admin: error: no dial-out connection is set up")


# --- hangup ---------------------------------------------------------------------------------


def fake_pppd(tmp_path: Path, script: str) -> subprocess.Popen[bytes]:
    """A process whose name is pppd (a copy of bash), so hangup's pid check accepts it."""
    exe = tmp_path / "pppd"
    shutil.copy("/bin/bash", exe)
    proc = subprocess.Popen([str(exe), "-c", script.replace("read x", "echo ready; read x")],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"  # its traps are set
    assert ppp.is_pppd(proc.pid)
    return proc


def test_hangup_stops_pppd_by_pid_and_frees_the_port(root: Path, run: RunCli, tmp_path: Path) -> None:
    setup_client(root, "/dev/ttyS0")
    proc = fake_pppd(tmp_path, "read x")
    try:
        (root / "var/lock").mkdir(parents=True)
        (root / "var/lock/LCK..ttyS0").write_text(f"{proc.pid:10d}\n")
        ppp.DialRecord(peer="dialup", pid=proc.pid, device="/dev/ttyS0", interface="ppp0").save(Paths(root))
        res = run("hangup")
        assert res.exit_code == 0, res.output
        assert f"stopping pppd (pid {proc.pid}) on ppp0" in res.output and "Hung up" in res.output
        assert proc.wait(timeout=5) == -signal.SIGTERM
        assert not (root / "var/lock/LCK..ttyS0").exists()
        assert not (root / "var/lib/dialup-admin/dial-dialup.json").exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_hangup_kills_a_pppd_that_does_not_stop(root: Path, run: RunCli, tmp_path: Path) -> None:
    setup_client(root, "/dev/ttyS0")
    proc = fake_pppd(tmp_path, 'trap "" TERM; read x')
    try:
        ppp.DialRecord(peer="dialup", pid=proc.pid, device="/dev/ttyS0").save(Paths(root))
        res = run("hangup", "--timeout", "0.5")
        assert res.exit_code == 0, res.output
        assert "was killed" in res.output
        assert proc.wait(timeout=5) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_hangup_never_kills_a_recycled_pid(root: Path, run: RunCli) -> None:
    setup_client(root, "/dev/ttyS0")
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        ppp.DialRecord(peer="dialup", pid=sleeper.pid, device="/dev/ttyS0").save(Paths(root))
        res = run("hangup")
        assert res.exit_code == 0 and "nothing to hang up" in res.output
        assert sleeper.poll() is None
        assert not (root / "var/lib/dialup-admin/dial-dialup.json").exists()  # the stale record is gone
    finally:
        sleeper.kill()
        sleeper.wait()


def test_hangup_without_link(run: RunCli) -> None:
    res = run("hangup")
    assert res.exit_code == 0 and "nothing to hang up" in res.output
    assert os.path.exists  # no exception, no traceback


# --- run_pppd's process handling, with a stand-in for pppd ------------------------------


def test_run_pppd_passes_lines_and_exit_status() -> None:
    seen: list[str] = []
    run = ppp.run_pppd(["/bin/sh", "-c", "echo 'Serial connection established.'; echo 'Modem hangup'; exit 16"],
                       on_line=seen.append, timeout=30)
    assert run.status == 16 and not run.timed_out
    assert seen == ["Serial connection established.", "Modem hangup"]
    assert run.follower.has("modem-hangup")


def test_run_pppd_timeout_stops_it(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    run = ppp.run_pppd(["/bin/sh", "-c", f"echo started; echo $$ > {pidfile}; exec sleep 60"],
                       on_line=lambda _: None, timeout=1.5)
    assert run.timed_out and run.status is None
    pid = int(pidfile.read_text())
    for _ in range(50):
        if not ppp._alive(pid):
            break
        time.sleep(0.1)
    assert not ppp._alive(pid)  # SIGTERM reached the program, not only its session leader


def test_run_pppd_gives_the_program_no_controlling_terminal(tmp_path: Path) -> None:
    # pppd must not lead a session nor have our pty as its terminal (see commands._pty_not_controlling).
    out = tmp_path / "out"
    run = ppp.run_pppd(["/bin/sh", "-c", f"ps -o sid=,pid=,tty= -p $$ > {out}"], on_line=lambda _: None, timeout=30)
    assert run.status == 0
    sid, pid, tty = out.read_text().split()
    assert sid != pid and tty == "?"


def test_run_pppd_lines_arrive_while_it_runs(tmp_path: Path) -> None:
    # The program waits for a file that only the line callback creates: this finishes only
    # if each line reaches us as it is written (dial shows the stages as they happen).
    flag = tmp_path / "seen"

    def on_line(line: str) -> None:
        if line == "Serial connection established.":
            flag.touch()

    run = ppp.run_pppd(["/bin/sh", "-c", f"echo 'Serial connection established.'; "
                        f"while [ ! -e {flag} ]; do sleep 0.05; done; echo done"], on_line=on_line, timeout=30)
    assert run.status == 0 and not run.timed_out and run.follower.lines[-1] == "done"
