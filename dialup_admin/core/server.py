"""setup-server: the server side of the guide as one plan.

Writes mgetty.config and login.config where the installed mgetty reads them,
/etc/ppp/options (managed block), options.<tty> per line, the pap-secrets block,
the inittab lines or systemd unit, and the tool's own server.json.

A direct line (``--tty ttyACM0:direct``: the caller's modem cabled to ours, no
exchange) gets ``dialup-admin answer TTY`` instead of mgetty, kept running by the same
init (an inittab respawn line, or the unit ``dialup-answer@.service``); its pppd reads
the same options files and checks the same accounts.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from dialup_admin.core import mgetty_service, radius_nas, sessions, sharing
from dialup_admin.core.accounts import ServiceAccounts, plan_pap_file, plan_service_accounts
from dialup_admin.core.plan import FileSpec, Plan
from dialup_admin.core.state import load_server_json, server_to_json
from dialup_admin.errors import BadInput, UserError
from dialup_admin.formats import inittab as inittab_fmt
from dialup_admin.formats import managed
from dialup_admin.model import Server
from dialup_admin.paths import INITTAB, PPP_OPTIONS, SERVER_STATE, SYSTEMD_DIR, Paths, tty_options
from dialup_admin.radius.nas import NasRadius
from dialup_admin.render import render
from dialup_admin.system.mgetty import MgettyLayout
from dialup_admin.system import reading

BLOCK = "server"


DEFAULT_TOOL = "/usr/local/bin/dialup-admin"
ANSWER_UNIT = "dialup-answer@.service"
ANSWER_WANTS = f"{SYSTEMD_DIR}/multi-user.target.wants"


@dataclass(frozen=True)
class ServerOptions:
    """How to realise a Server on this target."""

    init: str  # inittab | systemd | none
    mgetty: MgettyLayout | None  # None: no mgetty (only direct lines)
    pppd: str  # system path named in login.config
    login: str = "/bin/login"
    mtu: int = 1500
    echo_interval: int = 10
    echo_failure: int = 3
    force: bool = False
    share_internet: str | None = None  # upstream interface for callers' NAT (core/sharing.py)
    proxyarp: bool = False  # the pool lies inside the LAN: answer ARP for callers
    accounts: ServiceAccounts | None = None  # group ppp, users ppp/fax (core/accounts.py); None: leave them
    radius: NasRadius | None = None  # callers checked by RADIUS (core/radius_nas.py); None: pap-secrets
    tool: str = DEFAULT_TOOL  # how init starts dialup-admin (answer on direct lines)
    notes: tuple[str, ...] = ()  # what the command found out before planning (a modem without voice mode)


def previous_pairs(paths: Paths) -> dict[str, tuple[ipaddress.IPv4Address, ipaddress.IPv4Address]]:
    """Address pairs the lines had at the last setup-server, so re-runs never renumber."""
    data = load_server_json(paths) or {}
    out = {}
    for d in data.get("lines", []):
        try:
            out[d["tty"]] = (ipaddress.IPv4Address(d["local"]), ipaddress.IPv4Address(d["remote"]))
        except (KeyError, ValueError):
            continue
    return out


def plan_server(paths: Paths, server: Server, opts: ServerOptions) -> Plan:
    """Build the plan that makes the target match ``server``; compare, do not change."""
    plan = Plan(paths, "setup-server")
    plan.notes.extend(opts.notes)
    _mgetty_files(plan, server, opts)
    removed = _removed_ttys(paths, server)
    _ppp_options(plan, server, opts, removed)
    if opts.accounts is not None:
        plan_service_accounts(plan, opts.accounts)
    plan_pap_file(plan, opts.force)
    sessions.plan_hooks(plan, opts.force)
    sharing.plan_sharing(plan, server.pool, sharing.SharePlan(opts.share_internet, opts.init))
    radius_nas.plan_nas(plan, server, opts.radius, opts.pppd)
    _service(plan, server, opts, removed)
    plan.file(SERVER_STATE, FileSpec(server_to_json(server, _recorded(server, opts))))
    return plan


def _removed_ttys(paths: Paths, server: Server) -> list[str]:
    """The lines the last setup-server had that this one drops."""
    previous = [d.get("tty") for d in (load_server_json(paths) or {}).get("lines", [])]
    return [t for t in previous if isinstance(t, str) and t not in {ln.tty for ln in server.lines}]


def _mgetty_files(plan: Plan, server: Server, opts: ServerOptions) -> None:
    """mgetty.config and login.config where the installed mgetty reads them (none without mgetty lines)."""
    lay = opts.mgetty
    if not server.mgetty_lines:
        return
    if lay is None:
        raise UserError("mgetty is not installed: apt-get install mgetty (or give every line as TTY:direct)")
    if not lay.auto_ppp:
        plan.notes.append(
            f"{lay.binary} was built without AUTO_PPP: PPP callers will get login: "
            "(rebuild it with dialup-admin build-mgetty)"
        )
    plan.file(
        lay.mgetty_config,
        FileSpec(render("mgetty.config.j2", settings=server.mgetty, lines=server.mgetty_lines,
                        log_hint=lay.log_file("TTY"))),
    )
    # mgetty ignores login.config unless it is root's and 0600 (it falls back to /bin/login).
    login_pppd = radius_nas.pppd_for_login(opts.radius, opts.pppd)
    plan.file(lay.login_config, FileSpec(render("login.config.j2", pppd=login_pppd, login=opts.login),
                                         mode=0o600))


def _ppp_options(plan: Plan, server: Server, opts: ServerOptions, removed: list[str]) -> None:
    """Our block of /etc/ppp/options, an options.TTY per line; a dropped line's options.TTY goes."""
    options_body = render("options.j2", mtu=opts.mtu, echo_interval=opts.echo_interval, echo_failure=opts.echo_failure)
    plan.block(PPP_OPTIONS, BLOCK, options_body.encode(), force=opts.force)
    for line in server.lines:
        tty_opts = render("options.tty.j2", line=line, dns=server.dns, proxyarp=opts.proxyarp,
                          radius=radius_nas.line_options(opts.radius, line.tty))
        plan.file(tty_options(line.tty), FileSpec(tty_opts))
    for tty in removed:
        plan.remove(tty_options(tty))


def _recorded(server: Server, opts: ServerOptions) -> dict[str, Any]:
    """What server.json keeps beside the server itself, for the other commands."""
    extra: dict[str, Any] = {"init": opts.init, "pppd": opts.pppd, "share_internet": opts.share_internet,
                             "proxyarp": opts.proxyarp}
    if opts.mgetty is not None:
        extra.update({"mgetty_binary": opts.mgetty.binary, "mgetty_config_dir": opts.mgetty.config_dir})
    if opts.radius is not None:
        extra["radius"] = opts.radius.to_json()
    if server.direct_lines:
        extra["answer_command"] = opts.tool
        extra["answer_pppd"] = radius_nas.pppd_for_login(opts.radius, opts.pppd)  # RADIUS fallback: its wrapper
    return extra


def _service(plan: Plan, server: Server, opts: ServerOptions, removed: list[str]) -> None:
    """The inittab block or the units and their links; starting and stopping lines: core/mgetty_service.py."""
    mgetty = opts.mgetty.binary if opts.mgetty is not None else ""
    mg_lines, direct_lines = server.mgetty_lines, server.direct_lines
    lines = [mgetty_service.LineUnit.of(ln.tty, ln.direct) for ln in server.lines]
    if opts.init == "inittab":
        path = INITTAB
        old = reading.read_or_empty(plan.paths.of(path))
        outside = managed.split(old, path, name=BLOCK, force=opts.force).outside
        inittab_fmt.check_conflicts(outside, server.lines, path)
        body = render("inittab.j2", lines=server.lines, mgetty=mgetty, tool=opts.tool).encode()
        changed = plan.block(path, BLOCK, body, force=opts.force)
        mgetty_service.plan_inittab(plan, lines, removed, opts.mgetty, changed)
    elif opts.init == "systemd":
        # Each line's unit is wanted by its target; a line that changed kind or left loses the other link.
        units = (("mgetty@.service", f"{SYSTEMD_DIR}/getty.target.wants", mg_lines, {"mgetty": mgetty}),
                 (ANSWER_UNIT, ANSWER_WANTS, direct_lines, {"tool": opts.tool}))
        changed = False
        stale = [mgetty_service.LineUnit.of(tty, direct) for tty in removed for direct in (False, True)]
        for name, wants, kind_lines, values in units:
            unit = f"{SYSTEMD_DIR}/{name}"
            if kind_lines:
                changed = plan.file(unit, FileSpec(render(f"{name}.j2", **values))) or changed
            prefix = name.split("@")[0]
            wanted = {f"{prefix}@{ln.tty}.service" for ln in kind_lines}
            for ln in kind_lines:
                changed = plan.symlink(f"{wants}/{prefix}@{ln.tty}.service", unit) or changed
            wants_dir = plan.paths.of(wants)
            if wants_dir.is_dir():
                for p in sorted(wants_dir.glob(f"{prefix}@*.service")):
                    if p.name not in wanted and p.is_symlink():
                        changed = plan.remove(f"{wants}/{p.name}") or changed
                        stale.append(mgetty_service.LineUnit(p.name.split("@", 1)[1][:-len(".service")], p.name))
        mgetty_service.plan_systemd(plan, lines, stale, opts.mgetty, changed)
    elif opts.init == "none":
        if mg_lines:
            starts = "; ".join(f"{mgetty} {ln.tty} -D /dev/{ln.tty}" for ln in mg_lines)
            plan.notes.append(f"--init none: keep mgetty running yourself (respawn it after each call): {starts}")
        if direct_lines:
            starts = "; ".join(f"{opts.tool} answer {ln.tty}" for ln in direct_lines)
            plan.notes.append(f"--init none: keep answer running yourself on the direct lines "
                              f"(start it again after each call): {starts}")
    else:
        raise BadInput(f"unknown --init {opts.init!r}")


def check_ttys_exist(paths: Paths, server: Server) -> None:
    """On the running machine every tty must exist (under --root the image may not have /dev)."""
    if not paths.is_host:
        return
    for ln in server.lines:
        dev = paths.dev(ln.tty)
        if not dev.exists():
            raise UserError(f"/dev/{ln.tty} does not exist: check the port name (dmesg | grep tty)")
        if not dev.is_char_device():
            raise UserError(f"/dev/{ln.tty} is not a serial device")
