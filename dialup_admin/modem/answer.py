"""Answering a direct line (no telephone exchange), as a state machine. Pure: no I/O.

Without an exchange nobody rings and nobody plays a dial tone: the caller's modem goes
off hook into a quiet wire. :class:`Answerer` plays the exchange's part with a V.253
voice modem, the way DreamPi does, and is driven by a runner that owns the port
(:mod:`dialup_admin.system.answer`):

1. reset and initialise the modem (``AT``, ``ATZ``, the init string, ``ATS7=``);
2. voice mode: ``AT+FCLASS=8``, ``AT+VLS=1`` (off hook), ``AT+VSM=1,8000`` (8-bit PCM
   at 8 kHz) and ``AT+VTX``: the runner streams the dial tone (:class:`Tone`);
3. collect the caller's DTMF digits, reported by the modem as ``<DLE><digit>``: the
   tone stops at the first digit, as an exchange's does; the digits are complete
   after :attr:`AnswerConfig.digit_gap` seconds without one, or at once when they
   equal :attr:`AnswerConfig.number`;
4. end the transmission (``<DLE><ETX>``, ``OK``), hang up (``ATH0``), back to data mode
   (``AT+FCLASS=0``) and ``ATA``: the modem sends answer tone; the caller, waiting for
   a carrier since its last digit, trains;
5. on ``CONNECT``: :class:`Handover` (the runner execs pppd on the port; it reads the
   port one byte at a time, so nothing after the CONNECT line is read).

Without voice mode (``tone=None``, ``--no-dial-tone``) step 2 and 3 are skipped and
``ATA`` is repeated, each one sending answer tone for S7 seconds, for callers that
dial blind (X3).

Faults: ``ERROR`` to ``AT+FCLASS=8`` (no voice mode) or any init command is
:class:`Fail` (the runner exits non-zero); no digit within ``dial_timeout``, wrong
digits, or no ``CONNECT`` after ``ATA`` reset the modem and start over; a silent
modem is retried, then :class:`Fail`.

Feed it what the modem says: :meth:`Answerer.line` with each line of text,
:meth:`Answerer.dle` with each ``<DLE>`` code, :meth:`Answerer.tick` once
:attr:`Answerer.deadline` has passed. Each returns the effects to carry out, in order.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

DLE = b"\x10"
ETX = b"\x03"
DEFAULT_INIT = "AT&F E0 V1 Q0 &C1 &D2 S0=0"
DEFAULT_TONE = (350, 440)
DTMF = "0123456789*#ABCD"
_NUMBER_RE = re.compile(r"^[0-9*#]{1,32}$")
_FINAL_RE = re.compile(r"^(OK|ERROR|CONNECT(?: .*)?|VCON|NO CARRIER|BUSY|NO DIAL ?TONE|NO ANSWER)$")


@dataclass(frozen=True)
class AnswerConfig:
    """How to answer. ``tone``: dial tone frequencies in Hz, or None to answer blind callers on a timer."""

    tone: tuple[int, ...] | None = DEFAULT_TONE
    number: str | None = None  # answer only this number; None: any digits
    dial_timeout: float = 60.0  # seconds of dial tone waiting for the first digit, then a reset
    connect_timeout: int = 30  # S7: seconds ATA sends answer tone waiting for the caller's carrier
    digit_gap: float = 1.0  # seconds without a digit that end the number
    init: str = DEFAULT_INIT
    command_timeout: float = 5.0
    attention_tries: int = 3
    voice_format: tuple[int, int] = (1, 8000)  # +VSM: 8-bit unsigned PCM at 8000 samples a second

    def __post_init__(self) -> None:
        if self.number is not None and not _NUMBER_RE.match(self.number):
            raise ValueError(f"bad number {self.number!r}: digits, '*' and '#' only, at most 32")
        if not 1 <= self.dial_timeout <= 3600:
            raise ValueError(f"bad dial timeout {self.dial_timeout:g}: 1 to 3600 seconds")
        if not 5 <= self.connect_timeout <= 255:
            raise ValueError(f"bad connect timeout {self.connect_timeout}: 5 to 255 seconds (the modem's S7)")
        if not self.init.upper().startswith("AT"):
            raise ValueError(f"bad init string {self.init!r}: it starts with AT")


# --- effects ---------------------------------------------------------------------


@dataclass(frozen=True)
class Send:
    """Write these bytes to the modem."""

    data: bytes


@dataclass(frozen=True)
class Tone:
    """Stream audio during +VTX: ``freqs`` (a dial tone), ``()`` (silence), or None (stop streaming)."""

    freqs: tuple[int, ...] | None


@dataclass(frozen=True)
class Log:
    """A line for the line's log (what ``dialup-admin logs TTY`` shows)."""

    text: str


@dataclass(frozen=True)
class DropDtr:
    """Hang the modem up the hard way (DTR low for a moment): it stopped answering commands."""


@dataclass(frozen=True)
class Handover:
    """CONNECT: stop reading now and hand the port to pppd. ``connect`` is the result line."""

    connect: str


@dataclass(frozen=True)
class Fail:
    """Give up: log ``message`` and exit non-zero (the init's restart limit keeps it from spinning)."""

    message: str


Effect = Send | Tone | Log | DropDtr | Handover | Fail


def command(text: str) -> Send:
    return Send(text.encode("ascii") + b"\r")


def parse_result(line: str) -> str | None:
    """The final result code in a line from the modem (``NO DIAL TONE`` spelt ``NO DIALTONE``), or None."""
    text = line.strip()
    m = _FINAL_RE.match(text)
    if not m:
        return None
    return "NO DIALTONE" if text.startswith("NO DIAL") else text


class Answerer:
    """One direct line's answering cycle, over and over until a call is handed to pppd."""

    def __init__(self, cfg: AnswerConfig) -> None:
        self.cfg = cfg
        self.state = "new"
        self.deadline: float | None = None
        self.digits = ""
        self.cycles = 0  # completed (failed) answering cycles
        self._tries = 0
        self._after_stop = ""  # what to do once the voice transmission has ended: "answer" or "restart"
        self._vsm_fallback = False
        self._announced = False

    # --- driving -------------------------------------------------------------------
    def start(self, now: float) -> list[Effect]:
        """Begin: the modem is assumed in command mode (the runner drops DTR first)."""
        self._tries = 0
        return self._cmd("attention", "AT", now)

    def line(self, text: str, now: float) -> list[Effect]:
        """A line of text from the modem; only final result codes matter, the rest (echo, RING) is skipped."""
        result = parse_result(text)
        if result is None:
            return []
        return self._result(result, now)

    def dle(self, code: bytes, now: float) -> list[Effect]:
        """A ``<DLE>`` code from the modem: DTMF digits count while the dial tone is on or digits come."""
        ch = code.decode("latin-1")
        if ch not in DTMF or self.state not in ("tone", "digits"):
            return []
        out: list[Effect] = []
        if self.state == "tone":
            out.append(Tone(()))  # an exchange stops the dial tone at the first digit
            self.state = "digits"
        self.digits += ch
        self.deadline = now + self.cfg.digit_gap
        if self.cfg.number is not None and self.digits == self.cfg.number:
            out += self._digits_done(now)
        return out

    def tick(self, now: float) -> list[Effect]:
        """Call once :attr:`deadline` has passed."""
        if self.deadline is None or now < self.deadline:
            return []
        self.deadline = None
        state = self.state
        if state == "tone":
            return [Log(f"no digits within {self.cfg.dial_timeout:g} s: resetting the modem"),
                    *self._stop_voice("restart", now)]
        if state == "digits":
            return self._digits_done(now)
        if state == "answer":
            self.cycles += 1
            if self.cfg.tone is None:
                return self._blind_again(now, "no answer from the modem")
            return [Log(f"no CONNECT within {self.cfg.connect_timeout + 5} s after ATA: resetting the modem"),
                    DropDtr(), *self._restart(now)]
        if state == "attention":
            self._tries += 1
            if self._tries < self.cfg.attention_tries:
                return [DropDtr(), *self._cmd("attention", "AT", now)]
            return [Fail(f"the modem does not answer AT ({self._tries} tries): is it powered on, "
                         "cabled, and is the speed right?")]
        if state == "end-voice":
            return [Log("the modem did not end the voice transmission: resetting it"), DropDtr(),
                    *self._restart(now)]
        return [Log(f"the modem did not answer in time ({state}): resetting it"), DropDtr(), *self._restart(now)]

    # --- steps ------------------------------------------------------------------------
    def _cmd(self, state: str, text: str, now: float, timeout: float | None = None) -> list[Effect]:
        self.state = state
        self.deadline = now + (self.cfg.command_timeout if timeout is None else timeout)
        return [command(text)]

    def _restart(self, now: float) -> list[Effect]:
        self.digits = ""
        return self._cmd("reset", "ATZ", now)

    def _result(self, result: str, now: float) -> list[Effect]:
        """A final result code: what the current state does with it (nothing, in a state not waiting for one)."""
        step = _ON_RESULT.get(self.state)
        return step(self, result, now) if step is not None else []

    # Each takes the final result of the command its state sent.

    def _attention_done(self, result: str, now: float) -> list[Effect]:
        return self._cmd("reset", "ATZ", now) if result == "OK" else []

    def _reset_done(self, result: str, now: float) -> list[Effect]:
        if result != "OK":
            return [Fail(f"the modem answered {result} to ATZ")]
        return self._cmd("init", self.cfg.init, now)

    def _init_done(self, result: str, now: float) -> list[Effect]:
        if result != "OK":
            return [Fail(f"the modem refused the init string {self.cfg.init!r} ({result})")]
        return self._cmd("s7", f"ATS7={self.cfg.connect_timeout}", now)

    def _s7_done(self, result: str, now: float) -> list[Effect]:
        if result != "OK":
            return [Fail(f"the modem refused ATS7={self.cfg.connect_timeout} ({result})")]
        if self.cfg.tone is None:
            return self._blind_again(now, None)
        return self._cmd("fclass", "AT+FCLASS=8", now)

    def _fclass_done(self, result: str, now: float) -> list[Effect]:
        if result != "OK":
            return [Fail("no voice mode: use --no-dial-tone")]
        return self._cmd("offhook", "AT+VLS=1", now)

    def _offhook_done(self, result: str, now: float) -> list[Effect]:
        if result not in ("OK", "VCON"):
            return [Fail(f"the modem refused to go off hook in voice mode (AT+VLS=1: {result}): "
                         "use --no-dial-tone")]
        self._vsm_fallback = False
        fmt = self.cfg.voice_format
        return self._cmd("vsm", f"AT+VSM={fmt[0]},{fmt[1]}", now)

    def _vsm_done(self, result: str, now: float) -> list[Effect]:
        if result == "OK":
            return self._cmd("vtx", "AT+VTX", now)
        if not self._vsm_fallback:
            # Older Rockwell/Conexant firmware numbers 8-bit linear PCM 128.
            self._vsm_fallback = True
            return self._cmd("vsm", f"AT+VSM=128,{self.cfg.voice_format[1]}", now)
        return [Fail("the modem plays no 8-bit PCM at 8000 Hz (AT+VSM=1,8000 and 128,8000 refused): "
                     "use --no-dial-tone")]

    def _vtx_done(self, result: str, now: float) -> list[Effect]:
        if not result.startswith("CONNECT"):
            return [Fail(f"the modem refused to play audio (AT+VTX: {result}): use --no-dial-tone")]
        tone = self.cfg.tone
        assert tone is not None
        self.state, self.digits = "tone", ""
        self.deadline = now + self.cfg.dial_timeout
        return [Tone(tone), Log(f"dial tone on ({'+'.join(map(str, tone))} Hz)")]

    def _end_voice_done(self, result: str, now: float) -> list[Effect]:
        if result != "OK":
            return []  # a late result of something else; wait for OK
        return self._cmd("onhook", "ATH0", now)

    def _onhook_done(self, result: str, now: float) -> list[Effect]:
        if self._after_stop == "answer":
            return self._cmd("data-mode", "AT+FCLASS=0", now)
        return self._restart(now)

    def _data_mode_done(self, result: str, now: float) -> list[Effect]:
        if result != "OK":
            return [Fail(f"the modem refused AT+FCLASS=0 ({result})")]
        return [Log("answering"), *self._cmd("answer", "ATA", now, self.cfg.connect_timeout + 5)]

    def _answer_done(self, result: str, now: float) -> list[Effect]:
        if result.startswith("CONNECT"):
            self.state, self.deadline = "connected", None
            return [Log(result), Handover(result)]
        if result == "OK":  # some modems say OK before CONNECT (DreamPi's note)
            return []
        self.cycles += 1
        if self.cfg.tone is None:
            return self._blind_again(now, result)
        return [Log(f"no CONNECT after ATA ({result}): resetting the modem"), *self._restart(now)]

    def _digits_done(self, now: float) -> list[Effect]:
        number = self.cfg.number
        if number is not None and self.digits != number:
            self.cycles += 1
            return [Log(f"digits {self.digits}: not this line's number {number}; hanging up"),
                    *self._stop_voice("restart", now)]
        return [Log(f"digits {self.digits}"), *self._stop_voice("answer", now)]

    def _stop_voice(self, then: str, now: float) -> list[Effect]:
        """End +VTX (<DLE><ETX>, the modem says OK once its buffer has played), then hang up."""
        self._after_stop = then
        self.state = "end-voice"
        self.deadline = now + self.cfg.command_timeout
        return [Tone(None), Send(DLE + ETX)]

    def _blind_again(self, now: float, result: str | None) -> list[Effect]:
        """--no-dial-tone: ATA again and again, each sending answer tone for S7 seconds."""
        out: list[Effect] = []
        if not self._announced:
            self._announced = True
            out.append(Log(f"no dial tone: answering blind-dialing callers, ATA every {self.cfg.connect_timeout} s"))
        elif result not in (None, "NO CARRIER"):
            out.append(Log(f"ATA: {result}; again"))
        return out + self._cmd("answer", "ATA", now, self.cfg.connect_timeout + 5)


# What each state does with the final result of the command it sent (states not listed ignore results).
_ON_RESULT: dict[str, Callable[[Answerer, str, float], list[Effect]]] = {
    "attention": Answerer._attention_done,
    "reset": Answerer._reset_done,
    "init": Answerer._init_done,
    "s7": Answerer._s7_done,
    "fclass": Answerer._fclass_done,
    "offhook": Answerer._offhook_done,
    "vsm": Answerer._vsm_done,
    "vtx": Answerer._vtx_done,
    "end-voice": Answerer._end_voice_done,
    "onhook": Answerer._onhook_done,
    "data-mode": Answerer._data_mode_done,
    "answer": Answerer._answer_done,
}


class LineReader:
    """Split what the modem sends into lines of text and ``<DLE>`` codes, one byte at a time.

    A line ends at LF (results come framed ``CR LF text CR LF``, so a CONNECT line is
    complete with its last byte); a line ended by CR alone (the echo of a command) is
    complete when the next byte is not LF.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._cr = False
        self._dle = False

    def feed(self, byte: int) -> tuple[str | None, bytes | None]:
        """One byte in; ``(line, None)``, ``(None, dle_code)`` or ``(None, None)`` out."""
        if self._dle:
            self._dle = False
            return None, bytes((byte,))
        if byte == DLE[0]:
            self._dle = True
            return None, None
        if byte == 0x0A:
            self._cr = False
            return self._take(), None
        if self._cr:
            # A line ended by CR alone (a command's echo): complete now; this byte starts the next.
            line = self._take()
            self._cr = byte == 0x0D
            if not self._cr:
                self._buf.append(byte)
            return line, None
        if byte == 0x0D:
            self._cr = True
            return None, None
        if len(self._buf) < 512:
            self._buf.append(byte)
        return None, None

    def _take(self) -> str | None:
        text = self._buf.decode("latin-1").strip()
        self._buf.clear()
        return text or None
