"""The desired state, as frozen dataclasses, and the validators that guard it. Pure."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from dialup_admin.errors import BadInput
from dialup_admin.modem import tones

# Speeds mgetty and the Linux serial driver accept (termios B-constants).
SPEEDS = (300, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800)

# The guide's addresses were lost in its HTML; this is our documented default pool.
DEFAULT_POOL = "192.168.32.0/24"

_TTY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,30}$")


def tty_name(value: str) -> str:
    """Validate a serial port name as mgetty wants it (``ttyS1``); ``/dev/ttyS1`` is accepted."""
    name = value[len("/dev/") :] if value.startswith("/dev/") else value
    if not name:
        raise BadInput("empty tty name")
    if "/" in name or ".." in name:
        raise BadInput(f"bad tty name {value!r}: give a name under /dev such as ttyS1, without '/' or '..'")
    if not _TTY_RE.match(name):
        raise BadInput(f"bad tty name {value!r}: letters, digits and '_' only, such as ttyS1 or ttyUSB0")
    return name


def ipv4(value: str, what: str = "address") -> ipaddress.IPv4Address:
    try:
        addr = ipaddress.IPv4Address(value.strip())
    except ValueError:
        raise BadInput(f"bad {what} {value!r}: expected an IPv4 address such as 192.168.32.1") from None
    if addr.is_multicast or addr.is_unspecified or addr.is_loopback or str(addr) == "255.255.255.255":
        raise BadInput(f"bad {what} {value}: not usable as a host address")
    return addr


def pool(value: str) -> ipaddress.IPv4Network:
    try:
        net = ipaddress.IPv4Network(value.strip(), strict=False)
    except ValueError:
        raise BadInput(f"bad pool {value!r}: expected an IPv4 network such as {DEFAULT_POOL}") from None
    if net.prefixlen > 30:
        raise BadInput(f"pool {value} is too small: it has no room for a local and a remote address")
    return net


def speed(value: int) -> int:
    if value not in SPEEDS:
        raise BadInput(f"unknown speed {value}: use one of {', '.join(map(str, SPEEDS))}")
    return value


@dataclass(frozen=True)
class Line:
    """One modem line: its tty and the PPP address pair (server side, caller side).

    ``direct``: the caller's modem is cabled to this one without an exchange;
    ``dialup-admin answer`` answers it instead of mgetty (see :class:`DirectSettings`).
    """

    tty: str
    local: ipaddress.IPv4Address
    remote: ipaddress.IPv4Address
    direct: bool = False

    @property
    def inittab_id(self) -> str:
        """The guide's unique inittab id: ttyS1 -> S1 (at most 4 characters)."""
        return inittab_id(self.tty)


def inittab_id(tty: str) -> str:
    base = tty[3:] if tty.startswith("tty") and len(tty) > 3 else tty
    for prefix, short in (("USB", "U"), ("ACM", "A"), ("AMA", "M")):
        if base.startswith(prefix):
            base = short + base[len(prefix) :]
    return base[-4:]


@dataclass(frozen=True)
class MgettySettings:
    """mgetty.config's global settings; the defaults are the guide's."""

    debug: int = 9
    speed: int = 57600
    data_only: bool = True
    login_time: int = 30
    answer_chat_timeout: int = 60
    toggle_dtr: bool = True

    def __post_init__(self) -> None:
        speed(self.speed)
        if not 0 <= self.debug <= 9:
            raise BadInput(f"bad mgetty debug level {self.debug}: 0 to 9")
        for name in ("login_time", "answer_chat_timeout"):
            v = getattr(self, name)
            if not 1 <= v <= 3600:
                raise BadInput(f"bad {name.replace('_', '-')} {v}: 1 to 3600 seconds")


@dataclass(frozen=True)
class DirectSettings:
    """How ``dialup-admin answer`` answers the direct lines: the dial tone it plays (None: no
    voice mode, blind-dialing callers), the only number it answers (None: any), how long
    the tone waits for a first digit and ATA for the caller's carrier (S7)."""

    dial_tone: str | None = tones.NORTH_AMERICA
    number: str | None = None
    dial_timeout: int = 60
    connect_timeout: int = 30

    def __post_init__(self) -> None:
        if self.dial_tone is not None:
            try:
                tones.parse_tone(self.dial_tone)
            except ValueError as exc:
                raise BadInput(str(exc)) from None
        if self.number is not None and not re.match(r"^[0-9*#]{1,32}$", self.number):
            raise BadInput(f"bad --number {self.number!r}: the digits the caller dials (0-9, * and #)")
        if not 1 <= self.dial_timeout <= 3600:
            raise BadInput(f"bad --dial-timeout {self.dial_timeout}: 1 to 3600 seconds")
        if not 5 <= self.connect_timeout <= 255:
            raise BadInput(f"bad --connect-timeout {self.connect_timeout}: 5 to 255 seconds (the modem's S7)")


@dataclass(frozen=True)
class Server:
    """A dial-in server: its lines, addresses, DNS for callers, mgetty settings."""

    lines: tuple[Line, ...]
    pool: ipaddress.IPv4Network
    dns: tuple[ipaddress.IPv4Address, ...] = ()
    mgetty: MgettySettings = field(default_factory=MgettySettings)
    direct: DirectSettings = field(default_factory=DirectSettings)

    @property
    def mgetty_lines(self) -> tuple[Line, ...]:
        return tuple(ln for ln in self.lines if not ln.direct)

    @property
    def direct_lines(self) -> tuple[Line, ...]:
        return tuple(ln for ln in self.lines if ln.direct)

    def __post_init__(self) -> None:
        if not self.lines:
            raise BadInput("no line given: name at least one tty with --tty, such as --tty ttyS1")
        seen: dict[str, str] = {}
        ids: dict[str, str] = {}
        for ln in self.lines:
            if ln.tty in seen:
                raise BadInput(f"{ln.tty} is given twice")
            seen[ln.tty] = ln.tty
            if ln.inittab_id in ids:
                raise BadInput(f"{ln.tty} and {ids[ln.inittab_id]} would share the inittab id {ln.inittab_id}")
            ids[ln.inittab_id] = ln.tty
        used: dict[ipaddress.IPv4Address, str] = {}
        for ln in self.lines:
            if ln.local == ln.remote:
                raise BadInput(f"{ln.tty}: the local and remote address are the same ({ln.local})")
            for role, addr in (("local", ln.local), ("remote", ln.remote)):
                if addr in used:
                    raise BadInput(f"{ln.tty}: {role} address {addr} is already used by {used[addr]}")
                used[addr] = ln.tty


def allocate_lines(
    ttys: Sequence[str],
    net: ipaddress.IPv4Network,
    given: Mapping[str, tuple[ipaddress.IPv4Address, ipaddress.IPv4Address]] | None = None,
    previous: Mapping[str, tuple[ipaddress.IPv4Address, ipaddress.IPv4Address]] | None = None,
    reserved: Iterable[ipaddress.IPv4Address] = (),
    direct: Iterable[str] = (),
) -> tuple[Line, ...]:
    """Give every tty its own local:remote pair from ``net``, never colliding.

    Pairs named on the command line (``given``) win; then the pair a tty had before
    (``previous``, so re-running never renumbers a working line) if it is still in the
    pool; the rest get the lowest free pair of consecutive addresses. ``reserved``
    addresses (static addresses of users) are never handed out.
    """
    given = dict(given or {})
    previous = dict(previous or {})
    taken: set[ipaddress.IPv4Address] = set(reserved)
    pairs: dict[str, tuple[ipaddress.IPv4Address, ipaddress.IPv4Address]] = {}
    for tty in ttys:
        if tty in given:
            local, remote = given[tty]
            for a in (local, remote):
                if a in taken:
                    raise BadInput(f"{tty}: address {a} is already used")
            taken.update((local, remote))
            pairs[tty] = (local, remote)
    for tty in ttys:
        if tty in pairs or tty not in previous:
            continue
        local, remote = previous[tty]
        if local in net and remote in net and local not in taken and remote not in taken:
            taken.update((local, remote))
            pairs[tty] = (local, remote)
    hosts = iter(net.hosts())
    for tty in ttys:
        if tty in pairs:
            continue
        free: list[ipaddress.IPv4Address] = []
        for h in hosts:
            if h not in taken:
                free.append(h)
                if len(free) == 2:
                    break
        if len(free) < 2:
            raise BadInput(f"pool {net} is too small for {len(ttys)} line(s): give a larger --pool")
        taken.update(free)
        pairs[tty] = (free[0], free[1])
    wired = set(direct)
    return tuple(Line(tty, *pairs[tty], direct=tty in wired) for tty in ttys)


DIRECT_SUFFIX = ":direct"


def split_direct(spec: str) -> tuple[str, bool]:
    """``ttyACM0:direct[=LOCAL:REMOTE]`` -> (``ttyACM0[=LOCAL:REMOTE]``, True): a line cabled to
    the caller's modem without an exchange (``dialup-admin answer`` instead of mgetty)."""
    tty, sep, addrs = spec.partition("=")
    if tty.endswith(DIRECT_SUFFIX):
        return tty[: -len(DIRECT_SUFFIX)] + sep + addrs, True
    if ":" in tty:
        raise BadInput(f"bad --tty {spec!r}: the only kind of line is ':direct', as in ttyACM0:direct")
    return spec, False


def parse_tty_spec(spec: str) -> tuple[str, tuple[ipaddress.IPv4Address, ipaddress.IPv4Address] | None]:
    """``ttyS1`` or ``ttyS1=LOCAL:REMOTE`` as given to ``--tty`` (``:direct`` removed first)."""
    tty, sep, addrs = spec.partition("=")
    name = tty_name(tty)
    if not sep:
        return name, None
    local, colon, remote = addrs.partition(":")
    if not colon:
        raise BadInput(f"bad --tty {spec!r}: write ttyS1=LOCAL:REMOTE, such as ttyS1=192.168.32.1:192.168.32.2")
    return name, (ipv4(local, "local address"), ipv4(remote, "remote address"))
