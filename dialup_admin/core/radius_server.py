"""radius-server and the ``--radius`` user commands: FreeRADIUS for the pool, as plans.

``radius-server`` makes Debian's FreeRADIUS 3.2 the pool's RADIUS server:

- ``sites-available/dialup-admin`` (+ its link in sites-enabled): a virtual server that
  listens for the dial-in servers (auth PORT, accounting PORT+1), checks PAP against
  the users file, writes accounting to detail files and radutmp, and enforces
  Simultaneous-Use from radutmp;
- ``mods-available/dialup-admin`` (+ link): the radutmp instance that session check uses;
- a block in ``clients.conf``: one client per dial-in server (address, shared secret);
- the users block at the top of ``mods-config/files/authorize`` (users + PPP defaults);
- Debian's ``sites-enabled/default`` link is removed when its listeners would take the
  same ports (rollback puts it back);
- ``/etc/dialup-admin/radius.json``: what was set up.

Then ``freeradius -C`` checks the whole configuration (a failure rolls every file
back), and the init restarts FreeRADIUS (clients are read only at start).

The user commands change only the users block, check the configuration, and reload
FreeRADIUS with SIGHUP (``systemctl reload`` under systemd): the users file is
re-read, nothing is dropped, calls in progress go on.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dialup_admin.core.plan import FileSpec, Plan, RunCommand
from dialup_admin.core.state import BadRecord, read_record
from dialup_admin.errors import BadInput, UserError
from dialup_admin.formats import managed
from dialup_admin.model import ipv4
from dialup_admin.paths import RADIUS_STATE, Paths
from dialup_admin.radius import model as rmodel
from dialup_admin.radius import users as ufmt
from dialup_admin.render import render
from dialup_admin.system import freeradius as fr
from dialup_admin.system.secretfile import read_secret_file
from dialup_admin.system import reading

STATE = RADIUS_STATE
SITE = fr.conf("sites-available/dialup-admin")
SITE_LINK = fr.conf("sites-enabled/dialup-admin")
MODULE = fr.conf("mods-available/dialup-admin")
MODULE_LINK = fr.conf("mods-enabled/dialup-admin")
DEFAULT_LINK = fr.conf("sites-enabled/default")
CLIENTS = fr.conf("clients.conf")
USERS = fr.conf("mods-config/files/authorize")
RADUTMP_INSTANCE = "dialup_admin_radutmp"
DEBIAN_PORTS = (1812, 1813)  # where Debian's default site listens (port = 0: /etc/services)
MAX_SESSIONS = 100


def require_freeradius(paths: Paths) -> None:
    if not fr.installed(paths):
        where = "" if paths.is_host else f" below {paths.root}"
        raise UserError(f"FreeRADIUS is not installed{where} (no {fr.conf('radiusd.conf')}): "
                        "apt-get install freeradius freeradius-utils")


def load_state(paths: Paths) -> dict[str, Any] | None:
    try:
        return read_record(paths.of(STATE))
    except BadRecord as exc:
        raise UserError(f"{STATE} {exc.problem}; rerun dialup-admin radius-server") from None


def require_state(paths: Paths) -> dict[str, Any]:
    require_freeradius(paths)
    state = load_state(paths)
    if state is None:
        raise UserError("FreeRADIUS is not set up for the pool here: run dialup-admin radius-server "
                        "--client NAME=ADDR --secret-file FILE first")
    return state


def current_clients(paths: Paths) -> list[ufmt.RadiusClient]:
    body = managed.body_of(reading.read_or_empty(paths.of(CLIENTS)), CLIENTS, name=ufmt.CLIENTS_BLOCK)
    return ufmt.parse_clients(body or b"")


def current_users(paths: Paths) -> list[ufmt.RadiusUser]:
    data = reading.read_or_empty(paths.of(USERS))
    split = managed.split(data, USERS, name=ufmt.USERS_BLOCK)
    if split.hand_edited:
        raise UserError(f"{USERS}: the dialup-admin block was edited by hand; move your lines out of it "
                        "(lines outside the block are kept), then rerun")
    return ufmt.parse_users(split.body or b"", USERS)


# --- radius-server --------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerSetup:
    clients: tuple[ufmt.RadiusClient, ...]
    port: int = rmodel.AUTH_PORT
    listen: str = "*"
    init: str = "none"
    force: bool = False


def parse_client(spec: str) -> tuple[str, str]:
    """``NAME=ADDR`` as given to ``--client``."""
    name, sep, addr = spec.partition("=")
    if not sep:
        raise BadInput(f"bad --client {spec!r}: write NAME=ADDR, such as nas1=192.168.1.10")
    return rmodel.client_name(name), ufmt.client_address(addr)


def choose_clients(paths: Paths, specs: Sequence[str], secret_file: str | None) -> tuple[ufmt.RadiusClient, ...]:
    """The whole set of clients this run wants. A new client needs --secret-file; a client
    that is already there keeps its secret unless --secret-file gives a new one."""
    if not specs:
        raise BadInput("name the dial-in servers with --client NAME=ADDR (repeat for each)")
    secret = None
    if secret_file is not None:
        secret = rmodel.secret_from_bytes(read_secret_file(secret_file, "--secret-file"), f"--secret-file {secret_file}")
    old = {c.name: c for c in current_clients(paths)}
    outside = ufmt.other_clients(managed.split(reading.read_or_empty(paths.of(CLIENTS)), CLIENTS, name=ufmt.CLIENTS_BLOCK).outside)
    out: list[ufmt.RadiusClient] = []
    names: set[str] = set()
    addrs: dict[str, str] = {}
    for spec in specs:
        name, addr = parse_client(spec)
        if name in names:
            raise BadInput(f"--client {name} is given twice")
        if addr in addrs:
            raise BadInput(f"--client {name}: address {addr} is already {addrs[addr]}'s")
        if addr in outside:
            raise BadInput(f"--client {name}: {CLIENTS} already has client {outside[addr]} for {addr} (outside the "
                           "dialup-admin block); FreeRADIUS takes one client per address: remove that one, or "
                           "name another address")
        names.add(name)
        addrs[addr] = name
        if secret is None and name not in old:
            raise BadInput(f"--client {name} is new: give the shared secret with --secret-file FILE "
                           "(a file only you can read; never on the command line)")
        out.append(ufmt.RadiusClient(name, addr, secret if secret is not None else old[name].secret))
    return tuple(out)


def listen_address(value: str) -> str:
    if value == "*":
        return value
    try:
        return str(ipaddress.IPv4Address(value))
    except ValueError:
        raise BadInput(f"bad --listen {value!r}: an IPv4 address of this machine, or * for all") from None


def _conf_file(plan: Plan, system_path: str, content: bytes | str, redact: Any = None, mode: int | None = None) -> None:
    """A FreeRADIUS configuration file, with the owner and mode FreeRADIUS's files have."""
    owner = fr.owner_of(plan.paths, system_path)
    plan.file(system_path, FileSpec(content, mode=owner.mode if mode is None else mode, uid=owner.uid,
                                    gid=owner.gid, redact=redact))


def _conf_block(plan: Plan, system_path: str, name: str, body: bytes, redact: Any, force: bool,
                at_start: bool = False) -> bool:
    """A managed block in a FreeRADIUS configuration file, which keeps the owner and mode FreeRADIUS's files have."""
    owner = fr.owner_of(plan.paths, system_path)
    return plan.block(system_path, name, body, force=force, mode=owner.mode, uid=owner.uid, gid=owner.gid,
                      redact=redact, at_start=at_start)


def plan_users_block(plan: Plan, users: Sequence[ufmt.RadiusUser], force: bool = False) -> bool:
    """The users block at the top of the users file; returns whether it changes."""
    return _conf_block(plan, USERS, ufmt.USERS_BLOCK, ufmt.render_users(users), ufmt.redact_users_line, force,
                       at_start=True)


def plan_radius_server(paths: Paths, setup: ServerSetup) -> Plan:
    """Plan FreeRADIUS for the pool; compare, do not change."""
    require_freeradius(paths)
    plan = Plan(paths, "radius-server")
    _conf_file(plan, MODULE, render("freeradius-module.j2", radutmp=RADUTMP_INSTANCE))
    plan.symlink(MODULE_LINK, "../mods-available/dialup-admin")
    _conf_file(plan, SITE, render("freeradius-site.j2", listen=setup.listen, port=setup.port,
                                  radutmp=RADUTMP_INSTANCE, radacct=fr.RADACCT_DIR))
    plan.symlink(SITE_LINK, "../sites-available/dialup-admin")
    clashes = {setup.port, setup.port + 1} & set(DEBIAN_PORTS)
    default = paths.node(DEFAULT_LINK)
    if clashes and default.is_symlink():
        plan.remove(DEFAULT_LINK)
        plan.notes.append(f"Debian's default site is disabled (its listeners take ports {DEBIAN_PORTS[0]}/"
                          f"{DEBIAN_PORTS[1]} too); dialup-admin rollback enables it again")
    _conf_block(plan, CLIENTS, ufmt.CLIENTS_BLOCK, ufmt.render_clients(setup.clients), ufmt.redact_clients_line,
                setup.force)
    plan_users_block(plan, current_users(paths), force=setup.force)
    state = {"port": setup.port, "listen": setup.listen, "init": setup.init,
             "clients": [c.to_json() for c in setup.clients]}
    plan.file(STATE, FileSpec(json.dumps(state, indent=2, sort_keys=True) + "\n"))
    if not plan:
        return plan
    _plan_check(plan)
    enable = fr.enable_argv(paths, setup.init)
    restart = fr.restart_argv(paths, setup.init)
    if enable is not None:
        plan.command(RunCommand(enable, "start FreeRADIUS at boot"))
    if restart is not None:
        plan.command(RunCommand(restart, "FreeRADIUS reads clients only at start", undo=restart))
    elif fr.running_pid(paths) is not None:
        plan.notes.append(f"restart FreeRADIUS (pid {fr.running_pid(paths)}) yourself: it reads clients.conf "
                          "only at start")
    else:
        plan.notes.append("start FreeRADIUS: freeradius (or freeradius -f to keep it in the foreground); "
                          "with --init none nothing starts it at boot")
    return plan


def _plan_check(plan: Plan) -> None:
    check = fr.check_argv(plan.paths)
    if check is not None:
        plan.command(RunCommand(check, "check FreeRADIUS's configuration (a failure puts every file back)"))


# --- adduser / passwd / deluser --radius -------------------------------------------------


def _reload(plan: Plan, state: dict[str, Any]) -> None:
    """Check the configuration, then make the running FreeRADIUS re-read the users file."""
    _plan_check(plan)
    argv = fr.reload_argv(plan.paths, str(state.get("init", "none")))
    if argv is None:
        plan.notes.append("FreeRADIUS is not running: the change takes effect when it starts")
        return
    plan.command(RunCommand(argv, "FreeRADIUS re-reads its users file (SIGHUP; calls in progress go on)",
                            undo=argv))


def max_sessions(value: int | None) -> int | None:
    if value is not None and not 1 <= value <= MAX_SESSIONS:
        raise BadInput(f"bad --max-sessions {value}: 1 to {MAX_SESSIONS} calls at once")
    return value


def static_ip(users: Sequence[ufmt.RadiusUser], name: str, value: str) -> ipaddress.IPv4Address:
    addr = ipv4(value, "--ip address")
    for u in users:
        if u.name != name and u.ip == addr:
            raise BadInput(f"--ip {addr} is already given to {u.name}")
    return addr


def prepare_add(paths: Paths, name: str, ip: str | None, sessions: int | None, force: bool
                ) -> tuple[dict[str, Any], list[ufmt.RadiusUser], ufmt.RadiusUser | None, ipaddress.IPv4Address | None]:
    """Check an ``adduser --radius`` request (all but the password); change nothing."""
    state = require_state(paths)
    users = current_users(paths)
    existing = next((u for u in users if u.name == name), None)
    if existing is not None and not force:
        raise BadInput(f"RADIUS user {name} already exists (use --force to set its password and settings again)")
    max_sessions(sessions)
    addr = static_ip(users, name, ip) if ip is not None else (existing.ip if existing else None)
    return state, users, existing, addr


def plan_add(paths: Paths, state: dict[str, Any], users: list[ufmt.RadiusUser], existing: ufmt.RadiusUser | None,
             name: str, hashed: str, addr: ipaddress.IPv4Address | None, sessions: int | None) -> Plan:
    plan = Plan(paths, f"adduser --radius {name}")
    if sessions is None and existing is not None:
        sessions = existing.max_sessions
    user = ufmt.RadiusUser(name, hashed, addr, sessions)
    plan_users_block(plan, [u for u in users if u.name != name] + [user])
    _reload(plan, state)
    return plan


def find_user(paths: Paths, name: str) -> tuple[dict[str, Any], list[ufmt.RadiusUser], ufmt.RadiusUser]:
    state = require_state(paths)
    users = current_users(paths)
    user = next((u for u in users if u.name == name), None)
    if user is None:
        raise UserError(f"no RADIUS user {name} (dialup-admin users --radius lists them)")
    return state, users, user


def plan_passwd(paths: Paths, state: dict[str, Any], users: list[ufmt.RadiusUser], user: ufmt.RadiusUser,
                hashed: str) -> Plan:
    plan = Plan(paths, f"passwd --radius {user.name}")
    new = ufmt.RadiusUser(user.name, hashed, user.ip, user.max_sessions)
    plan_users_block(plan, [new if u.name == user.name else u for u in users])
    _reload(plan, state)
    return plan


def plan_deluser(paths: Paths, name: str) -> Plan:
    state, users, user = find_user(paths, name)
    plan = Plan(paths, f"deluser --radius {name}")
    plan_users_block(plan, [u for u in users if u.name != name])
    _reload(plan, state)
    return plan
