"""Commands: lab (the whole guide on the real stack, in user-mode Linux guests)."""

from __future__ import annotations

import signal
from collections.abc import Iterable
from typing import Any
from types import FrameType

import click

from dialup_admin.context import AppContext, pass_app
from dialup_admin.errors import BadInput, UserError
from dialup_admin.lab import direct as direct_lab
from dialup_admin.lab import scenario
from dialup_admin.lab.boot import INITS
from dialup_admin.lab.transfer import MIB
from dialup_admin.model import SPEEDS


def _bps(_ctx: click.Context, _param: click.Parameter, value: int | None) -> int | None:
    if value is not None and not 300 <= value <= 460800:
        raise click.BadParameter(f"{value}: a line speed from 300 to 460800 bps (such as {', '.join(map(str, SPEEDS[4:8]))})")
    return value


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@click.command("lab")
@click.option("--calls", type=click.IntRange(1, 50), default=1, show_default=True,
              help="Calls to make one after the other (mgetty respawns between them).")
@click.option("--bps", type=int, callback=_bps, metavar="BPS",
              help="Throttle the simulated line to this speed (default: full speed).")
@click.option("--transfer", "transfer", type=click.IntRange(0, 64 * MIB), metavar="BYTES",
              help="Random bytes to send each way per call (0: none). Default: 1 MiB; with --bps, "
                   "about 10 seconds' worth.")
@click.option("--folder", type=click.Path(file_okay=False), metavar="DIR",
              help="Keep the logs in DIR (default: a temporary folder, removed when all passed).")
@click.option("--keep", is_flag=True, help="Keep the log folder even when everything passed.")
@click.option("--init", "init", type=click.Choice(INITS), default="systemd", show_default=True,
              help="The server guest's PID 1, which keeps mgetty running: systemd, sysvinit (Debian's "
                   "sysvinit-core, downloaded once into a cache, never installed here), or none (a respawn loop).")
@click.option("--radius", is_flag=True,
              help="A pool instead: two dial-in servers and one FreeRADIUS guest on a guest network; callers "
                   "authenticated and accounted by RADIUS, refusals, Simultaneous-Use, a backup server.")
@click.option("--direct", is_flag=True,
              help="A direct line instead: the caller's modem cabled to the server's, no exchange; "
                   "dialup-admin answer plays the dial tone. The tool's dial and a stock pppd call, "
                   "a caller hanging up in the dial tone, a wrong password.")
@pass_app
def lab(app: AppContext, calls: int, bps: int | None, transfer: int | None, folder: str | None, keep: bool,
        init: str, radius: bool, direct: bool) -> None:
    """Prove the whole guide end to end: a server and a caller on a simulated phone line.

    Boots two user-mode Linux guests (kernels with PPP, running this machine's own
    pppd, mgetty and dialup-admin) joined by the modem simulator. The server guest
    boots a real init as PID 1 (--init: systemd by default, or sysvinit); in it
    dialup-admin runs setup-server, which picks that init by itself and starts mgetty
    through it (mgetty@ttyS1.service, or the inittab respawn line and telinit q), and
    adduser, on the guest's private /etc; in the caller's, setup-client and dial. Each
    call shows the line ringing and answered, dial's stages, status, a ping, random
    data both ways with its rate, stats, and the hang-up; a pass/fail summary ends it.

    Changes nothing on this machine: the guests' /etc is their own. Every log
    (mgetty's, pppd's syslog, each step's output, the phone line's events) goes to one
    folder, shown when something fails. Needs user-mode-linux (apt-get install
    user-mode-linux).

    \b
      dialup-admin lab
      dialup-admin lab --calls 3 --bps 57600 --transfer 65536 --keep
      dialup-admin lab --init sysvinit
      dialup-admin lab --json
      dialup-admin lab --radius           # the pool: 2 servers, 1 FreeRADIUS, 1 caller with 2 modems
      dialup-admin lab --direct           # a direct line: no exchange, answer plays the dial tone
    """
    if not app.paths.is_host:
        raise BadInput("lab runs in its own guests: --root does not apply to it")
    if radius and direct:
        raise BadInput("--radius and --direct are two different labs: give one")
    if radius:
        _radius_lab(app, folder, keep, calls != 1 or bps is not None or transfer is not None)
        return
    scenario.check_host()
    if direct and calls != 1:
        raise BadInput("--direct makes its own calls (the tool's dial, a stock pppd, a wrong password): "
                       "--calls does not apply")
    if app.dry_run:
        what = "on a direct line (no exchange)" if direct else f"({init} as PID 1) on a simulated line"
        app.say(f"Would boot a server and a caller guest {what} and make {calls if not direct else 3} call(s); "
                "nothing on this machine changes either way.")
        return
    if transfer is None:
        transfer = min(MIB, bps) if bps else MIB  # 10 bits a byte on the line: bps bytes take 10 s
    # SIGTERM or SIGHUP (a CI time limit, a closed terminal) end the lab like Ctrl-C: the
    # guests are stopped and the logs kept, instead of UML processes left running.
    old = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        if direct:
            report = direct_lab.run(bps=bps, keep=keep, transfer=transfer, folder=folder,
                                    say=lambda line: app.say(line))
        else:
            report = scenario.run(calls, bps=bps, keep=keep, transfer=transfer, folder=folder, init=init,
                                  say=lambda line: app.say(line))
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
    _finish(app, report, scenario.summary(report), "lab", show_folder=bool(keep or folder))


def _radius_lab(app: AppContext, folder: str | None, keep: bool, other_options: bool) -> None:
    """``lab --radius`` (dialup_admin/lab/radius_scenario.py): the pool on the real stack."""
    from dialup_admin.lab import radius_scenario

    if other_options:
        raise BadInput("--radius runs its own calls: --calls, --bps and --transfer do not apply to it")
    scenario.check_host()
    radius_scenario.check_freeradius()
    if app.dry_run:
        app.say("Would boot a RADIUS guest, two dial-in server guests and a caller on a simulated phone line "
                "and a guest network; nothing on this machine changes either way.")
        return
    old = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        report = radius_scenario.run(keep=keep, folder=folder, say=lambda line: app.say(line))
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
    _finish(app, report, radius_scenario.summary(report), "lab --radius", show_folder=bool(keep or folder))


def _finish(app: AppContext, report: Any, summary: Iterable[str], what: str, show_folder: bool) -> None:
    """Print a lab run's summary, why it failed, where its logs are; raise when it failed."""
    app.say("")
    for line in summary:
        app.say(line)
    if not report.passed and report.log_lines:
        app.say("The log lines that show why:", err=True)
        for line in report.log_lines:
            app.say(f"  {line}", err=True)
    if report.passed and show_folder:
        app.say(f"Logs: {report.folder}")
    if app.json:
        app.emit_json(report.as_json())
    if not report.passed:
        raise UserError(f"{what} failed: {report.error or 'a call failed'}; every log is in {report.folder}")


COMMANDS: list[click.Command] = [lab]
