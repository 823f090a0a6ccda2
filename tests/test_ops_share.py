"""setup-server --share-internet / --proxyarp / DNS for callers, under --root."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest

from dialup_admin.core import sharing
from dialup_admin.core.plan import Plan, RunCommand
from dialup_admin.paths import Paths
from dialup_admin.system import nft
from tests.support.ops import fake_routes, fake_udp
from tests.support.tool import RunCli
from tests.support.trees import snapshot

SETUP = ("setup-server", "--tty", "ttyS1", "--no-accounts")


def state(root: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((root / "etc/dialup-admin/server.json").read_text())
    return data


def systemd_tree(root: Path) -> None:
    (root / "lib/systemd").mkdir(parents=True)
    (root / "lib/systemd/systemd").write_bytes(b"")


def test_share_writes_table_sysctl_and_boot_unit(root: Path, run: RunCli) -> None:
    systemd_tree(root)
    res = run(*SETUP, "--share-internet", "eth0")
    assert res.exit_code == 0, res.output
    rules = (root / "etc/dialup-admin/nat.nft").read_text()
    assert "table ip dialup_admin\ndelete table ip dialup_admin\n" in rules
    assert 'ip saddr 192.168.32.0/24 oifname "eth0" masquerade' in rules
    assert "net.ipv4.ip_forward = 1" in (root / "etc/sysctl.d/60-dialup-admin.conf").read_text()
    unit = (root / "etc/systemd/system/dialup-admin-nat.service").read_text()
    assert "ExecStart=/usr/sbin/nft -f /etc/dialup-admin/nat.nft" in unit
    assert "ExecStop=/usr/sbin/nft delete table ip dialup_admin" in unit
    link = root / "etc/systemd/system/multi-user.target.wants/dialup-admin-nat.service"
    assert link.is_symlink()
    assert state(root)["share_internet"] == "eth0"


def test_share_is_kept_until_stopped_and_rollback_undoes(root: Path, run: RunCli) -> None:
    assert run(*SETUP, "--init", "inittab").exit_code == 0
    before = snapshot(root)
    assert run(*SETUP, "--init", "inittab", "--share-internet", "eth0").exit_code == 0
    res = run(*SETUP, "--init", "inittab")  # not given again: still shared
    assert "Nothing to change" in res.output
    res = run(*SETUP, "--init", "inittab", "--no-share-internet")
    assert res.exit_code == 0 and "remove /etc/dialup-admin/nat.nft" in res.output
    assert not (root / "etc/dialup-admin/nat.nft").exists() and state(root)["share_internet"] is None
    assert run("rollback").exit_code == 0
    assert (root / "etc/dialup-admin/nat.nft").exists()
    assert run("rollback").exit_code == 0
    after = {k: v for k, v in snapshot(root).items() if not k.startswith("var")}
    assert after == {k: v for k, v in before.items() if not k.startswith("var")}


def test_share_needs_a_proper_interface_name(root: Path, run: RunCli) -> None:
    for bad in ("eth0/../x", "", "a" * 16, 'eth"0'):
        res = run(*SETUP, "--share-internet", bad)
        assert res.exit_code == 2 and "interface name" in res.output, bad
    res = run(*SETUP, "--share-internet", "eth0", "--no-share-internet")
    assert res.exit_code == 2 and "contradict" in res.output
    assert not (root / "etc").exists()


def test_dry_run_shows_the_nat_files(root: Path, run: RunCli) -> None:
    before = snapshot(root)
    res = run(*SETUP, "--share-internet", "eth0", "--dry-run", "--diff")
    assert res.exit_code == 0 and "+\t\tip saddr 192.168.32.0/24 oifname \"eth0\" masquerade" in res.output
    assert snapshot(root) == before


def test_proxyarp_when_the_pool_is_in_the_lan(root: Path, run: RunCli) -> None:
    fake_routes(root, [("eth0", "192.168.32.0", "0.0.0.0", "255.255.255.0")])
    assert run(*SETUP, "--init", "none").exit_code == 0
    assert "\nproxyarp\n" in (root / "etc/ppp/options.ttyS1").read_text()
    assert state(root)["proxyarp"] is True
    assert run(*SETUP, "--init", "none", "--no-proxyarp").exit_code == 0
    assert "proxyarp" not in (root / "etc/ppp/options.ttyS1").read_text()


def test_no_proxyarp_for_a_separate_pool(root: Path, run: RunCli) -> None:
    fake_routes(root, [("eth0", "10.1.0.0", "0.0.0.0", "255.255.255.0")])
    assert run(*SETUP, "--init", "none").exit_code == 0
    assert "proxyarp" not in (root / "etc/ppp/options.ttyS1").read_text()


def test_dns_for_callers_when_sharing(root: Path, run: RunCli) -> None:
    (root / "etc").mkdir()
    (root / "etc/resolv.conf").write_text("nameserver 127.0.0.53\noptions edns0\n")
    (root / "run/systemd/resolve").mkdir(parents=True)
    (root / "run/systemd/resolve/resolv.conf").write_text("nameserver 10.1.0.1\nnameserver 10.1.0.2\n")
    fake_udp(root, [("127.0.0.53", 53)])  # only the stub, on loopback: callers cannot use it
    assert run(*SETUP, "--init", "none", "--share-internet", "eth0").exit_code == 0
    opts = (root / "etc/ppp/options.ttyS1").read_text()
    assert "ms-dns 10.1.0.1\nms-dns 10.1.0.2\n" in opts


def test_dns_is_this_host_when_it_runs_a_resolver(root: Path, run: RunCli) -> None:
    (root / "etc").mkdir()
    (root / "etc/resolv.conf").write_text("nameserver 10.1.0.1\n")
    fake_udp(root, [("0.0.0.0", 53)])
    assert run(*SETUP, "--init", "none", "--share-internet", "eth0").exit_code == 0
    assert "ms-dns 192.168.32.1\n" in (root / "etc/ppp/options.ttyS1").read_text()
    assert run(*SETUP, "--init", "none", "--share-internet", "eth0", "--dns", "9.9.9.9").exit_code == 0
    assert "ms-dns 9.9.9.9\n" in (root / "etc/ppp/options.ttyS1").read_text()


class HostLike(Paths):
    """A tree that plans like the running machine (commands included); never applied here."""

    @property
    def is_host(self) -> bool:
        return True


def host_plan(root: Path, monkeypatch: pytest.MonkeyPatch, loaded: str | None, upstream: str | None) -> Plan:
    monkeypatch.setattr(nft, "list_table", lambda: loaded)
    (root / "proc/sys/net/ipv4").mkdir(parents=True, exist_ok=True)
    (root / "proc/sys/net/ipv4/ip_forward").write_text("0\n")
    plan = Plan(HostLike(root), "test")
    sharing.plan_sharing(plan, ipaddress.IPv4Network("192.168.32.0/24"), sharing.SharePlan(upstream, "inittab"))
    return plan


def commands_of(plan: Plan) -> list[tuple[tuple[str, ...], tuple[str, ...] | None]]:
    return [(a.argv, a.undo) for a in plan.actions if isinstance(a, RunCommand)]


def test_on_the_machine_forwarding_and_table_are_loaded_with_undo(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plan = host_plan(root, monkeypatch, None, "eth0")
    assert commands_of(plan) == [
        (("sysctl", "-w", "net.ipv4.ip_forward=1"), ("sysctl", "-w", "net.ipv4.ip_forward=0")),
        (("nft", "-f", "/etc/dialup-admin/nat.nft"), ("nft", "delete", "table", "ip", "dialup_admin")),
    ]


def test_a_loaded_table_of_the_last_run_comes_back_on_undo(root: Path, run: RunCli,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(*SETUP, "--init", "none", "--share-internet", "wlan0").exit_code == 0
    plan = host_plan(root, monkeypatch, 'ip saddr 192.168.32.0/24 oifname "wlan0" masquerade', "eth0")
    assert commands_of(plan)[-1] == (("nft", "-f", "/etc/dialup-admin/nat.nft"), ("nft", "-f", "/etc/dialup-admin/nat.nft"))
    stop = host_plan(root, monkeypatch, "table ip dialup_admin {}", None)
    assert commands_of(stop) == [(("nft", "delete", "table", "ip", "dialup_admin"), ("nft", "-f", "/etc/dialup-admin/nat.nft"))]
