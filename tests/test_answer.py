"""``dialup-admin answer`` against the simulator's direct pair: the real command, a simulated modem.

The answering side runs as its own process on one end of a direct pair (no exchange);
the caller's modem is driven from the test like a terminal. Where answer execs pppd, a
stand-in records what pppd would get (this host has no /dev/ppp: the lab proves the PPP
link), and one test execs the real pppd to see it start on the port.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from dialup_admin.modem.simulator import PhoneLine
from tests.support.answer import LCP_FRAME, answering, record, recorder
from tests.support.modem import Terminal, live_lock
from tests.support.tool import run_tool

SERVER, CALLER = "11", "21"


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[PhoneLine]:
    with PhoneLine({SERVER: tmp_path / "ttyD0", CALLER: None}, direct=[(SERVER, CALLER)]) as pl:
        yield pl


def lock_file(root: Path) -> Path:
    return root / "var/lock/LCK..ttyD0"


def test_a_call_is_handed_to_pppd_with_the_callers_first_frame(pair: PhoneLine, root: Path, tmp_path: Path) -> None:
    fake, out = recorder(tmp_path)
    with answering(root, pair.port(SERVER), "--pppd", str(fake)) as ans:
        ans.wait_log("dial tone on")
        assert int(lock_file(root).read_text()) == ans.proc.pid  # the UUCP lock, as mgetty takes it
        with Terminal(pair.port(CALLER)) as caller:
            caller.command("ATX4")  # waits for the dial tone, as a Dreamcast does
            caller.type("ATDT5551234")
            caller.expect(rb"\r\nCONNECT 33600\r\n", timeout=30)
            caller.send(LCP_FRAME)
            rec = record(out)
        assert ans.wait() == 0
    assert bytes.fromhex(rec["data"]) == LCP_FRAME  # nothing after the CONNECT line was read by answer
    assert rec["pid"] == ans.proc.pid  # exec'd: pppd is the process init started
    assert rec["argv"] == [str(fake), "auth", "-chap", "+pap", "login", "debug"]
    assert rec["tty"] == pair.pty(SERVER) and rec["same_port"]  # the port on stdin and stdout
    assert rec["sid"] == rec["ctty_pgrp"] == rec["pid"]  # its own session, the port its controlling tty
    log = ans.log()
    steps = ["dial tone on (350+440 Hz)", "digits 5551234", "answering", "CONNECT 33600", f"pppd pid {rec['pid']}"]
    positions = [log.find(s) for s in steps]
    assert all(p >= 0 for p in positions) and positions == sorted(positions), log
    shown = run_tool("--root", str(root), "logs", "ttyD0").stdout.decode()  # what an admin reads
    assert [ln.split(None, 3)[3] for ln in shown.splitlines()][1:6] == [
        "dial tone on (350+440 Hz)", "digits 5551234", "answering", "CONNECT 33600",
        f"pppd pid {rec['pid']}: {fake} auth -chap +pap login debug"], shown
    assert all(f"answer[{rec['pid']}]" in ln for ln in shown.splitlines())


def test_the_real_pppd_starts_on_the_port(pair: PhoneLine, root: Path) -> None:
    with answering(root, pair.port(SERVER), "--pppd", "/usr/sbin/pppd", "--number", "11") as ans:
        ans.wait_log("dial tone on")
        with Terminal(pair.port(CALLER)) as caller:
            caller.command("ATX4")
            caller.command("ATDT11", "CONNECT 33600", timeout=30)
            status = ans.wait()
    assert "pppd pid" in ans.log() and "/usr/sbin/pppd auth -chap +pap login debug" in ans.log()
    if not os.path.exists("/dev/ppp"):
        # pppd itself says why it cannot go on here (the lab has the kernel PPP this host lacks)
        assert status == 4 and "/dev/ppp" in ans.stderr()


@pytest.mark.slow
def test_hang_ups_before_connect_leave_the_line_ready(pair: PhoneLine, root: Path, tmp_path: Path) -> None:
    fake, out = recorder(tmp_path)
    with answering(root, pair.port(SERVER), "--pppd", str(fake), "--connect-timeout", "5") as ans:
        ans.wait_log("dial tone on")
        with Terminal(pair.port(CALLER)) as caller:
            caller.command("ATX4")
            # 1. off hook, hears the dial tone, hangs up before dialing: nothing to notice
            mark = len(pair.events)
            caller.type("ATDT5")
            pair.wait_for(f"{CALLER} dial tone heard", since=mark, timeout=10)
            caller.type("x")  # a key while dialing aborts: the caller is back on hook
            caller.expect("NO CARRIER", timeout=5)
            # 2. dials, then hangs up while the server answers: no CONNECT after ATA
            mark = len(pair.events)
            caller.type("ATDT42")
            pair.wait_for(f"{CALLER} dialed 42", since=mark, timeout=10)
            caller.type("x")
            caller.expect("NO CARRIER", timeout=5)
            ans.wait_log("no CONNECT after ATA (NO CARRIER): resetting the modem", timeout=30)
            ans.wait_log("dial tone on", count=2)
            # 3. the next call goes through
            caller.command("ATDT7", "CONNECT 33600", timeout=30)
            caller.send(LCP_FRAME)
            rec = record(out)
    assert bytes.fromhex(rec["data"]) == LCP_FRAME
    log = ans.log()
    assert "digits 5\n" not in log and "digits 42" in log and "digits 7" in log


@pytest.mark.slow
def test_a_wrong_number_is_not_answered(pair: PhoneLine, root: Path, tmp_path: Path) -> None:
    fake, out = recorder(tmp_path)
    with answering(root, pair.port(SERVER), "--pppd", str(fake), "--number", "0101", "--dial-tone", "425") as ans:
        ans.wait_log("dial tone on (425 Hz)")
        with Terminal(pair.port(CALLER)) as caller:
            caller.command("ATX4S7=5")
            caller.command("ATDT999", "NO CARRIER", timeout=30)
            ans.wait_log("digits 999: not this line's number 0101; hanging up")
            ans.wait_log("dial tone on", count=2)
            caller.command("ATDT0101", "CONNECT 33600", timeout=30)
            assert record(out)["pid"] == ans.proc.pid


def test_digits_that_never_come_reset_the_modem_and_the_tone_comes_back(pair: PhoneLine, root: Path) -> None:
    with answering(root, pair.port(SERVER), "--dial-timeout", "1") as ans:
        ans.wait_log("no digits within 1 s: resetting the modem")
        ans.wait_log("dial tone on", count=2)
        os.kill(ans.proc.pid, 15)
        assert ans.wait() == 0
    assert "stopped (SIGTERM)" in ans.log()
    assert not lock_file(root).exists()
    assert pair.state(SERVER) == "idle"  # the port closed: DTR dropped, the modem on hook


def test_a_modem_without_voice_mode(tmp_path: Path, root: Path) -> None:
    with PhoneLine({SERVER: tmp_path / "ttyD0", CALLER: None}, direct=[(SERVER, CALLER)], no_voice=[SERVER]) as pl:
        with answering(root, pl.port(SERVER)) as ans:
            assert ans.wait() == 1
        err = ans.stderr().strip().splitlines()
    assert err == ["dialup-admin: error: no voice mode: use --no-dial-tone"]
    assert "no voice mode: use --no-dial-tone" in ans.log()
    assert not lock_file(root).exists()


@pytest.mark.slow
def test_no_dial_tone_answers_blind_callers(pair: PhoneLine, root: Path, tmp_path: Path) -> None:
    fake, out = recorder(tmp_path)
    with answering(root, pair.port(SERVER), "--no-dial-tone", "--connect-timeout", "5", "--pppd", str(fake)) as ans:
        ans.wait_log("no dial tone: answering blind-dialing callers")
        with Terminal(pair.port(CALLER)) as caller:
            caller.command("ATX4")
            caller.command("ATDT1", "NO DIALTONE", timeout=10)  # an X4 caller hears only answer tone
            caller.command("ATX3")
            caller.command("ATDT1", "CONNECT 33600", timeout=30)
            caller.send(LCP_FRAME)
            assert bytes.fromhex(record(out)["data"]) == LCP_FRAME


def test_a_locked_port_is_refused(pair: PhoneLine, root: Path) -> None:
    (root / "var/lock").mkdir(parents=True)
    with live_lock(root / "var/lock", "ttyD0") as pid:
        with answering(root, pair.port(SERVER)) as ans:
            assert ans.wait() == 1
        assert f"locked by pid {pid} (sleep)" in ans.stderr()
        assert int(lock_file(root).read_text()) == pid  # someone else's lock stays
    assert f"{SERVER} port opened" not in pair.events  # refused before opening the port


@pytest.mark.parametrize("args, message", [
    (["--dial-tone", "50"], "outside the telephone band"),
    (["--dial-tone", "425", "--no-dial-tone"], "exclude each other"),
    (["--number", "12a"], "bad number '12a'"),
    (["--speed", "12345"], "unsupported serial speed 12345"),
    (["--pppd", "/nonexistent/pppd"], "/nonexistent/pppd not found"),
])
def test_bad_input(root: Path, args: list[str], message: str) -> None:
    res = run_tool("--root", str(root), "answer", "ttyS1", *args)
    assert res.returncode in (1, 2) and message in res.stderr.decode(), res.stderr
    assert len(res.stderr.decode().strip().splitlines()) == 1
    assert not (root / "var").exists()
