"""Commands: doctor, sessions, logs (running the server day to day; they only read)."""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import click

from dialup_admin.completion import complete_tty
from dialup_admin.context import AppContext, pass_app
from dialup_admin.core import doctor as doctor_core
from dialup_admin.core import logs as logs_core
from dialup_admin.core import sessions as sessions_core
from dialup_admin.core.state import load_server_json
from dialup_admin.errors import UserError
from dialup_admin.model import tty_name
from dialup_admin.paths import RADIUS_STATE, Paths
from dialup_admin.system import journal
from dialup_admin.system import mgetty as mgetty_sys


@click.command("doctor")
@pass_app
def doctor(app: AppContext) -> None:
    """Check everything that stops a caller getting in; each problem with its fix.

    \b
    Checks kernel PPP, pppd/chat, mgetty's AUTO_PPP, every file setup-server wrote (owner,
    mode, content), the inittab line or unit and the running mgetty, pap-secrets (empty
    secrets, wildcards, missing accounts, system accounts), mgetty.config against the modem,
    other programs on the port (ModemManager, a serial getty, pppd, stale UUCP locks), the
    address plan, internet sharing (forwarding, NAT table, DNS) and the session hooks.
    With --radius set up: the RADIUS files (the secret 0600), and whether each RADIUS
    server answers with our shared secret. On the pool's RADIUS server (radius-server,
    no dial-in lines): only the RADIUS checks.
    Changes nothing. Exit status: 0 all ok, 1 warnings, 2 errors.

    \b
    Examples:
      sudo dialup-admin doctor
      sudo dialup-admin doctor -v          # list the passed checks too
      dialup-admin --root /srv/img doctor --json
    """
    target = doctor_core.Target.load(app.paths)
    radius_only = target.state is None and target.read(RADIUS_STATE) is not None
    findings = doctor_core.run_checks(target, (doctor_core.check_radius,) if radius_only else doctor_core.CHECKS)
    level = doctor_core.worst(findings)
    if app.json:
        app.emit_json({"worst": level, "findings": [f.to_json() for f in findings]})
    else:
        app.say(doctor_core.render_table(findings, verbose=bool(app.verbose)))
    sys.exit(doctor_core.EXIT[level])


@click.command("sessions")
@click.option("--active", is_flag=True, help="Only the calls in progress.")
@click.option("--radius", is_flag=True, help="The whole pool's calls, from FreeRADIUS's accounting (on the RADIUS server).")
@pass_app
def sessions(app: AppContext, active: bool, radius: bool) -> None:
    """Who called, on which line, when, for how long, with which address and bytes.

    \b
    Read from the records the ip-up/ip-down hooks append to /var/log/dialup-admin/sessions.log
    (setup-server installs them; the file is root's, mode 0640, group adm: root and
    members of adm can read it); calls in progress show the kernel's byte counters.
    IN is what the caller sent, OUT what it received. STATE "lost": pppd ended without
    running ip-down (killed, or the machine crashed).

    \b
    Examples:
      dialup-admin sessions
      dialup-admin sessions --active --json
      sudo dialup-admin sessions --radius     # every server of the pool, from FreeRADIUS
    """
    if radius:
        radius_sessions(app, active)
        return
    found, bad = sessions_core.read_sessions(app.paths, int(time.time()))
    if bad:
        app.say(f"note: {bad} unreadable line(s) in {sessions_core.RECORDS} skipped", err=True)
    hb = sessions_core.human_bytes
    _say_calls(app, found, active, "No calls recorded yet.",
               ("USER", "TTY", "START", "DURATION", "CALLER", "IN", "OUT", "STATE"),
               lambda s: (s.user, s.tty, _when(s.start), sessions_core.human_duration(s.duration), s.remote,
                          hb(s.bytes_in), hb(s.bytes_out), s.state))


def radius_sessions(app: AppContext, active: bool) -> None:
    """``sessions --radius``: the pool's calls from FreeRADIUS's detail files."""
    from dialup_admin.core import radius_sessions as rs

    hb = sessions_core.human_bytes
    _say_calls(app, rs.read_calls(app.paths, int(time.time())), active, "No calls in FreeRADIUS's accounting yet.",
               ("USER", "SERVER", "LINE", "START", "DURATION", "CALLER", "IN", "OUT", "STATE"),
               lambda c: (c.user, c.nas, c.line, _when(c.start), sessions_core.human_duration(c.duration), c.address,
                          hb(c.bytes_in), hb(c.bytes_out), f"{c.state} ({c.cause})" if c.cause else c.state))


class _Call(Protocol):
    @property
    def state(self) -> str: ...

    def to_json(self) -> dict[str, Any]: ...


C = TypeVar("C", bound=_Call)


def _say_calls(app: AppContext, calls: list[C], active: bool, nothing: str, header: tuple[str, ...],
               row: Callable[[C], tuple[str, ...]]) -> None:
    """The calls (only those in progress with --active) as JSON, or a table with ``row`` for each."""
    if active:
        calls = [c for c in calls if c.state == "active"]
    if app.json:
        app.emit_json([c.to_json() for c in calls])
        return
    if not calls:
        app.say("No calls in progress." if active else nothing)
        return
    app.say_table([header, *(row(c) for c in calls)])


def _when(t: int | None) -> str:
    return dt.datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S") if t else "-"


def mgetty_log_path(paths: Paths, tty: str) -> str:
    """Where the target's mgetty logs for ``tty`` (its compiled-in pattern)."""
    data = load_server_json(paths) or {}
    binary = data.get("mgetty_binary")
    try:
        layout = mgetty_sys.detect(paths, binary if isinstance(binary, str) else None)
    except UserError:
        return f"/var/log/mgetty/mg_{tty}.log"
    return layout.log_file(tty)


@click.command("logs")
@click.argument("tty", shell_complete=complete_tty)
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines as they come (Ctrl-C ends).")
@click.option("-n", "--lines", "count", type=click.IntRange(min=0), default=200, show_default=True,
              help="How many of the latest lines to show first (0: all).")
@pass_app
def logs(app: AppContext, tty: str, follow: bool, count: int) -> None:
    """mgetty's and pppd's log lines for one line, merged in time order.

    \b
    mgetty's own log for the tty (its compiled-in place, /var/log/mgetty/mg_TTY.log on
    Debian), on a direct line dialup-admin answer's (/var/log/dialup-admin/answer-TTY.log),
    and the syslog lines of every pppd that ran on /dev/TTY (/var/log/syslog or
    /var/log/messages, else the systemd journal).

    \b
    Examples:
      dialup-admin logs ttyS1
      dialup-admin logs ttyS1 -f
    """
    name = tty_name(tty)
    mlog = mgetty_log_path(app.paths, name)
    alog = f"/var/log/dialup-admin/answer-{name}.log"  # a direct line's (dialup-admin answer)
    now = dt.datetime.now()
    use_journal = app.paths.is_host and not logs_core.syslog_files(app.paths) and journal.available()
    # Where following starts is taken before the first read: a line written in between
    # is shown twice at worst, never lost.
    follower = logs_core.Follower(app.paths, name, mlog, answer_log=alog) if follow else None
    feed = journal.Follow() if follow and use_journal else None
    lines = logs_core.collect(app.paths, name, mlog, now, journal.pppd_text() if use_journal else None, alog)
    if not lines and follower is None:
        raise UserError(f"no log lines for {name} (read {mlog}, {alog} and pppd's syslog lines)")
    for ln in lines[-count:] if count else lines:
        click.echo(ln.format())
    if follower is None:
        return
    follower.pids.update(int(ln.source[5:-1]) for ln in lines if ln.source.startswith("pppd["))
    try:
        while True:
            text = feed.read(0.5) if feed is not None else ""
            if feed is None:
                time.sleep(0.5)
            for ln in follower.poll(dt.datetime.now(), text):
                click.echo(ln.format())
            sys.stdout.flush()
    except KeyboardInterrupt:
        pass
    finally:
        if feed is not None:
            feed.close()


COMMANDS: list[click.Command] = [doctor, sessions, logs]
