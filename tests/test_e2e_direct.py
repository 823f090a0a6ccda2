"""``dialup-admin lab --direct``: a direct line (no exchange) end to end, run as a user runs it.

The caller guest's modem is cabled to the server guest's by the simulator (no dial
tone, no ring); in the server guest setup-server made ttyS1 a direct line and
``dialup-admin answer`` keeps it, becoming the real pppd for each call. The tool's dial
(X4: it waits for answer's dial tone), a caller hanging up in the dial tone, a stock
pppd with chat and default LCP timers, and a wrong password, one after the other.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.support.e2e import assert_in_order
from tests.support.lab import needs_uml
from tests.support.tool import run_tool


@pytest.mark.e2e
@pytest.mark.timeout(600)
@needs_uml
def test_lab_direct(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    proc = run_tool("--json", "lab", "--direct", "--transfer", "65536", "--folder", str(folder), timeout=500)
    out, err = proc.stdout.decode(), proc.stderr.decode()
    assert proc.returncode == 0, err[-6000:]
    report = json.loads(out)
    assert report["passed"] and len(report["calls"]) == 3, report
    dial, stock, wrong = report["calls"]
    for call in (dial, stock):  # PAP, a ping and data both ways on each
        assert call["ok"] and call["local_ip"] == "192.168.32.2" and call["remote_ip"] == "192.168.32.1"
        assert call["rtt_ms"] > 0 and call["up_kbs"] > 0 and call["down_kbs"] > 0
        assert call["connect_to_ip"] is not None and call["connect_to_ip"] > 0
        assert 0 < call["connect_to_ipcp"] <= call["connect_to_ip"]  # IPCP acknowledged both ways, on the line
    assert stock["caller"] == "stock pppd + chat"
    assert wrong["expect_refusal"] and wrong["refused"] and wrong["ok"]
    story = [
        "Direct line: the caller's modem (21) cabled to the server's (11), no exchange",
        "server$ dialup-admin setup-server --tty ttyS1:direct --number 5551234",
        "respawn loop (as inittab would): ",
        " answer ttyS1",
        "server: answer plays the dial tone on ttyS1 (started)",
        "client$ dialup-admin dial",
        "line: client (21) dial tone heard",
        "line: client (21) dialed 5551234, waiting for a carrier",
        "ttyS1: digits 5551234",
        "ttyS1: answering",
        "line: client (21) CONNECT 33600",
        "ttyS1: pppd pid",
        "| PAP authentication succeeded",
        "client$ ping -c 3 192.168.32.1",
        "| up 65536 bytes in",
        "| down 65536 bytes in",
        "client$ dialup-admin hangup",
        "server: answer plays the dial tone on ttyS1 (start 2)",
        "== A caller hangs up during the dial tone",
        "line: client (21) dial tone heard",
        "line: client (21) DTR dropped",
        "client$ pppd call stock updetach",
        "server log: pppd[",  # the stock caller's call reaches the server's pppd
        "PAP peer authentication succeeded for dreamcast",
        "server: answer plays the dial tone on ttyS1 (start 3)",
        "== Call 3: client dials with a wrong password",
        "PAP peer authentication failed for dreamcast",
        "server: answer plays the dial tone on ttyS1 (start 4)",
        "PASS: 2 call(s) up, pinged, data both ways, hung up; 1 wrong password(s) refused",
    ]
    assert_in_order(err, story)
    assert re.search(r"call 2 \(client as dreamcast, stock pppd \+ chat\): ok, dial to IP [0-9.]+ s, "
                     r"CONNECT to IP [0-9.]+ s on the line, [0-9.]+ s to pppd's updetach", err)
    # The caller that hung up in the dial tone dialed no digit; answer noticed nothing and kept the tone on.
    events = (folder / "events.log").read_text()
    assert events.count(" 11 DTMF ") == 3 * len("5551234")  # three calls dialed; the fourth off-hook dialed nothing
    assert events.count(" 21 dial tone heard") == 4
    assert " 11 ppp LCP ConfReq" in events and " 21 ppp PAP AuthReq" in events  # the line monitor
    answer_log = (folder / "server" / "answer-ttyS1.log").read_text()
    assert answer_log.count("digits 5551234") == 3 and "no CONNECT" not in answer_log
    assert answer_log.count("started on ttyS1") == 4
