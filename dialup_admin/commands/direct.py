"""Commands: answer (a direct line: the caller's modem cabled to ours, no telephone exchange)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from dialup_admin.completion import complete_tty
from dialup_admin.context import AppContext, pass_app
from dialup_admin.core import direct as direct_core
from dialup_admin.errors import BadInput, UserError
from dialup_admin.modem.answer import AnswerConfig
from dialup_admin.system import answer as runner
from dialup_admin.system.serial import baud_constant

AUDIO_SPEED = 115200  # port speed for 8 kHz 8-bit audio: 80 kbit/s with start and stop bits


@click.command("answer")
@click.argument("tty", shell_complete=complete_tty)
@click.option("--dial-tone", "dial_tone", metavar="HZ[+HZ]",
              help="The dial tone to play: 350+440 (North America, the default), 425 (Europe), 350+450 (UK)...")
@click.option("--no-dial-tone", "no_dial_tone", is_flag=True, default=None,
              help="No voice mode: answer on a timer (ATA again and again), for callers that dial blind (X3).")
@click.option("--number", metavar="DIGITS", help="Answer only callers that dial this number (default: any).")
@click.option("--dial-timeout", type=click.FloatRange(1, 3600), metavar="SECONDS",
              help="Seconds of dial tone waiting for the first digit before the modem is reset (default 60).")
@click.option("--connect-timeout", type=click.IntRange(5, 255), metavar="SECONDS",
              help="Seconds ATA waits for the caller's carrier (the modem's S7; default 30).")
@click.option("--speed", type=int, metavar="BPS",
              help="Port speed (default: setup-server's --speed, at least 115200 when playing the dial tone).")
@click.option("--init", "init", metavar="AT...", help=f"The modem's init string (default {AnswerConfig.init!r}).")
@click.option("--pppd", "pppd", metavar="PATH", help="The pppd to start on CONNECT (default: setup-server's).")
@pass_app
def answer(app: AppContext, tty: str, dial_tone: str | None, no_dial_tone: bool | None, number: str | None,
           dial_timeout: float | None, connect_timeout: int | None, speed: int | None, init: str | None,
           pppd: str | None) -> None:
    """Answer one call on a direct line (no exchange), then become pppd on it.

    For a caller's modem cabled to this one with a line-voltage inducer: there is no
    dial tone and no ring, so this plays the exchange. It takes the port's UUCP lock,
    resets the modem (DTR), plays a dial tone in V.253 voice mode (AT+FCLASS=8,
    +VLS=1, +VSM=1,8000, +VTX), collects the caller's DTMF digits, answers with ATA
    once they stop, and on CONNECT execs pppd on the port (auth -chap +pap login,
    /etc/ppp/options.TTY): the caller's first PPP frame is not read here. Digits that
    never come, a wrong number or no CONNECT reset the modem and start over.

    setup-server runs it for lines given as --tty TTY:direct, kept running by inittab
    or systemd; the settings default to what setup-server recorded. Every step is logged
    to /var/log/dialup-admin/answer-TTY.log and syslog (see dialup-admin logs TTY).
    Exit status: non-zero when the modem cannot do it (no voice mode: use --no-dial-tone).

    \b
      dialup-admin answer ttyACM0
      dialup-admin answer ttyACM0 --dial-tone 425 --number 5551234
      dialup-admin answer ttyS1 --no-dial-tone
    """
    name, port = direct_core.port_of(app.paths, tty)
    saved = direct_core.saved_settings(app.paths, name)
    if dial_tone is not None and no_dial_tone:
        raise BadInput("--dial-tone and --no-dial-tone exclude each other")
    settings: dict[str, Any] = dict(saved)
    given = {"dial_tone": dial_tone, "number": number, "dial_timeout": dial_timeout,
             "connect_timeout": connect_timeout, "init": init}
    settings.update({k: v for k, v in given.items() if v is not None})
    if dial_tone is not None:
        settings["no_dial_tone"] = False
    if no_dial_tone:
        settings["no_dial_tone"] = True
    cfg = direct_core.answer_config(settings)
    port_speed = speed if speed is not None else int(saved.get("speed", 57600))
    try:
        baud_constant(port_speed)
    except UserError as exc:
        raise BadInput(str(exc)) from None
    slow = cfg.tone is not None and port_speed < AUDIO_SPEED
    if slow and speed is None:
        # 8000 samples a second are 80 kbit/s on a serial line (10 bits a byte): the guide's 57600 is too slow.
        port_speed = AUDIO_SPEED
    pppd_path = pppd or str(saved.get("pppd") or direct_core.PPPD)
    runner.check_pppd(app.paths, pppd_path)
    if app.dry_run:
        app.say(f"Would answer on {port} at {port_speed} bps as a direct line ({direct_core.describe(cfg)}), then run "
                f"{' '.join(runner.pppd_argv(pppd_path))} on it.")
        return
    echo = (lambda text: click.echo(text, err=True)) if app.verbose or sys.stderr.isatty() else None
    log = runner.AnswerLog(app.paths, name, echo)
    if slow and speed is not None:
        log(f"warning: at {port_speed} bps the dial tone cannot be played in real time "
            f"(8000 samples a second need {AUDIO_SPEED} bps or more); USB modems do not mind")
    # Returns only when stopped by a signal; a call ends in pppd, which this process becomes.
    runner.run(app.paths, port, name, cfg, pppd_argv=runner.pppd_argv(pppd_path), speed=port_speed, log=log)


F = TypeVar("F", bound=Callable[..., Any])


def setup_options(func: F) -> F:
    """setup-server's options for its direct lines (kept on later runs when not given again)."""
    for option in reversed([
        click.option("--dial-tone", "dial_tone", metavar="HZ[+HZ]",
                     help="Direct lines: the dial tone answer plays (default 350+440; 425 in Europe)."),
        click.option("--no-dial-tone", "no_dial_tone", is_flag=True, default=None,
                     help="Direct lines: the modem has no voice mode; answer blind-dialing (X3) callers on a timer."),
        click.option("--number", "number", metavar="DIGITS",
                     help="Direct lines: answer only callers that dial this number (default: any)."),
        click.option("--dial-timeout", "dial_timeout", type=click.IntRange(1, 3600), metavar="SECONDS",
                     help="Direct lines: seconds of dial tone waiting for a first digit before a reset (default 60)."),
        click.option("--connect-timeout", "connect_timeout", type=click.IntRange(5, 255), metavar="SECONDS",
                     help="Direct lines: seconds ATA waits for the caller's carrier (default 30)."),
    ]):
        func = option(func)
    return func


COMMANDS: list[click.Command] = [answer]
