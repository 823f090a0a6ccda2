"""radius-server and adduser/passwd/deluser/users --radius, against Debian's real FreeRADIUS 3.2.

The configuration is a copy of the stock /etc/freeradius/3.0 under --root; the daemon is the
real freeradius, run on that tree on a private loopback (tests/support/radius.py), asked with
FreeRADIUS's own radtest and radclient.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.radius import Radiusd, freeradius_tree, reachable_root
from tests.support.tool import RunCli, run_tool
from tests.support.trees import snapshot

GOLDEN = Path(__file__).parent / "golden" / "radius-server"
RADDB = "etc/freeradius/3.0"
SECRET = "Pool-Secret-42"


@pytest.fixture
def root() -> Iterator[Path]:
    with reachable_root() as r:
        yield r


@pytest.fixture
def tree(root: Path) -> Path:
    freeradius_tree(root)
    return root


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    p = tmp_path / "pool.secret"
    p.write_text(SECRET + "\n")
    p.chmod(0o600)
    return p


def setup_pool(run: RunCli, secret: Path, *extra: str) -> None:
    res = run("radius-server", "--client", "nas1=127.0.0.2", "--client", "nas2=127.0.0.3",
              "--secret-file", str(secret), *extra)
    assert res.exit_code == 0, res.output


def add(root: Path, name: str, password: str, *extra: str) -> None:
    proc = run_tool("--root", str(root), "adduser", name, "--radius", "--password-stdin", *extra,
                    input=password.encode() + b"\n")
    assert proc.returncode == 0, proc.stderr
    assert password.encode() not in proc.stdout + proc.stderr


def without_state(snap: dict[str, tuple[str, int, int, int, bytes]]) -> dict[str, tuple[str, int, int, int, bytes]]:
    return {k: v for k, v in snap.items() if not k.startswith(("var/lib", "etc/dialup-admin"))}


def test_radius_server_writes_the_pool(tree: Path, run: RunCli, secret: Path) -> None:
    stock = snapshot(tree)
    res = run("radius-server", "--client", "nas1=127.0.0.2", "--client", "nas2=127.0.0.3",
              "--secret-file", str(secret))
    assert res.exit_code == 0, res.output
    assert "Debian's default site is disabled" in res.output
    raddb = tree / RADDB
    assert not (raddb / "sites-enabled/default").exists()
    assert os.readlink(raddb / "sites-enabled/dialup-admin") == "../sites-available/dialup-admin"
    assert os.readlink(raddb / "mods-enabled/dialup-admin") == "../mods-available/dialup-admin"
    freerad = os.stat(raddb)
    for name in ("sites-available/dialup-admin", "mods-available/dialup-admin", "clients.conf",
                 "mods-config/files/authorize"):
        st = os.stat(raddb / name)
        assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o640, freerad.st_uid, freerad.st_gid), name
    for name in ("sites-available/dialup-admin", "mods-available/dialup-admin"):
        golden = GOLDEN / name.replace("/", "__")
        if os.environ.get("UPDATE_GOLDEN"):
            golden.parent.mkdir(exist_ok=True)
            golden.write_bytes((raddb / name).read_bytes())
        assert (raddb / name).read_bytes() == golden.read_bytes(), name
    clients = (raddb / "clients.conf").read_text()
    assert clients.startswith((Path("/etc/freeradius/3.0/clients.conf")).read_text())  # the stock file kept
    assert "client nas1 {\n\tipaddr = 127.0.0.2\n\tsecret = \"Pool-Secret-42\"" in clients
    users = (raddb / "mods-config/files/authorize").read_text()
    assert users.startswith("# BEGIN dialup-admin users block")
    assert users.index("DEFAULT\tFramed-Protocol == PPP\n\tService-Type = Framed-User") < users.index("# END")
    state = json.loads((tree / "etc/dialup-admin/radius.json").read_text())
    assert state["clients"] == [{"address": "127.0.0.2", "name": "nas1"}, {"address": "127.0.0.3", "name": "nas2"}]
    assert SECRET not in json.dumps(state)
    # Idempotent; the secret stays without --secret-file; rollback gives the stock tree back.
    again = run("radius-server", "--client", "nas1=127.0.0.2", "--client", "nas2=127.0.0.3")
    assert again.exit_code == 0 and "Nothing to change" in again.output, again.output
    assert run("rollback").exit_code == 0
    assert without_state(snapshot(tree)) == without_state(stock)


def test_diff_hides_secrets_and_hashes(tree: Path, run: RunCli, secret: Path) -> None:
    setup_pool(run, secret)
    res = run("radius-server", "--client", "nas1=127.0.0.2", "--client", "nas3=127.0.0.4",
              "--secret-file", str(secret), "--dry-run", "--diff")
    assert res.exit_code == 0, res.output
    assert "+client nas3 {" in res.output and "-client nas2 {" in res.output
    assert SECRET not in res.output and "secret = ********" in res.output
    proc = run_tool("--root", str(tree), "adduser", "alice", "--radius", "--password-stdin", "--dry-run", "--diff",
                    input=b"Alice-pw-123\n")
    assert proc.returncode == 0, proc.stderr
    assert b'+alice\tCrypt-Password := "********"' in proc.stdout
    assert b"$6$" not in proc.stdout


def test_users_against_real_freeradius(tree: Path, run: RunCli, secret: Path, tmp_path: Path) -> None:
    setup_pool(run, secret)
    with Radiusd(tree, tmp_path / "radiusd.log") as radiusd:
        pid = radiusd.pid
        add(tree, "alice", "Alice-pw-123", "--ip", "192.168.32.12", "--max-sessions", "1")
        users = (tree / RADDB / "mods-config/files/authorize").read_text()
        assert "Alice-pw-123" not in users and 'alice\tCrypt-Password := "$6$' in users
        ok = radiusd.radtest("alice", "Alice-pw-123")
        assert "Received Access-Accept" in ok.stdout and "Framed-IP-Address = 192.168.32.12" in ok.stdout, ok.stdout
        assert "Received Access-Reject" in radiusd.radtest("alice", "Wrong-pw-123").stdout
        assert "Received Access-Reject" in radiusd.radtest("mallory", "Alice-pw-123").stdout

        # The pool's dial-in servers: their own address and secret (nas1 is 127.0.0.2).
        status = radiusd.radclient("Message-Authenticator = 0x00\n", "status", secret, source="127.0.0.2")
        assert "Received Access-Accept" in status.stdout, status.stdout + status.stderr

        # Simultaneous-Use 1: a Start from nas1 (as pppd's radius.so sends it) holds the session.
        start = ("User-Name = alice\nAcct-Status-Type = Start\nAcct-Session-Id = \"s1\"\nNAS-Port = 1\n"
                 "NAS-Identifier = nas1\nNAS-Port-Id = ttyS1\nFramed-IP-Address = 192.168.32.12\n")
        acct = radiusd.radclient(start, "acct", secret, source="127.0.0.2", port=1813)
        assert "Received Accounting-Response" in acct.stdout, acct.stdout + acct.stderr
        busy = radiusd.radtest("alice", "Alice-pw-123")
        assert "Received Access-Reject" in busy.stdout and "already logged in" in busy.stdout, busy.stdout

        # Another user meanwhile: FreeRADIUS re-reads its users file, the same process, alice still on line.
        add(tree, "bob", "Bob-pw-12345")
        assert "Received Access-Accept" in radiusd.radtest("bob", "Bob-pw-12345").stdout
        assert radiusd.pid == pid and radiusd.proc is not None and radiusd.proc.poll() is None
        assert "already logged in" in radiusd.radtest("alice", "Alice-pw-123").stdout
        stop = start.replace("Start", "Stop") + "Acct-Session-Time = 60\nAcct-Input-Octets = 1000\n"
        assert "Accounting-Response" in radiusd.radclient(stop, "acct", secret, source="127.0.0.2", port=1813).stdout
        assert "Received Access-Accept" in radiusd.radtest("alice", "Alice-pw-123").stdout

        proc = run_tool("--root", str(tree), "passwd", "bob", "--radius", "--password-stdin",
                        input=b"Bob-new-pw-2\n")
        assert proc.returncode == 0, proc.stderr
        assert "Received Access-Reject" in radiusd.radtest("bob", "Bob-pw-12345").stdout
        assert "Received Access-Accept" in radiusd.radtest("bob", "Bob-new-pw-2").stdout

        listing = run_tool("--root", str(tree), "--json", "users", "--radius")
        assert json.loads(listing.stdout)["users"] == [
            {"name": "alice", "ip": "192.168.32.12", "max_sessions": 1},
            {"name": "bob", "ip": None, "max_sessions": None}]

        proc = run_tool("--root", str(tree), "deluser", "bob", "--radius")
        assert proc.returncode == 0, proc.stderr
        assert "Received Access-Reject" in radiusd.radtest("bob", "Bob-new-pw-2").stdout
        assert radiusd.pid == pid
        assert "Received HUP signal" in radiusd.text() and 'Reloaded module "files"' in radiusd.text()


def test_wrong_secret_is_not_answered_as_a_client(tree: Path, run: RunCli, secret: Path, tmp_path: Path) -> None:
    setup_pool(run, secret)
    other = tmp_path / "other.secret"
    other.write_text("Another-Secret-1\n")
    other.chmod(0o600)
    with Radiusd(tree, tmp_path / "radiusd.log") as radiusd:
        status = radiusd.radclient("Message-Authenticator = 0x00\n", "status", other, source="127.0.0.2", timeout=1)
        assert "Received" not in status.stdout
        assert "Shared secret is incorrect" in radiusd.text()


FAULTS = [
    (["--client", "nas1"], "write NAME=ADDR"),
    (["--client", "nas 1=10.0.0.1"], "bad client name"),
    (["--client", "nas1=10.0.0.300"], "bad client address"),
    (["--client", "nas1=10.0.0.0/4"], "too wide"),
    (["--client", "nas1=10.0.0.1", "--client", "nas1=10.0.0.2"], "given twice"),
    (["--client", "nas1=10.0.0.1", "--client", "nas2=10.0.0.1"], "already nas1's"),
    (["--client", "nas1=127.0.0.1"], "already has client localhost for 127.0.0.1"),
    (["--client", "nas1=10.0.0.1", "--port", "0"], "bad --port"),
    (["--client", "nas1=10.0.0.1", "--listen", "::1"], "bad --listen"),
    ([], "name the dial-in servers with --client"),
]


@pytest.mark.parametrize("args,message", FAULTS, ids=[" ".join(a) or "none" for a, _ in FAULTS])
def test_radius_server_bad_input(tree: Path, secret: Path, args: list[str], message: str) -> None:
    before = snapshot(tree)
    proc = run_tool("--root", str(tree), "radius-server", *args, "--secret-file", str(secret))
    err = proc.stderr.decode()
    assert proc.returncode != 0 and message in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert snapshot(tree) == before


def test_new_client_needs_a_secret_and_a_private_file(tree: Path, run: RunCli, secret: Path) -> None:
    before = snapshot(tree)
    proc = run_tool("--root", str(tree), "radius-server", "--client", "nas1=10.0.0.1")
    assert proc.returncode == 2 and b"--client nas1 is new: give the shared secret" in proc.stderr
    secret.chmod(0o644)
    proc = run_tool("--root", str(tree), "radius-server", "--client", "nas1=10.0.0.1", "--secret-file", str(secret))
    assert proc.returncode == 2 and b"readable or writable by others (mode 0644)" in proc.stderr
    assert snapshot(tree) == before


def test_a_configuration_freeradius_refuses_is_rolled_back(tree: Path, secret: Path) -> None:
    clients = tree / RADDB / "clients.conf"
    clients.write_text(clients.read_text() + "client broken {\n\tipaddr = 10.9.9.9\n")  # the admin's, unclosed
    before = snapshot(tree)
    proc = run_tool("--root", str(tree), "radius-server", "--client", "nas1=10.0.0.1", "--secret-file", str(secret))
    err = proc.stderr.decode()
    assert proc.returncode == 1 and "freeradius -C failed" in err, err
    assert len(err.strip().splitlines()) == 1
    assert without_state(snapshot(tree)) == without_state(before)


def test_user_faults(tree: Path, run: RunCli, secret: Path) -> None:
    proc = run_tool("--root", str(tree), "adduser", "alice", "--radius", "--password-stdin", input=b"Alice-pw-123\n")
    assert proc.returncode == 1 and b"run dialup-admin radius-server" in proc.stderr
    setup_pool(run, secret)
    add(tree, "alice", "Alice-pw-123", "--ip", "10.1.1.1")
    before = snapshot(tree)
    for args, message in (
        (["adduser", "alice", "--radius"], "already exists"),
        (["adduser", "bob", "--radius", "--max-sessions", "0"], "bad --max-sessions 0"),
        (["adduser", "bob", "--radius", "--ip", "10.1.1.1"], "already given to alice"),
        (["adduser", "bob", "--radius", "--ip", "127.0.0.1"], "not usable"),
        (["adduser", "bob", "--max-sessions", "2"], "--max-sessions needs --radius"),
        (["adduser", "bob", "--radius", "--uid", "2000"], "--uid is for local accounts"),
        (["adduser", "Bad Name", "--radius"], "bad user name"),
        (["passwd", "nobody", "--radius"], "no RADIUS user nobody"),
        (["deluser", "nobody", "--radius"], "no RADIUS user nobody"),
        (["adduser", "bob", "--radius"], "weak password"),
    ):
        proc = run_tool("--root", str(tree), *args, "--password-stdin", input=b"short\n") if "adduser" in args \
            else run_tool("--root", str(tree), *args)
        err = proc.stderr.decode()
        assert proc.returncode != 0 and message in err, (args, err)
        assert len(err.strip().splitlines()) == 1, err
    assert snapshot(tree) == before
    users = tree / RADDB / "mods-config/files/authorize"
    users.write_text(users.read_text().replace("10.1.1.1", "10.1.1.2"))
    proc = run_tool("--root", str(tree), "adduser", "bob", "--radius", "--password-stdin", input=b"Bob-pw-12345\n")
    assert proc.returncode == 1 and b"edited by hand" in proc.stderr


def test_freeradius_not_installed(root: Path, secret: Path) -> None:
    proc = run_tool("--root", str(root), "radius-server", "--client", "nas1=10.0.0.1", "--secret-file", str(secret))
    assert proc.returncode == 1
    assert b"FreeRADIUS is not installed" in proc.stderr and b"apt-get install freeradius" in proc.stderr
