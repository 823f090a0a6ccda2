"""Commands: setup-client, dial, hangup, status, stats, terminal (the dial-out side)."""

from __future__ import annotations

import click

from dialup_admin.clitypes import seconds
from dialup_admin.commands.plans import run_plan
from dialup_admin.commands.prompts import ask_new_secret, stdin_line
from dialup_admin.completion import complete_port
from dialup_admin.context import AppContext, pass_app
from dialup_admin.core import client as core
from dialup_admin.errors import BadInput, UserError
from dialup_admin.model import SPEEDS

PLACEHOLDER = "********"  # what a --dry-run plans with instead of asking for the password


def _read_password(app: AppContext, c: core.Client, from_stdin: bool, new: bool) -> str | None:
    """The PAP password: stdin, or kept from pap-secrets, or asked twice (hidden). Never argv."""
    if from_stdin:
        return core.password(stdin_line())
    if not new and core.has_saved_secret(app.paths, c):
        app.say(f"Keeping the saved password of {c.user} for {c.peer} (--new-password to change it).")
        return None
    if app.dry_run:
        return PLACEHOLDER
    value = ask_new_secret(f"PAP password of {c.user}")
    if value is None:
        raise UserError("no password given: type it at the prompt, or pipe it in with --password-stdin")
    return core.password(value)


@click.command("setup-client")
@click.option("--device", required=True, metavar="PORT", shell_complete=complete_port, help="The modem's serial port, such as /dev/ttyS0 or ttyUSB0.")
@click.option("--number", required=True, help="The number to dial (digits and dial modifiers), such as 11.")
@click.option("--user", default="ppp", show_default=True, help="PAP user name, as in the server's pap-secrets.")
@click.option("--peer", default=core.DEFAULT_PEER, show_default=True,
              help="Name of the connection: /etc/ppp/peers/NAME, pppd call NAME.")
@click.option("--speed", type=int, default=57600, show_default=True, help=f"Port speed ({', '.join(map(str, SPEEDS))}).")
@click.option("--init", "init", default=core.GUIDE_INIT, show_default=True, help="The modem's init string.")
@click.option("--crtscts/--no-crtscts", default=True, show_default=True, help="RTS/CTS hardware flow control.")
@click.option("--connect-timeout", type=int, default=60, show_default=True,
              help="Seconds to wait for CONNECT after dialing.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin (no prompt).")
@click.option("--new-password", is_flag=True, help="Ask for a new password even if one is saved.")
@click.option("--force", is_flag=True, help="Overwrite a managed block that was edited by hand, or has broken markers.")
@pass_app
def setup_client(
    app: AppContext,
    device: str,
    number: str,
    user: str,
    peer: str,
    speed: int,
    init: str,
    crtscts: bool,
    connect_timeout: int,
    password_stdin: bool,
    new_password: bool,
    force: bool,
) -> None:
    """Set up dialing out: peers file, chat script, PAP password (what pppsetup wrote).

    \b
    Writes:
      /etc/ppp/peers/NAME           port, speed, lock, crtscts, modem, user, defaultroute, usepeerdns
      /etc/ppp/chat-NAME            ATZ, init string, ATDT<number>, CONNECT; ABORT on BUSY, NO CARRIER...
      /etc/ppp/options              asyncmap 0 (managed "client" block)
      /etc/ppp/pap-secrets          "user" NAME "password" (managed "client" block, 0600)
      /etc/dialup-admin/client.json what was set up, for dial/hangup/status
    The password is asked twice (hidden), or read with --password-stdin; never on the command line.

    \b
    Examples:
      sudo dialup-admin setup-client --device /dev/ttyS0 --number 11 --user ppp
      echo "$PW" | sudo dialup-admin setup-client --device ttyUSB0 --number 9,5551234 --password-stdin
      dialup-admin setup-client --device ttyS0 --number 11 --dry-run --diff
    Undo with: sudo dialup-admin rollback
    """
    c = core.Client(
        peer=core.peer_name(peer), device=core.device_path(device), number=core.phone_number(number),
        user=core.user_name(user), speed=speed, init=core.init_string(init), crtscts=crtscts,
        connect_timeout=connect_timeout,
    )
    app.require_root("setup-client")
    secret = _read_password(app, c, password_stdin, new_password)
    plan = core.plan_client(app.paths, c, secret, force=force)
    if not run_plan(app, plan, notes=False):
        return
    app.say(f"Client set up: {len(plan.actions)} change(s) applied; undo with: dialup-admin rollback")
    app.say(f"  dial {c.number} on {c.device} as {c.user}: dialup-admin dial"
            + ("" if c.peer == core.DEFAULT_PEER else f" --peer {c.peer}"))
    for n in plan.notes:
        app.say(f"  note: {n}")


COMMANDS: list[click.Command] = [setup_client]


# --- dial, hangup ---------------------------------------------------------------------


@click.command("dial")
@click.option("--peer", default=None, help="Which connection (default: the one setup-client made first).")
@click.option("--timeout", type=float, callback=seconds(0.1, 3600), default=180, show_default=True, help="Seconds to wait for the link.")
@pass_app
def dial(app: AppContext, peer: str | None, timeout: float) -> None:
    """Dial out and bring up the PPP link, showing each stage (what ppp-go did).

    \b
    Runs pppd call NAME updetach: the chat script dials, pppd logs in with PAP and
    gets the addresses; dial prints the stages as they happen (Serial connection
    established, Using interface ppp0, Connect: ppp0 <--> /dev/ttyS0, Remote message,
    PAP authentication succeeded, compression, local/remote IP, DNS) and ends when the
    link is up, leaving pppd running (pid in /var/lib/dialup-admin/dial-NAME.json).
    A failure is explained in one line (busy, no carrier, password refused, no kernel PPP...).
    -v shows pppd's whole log (with debug).

    \b
    Examples:
      sudo dialup-admin dial
      sudo dialup-admin dial --peer work -v
    Undo with: sudo dialup-admin hangup
    """
    from dialup_admin.core import dial as dial_core

    c = core.load_client(app.paths, core.peer_name(peer) if peer else None)
    if app.dry_run:
        from dialup_admin.system.commands import which

        argv = dial_core.pppd_argv(app.paths, c, which("pppd") or "/usr/sbin/pppd", debug=bool(app.verbose))
        app.say(f"Would run: {' '.join(argv)}")
        return
    app.require_root("dial")
    res = dial_core.dial(app.paths, c, say=app.say, verbose=bool(app.verbose), timeout=timeout)
    rec = res.record
    if app.json:
        from dataclasses import asdict

        app.emit_json(asdict(rec))
    app.say(f"Link up: {rec.interface or '?'} {rec.local} -> {rec.remote} (pppd pid {rec.pid}); "
            f"hang up with: dialup-admin hangup" + ("" if c.peer == core.DEFAULT_PEER else f" --peer {c.peer}"))


@click.command("hangup")
@click.option("--peer", default=None, help="Which connection (default: the one setup-client made first).")
@click.option("--timeout", type=float, callback=seconds(0.1, 600), default=20, show_default=True,
              help="Seconds to wait for pppd to hang up before killing it.")
@pass_app
def hangup(app: AppContext, peer: str | None, timeout: float) -> None:
    """Hang up the link dial brought up: stop its pppd by pid, wait for the port (ppp-off).

    \b
    Examples:
      sudo dialup-admin hangup
      sudo dialup-admin hangup --peer work
    """
    from dialup_admin.core import dial as dial_core

    name = core.peer_name(peer) if peer else (core.load_state(app.paths).get("default") or core.DEFAULT_PEER)
    rec = dial_core.running_record(app.paths, name)
    if app.dry_run:
        app.say(f"Would stop pppd pid {rec.pid}" if rec else f"No link of {name} is up.")
        return
    app.require_root("hangup")
    done = dial_core.hangup(app.paths, name, say=app.say, timeout=timeout)
    if done is None:
        app.say(f"No link of {name} is up: nothing to hang up.")
        return
    app.say(f"Hung up: {done.interface or name} is down and the port is free.")


# --- status, stats ------------------------------------------------------------------------


@click.command("status")
@pass_app
def status(app: AppContext) -> None:
    """Show the PPP links: interface, addresses, routes, traffic, pppd (ifconfig + route -n).

    \b
    Reads the kernel's own figures (ip -j addr/route, /proc/net/dev) and dial's record.
    Examples:
      dialup-admin status
      dialup-admin status --json
    """
    from dialup_admin.core import dial as dial_core
    from dialup_admin.system import netstat, ppp

    found = netstat.links()
    records = {r.peer: r for r in ppp.DialRecord.load_all(app.paths)}
    live = {p: r for p, r in records.items() if dial_core.running_record(app.paths, p) is not None}
    if app.json:
        app.emit_json({
            "links": [ln.to_json() for ln in found],
            "dialed": [dict(r.__dict__, running=True) for r in live.values()],
        })
        return
    if not found:
        app.say("No PPP link is up" + (f" (pppd pid {', '.join(str(r.pid) for r in live.values())} is still "
                                        "dialing or negotiating)" if live else "") + ".")
        return
    by_iface = {r.interface: r for r in live.values()}
    for ln in found:
        state = "UP" if ln.up else "DOWN"
        app.say(f"{ln.name}: {state}  local {ln.local or '-'}  peer {ln.peer or '-'}  mtu {ln.mtu or '-'}")
        if ln.routes:
            app.say(f"  routes: {', '.join(ln.routes)}" + ("  (default route)" if ln.default_route else ""))
        if ln.counters:
            c = ln.counters
            app.say(f"  RX {c.rx_packets} packets {c.rx_bytes} bytes {c.rx_errs} errors   "
                    f"TX {c.tx_packets} packets {c.tx_bytes} bytes {c.tx_errs} errors")
        rec = by_iface.get(ln.name)
        if rec is not None:
            extra = f", DNS {' '.join(rec.dns)}" if rec.dns else ""
            comp = f", {' / '.join(rec.compression)} compression" if rec.compression else ""
            app.say(f"  dialed {rec.peer} on {rec.device}: pppd pid {rec.pid}{comp}{extra}")


@click.command("stats")
@click.option("--interface", "-i", "iface", default=None, help="Which interface (default: the first pppN).")
@click.option("--interval", "-w", type=float, default=None, help="Print a line every N seconds (like pppstats -w).")
@click.option("--count", "-c", type=int, default=None, help="Stop after this many lines.")
@click.option("--compression", "-z", is_flag=True, help="Deflate/BSD-Compress figures instead (pppstats -z).")
@pass_app
def stats(app: AppContext, iface: str | None, interval: float | None, count: int | None, compression: bool) -> None:
    """Traffic of the PPP link in pppstats' columns: bytes and packets in and out, compression.

    \b
    The first line is the total since the link came up, each later line what
    changed in the interval. On a real pppN the figures are the PPP driver's
    (VJ header compression columns, as pppstats); otherwise the kernel's counters.
    Examples:
      dialup-admin stats
      dialup-admin stats --interval 2 --count 10
      dialup-admin stats -z
    """
    import time

    from dialup_admin.core import stats as st
    from dialup_admin.errors import BadInput

    if interval is not None and (not interval > 0 or interval == float("inf")):
        raise BadInput("--interval must be more than 0 seconds (and finite)")
    if count is not None and count < 1:
        raise BadInput("--count must be at least 1")
    name = iface or st.first_ppp_interface()
    if name is None:
        raise UserError("no PPP link is up (no pppN interface): dial first with dialup-admin dial")
    layout, sample = st.choose(name, compression)
    rows: list[dict[str, float]] = []
    prev = None
    n = 0
    if not app.json:
        app.say(layout.header)
    cur = sample(name)
    while cur is not None:
        d = st.delta(cur, prev)
        if app.json:
            rows.append(d)
        else:
            app.say(st.row(layout, d))
        n += 1
        if interval is None or (count is not None and n >= count):
            break
        prev = cur
        time.sleep(interval)
        cur = sample(name)
        if cur is None:
            app.say(f"{name} went down.")
    if app.json:
        app.emit_json({"interface": name, "source": layout.source, "samples": rows})


# --- terminal --------------------------------------------------------------------------------


@click.command("terminal")
@click.argument("port", shell_complete=complete_port)
@click.option("--speed", type=int, default=57600, show_default=True, help="Port speed.")
@pass_app
def terminal(app: AppContext, port: str, speed: int) -> None:
    """Talk to the modem by hand: type AT commands, dial, log in; Ctrl-] leaves (minicom).

    \b
    Takes the port's UUCP lock like mgetty and pppd (refuses a port in use), puts this
    terminal in raw mode, and copies bytes both ways. Leaving closes the port, which
    drops DTR: the modem hangs up.
    Examples:
      dialup-admin terminal /dev/ttyS0          then: AT  ATDT11  (login: ppp)
      dialup-admin terminal ttyUSB0 --speed 115200
    """
    from dialup_admin.model import speed as check_speed
    from dialup_admin.system import serial
    from dialup_admin.system import terminal as term

    path = core.device_path(port)
    check_speed(speed)
    if app.dry_run:
        app.say(f"Would open {path} at {speed} (lock {serial.lock_path(app.paths, serial.lock_names(path)[0])})")
        return
    with serial.locked_port(app.paths, path, speed) as (fd, lock):
        for note in lock.notes:
            app.say(f"note: {note}", err=True)
        app.say(f"Connected to {path} at {speed} bps. Ctrl-] leaves.", err=True)
        why = term.session(fd)
    ends = {"escape": "Left the terminal", "eof": "Input ended", "hangup": f"{path} hung up"}
    app.say(f"\r\n{ends.get(why, why)}; {path} closed (DTR dropped).", err=True)


COMMANDS = [setup_client, dial, hangup, status, stats, terminal]
