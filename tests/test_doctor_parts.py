"""doctor's pieces on their own: the pure parsers (formats/), the pap-secrets rules both
doctor and users ask (core/pap_rules.py), what the machine probe reads from a tree
(system/probe.py), and the dial record written through system/files."""

from __future__ import annotations

import os
import stat
import struct
from pathlib import Path

import pytest

from dialup_admin.core import pap_rules
from dialup_admin.core.findings import ERROR, WARNING
from dialup_admin.formats import mgetty_conf, ppp_options, uucp_lock
from dialup_admin.formats import passwd as passwd_fmt
from dialup_admin.formats import secrets as fmt
from dialup_admin.paths import Paths
from dialup_admin.system.ppp import DialRecord
from dialup_admin.system.probe import Machine, Probe

PASSWD = "root:x:0:0:root:/root:/bin/bash\n#old:x:5:5::/:/bin/sh\n+::::::\nshort:x:7\nbad:x:no:1::/:/bin/sh\n" \
         "dc:x:3002:3000::/nonexistent:/bin/false\n"


def test_passwd_keeps_local_well_formed_accounts() -> None:
    assert [(e.name, e.uid, e.gid) for e in passwd_fmt.passwd(PASSWD)] == [("root", 0, 0), ("dc", 3002, 3000)]


def test_group_members_and_shadow_status() -> None:
    assert passwd_fmt.group("ppp:x:3000:dc,,fax\n")[0].members == ("dc", "fax")
    shadow = "root:!:1::::::\nfax:*:1::::::\ndc:$6$salt$hash:1::::::\nopen::1::::::\n"
    assert passwd_fmt.shadow_status(shadow) == {"root": "locked", "fax": "locked", "dc": "set", "open": "empty"}
    assert passwd_fmt.login_defs("# UID_MIN 5\nUID_MIN\t\t1000\nPASS_MAX_DAYS 99999\n") == \
        {"UID_MIN": "1000", "PASS_MAX_DAYS": "99999"}


@pytest.mark.parametrize(("data", "pid"), [
    (b"      4100\n", 4100), (struct.pack("=i", 4242), 4242), (struct.pack("=i", 0), None),
    (b"junk\n", None), (b"", None), ("\u00b2\n".encode(), None),
])
def test_uucp_lock_pid(data: bytes, pid: int | None) -> None:
    assert uucp_lock.pid(data) == pid


def test_ppp_options_words_without_comments() -> None:
    data = b"# ms-dns 1.1.1.1\nms-dns 192.168.32.1 # ours\nlogin\n\n192.168.32.1:192.168.32.2\n"
    assert ppp_options.lines(data) == [["ms-dns", "192.168.32.1"], ["login"], ["192.168.32.1:192.168.32.2"]]
    assert ppp_options.values(data, "ms-dns") == ["192.168.32.1"]


def test_mgetty_config_per_port_and_registers() -> None:
    glob, ports = mgetty_conf.parse(b"# c\nspeed 57600\nport ttyS1\n  rings 2\n  init-chat \"\" ATS0=0S7=60 OK\n")
    assert glob == {"speed": "57600"} and ports["ttyS1"]["rings"] == "2"
    chat = ports["ttyS1"]["init-chat"]
    assert (mgetty_conf.register(chat, 0), mgetty_conf.register(chat, 7), mgetty_conf.register(chat, 9)) == (0, 60, None)
    assert mgetty_conf.autoppp_lines(b"/AutoPPP/ - ppp /usr/sbin/pppd auth login\n* - - /bin/login @\n") == \
        [["/AutoPPP/", "-", "ppp", "/usr/sbin/pppd", "auth", "login"]]


def entry(client: str, secret: str, *addresses: str, options: tuple[str, ...] = ()) -> fmt.Entry:
    return fmt.Entry(client, "*", secret, addresses or ("*",), options, 1)


@pytest.mark.parametrize(("login", "level"), [(False, ERROR), (True, pap_rules.NOTE), (None, pap_rules.NOTE)])
def test_empty_secret_is_an_error_only_without_login(login: bool | None, level: str) -> None:
    facts = pap_rules.Facts(login=login, accounts={"dc": 3002})
    assert [(i.rule, i.level) for i in pap_rules.issues(entry("dc", ""), facts)] == [("secret-empty", level)]


def test_missing_account_matters_under_login_and_when_not_known() -> None:
    e = entry("ghost", fmt.LOGIN_SECRET)
    levels = {login: [i.level for i in pap_rules.issues(e, pap_rules.Facts(login=login, accounts={}))]
              for login in (True, False, None)}
    assert levels == {True: [ERROR], False: [], None: [pap_rules.NOTE]}
    assert pap_rules.issues(e, pap_rules.Facts(login=True, accounts=None)) == []  # no passwd: not checked


def test_deny_lines_have_no_issues_and_wildcards_warn() -> None:
    facts = pap_rules.Facts(login=True, accounts={"root": 0})
    assert pap_rules.issues(fmt.Entry("root", "*", "*", ("-",), (), 3), facts) == []
    assert [(i.rule, i.level) for i in pap_rules.issues(entry("*", "shared"), facts)] == \
        [("secret-clear", pap_rules.NOTE), ("secret-wildcard", WARNING)]


def test_system_accounts_that_pap_secrets_lets_in() -> None:
    entries = [entry("*", fmt.LOGIN_SECRET), fmt.Entry("bin", "*", "*", ("-",), (), 2)]
    facts = pap_rules.Facts(login=True, accounts={"root": 0, "bin": 2, "daemon": 1, "dc": 3002})
    found = pap_rules.system_accounts(entries, facts, locked=lambda name: name == "daemon")
    assert [(i.account, i.uid, i.entry.line) for i in found] == [("root", 0, 1)]
    assert pap_rules.system_accounts(entries, pap_rules.Facts(login=False, accounts=facts.accounts), lambda n: False) == []


def test_machine_reads_the_tree(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "etc/ppp").mkdir(parents=True)
    (root / "etc/ppp/options").write_text("login\n")
    m = Machine(Paths(root), Probe(Paths(root)))
    assert m.procs is None and m.kernel_ppp() is None and m.udp_listeners(53) is None
    assert m.interface_exists("eth0") is None and m.read("/etc/ppp/nothing") is None
    assert m.read("/etc/ppp/options") == b"login\n" and m.probe.nft_table() is None
    assert m.open_to_others("/etc/ppp/options") is None
    os.chmod(root / "etc/ppp", 0o775)
    assert m.open_to_others("/etc/ppp/options") == "/etc/ppp"
    (root / "dev").mkdir()
    (root / "sys/module/ppp_generic").mkdir(parents=True)
    k = m.kernel_ppp()
    assert k is not None and (k.dev_ppp, k.generic_loaded, k.async_loaded, k.async_module) == (False, True, False, False)


def test_dial_record_is_written_whole_with_its_mode(tmp_path: Path) -> None:
    paths = Paths(tmp_path)
    rec = DialRecord(peer="isp", pid=4321, device="/dev/ttyS0", dns=["192.168.32.1"])
    rec.save(paths)
    p = DialRecord.path(paths, "isp")
    assert stat.S_IMODE(p.stat().st_mode) == 0o644 and os.listdir(p.parent) == [p.name]
    assert DialRecord.load(paths, "isp") == rec
