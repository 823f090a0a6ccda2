"""A Hayes (V.250) AT command interpreter for the simulated modem. Pure: no I/O.

:class:`Hayes` holds a modem's settings (echo, quiet, verbose, X level, S-registers,
&C/&D, speaker) and turns command-mode input into :data:`Action` values. The
simulator (:mod:`dialup_admin.modem.simulator`) performs the call actions
(:class:`Dial`, :class:`Answer`, :class:`Online`, :class:`Hangup`) and later asks
:meth:`Hayes.result` for the final result code to send.

:class:`EscapeDetector` recognises the ``+++`` escape with its guard times, from
timestamps the caller supplies, so it is testable without sleeping.

The command set is what mgetty, pppd's chat, minicom and the guide send:
``AT``, ``A/``, ``Z``, ``&F``, ``E``, ``Q``, ``V``, ``X``, ``I0-4``, ``Sn=v``, ``Sn?``,
``&C``, ``&D``, ``&K``, ``&W``, ``L``, ``M``, ``B``, ``W``, ``D``/``DT``/``DP``/``DL``,
``A``, ``H``, ``O``, ``+FCLASS``, ``+GMI``/``+GMM``/``+GMR``/``+GCAP``; anything else
is ``ERROR``, as a real modem answers.

Voice mode (V.253, what a DreamPi-style direct-line answerer uses), on a modem whose
:class:`Identity` has ``voice``: ``+FCLASS=8``, then ``+VLS=1`` (off hook, the line
to the DTE's audio), ``+VSM=1,8000`` (8-bit unsigned PCM at 8 kHz; ``0`` signed) and
``+VTX`` (:class:`VoiceTransmit`: the DTE streams audio; the simulator ends it at
``<DLE><ETX>``). ``ATA`` in voice mode answers in voice (``VCON``), as V.253 says:
a data answer needs ``+FCLASS=0`` first. ``+VRX`` (recording) is not simulated.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass, field

# --- result codes ------------------------------------------------------------


class Result(enum.Enum):
    """Final result codes and their V0 numbers (the Hayes originals)."""

    OK = 0
    CONNECT = 1
    RING = 2
    NO_CARRIER = 3
    ERROR = 4
    NO_DIALTONE = 6
    BUSY = 7
    NO_ANSWER = 8

    @property
    def text(self) -> str:
        return self.name.replace("_", " ")


# V0 numbers of "CONNECT <speed>" (the Rockwell/Hayes table most chipsets use).
CONNECT_CODES: dict[int, int] = {
    1200: 5,
    2400: 10,
    4800: 11,
    9600: 12,
    7200: 13,
    12000: 14,
    14400: 15,
    19200: 16,
    38400: 17,
    57600: 18,
    115200: 19,
    16800: 59,
    21600: 61,
    24000: 62,
    26400: 63,
    28800: 64,
    31200: 91,
    33600: 84,
}

# S-register defaults (Hayes): S0 auto-answer rings, S2 escape char, S3 CR, S4 LF,
# S5 backspace, S6 dial-tone wait, S7 carrier wait (s), S8 comma pause, S10 carrier-loss
# delay (1/10 s), S12 escape guard time (1/50 s).
DEFAULT_REGISTERS: dict[int, int] = {
    0: 0,
    1: 0,
    2: 43,
    3: 13,
    4: 10,
    5: 8,
    6: 2,
    7: 50,
    8: 2,
    9: 6,
    10: 14,
    11: 95,
    12: 50,
}
MAX_REGISTER = 255


@dataclass(frozen=True)
class Identity:
    """What ``ATI0``..``ATI4`` and ``AT+GM*`` report."""

    product: str = "33600"  # ATI0: product code
    checksum: str = "255"  # ATI1: ROM checksum
    name: str = "dialup-admin simulated modem"  # ATI3
    revision: str = "1.0"
    capabilities: str = "V.34 33600 V.42bis V.253 voice (simulated)"  # ATI4
    manufacturer: str = "dialup-admin"
    voice: bool = True  # V.253 voice mode (+FCLASS=8); False: a data-only modem, ERROR to +FCLASS=8
    # A quirk of some (soft) modems: ATV0 answers OK and numeric codes never come.
    verbose_only: bool = False


# --- actions -----------------------------------------------------------------


@dataclass(frozen=True)
class Output:
    """Bytes to send to the DTE (information text or a final result)."""

    data: bytes


@dataclass(frozen=True)
class Dial:
    """Originate a call to ``number`` (digits, ``*`` and ``#`` only). The result follows later."""

    number: str


@dataclass(frozen=True)
class Answer:
    """Answer the ringing call (ATA). The result follows later."""


@dataclass(frozen=True)
class Online:
    """Return to data mode in the call that ``+++`` left (ATO). The result follows later."""


@dataclass(frozen=True)
class Hangup:
    """Go on hook (ATH, ATZ, &F): end any call. Processing of the line continues."""


@dataclass(frozen=True)
class VoiceLine:
    """Voice mode: go off hook with the line connected to the DTE's audio (``+VLS=1``,
    ``ATA`` in voice mode), or back on hook (``+VLS=0``, ``+FCLASS=0``)."""

    offhook: bool


@dataclass(frozen=True)
class VoiceTransmit:
    """``+VTX``: the DTE's bytes are audio from now on. The result (CONNECT) follows later."""


Action = Output | Dial | Answer | Online | Hangup | VoiceLine | VoiceTransmit

# V.253 compression methods (AT+VSM=?) the simulated voice modem plays, all 8 bits at 8 kHz.
VOICE_COMPRESSIONS = {0: "SIGNED PCM", 1: "UNSIGNED PCM"}
VOICE_RATES = (8000,)
VOICE_EVENTS = 0x18000000  # +VEM bits (bit 0 is the most significant of 32): 3 RING, 4 DTMF
DTMF_EVENT = 1 << (31 - 4)


# --- the interpreter ------------------------------------------------------------


@dataclass
class Settings:
    echo: bool = True
    quiet: bool = False
    verbose: bool = True
    xlevel: int = 4
    dcd_mode: int = 1  # &C
    dtr_mode: int = 2  # &D
    flow: int = 3  # &K
    speaker_volume: int = 1  # L
    speaker_mode: int = 1  # M
    fclass: int = 0
    registers: dict[int, int] = field(default_factory=lambda: dict(DEFAULT_REGISTERS))
    vls: int = 0  # +VLS: 0 on hook, 1 off hook to the line (voice mode)
    vsm: tuple[int, int] = (1, 8000)  # +VSM: compression method, sample rate
    vem: int = 0x18000000  # +VEM: events reported (bit 0 the most significant): RING (3), DTMF (4)


_NUM = re.compile(r"\d*")


def _number(s: str, i: int, default: int = 0) -> tuple[int, int]:
    """The decimal number at ``s[i:]`` (``default`` when there are no digits) and where it ends."""
    m = _NUM.match(s, i)
    assert m is not None  # \d* matches, if only the empty string
    return (int(m.group()) if m.group() else default), m.end()


class Hayes:
    """The command-mode state of one modem.

    Feed bytes typed by the DTE with :meth:`feed`; it returns the echo and the
    actions of every completed command line. :meth:`result` formats a final result
    code according to the current V/Q/X settings.
    """

    def __init__(self, identity: Identity | None = None) -> None:
        self.identity = identity or Identity()
        self.settings = Settings()
        self.stored = Settings()  # the profile ATZ restores (&W saves into it)
        self._line = bytearray()
        self._last = ""
        self._selected_register = 0

    @property
    def last_command(self) -> str:
        """The last command line typed (what ``A/`` repeats)."""
        return self._last

    # ---- settings shortcuts --------------------------------------------------
    @property
    def registers(self) -> dict[int, int]:
        return self.settings.registers

    def reg(self, n: int) -> int:
        return self.settings.registers.get(n, 0)

    @property
    def guard_time(self) -> float:
        """The +++ guard time in seconds (S12, in fiftieths)."""
        return self.reg(12) / 50.0

    @property
    def escape_char(self) -> int:
        return self.reg(2)

    def reset(self) -> None:
        """ATZ: back to the stored profile; forget any partly typed line."""
        self.settings = _copy(self.stored)
        self._line.clear()

    def factory(self) -> None:
        """AT&F: factory defaults (the stored profile is unchanged)."""
        self.settings = Settings()

    def clear_input(self) -> None:
        self._line.clear()

    # ---- formatting -----------------------------------------------------------
    def result(self, code: Result, speed: int | None = None) -> bytes:
        """The bytes of a final result code as the DTE sees them (nothing when ATQ1).

        X0 reports BUSY and NO DIALTONE as NO CARRIER and CONNECT without speed;
        X1 adds the speed; X2 adds NO DIALTONE; X3 adds BUSY (not NO DIALTONE); X4 all.
        """
        if self.settings.quiet:
            return b""
        x = self.settings.xlevel
        if code is Result.BUSY and x < 3:
            code = Result.NO_CARRIER
        if code is Result.NO_DIALTONE and x not in (2, 4):
            code = Result.NO_CARRIER
        if code is Result.CONNECT and speed is not None and x >= 1:
            if self.settings.verbose:
                return self._verbose(f"CONNECT {speed}")
            return f"{CONNECT_CODES.get(speed, 1)}\r".encode()
        if self.settings.verbose:
            return self._verbose(code.text)
        return f"{code.value}\r".encode()

    def final_text(self, word: str) -> bytes:
        """A final result without a V0 number (``VCON``), framed like the others."""
        if self.settings.quiet:
            return b""
        if self.settings.verbose:
            return self._verbose(word)
        return f"{word}\r".encode()

    def text(self, line: str) -> bytes:
        """Information text (ATI, ATS?): framed by CR LF in verbose mode."""
        if self.settings.verbose:
            return self._verbose(line)
        return f"{line}\r\n".encode()

    def _verbose(self, line: str) -> bytes:
        cr, lf = chr(self.reg(3)), chr(self.reg(4))
        return f"{cr}{lf}{line}{cr}{lf}".encode("latin-1")

    # ---- input -----------------------------------------------------------------
    def feed(self, data: bytes) -> tuple[bytes, list[list[Action]]]:
        """Take bytes the DTE typed in command mode.

        Returns the echo (when E1) and, for every command line completed by a CR
        (S3), the actions it asks for. Lines that do not start with ``AT`` are
        ignored, as a modem hunting for the attention prefix does; ``A/`` repeats the
        last command at once.
        """
        echo = bytearray()
        done: list[list[Action]] = []
        cr, bs = self.reg(3), self.reg(5)
        for byte in data:
            if self.settings.echo:
                echo.append(byte)
            if byte == cr:
                line = self._line.decode("latin-1")
                self._line.clear()
                actions = self._complete(line)
                if actions is not None:
                    done.append(actions)
                continue
            if byte in (bs, 0x7F):
                if self._line:
                    self._line.pop()
                continue
            if byte == 0x0A or byte == 0:
                continue
            self._line.append(byte)
            if len(self._line) >= 2 and self._line[-2:].upper() == b"A/":
                self._line.clear()
                done.append(self.execute(self._last) if self._last else [Output(self.result(Result.ERROR))])
            elif len(self._line) > 255:
                # A modem's command buffer is small; an overlong line is an error.
                self._line.clear()
                done.append([Output(self.result(Result.ERROR))])
        return bytes(echo), done

    def _complete(self, line: str) -> list[Action] | None:
        at = _find_attention(line)
        if at < 0:
            return None
        body = line[at:]
        self._last = body
        return self.execute(body)

    def execute(self, line: str) -> list[Action]:
        """Run one command line (starting with ``AT``) and return its actions.

        When the last action is :class:`Dial`, :class:`Answer` or :class:`Online`
        the final result is up to the caller; otherwise the list ends with the
        final result (``OK`` or ``ERROR``) as an :class:`Output`.
        """
        out: list[Action] = []
        s = line[2:]
        i = 0
        while i < len(s):
            c = s[i].upper()
            i += 1
            if c in " \t":
                continue
            command = _COMMANDS.get(c, Hayes._basic)
            after = command(self, c, s, i, out)
            if after is None:  # the line ends here: a call action, or ERROR
                return out
            i = after
        out.append(Output(self.result(Result.OK)))
        return out

    # ---- commands: each takes the letter, the line and where its arguments start, adds its
    # actions to ``out`` and returns where the next command starts, or None when the line ends
    # with it (a call action, or ERROR, added to ``out``).

    def _error(self, out: list[Action]) -> int | None:
        """ERROR ends the line: the commands after the bad one are not run."""
        out.append(Output(self.result(Result.ERROR)))
        return None

    def _dial_command(self, c: str, s: str, i: int, out: list[Action]) -> int | None:
        out.extend(self._dial(s[i:]))
        return None

    def _answer_command(self, c: str, s: str, i: int, out: list[Action]) -> int | None:
        if self.settings.fclass == 8:
            # V.253: in voice mode ATA answers as a telephone would (VCON), no data carrier.
            self.settings.vls = 1
            out += [VoiceLine(True), Output(self.final_text("VCON"))]
            return None
        out.append(Answer())
        return None

    def _online_command(self, c: str, s: str, i: int, out: list[Action]) -> int | None:
        out.append(Online())
        return None

    def _register_command(self, c: str, s: str, i: int, out: list[Action]) -> int | None:
        """``Sn`` selects, ``Sn=v`` sets, ``Sn?`` shows a register."""
        n = len(s)
        num, i = _number(s, i, self._selected_register)
        if num > MAX_REGISTER:
            return self._error(out)
        self._selected_register = num
        if i < n and s[i] == "=":
            val, i = _number(s, i + 1)
            if val > 255:
                return self._error(out)
            self.registers[num] = val
        elif i < n and s[i] == "?":
            i += 1
            out.append(Output(self.text(f"{self.reg(num):03d}")))
        return i

    def _ampersand_command(self, c: str, s: str, i: int, out: list[Action]) -> int | None:
        """``&F``, ``&C``, ``&D``, ``&K``, ``&W``, ``&V`` (and ``&S``, ``&Q``, ``&R``, accepted)."""
        if i >= len(s):
            return self._error(out)
        c2 = s[i].upper()
        val, i = _number(s, i + 1)
        if c2 == "F":
            out.append(Hangup())
            self.factory()
        elif c2 == "C" and val <= 1:
            self.settings.dcd_mode = val
        elif c2 == "D" and val <= 3:
            self.settings.dtr_mode = val
        elif c2 == "K" and val <= 6:
            self.settings.flow = val
        elif c2 == "W" and val <= 1:
            self.stored = _copy(self.settings)
        elif c2 == "V":
            out.append(Output(self.text(self._profile())))
        elif c2 in "SQR" and val <= 6:
            pass  # DSR, sync/async mode, RTS: accepted, nothing to simulate
        else:
            return self._error(out)
        return i

    def _plus_command(self, c: str, s: str, i: int, out: list[Action]) -> int | None:
        """Extended commands: ``+VTX``, ``+VLS=``/``+FCLASS=`` (voice), the rest by :meth:`_extended`."""
        m = re.match(r"([A-Za-z]+)(=\?|\?|=[^;]*)?;?", s[i:])
        if not m:
            return self._error(out)
        i += m.end()
        name, arg = m.group(1).upper(), m.group(2) or ""
        if name == "VTX" and arg == "":
            if self.settings.fclass != 8:
                return self._error(out)
            out.append(VoiceTransmit())
            return None
        if name in ("VLS", "FCLASS") and arg[:1] == "=" and arg != "=?":
            acted = self._voice_line(name, arg)
            if acted is None:
                return self._error(out)
            out.extend(acted)
            return i
        reply = self._extended(name, arg)
        if reply is None:
            return self._error(out)
        out.extend(Output(self.text(r)) for r in reply)
        return i

    def _basic(self, c: str, s: str, i: int, out: list[Action]) -> int | None:
        """The one-letter commands with a number: ``Z``, ``E``, ``Q``, ``V``, ``X``, ``L``, ``M``, ``H``, ``I``..."""
        val, i = _number(s, i)
        if c == "Z":
            out.append(Hangup())
            self.reset()
        elif c == "E" and val <= 1:
            self.settings.echo = bool(val)
        elif c == "Q" and val <= 1:
            self.settings.quiet = bool(val)
        elif c == "V" and val <= 1:
            self.settings.verbose = bool(val) or self.identity.verbose_only
        elif c == "X" and val <= 4:
            self.settings.xlevel = val
        elif c == "L" and val <= 3:
            self.settings.speaker_volume = val
        elif c == "M" and val <= 3:
            self.settings.speaker_mode = val
        elif c == "H" and val <= 1:
            out.append(Hangup())
            self.settings.vls = 0
        elif c == "I" and val <= 4:
            out.append(Output(self.text(self._info(val))))
        elif c in "BWNY" and val <= 2:
            pass  # protocol/negotiation reporting options: accepted as-is
        else:
            return self._error(out)
        return i

    # ---- pieces -------------------------------------------------------------------
    def _dial(self, rest: str) -> list[Action]:
        rest = rest.strip()
        if rest[:1].upper() == "L":
            if not self._last_number:
                return [Output(self.result(Result.ERROR))]
            return [Dial(self._last_number)]
        digits = []
        for ch in rest:
            if ch.isdigit() or ch in "*#":
                digits.append(ch)
            elif ch == ";":
                break
            elif ch.upper() in "TPW,@!-() ABCD":
                continue  # dial modifiers and punctuation
            else:
                return [Output(self.result(Result.ERROR))]
        number = "".join(digits)
        self._last_number = number
        return [Dial(number)]

    _last_number = ""

    def _info(self, n: int) -> str:
        ident = self.identity
        return {
            0: ident.product,
            1: ident.checksum,
            2: "OK",
            3: f"{ident.name} {ident.revision}",
            4: ident.capabilities,
        }[n]

    def _voice_line(self, name: str, arg: str) -> list[Action] | None:
        """``+FCLASS=n`` and ``+VLS=n``: the mode and hook state changes of voice mode."""
        value = arg[1:].strip()
        st = self.settings
        if name == "FCLASS":
            if value in ("0", ""):
                was_offhook = st.vls
                st.fclass, st.vls = 0, 0
                return [VoiceLine(False)] if was_offhook else []
            if value == "8" and self.identity.voice:
                st.fclass = 8
                return []
            return None  # no fax classes; voice only on a voice modem
        if st.fclass != 8 or value not in ("0", "1"):
            return None
        st.vls = int(value)
        return [VoiceLine(st.vls == 1)]

    def _extended(self, name: str, arg: str) -> list[str] | None:
        st = self.settings
        if name == "FCLASS":
            if arg == "=?":
                return ["0,8"] if self.identity.voice else ["0"]
            if arg == "?":
                return [str(st.fclass)]
            return None
        if name in ("VLS", "VSM", "VEM") and st.fclass != 8:
            return None
        if name == "VEM":
            # Events this modem can report, per voice mode (playback, record, command): RING, DTMF.
            if arg == "=?":
                return [f"{VOICE_EVENTS:08X}"] * 3
            if arg == "?":
                return [f"{st.vem:08X}"]
            if arg.startswith("=") and re.fullmatch(r"[0-9A-Fa-f]{1,8}", arg[1:].strip()):
                st.vem = int(arg[1:].strip(), 16) & VOICE_EVENTS
                return []
            return None
        if name == "VLS":
            if arg == "=?":
                return ["0,1"]
            return [str(st.vls)] if arg == "?" else None
        if name == "VSM":
            if arg == "=?":
                rates = ",".join(str(r) for r in VOICE_RATES)
                return [f'{n},"{text}",8,0,({rates}),(0),(0)' for n, text in VOICE_COMPRESSIONS.items()]
            if arg == "?":
                return [f"{st.vsm[0]},{st.vsm[1]},0,0"]
            fields = [f.strip() for f in arg[1:].split(",")] if arg.startswith("=") else []
            if len(fields) < 2 or not all(f.isdigit() for f in fields) or any(int(f) for f in fields[2:4]):
                return None
            cml, rate = int(fields[0]), int(fields[1])
            if cml not in VOICE_COMPRESSIONS or rate not in VOICE_RATES:
                return None
            st.vsm = (cml, rate)
            return []
        if arg in ("", "?"):
            if name == "GMI":
                return [self.identity.manufacturer]
            if name == "GMM":
                return [self.identity.name]
            if name == "GMR":
                return [self.identity.revision]
            if name == "GCAP":
                return ["+GCAP: +MS"]
        return None

    def _profile(self) -> str:
        st = self.settings
        flags = (
            f"E{int(st.echo)} Q{int(st.quiet)} V{int(st.verbose)} X{st.xlevel} "
            f"L{st.speaker_volume} M{st.speaker_mode} &C{st.dcd_mode} &D{st.dtr_mode} &K{st.flow}"
        )
        regs = " ".join(f"S{k:02d}:{v:03d}" for k, v in sorted(st.registers.items()))
        return f"ACTIVE PROFILE: {flags} {regs}"


_Command = Callable[[Hayes, str, str, int, list[Action]], "int | None"]
# The commands by their letter; any other letter is a basic one (Hayes._basic).
_COMMANDS: dict[str, _Command] = {
    "D": Hayes._dial_command,
    "A": Hayes._answer_command,
    "O": Hayes._online_command,
    "S": Hayes._register_command,
    "&": Hayes._ampersand_command,
    "+": Hayes._plus_command,
}


def _copy(st: Settings) -> Settings:
    return Settings(
        echo=st.echo,
        quiet=st.quiet,
        verbose=st.verbose,
        xlevel=st.xlevel,
        dcd_mode=st.dcd_mode,
        dtr_mode=st.dtr_mode,
        flow=st.flow,
        speaker_volume=st.speaker_volume,
        speaker_mode=st.speaker_mode,
        fclass=st.fclass,
        registers=dict(st.registers),
        vls=0,
        vsm=st.vsm,
        vem=st.vem,
    )


_ATTENTION = re.compile(r"[^A-Za-z]*(AT|at)")


def _find_attention(line: str) -> int:
    """Where the ``AT`` prefix starts (``AT`` or ``at``, as real modems accept), or -1.

    Noise before it (mgetty's ``+++``, NULs) is skipped, but not letters: a line of
    text that merely contains "at" somewhere is not a command.
    """
    m = _ATTENTION.match(line)
    return m.start(1) if m else -1


# --- the +++ escape --------------------------------------------------------------


class EscapeDetector:
    """Recognise ``<guard> +++ <guard>`` in the data stream from the DTE.

    Call :meth:`data` with every chunk the DTE sends in data mode and the time it
    arrived, and :meth:`due` from the event loop; :meth:`due` returns True once, when
    the trailing guard time has passed after a valid ``+++``.
    """

    def __init__(self, guard: float = 1.0, char: int = 0x2B) -> None:
        self.guard = guard
        self.char = char
        self._last = float("-inf")  # time of the last byte
        self._count = 0
        self._armed_at: float | None = None

    def data(self, chunk: bytes, now: float) -> None:
        if not chunk:
            return
        self._armed_at = None
        for byte in chunk:
            if byte == self.char and 0 < self.guard and (
                (self._count == 0 and now - self._last >= self.guard)
                or (0 < self._count < 3 and now - self._last < self.guard)
            ):
                self._count += 1
            else:
                self._count = 0
            self._last = now
        if self._count == 3:
            self._armed_at = now
            self._count = 0

    def deadline(self) -> float | None:
        """When :meth:`due` may next fire, for the event loop's timeout."""
        return None if self._armed_at is None else self._armed_at + self.guard

    def due(self, now: float) -> bool:
        if self._armed_at is not None and now - self._armed_at >= self.guard:
            self._armed_at = None
            return True
        return False

    def reset(self, now: float) -> None:
        self._count = 0
        self._armed_at = None
        self._last = now
