"""End to end: two lines at once. One server guest with two modems (ttyS1, ttyS2; numbers
11 and 12), set up by ``setup-server --tty ttyS1 --tty ttyS2``, an mgetty respawning on
each; two caller guests dial at the same moment, each its own line. Each gets its own
line's address, pings the server through its own link, and moves random data."""

from __future__ import annotations

import pytest

from dialup_admin.lab.scenario import Call, Lab, User
from tests.support.e2e import Record
from tests.support.lab import needs_uml

pytestmark = [pytest.mark.e2e, needs_uml, pytest.mark.timeout(600)]

ALICE = User("alice", "Alice-Pass-111")
BOB = User("bob", "Bob-Pass-2222")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Record:
    folder = tmp_path_factory.mktemp("e2e-two-lines")
    rec = Record(folder)
    with Lab(folder, lines=2, clients=2, say=print) as lab:
        rec.phase("setup", lambda: lab.setup_server([ALICE, BOB]))
        rec.phase("setup-client1", lambda: lab.setup_client("client1", ALICE, server_line=0))
        rec.phase("setup-client2", lambda: lab.setup_client("client2", BOB, server_line=1))

        def both() -> dict[str, Call]:
            calls = {"client1": Call(1, "client1", ALICE.name), "client2": Call(2, "client2", BOB.name)}
            # Both dial at once: the steps run in their guests in parallel.
            steps = {name: lab.client(name).send("dial", f"{lab.tool_cmd} dial") for name in calls}
            for name, step in steps.items():
                def show(line: str, who: str = name) -> None:
                    lab.say(f"  {who} | {line}")
                lab.parse_dial(calls[name], step.wait(180, show=show))
            for name, call in calls.items():
                lab.ping(name, call)
                lab.transfer(name, call, 65536)
            # Both links are up at the same time on the server: two pppd, ppp0 and ppp1.
            assert lab.server is not None
            lab.step(lab.server, "links", "ip -4 -o addr show | grep ppp", title="ip -4 -o addr show (ppp)")
            for name in calls:
                lab.tool(lab.client(name), "hangup", "hangup")
                lab.port_closed(name)
            return calls

        rec.phase("both", both)
        def ready() -> None:
            for tty in ("ttyS1", "ttyS2"):
                lab.wait_mgetty(tty, 2)

        rec.phase("ready", ready)
        rec.phases["syslog"] = lab.server_syslog()
        lab.ok = rec.error is None
    return rec


def test_two_callers_at_once_get_their_own_line_and_address(run: Record) -> None:
    calls = run.get("both")
    assert isinstance(calls, dict)
    one, two = calls["client1"], calls["client2"]
    assert (one.local_ip, one.remote_ip) == ("192.168.32.2", "192.168.32.1"), run.why()
    assert (two.local_ip, two.remote_ip) == ("192.168.32.4", "192.168.32.3"), run.why()
    assert one.rtt_ms is not None and two.rtt_ms is not None
    assert one.up_kbs and two.up_kbs and one.down_kbs and two.down_kbs
    links = (run.folder / "server" / "steps").glob("*-links.log")
    text = "".join(p.read_text() for p in links)
    assert "192.168.32.1 peer 192.168.32.2" in text and "192.168.32.3 peer 192.168.32.4" in text, text
    syslog = str(run.get("syslog"))
    assert "user alice logged in on tty ttyS1" in syslog
    assert "user bob logged in on tty ttyS2" in syslog


def test_both_lines_answer_again_after_the_calls(run: Record) -> None:
    run.get("ready")
