"""doctor: a healthy tree passes clean; every finding has a broken tree that triggers it.

Each case in BROKEN starts from the healthy tree (setup-server + adduser under --root,
plus the /dev, /sys and /proc a working server shows), breaks one thing the way it
breaks on real machines, and expects that finding at that level. The README's
findings table is generated from this list.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from dialup_admin.core import doctor
from dialup_admin.paths import Paths
from dialup_admin.system.probe import Probe
from tests.support.ops import MGETTY_PID, doctor_json, fake_process, fake_routes, fake_udp, healthy_tree, problems
from tests.support.tool import RunCli, run_tool
from tests.support.trees import snapshot

Breaker = Callable[[Path], None]


def edit(root: Path, rel: str, old: str, new: str) -> None:
    p = root / rel
    text = p.read_text()
    assert old in text, (rel, old)
    p.write_text(text.replace(old, new))


def append(root: Path, rel: str, text: str) -> None:
    with open(root / rel, "a") as fh:
        fh.write(text)


def set_state(root: Path, **values: object) -> None:
    p = root / "etc/dialup-admin/server.json"
    data = json.loads(p.read_text())
    data.update(values)
    p.write_text(json.dumps(data))


def fake_exe(root: Path, rel: str, content: bytes = b"#!/bin/sh\n") -> None:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(content)
    p.chmod(0o755)


def no_kernel_ppp(root: Path) -> None:
    (root / "dev/ppp").unlink()
    (root / "sys/module/ppp_generic").rmdir()


def modules_not_loaded(root: Path) -> None:
    no_kernel_ppp(root)
    fake_exe(root, "lib/modules/6.1.0-13-amd64/kernel/drivers/net/ppp/ppp_generic.ko.xz")


def no_dev_ppp_node(root: Path) -> None:
    (root / "dev/ppp").unlink()


def no_ppp_async(root: Path) -> None:
    (root / "sys/module/ppp_async").rmdir()


def image_without_pppd(root: Path) -> None:
    (root / "usr/sbin").mkdir(parents=True)  # a full image: its own /usr/sbin, no pppd in it


def image_without_chat(root: Path) -> None:
    fake_exe(root, "usr/sbin/pppd")
    fake_exe(root, "sbin/mgetty", b"\x7fELF\0/etc/mgetty/mgetty.config\0/AutoPPP/\0")


def mgetty_without_autoppp(root: Path) -> None:
    fake_exe(root, "usr/local/sbin/mgetty", b"\x7fELF\0/usr/local/etc/mgetty+sendfax/mgetty.config\0")
    set_state(root, mgetty_binary="/usr/local/sbin/mgetty")


def no_server_json(root: Path) -> None:
    (root / "etc/dialup-admin/server.json").unlink()


def damaged_server_json(root: Path) -> None:
    (root / "etc/dialup-admin/server.json").write_text("{not json")


def login_config_0644(root: Path) -> None:
    os.chmod(root / "etc/mgetty/login.config", 0o644)


def login_config_without_autoppp(root: Path) -> None:
    p = root / "etc/mgetty/login.config"
    p.write_text("".join(ln for ln in p.read_text().splitlines(True) if not ln.startswith("/AutoPPP/")))


def no_mgetty_config(root: Path) -> None:
    (root / "etc/mgetty/mgetty.config").unlink()


def options_block_hand_edited(root: Path) -> None:
    edit(root, "etc/ppp/options", "asyncmap 0", "asyncmap 0xa0000")


def options_markers_broken(root: Path) -> None:
    p = root / "etc/ppp/options"
    p.write_text("".join(ln for ln in p.read_text().splitlines(True) if not ln.startswith("# END")))


def options_tty_without_pair(root: Path) -> None:
    edit(root, "etc/ppp/options.ttyS1", "192.168.32.1:192.168.32.2\n", "")


def pap_secrets_0644(root: Path) -> None:
    os.chmod(root / "etc/ppp/pap-secrets", 0o644)


def etc_ppp_group_writable(root: Path) -> None:
    os.chmod(root / "etc/ppp", 0o775)


def inittab_line_gone(root: Path) -> None:
    edit(root, "etc/inittab", "S1:2345:respawn:/sbin/mgetty ttyS1 -D /dev/ttyS1\n", "")


def init_none(root: Path) -> None:
    set_state(root, init="none")


def systemd_unit_not_enabled(root: Path) -> None:
    set_state(root, init="systemd")
    fake_exe(root, "etc/systemd/system/mgetty@.service", b"[Service]\n")


def mgetty_not_running(root: Path) -> None:
    for name in ("comm", "cmdline"):
        (root / f"proc/{MGETTY_PID}/{name}").unlink()
    (root / f"proc/{MGETTY_PID}").rmdir()


def empty_secret_without_login(root: Path) -> None:
    edit(root, "etc/mgetty/login.config", "+pap login debug", "+pap debug")
    append(root, "etc/ppp/pap-secrets", 'guest2\t*\t""\t*\n')


def wildcard_client(root: Path) -> None:
    append(root, "etc/ppp/pap-secrets", "*\t*\t@login\t*\n")


def entry_without_account(root: Path) -> None:
    append(root, "etc/ppp/pap-secrets", "ghost\t*\t@login\t*\n")


def system_account_not_denied(root: Path) -> None:
    append(root, "etc/passwd", "backup:x:34:34:backup:/var/backups:/usr/sbin/nologin\n")
    append(root, "etc/shadow", "backup:$6$salt$hash:19000:0:99999:7:::\n")
    append(root, "etc/ppp/pap-secrets", "*\t*\t@login\t*\n")


def answer_chat_timeout_short(root: Path) -> None:
    edit(root, "etc/mgetty/mgetty.config", "answer-chat-timeout 60", "answer-chat-timeout 60\ninit-chat \"\" ATS7=90 OK")


def modem_auto_answers(root: Path) -> None:
    append(root, "etc/mgetty/mgetty.config", "  init-chat \"\" ATS0=2 OK\n")


def mgetty_config_not_a_number(root: Path) -> None:
    append(root, "etc/mgetty/mgetty.config", "  rings two\n")


def modemmanager_running(root: Path) -> None:
    fake_process(root, 700, ["/usr/sbin/ModemManager"])


def serial_getty_enabled(root: Path) -> None:
    link = root / "etc/systemd/system/getty.target.wants/serial-getty@ttyS1.service"
    link.parent.mkdir(parents=True)
    link.symlink_to("/lib/systemd/system/serial-getty@.service")


def inittab_getty_on_line(root: Path) -> None:
    p = root / "etc/inittab"
    p.write_text("T1:23:respawn:/sbin/agetty -L ttyS1 9600 vt100\n" + p.read_text())


def pppd_dialing_on_line(root: Path) -> None:
    fake_process(root, 800, ["/usr/sbin/pppd", "/dev/ttyS1", "57600", "call", "isp"])


def stale_lock(root: Path) -> None:
    (root / "var/lock").mkdir(parents=True)
    (root / "var/lock/LCK..ttyS1").write_text("      9999\n")


def lock_held_by_minicom(root: Path) -> None:
    fake_process(root, 900, ["minicom", "-D", "/dev/ttyS1"])
    (root / "var/lock").mkdir(parents=True)
    (root / "var/lock/LCK..ttyS1").write_text("       900\n")


def static_address_is_line_address(root: Path) -> None:
    append(root, "etc/ppp/pap-secrets", "mailstation\t*\t@login\t192.168.32.1\n")
    append(root, "etc/passwd", "mailstation:x:1002:3000::/nonexistent:/usr/sbin/nologin\n")


def pool_overlaps_lan(root: Path) -> None:
    fake_routes(root, [("eth1", "192.168.32.0", "0.0.0.0", "255.255.255.0")])


def duplicate_line_address(root: Path) -> None:
    set_state(root, lines=[{"tty": "ttyS1", "local": "192.168.32.1", "remote": "192.168.32.2"},
                           {"tty": "ttyS3", "local": "192.168.32.1", "remote": "192.168.32.4"}])


def share_iface_missing(root: Path) -> None:
    set_state(root, share_internet="eth9")
    (root / "proc/sys/net/ipv4/ip_forward").write_text("1\n")


def forwarding_off(root: Path) -> None:
    set_state(root, share_internet="eth0")


def nat_ruleset_missing(root: Path) -> None:
    set_state(root, share_internet="eth0")
    (root / "proc/sys/net/ipv4/ip_forward").write_text("1\n")


def no_ms_dns(root: Path) -> None:
    edit(root, "etc/ppp/options.ttyS1", "ms-dns 192.168.32.1\n", "")


def dns_host_without_resolver(root: Path) -> None:
    fake_udp(root, [("127.0.0.53", 53)])


def dns_elsewhere_without_sharing(root: Path) -> None:
    edit(root, "etc/ppp/options.ttyS1", "ms-dns 192.168.32.1", "ms-dns 9.9.9.9")


def hook_missing(root: Path) -> None:
    (root / "etc/ppp/ip-down.d/dialup-admin").unlink()


def hook_not_executable(root: Path) -> None:
    os.chmod(root / "etc/ppp/ip-up.d/dialup-admin", 0o644)


def wrapper_does_not_run_hook(root: Path) -> None:
    (root / "etc/ppp/ip-up").write_text("#!/bin/sh\n/usr/local/bin/my-routes \"$@\"\n")


def ip_up_local_overrides(root: Path) -> None:
    debian = Path("/etc/ppp/ip-up")
    (root / "etc/ppp/ip-up").write_bytes(debian.read_bytes() if debian.is_file()
                                        else b"#!/bin/sh\n[ -x /etc/ppp/ip-up.local ] && exec /etc/ppp/ip-up.local\n"
                                        b"run-parts /etc/ppp/ip-up.d\n")
    fake_exe(root, "etc/ppp/ip-up.local", b"#!/bin/sh\nip route add 10.9.0.0/16 dev \"$1\"\n")


def records_world_writable(root: Path) -> None:
    (root / "var/log/dialup-admin").mkdir(parents=True)
    (root / "var/log/dialup-admin/sessions.log").write_text("")
    os.chmod(root / "var/log/dialup-admin/sessions.log", 0o666)


BROKEN: list[tuple[Breaker, str, str]] = [
    (no_kernel_ppp, "kernel-ppp", "error"),
    (modules_not_loaded, "kernel-ppp", "error"),
    (no_dev_ppp_node, "kernel-ppp", "error"),
    (no_ppp_async, "kernel-ppp", "error"),
    (image_without_pppd, "pppd", "error"),
    (image_without_chat, "chat", "warning"),
    (mgetty_without_autoppp, "mgetty-autoppp", "error"),
    (no_server_json, "setup", "error"),
    (damaged_server_json, "setup", "error"),
    (login_config_0644, "login-config", "error"),
    (login_config_without_autoppp, "login-config", "error"),
    (no_mgetty_config, "mgetty-config", "error"),
    (options_block_hand_edited, "ppp-options", "warning"),
    (options_markers_broken, "ppp-options", "error"),
    (options_tty_without_pair, "ppp-options-tty", "error"),
    (pap_secrets_0644, "pap-secrets-file", "error"),
    (etc_ppp_group_writable, "writable-path", "error"),
    (inittab_line_gone, "service", "error"),
    (systemd_unit_not_enabled, "service", "error"),
    (init_none, "service", "warning"),
    (mgetty_not_running, "mgetty-running", "error"),
    (empty_secret_without_login, "secret-empty", "error"),
    (wildcard_client, "secret-wildcard", "warning"),
    (entry_without_account, "secret-no-account", "error"),
    (system_account_not_denied, "system-account", "error"),
    (answer_chat_timeout_short, "answer-chat-timeout", "warning"),
    (modem_auto_answers, "rings", "warning"),
    (mgetty_config_not_a_number, "mgetty-config", "error"),
    (modemmanager_running, "modemmanager", "warning"),
    (serial_getty_enabled, "serial-getty", "error"),
    (inittab_getty_on_line, "serial-getty", "error"),
    (pppd_dialing_on_line, "other-pppd", "error"),
    (stale_lock, "stale-lock", "warning"),
    (lock_held_by_minicom, "port-locked", "warning"),
    (duplicate_line_address, "address-duplicate", "error"),
    (static_address_is_line_address, "address-duplicate", "error"),
    (pool_overlaps_lan, "address-pool", "error"),
    (share_iface_missing, "share-iface", "error"),
    (forwarding_off, "ip-forward", "error"),
    (nat_ruleset_missing, "nat-rules", "error"),
    (no_ms_dns, "dns", "warning"),
    (dns_host_without_resolver, "dns", "error"),
    (dns_elsewhere_without_sharing, "dns", "warning"),
    (hook_missing, "session-hooks", "warning"),
    (hook_not_executable, "session-hooks", "warning"),
    (wrapper_does_not_run_hook, "session-hooks", "warning"),
    (ip_up_local_overrides, "session-hooks", "warning"),
    (records_world_writable, "session-records", "error"),
]


def test_healthy_tree_is_clean(root: Path, run: RunCli) -> None:
    healthy_tree(root, run)
    before = snapshot(root)
    code, data = doctor_json(run)
    assert problems(data) == [] and code == 0
    assert data["worst"] == "ok"
    assert snapshot(root) == before  # doctor never changes anything


def test_healthy_sharing_tree_is_clean(root: Path, run: RunCli) -> None:
    healthy_tree(root, run, "--share-internet", "eth0")
    (root / "proc/sys/net/ipv4/ip_forward").write_text("1\n")
    code, data = doctor_json(run)
    assert problems(data) == [] and code == 0
    assert {"ip-forward", "nat-loaded"} <= {f["check"] for f in data["findings"]}


@pytest.mark.parametrize(("breaker", "check", "level"), BROKEN, ids=[b.__name__ for b, _, _ in BROKEN])
def test_finding(root: Path, run: RunCli, breaker: Breaker, check: str, level: str) -> None:
    healthy_tree(root, run)
    breaker(root)
    code, data = doctor_json(run)
    assert (check, level) in problems(data), problems(data)
    mine = [f for f in data["findings"] if f["check"] == check and f["level"] == level]
    assert all(f["fix"] and "\n" not in f["fix"] for f in mine)
    assert code == doctor.EXIT[data["worst"]] and code == (2 if data["worst"] == "error" else 1)


def test_pool_inside_lan_with_proxyarp_is_fine(root: Path, run: RunCli) -> None:
    healthy_tree(root, run)
    pool_overlaps_lan(root)
    set_state(root, proxyarp=True)
    _, data = doctor_json(run)
    assert ("address-pool", "error") not in problems(data)


class FakeProbe(Probe):
    def __init__(self, table: str | None = "", ruleset: str | None = "", dns: bool | None = None) -> None:
        self.table, self.ruleset, self.dns = table, ruleset, dns

    def nft_table(self) -> str | None:
        return self.table

    def nft_ruleset(self) -> str | None:
        return self.ruleset

    def dns_answers(self, server: object) -> bool | None:
        return self.dns


MASQ = 'table ip dialup_admin {\n\tchain postrouting {\n\t\tip saddr 192.168.32.0/24 oifname "eth0" masquerade\n\t}\n}\n'


@pytest.mark.parametrize(("probe", "check", "level"), [
    (FakeProbe(table=""), "nat-loaded", "error"),
    (FakeProbe(table=MASQ.replace("eth0", "wlan0")), "nat-loaded", "error"),
    (FakeProbe(table=MASQ, ruleset="table inet filter {\n\tchain forward {\n"
               "\t\ttype filter hook forward priority filter; policy drop;\n\t}\n}\n"), "forward-policy", "warning"),
    (FakeProbe(table=MASQ, dns=False), "dns", "error"),
], ids=["table-not-loaded", "table-other-iface", "forward-drop-elsewhere", "dns-no-answer"])
def test_kernel_findings(root: Path, run: RunCli, probe: FakeProbe, check: str, level: str) -> None:
    healthy_tree(root, run, "--share-internet", "eth0", "--dns", "9.9.9.9")
    (root / "proc/sys/net/ipv4/ip_forward").write_text("1\n")
    findings = doctor.run_checks(doctor.Target.load(Paths(root), probe))
    got = [(f.check, f.level) for f in findings if f.level != "ok"]
    assert got == [(check, level)]


def test_kernel_findings_ok(root: Path, run: RunCli) -> None:
    healthy_tree(root, run, "--share-internet", "eth0", "--dns", "9.9.9.9")
    (root / "proc/sys/net/ipv4/ip_forward").write_text("1\n")
    findings = doctor.run_checks(doctor.Target.load(Paths(root), FakeProbe(table=MASQ, dns=True)))
    assert [f for f in findings if f.level != "ok"] == []


def test_this_host_has_no_kernel_ppp() -> None:
    """The build machine has no /dev/ppp: doctor says so, with the fix, in a subprocess."""
    if Path("/dev/ppp").exists():
        pytest.skip("this machine has kernel PPP")
    proc = run_tool("doctor")
    assert proc.returncode == 2
    out = proc.stdout.decode()
    assert "kernel-ppp" in out and "CONFIG_PPP" in out or "modprobe" in out
    assert proc.stderr == b""


def test_human_output_lists_fixes(root: Path, run: RunCli) -> None:
    healthy_tree(root, run)
    login_config_0644(root)
    res = run("doctor")
    assert res.exit_code == 2
    assert "ERROR    login-config" in res.output and "fix: chmod 0600 /etc/mgetty/login.config" in res.output
    assert "1 error(s), 0 warning(s)" in res.output
