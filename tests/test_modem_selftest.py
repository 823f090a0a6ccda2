"""``dialup-admin test-modem`` against the simulator and against ports that misbehave."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dialup_admin.modem.simulator import PhoneLine
from tests.support.modem import Terminal, dead_pid, garbage_port, live_lock, silent_port
from tests.support.tool import RunCli


@pytest.fixture
def line(tmp_path: Path, lock_dir: Path) -> Iterator[PhoneLine]:
    with PhoneLine({"11": tmp_path / "ttyV0", "12": tmp_path / "ttyV1"}, ring_interval=0.2) as pl:
        yield pl


def test_passes_on_a_responsive_modem(run: RunCli, line: PhoneLine, lock_dir: Path) -> None:
    res = run("test-modem", line.port("11"))
    assert res.exit_code == 0, res.output
    out = res.stdout
    assert "PASS" in out and "AT S7=45 S0=0 L1 V1 X4 &c1 E1 Q0" in out
    assert "dialup-admin simulated modem" in out
    assert not list(lock_dir.iterdir())  # the lock is gone again
    line.wait_for("11 port closed")


def test_json_report(run: RunCli, line: PhoneLine, lock_dir: Path) -> None:
    res = run("test-modem", line.port("11"), "--init", "ATZ E1 V1", "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["ok"] is True and data["port"] == line.port("11")
    names = [s["name"] for s in data["steps"]]
    assert names[:3] == ["attention", "reset", "init string"]
    assert data["steps"][2]["command"] == "ATZ E1 V1"
    assert data["identity"]["ATI3"].startswith("dialup-admin simulated modem")
    assert data["identity"]["ATI2"] == "OK"
    assert all(isinstance(s["seconds"], float) for s in data["steps"])


def test_dial_connects_escapes_and_hangs_up(run: RunCli, line: PhoneLine, lock_dir: Path) -> None:
    with Terminal(line.port("11")) as server:
        server.command("ATS0=1")
        res = run("--json", "test-modem", line.port("12"), "--dial", "11")
        assert res.exit_code == 0, res.output
        steps = {s["name"]: s for s in json.loads(res.stdout)["steps"]}
        assert steps["dial"]["result"] == "CONNECT 33600"
        assert steps["escape to command mode"]["ok"]
        assert steps["hang up"]["ok"]
        server.expect("NO CARRIER")


def test_dial_expecting_busy(run: RunCli, line: PhoneLine, lock_dir: Path) -> None:
    res = run("test-modem", line.port("12"), "--dial", "0123456789", "--expect", "busy")
    assert res.exit_code == 0, res.output
    res = run("test-modem", line.port("12"), "--dial", "0123456789")
    assert res.exit_code == 1
    assert "dial: ATDT0123456789 -> BUSY (expected CONNECT)" in res.stderr


def test_init_string_rejected(run: RunCli, line: PhoneLine, lock_dir: Path) -> None:
    res = run("test-modem", line.port("11"), "--init", "AT&Z9")
    assert res.exit_code == 1
    assert "did not accept the init string 'AT&Z9': ERROR" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_silent_modem_fails_in_bounded_time(run: RunCli, lock_dir: Path) -> None:
    with silent_port() as port:
        t0 = time.monotonic()
        res = run("test-modem", port, "--timeout", "0.5")
        assert time.monotonic() - t0 < 10
    assert res.exit_code == 1
    assert "is silent: no answer to AT within 0.5 s" in res.stderr


def test_garbage_talking_port(run: RunCli, lock_dir: Path) -> None:
    with garbage_port() as port:
        res = run("test-modem", port, "--timeout", "0.5")
    assert res.exit_code == 1
    assert "answers, but not like a modem" in res.stderr


def test_port_locked_by_a_live_process(run: RunCli, line: PhoneLine, lock_dir: Path) -> None:
    with live_lock(lock_dir, "ttyV0") as pid:
        res = run("test-modem", line.port("11"))
    assert res.exit_code == 1
    assert f"is locked by pid {pid} (sleep)" in res.stderr
    assert not any("11 port opened" in ev for ev in line.events)  # never touched


def test_stale_lock_is_removed_and_noted(run: RunCli, line: PhoneLine, lock_dir: Path) -> None:
    pid = dead_pid()
    (lock_dir / "LCK..ttyV0").write_bytes(b"%10d\n" % pid)
    res = run("test-modem", line.port("11"))
    assert res.exit_code == 0, res.output
    assert f"removed stale lock file" in res.stdout and f"pid {pid}" in res.stdout
    assert not (lock_dir / "LCK..ttyV0").exists()


def test_missing_port_and_not_a_tty(run: RunCli, tmp_path: Path, lock_dir: Path) -> None:
    res = run("test-modem", str(tmp_path / "ttyS7"))
    assert res.exit_code == 1 and "no such port" in res.stderr
    (tmp_path / "notatty").write_text("")
    res = run("test-modem", str(tmp_path / "notatty"))
    assert res.exit_code == 1 and "not a serial port (not a tty)" in res.stderr
    assert not list(lock_dir.iterdir())


def test_bad_options(run: RunCli, line: PhoneLine, lock_dir: Path) -> None:
    res = run("test-modem", line.port("11"), "--expect", "MAYBE")
    assert res.exit_code == 2 and "unknown result" in res.stderr
    res = run("test-modem", line.port("11"), "--speed", "12345")
    assert res.exit_code == 2
    res = run("test-modem", line.port("11"), "--init", "hello")
    assert res.exit_code == 2
