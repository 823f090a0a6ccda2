"""Debian's real mgetty answering a call on the simulator: init chat, RING, ATA, CONNECT,
its login prompt, and the caller's PPP bytes reaching it (what AutoPPP looks for)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dialup_admin.modem.simulator import PhoneLine
from tests.support.modem import Terminal

MGETTY = "/sbin/mgetty"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not os.path.exists(MGETTY), reason="mgetty is not installed"),
    pytest.mark.skipif(os.geteuid() != 0, reason="mgetty needs root and a port under /dev"),
]


@pytest.fixture
def tty_name() -> Iterator[str]:
    # mgetty wants its port under /dev and logs/locks by name: a name no one else uses.
    name = f"ttyVm{os.getpid() % 100000}"
    yield name
    for leftover in (Path(f"/var/log/mgetty/mg_{name}.log"), Path(f"/var/lock/LCK..{name}")):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()


def test_mgetty_answers_a_call(tty_name: str) -> None:
    with PhoneLine({"11": f"/dev/{tty_name}", "12": None}, trace=True) as line:
        mgetty = subprocess.Popen([MGETTY, "-D", "-x", "4", "-s", "57600", tty_name], stderr=subprocess.PIPE)
        try:
            line.wait_for("11 command ATQ0V1H0", timeout=30)  # mgetty's init chat
            n = len(line.events)
            line.wait_for("11 command AT", since=n, timeout=30)
            time.sleep(1.0)  # mgetty now waits for RING
            with Terminal(line.port("12")) as caller:
                caller.command("AT S7=45 S0=0 L1 V1 X4 &c1 E1 Q0")
                caller.type("ATDT11")
                caller.expect("CONNECT 33600", timeout=30)
                caller.expect("login:", timeout=30)
                assert any(ev == "11 command ATA" for ev in line.events)
                caller.send(b"\x7e\xff\x7d\x23\xc0\x21")  # the start of an LCP frame
                time.sleep(0.5)
            line.wait_for("12 port closed")
        finally:
            mgetty.terminate()
            try:
                mgetty.wait(10)
            except subprocess.TimeoutExpired:
                mgetty.kill()
                mgetty.wait()
