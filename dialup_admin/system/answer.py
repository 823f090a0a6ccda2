"""The runner of ``dialup-admin answer``: the part of a direct line's answerer that touches the machine.

It takes the port's UUCP lock, opens the port, drops DTR to reset the modem, then
carries out what the :class:`~dialup_admin.modem.answer.Answerer` state machine asks:
commands to the modem, the dial tone streamed in real time during ``+VTX`` (8-bit PCM
at 8 kHz, :data:`LEAD` seconds ahead, DLE-shielded), log lines. It reads the port
one byte at a time, so when the modem's ``CONNECT`` line is complete nothing after
it has been read: the caller's first PPP frame is left for pppd. Then it execs pppd
on the port, as mgetty's AutoPPP does: the port on stdin and stdout (pppd then uses
it as its device, reads ``/etc/ppp/options.TTY`` and stays in the foreground), made
the controlling terminal so a carrier loss hangs pppd up. pppd keeps this process's
pid, so the lock file names pppd for the call; the next ``answer`` removes it as stale.

What it changes on the machine: the lock file ``/var/lock/LCK..TTY`` (removed on every
exit but the exec), the modem's state, and its log: ``/var/log/dialup-admin/answer-TTY.log``
(one line per step, appended) and syslog (``dialup-admin-answer``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import os
import select
import signal
import syslog
import termios
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType

from dialup_admin.errors import UserError
from dialup_admin.modem import tones
from dialup_admin.modem.answer import (
    DLE,
    AnswerConfig,
    Answerer,
    DropDtr,
    Effect,
    Fail,
    Handover,
    LineReader,
    Log,
    Send,
    Tone,
)
from dialup_admin.paths import Paths
from dialup_admin.system import commands, serial

LEAD = 0.2  # seconds of audio written ahead of the modem's playing
CHUNK = 0.02  # audio is written in pieces of at least this many seconds
LOG_DIR = "/var/log/dialup-admin"
SYSLOG_IDENT = "dialup-admin-answer"
DTR_LOW = 0.5  # seconds DTR is held low to reset the modem


def log_path(tty: str) -> str:
    """Where ``answer`` logs for ``tty`` (a system path)."""
    return f"{LOG_DIR}/answer-{tty}.log"


class AnswerLog:
    """The line's log: a file like mgetty's own (``answer-TTY.log``), syslog, and an echo for people."""

    def __init__(self, paths: Paths, tty: str, echo: Callable[[str], None] | None = None) -> None:
        self.file = paths.of(log_path(tty))
        self.tty = tty
        self.echo = echo
        self.use_syslog = paths.is_host
        if self.use_syslog:
            syslog.openlog(SYSLOG_IDENT, syslog.LOG_PID, syslog.LOG_DAEMON)

    def __call__(self, text: str) -> None:
        stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        line = f"{stamp} [{os.getpid()}] {text}\n".encode("utf-8", errors="replace")
        try:
            self.file.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
            fd = os.open(self.file, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
            try:
                os.write(fd, line)  # one write: lines of two processes never mix
            finally:
                os.close(fd)
        except OSError:
            pass  # the log must never stop a call
        if self.use_syslog:
            syslog.syslog(syslog.LOG_INFO, f"{self.tty}: {text}")
        if self.echo is not None:
            self.echo(f"{self.tty}: {text}")


class Stopped(Exception):
    """SIGTERM, SIGINT or SIGHUP: stop answering (the port is closed, the lock freed)."""


class _Audio:
    """The audio streamed during +VTX: a tone or silence, paced to real time, :data:`LEAD` s ahead."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.active = False
        self.gen: tones.ToneGenerator | None = None
        self.t0 = 0.0
        self.sent = 0

    def set(self, freqs: tuple[int, ...] | None, now: float) -> None:
        if freqs is None:
            self.active = False
            return
        self.gen = tones.ToneGenerator(freqs) if freqs else None
        if not self.active:  # tone -> silence keeps the clock: the modem plays on without a gap
            self.active, self.t0, self.sent = True, now, 0

    def next_due(self) -> float | None:
        if not self.active:
            return None
        return self.t0 + (self.sent + CHUNK * self.rate) / self.rate - LEAD

    def take(self, now: float) -> bytes:
        if not self.active:
            return b""
        want = int((now - self.t0 + LEAD) * self.rate)
        n = want - self.sent
        if n < CHUNK * self.rate:
            return b""
        self.sent = want
        data = self.gen.take(n) if self.gen is not None else tones.silence(n)
        return data.replace(DLE, DLE + DLE)  # V.253: a 0x10 sample is sent as <DLE><DLE>


class _Port:
    """The open port: ordered, non-blocking writes; one-byte reads."""

    def __init__(self, fd: int, name: str) -> None:
        self.fd = fd
        self.name = name
        self.out = bytearray()

    def write(self, data: bytes) -> None:
        self.out += data
        self.flush()

    def flush(self, wait: float = 0.0) -> None:
        end = time.monotonic() + wait
        while self.out:
            try:
                n = os.write(self.fd, self.out)
            except BlockingIOError:
                n = 0
            except OSError as exc:
                raise UserError(f"{self.name}: cannot write to the modem ({exc.strerror})") from None
            del self.out[:n]
            left = end - time.monotonic()
            if not self.out or left <= 0:
                return
            select.select([], [self.fd], [], left)

    def read_byte(self) -> int | None:
        try:
            data = os.read(self.fd, 1)
        except BlockingIOError:
            return None
        except OSError as exc:
            if exc.errno in (errno.EIO, errno.ENXIO, errno.ENODEV):
                raise UserError(f"{self.name}: the port went away ({exc.strerror})") from None
            raise
        if not data:
            raise UserError(f"{self.name}: the port went away")
        return data[0]


def exec_pppd(fd: int, argv: Sequence[str]) -> None:
    """Replace this process by pppd with the port as its stdin and stdout (does not return).

    The port becomes the controlling terminal (new session where possible), as under
    mgetty: when the carrier drops, the kernel hangs pppd up.
    """
    os.set_blocking(fd, True)
    os.dup2(fd, 0)
    os.dup2(fd, 1)
    if fd > 1:
        os.close(fd)
    with contextlib.suppress(OSError):
        os.setsid()  # fails for a session leader already (systemd, init): fine
    with contextlib.suppress(OSError):
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    commands.exec_program(argv)


def run(paths: Paths, port: str, tty: str, cfg: AnswerConfig, *, pppd_argv: Sequence[str], speed: int,
        log: AnswerLog, handover: Callable[[int, Sequence[str]], None] = exec_pppd) -> None:
    """Answer calls on ``port`` until one connects, then hand it to pppd (``handover``).

    Returns only when stopped by a signal (:class:`Stopped` is caught) or when
    ``handover`` returns (tests); raises :class:`UserError` (one line, already logged)
    when the modem cannot do it. The lock is freed and the port closed on every way
    out but a successful exec.
    """
    old = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}

    def stop(signum: int, frame: FrameType | None) -> None:
        raise Stopped(signal.Signals(signum).name)

    for sig in old:
        signal.signal(sig, stop)
    lock = serial.PortLock(paths, port)
    fd = -1
    try:
        lock.acquire()
        for note in lock.notes:
            log(note)
        fd = serial.open_port(port, speed)
        os.set_blocking(fd, False)
        _answer(_Port(fd, tty), cfg, pppd_argv, log, handover)
    except Stopped as exc:
        log(f"stopped ({exc})")
    except UserError as exc:
        log(str(exc))
        raise
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
        if fd >= 0:
            with contextlib.suppress(OSError):
                os.close(fd)  # HUPCL: DTR drops, the modem goes on hook
        lock.release()


def _answer(port: _Port, cfg: AnswerConfig, pppd_argv: Sequence[str], log: AnswerLog,
            handover: Callable[[int, Sequence[str]], None]) -> None:
    machine = Answerer(cfg)
    reader = LineReader()
    audio = _Audio(cfg.voice_format[1])
    log(f"started on {port.name}, a direct line: " + (
        f"dial tone {'+'.join(map(str, cfg.tone))} Hz" if cfg.tone else "no dial tone (blind-dialing callers)")
        + (f", number {cfg.number}" if cfg.number else ", any number"))
    _reset(port)
    effects = machine.start(time.monotonic())
    while True:
        for effect in effects:
            if _carry_out(effect, port, audio, log, pppd_argv, handover):
                return
        effects = []
        now = time.monotonic()
        waits = [t for t in (machine.deadline, audio.next_due()) if t is not None]
        timeout = max(0.0, min(waits) - now) if waits else 1.0
        want_write = bool(port.out)
        readable, writable, _ = select.select([port.fd], [port.fd] if want_write else [], [], min(timeout, 1.0))
        now = time.monotonic()
        if writable:
            port.flush()
        if readable:
            byte = port.read_byte()
            if byte is not None:
                line, code = reader.feed(byte)
                if line is not None:
                    effects = machine.line(line, now)
                elif code is not None:
                    effects = machine.dle(code, now)
                if effects:
                    continue  # a CONNECT line: hand over before reading another byte
        chunk = audio.take(now)
        if chunk:
            port.write(chunk)
        if machine.deadline is not None and now >= machine.deadline:
            effects = machine.tick(now)


def _carry_out(effect: Effect, port: _Port, audio: _Audio, log: AnswerLog, pppd_argv: Sequence[str],
               handover: Callable[[int, Sequence[str]], None]) -> bool:
    """Do one effect; True when the port has been handed over."""
    if isinstance(effect, Send):
        port.write(effect.data)
        port.flush(wait=2.0)
    elif isinstance(effect, Tone):
        audio.set(effect.freqs, time.monotonic())
        if effect.freqs is None and audio.sent:
            port.flush(wait=2.0)
    elif isinstance(effect, Log):
        log(effect.text)
    elif isinstance(effect, DropDtr):
        _reset(port)
    elif isinstance(effect, Fail):
        raise UserError(effect.message)
    elif isinstance(effect, Handover):
        port.flush(wait=2.0)
        log(f"pppd pid {os.getpid()}: {' '.join(pppd_argv)}")
        try:
            handover(port.fd, pppd_argv)
        except OSError as exc:
            raise UserError(f"cannot start {pppd_argv[0]}: {exc.strerror}") from None
        return True
    return False


def _reset(port: _Port) -> None:
    """Drop DTR for a moment (the modem hangs up and leaves any mode), then forget what it said."""
    port.out.clear()
    serial.drop_dtr(port.fd, DTR_LOW)
    with contextlib.suppress(termios.error):
        termios.tcflush(port.fd, termios.TCIOFLUSH)


def pppd_argv(pppd: str) -> list[str]:
    """pppd's command line on a direct line: the same as login.config's /AutoPPP/ line."""
    return [pppd, "auth", "-chap", "+pap", "login", "debug"]


def check_pppd(paths: Paths, pppd: str) -> None:
    """The pppd to exec must be an executable file (on the target; this host's will do under --root)."""
    if not pppd.startswith("/"):
        raise UserError(f"pppd must be an absolute path, not {pppd!r}")
    for p in (paths.of(pppd), Path(pppd)):
        if p.is_file() and os.access(p, os.X_OK):
            return
    raise UserError(f"{pppd} not found or not executable: install pppd (apt-get install ppp)")
