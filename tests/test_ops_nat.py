"""--share-internet's nftables table with the real nft, in network namespaces this test makes.

Three namespaces joined by veth pairs, all addresses private to them:

    caller 192.168.32.2 --(ppp0)-- server 192.168.32.1 / 10.99.0.2 --(up0)-- upstream 10.99.0.1

The upstream has no route back to the pool, so a caller reaches it only when the server
masquerades. Nothing outside the namespaces is touched; teardown deletes them.
"""

from __future__ import annotations

import ipaddress
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from dialup_admin.core import sharing
from dialup_admin.system import nft
from tests.support.ns import netns_problem
from tests.support.tool import REPO

POOL = ipaddress.IPv4Network("192.168.32.0/24")


def sh(*argv: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, check=check, timeout=timeout)


class Lab:
    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:6]
        self.srv, self.up, self.cli = f"da-s-{tag}", f"da-u-{tag}", f"da-c-{tag}"
        self.made: list[str] = []

    def build(self) -> None:
        for ns in (self.srv, self.up, self.cli):
            sh("ip", "netns", "add", ns)
            self.made.append(ns)
        sh("ip", "link", "add", "ppp0", "netns", self.srv, "type", "veth", "peer", "name", "eth0", "netns", self.cli)
        sh("ip", "link", "add", "up0", "netns", self.srv, "type", "veth", "peer", "name", "eth0", "netns", self.up)
        for ns, dev, addr in ((self.srv, "ppp0", "192.168.32.1/24"), (self.cli, "eth0", "192.168.32.2/24"),
                              (self.srv, "up0", "10.99.0.2/24"), (self.up, "eth0", "10.99.0.1/24")):
            self.ip(ns, "addr", "add", addr, "dev", dev)
            self.ip(ns, "link", "set", dev, "up")
        for ns in (self.srv, self.up, self.cli):
            self.ip(ns, "link", "set", "lo", "up")
        self.ip(self.cli, "route", "add", "default", "via", "192.168.32.1")
        self.ex(self.srv, "sysctl", "-qw", "net.ipv4.ip_forward=1")

    def ip(self, ns: str, *args: str) -> None:
        sh("ip", "-n", ns, *args)

    def ex(self, ns: str, *argv: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        return sh("ip", "netns", "exec", ns, *argv, check=check, timeout=timeout)

    def py(self, ns: str, code: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", textwrap.dedent(code)],
                              capture_output=True, text=True, check=check, timeout=60, cwd=REPO)

    def reaches_upstream(self) -> bool:
        return self.source_seen_upstream() is not None

    def source_seen_upstream(self) -> str | None:
        """Connect from the caller to a listener upstream (TCP, as ping is not installed
        everywhere): the source address the listener saw, or None when no connection came up."""
        server = subprocess.Popen(
            ["ip", "netns", "exec", self.up, sys.executable, "-c", textwrap.dedent("""
                import socket
                s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("10.99.0.1", 8053)); s.listen(1); s.settimeout(5)
                print("ready", flush=True)
                try:
                    c, addr = s.accept(); print(addr[0], flush=True); c.close()
                except OSError:
                    print("none", flush=True)
            """)], stdout=subprocess.PIPE, text=True)
        try:
            assert server.stdout is not None and server.stdout.readline().strip() == "ready"
            client = self.py(self.cli, """
                import socket
                try:
                    socket.create_connection(("10.99.0.1", 8053), timeout=2).close()
                    print("connected")
                except OSError as exc:
                    print("failed", exc)
            """)
            if not client.stdout.startswith("connected"):
                return None
            return server.stdout.readline().strip()
        finally:
            server.kill()
            server.wait()

    def table(self) -> str | None:
        proc = self.ex(self.srv, "nft", "list", "table", "ip", nft.TABLE, check=False)
        return proc.stdout if proc.returncode == 0 else None

    def teardown(self) -> None:
        for ns in self.made:
            sh("ip", "netns", "del", ns, check=False)


@pytest.fixture
def lab() -> Iterator[Lab]:
    why = netns_problem()
    if why is not None:
        pytest.skip(why)
    if sh("which", "nft", check=False).returncode != 0:
        pytest.skip("nft is not installed (apt-get install nftables)")
    lab = Lab()
    try:
        lab.build()
        yield lab
    finally:
        lab.teardown()
    assert not any(ns in sh("ip", "netns", "list").stdout for ns in (lab.srv, lab.up, lab.cli))


def test_masquerade_lets_callers_out(lab: Lab) -> None:
    text = sharing.ruleset(POOL, "up0")
    assert not lab.reaches_upstream()  # no NAT: the upstream cannot answer the pool
    lab.py(lab.srv, f"""
        from dialup_admin.system import nft
        nft.check({text!r})
    """)
    assert lab.table() is None  # checking loads nothing
    lab.py(lab.srv, f"""
        from dialup_admin.system import nft
        nft.load({text!r})
        nft.load({text!r})  # loading again replaces the table, never doubles the rule
    """)
    listed = lab.table()
    assert listed is not None and listed.count("masquerade") == 1
    assert nft.masquerades(listed, str(POOL), "up0")
    assert lab.reaches_upstream()
    assert lab.source_seen_upstream() == "10.99.0.2"
    lab.py(lab.srv, "from dialup_admin.system import nft; nft.delete_table(); nft.delete_table()")
    assert lab.table() is None and not lab.reaches_upstream()


def test_refused_ruleset_is_one_line(lab: Lab) -> None:
    bad = sharing.ruleset(POOL, "up0").replace("masquerade", "masquerade bogus")
    proc = lab.py(lab.srv, f"""
        from dialup_admin.errors import UserError
        from dialup_admin.system import nft
        try:
            nft.check({bad!r})
        except UserError as exc:
            print(exc)
    """)
    assert proc.stdout.startswith("nft refused the NAT rules:") and proc.stdout.count("\n") == 1
    assert lab.table() is None


def test_failed_apply_unloads_the_table(lab: Lab, tmp_path: Path) -> None:
    """The RunCommand that loads the table carries its undo: a later failure takes it out again."""
    proc = lab.py(lab.srv, f"""
        from pathlib import Path
        from dialup_admin.core.plan import FileSpec, Plan, RunCommand, apply
        from dialup_admin.core import sharing
        from dialup_admin.errors import UserError
        from dialup_admin.paths import Paths
        from dialup_admin.system import nft
        import ipaddress
        paths = Paths(Path({str(tmp_path)!r}))
        plan = Plan(paths, "share")
        plan.file(nft.RULESET, FileSpec(sharing.ruleset(ipaddress.IPv4Network("192.168.32.0/24"), "up0")))
        plan.command(RunCommand(("nft", "-f", str(paths.of(nft.RULESET))), "load",
                                undo=("nft", "delete", "table", "ip", nft.TABLE)))
        plan.command(RunCommand(("sh", "-c", "nft list table ip {nft.TABLE} >/dev/null && exit 3")))
        try:
            apply(plan)
        except UserError as exc:
            print("failed:", exc)
    """)
    assert "failed: sh -c failed (exit 3)" in proc.stdout, proc.stderr
    assert lab.table() is None
    assert not (tmp_path / "etc/dialup-admin/nat.nft").exists()


def test_forward_drop_in_another_table_is_seen(lab: Lab) -> None:
    rules = "table inet admin {\n chain forwarding {\n  type filter hook forward priority filter; policy drop;\n }\n}\n"
    subprocess.run(["ip", "netns", "exec", lab.srv, "nft", "-f", "-"], input=rules, text=True, check=True)
    lab.py(lab.srv, f"from dialup_admin.system import nft; nft.load({sharing.ruleset(POOL, 'up0')!r})")
    listed = lab.ex(lab.srv, "nft", "list", "ruleset").stdout
    assert nft.forward_drops(listed) == ["inet admin"]
    assert not lab.reaches_upstream()  # our NAT cannot undo another table's drop: doctor warns
