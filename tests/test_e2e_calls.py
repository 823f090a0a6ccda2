"""End to end on the real stack: calls in a row to one server, all driven by dialup-admin.

One lab (:class:`dialup_admin.lab.scenario.Lab`): a server guest set up by
``setup-server --init none`` and ``adduser`` with real mgetty answering in a respawn
loop, and a caller guest that runs ``setup-client`` and ``dial``; real pppd on both
sides, real chat, PAP against the accounts adduser made, the modem simulator between.
The calls, in this order, on the same mgetty respawn loop:

1. dreamcast (pool address): ping, 1 MiB of random data each way, stats, hang-up;
2. dreamcast with a wrong password: refused;
3. mailstation (``adduser --ip 192.168.32.12``): answered, gets its static address;
4. dreamcast vanishes (its pppd killed -9, the line stays up): the server's LCP echo
   notices, pppd ends, mgetty starts again;
5. dreamcast again: the server is ready, the call comes up.

Each test checks one of these from the shared run (about a minute and a half).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dialup_admin.lab.agent import StepResult
from dialup_admin.lab.scenario import Call, Lab, User
from tests.support.client import ppp_go
from tests.support.e2e import Record, server_text
from tests.support.lab import needs_uml

# The shared run (about 2.5 minutes here) is set up within the first test's time limit.
pytestmark = [pytest.mark.e2e, needs_uml, pytest.mark.timeout(900)]

DREAMCAST = User("dreamcast", "Dream-Pass-2000")
WRONG = User("dreamcast", "Wrong-Password-9")
MAILSTATION = User("mailstation", "Mail-Station-350", ip="192.168.32.12")
ECHO_FAILED = "No response to [0-9]+ echo-requests|Serial link appears to be disconnected"

# The pppd mgetty starts (login.config: +pap login, PAM's message) and setup-server's one ms-dns.
PPP_GO = ppp_go("Session started successfully", dns=("192.168.32.1",))


def _vanish(lab: Lab) -> dict[str, object]:
    lab.wait_mgetty("ttyS1", 4)
    lab.setup_client("client", DREAMCAST, new_password=True)
    call = Call(4, "client", DREAMCAST.name)
    lab.drain("client")
    lab.dial("client", call)
    lab.ping("client", call, count=1)
    lab.vanish("client")
    lab.say("== The caller is gone; the line stays up: the server's LCP echo must notice")
    lab.server_log(ECHO_FAILED, timeout=120)
    lab.wait_mgetty("ttyS1", 5)
    return {"call": call}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Record:
    folder = tmp_path_factory.mktemp("e2e-calls")
    rec = Record(folder)
    with Lab(folder, say=print) as lab:
        rec.phase("setup", lambda: lab.setup_server([DREAMCAST, MAILSTATION]))
        rec.phase("setup-client", lambda: lab.setup_client("client", DREAMCAST))
        rec.phase("call1", lambda: lab.call(Call(1, "client", DREAMCAST.name)))

        def wrong() -> dict[str, object]:
            lab.wait_mgetty("ttyS1", 2)
            lab.setup_client("client", WRONG, new_password=True)
            call = Call(2, "client", WRONG.name)
            lab.drain("client")
            result = lab.dial("client", call, expect_refusal=True)
            lab.port_closed("client")
            return {"call": call, "result": result}

        rec.phase("wrong", wrong)

        def static() -> Call:
            lab.wait_mgetty("ttyS1", 3)
            lab.setup_client("client", MAILSTATION, new_password=True)
            return lab.call(Call(3, "client", MAILSTATION.name), transfer=0)

        rec.phase("static", static)
        rec.phase("vanish", lambda: _vanish(lab))
        rec.phase("again", lambda: lab.call(Call(5, "client", DREAMCAST.name), transfer=65536))
        rec.phase("ready", lambda: lab.wait_mgetty("ttyS1", 6))  # and waits for the next
        rec.phases["syslog"] = lab.server_syslog()
        rec.phases["respawn"] = server_text(lab, "respawn-ttyS1.log")
        lab.ok = rec.error is None
    rec.phases["mgetty-log"] = (folder / "server" / "mgetty-ttyS1.log").read_text(errors="replace") \
        if (folder / "server" / "mgetty-ttyS1.log").exists() else ""
    return rec


def test_a_call_carries_ping_and_random_data_both_ways(run: Record) -> None:
    call = run.get("call1")
    assert isinstance(call, Call)
    assert call.ok, run.why()
    lines = call.dial_output.splitlines()
    start = lines.index("Dialing 11...")
    assert lines[start:start + len(PPP_GO)] == PPP_GO, run.why()  # ppp-go's lines, in order
    assert call.rtt_ms is not None and call.rtt_ms > 0
    assert call.up_kbs and call.down_kbs  # 1 MiB each way, SHA-256 checked by the receiver
    transcript = (run.folder / "client" / "steps").glob("*transfer*.log")
    texts = [p.read_text() for p in transcript]
    assert any("up 1048576 bytes" in t and "sha256 ok" in t for t in texts)
    assert any("down 1048576 bytes" in t and "sha256 ok" in t for t in texts)
    syslog = str(run.get("syslog"))
    # Real mgetty handed the call to pppd (AutoPPP), which checked the account adduser made.
    assert "cmd='/usr/sbin/pppd', user='/AutoPPP/'" in syslog
    assert "PAP peer authentication succeeded for dreamcast" in syslog
    assert "user dreamcast logged in on tty ttyS1" in syslog
    stats = (run.folder / "client" / "steps")
    head = next(p for p in sorted(stats.glob("*-stats.log")))
    figures = head.read_text().splitlines()[2].replace("|", " ").split()
    assert int(figures[0]) > 1_048_576 and int(figures[5]) > 1_048_576  # bytes in and out


def test_a_wrong_password_is_refused_and_the_next_call_answered(run: Record) -> None:
    wrong = run.get("wrong")
    assert isinstance(wrong, dict)
    call = wrong["call"]
    assert isinstance(call, Call)
    result = wrong["result"]
    assert isinstance(result, StepResult)
    assert not result.ok and call.refused, run.why()
    assert "the server refused our user name or password" in call.dial_output
    assert "PAP peer authentication failed for dreamcast" in str(run.get("syslog"))
    nxt = run.get("static")
    assert isinstance(nxt, Call) and nxt.ok, run.why()


def test_a_static_address_from_adduser_ip_is_the_one_the_caller_gets(run: Record) -> None:
    call = run.get("static")
    assert isinstance(call, Call)
    assert call.local_ip == "192.168.32.12" and call.remote_ip == "192.168.32.1", run.why()
    assert "local  IP address 192.168.32.12" in call.dial_output
    assert "remote IP address 192.168.32.12" in str(run.get("syslog"))


def test_the_server_notices_a_caller_that_vanished_and_is_ready_again(run: Record) -> None:
    vanish = run.get("vanish")
    assert isinstance(vanish, dict)
    syslog = str(run.get("syslog"))
    assert re.search(ECHO_FAILED, syslog), run.why()  # LCP echo, not a hang-up, ended it
    after = run.get("again")
    assert isinstance(after, Call) and after.ok, run.why()
    assert after.local_ip == "192.168.32.2"


def test_several_calls_in_a_row_on_one_respawning_mgetty(run: Record) -> None:
    run.get("ready")
    respawn = str(run.get("respawn"))
    starts = re.findall(r"^start (\d+): (\S+) ttyS1", respawn, re.M)
    assert len(starts) >= 6, respawn  # one mgetty per call, and one waiting for the next
    binaries = {s[1] for s in starts}  # the one setup-server chose: Debian's, or a build-mgetty one
    assert len(binaries) == 1 and binaries.pop().endswith("/mgetty")
    log = str(run.get("mgetty-log"))
    assert log.count("waiting...") >= 6, log[-2000:]
    assert log.count("/AutoPPP/") >= 5  # every call was handed to pppd by AutoPPP


def test_every_log_is_in_the_lab_folder(run: Record) -> None:
    folder: Path = run.folder
    for name in ("events.log", "transcript.log", "server/syslog.log", "server/mgetty-ttyS1.log",
                 "client/syslog.log", "server/respawn-ttyS1.log"):
        assert (folder / name).stat().st_size > 0, name
    assert "pppd" in (folder / "client/syslog.log").read_text()
