"""setup-client under --root: the guide's client files, password rules, plan/apply, rollback."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from dialup_admin.core.client import Client, secret_line, secrets_body
from dialup_admin.errors import BadInput
from dialup_admin.formats import managed, secrets
from tests.support.tool import RunCli, run_tool
from tests.support.trees import snapshot

GOLDEN = Path(__file__).parent / "golden" / "client"
SETUP = ("setup-client", "--device", "/dev/ttyS0", "--number", "11", "--user", "ppp")


def active(text: str) -> list[str]:
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


def saved(root: Path) -> dict[str, tuple[str, str]]:
    """{connection: (user, password)} as pppd reads the client block of pap-secrets."""
    body = managed.body_of((root / "etc/ppp/pap-secrets").read_bytes(), "pap-secrets", name="client") or b""
    return {e.server: (e.client, e.secret) for e in secrets.parse(body).entries}


def setup(run: RunCli, *extra: str, password: str = "ppp") -> str:
    res = run(*SETUP, "--password-stdin", *extra, input=password + "\n")
    assert res.exit_code == 0, res.output
    return res.output


def test_golden_files(root: Path, run: RunCli) -> None:
    setup(run)
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for name in ("etc/ppp/peers/dialup", "etc/ppp/chat-dialup", "etc/ppp/options", "etc/ppp/pap-secrets",
                 "etc/dialup-admin/client.json"):
        golden = GOLDEN / name.replace("/", "__")
        if os.environ.get("UPDATE_GOLDEN"):
            golden.write_bytes((root / name).read_bytes())
        assert (root / name).read_bytes() == golden.read_bytes(), name


def test_guide_lines(root: Path, run: RunCli) -> None:
    setup(run)
    # "Setting up the client: pppsetup": options has asyncmap 0; pap-secrets "ppp" * "ppp"
    # (here the server column names the connection, see core/client.py).
    assert active((root / "etc/ppp/options").read_text()) == ["asyncmap 0"]
    entries = secrets.parse((root / "etc/ppp/pap-secrets").read_bytes()).entries
    assert [(e.client, e.server, e.secret) for e in entries] == [("ppp", "dialup", "ppp")]
    peers = active((root / "etc/ppp/peers/dialup").read_text())
    for want in ("/dev/ttyS0", "57600", "lock", "crtscts", "modem", 'user "ppp"', "defaultroute", "usepeerdns",
                 "noauth", "remotename dialup"):
        assert want in peers, want
    assert not any(ln.startswith("name ") for ln in active((root / "etc/ppp/options").read_text()))
    chat = active((root / "etc/ppp/chat-dialup").read_text())
    for abort in ("ABORT BUSY", "ABORT 'NO CARRIER'", "ABORT 'NO DIALTONE'", "ABORT 'NO ANSWER'", "ABORT VOICE"):
        assert abort in chat
    assert "OK 'AT S7=45 S0=0 L1 V1 X4 &c1 E1 Q0'" in chat  # the guide's init string
    assert "OK ATDT11" in chat and "CONNECT \\c" in chat


def test_modes_and_owner(root: Path) -> None:
    proc = run_tool("--root", str(root), *SETUP, "--password-stdin", input=b"ppp\n",
                    preexec=lambda: os.umask(0o000) and None)
    assert proc.returncode == 0, proc.stderr
    for name, mode in {"etc/ppp/pap-secrets": 0o600, "etc/ppp/peers/dialup": 0o644,
                       "etc/ppp/chat-dialup": 0o644, "etc/ppp/options": 0o644, "etc/ppp/peers": 0o755}.items():
        st = os.stat(root / name)
        assert stat.S_IMODE(st.st_mode) == mode, name
        assert (st.st_uid, st.st_gid) == (0, 0), name


def test_second_run_keeps_password_and_changes_nothing(root: Path, run: RunCli) -> None:
    setup(run, password="s3cret")
    before = snapshot(root)
    res = run(*SETUP)  # no password given: the saved one is kept, no prompt
    assert res.exit_code == 0, res.output
    assert "Keeping the saved password" in res.output and "Nothing to change" in res.output
    assert snapshot(root) == before


def test_prompt_asks_twice_hidden(root: Path, run: RunCli) -> None:
    res = run(*SETUP, input="pw1\npw1\n")
    assert res.exit_code == 0, res.output
    assert "pw1" not in res.output and "Repeat for confirmation" in res.output
    assert saved(root) == {"dialup": ("ppp", "pw1")}
    res = run(*SETUP, "--new-password", input="a\nb\na2\na2\n")
    assert res.exit_code == 0, res.output
    assert "do not match" in res.output
    assert saved(root) == {"dialup": ("ppp", "a2")}


def test_no_password_no_tty_is_one_line(root: Path) -> None:
    # A real process with no controlling terminal and nothing on stdin, as under cron or ssh -T.
    res = run_tool("--root", str(root), *SETUP, input=b"", preexec=os.setsid)
    err = res.stderr.decode()
    assert res.returncode == 1, err
    assert err.strip().splitlines()[-1].startswith("dialup-admin: error: no password given"), err
    assert "Traceback" not in err
    assert not (root / "etc").exists()


def test_dry_run_diff_hides_password(root: Path, run: RunCli) -> None:
    setup(run, password="old-secret")
    before = snapshot(root)
    res = run(*SETUP, "--number", "12", "--password-stdin", "--dry-run", "--diff", input="new-secret\n")
    assert res.exit_code == 0, res.output
    assert "+OK ATDT12" in res.output and "Plan for setup-client" in res.output
    assert "old-secret" not in res.output and "new-secret" not in res.output
    assert snapshot(root) == before


def test_admin_lines_and_server_blocks_survive(root: Path, run: RunCli) -> None:
    (root / "etc/ppp").mkdir(parents=True)
    (root / "etc/ppp/options").write_bytes(b"# admin's own\nlock\n")
    pap = b'admin\t*\t"x"\t*\n'
    (root / "etc/ppp/pap-secrets").write_bytes(pap)
    assert run("setup-server", "--tty", "ttyS1", "--init", "none").exit_code == 0
    server_options = managed.body_of((root / "etc/ppp/options").read_bytes(), "options", name="server")
    setup(run)
    data = (root / "etc/ppp/options").read_bytes()
    assert data.startswith(b"# admin's own\nlock\n")
    assert managed.body_of(data, "options", name="server") == server_options
    assert managed.body_of(data, "options", name="client") is not None
    secrets = (root / "etc/ppp/pap-secrets").read_bytes()
    assert secrets.startswith(pap)
    assert managed.body_of(secrets, "pap-secrets", name="accounts") is not None
    # and setup-server after setup-client leaves the client's entry alone
    assert run("setup-server", "--tty", "ttyS1", "--init", "none").exit_code == 0
    assert managed.body_of((root / "etc/ppp/pap-secrets").read_bytes(), "pap-secrets", name="client") == \
        managed.body_of(secrets, "pap-secrets", name="client")


def test_two_connections_share_the_blocks(root: Path, run: RunCli) -> None:
    setup(run, password="one")
    res = run("setup-client", "--device", "ttyUSB0", "--number", "9,555-1234", "--user", "bob", "--peer", "work",
              "--password-stdin", input="two\n")
    assert res.exit_code == 0, res.output
    assert saved(root) == {"dialup": ("ppp", "one"), "work": ("bob", "two")}
    assert "OK ATDT9,5551234" in (root / "etc/ppp/chat-work").read_text()
    state = json.loads((root / "etc/dialup-admin/client.json").read_text())
    assert state["default"] == "dialup" and set(state["peers"]) == {"dialup", "work"}


def test_rollback_removes_everything(root: Path, run: RunCli) -> None:
    before = snapshot(root)
    setup(run)
    res = run("rollback")
    assert res.exit_code == 0, res.output
    after = snapshot(root)
    assert {k: v for k, v in after.items() if not k.startswith("var")} == before


def test_hand_edited_block_refused(root: Path, run: RunCli) -> None:
    setup(run)
    p = root / "etc/ppp/options"
    p.write_bytes(p.read_bytes().replace(b"asyncmap 0", b"asyncmap 0\nname evil"))
    before = snapshot(root)
    res = run(*SETUP, "--number", "12")
    assert res.exit_code == 1 and "edited by hand" in res.output
    assert snapshot(root) == before


@pytest.mark.parametrize("args, message", [
    (("--number", "11; reboot"), "bad phone number"),
    (("--number", "$(id)"), "bad phone number"),
    (("--number", "11`"), "bad phone number"),
    (("--number", ""), "bad phone number"),
    (("--device", "/dev/../etc/passwd"), "bad device"),
    (("--device", "ttyS0 x"), "bad device"),
    (("--user", 'p"p'), "bad user name"),
    (("--peer", "../x"), "bad connection name"),
    (("--init", "AT'Z"), "bad init string"),
    (("--speed", "1234"), "unknown speed"),
])
def test_bad_input_is_one_line_exit_2(root: Path, run: RunCli, args: tuple[str, ...], message: str) -> None:
    res = run(*SETUP, "--password-stdin", *args, input="pw\n")
    assert res.exit_code == 2, res.output
    assert res.output.strip().splitlines()[-1].startswith(f"dialup-admin: error: {message}")
    assert not (root / "etc").exists()


@pytest.mark.parametrize("number, want", [("11", "11"), ("555-1234", "5551234"), ("(0) 123 456", "0123456"),
                                          ("9W,5551234", "9W,5551234"), ("*70,T11#", "*70,T11#")])
def test_number_normalised(number: str, want: str) -> None:
    assert Client(peer="dialup", device="/dev/ttyS0", number=number, user="ppp").number == want


def test_password_rules(root: Path, run: RunCli) -> None:
    for bad in ("", "a\tb", "@/etc/shadow"):
        res = run(*SETUP, "--password-stdin", input=bad + "\n")
        assert res.exit_code == 2, res.output


@pytest.mark.parametrize("password", ['a"b\\c d', "#not a comment", "ünï", "'x'", "*", "--", "a b\tc"])
def test_secret_reads_back_as_pppd_reads_it(password: str) -> None:
    line = secret_line("ppp", "dialup", password)
    (entry,) = secrets.parse(line.encode()).entries
    assert (entry.client, entry.server, entry.secret) == ("ppp", "dialup", password)


def test_other_connections_entries_are_kept() -> None:
    body = secrets_body('"bob"\twork\t"x"\n', "ppp", "dialup", "pw")
    entries = secrets.parse(body.encode()).entries
    assert [(e.client, e.server, e.secret) for e in entries] == [("ppp", "dialup", "pw"), ("bob", "work", "x")]
    with pytest.raises(BadInput):
        Client(peer="dialup", device="/dev/ttyS0", number="11", user="ppp", connect_timeout=1)
