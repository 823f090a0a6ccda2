"""End to end in kernels with PPP: the client commands in a user-mode Linux guest dial,
through the modem simulator, a guest whose pppd answers with PAP (the full server with
mgetty is the e2e issue's); dial's stages, status, stats, ping, hangup."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dialup_admin.formats import secrets
from tests.support.client import CALLER, SERVER, lab_dial, ppp_go
from tests.support.lab import needs_uml

pytestmark = [pytest.mark.e2e, needs_uml]

# The bare pppd of the server guest (pap-secrets, no login) and its two ms-dns.
PPP_GO = ppp_go("Login ok", dns=("192.168.32.1", "192.168.32.3"))


def test_dial_status_stats_hangup(tmp_path: Path) -> None:
    run = lab_dial(tmp_path)
    out = run.client_output
    assert run.client_status == 0, out + run.client_syslog
    lines = out.splitlines()
    start = lines.index("Dialing 11...")
    assert lines[start:start + len(PPP_GO)] == PPP_GO  # ppp-go's stages, in order
    assert "dial exit 0" in lines and "ping ok" in lines and "hangup exit 0" in lines
    assert "ppp0: UP  local 192.168.32.2  peer 192.168.32.1  mtu 1500" in lines
    (link,) = json.loads((tmp_path / "client/status.json").read_text())["links"]
    assert link["default_route"] and link["counters"]["rx_packets"] > 0
    # stats: pppstats' columns from the PPP driver (a real ppp0 answers SIOCGPPPSTATS).
    head = next(i for i, ln in enumerate(lines) if ln.split()[:1] == ["IN"])
    assert lines[head].split() == ["IN", "PACK", "VJCOMP", "VJUNC", "VJERR", "|", "OUT", "PACK", "VJCOMP", "VJUNC",
                                   "NON-VJ"]
    figures = [int(x) for x in lines[head + 1].replace("|", " ").split()]
    assert figures[0] > 0 and figures[1] >= 2 and figures[6] >= 2  # the pings went both ways
    zhead = next(i for i, ln in enumerate(lines) if ln.split()[:1] == ["IN:COMP"])
    assert len(lines[zhead + 1].replace("|", " ").split()) == 10
    assert lines[-1] == "No PPP link is up."  # after hangup
    # hangup dropped the call: the server's modem got NO CARRIER, its pppd ended.
    assert f"{SERVER} NO CARRIER" in run.events
    assert "server pppd exit" in run.server_output


def test_wrong_password(tmp_path: Path) -> None:
    run = lab_dial(tmp_path, password="wrong")
    assert ("dialup-admin: error: the server refused our user name or password "
            "(the server said: Login incorrect): check pap-secrets on both sides") in run.client_output, \
        run.client_output + run.client_syslog
    assert "dial exit 1" in run.client_output


def test_busy(tmp_path: Path) -> None:
    run = lab_dial(tmp_path, server=False)  # no one on number 11: busy
    assert "Modem: BUSY" in run.client_output
    assert "dialup-admin: error: the dial failed: the modem said BUSY (the number is busy)" in run.client_output
    assert f"{CALLER} BUSY (11: not open)" in run.events


def test_password_with_quotes_and_spaces_reaches_pppd(tmp_path: Path) -> None:
    # setup-client writes the client's entry; the server's is written with the same
    # formats.secrets writer: real pppd on both sides must read the same secret back.
    password = "p\"a ss\\w#rd' x"
    run = lab_dial(tmp_path, password=password,
                   server_secrets=secrets.format_entry(secrets.Entry("ppp", "*", password, ("*",))))
    assert "PAP authentication succeeded" in run.client_output, run.client_output + run.client_syslog
    assert "dial exit 0" in run.client_output
