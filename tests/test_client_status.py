"""status and stats read the kernel's own figures: parsers on real output, and the
commands for real inside a network namespace whose ``ppp0`` is a veth (no kernel PPP
here to make a real one; the e2e lab shows a real ppp0)."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from dialup_admin.system import netstat
from tests.support.ns import netns_problem
from tests.support.tool import REPO, RunCli

PROC_NET_DEV = """Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0
  ppp0:  100490    1819    1    0    0     0        118         0  1680270    1552    0    0    0     0       0          3
"""


def test_parse_proc_net_dev() -> None:
    c = netstat.parse_proc_net_dev(PROC_NET_DEV)["ppp0"]
    assert (c.rx_bytes, c.rx_packets, c.rx_errs, c.rx_compressed) == (100490, 1819, 1, 118)
    assert (c.tx_bytes, c.tx_packets, c.tx_compressed) == (1680270, 1552, 3)


def test_parse_ip_json_of_a_real_ppp_link() -> None:
    # ip -j addr / route for a ppp0 as pppd leaves it (link_type ppp, a peer address).
    addr = [{"ifname": "eth0", "flags": ["UP"], "link_type": "ether", "addr_info": []},
            {"ifname": "ppp0", "flags": ["POINTOPOINT", "NOARP", "UP", "LOWER_UP"], "mtu": 1500, "link_type": "ppp",
             "addr_info": [{"family": "inet", "local": "192.168.32.2", "address": "192.168.32.1", "prefixlen": 32}]}]
    links = netstat.parse_ip_addr(addr)
    assert [(ln.name, ln.up, ln.local, ln.peer) for ln in links] == [("ppp0", True, "192.168.32.2", "192.168.32.1")]
    netstat.add_routes(links, [{"dst": "default", "dev": "ppp0", "scope": "link"},
                               {"dst": "192.168.32.1", "dev": "ppp0", "prefsrc": "192.168.32.2"},
                               {"dst": "10.0.0.0/8", "dev": "eth0"}])
    assert links[0].default_route and links[0].routes == ["default", "192.168.32.1"]


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@pytest.fixture
def netns() -> Iterator[str]:
    """A network namespace of our own (removed afterwards)."""
    why = netns_problem()
    if why is not None:
        pytest.skip(why)
    name = f"dialup-test-{uuid.uuid4().hex[:8]}"
    try:
        _ip("netns", "add", name)
    except (subprocess.CalledProcessError, FileNotFoundError) as exc:
        pytest.skip(f"cannot create a network namespace: {exc}")
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


@pytest.fixture
def link_ns(netns: str) -> str:
    """The namespace with ``ppp0`` up: 192.168.32.2 peer 192.168.32.1, default route through it."""
    try:
        _ip("-n", netns, "link", "add", "ppp0", "type", "veth", "peer", "name", "far0")
    except subprocess.CalledProcessError as exc:
        pytest.skip(f"cannot create a veth pair: {exc.stderr.decode().strip()}")
    for dev in ("ppp0", "far0", "lo"):
        _ip("-n", netns, "link", "set", dev, "up")
    _ip("-n", netns, "addr", "add", "192.168.32.2", "peer", "192.168.32.1/32", "dev", "ppp0")
    _ip("-n", netns, "route", "add", "default", "dev", "ppp0")
    return netns


def in_ns(ns: str, root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-m", "dialup_admin", "--root", str(root), *args],
                          capture_output=True, text=True, timeout=60, cwd=REPO)


def test_status_shows_the_link(link_ns: str, root: Path) -> None:
    proc = in_ns(link_ns, root, "status", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    (link,) = data["links"]
    assert (link["interface"], link["up"], link["local"], link["peer"]) == ("ppp0", True, "192.168.32.2", "192.168.32.1")
    assert link["default_route"] and "default" in link["routes"]
    assert link["counters"]["tx_packets"] >= 0
    text = in_ns(link_ns, root, "status").stdout
    assert "ppp0: UP  local 192.168.32.2  peer 192.168.32.1" in text and "(default route)" in text


def test_stats_columns_per_interval(link_ns: str, root: Path) -> None:
    proc = in_ns(link_ns, root, "stats", "--interval", "0.2", "--count", "3")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["IN", "PACK", "ERRS", "DROP", "COMP", "|", "OUT", "PACK", "ERRS", "DROP", "COMP"]
    assert len(lines) == 4 and all(len(ln.split()) == 11 for ln in lines[1:])
    data = json.loads(in_ns(link_ns, root, "stats", "--json").stdout)
    assert data["interface"] == "ppp0" and len(data["samples"]) == 1


def test_no_link(netns: str, root: Path) -> None:
    proc = in_ns(netns, root, "status")
    assert proc.returncode == 0 and proc.stdout.strip() == "No PPP link is up."
    assert json.loads(in_ns(netns, root, "status", "--json").stdout)["links"] == []
    proc = in_ns(netns, root, "stats", "--interval", "1")
    assert proc.returncode == 1
    assert proc.stderr.startswith("dialup-admin: error: no PPP link is up") and proc.stderr.count("\n") == 1


def test_stats_bad_interval(run: RunCli) -> None:
    res = run("stats", "--interval", "0")
    assert res.exit_code == 2 and "--interval must be more than 0" in res.output


def test_pppstats_columns_and_ratio() -> None:
    from dialup_admin.core import stats as st

    first = {"ibytes": 100490, "ipackets": 1819, "vjcompin": 1421, "vjuncin": 118, "vjerrin": 0,
             "obytes": 1680270, "opackets": 1552, "vjcomp": 0, "vjunc": 0, "nonvj": 1552}
    # The guide's pppstats line, in pppstats' order.
    assert st.row(st.PPP, st.delta(first, None)).replace("|", " ").split() == \
        ["100490", "1819", "1421", "118", "0", "1680270", "1552", "0", "0", "1552"]
    later = dict(first, ibytes=100590, ipackets=1820)
    assert st.row(st.PPP, st.delta(later, first)).split()[:2] == ["100", "1"]
    z = {"ccomp_bytes": 50, "ccomp_packets": 1, "cinc_bytes": 0, "cinc_packets": 0, "cunc_bytes": 100,
         "dcomp_bytes": 0, "dcomp_packets": 0, "dinc_bytes": 0, "dinc_packets": 0, "dunc_bytes": 0}
    d = st.delta(z, None)
    assert d["cratio"] == 2.0 and d["dratio"] == 0.0
    assert st.row(st.COMPRESSION, d).split()[-1] == "2.00"
