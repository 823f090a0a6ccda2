"""The files pppd's radius.so reads on a dial-in server (a NAS, in RADIUS words). Pure.

``setup-server --radius HOST`` writes them below :data:`DIR`:

- ``radiusclient.conf`` (0600): the servers in order, timeouts, NAS-Identifier;
- ``servers`` (0600): each server's shared secret;
- ``dictionary``: the standard attributes the plugin sends and reads (by number);
- ``port-id-map``: tty to NAS-Port;

and each line's ``/etc/ppp/options.TTY`` gets ``plugin radius.so``, ``radius-config-file``,
``map-to-ttyname`` and ``avpair NAS-Port-Id=TTY`` (:func:`line_options`).

How radius.so behaves (pppd 2.4.9, pppd/plugins/radius): it takes over PAP entirely
(pap-secrets and ``login`` are not consulted); the configuration is read at the first
authentication, so every call reads the files afresh; the servers are tried in order,
each ``radius_retries`` times ``radius_timeout`` seconds, and a server that does not
answer is logged as ``rc_send_server: no reply from RADIUS server HOST:PORT``. pppd's
main loop waits meanwhile, so the defaults here are short: 3 s, 2 tries (6 s a server),
well inside the caller's PAP patience.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from dialup_admin.radius.model import RadiusServer
from dialup_admin.render import render

DIR = "/etc/ppp/radius"
CONFIG = f"{DIR}/radiusclient.conf"
SERVERS = f"{DIR}/servers"
DICTIONARY = f"{DIR}/dictionary"
PORT_MAP = f"{DIR}/port-id-map"
WRAPPER = f"{DIR}/pppd"  # --radius-fallback local: mgetty's AutoPPP runs this
SEQFILE = "/var/run/radius.seq"
TIMEOUT = 3
RETRIES = 2
PLUGIN = "radius.so"
FALLBACK_CHOICES = ("none", "local")

# RFC 2865/2866/2869 attributes, named as FreeRADIUS names them (radiusclient's own
# file calls attribute 5 "NAS-Port-Id"; here that is 87, RFC 2869's name for the line).
ATTRIBUTES: tuple[tuple[str, int, str], ...] = (
    ("User-Name", 1, "string"), ("User-Password", 2, "string"), ("CHAP-Password", 3, "string"),
    ("NAS-IP-Address", 4, "ipaddr"), ("NAS-Port", 5, "integer"), ("Service-Type", 6, "integer"),
    ("Framed-Protocol", 7, "integer"), ("Framed-IP-Address", 8, "ipaddr"), ("Framed-IP-Netmask", 9, "ipaddr"),
    ("Framed-Routing", 10, "integer"), ("Filter-Id", 11, "string"), ("Framed-MTU", 12, "integer"),
    ("Framed-Compression", 13, "integer"), ("Reply-Message", 18, "string"), ("Callback-Number", 19, "string"),
    ("Callback-Id", 20, "string"), ("Framed-Route", 22, "string"), ("State", 24, "string"), ("Class", 25, "string"),
    ("Session-Timeout", 27, "integer"), ("Idle-Timeout", 28, "integer"), ("Termination-Action", 29, "integer"),
    ("Called-Station-Id", 30, "string"), ("Calling-Station-Id", 31, "string"), ("NAS-Identifier", 32, "string"),
    ("Proxy-State", 33, "string"), ("Acct-Status-Type", 40, "integer"), ("Acct-Delay-Time", 41, "integer"),
    ("Acct-Input-Octets", 42, "integer"), ("Acct-Output-Octets", 43, "integer"), ("Acct-Session-Id", 44, "string"),
    ("Acct-Authentic", 45, "integer"), ("Acct-Session-Time", 46, "integer"), ("Acct-Input-Packets", 47, "integer"),
    ("Acct-Output-Packets", 48, "integer"), ("Acct-Terminate-Cause", 49, "integer"),
    ("Acct-Multi-Session-Id", 50, "string"), ("Acct-Link-Count", 51, "integer"),
    ("Acct-Input-Gigawords", 52, "integer"), ("Acct-Output-Gigawords", 53, "integer"),
    ("Event-Timestamp", 55, "date"), ("CHAP-Challenge", 60, "string"), ("NAS-Port-Type", 61, "integer"),
    ("Port-Limit", 62, "integer"), ("Acct-Interim-Interval", 85, "integer"), ("NAS-Port-Id", 87, "string"),
)
VALUES: tuple[tuple[str, str, int], ...] = (
    ("Service-Type", "Login-User", 1), ("Service-Type", "Framed-User", 2),
    ("Service-Type", "Callback-Login-User", 3), ("Service-Type", "Callback-Framed-User", 4),
    ("Service-Type", "Outbound-User", 5), ("Service-Type", "Administrative-User", 6),
    ("Service-Type", "NAS-Prompt-User", 7), ("Service-Type", "Authenticate-Only", 8),
    ("Framed-Protocol", "PPP", 1), ("Framed-Protocol", "SLIP", 2),
    ("Framed-Compression", "None", 0), ("Framed-Compression", "Van-Jacobson-TCP-IP", 1),
    ("Termination-Action", "Default", 0), ("Termination-Action", "RADIUS-Request", 1),
    ("Acct-Status-Type", "Start", 1), ("Acct-Status-Type", "Stop", 2), ("Acct-Status-Type", "Interim-Update", 3),
    ("Acct-Status-Type", "Accounting-On", 7), ("Acct-Status-Type", "Accounting-Off", 8),
    ("Acct-Authentic", "RADIUS", 1), ("Acct-Authentic", "Local", 2), ("Acct-Authentic", "Remote", 3),
    ("NAS-Port-Type", "Async", 0), ("NAS-Port-Type", "Sync", 1), ("NAS-Port-Type", "ISDN", 2),
    ("NAS-Port-Type", "ISDN-V120", 3), ("NAS-Port-Type", "ISDN-V110", 4), ("NAS-Port-Type", "Virtual", 5),
    ("Acct-Terminate-Cause", "User-Request", 1), ("Acct-Terminate-Cause", "Lost-Carrier", 2),
    ("Acct-Terminate-Cause", "Lost-Service", 3), ("Acct-Terminate-Cause", "Idle-Timeout", 4),
    ("Acct-Terminate-Cause", "Session-Timeout", 5), ("Acct-Terminate-Cause", "Admin-Reset", 6),
    ("Acct-Terminate-Cause", "Admin-Reboot", 7), ("Acct-Terminate-Cause", "Port-Error", 8),
    ("Acct-Terminate-Cause", "NAS-Error", 9), ("Acct-Terminate-Cause", "NAS-Request", 10),
    ("Acct-Terminate-Cause", "NAS-Reboot", 11), ("Acct-Terminate-Cause", "Port-Unneeded", 12),
    ("Acct-Terminate-Cause", "Port-Preempted", 13), ("Acct-Terminate-Cause", "Port-Suspended", 14),
    ("Acct-Terminate-Cause", "Service-Unavailable", 15), ("Acct-Terminate-Cause", "Callback", 16),
    ("Acct-Terminate-Cause", "User-Error", 17), ("Acct-Terminate-Cause", "Host-Request", 18),
)


@dataclass(frozen=True)
class NasRadius:
    """A dial-in server's RADIUS settings: servers in order, one shared secret, its name."""

    servers: tuple[RadiusServer, ...]
    secret: str = field(repr=False)
    nas_identifier: str
    fallback: str = "none"  # "local": local accounts when no RADIUS server answers
    timeout: int = TIMEOUT
    retries: int = RETRIES

    def to_json(self) -> dict[str, object]:
        """What server.json records (never the secret: that is in the 0600 servers file)."""
        return {"servers": [str(s) for s in self.servers], "nas_identifier": self.nas_identifier,
                "fallback": self.fallback, "timeout": self.timeout, "retries": self.retries}


def radiusclient_conf(nas: NasRadius, directory: str = DIR) -> str:
    servers = [{"auth": f"{s.host}:{s.port}", "acct": f"{s.host}:{s.acct_port}"} for s in nas.servers]
    return render("radiusclient.conf.j2", servers=servers, dir=directory, seqfile=SEQFILE, timeout=nas.timeout,
                  retries=nas.retries, nas_identifier=nas.nas_identifier)


def servers_file(nas: NasRadius) -> str:
    hosts: list[RadiusServer] = []
    for s in nas.servers:  # one line per host: rc_find_server matches hosts, not ports
        if s.host not in {h.host for h in hosts}:
            hosts.append(s)
    return render("radius-servers.j2", servers=hosts, secret=nas.secret)


def dictionary() -> str:
    return render("radius-dictionary.j2", attributes=ATTRIBUTES, values=VALUES)


def port_id_map(ports: Mapping[str, int]) -> str:
    return render("radius-port-id-map.j2", ports=dict(ports))


def line_options(tty: str, servers: Sequence[RadiusServer], directory: str = DIR) -> str:
    """The lines that make pppd on ``tty`` ask RADIUS (in options.TTY, or the fallback's file)."""
    return render("radius-line-options.j2", tty=tty, servers=[str(s) for s in servers], dir=directory)


def redact_servers_line(line: str) -> str:
    """``--diff`` shows the servers file without its secrets."""
    if line.lstrip().startswith("#") or not line.strip():
        return line
    words = line.split()
    return f"{words[0]}\t********\n" if len(words) >= 2 else line


def parse_servers(data: bytes) -> dict[str, str]:
    """host -> secret, read as rc_find_server reads the file (first two blank-separated words)."""
    out: dict[str, str] = {}
    for raw in data.decode("ascii", errors="replace").splitlines():
        if raw.startswith("#"):
            continue
        words = raw.split()
        if len(words) >= 2 and words[0] not in out:
            out[words[0]] = words[1]
    return out


def parse_config(data: bytes) -> dict[str, str]:
    """radiusclient.conf's keywords and values, as rc_read_config reads them."""
    out: dict[str, str] = {}
    for raw in data.decode("utf-8", errors="replace").splitlines():
        if not raw or raw.startswith("#"):
            continue
        key, _, value = raw.replace("\t", " ").partition(" ")
        if key and key not in out:
            out[key] = value.strip()
    return out


def parse_server_list(value: str, default_port: int) -> list[tuple[str, int]]:
    """``authserver``'s value: hosts with ports, in order (set_option_srv splits on ", \\t")."""
    out: list[tuple[str, int]] = []
    for word in value.replace(",", " ").split():
        host, sep, port = word.partition(":")
        out.append((host, int(port) if sep and port.isdigit() else default_port))
    return out
