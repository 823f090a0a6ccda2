"""The lab's host-side parts, without guests: transfers over loopback, the DTR stand-in on the
simulator, how the mgetty command is taken from setup-server, the summary, the command's errors."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from dialup_admin.errors import UserError
from dialup_admin.lab import scenario, transfer
from dialup_admin.lab.scenario import Call, Report, drop_dtr, mgetty_command
from dialup_admin.modem.simulator import PhoneLine
from tests.support.tool import run_tool


@pytest.fixture
def server() -> Iterator[int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    thread = threading.Thread(target=transfer.serve, args=(port,), daemon=True)
    thread.start()
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()  # a bad request: logged, ignored
            break
        except OSError:
            threading.Event().wait(0.02)
    yield port


def test_transfer_up_and_down_with_checksums(server: int, capsys: pytest.CaptureFixture[str]) -> None:
    seconds, ok = transfer.upload("127.0.0.1", 300_000, server)
    assert ok and seconds > 0
    seconds, ok = transfer.download("127.0.0.1", 300_000, server)
    assert ok and seconds > 0
    assert transfer.main(["send", "127.0.0.1", "--bytes", "1000", "--port", str(server)]) == 0
    assert transfer.main(["recv", "127.0.0.1", "--bytes", "1000", "--port", str(server)]) == 0
    out = capsys.readouterr().out
    assert "up 1000 bytes in " in out and "down 1000 bytes in " in out and out.count("sha256 ok") == 2


def test_transfer_to_nobody_fails_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert transfer.main(["send", "127.0.0.1", "--port", str(port)]) == 1
    assert capsys.readouterr().out.startswith("up failed: ")


def test_drop_dtr_hangs_up_the_simulated_modem() -> None:
    with PhoneLine({"11": None, "21": None}, ring_interval=0.2, trace=True) as line:
        fds = [os.open(line.pty(n), os.O_RDWR | os.O_NOCTTY) for n in ("11", "21")]  # what UML holds
        try:
            line.wait_for("21 port opened")
            line.wait_for("11 port opened")
            os.write(fds[0], b"ATS0=1\r")
            line.wait_for("11 command ATS0=1")
            os.write(fds[1], b"ATDT11\r")
            line.wait_for("21 CONNECT", timeout=10)
            drop_dtr(line.pty("11"))
            line.wait_for("11 DTR dropped", timeout=5)
            line.wait_for("21 NO CARRIER", timeout=5)
            assert line.state("11") == "idle" and line.is_open("11")  # the port stays open, as in UML
        finally:
            for fd in fds:
                os.close(fd)


NOTE = ("  note: --init none: keep mgetty running yourself (respawn it after each call): "
        "/sbin/mgetty ttyS1 -D /dev/ttyS1; /sbin/mgetty ttyS2 -D /dev/ttyS2")


def test_the_mgetty_command_is_the_one_setup_server_prints() -> None:
    assert mgetty_command(f"Server set up\n{NOTE}\n", "ttyS1") == "/sbin/mgetty ttyS1 -D /dev/ttyS1"
    assert mgetty_command(NOTE, "ttyS2") == "/sbin/mgetty ttyS2 -D /dev/ttyS2"
    with pytest.raises(UserError, match="did not say how to run mgetty for ttyS3"):
        mgetty_command(NOTE, "ttyS3")


def test_summary_pass_and_fail(tmp_path: Path) -> None:
    ok = Call(1, "client", "dreamcast", ok=True, atd_to_ip=5.25, local_ip="192.168.32.2", remote_ip="192.168.32.1",
              rtt_ms=0.9, up_kbs=600.0, down_kbs=520.0)
    report = Report(tmp_path, calls=[ok], boot_seconds={"server": 2.0, "client": 2.1}, setup_seconds=5.0,
                    seconds=40.0)
    lines = list(scenario.summary(report))
    assert lines[0] == ("  call 1 (client as dreamcast): ok, dial to IP 5.2 s, 192.168.32.2 <-> 192.168.32.1, "
                        "ping 0.9 ms, up 600 kB/s, down 520 kB/s")
    assert lines[-1].startswith("PASS: 1 call(s)")
    assert report.as_json()["passed"] is True
    bad = Report(tmp_path, calls=[Call(1, "client", "dreamcast", failed_stage="dial")], error="lab guest client "
                 "failed at stage dial: exit status 1")
    lines = list(scenario.summary(bad))
    assert "FAILED, failed at dial" in lines[0] and lines[-1] == "FAIL: lab guest client failed at stage dial: exit status 1"


def test_check_host_says_how_to_install_uml(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr("dialup_admin.system.commands.which", lambda prog: None)
    with pytest.raises(UserError) as exc:
        scenario.check_host()
    assert str(exc.value) == ("the lab needs user-mode Linux, a kernel with PPP that runs as a program: "
                              "linux.uml not found (install it: apt-get install user-mode-linux)")


def test_lab_command_errors(tmp_path: Path) -> None:
    proc = run_tool("--root", str(tmp_path), "lab")
    assert proc.returncode == 2
    assert proc.stderr.decode() == "dialup-admin: error: lab runs in its own guests: --root does not apply to it\n"
    proc = run_tool("lab", "--bps", "10")
    assert proc.returncode == 2 and "a line speed from 300 to 460800 bps" in proc.stderr.decode()
    proc = run_tool("lab", "--dry-run")
    if proc.returncode == 0:  # user-mode-linux installed
        assert "nothing on this machine changes" in proc.stdout.decode()
    else:
        assert "apt-get install" in proc.stderr.decode()


def test_agent_steps_results_and_errors(tmp_path: Path) -> None:
    # The host's end only: the guest's side is played by writing its files here.
    from dialup_admin.lab.agent import Agent
    from dialup_admin.lab.guest import Guest, GuestError

    guest = Guest("agent-test", "true", folder=tmp_path)
    agent = Agent(guest)
    step = agent.send("dial", "dialup-admin dial")
    assert (tmp_path / "cmd-1").read_text() == "dialup-admin dial\n"
    (tmp_path / "out-1").write_text("Dialing 11...\nModem: CONNECT\npartial")
    assert step.new_lines() == ["Dialing 11...", "Modem: CONNECT"] and step.new_lines() == []
    (tmp_path / "rc-1").write_text("0\n")
    shown: list[str] = []
    result = step.wait(5, show=shown.append)
    assert result.ok and result.lines[-1] == "partial" and shown == ["partial"]  # the rest once it ended
    failing = agent.send("hangup", "dialup-admin hangup")
    (tmp_path / "out-2").write_text("dialup-admin: error: no link\n")
    (tmp_path / "rc-2").write_text("1\n")
    (tmp_path / "syslog.log").write_text("pppd[1]: Exit.\n")
    with pytest.raises(GuestError) as exc:
        failing.wait(5)
    assert exc.value.stage == "hangup"
    assert str(exc.value).startswith("lab guest agent-test failed at stage hangup: exit status 1: "
                                     "dialup-admin: error: no link (logs in ")
    assert exc.value.log_lines == ["agent-test output: dialup-admin: error: no link",
                                   "agent-test syslog: pppd[1]: Exit."]
    with pytest.raises(GuestError, match="stopped during this step"):  # never started: not running
        agent.send("status", "dialup-admin status").wait(5)
    agent.stop()
    assert (tmp_path / "stop-4").exists()
