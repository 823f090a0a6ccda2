"""adduser/deluser/passwd/users and setup-server's accounts, with the real shadow-utils under --prefix."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from accounts_helpers import group_line, make_db, passwd_line, setup_server, shadow_hash, verify
from conftest import RunCli, snapshot
from dialup_admin.core import accounts as core
from dialup_admin.core.accounts_report import report
from dialup_admin.core.plan import Plan, RunCommand, WriteFile, apply
from dialup_admin.errors import UserError
from dialup_admin.formats import managed
from dialup_admin.formats import secrets as fmt
from dialup_admin.paths import Paths

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="useradd --prefix needs root")

PW = "correct-horse-1"


@pytest.fixture
def server(root: Path, run: RunCli) -> Path:
    make_db(root)
    setup_server(run)
    return root


def pap(root: Path) -> list[fmt.Entry]:
    return fmt.parse((root / "etc/ppp/pap-secrets").read_bytes()).entries


def entry(root: Path, name: str) -> fmt.Entry | None:
    return fmt.lookup(pap(root), name, "myhost")


def add(run: RunCli, name: str, *args: str, password: str = PW) -> None:
    res = run("adduser", name, "--password-stdin", *args, input=password + "\n")
    assert res.exit_code == 0, res.output


# --- setup-server: group ppp, users ppp and fax ------------------------------------

def test_setup_server_creates_the_guides_accounts(server: Path, run: RunCli) -> None:
    root = server
    assert group_line(root, "ppp")[:3] == ["ppp", "x", "3000"]  # type: ignore[index]
    assert passwd_line(root, "ppp") == ["ppp", "x", "3000", "3000", "", "/home/ppp", "/bin/false"]
    # The guide's slip (useradd ... -u 3001 ppp) is not copied: the fax user is called fax.
    assert passwd_line(root, "fax") == ["fax", "x", "3001", "3000", "", "/home/fax", "/bin/false"]
    assert (root / "home/ppp").is_dir() and (root / "home/fax").is_dir()
    assert shadow_hash(root, "ppp") == "!"  # no password: cannot log in until passwd ppp
    before = snapshot(root)
    res = run("setup-server", "--tty", "ttyS1", "--tty", "ttyS3", "--init", "none", "--mgetty", "/sbin/mgetty")
    assert res.exit_code == 0 and "Nothing to change" in res.output
    assert snapshot(root) == before


def test_setup_server_ids_overridable_and_rollback(root: Path, run: RunCli) -> None:
    make_db(root)
    before = {n: (root / "etc" / n).read_bytes() for n in ("passwd", "group", "shadow", "gshadow")}
    setup_server(run, "--ppp-gid", "4000", "--ppp-uid", "4000", "--fax-uid", "4001")
    assert passwd_line(root, "fax")[2:4] == ["4001", "4000"]  # type: ignore[index]
    res = run("rollback")
    assert res.exit_code == 0, res.output
    assert {n: (root / "etc" / n).read_bytes() for n in before} == before
    assert not (root / "etc/passwd-").exists()
    # Documented: homes made by useradd -m stay, as after userdel without -r.
    assert (root / "home/ppp").is_dir()


def test_existing_fax_with_other_uid_is_adopted(root: Path, run: RunCli) -> None:
    make_db(root, passwd="fax:x:78:78:Fedora fax:/var/spool/fax:/sbin/nologin\n", group="uucp:x:78:\n")
    res = run("setup-server", "--tty", "ttyS1", "--init", "none", "--mgetty", "/sbin/mgetty")
    assert res.exit_code == 0, res.output
    assert "user fax already exists with uid 78 (not 3001): using it" in res.output
    assert [ln for ln in (root / "etc/passwd").read_text().splitlines() if ln.startswith("fax:")] == [
        "fax:x:78:78:Fedora fax:/var/spool/fax:/sbin/nologin"]


def test_wanted_id_taken_stops_before_any_change(root: Path, run: RunCli) -> None:
    make_db(root, passwd="alice:x:3001:3001::/home/alice:/bin/bash\n", group="alice:x:3001:\n")
    before = snapshot(root)
    res = run("setup-server", "--tty", "ttyS1", "--init", "none", "--mgetty", "/sbin/mgetty")
    assert res.exit_code == 1
    assert res.output.strip().splitlines()[-1] == (
        "dialup-admin: error: uid 3001 is already used by user alice: choose another with --fax-uid")
    assert snapshot(root) == before


def test_no_accounts(root: Path, run: RunCli) -> None:
    make_db(root)
    setup_server(run, "--no-accounts")
    assert group_line(root, "ppp") is None


def test_setup_server_adds_the_empty_block_adduser_fills(server: Path) -> None:
    data = (server / "etc/ppp/pap-secrets").read_bytes()
    assert managed.split(data, "pap-secrets", name=core.BLOCK).body == b""
    assert data.startswith(fmt.PAP_HEADER)


# --- adduser -------------------------------------------------------------------

def test_adduser_real_account_hash_and_entry(server: Path, run: RunCli) -> None:
    root = server
    add(run, "mailstation", "--ip", "192.168.32.12")
    p = passwd_line(root, "mailstation")
    assert p is not None and p[3] == "3000" and p[5:] == ["/nonexistent", "/bin/false"]
    assert not (root / "nonexistent").exists()
    h = shadow_hash(root, "mailstation")
    assert h is not None and h.startswith("$6$") and verify(PW, h) and not verify("wrong", h)
    e = entry(root, "mailstation")
    assert e == fmt.Entry("mailstation", "*", "@login", ("192.168.32.12",), (), e.line)  # type: ignore[union-attr]
    st_ = os.stat(root / "etc/ppp/pap-secrets")
    assert stat.S_IMODE(st_.st_mode) == 0o600 and (st_.st_uid, st_.st_gid) == (0, 0)
    assert PW not in (root / "etc/ppp/pap-secrets").read_text()
    # Deny lines for system accounts, as Debian's stock file writes them.
    for name in ("root", "daemon", "fax", "ppp"):
        assert entry(root, name) == fmt.Entry(name, "*", "*", ("-",), (), entry(root, name).line)  # type: ignore[union-attr]


def test_setup_server_again_keeps_users(server: Path, run: RunCli) -> None:
    add(run, "dc", "--ip", "192.168.32.20")
    before = snapshot(server)
    res = run("setup-server", "--tty", "ttyS1", "--tty", "ttyS3", "--init", "none", "--mgetty", "/sbin/mgetty")
    assert res.exit_code == 0 and "Nothing to change" in res.output
    assert snapshot(server) == before


def test_new_line_avoids_static_addresses(server: Path, run: RunCli) -> None:
    add(run, "dc", "--ip", "192.168.32.5")
    res = run("setup-server", "--tty", "ttyS1", "--tty", "ttyS3", "--tty", "ttyS4", "--init", "none",
              "--mgetty", "/sbin/mgetty")
    assert res.exit_code == 0, res.output
    assert (server / "etc/ppp/options.ttyS4").read_text().count("192.168.32.6:192.168.32.7") == 1


def test_debian_wildcard_line_gets_a_note(server: Path, run: RunCli) -> None:
    p = server / "etc/ppp/pap-secrets"
    p.write_bytes(b'*\thostname\t""\t*\n' + p.read_bytes())
    res = run("adduser", "dc", "--password-stdin", input=PW + "\n")
    assert res.exit_code == 0 and "line 1: the wildcard entry" in res.output


def test_adduser_prompts_twice(server: Path, run: RunCli) -> None:
    res = run("adduser", "dreamcast", input=f"{PW}\n{PW}\n")
    assert res.exit_code == 0, res.output
    assert PW not in res.output  # hidden prompt: nothing echoed
    assert verify(PW, shadow_hash(server, "dreamcast") or "")
    res = run("adduser", "other", input=f"{PW}\nmismatch\n")
    assert res.exit_code != 0 and passwd_line(server, "other") is None


def test_generate_password_printed_once(server: Path, run: RunCli) -> None:
    res = run("adduser", "oob", "--generate-password")
    assert res.exit_code == 0, res.output
    line = [ln for ln in res.output.splitlines() if ln.startswith("Password for oob: ")]
    assert len(line) == 1
    pw = line[0].split(": ", 1)[1]
    assert len(pw) == 16 and verify(pw, shadow_hash(server, "oob") or "")
    res = run("adduser", "oob2", "--generate-password", "--json")
    data = json.loads(res.stdout)
    assert verify(data["password"], shadow_hash(server, "oob2") or "")


def test_weak_passwords(server: Path, run: RunCli) -> None:
    for pw, why in (("dreamcast", "user name"), ("short", "shorter than")):
        res = run("adduser", "dreamcast", "--password-stdin", input=pw + "\n")
        assert res.exit_code == 2 and why in res.output
    add(run, "dreamcast", "--allow-weak", password="dreamcast")  # the guide's habit, on request
    assert verify("dreamcast", shadow_hash(server, "dreamcast") or "")


def test_dry_run_changes_nothing(server: Path, run: RunCli) -> None:
    before = snapshot(server)
    res = run("adduser", "dc", "--dry-run", "--diff")
    assert res.exit_code == 0, res.output
    assert "run    useradd" in res.output and "chpasswd" in res.output and "+dc\t*\t@login\t*" in res.output
    assert snapshot(server) == before


BAD = [
    (["adduser", ""], 2, "empty user name"),
    (["adduser", "--", "-x"], 2, "must not start with '-'"),
    (["adduser", "a:b"], 2, "bad user name"),
    (["adduser", "a/b"], 2, "bad user name"),
    (["adduser", "a b"], 2, "bad user name"),
    (["adduser", "a\x01b"], 2, "control characters"),
    (["adduser", "12345"], 2, "all digits"),
    (["adduser", "x" * 33], 2, "at most 32"),
    (["adduser", "root"], 2, "reserved"),
    (["adduser", "ppp"], 2, "dialup-admin passwd ppp"),
    (["adduser", "fax"], 2, "reserved"),
    (["adduser", "daemon"], 2, "system account"),
    (["adduser", "newbie", "--ip", "10.0.0.5"], 2, "outside the pool"),
    (["adduser", "newbie", "--ip", "192.168.32.1"], 2, "ttyS1's local address"),
    (["adduser", "newbie", "--ip", "192.168.32.4"], 2, "ttyS3's remote address"),
    (["adduser", "newbie", "--ip", "192.168.32.12"], 2, "already given to mailstation"),
    (["adduser", "newbie", "--ip", "192.168.32.255"], 2, "broadcast"),
    (["adduser", "newbie", "--ip", "nonsense"], 2, "IPv4"),
    (["adduser", "mailstation"], 2, "already exists"),
    (["adduser", "newbie", "--uid", "3000"], 2, "already used by ppp"),
    (["deluser", "nobody"], 1, "no user nobody"),
    (["deluser", "root"], 2, "reserved"),
    (["passwd", "nobody"], 1, "no user nobody"),
]


@pytest.mark.parametrize("argv,code,message", BAD, ids=[" ".join(a[:3]) for a, _, _ in BAD])
def test_bad_input_one_line_nothing_changed(server: Path, run: RunCli, argv: list[str], code: int,
                                            message: str) -> None:
    add(run, "mailstation", "--ip", "192.168.32.12")
    before = snapshot(server)
    extra = ["--password-stdin"] if argv[0] != "deluser" else []
    res = run(argv[0], *extra, *argv[1:], input=PW + "\n")
    assert res.exit_code == code, res.output
    lines = res.output.strip().splitlines()
    assert lines[-1].startswith("dialup-admin: error: ") and message in lines[-1]
    assert "Traceback" not in res.output
    assert snapshot(server) == before


@pytest.mark.parametrize("pw,message", [("pass\rword", "line break"), ("pässwörd123", "ASCII"),
                                        ("x" * 256, "at most 255"), ("", "no password")])
def test_bad_passwords(server: Path, run: RunCli, pw: str, message: str) -> None:
    before = snapshot(server)
    res = run("adduser", "newbie", "--password-stdin", input=pw + "\n")
    assert res.exit_code == 2 and message in res.output
    assert snapshot(server) == before


def test_hand_written_entry_is_left_alone_and_blocks_adduser(server: Path, run: RunCli) -> None:
    p = server / "etc/ppp/pap-secrets"
    p.write_bytes(b"dreamcast * dreamcast *\n" + p.read_bytes())
    res = run("adduser", "dreamcast", "--password-stdin", input=PW + "\n")
    assert res.exit_code == 1 and "written by hand" in res.output


def test_continued_line_before_block_is_refused(server: Path, run: RunCli) -> None:
    """An admin line ending in a backslash would swallow our first entry: refuse, change nothing."""
    p = server / "etc/ppp/pap-secrets"
    data = p.read_bytes()
    i = data.index(b"# BEGIN")
    p.write_bytes(data[:i] + b"admin * pw \\\n" + data[i:])
    before = snapshot(server)
    res = run("adduser", "dc", "--password-stdin", input=PW + "\n")
    # The BEGIN marker is a comment, so the continuation ends there: pppd still reads our block.
    assert res.exit_code == 0, res.output
    p.write_bytes(data[:i] + b'admin * "open quote\n' + data[i:])
    before = snapshot(server)
    res = run("adduser", "dc2", "--password-stdin", input=PW + "\n")
    assert res.exit_code == 1 and "would not read the dialup-admin block" in res.output
    assert snapshot(server) == before


# --- passwd / deluser ------------------------------------------------------------------

def test_passwd_changes_only_shadow(server: Path, run: RunCli) -> None:
    add(run, "dc", "--ip", "192.168.32.20")
    pap_before = (server / "etc/ppp/pap-secrets").read_bytes()
    res = run("passwd", "dc", "--password-stdin", input="new-password-2\n")
    assert res.exit_code == 0, res.output
    assert verify("new-password-2", shadow_hash(server, "dc") or "")
    assert (server / "etc/ppp/pap-secrets").read_bytes() == pap_before


def test_passwd_ppp_lets_the_guides_account_dial_in(server: Path, run: RunCli) -> None:
    res = run("passwd", "ppp", "--password-stdin", input=PW + "\n")
    assert res.exit_code == 0, res.output
    assert entry(server, "ppp").secret == "@login"  # type: ignore[union-attr]


def test_passwd_restores_a_missing_entry(server: Path, run: RunCli) -> None:
    add(run, "dc")
    # Lose the entry (the block rewritten without it, checksum kept valid).
    acc = core.load(Paths(server))
    plan = Plan(Paths(server), "test")
    core.plan_pap(plan, acc, [])
    apply(plan)
    assert entry(server, "dc") is None
    rows, _ = report(Paths(server))
    assert any("no pap-secrets entry" in p for r in rows if r.name == "dc" for p in r.problems)
    res = run("passwd", "dc", "--password-stdin", input=PW + "\n")
    assert res.exit_code == 0, res.output
    assert entry(server, "dc").secret == "@login"  # type: ignore[union-attr]


def test_deluser_and_rollback(server: Path, run: RunCli) -> None:
    add(run, "dc", "--ip", "192.168.32.20")
    before = snapshot(server)
    res = run("deluser", "dc")
    assert res.exit_code == 0, res.output
    assert passwd_line(server, "dc") is None and entry(server, "dc") is None
    res = run("rollback")
    assert res.exit_code == 0, res.output
    after = snapshot(server)
    assert {k: v for k, v in after.items() if "dialup-admin/journal" not in k} == {
        k: v for k, v in before.items() if "dialup-admin/journal" not in k}


@pytest.mark.parametrize("fail_at", ["pap", "command"])
def test_failure_half_way_rolls_back_both(server: Path, run: RunCli, fail_at: str) -> None:
    add(run, "dc")
    before = snapshot(server)
    plan = core.plan_deluser(Paths(server), "dc")
    kinds = [type(a) for a in plan.actions]
    assert kinds == [WriteFile, RunCommand]  # entry first, then userdel

    def boom(i: int, action: object) -> None:
        # After the first step (entry gone) fail before userdel; or let userdel run and fail after it.
        if fail_at == "pap" and i == 1:
            raise RuntimeError("injected")

    if fail_at == "command":
        plan.actions.append(RunCommand(("false",), "injected failure"))
    with pytest.raises((RuntimeError, UserError)):
        apply(plan, on_step=boom)
    after = snapshot(server)
    assert {k: v for k, v in after.items() if "journal" not in k} == {
        k: v for k, v in before.items() if "journal" not in k}


# --- users ------------------------------------------------------------------------------

def test_users_report(server: Path, run: RunCli) -> None:
    add(run, "ok", "--ip", "192.168.32.20")
    add(run, "noentry")
    p = server / "etc/ppp/pap-secrets"
    p.write_bytes(b'* * "" *\nghost * @login *\ntwin1 * @login 192.168.32.30\ntwin2 * @login 192.168.32.30\n'
                  + p.read_bytes())
    acc = core.load(Paths(server))
    plan = Plan(Paths(server), "test")
    core.plan_pap(plan, acc, [e for e in core.current_users(acc) if e.client != "noentry"])
    apply(plan)
    (server / "etc/ppp/chap-secrets").write_text("ok * clear-text *\n")
    res = run("users", "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    rows = {r["name"]: r for r in data["users"]}
    assert rows["ok"]["ip"] == "192.168.32.20"
    assert [x for x in rows["ok"]["problems"] if "chap-secrets line 1" in x] == rows["ok"]["problems"] != []
    assert any("no system account" in x for x in rows["ghost"]["problems"])
    assert any("no pap-secrets entry" in x for x in rows["noentry"]["problems"])
    assert any("duplicate address 192.168.32.30" in x for x in data["problems"])
    assert any("wildcard" in x and "anyone" in x for x in data["problems"])
    assert rows["fax"]["problems"] == [] and rows["fax"]["in_pap"] is False
    res = run("users")
    assert res.exit_code == 0 and "NAME" in res.output and "problem: " in res.output
