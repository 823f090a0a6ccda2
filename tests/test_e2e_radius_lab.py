"""``dialup-admin lab --radius``: two dial-in servers, one FreeRADIUS, a caller, on the real stack.

pppd's radius.so in two UML server guests against Debian's FreeRADIUS in a third, on a
guest network (UML multicast); the caller dials both over the modem simulator.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.e2e import assert_in_order
from tests.support.lab import needs_uml
from tests.support.tool import run_tool

needs_freeradius = pytest.mark.skipif(not Path("/usr/sbin/freeradius").exists(),
                                      reason="FreeRADIUS is not installed (apt-get install freeradius)")


@pytest.mark.e2e
@pytest.mark.timeout(900)
@needs_uml
@needs_freeradius
def test_lab_radius_pool(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    proc = run_tool("--json", "lab", "--radius", "--folder", str(folder), timeout=840)
    out, err = proc.stdout.decode(), proc.stderr.decode()
    assert proc.returncode == 0, err[-6000:]
    report = json.loads(out)
    assert report["passed"]
    calls = [(c["client"], c["user"], c["ok"], c["refused"]) for c in report["calls"]]
    assert calls == [
        ("one", "alice", True, False),   # alice through server1
        ("two", "bob", True, False),     # bob through server2, at the same time
        ("two", "bob", True, True),      # a wrong password: refused
        ("two", "alice", True, True),    # alice again while on server1: Simultaneous-Use 1
        ("two", "alice", True, False),   # the primary RADIUS gone: the backup lets her in
        ("two", "alice", True, True),    # FreeRADIUS stopped: refused
    ]
    assert report["calls"][1]["local_ip"] == "192.168.33.2"  # server2's own pool
    story = [
        "radius$ dialup-admin radius-server --client server1=10.0.99.1 --client server2=10.0.99.2",
        "radius$ dialup-admin adduser alice --radius --max-sessions 1 --password-stdin",
        "freeradius running, pid",
        "server1$ dialup-admin setup-server --tty ttyS1 --pool 192.168.32.0/24 --init none --radius radius1 --radius radius2",
        "server1 |   write  /etc/ppp/radius/servers (0600 root:root, new)",
        "server1 log: pppd[",
        "PAP peer authentication succeeded for alice",
        "server2 log: pppd[",
        "PAP peer authentication succeeded for bob",
        "radius$ dialup-admin sessions --radius",
        "| alice  server1  ttyS1",
        "| bob    server2  ttyS1",
        "dialup-admin RADIUS refused bob: a wrong password",
        "Remote message: You are already logged in - access denied",
        "ended (User-Request)",
        "the primary RADIUS (10.0.99.10, radius1) goes away",
        "dialup-admin RADIUS server radius1 was not answering; the next one let alice in",
        "FreeRADIUS stops",
        "dialup-admin RADIUS server radius1, radius2 not answering: alice was refused for that, not for a wrong password",
        "PASS: both servers let callers in through the one FreeRADIUS",
    ]
    assert_in_order(err, story, shown=8000)
    for name in ("transcript.log", "events.log", "report.json", "radius/radius.log", "server1/syslog.log",
                 "server2/syslog.log", "server2/mgetty-ttyS1.log", "caller/syslog.log"):
        assert (folder / name).exists(), name
    assert list((folder / "radius/radacct").glob("10.0.99.*/detail-*")), "FreeRADIUS's accounting detail files"
