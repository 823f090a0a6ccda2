"""stats: pppstats' columns, from the PPP driver when it answers, else from /proc/net/dev.

pppstats (the guide's "Additional: pppstats") prints, per interval::

        IN   PACK VJCOMP  VJUNC  VJERR  |      OUT   PACK VJCOMP  VJUNC NON-VJ
    100490   1819   1421    118      0  |  1680270   1552      0      0   1552

the first line totals since the link came up, later lines what changed. Those figures
come from the PPP driver (SIOCGPPPSTATS), which only a real pppN answers; any other
interface gets the kernel's generic counters (bytes, packets, errors, drops,
compressed) in the same layout. ``-z`` shows Deflate/BSD-Compress figures (SIOCGPPPCSTATS).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dialup_admin.errors import UserError
from dialup_admin.system import netstat

Sample = dict[str, float]


@dataclass(frozen=True)
class Layout:
    """What a stats line shows: the source, the header and the columns (keys of a sample)."""

    source: str
    header: str
    left: tuple[str, ...]
    right: tuple[str, ...]
    widths: tuple[int, ...]


PPP = Layout(
    "ppp driver (SIOCGPPPSTATS)",
    f"{'IN':>10} {'PACK':>6} {'VJCOMP':>6} {'VJUNC':>6} {'VJERR':>6}  | {'OUT':>10} {'PACK':>6} {'VJCOMP':>6} "
    f"{'VJUNC':>6} {'NON-VJ':>6}",
    ("ibytes", "ipackets", "vjcompin", "vjuncin", "vjerrin"),
    ("obytes", "opackets", "vjcomp", "vjunc", "nonvj"),
    (10, 6, 6, 6, 6),
)
COMPRESSION = Layout(
    "ppp driver (SIOCGPPPCSTATS)",
    f"{'IN:COMP':>10} {'PACK':>6} {'INCOMP':>10} {'PACK':>6} {'RATIO':>6}  | {'OUT:COMP':>10} {'PACK':>6} "
    f"{'INCOMP':>10} {'PACK':>6} {'RATIO':>6}",
    ("dcomp_bytes", "dcomp_packets", "dinc_bytes", "dinc_packets", "dratio"),
    ("ccomp_bytes", "ccomp_packets", "cinc_bytes", "cinc_packets", "cratio"),
    (10, 6, 10, 6, 6),
)
KERNEL = Layout(
    "kernel counters (/proc/net/dev)",
    f"{'IN':>10} {'PACK':>6} {'ERRS':>6} {'DROP':>6} {'COMP':>6}  | {'OUT':>10} {'PACK':>6} {'ERRS':>6} "
    f"{'DROP':>6} {'COMP':>6}",
    ("rx_bytes", "rx_packets", "rx_errs", "rx_drop", "rx_compressed"),
    ("tx_bytes", "tx_packets", "tx_errs", "tx_drop", "tx_compressed"),
    (10, 6, 6, 6, 6),
)


def sample_ppp(ifname: str) -> Sample | None:
    s = netstat.ppp_stats(ifname)
    if s is None:
        return None
    return {
        "ibytes": s.ibytes, "ipackets": s.ipackets, "vjcompin": s.vj_compressedin, "vjuncin": s.vj_uncompressedin,
        "vjerrin": s.vj_errorin, "obytes": s.obytes, "opackets": s.opackets, "vjcomp": s.vj_compressed,
        "vjunc": s.vj_packets - s.vj_compressed, "nonvj": s.opackets - s.vj_packets,
    }


def sample_compression(ifname: str) -> Sample | None:
    cs = netstat.comp_stats(ifname)
    if cs is None:
        return None
    c, d = cs
    return {
        "ccomp_bytes": c.comp_bytes, "ccomp_packets": c.comp_packets, "cinc_bytes": c.inc_bytes,
        "cinc_packets": c.inc_packets, "cunc_bytes": c.unc_bytes,
        "dcomp_bytes": d.comp_bytes, "dcomp_packets": d.comp_packets, "dinc_bytes": d.inc_bytes,
        "dinc_packets": d.inc_packets, "dunc_bytes": d.unc_bytes,
    }


def sample_kernel(ifname: str) -> Sample | None:
    c = netstat.read_counters().get(ifname)
    return {k: float(v) for k, v in c.__dict__.items()} if c is not None else None


def choose(ifname: str, compression: bool) -> tuple[Layout, Callable[[str], Sample | None]]:
    """The richest source that answers for ``ifname``; raises when the link is not there."""
    if compression:
        if sample_compression(ifname) is None:
            raise UserError(f"{ifname} is not a PPP interface the PPP driver knows: no compression figures")
        return COMPRESSION, sample_compression
    if sample_ppp(ifname) is not None:
        return PPP, sample_ppp
    if sample_kernel(ifname) is not None:
        return KERNEL, sample_kernel
    raise UserError(f"no PPP link is up (no interface {ifname}): dial first with dialup-admin dial")


def delta(cur: Sample, prev: Sample | None) -> Sample:
    """What changed since ``prev`` (everything, for the first line); ratios of the interval.

    RATIO is uncompressed bytes over the bytes that went over the line (compressed plus
    incompressible): 2.00 means the data took half the line time.
    """
    out = {k: v - (prev or {}).get(k, 0) for k, v in cur.items()}
    for side in ("c", "d"):
        if f"{side}unc_bytes" in out:
            wire = out[f"{side}comp_bytes"] + out[f"{side}inc_bytes"]
            out[f"{side}ratio"] = out[f"{side}unc_bytes"] / wire if wire else 0.0
    return out


def row(layout: Layout, d: Sample) -> str:
    def cells(keys: tuple[str, ...]) -> str:
        parts = []
        for k, w in zip(keys, layout.widths):
            v = d.get(k, 0)
            parts.append(f"{v:>{w}.2f}" if k.endswith("ratio") else f"{int(v):>{w}}")
        return " ".join(parts)

    return f"{cells(layout.left)}  | {cells(layout.right)}"


def first_ppp_interface() -> str | None:
    names = sorted(n for n in netstat.read_counters() if netstat.is_ppp({"ifname": n}))
    return names[0] if names else None
