"""The kernel's own view of PPP links: ``/proc/net/dev`` counters, ``ip -j addr`` and
``ip -j route`` (what the guide read from ifconfig, route -n and pppstats). Reads only.

The parsers are pure functions of the text; :func:`links` runs ``ip`` and reads /proc.
A link is an interface of type ``ppp`` or named ``pppN``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from dialup_admin.errors import UserError
from dialup_admin.paths import Paths
from dialup_admin.system.commands import run
from dialup_admin.system import reading

_PPP_NAME = re.compile(r"^ppp\d+$")


@dataclass(frozen=True)
class Counters:
    """One interface's line of /proc/net/dev."""

    rx_bytes: int
    rx_packets: int
    rx_errs: int
    rx_drop: int
    rx_compressed: int
    tx_bytes: int
    tx_packets: int
    tx_errs: int
    tx_drop: int
    tx_compressed: int


def parse_proc_net_dev(text: str) -> dict[str, Counters]:
    """``{interface: Counters}`` from the text of /proc/net/dev."""
    out: dict[str, Counters] = {}
    for line in text.splitlines()[2:]:
        name, sep, rest = line.partition(":")
        if not sep:
            continue
        f = rest.split()
        if len(f) < 16 or not all(x.isdigit() for x in f[:16]):
            continue
        n = [int(x) for x in f[:16]]
        out[name.strip()] = Counters(n[0], n[1], n[2], n[3], n[6], n[8], n[9], n[10], n[11], n[15])
    return out


@dataclass
class Link:
    """A PPP interface as the kernel sees it."""

    name: str
    up: bool
    mtu: int | None = None
    local: str | None = None
    peer: str | None = None
    routes: list[str] = field(default_factory=list)
    default_route: bool = False
    counters: Counters | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "interface": self.name,
            "up": self.up,
            "mtu": self.mtu,
            "local": self.local,
            "peer": self.peer,
            "routes": self.routes,
            "default_route": self.default_route,
            "counters": self.counters.__dict__ if self.counters else None,
        }


def is_ppp(entry: dict[str, Any]) -> bool:
    return entry.get("link_type") == "ppp" or bool(_PPP_NAME.match(str(entry.get("ifname", ""))))


def parse_ip_addr(data: list[dict[str, Any]]) -> list[Link]:
    """The PPP interfaces in ``ip -j addr`` output, with their IPv4 local and peer address."""
    out = []
    for e in data:
        if not is_ppp(e):
            continue
        flags = e.get("flags") or []
        link = Link(name=str(e["ifname"]), up="UP" in flags, mtu=e.get("mtu"))
        for a in e.get("addr_info") or []:
            if a.get("family") == "inet":
                link.local = a.get("local")
                link.peer = a.get("address") if a.get("address") != a.get("local") else None
                break
        out.append(link)
    return out


def add_routes(links: list[Link], routes: list[dict[str, Any]]) -> None:
    """Attach ``ip -j route`` entries to the links they go through."""
    by_name = {ln.name: ln for ln in links}
    for r in routes:
        link = by_name.get(str(r.get("dev", "")))
        if link is None:
            continue
        dst = str(r.get("dst", ""))
        via = f" via {r['gateway']}" if r.get("gateway") else ""
        link.routes.append(f"{dst}{via}")
        if dst in ("default", "0.0.0.0/0"):
            link.default_route = True


def _ip_json(*args: str) -> list[dict[str, Any]]:
    proc = run(["ip", "-j", *args])
    try:
        data = json.loads(proc.stdout.decode() or "[]")
    except ValueError:
        raise UserError(f"ip {' '.join(args)} printed something that is not JSON (iproute2 too old?)") from None
    return data if isinstance(data, list) else []


def read_counters(paths: Paths | None = None) -> dict[str, Counters]:
    """The running kernel's counters (/proc is the kernel's, never a --root tree's)."""
    paths = paths or Paths()
    try:
        return parse_proc_net_dev(reading.read_text(paths.of("/proc/net/dev")))
    except OSError as exc:
        raise UserError(f"cannot read /proc/net/dev ({exc.strerror}): is /proc mounted?") from None


def links(paths: Paths | None = None) -> list[Link]:
    """Every PPP interface of this machine with addresses, routes and counters (runs ``ip``).

    ``paths`` only moves where /proc is read (tests); the kernel is always this machine's.
    """
    found = parse_ip_addr(_ip_json("addr", "show"))
    if found:
        add_routes(found, _ip_json("route", "show"))
        counters = read_counters(paths)
        for ln in found:
            ln.counters = counters.get(ln.name)
    return found


# --- pppstats' own figures: the PPP driver's counters, by ioctl on a socket -------------

SIOCGPPPSTATS = 0x89F0  # SIOCDEVPRIVATE + 0 (linux/if_ppp.h)
SIOCGPPPCSTATS = 0x89F2  # SIOCDEVPRIVATE + 2
_IFREQ_SIZE = 40  # struct ifreq on Linux: 16-byte name + 24-byte union (ifru_data at 16)


@dataclass(frozen=True)
class PppStats:
    """struct ppp_stats (linux/ppp_defs.h): struct pppstat + struct vjstat."""

    ibytes: int
    ipackets: int
    ierrors: int
    obytes: int
    opackets: int
    oerrors: int
    vj_packets: int  # outbound packets VJ saw
    vj_compressed: int  # outbound VJ-compressed
    vj_uncompressedin: int
    vj_compressedin: int
    vj_errorin: int


@dataclass(frozen=True)
class CompStats:
    """One direction of struct ppp_comp_stats (Deflate/BSD-Compress), from the kernel."""

    unc_bytes: int
    unc_packets: int
    comp_bytes: int
    comp_packets: int
    inc_bytes: int
    inc_packets: int
    in_count: int
    bytes_out: int



def _ppp_ioctl(ifname: str, request: int, size: int) -> bytes | None:
    """Ask the PPP driver for ``ifname``'s statistics (what pppstats does); None when the
    interface is not a PPP one, or is gone. Reads only."""
    import ctypes
    import fcntl
    import socket
    import struct

    name = ifname.encode()
    if len(name) > 15:
        return None
    out = ctypes.create_string_buffer(size)
    ifr = bytearray(_IFREQ_SIZE)
    ifr[: len(name)] = name
    struct.pack_into("P", ifr, 16, ctypes.addressof(out))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            fcntl.ioctl(s.fileno(), request, ifr)
        except OSError:
            return None
    return out.raw


def ppp_stats(ifname: str) -> PppStats | None:
    import struct

    raw = _ppp_ioctl(ifname, SIOCGPPPSTATS, 19 * 4)
    if raw is None:
        return None
    v = struct.unpack("=19I", raw)
    # pppstat: discards ibytes ioctects ipackets ierrors ilqrs obytes ooctects opackets oerrors olqrs;
    # vjstat: packets compressed searches misses uncompressedin compressedin errorin tossed.
    return PppStats(v[1], v[3], v[4], v[6], v[8], v[9], v[11], v[12], v[15], v[16], v[17])


def comp_stats(ifname: str) -> tuple[CompStats, CompStats] | None:
    """(compression = outbound, decompression = inbound) figures, or None."""
    import struct

    one = struct.calcsize("@8Id")  # struct compstat: eight __u32 and a double (unused): 40 bytes
    raw = _ppp_ioctl(ifname, SIOCGPPPCSTATS, 2 * one)
    if raw is None:
        return None
    c = struct.unpack_from("=8I", raw, 0)
    d = struct.unpack_from("=8I", raw, one)
    return CompStats(*c), CompStats(*d)
