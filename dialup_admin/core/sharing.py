"""Internet for callers (``setup-server --share-internet IFACE``): forwarding and NAT.

Plans the tool's nftables ruleset (one table it owns, see :mod:`dialup_admin.system.nft`),
``net.ipv4.ip_forward`` now and at boot, and a boot unit that reloads the table. On the
running machine it also loads the table and sets the sysctl, each with an undo command
so a failed apply or ``rollback`` takes them out again.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass

from dialup_admin.core.plan import FileSpec, Plan, RunCommand
from dialup_admin.core.state import load_server_json
from dialup_admin.errors import BadInput
from dialup_admin.model import Line
from dialup_admin.paths import SYSTEMD_DIR, Paths
from dialup_admin.render import render
from dialup_admin.system import commands, netinfo, nft
from dialup_admin.system import reading

SYSCTL_FILE = "/etc/sysctl.d/60-dialup-admin.conf"
FORWARD = "/proc/sys/net/ipv4/ip_forward"
UNIT = f"{SYSTEMD_DIR}/dialup-admin-nat.service"
UNIT_LINK = f"{SYSTEMD_DIR}/multi-user.target.wants/dialup-admin-nat.service"
NFT = "/usr/sbin/nft"

_IFACE_RE = re.compile(r"^[A-Za-z0-9_.:@-]{1,15}$")


def iface_name(value: str) -> str:
    """Validate a network interface name as the kernel allows it (``eth0``, ``enp3s0``)."""
    if not _IFACE_RE.match(value) or value in (".", ".."):
        raise BadInput(f"bad interface name {value!r}: such as eth0 or enp3s0 (ip link lists them)")
    return value


def previous_share(paths: Paths) -> str | None:
    """The upstream interface the last setup-server shared, if any."""
    data = load_server_json(paths) or {}
    value = data.get("share_internet")
    return value if isinstance(value, str) else None


def ruleset(pool: ipaddress.IPv4Network, upstream: str) -> str:
    return render("nat.nft.j2", table=nft.TABLE, pool=str(pool), upstream=upstream)


def pool_in_lan(paths: Paths, pool: ipaddress.IPv4Network) -> bool:
    """Whether the pool lies inside a network the host is directly on (callers then need proxyarp)."""
    return any(pool.overlaps(r.network) for r in netinfo.lan_networks(paths))


def pick_dns(paths: Paths, lines: tuple[Line, ...]) -> tuple[ipaddress.IPv4Address, ...]:
    """DNS for callers when none was given: () means the host itself (it runs a resolver
    reachable on the line addresses), else the host's own upstream nameservers."""
    listening = netinfo.udp_listeners(paths, 53)
    if ipaddress.IPv4Address(0) in listening or all(ln.local in listening for ln in lines):
        return ()
    return tuple(netinfo.upstream_nameservers(paths)[:2])


def _forward_now(paths: Paths) -> str | None:
    try:
        return reading.read_text(paths.of(FORWARD)).strip()
    except OSError:
        return None


@dataclass(frozen=True)
class SharePlan:
    upstream: str | None  # None: not sharing (anymore)
    init: str


def plan_sharing(plan: Plan, pool: ipaddress.IPv4Network, share: SharePlan) -> None:
    """Add the NAT files and commands to ``plan`` (or their removal when sharing stops).

    Changes on the machine when applied: /etc/dialup-admin/nat.nft, /etc/sysctl.d/60-dialup-admin.conf,
    the dialup-admin-nat.service unit (systemd); on the running machine also
    ``sysctl -w net.ipv4.ip_forward=1`` and ``nft -f`` of the table.
    """
    paths = plan.paths
    was = previous_share(paths)
    if share.upstream is None:
        if was is not None:
            _plan_removal(plan)
        return
    text = ruleset(pool, share.upstream)
    # Checked against this kernel before anything is written: a refused ruleset stops here.
    # nft -c needs CAP_NET_ADMIN, so an unprivileged --dry-run or --root run skips it.
    if os.geteuid() != 0:
        plan.notes.append("the NAT rules were not checked with nft -c (that needs root)")
    elif commands.which("nft") is None:
        plan.notes.append("nft is not installed here, so the NAT rules were not checked (apt-get install nftables)")
    else:
        nft.check(text)
    changed = plan.file(nft.RULESET, FileSpec(text))
    plan.file(SYSCTL_FILE, FileSpec(render("sysctl-forward.conf.j2")))
    if share.init == "systemd":
        plan.file(UNIT, FileSpec(render("dialup-admin-nat.service.j2", table=nft.TABLE, nft=NFT, ruleset=nft.RULESET)))
        plan.symlink(UNIT_LINK, UNIT)
    else:
        plan.notes.append(f"load the NAT table at boot yourself: nft -f {nft.RULESET} (after your own firewall rules)")
    if not paths.is_host:
        return
    if _forward_now(paths) != "1":
        before = _forward_now(paths) or "0"
        plan.command(RunCommand(("sysctl", "-w", "net.ipv4.ip_forward=1"), "forward callers' packets",
                                undo=("sysctl", "-w", f"net.ipv4.ip_forward={before}")))
    loaded = nft.list_table()
    if changed or loaded is None or not nft.masquerades(loaded, str(pool), share.upstream):
        # Undo: a table that existed before comes back from the restored file; a new one goes.
        undo = ("nft", "-f", nft.RULESET) if loaded is not None and was is not None else \
            ("nft", "delete", "table", nft.FAMILY, nft.TABLE)
        plan.command(RunCommand(("nft", "-f", nft.RULESET), f"load the NAT table {nft.TABLE}", undo=undo))


def _plan_removal(plan: Plan) -> None:
    plan.remove(nft.RULESET)
    plan.remove(SYSCTL_FILE)
    plan.remove(UNIT_LINK)
    plan.remove(UNIT)
    plan.notes.append("internet sharing is off: net.ipv4.ip_forward is left as it is now (other services may need it)")
    if plan.paths.is_host and nft.list_table() is not None:
        plan.command(RunCommand(("nft", "delete", "table", nft.FAMILY, nft.TABLE), "remove the NAT table",
                                undo=("nft", "-f", nft.RULESET)))


def choose_share(paths: Paths, given: str | None, stop: bool) -> str | None:
    """The upstream interface to share: the one given, else the last run's (until stopped)."""
    if given is not None and stop:
        raise BadInput("--share-internet and --no-share-internet contradict each other")
    if stop:
        return None
    if given is not None:
        name = iface_name(given)
        if paths.is_host and not netinfo.interface_exists(paths, name):
            raise BadInput(f"no network interface {name} here (ip link lists them)")
        return name
    return previous_share(paths)
