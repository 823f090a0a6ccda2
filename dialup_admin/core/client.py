"""setup-client: the dial-out side of the guide ("pppsetup") as one plan.

Writes the peers file ``/etc/ppp/peers/NAME`` (port, speed, lock, crtscts, modem,
the PAP user, defaultroute, usepeerdns), the chat script ``/etc/ppp/chat-NAME``, the
``client`` block of ``/etc/ppp/options`` (``asyncmap 0``), the ``client`` block of
``/etc/ppp/pap-secrets`` (one entry per connection) and ``/etc/dialup-admin/client.json``,
the record ``dial``, ``hangup`` and ``status`` read.

Why ``name``/``user`` is in the peers file and not in /etc/ppp/options as in the
guide: /etc/ppp/options is read by every pppd on the machine, the dial-in server's
too, where a global ``name "ppp"`` would change the name the server authenticates
as. In the peers file it only affects this connection.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from typing import Any

from dialup_admin.core.plan import FileSpec, Plan
from dialup_admin.core.state import BadRecord, read_record
from dialup_admin.errors import BadInput, UserError
from dialup_admin.formats import managed, secrets
from dialup_admin.model import not_serial, speed as check_speed
from dialup_admin.paths import CLIENT_STATE, PAP_SECRETS, PPP_OPTIONS, Paths
from dialup_admin.render import render
from dialup_admin.system import reading

BLOCK = "client"  # our block's name in /etc/ppp/options and /etc/ppp/pap-secrets
DEFAULT_PEER = "dialup"
GUIDE_INIT = "AT S7=45 S0=0 L1 V1 X4 &c1 E1 Q0"  # "Connecting with minicom"
CHAT = "/usr/sbin/chat"
# What a modem answers when a call cannot go through, in the chat script's order:
# chat exits with 4 + the index of the ABORT string it met.
ABORTS = ("BUSY", "NO CARRIER", "NO DIALTONE", "NO ANSWER", "VOICE", "ERROR")

_PEER_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_USER_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,63}$")
_DEVICE_RE = re.compile(r"^/dev/[A-Za-z0-9_][A-Za-z0-9_./+-]*$")
# Digits and the Hayes dial modifiers: T/P tone/pulse, W wait for dial tone, ',' pause,
# '@' wait for quiet answer, '!' flash, '*' '#' and A-D as DTMF. No ';' (back to
# command mode) and nothing a shell would read: pppd runs "connect" through /bin/sh.
_NUMBER_RE = re.compile(r"^[0-9*#,WwPpTt@!A-Da-d]{1,40}$")
_INIT_RE = re.compile(r"^AT[A-Za-z0-9 &=?+%*#,.:!@/-]{0,60}$", re.IGNORECASE)


def peer_name(value: str) -> str:
    """Validate a connection name: a file name under /etc/ppp/peers (``dialup``)."""
    if not _PEER_RE.match(value):
        raise BadInput(f"bad connection name {value!r}: lower-case letters, digits, '-' and '_', such as dialup")
    return value


def user_name(value: str) -> str:
    if not _USER_RE.match(value):
        raise BadInput(f"bad user name {value!r}: letters, digits and . _ - @ only, such as ppp")
    return value


def device_path(value: str) -> str:
    """The serial port: ``ttyS0`` or ``/dev/ttyS0`` -> ``/dev/ttyS0`` (``/dev/pts/3`` allowed)."""
    path = value if value.startswith("/") else f"/dev/{value}"
    if not _DEVICE_RE.match(path) or ".." in path.split("/"):
        raise BadInput(f"bad device {value!r}: a serial port under /dev, such as /dev/ttyS0 or ttyUSB0")
    why = not_serial(path[len("/dev/"):])
    if why is not None:
        raise BadInput(f"{path} is {why}, not a modem: give the modem's serial port, such as /dev/ttyS0 or ttyUSB0")
    return path


def phone_number(value: str) -> str:
    """Validate a number to dial; spaces, '-', '(' and ')' people write are dropped."""
    number = re.sub(r"[\s()\-]", "", value)
    if number[:2].upper() == "AT":
        raise BadInput(f"bad phone number {value!r}: give the number alone, dial sends ATDT itself "
                       f"(--number {re.sub(r'^(?i:ATD[TP]?)', '', number) or '11'})")
    if not re.search(r"[0-9]", number) and _NUMBER_RE.match(number):
        raise BadInput(f"bad phone number {value!r}: it has no digit to dial, such as 11 or 9,5551234")
    if not _NUMBER_RE.match(number):
        raise BadInput(
            f"bad phone number {value!r}: digits and dial modifiers only (0-9 * # , W P T @ !), such as 11 or 9,5551234"
        )
    return number


def init_string(value: str) -> str:
    if not _INIT_RE.match(value):
        raise BadInput(f"bad init string {value!r}: an AT command such as {GUIDE_INIT!r} (no quotes or backslashes)")
    return value


def password(value: str) -> str:
    """A PAP secret: any printable text; no line breaks (one line in pap-secrets)."""
    if not value:
        raise BadInput("empty password: the server's pap-secrets entry needs the same, non-empty password")
    if not value.strip(" \t"):
        raise BadInput("the password is only blanks: give the real one (the server's pap-secrets entry needs the same)")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise BadInput("the password must not contain control characters or line breaks")
    secrets.check_secret(value, "password")
    return value


@dataclass(frozen=True)
class Client:
    """One dial-out connection: the modem port and how to call and log in."""

    peer: str
    device: str
    number: str
    user: str
    speed: int = 57600
    init: str = GUIDE_INIT
    crtscts: bool = True
    connect_timeout: int = 60

    def __post_init__(self) -> None:
        peer_name(self.peer)
        # Stored normalised: /dev/ttyS0, 5551234.
        object.__setattr__(self, "device", device_path(self.device))
        object.__setattr__(self, "number", phone_number(self.number))
        user_name(self.user)
        check_speed(self.speed)
        init_string(self.init)
        if not 5 <= self.connect_timeout <= 300:
            raise BadInput(f"bad connect timeout {self.connect_timeout}: 5 to 300 seconds")

    @property
    def peers_file(self) -> str:
        return peers_file(self.peer)

    @property
    def chat_script(self) -> str:
        return chat_script(self.peer)


def peers_file(peer: str) -> str:
    return f"/etc/ppp/peers/{peer}"


def chat_script(peer: str) -> str:
    return f"/etc/ppp/chat-{peer}"


# --- pap-secrets entries -----------------------------------------------------------
# Written and read with formats.secrets, pppd's own word rules (getword, scan_authfile).


def secret_line(user: str, server: str, secret: str) -> str:
    """The pap-secrets line ``user server secret`` (the guide's ``"ppp" * "ppp"``)."""
    return secrets.format_entry(secrets.Entry(client=user, server=server, secret=secret))


def secrets_body(old_body: str, user: str, peer: str, secret: str | None) -> str:
    """Our block's body with the entry for ``peer`` set; other connections' entries kept.

    ``secret`` None keeps the peer's current entry (raises when there is none, or
    it belongs to another user name).
    """
    entries = secrets.parse(old_body.encode()).entries
    mine = [e for e in entries if e.server == peer]
    others = [e for e in entries if e.server != peer]
    if secret is None:
        if not mine or mine[0].client != user:
            raise UserError(f"no saved password for {user} to dial {peer}: give it (prompt, or --password-stdin)")
        entry = secrets.Entry(client=user, server=peer, secret=mine[0].secret)
    else:
        entry = secrets.Entry(client=user, server=peer, secret=secret)
    body = "# PAP secrets for dialing out (dialup-admin setup-client); server = connection name\n"
    return body + secrets.format_entries(sorted(others + [entry], key=lambda e: e.server))


def has_saved_secret(paths: Paths, client: Client) -> bool:
    """Whether pap-secrets already holds a password for this connection and user."""
    entries = secrets.parse(_block_body(paths, PAP_SECRETS).encode()).entries
    return any(e.server == client.peer and e.client == client.user for e in entries)


# --- the plan ------------------------------------------------------------------------


def _block_body(paths: Paths, system_path: str) -> str:
    body = managed.split(reading.read_or_empty(paths.of(system_path)), system_path, name=BLOCK, force=True).body
    return body.decode(errors="replace") if body is not None else ""


def render_files(client: Client) -> dict[str, str]:
    """The peers file and chat script for ``client``. Pure."""
    return {
        client.peers_file: render("client-peers.j2", client=client, chat=CHAT, chat_script=client.chat_script),
        client.chat_script: render("client-chat.j2", client=client, aborts=ABORTS),
    }


def plan_client(paths: Paths, client: Client, secret: str | None, *, force: bool = False) -> Plan:
    """Build the plan that makes the target dial out as ``client``; compare, do not change.

    ``secret`` None keeps the saved pap-secrets entry for this connection.
    """
    plan = Plan(paths, "setup-client")
    for path, text in render_files(client).items():
        plan.file(path, FileSpec(text))

    plan.block(PPP_OPTIONS, BLOCK, render("client-options.j2").encode(), force=force)
    body = secrets_body(_block_body(paths, PAP_SECRETS), client.user, client.peer, secret)
    plan.block(PAP_SECRETS, BLOCK, body.encode(), force=force, mode=0o600, redact=secrets.redact_line,
               header=secrets.PAP_HEADER)

    state = load_state(paths)
    state.setdefault("peers", {})[client.peer] = asdict(client)
    state["default"] = state.get("default") or client.peer
    plan.file(CLIENT_STATE, FileSpec(json.dumps(state, indent=2, sort_keys=True) + "\n"))
    if paths.is_host and not paths.of(client.device).exists():
        plan.notes.append(f"{client.device} does not exist now: plug the modem in before dialing (dmesg | grep tty)")
    return plan


# --- the record ------------------------------------------------------------------------


def load_state(paths: Paths) -> dict[str, Any]:
    """client.json as recorded by setup-client ({} when it has not run)."""
    where = paths.system(paths.client_state)
    fix = f"move it aside (mv {where} {where}.bad) and rerun dialup-admin setup-client"
    try:
        data = read_record(paths.client_state)
    except BadRecord as exc:
        raise UserError(f"{where} {exc.problem}: {fix}") from None
    if data is None:
        return {}
    peers = data.get("peers", {})
    if not isinstance(peers, dict) or not all(isinstance(v, dict) for v in peers.values()):
        raise UserError(f"{where} is damaged (peers is not an object of connections): {fix}")
    if not isinstance(data.get("default", ""), (str, type(None))):
        raise UserError(f"{where} is damaged (default is not a connection name): {fix}")
    return data


def load_client(paths: Paths, peer: str | None = None) -> Client:
    """The connection ``peer`` (default: the first one set up), as setup-client recorded it."""
    state = load_state(paths)
    peers = state.get("peers") or {}
    if not peers:
        raise UserError("no dial-out connection is set up: run dialup-admin setup-client --device ttyS0 --number 11 first")
    name = peer or state.get("default") or sorted(peers)[0]
    if name not in peers:
        raise UserError(f"no connection called {name!r} (set up: {', '.join(sorted(peers))})")
    try:
        return Client(**peers[name])
    except (TypeError, BadInput) as exc:
        raise UserError(f"{paths.system(paths.client_state)} is damaged ({exc}); rerun setup-client") from None
