"""``dialup-admin lab``, the README's main job, run as a user runs it (a real subprocess)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.support.e2e import assert_in_order
from tests.support.lab import needs_init, needs_uml
from tests.support.tool import run_tool


@pytest.mark.e2e
@pytest.mark.timeout(600)
@needs_uml
@needs_init("systemd")
def test_lab_shows_the_guide_and_passes(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    proc = run_tool("--json", "lab", "--transfer", "262144", "--folder", str(folder), timeout=400)
    out, err = proc.stdout.decode(), proc.stderr.decode()  # --json: the story goes to stderr
    assert proc.returncode == 0, err[-4000:]
    report = json.loads(out)
    assert report["passed"] and len(report["calls"]) == 1
    assert report["init"] == "systemd"  # the default: the server guest's PID 1
    call = report["calls"][0]
    assert call["local_ip"] == "192.168.32.2" and call["remote_ip"] == "192.168.32.1"
    assert call["up_kbs"] > 0 and call["down_kbs"] > 0 and call["rtt_ms"] > 0 and call["atd_to_ip"] > 0
    # What the guide shows, in order: setup, ringing and answer, ppp-go's lines, status,
    # ping, the transfer with its rate, stats, hang-up; then the summary.
    story = [
        "The server (systemd is PID 1)",
        "server$ dialup-admin setup-server --tty ttyS1",
        "run    systemctl daemon-reload",
        "server$ dialup-admin adduser dreamcast --password-stdin",
        "mgetty on ttyS1 waits for a call",
        "server$ pgrep -a mgetty",
        "/sbin/mgetty ttyS1 -D /dev/ttyS1",
        "| mgetty@ttyS1.service: active/running, main PID",
        "client$ dialup-admin setup-client --device /dev/ttyS1 --number 11",
        "client$ dialup-admin dial",
        "line: server (11) RING 1",
        "line: server (11) CONNECT",
        "| PAP authentication succeeded",
        "| local  IP address 192.168.32.2",
        "| remote IP address 192.168.32.1",
        "| primary   DNS address 192.168.32.1",
        "client$ dialup-admin status",
        "| ppp0: UP  local 192.168.32.2  peer 192.168.32.1",
        "client$ ping -c 3 192.168.32.1",
        "3 packets received",
        "| up 262144 bytes in",
        "| down 262144 bytes in",
        "client$ dialup-admin stats",
        "client$ dialup-admin hangup",
        "| Hung up: ppp0 is down",
        "PASS: 1 call(s) up",
    ]
    assert_in_order(err, story)
    assert re.search(r"call 1 \(client as dreamcast\): ok, dial to IP [0-9.]+ s", err)
    for name in ("transcript.log", "events.log", "report.json", "server/syslog.log", "server/mgetty-ttyS1.log",
                 "client/syslog.log"):
        assert (folder / name).exists(), name
