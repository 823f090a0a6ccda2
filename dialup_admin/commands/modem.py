"""Commands: modem (simulate-line, test-modem, detect)."""

from __future__ import annotations

import signal
import sys
import time
from types import FrameType

import click

from dialup_admin.completion import complete_port
from dialup_admin.context import AppContext, pass_app
from dialup_admin.core import direct as direct_core
from dialup_admin.errors import BadInput, UserError
from dialup_admin.modem import detect as detect_mod
from dialup_admin.modem import selftest
from dialup_admin.modem.simulator import PhoneLine
from dialup_admin.system.serial import baud_constant


def _parse_line(spec: str) -> tuple[str, str | None]:
    port, sep, number = spec.rpartition("=")
    if not sep:
        return spec, None
    if not port.startswith("/"):
        raise BadInput(f"bad --line {spec!r}: write /dev/ttyV0=NUMBER (an absolute path), or just NUMBER")
    return number, port


@click.command("simulate-line")
@click.option(
    "--line",
    "lines",
    multiple=True,
    required=True,
    metavar="[PORT=]NUMBER",
    help="A modem on the line: its phone number, and a symlink to create for its port (/dev/ttyV0=11).",
)
@click.option("--bps", type=click.IntRange(min=50), help="Throttle connected data to this line speed (33600, 57600...).")
@click.option("--connect-speed", type=click.IntRange(min=50), help="Speed reported in CONNECT (default: --bps or 33600).")
@click.option("--ring-interval", type=click.FloatRange(min=0.1), default=3.0, show_default=True, help="Seconds between RINGs.")
@click.option("--dead", multiple=True, metavar="NUMBER", help="A line without dial tone (ATD gives NO DIALTONE).")
@click.option("--direct", "direct", multiple=True, metavar="A-B",
              help="Cable two modems to each other without an exchange (no dial tone, no RING), as a "
                   "direct line is wired: 11-21.")
@click.option("--no-voice", "no_voice", multiple=True, metavar="NUMBER",
              help="A modem without voice mode (ERROR to AT+FCLASS=8).")
@pass_app
def simulate_line(
    app: AppContext,
    lines: tuple[str, ...],
    bps: int | None,
    connect_speed: int | None,
    ring_interval: float,
    dead: tuple[str, ...],
    direct: tuple[str, ...],
    no_voice: tuple[str, ...],
) -> None:
    """Simulate Hayes modems on one phone line, on pseudo-terminals, until Ctrl-C.

    Each --line gets a modem on its own pty; PORT becomes a symlink to it, so mgetty,
    pppd, chat or minicom can use PORT like a serial port with a modem. Dialing
    another line's number rings it; after ATA (or S0 auto-answer) both get CONNECT
    and data flows both ways. Symlinks are removed on exit. A --direct pair has no
    exchange: the caller hears a dial tone only while the other modem plays one in
    voice mode (dialup-admin answer does), its digits are reported as <DLE><digit>.

    \b
      dialup-admin simulate-line --line /dev/ttyV0=11 --line /dev/ttyV1=12 --bps 33600
      dialup-admin simulate-line --line /dev/ttyV0=11 --line /dev/ttyV1=21 --direct 11-21
    """
    numbers: dict[str, str | None] = {}
    for spec in lines:
        number, port = _parse_line(spec)
        if number in numbers:
            raise BadInput(f"number {number} is given twice")
        numbers[number] = str(app.paths.of(port)) if port else None
    for number in dead:
        if number not in numbers:
            raise BadInput(f"--dead {number}: no --line has that number")
    pairs: list[tuple[str, str]] = []
    for spec in direct:
        a, sep, b = spec.partition("-")
        if not sep or not a or not b:
            raise BadInput(f"bad --direct {spec!r}: write two numbers joined by '-', such as 11-21")
        pairs.append((a, b))

    if app.dry_run:
        for number, link in numbers.items():
            where = f"symlink {link} -> a new pty" if link else "a new pty (no symlink)"
            app.say(f"would simulate a modem with number {number} on {where}")
        return

    def log(text: str) -> None:
        click.echo(f"{_clock()} {text}", err=app.json)

    line = PhoneLine(
        numbers, bps=bps, connect_speed=connect_speed, ring_interval=ring_interval, dead=dead, log=log,
        trace=app.verbose > 0, direct=pairs, no_voice=no_voice,
    )

    def ready(pl: PhoneLine) -> None:
        if app.json:
            app.emit_json({n: {"port": pl.port(n), "pty": pl.pty(n)} for n in numbers})
            sys.stdout.flush()
        else:
            speed = f"{bps} bps" if bps else "full speed"
            app.say(f"phone line up ({speed}, CONNECT {pl.connect_speed}); Ctrl-C to stop")

    def on_signal(signum: int, frame: FrameType | None) -> None:
        line.shutdown()

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        line.serve_forever(ready)
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    app.say("phone line down; symlinks removed")


def _clock() -> str:
    return time.strftime("%H:%M:%S")


def _speed(_ctx: click.Context, _param: click.Parameter, value: int) -> int:
    try:
        baud_constant(value)
    except UserError as exc:
        raise click.BadParameter(str(exc)) from None
    return value


@click.command("test-modem")
@click.argument("port", shell_complete=complete_port)
@click.option("--init", default=selftest.GUIDE_INIT, show_default=True, help="The init string to check.")
@click.option("--dial", metavar="NUMBER", help="Also dial NUMBER (ATDT) and check the result.")
@click.option(
    "--expect",
    default="CONNECT",
    show_default=True,
    metavar="RESULT",
    help="Result expected from --dial: CONNECT, BUSY, NO CARRIER, NO DIALTONE, NO ANSWER.",
)
@click.option("--speed", type=int, default=57600, show_default=True, callback=_speed, help="Port speed.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=2.0, show_default=True, help="Seconds to wait per command.")
@click.option("--dial-timeout", type=click.FloatRange(min=1), default=60.0, show_default=True, help="Seconds to wait for the dial result.")
@click.option("--voice", is_flag=True,
              help="Also check what a direct line's dial tone needs (V.253 voice mode: +FCLASS=8, +VSM, +VLS, "
                   "+VTX, DTMF reports); the result is kept for setup-server and doctor.")
@pass_app
def test_modem(
    app: AppContext,
    port: str,
    init: str,
    dial: str | None,
    expect: str,
    speed: int,
    timeout: float,
    dial_timeout: float,
    voice: bool,
) -> None:
    """Check the modem on PORT the way the guide does in minicom, automated.

    Takes the port's UUCP lock (refusing a port mgetty or pppd holds), then: AT, ATZ,
    the init string, ATV0/ATV1, ATI0-4, ATX3 (blind dialing, the guide's ATX), an
    optional ATDT, and ATH0. Exit status 0 when every step passed. With --voice, also
    the V.253 voice mode a direct line needs (the modem goes off hook for a moment and
    plays half a second of dial tone); what it found is kept in
    /var/lib/dialup-admin/voice-TTY.json for setup-server and doctor.

    \b
      dialup-admin test-modem /dev/ttyS1
      dialup-admin test-modem /dev/ttyS1 --dial 0123456789 --json
      dialup-admin test-modem /dev/ttyACM0 --voice
    """
    if not init.upper().startswith("AT"):
        raise BadInput(f"bad --init {init!r}: an init string starts with AT")
    if dial is not None and not dial.strip():
        raise BadInput("--dial needs a number")
    want = selftest.check_expect(expect)
    report = selftest.run_selftest(
        app.paths,
        port,
        init=init,
        dial=dial,
        expect=want,
        speed=speed,
        timeout=timeout,
        dial_timeout=dial_timeout,
        log=app.debug if app.verbose else None,
        voice=voice,
    )
    if voice and report.voice:
        note = direct_core.save_voice_record(app.paths, port, report.voice)
        if note:
            report.notes.append(note)
    if app.json:
        app.emit_json(report.to_json())
    else:
        for ln in selftest.describe(report):
            app.say(ln)
    if not report.ok:
        raise UserError(f"test-modem {port} failed: {report.error}")


@click.command("detect")
@click.option("--port", "ports", multiple=True, metavar="PATH|GLOB", shell_complete=complete_port, help="Probe these ports instead of the usual ones.")
@click.option("--speed", "speeds", type=int, multiple=True, callback=lambda c, p, v: tuple(_speed(c, p, s) for s in v),
              help="Speeds to try, highest first (default 115200, 57600, 9600).")
@click.option("--timeout", type=click.FloatRange(min=0.05), default=detect_mod.PROBE_TIMEOUT, show_default=True,
              help="Seconds to wait for OK at each speed.")
@click.option("--sequential", is_flag=True, help="Probe one port after the other (slower; for comparison).")
@pass_app
def detect(app: AppContext, ports: tuple[str, ...], speeds: tuple[int, ...], timeout: float, sequential: bool) -> None:
    """Find the ports with a modem, what it is, and the highest speed it answers at.

    Probes every candidate port in parallel (/dev/serial/by-id/*, ttyUSB*, ttyACM*,
    ttyS* with a UART). Never opens a locked port or the kernel's console; warns about
    ModemManager, serial gettys and pppd. Exit status 0 when a modem was found.

    \b
      dialup-admin detect
      dialup-admin detect --port '/dev/ttyV*' --json
    """
    order = tuple(sorted(set(speeds), reverse=True)) or detect_mod.DEFAULT_SPEEDS
    report = detect_mod.detect(app.paths, list(ports) or None, speeds=order, timeout=timeout, parallel=not sequential)
    if app.json:
        app.emit_json(report.to_json())
    else:
        for ln in detect_mod.describe(report):
            app.say(ln)
    if not report.modems:
        raise UserError("no modem found")


COMMANDS: list[click.Command] = [simulate_line, test_modem, detect]
