"""sessions --radius, doctor and logs with RADIUS, against Debian's real FreeRADIUS 3.2."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.radius import Radiusd, freeradius_tree, reachable_root
from tests.support.tool import RunCli, run_tool

NAS_BASE = ["setup-server", "--tty", "ttyS1", "--init", "none", "--mgetty", "/sbin/mgetty"]

DOCTOR = """
import json, sys
from pathlib import Path
from dialup_admin.core import doctor
from dialup_admin.paths import Paths
target = doctor.Target.load(Paths(Path(sys.argv[1])))
target.probe.live = True  # the RADIUS servers are asked for real, from this network namespace
print(json.dumps([f.to_json() for f in doctor.run_checks(target, (doctor.check_radius,))]))
"""


def secret_file(tmp_path: Path, value: str, name: str = "radius.secret") -> Path:
    p = tmp_path / name
    p.write_text(value + "\n")
    p.chmod(0o600)
    return p


@pytest.fixture
def pool() -> Iterator[Path]:
    """A RADIUS server's tree: the stock FreeRADIUS, set up with radius-server for nas1 and nas2."""
    with reachable_root() as r:
        freeradius_tree(r)
        secret = r.parent / "pool.secret"
        secret.write_text("Pool-Secret-42\n")
        secret.chmod(0o600)
        proc = run_tool("--root", str(r), "radius-server", "--client", "nas1=127.0.0.2", "--client", "nas2=127.0.0.3",
                        "--secret-file", str(secret))
        assert proc.returncode == 0, proc.stderr
        yield r


@pytest.fixture
def nas(root: Path) -> Path:
    (root / "etc").mkdir()
    (root / "etc/hostname").write_text("nas1\n")
    return root


def radius_findings(radiusd: Radiusd, nas: Path) -> list[dict[str, str]]:
    proc = radiusd.run(sys.executable, "-c", DOCTOR, str(nas))
    assert proc.returncode == 0, proc.stderr
    return [f for f in json.loads(proc.stdout) if f["check"] == "radius-server"]


def test_sessions_from_freeradius_accounting(pool: Path, tmp_path: Path) -> None:
    secret = secret_file(tmp_path, "Pool-Secret-42")
    start = ("User-Name = alice\nAcct-Status-Type = Start\nAcct-Session-Id = \"A1\"\nNAS-Port = 1\n"
             "NAS-Identifier = nas1\nNAS-Port-Id = ttyS1\nFramed-IP-Address = 192.168.32.2\nNAS-Port-Type = Async\n")
    stop = start.replace("Start", "Stop") + ("Acct-Session-Time = 125\nAcct-Input-Octets = 4096\n"
                                             "Acct-Output-Octets = 1048576\nAcct-Terminate-Cause = User-Request\n")
    bob = ("User-Name = bob\nAcct-Status-Type = Start\nAcct-Session-Id = \"B1\"\nNAS-Port = 3\n"
           "NAS-Identifier = nas2\nNAS-Port-Id = ttyS3\nFramed-IP-Address = 192.168.32.4\n")
    with Radiusd(pool, tmp_path / "radiusd.log") as radiusd:
        for packet, source in ((start, "127.0.0.2"), (stop, "127.0.0.2"), (bob, "127.0.0.3")):
            r = radiusd.radclient(packet, "acct", secret, source=source, port=1813)
            assert "Received Accounting-Response" in r.stdout, r.stdout + r.stderr
    proc = run_tool("--root", str(pool), "--json", "sessions", "--radius")
    assert proc.returncode == 0, proc.stderr
    calls = {c["user"]: c for c in json.loads(proc.stdout)}
    alice = calls["alice"]
    assert (alice["nas"], alice["line"], alice["address"], alice["duration"], alice["state"]) == \
        ("nas1", "ttyS1", "192.168.32.2", 125, "ended")
    assert (alice["bytes_in"], alice["bytes_out"], alice["cause"]) == (4096, 1048576, "User-Request")
    assert (calls["bob"]["nas"], calls["bob"]["line"], calls["bob"]["state"]) == ("nas2", "ttyS3", "active")
    table = run_tool("--root", str(pool), "sessions", "--radius").stdout.decode()
    assert "USER" in table and "SERVER" in table and "nas1" in table and "1.0 MiB" in table and "0:02:05" in table
    active = run_tool("--root", str(pool), "sessions", "--radius", "--active").stdout.decode()
    assert "bob" in active and "alice" not in active


def test_sessions_radius_without_freeradius(root: Path) -> None:
    proc = run_tool("--root", str(root), "sessions", "--radius")
    assert proc.returncode == 1 and b"runs on the pool's RADIUS server" in proc.stderr


def test_doctor_asks_the_radius_servers(pool: Path, nas: Path, run: RunCli, tmp_path: Path) -> None:
    # The NAS asks from 127.0.0.1: FreeRADIUS's stock client "localhost", secret testing123.
    right = secret_file(tmp_path, "testing123")
    wrong = secret_file(tmp_path, "Not-the-secret-1", "wrong.secret")
    assert run(*NAS_BASE, "--radius", "127.0.0.1", "--radius-secret-file", str(right)).exit_code == 0
    with Radiusd(pool, tmp_path / "radiusd.log") as radiusd:
        found = radius_findings(radiusd, nas)
        assert [f["level"] for f in found] == ["ok"], found
        assert "answers (Access-Accept) with our shared secret" in found[0]["message"]

        assert run(*NAS_BASE, "--radius", "127.0.0.1", "--radius-secret-file", str(wrong)).exit_code == 0
        found = radius_findings(radiusd, nas)
        assert [f["level"] for f in found] == ["error"], found
        assert "shared secret mismatch" in found[0]["message"] and "whatever the password" in found[0]["message"]

        # A primary with no route to it, then this one: callers get in, after a wait.
        res = run(*NAS_BASE, "--radius", "192.0.2.1", "--radius", "127.0.0.1", "--radius-secret-file", str(right))
        assert res.exit_code == 0, res.output
        found = radius_findings(radiusd, nas)
        assert [f["level"] for f in found] == ["warning", "ok"], found
        assert "192.0.2.1:1812 not answering: callers wait for the next server" in found[0]["message"]
        radiusd.stop()
        found = radius_findings(radiusd, nas)
        assert [f["level"] for f in found] == ["error", "error"], found
        assert "127.0.0.1:1812 not answering: callers are refused (not a wrong password)" in found[1]["message"]


def test_fallback_probe_says_whether_radius_answers(pool: Path, nas: Path, run: RunCli, tmp_path: Path) -> None:
    """The --radius-fallback wrapper's question: exit 0, load radius.so; exit 1, local accounts."""
    res = run(*NAS_BASE, "--radius", "192.0.2.1", "--radius", "127.0.0.1", "--radius-secret-file",
              str(secret_file(tmp_path, "testing123")), "--radius-fallback", "local")
    assert res.exit_code == 0, res.output
    probe = [sys.executable, "-m", "dialup_admin.system.radius_probe", "--root", str(nas)]
    assert f"{probe[0]} -m dialup_admin.system.radius_probe /etc/ppp/radius/radiusclient.conf" in \
        (nas / "etc/ppp/radius/pppd").read_text()
    with Radiusd(pool, tmp_path / "radiusd.log") as radiusd:
        assert radiusd.run(*probe).returncode == 0  # the backup answers
        radiusd.stop()
        assert radiusd.run(*probe).returncode == 1  # nobody: local accounts
        assert radiusd.run(*probe, "/etc/ppp/radius/nope.conf").returncode == 2  # broken: the wrapper keeps RADIUS


def test_doctor_radius_files(nas: Path, run: RunCli, tmp_path: Path) -> None:
    assert run(*NAS_BASE, "--radius", "127.0.0.1", "--radius-secret-file",
               str(secret_file(tmp_path, "testing123"))).exit_code == 0
    proc = run_tool("--root", str(nas), "--json", "doctor")
    found = [f for f in json.loads(proc.stdout)["findings"] if f["check"].startswith("radius")]
    assert [f["level"] for f in found] == ["ok", "ok"], found
    assert "not asked" in found[1]["message"]  # under --root nothing is sent
    os.chmod(nas / "etc/ppp/radius/servers", 0o644)
    opts = nas / "etc/ppp/options.ttyS1"
    opts.write_text(opts.read_text().replace("plugin radius.so", "# plugin radius.so"))
    proc = run_tool("--root", str(nas), "--json", "doctor")
    found = [f for f in json.loads(proc.stdout)["findings"] if f["check"] == "radius-config"]
    messages = " | ".join(f["message"] for f in found)
    assert "holds the RADIUS shared secret and is readable by others (mode 0644)" in messages
    assert "does not load radius.so: callers on ttyS1 are checked by pap-secrets" in messages
    assert proc.returncode == 2


def test_doctor_on_the_radius_server_alone(pool: Path) -> None:
    proc = run_tool("--root", str(pool), "--json", "doctor")
    data = json.loads(proc.stdout)
    assert {f["check"] for f in data["findings"]} == {"radius-pool"}, data
    assert data["worst"] == "ok" and proc.returncode == 0
    (pool / "etc/freeradius/3.0/sites-enabled/dialup-admin").unlink()
    data = json.loads(run_tool("--root", str(pool), "--json", "doctor").stdout)
    assert data["worst"] == "error" and "the pool's virtual server is not enabled" in data["findings"][0]["message"]


SYSLOG = """\
Dec  4 19:00:01 nas1 pppd[100]: Plugin radius.so loaded.
Dec  4 19:00:01 nas1 pppd[100]: RADIUS plugin initialized.
Dec  4 19:00:01 nas1 pppd[100]: pppd 2.4.9 started by root, uid 0
Dec  4 19:00:01 nas1 pppd[100]: Connect: ppp0 <--> /dev/ttyS1
Dec  4 19:00:07 nas1 pppd[100]: rc_send_server: no reply from RADIUS server 10.0.99.2:1812
Dec  4 19:00:13 nas1 pppd[100]: rc_send_server: no reply from RADIUS server 10.0.99.3:1812
Dec  4 19:00:13 nas1 pppd[100]: PAP peer authentication failed for alice
Dec  4 19:01:01 nas1 pppd[200]: Plugin radius.so loaded.
Dec  4 19:01:01 nas1 pppd[200]: RADIUS plugin initialized.
Dec  4 19:01:01 nas1 pppd[200]: Connect: ppp0 <--> /dev/ttyS1
Dec  4 19:01:07 nas1 pppd[200]: rc_send_server: no reply from RADIUS server 10.0.99.2:1812
Dec  4 19:01:07 nas1 pppd[200]: PAP peer authentication succeeded for alice
Dec  4 19:02:01 nas1 pppd[300]: RADIUS plugin initialized.
Dec  4 19:02:01 nas1 pppd[300]: Connect: ppp0 <--> /dev/ttyS1
Dec  4 19:02:02 nas1 pppd[300]: rc_check_reply: received invalid reply digest from RADIUS server
Dec  4 19:02:02 nas1 pppd[300]: PAP peer authentication failed for bob
Dec  4 19:03:01 nas1 pppd[400]: RADIUS plugin initialized.
Dec  4 19:03:01 nas1 pppd[400]: Connect: ppp0 <--> /dev/ttyS1
Dec  4 19:03:02 nas1 pppd[400]: PAP peer authentication failed for carol
Dec  4 19:04:01 nas1 pppd[500]: Connect: ppp0 <--> /dev/ttyS1
Dec  4 19:04:02 nas1 pppd[500]: PAP peer authentication failed for dave
"""


def test_logs_say_why_radius_refused(root: Path) -> None:
    (root / "var/log").mkdir(parents=True)
    (root / "var/log/syslog").write_text(SYSLOG)
    proc = run_tool("--root", str(root), "logs", "ttyS1")
    assert proc.returncode == 0, proc.stderr
    notes = [ln.split("dialup-admin ", 1)[1] for ln in proc.stdout.decode().splitlines() if " dialup-admin " in ln]
    assert notes == [
        "RADIUS server 10.0.99.2, 10.0.99.3 not answering: alice was refused for that, not for a wrong password "
        "(see dialup-admin doctor)",
        "RADIUS server 10.0.99.2 was not answering; the next one let alice in",
        "RADIUS shared secret mismatch: the server's reply is signed with another secret, so bob was refused for "
        "that, not for a wrong password (see dialup-admin doctor)",
        "RADIUS refused carol: a wrong password, an unknown user, or a session limit (Simultaneous-Use)",
    ]  # dave was checked by pap-secrets: pppd's own line says enough
