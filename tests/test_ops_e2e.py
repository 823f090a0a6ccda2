"""End to end: the session hooks setup-server installs record a real PPP call.

Two user-mode Linux guests (kernel PPP) joined by a socat pty pair. The server guest runs
the tool's setup-server on its private /etc, then pppd requiring PAP; the caller
authenticates as "dreamcast", pings, and the server hangs up. pppd itself runs the
host's Debian /etc/ppp/ip-up and ip-down (run-parts), which run our hooks; the tool's
``sessions`` and ``doctor`` then run inside the guest.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dialup_admin.lab import Guest, GuestError, wait_all
from dialup_admin.lab.guest import tool_command
from tests.support.lab import folder_logs, needs_uml, pty_pair

TOOL = tool_command()

SERVER = f"""
{TOOL} setup-server --tty ttyS1 --init none --no-accounts --pool 10.0.0.0/24 > setup.log 2>&1 || {{ cat setup.log; exit 9; }}
: > /etc/ppp/options
printf 'dreamcast * "s3cret-pw" *\\n' > /etc/ppp/pap-secrets
pppd /dev/ttyS1 57600 nodetach local require-pap noipv6 10.0.0.1:10.0.0.2 &
pid=$!
lab_wait_iface ppp0 30 || {{ echo "no link"; kill $pid; exit 1; }}
lab_wait_ping 10.0.0.2 20 || {{ echo "no answer"; kill $pid; exit 2; }}
lab_until 20
until grep -q "	up	" /var/log/dialup-admin/sessions.log 2>/dev/null || lab_expired; do sleep 0.2; done
{TOOL} sessions --active --json | lab_put active.json
lab_mark pinged
lab_wait_file hangup 60 || echo "the host did not say hang up"
kill $pid
wait $pid
lab_until 20
until grep -q "	down	" /var/log/dialup-admin/sessions.log 2>/dev/null || lab_expired; do sleep 0.2; done
lab_put records.log < /var/log/dialup-admin/sessions.log
stat -c '%a %U:%G' /var/log/dialup-admin/sessions.log | lab_put records.mode
{TOOL} sessions --json | lab_put sessions.json
{TOOL} doctor --json | lab_put doctor.json
echo done
"""

CLIENT = """
: > /etc/ppp/options
pppd /dev/ttyS1 57600 nodetach local noauth noipv6 noipdefault user dreamcast password s3cret-pw &
pid=$!
lab_wait_iface ppp0 30 || { echo "no link"; kill $pid; exit 1; }
lab_wait_ping 10.0.0.1 20 || { echo "no answer"; kill $pid; exit 2; }
busybox ping -c 3 -w 20 10.0.0.1 > /dev/null || { kill $pid; exit 2; }
lab_mark pinged
wait $pid
echo "pppd exit $?"
"""


@pytest.mark.e2e
@needs_uml
def test_real_call_is_recorded(tmp_path: Path) -> None:
    with pty_pair() as (line_a, line_b):
        server = Guest("server", SERVER, serial=[line_a], folder=tmp_path / "server")
        client = Guest("client", CLIENT, serial=[line_b], folder=tmp_path / "client")
        with server, client:
            try:
                server.wait_for_file("pinged", timeout=120)
                client.wait_for_file("pinged", timeout=120)
                server.put("hangup", "")
                srv, _cli = wait_all([server, client], timeout=120)
            except GuestError as exc:
                server.keep = client.keep = True
                pytest.fail(f"{exc}\n" + "\n".join(exc.log_lines + folder_logs(server.folder)
                                                    + folder_logs(client.folder)))
    folder = tmp_path / "server"
    assert srv.status == 0, srv.output + srv.syslog
    records = (folder / "records.log").read_text().splitlines()
    assert [r.split("\t")[1] for r in records] == ["up", "down"], records
    up, down = (r.split("\t") for r in records)
    assert up[4:9] == ["ppp0", "ttyS1", "dreamcast", "10.0.0.1", "10.0.0.2"]
    assert int(down[10]) > 0 and int(down[11]) > 0  # BYTES_SENT, BYTES_RCVD from pppd
    assert (folder / "records.mode").read_text().strip() in ("640 root:adm", "640 root:root")
    (active,) = json.loads((folder / "active.json").read_text())
    assert active["state"] == "active" and active["user"] == "dreamcast" and active["bytes_in"] > 0
    (call,) = json.loads((folder / "sessions.json").read_text())
    assert (call["user"], call["tty"], call["remote"], call["state"]) == ("dreamcast", "ttyS1", "10.0.0.2", "ended")
    assert call["bytes_in"] == int(down[11]) and call["duration"] is not None
    findings = {f["check"]: f for f in json.loads((folder / "doctor.json").read_text())["findings"]}
    assert findings["kernel-ppp"]["level"] == "ok"  # the guest's kernel has PPP
    assert findings["session-hooks"]["level"] == "ok"
