"""Commands: setup-server, rollback."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network

import click

from dialup_admin.completion import complete_tty
from dialup_admin.context import AppContext, pass_app
from dialup_admin.core import radius_nas, sharing
from dialup_admin.core import rollback as rollback_core
from dialup_admin.core.accounts import ServiceAccounts, static_addresses, statics_outside
from dialup_admin.core.plan import Plan
from dialup_admin.commands.direct import setup_options as direct_options
from dialup_admin.commands.plans import run_plan
from dialup_admin.core import direct as direct_core
from dialup_admin.core.server import ServerOptions, check_ttys_exist, plan_server, previous_pairs
from dialup_admin.errors import UserError
from dialup_admin.model import (
    DEFAULT_POOL,
    SPEEDS,
    MgettySettings,
    Server,
    allocate_lines,
    ipv4,
    pair_in_pool,
    parse_tty_spec,
    split_direct,
)
from dialup_admin.model import pool as parse_pool
from dialup_admin.paths import Paths
from dialup_admin.radius.nas import FALLBACK_CHOICES, NasRadius
from dialup_admin.system import mgetty as mgetty_sys
from dialup_admin.system.services import INIT_CHOICES, check_init, detect_init

PPPD = "/usr/sbin/pppd"


def find_pppd(paths: Paths) -> str:
    """pppd as login.config will name it: it must exist on the target (or this host)."""
    for where in (paths, Paths()):
        if where.of(PPPD).is_file():
            return PPPD
    raise UserError(f"{PPPD} not found: install pppd (apt-get install ppp)")


@click.command("setup-server")
@click.option("--tty", "ttys", multiple=True, required=True, metavar="TTY[:direct][=LOCAL:REMOTE]",
              shell_complete=complete_tty,
              help="A modem line, such as ttyS1 (repeat for more lines). Addresses are taken from the pool "
                   "unless given as ttyS1=192.168.32.1:192.168.32.2. TTY:direct: the caller's modem is cabled "
                   "to this one without an exchange (dialup-admin answer plays the dial tone and answers).")
@click.option("--pool", default=DEFAULT_POOL, show_default=True,
              help="IPv4 network the line addresses are taken from (the guide's were lost; this is ours).")
@click.option("--dns", multiple=True, metavar="ADDR",
              help="DNS server handed to callers (ms-dns); repeat for a second. Default: the line's local address.")
@click.option("--init", "init", type=click.Choice(INIT_CHOICES), default="auto", show_default=True,
              help="How mgetty is kept running: an inittab respawn line, a systemd unit, or not at all.")
@click.option("--mgetty", "mgetty_path", metavar="PATH",
              help="The mgetty binary to use (default: /usr/local/sbin/mgetty if built, else the distro's).")
@click.option("--speed", type=int, default=57600, show_default=True, help=f"Port speed ({', '.join(map(str, SPEEDS))}).")
@click.option("--debug", "debug_level", type=int, default=9, show_default=True, help="mgetty log level, 0-9.")
@click.option("--login-time", type=int, default=30, show_default=True, help="Seconds a caller has to log in.")
@click.option("--answer-chat-timeout", type=int, default=60, show_default=True,
              help="Seconds mgetty waits for CONNECT after answering.")
@click.option("--data-only/--no-data-only", default=True, show_default=True, help="Refuse fax calls.")
@click.option("--toggle-dtr/--no-toggle-dtr", default=True, show_default=True, help="Reset the modem with DTR at start.")
@click.option("--force", is_flag=True, help="Overwrite a managed block that was edited by hand, or has broken markers.")
@click.option("--ppp-gid", type=int, default=3000, show_default=True, help="gid of the guide's ppp group.")
@click.option("--ppp-uid", type=int, default=3000, show_default=True, help="uid of the guide's ppp user.")
@click.option("--fax-uid", type=int, default=3001, show_default=True, help="uid of the fax user.")
@click.option("--no-accounts", is_flag=True, help="Do not create the ppp group and the ppp/fax users.")
@click.option("--share-internet", "share_internet", metavar="IFACE",
              help="Callers reach the internet through IFACE (forwarding + an nftables masquerade table). "
                   "Kept on later runs until --no-share-internet.")
@click.option("--no-share-internet", "no_share", is_flag=True, help="Stop sharing: remove the NAT table and its files.")
@click.option("--proxyarp/--no-proxyarp", "proxyarp", default=None,
              help="pppd answers ARP for callers on the LAN. Default: on when the pool lies inside a LAN of this host.")
@click.option("--radius", "radius", multiple=True, metavar="HOST[:PORT]",
              help="Check callers with this RADIUS server (pppd's radius.so) instead of pap-secrets; repeat for "
                   "a backup, tried in order. Kept on later runs until --no-radius.")
@click.option("--radius-secret-file", metavar="FILE",
              help="File (mode 0600) holding the RADIUS shared secret on one line; never on the command line.")
@click.option("--radius-fallback", type=click.Choice(FALLBACK_CHOICES), default=None,
              help="local: when no RADIUS server answers, check callers against the local accounts instead "
                   "of refusing them (default: none).")
@click.option("--no-radius", is_flag=True, help="Stop using RADIUS: callers are checked by pap-secrets again.")
@pass_app
@direct_options
def setup_server(
    app: AppContext,
    ttys: tuple[str, ...],
    pool: str,
    dns: tuple[str, ...],
    init: str,
    mgetty_path: str | None,
    speed: int,
    debug_level: int,
    login_time: int,
    answer_chat_timeout: int,
    data_only: bool,
    toggle_dtr: bool,
    force: bool,
    share_internet: str | None,
    no_share: bool,
    proxyarp: bool | None,
    ppp_gid: int,
    ppp_uid: int,
    fax_uid: int,
    no_accounts: bool,
    radius: tuple[str, ...],
    radius_secret_file: str | None,
    radius_fallback: str | None,
    no_radius: bool,
    dial_tone: str | None = None,
    no_dial_tone: bool | None = None,
    number: str | None = None,
    dial_timeout: int | None = None,
    connect_timeout: int | None = None,
) -> None:
    """Set up the dial-in server: mgetty answers, pppd authenticates with PAP.

    \b
    Writes (paths for Debian's mgetty; a source build reads /usr/local/etc/mgetty+sendfax):
      /etc/mgetty/mgetty.config       the guide's settings, a port section per line
      /etc/mgetty/login.config        /AutoPPP/ -> pppd auth -chap +pap login debug (0600 root:root)
      /etc/ppp/options                asyncmap 0, mtu/mru 1500, LCP echo (managed block)
      /etc/ppp/options.TTY            local:remote addresses, ms-dns
      /etc/ppp/pap-secrets            the block adduser fills (0600)
      /etc/passwd, group, shadow      group ppp (3000), users ppp (3000) and fax (3001), via groupadd/useradd
      /etc/inittab or systemd unit    S1:2345:respawn:mgetty ttyS1 -D /dev/ttyS1, then telinit q
                                      (a direct line: dialup-admin answer TTY, dialup-answer@.service)
      /etc/dialup-admin/server.json   what was set up, for the other commands
      /etc/ppp/ip-up.d/dialup-admin   session records (and ip-down.d; see dialup-admin sessions)
      with --share-internet: /etc/dialup-admin/nat.nft (nftables table dialup_admin),
      /etc/sysctl.d/60-dialup-admin.conf (ip_forward), dialup-admin-nat.service
      with --radius: /etc/ppp/radius/ (radiusclient.conf and servers 0600, dictionary,
      port-id-map) and plugin radius.so in each options.TTY

    \b
    Examples:
      sudo dialup-admin setup-server --tty ttyS1
      sudo dialup-admin setup-server --tty ttyS1 --tty ttyS3 --pool 192.168.32.0/24 --dns 192.168.32.1
      dialup-admin --root /srv/img setup-server --tty ttyS1
      dialup-admin setup-server --tty ttyS1 --dry-run --diff
      sudo dialup-admin setup-server --tty ttyS1 --share-internet eth0
      sudo dialup-admin setup-server --tty ttyS1 --radius radius1 --radius radius2 --radius-secret-file /root/radius.secret
      sudo dialup-admin setup-server --tty ttyACM0:direct --dial-tone 425
    """
    wanted = _parse_lines(ttys, pool)
    settings = MgettySettings(
        debug=debug_level, speed=speed, data_only=data_only, login_time=login_time,
        answer_chat_timeout=answer_chat_timeout, toggle_dtr=toggle_dtr,
    )
    direct_given: dict[str, object] = {"dial_tone": dial_tone, "no_dial_tone": no_dial_tone, "number": number,
                                       "dial_timeout": dial_timeout, "connect_timeout": connect_timeout}
    server, share = _desired_server(app.paths, wanted, settings, direct_given, dns, share_internet, no_share)
    nas = radius_nas.choose(app.paths, radius, radius_secret_file, no_radius, radius_fallback)
    app.require_root("setup-server")
    accounts = None if no_accounts else ServiceAccounts(ppp_gid, ppp_uid, fax_uid)
    opts = _server_options(app.paths, server, init, mgetty_path, force=force, share=share, proxyarp=proxyarp,
                           accounts=accounts, nas=nas)
    plan = plan_server(app.paths, server, opts)
    plan.notes.extend(statics_outside(app.paths, server.pool))  # a new --pool: users' own addresses stay where they were
    if run_plan(app, plan, notes=False):
        _say_applied(app, plan, server, nas)


@dataclass(frozen=True)
class _Lines:
    """The lines as --tty and --pool give them, checked; addresses not yet allocated."""

    ttys: list[str]
    direct: list[str]  # the TTY:direct ones
    net: IPv4Network
    given: dict[str, tuple[IPv4Address, IPv4Address]]  # ttyS1=LOCAL:REMOTE


def _parse_lines(ttys: tuple[str, ...], pool: str) -> _Lines:
    kinds = [split_direct(t) for t in ttys]
    specs = [parse_tty_spec(t) for t, _ in kinds]
    direct_ttys = [spec[0] for spec, (_, wired) in zip(specs, kinds, strict=True) if wired]
    net = parse_pool(pool)
    given = {tty: pair for tty, pair in specs if pair is not None}
    for tty, (local, remote) in given.items():
        pair_in_pool(tty, local, remote, net)
    return _Lines([t for t, _ in specs], direct_ttys, net, given)


def _desired_server(paths: Paths, wanted: _Lines, settings: MgettySettings, direct_given: dict[str, object],
                    dns: tuple[str, ...], share_internet: str | None, no_share: bool) -> tuple[Server, str | None]:
    """The server this run asks for, and the interface to share; reads what earlier runs and
    adduser recorded (addresses stay where they were), changes nothing."""
    lines = allocate_lines(wanted.ttys, wanted.net, wanted.given, previous_pairs(paths),
                           reserved=static_addresses(paths),  # users' adduser --ip addresses
                           direct=wanted.direct)
    direct = direct_core.settings(paths, direct_given, bool(wanted.direct))
    dns_addrs = tuple(ipv4(d, "DNS address") for d in dns)
    if len(dns_addrs) > 2:
        raise UserError("at most two --dns servers (pppd hands callers a primary and a secondary)", exit_code=2)
    share = sharing.choose_share(paths, share_internet, no_share)
    if share is not None and not dns_addrs:
        dns_addrs = sharing.pick_dns(paths, lines)
    return Server(lines=lines, pool=wanted.net, dns=dns_addrs, mgetty=settings, direct=direct), share


def _server_options(paths: Paths, server: Server, init: str, mgetty_path: str | None, *, force: bool,
                    share: str | None, proxyarp: bool | None, accounts: ServiceAccounts | None,
                    nas: NasRadius | None) -> ServerOptions:
    """How to realise ``server`` on this machine: its init, ports, mgetty and pppd, checked."""
    chosen_init = detect_init(paths) if init == "auto" else init
    check_init(paths, chosen_init)
    check_ttys_exist(paths, server)
    layout = mgetty_sys.detect(paths, mgetty_path) if server.mgetty_lines or mgetty_path else None
    return ServerOptions(init=chosen_init, mgetty=layout, pppd=find_pppd(paths), force=force,
                         share_internet=share,
                         proxyarp=sharing.pool_in_lan(paths, server.pool) if proxyarp is None else proxyarp,
                         accounts=accounts, radius=nas, tool=direct_core.tool_command(),
                         notes=direct_core.voice_notes(paths, server))


def _say_applied(app: AppContext, plan: Plan, server: Server, nas: NasRadius | None) -> None:
    app.say(f"Server set up: {len(plan.actions)} change(s) applied; undo with: dialup-admin rollback")
    for ln in server.lines:
        kind = " (direct line: dialup-admin answer)" if ln.direct else ""
        app.say(f"  {ln.tty}: server {ln.local}, caller {ln.remote}{kind}")
    if nas is not None:
        app.say(f"  callers are checked by RADIUS: {', '.join(map(str, nas.servers))} (as {nas.nas_identifier})"
                + ("; local accounts when none answers" if nas.fallback == "local" else ""))
    for n in plan.notes:
        app.say(f"  note: {n}")


@click.command("rollback")
@pass_app
def rollback(app: AppContext) -> None:
    """Put back every file the last apply changed (run it again to go further back).

    \b
    Example:
      sudo dialup-admin rollback
    """
    app.require_root("rollback", recover=False)
    found = rollback_core.pending(app.paths)
    if found is None:
        app.say("Nothing to roll back.")
        return
    if app.dry_run:
        app.say(f"Would undo {found.label} of {found.time}:")
        for system in found.files:
            app.say(f"  restore {system}")
        return
    done = rollback_core.rollback(app.paths, echo=lambda s: app.say(f"  {s}"))
    if done is not None:
        app.say(f"Rolled back {done.label} of {done.time}.")


COMMANDS: list[click.Command] = [setup_server, rollback]
