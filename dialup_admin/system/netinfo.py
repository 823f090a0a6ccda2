"""What the host's network looks like, read from /proc and /etc through Paths.

Reading only. Under ``--root`` the same files are read from the tree (tests build
them), so checks that use them work on images and fakes alike.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
from dataclasses import dataclass

from dialup_admin.paths import Paths
from dialup_admin.system import reading


@dataclass(frozen=True)
class Route:
    iface: str
    network: ipaddress.IPv4Network
    gateway: ipaddress.IPv4Address


def _le_addr(hex8: str) -> ipaddress.IPv4Address:
    """An address as /proc/net prints it: 8 hex digits in host (little-endian) order."""
    return ipaddress.IPv4Address(socket.inet_ntoa(struct.pack("<I", int(hex8, 16))))


def routes(paths: Paths) -> list[Route]:
    """The IPv4 routing table (/proc/net/route); empty when it cannot be read."""
    try:
        text = reading.read_text(paths.of("/proc/net/route"))
    except OSError:
        return []
    out: list[Route] = []
    for line in text.splitlines()[1:]:
        f = line.split()
        if len(f) < 8:
            continue
        try:
            dest, gw, mask = _le_addr(f[1]), _le_addr(f[2]), _le_addr(f[7])
            net = ipaddress.IPv4Network(f"{dest}/{mask}", strict=False)
        except ValueError:
            continue
        out.append(Route(f[0], net, gw))
    return out


def lan_networks(paths: Paths) -> list[Route]:
    """Directly connected networks of the host's own interfaces (not PPP links, not default)."""
    return [r for r in routes(paths) if r.network.prefixlen > 0 and not r.iface.startswith("ppp")
            and r.gateway == ipaddress.IPv4Address(0)]


def udp_listeners(paths: Paths, port: int) -> list[ipaddress.IPv4Address]:
    """Addresses on which some program receives UDP ``port`` (0.0.0.0 means every address)."""
    try:
        text = reading.read_text(paths.of("/proc/net/udp"))
    except OSError:
        return []
    out: list[ipaddress.IPv4Address] = []
    for line in text.splitlines()[1:]:
        f = line.split()
        if len(f) < 2 or ":" not in f[1]:
            continue
        addr, _, p = f[1].partition(":")
        try:
            if int(p, 16) == port:
                out.append(_le_addr(addr))
        except ValueError:
            continue
    return out


def nameservers(paths: Paths, path: str = "/etc/resolv.conf") -> list[ipaddress.IPv4Address]:
    """The IPv4 nameservers a resolv.conf names."""
    try:
        text = reading.read_text(paths.of(path))
    except OSError:
        return []
    out: list[ipaddress.IPv4Address] = []
    for line in text.splitlines():
        f = line.split()
        if len(f) >= 2 and f[0] == "nameserver":
            try:
                out.append(ipaddress.IPv4Address(f[1]))
            except ValueError:
                continue
    return out


def upstream_nameservers(paths: Paths) -> list[ipaddress.IPv4Address]:
    """Nameservers callers can use through NAT: resolv.conf's, or systemd-resolved's upstreams
    when resolv.conf only names the local stub (127.0.0.53 answers on loopback only)."""
    found = [a for a in nameservers(paths) if not a.is_loopback]
    if not found:
        found = [a for a in nameservers(paths, "/run/systemd/resolve/resolv.conf") if not a.is_loopback]
    return found


def interface_exists(paths: Paths, name: str) -> bool:
    return paths.of(f"/sys/class/net/{name}").exists()
