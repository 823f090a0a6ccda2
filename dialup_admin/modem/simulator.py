"""Hayes modems on pseudo-terminals, joined by a simulated telephone line.

Each modem is a pty: programs (mgetty, pppd, chat, minicom, ``test-modem``) open the
slave side, ``/dev/pts/N``, as if it were ``/dev/ttyS1``; the simulator holds the
master side and answers AT commands there. Dialing another modem's number rings it;
after ``ATA`` (or S0 auto-answer) both get ``CONNECT <speed>`` and bytes are bridged
raw both ways, optionally throttled to a line speed.

Python use (the test suite and the other lab helpers use exactly this)::

    from dialup_admin.modem.simulator import PhoneLine

    with PhoneLine({"11": "/dev/ttyV0", "12": None}, bps=33600) as line:
        server_port = line.port("11")   # "/dev/ttyV0", a symlink to /dev/pts/N
        caller_port = line.port("12")   # "/dev/pts/M" (no symlink asked for)
        ...                              # run mgetty on server_port, chat/pppd on caller_port
        line.wait_for("11 CONNECT", timeout=30)

How a real modem's signals map onto a pty:

- The port being *closed* by its last user (mgetty exiting, pppd hanging up) is
  DTR dropping: it is seen with ``poll()``'s POLLHUP on the master, never with a read
  that would swallow bytes; the call ends and the other side gets ``NO CARRIER``.
  A reopen is seen when POLLHUP clears.
- Setting the port's speed to B0 (how mgetty toggles DTR) is also DTR dropping; the
  simulator samples the slave's termios through the master (Linux's TCGETS on a pty
  master reads the slave's settings).
- Carrier loss (the other side hung up): besides ``NO CARRIER``, a port whose user
  cleared CLOCAL and made it its controlling tty (pppd without ``local``, login under
  mgetty) gets SIGHUP for its foreground process group, as the kernel does when DCD
  drops on a serial port.
- The slave is put in raw mode at creation, and again when its last user closes it:
  a slave in cooked mode echoes what the simulator writes back into the simulator.
- Opens are noticed within ``REOPEN_CHECK`` (20 ms); closes at once. A number whose
  port no one has open is "absent": dialing it gives ``BUSY``, as does a number in
  a call or not on the line.

Direct pairs (``direct=[("11", "21")]``): two modems cabled to each other with a
line-voltage inducer and no exchange, as Dreamcast owners wire them. There is no dial
tone and no RING; the numbers only name the modems. ``ATD`` goes off hook: with X2/X4
the modem waits up to S6 seconds (at least 2) for a dial tone and hears one only
while the other end plays one in voice mode (``+VTX``): a Goertzel check of the
audio it plays (:mod:`dialup_admin.modem.tones`), 0.3 s long; silence or another tone
gives ``NO DIALTONE``. X0/X1/X3 dial blind after S6 seconds. The digits go down the
wire as DTMF, one every 2 x S11 ms, and the other end reports each as
``<DLE><digit>`` while it is off hook in voice mode (``+VLS=1``). The caller then
waits S7 seconds for a carrier: an ``ATA`` (data mode) at the other end within that
time gives ``CONNECT`` on both sides; otherwise ``NO CARRIER``. An ``ATA`` with no
caller waiting sends answer tone for S7 seconds, then ``NO CARRIER``.

Voice mode plays the DTE's audio in real time (8000 samples a second) from a buffer
of :data:`VOICE_BUFFER` samples; a DTE that writes faster is simply not read until
there is room, one that writes slower leaves silence. ``<DLE><DLE>`` is a 0x10
sample, ``<DLE><CAN>`` empties the buffer, ``<DLE><ETX>`` ends the transmission
once the buffer has played (then ``OK``).
"""

from __future__ import annotations

import dataclasses
import enum
import errno
import os
import re
import select
import signal
import termios
import threading
import time
import tty
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from dialup_admin.errors import BadInput, UserError
from dialup_admin.modem import tones
from dialup_admin.modem.hayes import (
    DTMF_EVENT,
    Action,
    Answer,
    Dial,
    EscapeDetector,
    Hangup,
    Hayes,
    Identity,
    Online,
    Output,
    Result,
    VoiceLine,
    VoiceTransmit,
)

DEFAULT_CONNECT_SPEED = 33600
RING_INTERVAL = 3.0  # seconds between RINGs (a real line: 5-6 s; shorter keeps tests quick)
CONNECT_DELAY = 0.3  # seconds of "training" between ATA and CONNECT
REOPEN_CHECK = 0.02  # how often a closed port is checked for being reopened
DTR_CHECK = 0.1  # how often open ports are checked for speed B0 (DTR dropped)
BACKLOG = 65536  # bytes queued towards one side before the other side is no longer read
VOICE_BUFFER = tones.RATE // 2  # samples of audio a voice modem buffers (0.5 s)
VOICE_TICK = 0.02  # how often voice audio is played and listened to
LISTEN_WINDOW = 0.1  # seconds of audio per dial tone decision (tones.WINDOW samples)
DIALTONE_DETECT = 0.3  # seconds of dial tone a caller needs to hear before it dials
PLAYED_KEEP = tones.RATE  # samples of played audio kept for listeners
DLE, ETX, SUB, CAN = 0x10, 0x03, 0x1A, 0x18

_NUMBER_RE = re.compile(r"^[0-9*#]{1,32}$")


class State(enum.Enum):
    IDLE = "idle"  # command mode, on hook
    DIALING = "dialing"  # caller: waiting for the callee to answer
    RINGING = "ringing"  # callee: the phone rings
    CONNECTING = "connecting"  # both: carrier training after ATA
    ONLINE = "online"  # both: data mode, bytes bridged
    ONLINE_COMMAND = "online-command"  # in a call, but in command mode after +++
    ANSWERING = "answering"  # direct line: ATA sent, answer tone, waiting for the caller's carrier
    VOICE = "voice"  # off hook in voice mode (+VLS=1), command mode
    VOICE_TX = "voice-transmit"  # +VTX: the DTE's bytes are audio played on the line


@dataclass
class _Modem:
    number: str
    master: int
    pty: str
    link: Path | None
    hayes: Hayes
    is_open: bool = False
    state: State = State.IDLE
    peer: _Modem | None = None
    out: bytearray = field(default_factory=bytearray)  # to the DTE (the port's user)
    line_queue: bytearray = field(default_factory=bytearray)  # data on the wire towards the peer
    tokens: float = 0.0
    last_refill: float = 0.0
    escape: EscapeDetector = field(default_factory=EscapeDetector)
    next_ring: float | None = None
    deadline: float | None = None  # DIALING: NO ANSWER; CONNECTING: CONNECT
    dtr_low: bool = False
    bytes_in: int = 0  # read from the DTE
    bytes_out: int = 0  # written to the DTE
    wire: _Modem | None = None  # direct pair: the modem at the other end of the cable
    dial_phase: str = ""  # direct dialing: "tone" (dial tone wait or blind pause), "digits", "carrier"
    dial_number: str = ""
    digits_sent: int = 0
    next_digit: float | None = None
    next_listen: float | None = None
    tone_heard: float = 0.0  # seconds of dial tone heard in a row
    voice_tx: bytearray = field(default_factory=bytearray)  # audio from the DTE, not played yet
    played: bytearray = field(default_factory=bytearray)  # audio put on the line, latest last
    play_clock: float = 0.0
    dle: bool = False  # a DLE from the DTE awaits its second byte
    vtx_ending: bool = False  # <DLE><ETX> seen: OK once the buffer has played
    after_vtx: bytearray = field(default_factory=bytearray)  # commands typed after <DLE><ETX>
    online_since: float | None = None  # CONNECT time, until the DTE's first data byte (logged once)

    @property
    def in_call(self) -> bool:
        return self.state in (State.CONNECTING, State.ONLINE, State.ONLINE_COMMAND)


class PhoneLine:
    """A telephone line with one simulated modem per number.

    ``numbers`` maps each phone number to the path of a symlink to create for its
    port (``"/dev/ttyV0"``) or ``None`` for no symlink. Options:

    - ``bps``: throttle bridged data to this line speed (10 bits per byte, as 8N1
      on the wire); ``None`` bridges at full speed.
    - ``connect_speed``: the speed in ``CONNECT <speed>`` (default ``bps`` or 33600).
    - ``ring_interval``: seconds between RINGs; ``connect_delay``: ATA to CONNECT.
    - ``dead``: numbers whose line has no dial tone (``NO DIALTONE`` on ATD).
    - ``direct``: pairs of numbers cabled to each other without an exchange (see the
      module's docstring); they cannot be dialed through the exchange.
    - ``no_voice``: numbers whose modem has no voice mode (``ERROR`` to ``+FCLASS=8``).
    - ``monitor``: called with ``(number, data)`` for every chunk a modem sends down the line
      in a call (a line monitor: the lab decodes PPP's negotiation from it).
    - ``log``: called with one line of text per event (also kept in :attr:`events`).
    - ``trace``: also log every command line a modem receives (``"11 command ATA"``).

    Use as a context manager (runs in a background thread), or call :meth:`start`
    and :meth:`stop`, or :meth:`serve_forever` in the foreground.
    """

    def __init__(
        self,
        numbers: Mapping[str, str | os.PathLike[str] | None],
        *,
        bps: int | None = None,
        connect_speed: int | None = None,
        ring_interval: float = RING_INTERVAL,
        connect_delay: float = CONNECT_DELAY,
        dead: Iterable[str] = (),
        identity: Identity | None = None,
        log: Callable[[str], None] | None = None,
        trace: bool = False,
        direct: Iterable[tuple[str, str]] = (),
        no_voice: Iterable[str] = (),
        monitor: Callable[[str, bytes], None] | None = None,
    ) -> None:
        if not numbers:
            raise BadInput("a phone line needs at least one number")
        for number in numbers:
            if not _NUMBER_RE.match(number):
                raise BadInput(f"bad phone number {number!r}: digits, '*' and '#' only")
        self.direct: dict[str, str] = {}
        for a, b in direct:
            for n in (a, b):
                if n not in numbers:
                    raise BadInput(f"direct pair {a}-{b}: {n} is not a number on this line")
                if n in self.direct:
                    raise BadInput(f"direct pair {a}-{b}: {n} is already cabled to {self.direct[n]}")
            if a == b:
                raise BadInput(f"direct pair {a}-{b}: a modem cannot be cabled to itself")
            self.direct[a], self.direct[b] = b, a
        self.no_voice = set(no_voice)
        self._monitor = monitor
        for n in self.no_voice:
            if n not in numbers:
                raise BadInput(f"no_voice: {n} is not a number on this line")
        if bps is not None and bps < 50:
            raise BadInput(f"bad line speed {bps}: at least 50 bps")
        self.bps = bps
        self.connect_speed = connect_speed or bps or DEFAULT_CONNECT_SPEED
        self.ring_interval = ring_interval
        self.connect_delay = connect_delay
        self.dead: set[str] = set(dead)
        self.identity = identity
        self.events: list[str] = []
        self.trace = trace
        self._log = log
        self._wanted = {n: (Path(p) if p is not None else None) for n, p in numbers.items()}
        self._modems: dict[str, _Modem] = {}
        self._by_fd: dict[int, _Modem] = {}
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stop = False
        self._error: BaseException | None = None
        self._wake_r, self._wake_w = -1, -1
        self._started = time.monotonic()

    # ---- public API ---------------------------------------------------------------
    def port(self, number: str) -> str:
        """The path a program opens to use the modem of ``number`` (symlink if one was asked for)."""
        m = self._modem(number)
        return str(m.link) if m.link is not None else m.pty

    def pty(self, number: str) -> str:
        """The pty slave (``/dev/pts/N``) of ``number``'s modem."""
        return self._modem(number).pty

    @property
    def ports(self) -> dict[str, str]:
        """``{number: port path}`` for every modem."""
        return {n: self.port(n) for n in self._modems}

    def state(self, number: str) -> str:
        """The call state of ``number``'s modem: idle, dialing, ringing, connecting, online, online-command."""
        return self._modem(number).state.value

    def is_open(self, number: str) -> bool:
        """Whether some program has ``number``'s port open (as last seen by the simulator)."""
        return self._modem(number).is_open

    def set_dead(self, number: str, dead: bool = True) -> None:
        """Take ``number``'s line out of service (no dial tone), or put it back."""
        self._modem(number)
        with self._cond:
            (self.dead.add if dead else self.dead.discard)(number)
        self._wake()

    def wait_for(self, text: str, timeout: float = 10.0, since: int = 0) -> str:
        """Wait until an event line containing ``text`` is logged (from index ``since``); return it.

        Event lines look like ``"12 DIAL 11"``, ``"11 RING 1"``, ``"11 CONNECT 33600"``,
        ``"12 NO CARRIER"``, ``"11 port opened"``, ``"11 port closed"``, ``"11 DTR dropped"``.
        Raises :class:`TimeoutError` after ``timeout`` seconds.
        """
        end = time.monotonic() + timeout
        with self._cond:
            while True:
                for ev in self.events[since:]:
                    if text in ev:
                        return ev
                left = end - time.monotonic()
                if left <= 0 or self._error is not None:
                    raise TimeoutError(f"no event {text!r} within {timeout} s; events: {self.events[-10:]}")
                self._cond.wait(left)

    def start(self) -> PhoneLine:
        """Create the ptys and symlinks and run the line in a background thread."""
        self._open()
        self._thread = threading.Thread(target=self._run, name="phone-line", daemon=True)
        self._thread.start()
        return self

    def shutdown(self) -> None:
        """Ask the event loop to end (safe from a signal handler); :meth:`serve_forever` then returns."""
        self._stop = True
        self._wake()

    def stop(self) -> None:
        """Stop the line, close the ptys (their users see a hang-up) and remove the symlinks."""
        self.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self._close()
        if self._error is not None:
            err, self._error = self._error, None
            raise RuntimeError(f"phone line failed: {err!r}") from err

    def serve_forever(self, ready: Callable[[PhoneLine], None] | None = None) -> None:
        """Run the line in the calling thread until :meth:`stop` (from a signal handler)."""
        self._open()
        try:
            if ready is not None:
                ready(self)
            self._run()
        finally:
            self._close()
        if self._error is not None:
            raise self._error

    def __enter__(self) -> PhoneLine:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ---- setup and teardown -----------------------------------------------------------
    def _modem(self, number: str) -> _Modem:
        try:
            return self._modems[number]
        except KeyError:
            raise BadInput(f"no modem with number {number} on this line") from None

    def _open(self) -> None:
        self._stop = False
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        try:
            for number, link in self._wanted.items():
                master, slave = os.openpty()
                try:
                    name = os.ttyname(slave)
                    # Raw at creation: the kernel's default (cooked, ECHO) would echo every
                    # result code back to us before a program opens the port.
                    tty.setraw(slave)
                    attrs = termios.tcgetattr(slave)
                    attrs[2] |= termios.CLOCAL
                    termios.tcsetattr(slave, termios.TCSANOW, attrs)
                finally:
                    os.close(slave)
                os.set_blocking(master, False)
                identity = self.identity or Identity()
                if number in self.no_voice:
                    identity = dataclasses.replace(identity, voice=False,
                                                   capabilities="V.34 33600 V.42bis data-only (simulated)")
                modem = _Modem(number, master, name, link, Hayes(identity))
                self._modems[number] = modem
                self._by_fd[master] = modem
                if link is not None:
                    _make_link(link, name)
                self._event(f"{number} port {self.port(number)} ({name})")
            for a, b in self.direct.items():
                self._modems[a].wire = self._modems[b]
        except BaseException:
            self._close()
            raise

    def _close(self) -> None:
        for m in self._modems.values():
            if m.link is not None:
                try:
                    if os.readlink(m.link) == m.pty:
                        os.unlink(m.link)
                except OSError:
                    pass
            try:
                os.close(m.master)
            except OSError:
                pass
        self._modems.clear()
        self._by_fd.clear()
        for fd in (self._wake_r, self._wake_w):
            if fd >= 0:
                os.close(fd)
        self._wake_r = self._wake_w = -1

    def _wake(self) -> None:
        if self._wake_w >= 0:
            try:
                os.write(self._wake_w, b"x")
            except OSError:
                pass

    def _event(self, text: str) -> None:
        with self._cond:
            self.events.append(text)
            self._cond.notify_all()
        if self._log is not None:
            self._log(text)

    # ---- the event loop -----------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._loop()
        except BaseException as exc:  # keep it for stop(); the thread must not die silently
            self._error = exc
            self._event(f"simulator error: {exc!r}")

    def _loop(self) -> None:
        poller = select.poll()
        registered: dict[int, int] = {}
        poller.register(self._wake_r, select.POLLIN)
        next_reopen = next_dtr = 0.0
        while not self._stop:
            now = time.monotonic()
            if now >= next_reopen:
                self._check_reopened()
                next_reopen = now + REOPEN_CHECK
            if now >= next_dtr:
                self._check_dtr()
                next_dtr = now + DTR_CHECK
            self._timers(now)
            self._pump_voice(now)
            self._pump_line(now)
            # Build the poll set: only open ports (a closed pty master reports POLLHUP
            # continuously); stop reading a side whose data the other side cannot take.
            wanted: dict[int, int] = {}
            for m in self._modems.values():
                if not m.is_open:
                    continue
                ev = 0
                peer_backlog = len(m.line_queue) + (len(m.peer.out) if m.peer else 0)
                voice_full = m.state is State.VOICE_TX and len(m.voice_tx) >= VOICE_BUFFER
                if peer_backlog < BACKLOG and len(m.out) < BACKLOG and not voice_full:
                    ev |= select.POLLIN
                if m.out:
                    ev |= select.POLLOUT
                wanted[m.master] = ev
            for fd in list(registered):
                if fd not in wanted:
                    poller.unregister(fd)
                    del registered[fd]
            for fd, ev in wanted.items():
                if registered.get(fd) != ev:
                    poller.register(fd, ev)
                    registered[fd] = ev
            timeout = self._next_timeout(min(next_reopen, next_dtr))
            for fd, rev in poller.poll(max(0, int(timeout * 1000 + 0.999))):
                if fd == self._wake_r:
                    try:
                        os.read(self._wake_r, 4096)
                    except BlockingIOError:
                        pass
                    continue
                mod = self._by_fd.get(fd)
                if mod is None or not mod.is_open:
                    continue
                if rev & (select.POLLIN | select.POLLHUP | select.POLLERR):
                    self._read(mod, closing=bool(rev & (select.POLLHUP | select.POLLERR)))
                if mod.is_open and rev & select.POLLOUT:
                    self._flush(mod)

    def _next_timeout(self, housekeeping: float) -> float:
        now = time.monotonic()
        t = housekeeping
        for m in self._modems.values():
            for cand in (m.next_ring, m.deadline, m.escape.deadline(), m.next_digit, m.next_listen):
                if cand is not None:
                    t = min(t, cand)
            if m.state is State.VOICE_TX:
                t = min(t, now + VOICE_TICK)
            if m.line_queue and self.bps:
                rate = self.bps / 10.0
                t = min(t, now + max(0.0, (1.0 - m.tokens) / rate))
        return max(0.0, t - now)

    # ---- port I/O ---------------------------------------------------------------------------
    def _read(self, m: _Modem, closing: bool) -> None:
        while True:
            try:
                data = os.read(m.master, 65536)
            except BlockingIOError:
                break
            except OSError as exc:
                if exc.errno == errno.EIO:  # no one holds the slave any more
                    closing = True
                    break
                raise
            if not data:
                closing = True
                break
            m.bytes_in += len(data)
            self._from_dte(m, data)
            if len(data) < 65536:
                break
        if closing and _hung_up(m.master):
            self._port_closed(m)

    def _flush(self, m: _Modem) -> None:
        while m.out:
            try:
                n = os.write(m.master, m.out[:4096])
            except BlockingIOError:
                return
            except OSError as exc:
                if exc.errno == errno.EIO:
                    m.out.clear()
                    return
                raise
            m.bytes_out += n
            del m.out[:n]

    def _send(self, m: _Modem, data: bytes) -> None:
        """Queue bytes for the port's user; dropped when no one has the port open."""
        if m.is_open and data:
            m.out += data
            self._flush(m)

    def _check_reopened(self) -> None:
        for m in self._modems.values():
            if m.is_open:
                continue
            if _hung_up(m.master):
                # Still closed. Whatever is left to read was written by a program that
                # opened and closed the port between two checks; it is read when the
                # port is next opened (discarding it here could race with that open
                # and lose the new user's first command).
                continue
            m.is_open = True
            m.hayes.clear_input()
            m.dtr_low = _dtr_low(m.master)
            self._event(f"{m.number} port opened")

    def _check_dtr(self) -> None:
        for m in self._modems.values():
            if not m.is_open:
                continue
            low = _dtr_low(m.master)
            if low and not m.dtr_low:
                self._event(f"{m.number} DTR dropped")
                self._dtr_drop(m)
            m.dtr_low = low

    def _port_closed(self, m: _Modem) -> None:
        m.is_open = False
        m.out.clear()
        # A user that left the port cooked with ECHO (a login session) would make the
        # slave echo everything we write back at us: make it raw again for the next user.
        _make_raw(m.master)
        self._event(f"{m.number} port closed")
        self._dtr_drop(m)

    def _dtr_drop(self, m: _Modem) -> None:
        """DTR went low (port closed or speed B0): what &D asks for."""
        mode = m.hayes.settings.dtr_mode
        m.hayes.clear_input()
        if mode == 0:
            return
        if mode == 1:
            if m.state is State.ONLINE:
                m.state = State.ONLINE_COMMAND
                self._send(m, m.hayes.result(Result.OK))
            return
        if m.state is not State.RINGING:  # on hook already: the phone keeps ringing
            self._hangup(m)
        if mode == 3:
            m.hayes.reset()

    # ---- the modem ----------------------------------------------------------------------------
    def _from_dte(self, m: _Modem, data: bytes) -> None:
        now = time.monotonic()
        if m.state is State.VOICE_TX:
            self._voice_data(m, data)
            return
        if m.state is State.ONLINE:
            if m.online_since is not None:  # who speaks first after CONNECT, and when (PPP's first frame)
                self._event(f"{m.number} first data {now - m.online_since:.3f} s after CONNECT ({len(data)} bytes)")
                m.online_since = None
            if self._monitor is not None:
                self._monitor(m.number, data)
            m.escape.data(data, now)
            if self.bps:
                m.line_queue += data
            elif m.peer is not None and m.peer.state is State.ONLINE:
                self._send(m.peer, data)
            return
        if m.state is State.DIALING:
            # Any character typed while dialing aborts the call, as on a real modem; but
            # not the LF of a program that ends its lines with CR LF.
            if not data.strip(b"\n\0"):
                return
            self._hangup(m)
            self._send(m, m.hayes.result(Result.NO_CARRIER))
            self._event(f"{m.number} dial aborted")
            return
        echo, lines = m.hayes.feed(data)
        if not _slave_echoes(m.master):  # two echoes would feed each other forever
            self._send(m, echo)
        for actions in lines:
            if self.trace:
                self._event(f"{m.number} command {m.hayes.last_command}")
            self._perform(m, actions)
            if m.state in (State.DIALING, State.CONNECTING, State.ONLINE, State.ANSWERING, State.VOICE_TX):
                m.hayes.clear_input()  # the rest of the input is not commands any more
                break

    def _perform(self, m: _Modem, actions: list[Action]) -> None:
        for act in actions:
            if isinstance(act, Output):
                self._send(m, act.data)
            elif isinstance(act, Hangup):
                if m.state is not State.RINGING:
                    self._hangup(m)
            elif isinstance(act, Dial):
                self._dial(m, act.number)
            elif isinstance(act, Answer):
                self._answer(m)
            elif isinstance(act, VoiceLine):
                self._voice_line(m, act.offhook)
            elif isinstance(act, VoiceTransmit):
                self._voice_transmit(m)
            elif isinstance(act, Online):
                if m.state is State.ONLINE_COMMAND and m.peer is not None:
                    m.state = State.ONLINE
                    m.escape.reset(time.monotonic())
                    self._send(m, m.hayes.result(Result.CONNECT, self.connect_speed))
                else:
                    self._send(m, m.hayes.result(Result.NO_CARRIER))

    def _dial(self, m: _Modem, number: str) -> None:
        self._event(f"{m.number} DIAL {number}")
        if m.in_call or m.state is State.RINGING and m.peer is not None:
            self._send(m, m.hayes.result(Result.ERROR))
            return
        if m.wire is not None:
            self._dial_direct(m, number)
            return
        if m.number in self.dead:
            self._send(m, m.hayes.result(Result.NO_DIALTONE))
            self._event(f"{m.number} NO DIALTONE")
            return
        self._check_reopened()  # the callee's port may have been opened a moment ago
        callee = self._modems.get(number)
        if not number:
            self._send(m, m.hayes.result(Result.NO_CARRIER))
            self._event(f"{m.number} NO CARRIER")
            return
        if callee is not None and callee.wire is not None:
            callee = None  # cabled to its partner: not on the exchange
        if callee is None or callee is m or not callee.is_open or callee.state is not State.IDLE or number in self.dead:
            why = "no such number" if callee is None else "not open" if not callee.is_open else callee.state.value
            self._send(m, m.hayes.result(Result.BUSY))
            self._event(f"{m.number} BUSY ({number}: {why})")
            return
        now = time.monotonic()
        m.state, m.peer = State.DIALING, callee
        m.deadline = now + max(1, m.hayes.reg(7))
        callee.state, callee.peer = State.RINGING, m
        callee.hayes.registers[1] = 0
        callee.next_ring = now + 0.05

    def _answer(self, m: _Modem) -> None:
        if m.wire is not None and m.state in (State.IDLE, State.VOICE):
            # No exchange, no ring: go off hook with answer tone and wait S7 for a caller's carrier.
            self._reset_voice(m)
            m.state = State.ANSWERING
            m.deadline = time.monotonic() + max(1, m.hayes.reg(7))
            self._event(f"{m.number} ANSWER (direct line: answer tone for {max(1, m.hayes.reg(7))} s)")
            self._try_connect(m)
            return
        if m.state is not State.RINGING or m.peer is None:
            self._send(m, m.hayes.result(Result.NO_CARRIER))
            self._event(f"{m.number} ATA without a call: NO CARRIER")
            return
        caller = m.peer
        deadline = time.monotonic() + self.connect_delay
        for side in (m, caller):
            side.state = State.CONNECTING
            side.next_ring = None
            side.deadline = deadline
        self._event(f"{m.number} ANSWER")

    def _hangup(self, m: _Modem) -> None:
        """Put ``m`` on hook; a peer still in the call gets NO CARRIER."""
        peer = m.peer
        was = m.state
        m.state, m.peer = State.IDLE, None
        m.next_ring = m.deadline = None
        m.line_queue.clear()
        self._reset_voice(m)
        self._reset_dial(m)
        if was is not State.IDLE:
            self._event(f"{m.number} hangup ({was.value})")
        if peer is None:
            return
        pstate = peer.state
        peer.state, peer.peer = State.IDLE, None
        peer.next_ring = peer.deadline = None
        peer.line_queue.clear()
        if pstate is State.RINGING:
            self._event(f"{peer.number} ringing stopped")
        elif pstate is not State.IDLE:
            self._send(peer, peer.hayes.result(Result.NO_CARRIER))
            self._event(f"{peer.number} NO CARRIER")
            if pstate in (State.ONLINE, State.ONLINE_COMMAND):
                self._carrier_lost(peer)

    def _carrier_lost(self, m: _Modem) -> None:
        """DCD dropped. On a serial port without CLOCAL the kernel hangs up the session
        (SIGHUP to the foreground process group: pppd, login); a pty has no DCD, so the
        simulator sends that signal itself, to the slave's foreground process group
        (read through the master; TIOCSIG would refuse SIGHUP)."""
        if m.hayes.settings.dcd_mode != 1 or not m.is_open:
            return
        try:
            attrs = termios.tcgetattr(m.master)
        except termios.error:
            return
        if attrs[2] & termios.CLOCAL:
            return  # the port's user asked to ignore carrier ("local")
        try:
            pgrp = os.tcgetpgrp(m.master)
            if pgrp <= 0 or pgrp == os.getpgrp():
                return  # the port is no one's controlling terminal
            os.killpg(pgrp, signal.SIGHUP)
        except OSError:
            return
        self._event(f"{m.number} SIGHUP to the port's session (carrier lost)")

    def _timers(self, now: float) -> None:
        for m in list(self._modems.values()):
            if m.state is State.RINGING and m.next_ring is not None and now >= m.next_ring:
                m.hayes.registers[1] = m.hayes.reg(1) + 1
                rings = m.hayes.reg(1)
                self._send(m, m.hayes.result(Result.RING))
                self._event(f"{m.number} RING {rings}")
                m.next_ring = now + self.ring_interval
                s0 = m.hayes.reg(0)
                if s0 and rings >= s0:
                    self._answer(m)
            elif m.state is State.DIALING and m.wire is not None:
                self._direct_dialing(m, now)
            elif m.state is State.ANSWERING and m.deadline is not None and now >= m.deadline:
                self._hangup(m)
                self._send(m, m.hayes.result(Result.NO_CARRIER))
                self._event(f"{m.number} NO CARRIER (no caller's carrier within S7 after ATA)")
            elif m.state is State.DIALING and m.deadline is not None and now >= m.deadline:
                callee = m.peer
                self._hangup(m)
                self._send(m, m.hayes.result(Result.NO_ANSWER))
                self._event(f"{m.number} NO ANSWER" + (f" ({callee.number} did not answer)" if callee else ""))
            elif m.state is State.CONNECTING and m.deadline is not None and now >= m.deadline:
                m.state, m.deadline = State.ONLINE, None
                m.escape = EscapeDetector(m.hayes.guard_time, m.hayes.escape_char)
                m.escape.reset(now)
                m.tokens, m.last_refill = 0.0, now
                m.online_since = now
                self._send(m, m.hayes.result(Result.CONNECT, self.connect_speed))
                self._event(f"{m.number} CONNECT {self.connect_speed}")
            if m.state is State.ONLINE and m.escape.due(now):
                m.state = State.ONLINE_COMMAND
                m.hayes.clear_input()
                self._send(m, m.hayes.result(Result.OK))
                self._event(f"{m.number} escape to command mode")

    # ---- direct lines and voice mode ------------------------------------------------------
    def _reset_voice(self, m: _Modem) -> None:
        m.voice_tx.clear()
        m.played.clear()
        m.dle = m.vtx_ending = False
        m.after_vtx.clear()

    def _reset_dial(self, m: _Modem) -> None:
        m.dial_phase, m.dial_number, m.digits_sent = "", "", 0
        m.next_digit = m.next_listen = None
        m.tone_heard = 0.0

    def _voice_line(self, m: _Modem, offhook: bool) -> None:
        """+VLS=1 / ATA in voice mode: off hook with the audio path; +VLS=0, +FCLASS=0: on hook."""
        if offhook:
            if m.state is State.RINGING:
                if m.peer is not None:  # a voice answer gives an exchange caller no carrier
                    m.peer.peer = None
                m.peer, m.next_ring = None, None
            if m.state in (State.IDLE, State.RINGING):
                m.state = State.VOICE
                self._reset_voice(m)
                self._event(f"{m.number} off hook (voice)")
        elif m.state in (State.VOICE, State.VOICE_TX):
            m.state = State.IDLE
            self._reset_voice(m)
            self._event(f"{m.number} on hook (voice)")

    def _voice_transmit(self, m: _Modem) -> None:
        if m.state is not State.VOICE:
            self._send(m, m.hayes.result(Result.ERROR))
            return
        m.state = State.VOICE_TX
        self._reset_voice(m)
        m.play_clock = time.monotonic()
        self._send(m, m.hayes.result(Result.CONNECT))
        cml, rate = m.hayes.settings.vsm
        self._event(f"{m.number} voice transmit ({tones_name(cml)} at {rate} Hz)")

    def _voice_data(self, m: _Modem, data: bytes) -> None:
        """Audio from the DTE during +VTX, with V.253's DLE shielding."""
        if m.vtx_ending:
            m.after_vtx += data  # commands for when the buffer has played
            return
        samples = bytearray()
        for i, byte in enumerate(data):
            if m.dle:
                m.dle = False
                if byte == DLE:
                    samples.append(DLE)
                elif byte == SUB:
                    samples += bytes((DLE, DLE))
                elif byte == CAN:
                    samples.clear()
                    m.voice_tx.clear()
                elif byte == ETX:
                    m.vtx_ending = True
                    m.after_vtx += data[i + 1 :]
                    break
                continue  # other shielded codes (volume, abort): nothing to simulate
            if byte == DLE:
                m.dle = True
            else:
                samples.append(byte)
        room = 8 * VOICE_BUFFER - len(m.voice_tx)  # beyond this a real modem overruns: drop
        m.voice_tx += samples[: max(0, room)]

    def _pump_voice(self, now: float) -> None:
        """Play buffered audio in real time; end +VTX once <DLE><ETX> came and all has played."""
        for m in list(self._modems.values()):
            if m.state is not State.VOICE_TX:
                continue
            rate = m.hayes.settings.vsm[1]
            n = int((now - m.play_clock) * rate)
            if n <= 0:
                continue
            m.play_clock += n / rate
            chunk = bytes(m.voice_tx[:n])
            del m.voice_tx[:n]
            if len(chunk) < n:  # underrun: the line carries silence
                zero = tones.SILENCE if m.hayes.settings.vsm[0] == tones.UNSIGNED_PCM else 0
                chunk += bytes([zero]) * (n - len(chunk))
            m.played += chunk
            del m.played[: max(0, len(m.played) - PLAYED_KEEP)]
            if m.vtx_ending and not m.voice_tx:
                m.state = State.VOICE
                rest = bytes(m.after_vtx)
                self._reset_voice(m)
                self._send(m, m.hayes.result(Result.OK))
                self._event(f"{m.number} voice transmit ended")
                if rest:
                    self._from_dte(m, rest)

    def _hears_dial_tone(self, m: _Modem) -> bool:
        """Whether the audio at the other end of ``m``'s cable, the last 100 ms, is a dial tone."""
        other = m.wire
        if other is None or other.state is not State.VOICE_TX:
            return False
        rate = other.hayes.settings.vsm[1]
        window = int(rate * LISTEN_WINDOW)
        if len(other.played) < window:
            return False
        audio = tones.decode(other.played[-window:], other.hayes.settings.vsm[0])
        return tones.is_dial_tone(audio, rate)

    def _dial_direct(self, m: _Modem, number: str) -> None:
        """ATD on a direct pair: off hook, dial tone (X2/X4) or a blind pause, DTMF, carrier wait."""
        now = time.monotonic()
        m.state, m.peer = State.DIALING, None
        m.dial_number, m.dial_phase, m.digits_sent = number, "tone", 0
        m.tone_heard = 0.0
        wait = max(2, m.hayes.reg(6))
        m.deadline = now + wait
        if m.hayes.settings.xlevel in (2, 4):
            m.next_listen = now + LISTEN_WINDOW
            self._event(f"{m.number} off hook, waiting up to {wait} s for a dial tone (direct line)")
        else:
            self._event(f"{m.number} off hook, blind dialing in {wait} s (direct line)")

    def _direct_dialing(self, m: _Modem, now: float) -> None:
        if m.dial_phase == "tone":
            if m.next_listen is not None and now >= m.next_listen:
                m.next_listen = now + LISTEN_WINDOW
                m.tone_heard = m.tone_heard + LISTEN_WINDOW if self._hears_dial_tone(m) else 0.0
                if m.tone_heard >= DIALTONE_DETECT - 1e-9:
                    self._event(f"{m.number} dial tone heard")
                    self._start_digits(m, now)
                    return
            if m.deadline is not None and now >= m.deadline:
                if m.next_listen is not None:
                    self._hangup(m)
                    self._send(m, m.hayes.result(Result.NO_DIALTONE))
                    self._event(f"{m.number} NO DIALTONE (direct line: no dial tone from the other end)")
                else:
                    self._start_digits(m, now)
        elif m.dial_phase == "digits":
            while m.next_digit is not None and now >= m.next_digit:
                digit = m.dial_number[m.digits_sent]
                m.digits_sent += 1
                other = m.wire
                if other is not None and other.state in (State.VOICE, State.VOICE_TX) and \
                        other.hayes.settings.vem & DTMF_EVENT:
                    self._send(other, bytes((DLE,)) + digit.encode())
                    self._event(f"{other.number} DTMF {digit}")
                if m.digits_sent >= len(m.dial_number):
                    self._start_carrier(m, now)
                else:
                    m.next_digit += self._digit_time(m)
        elif m.dial_phase == "carrier" and m.deadline is not None and now >= m.deadline:
            self._hangup(m)
            self._send(m, m.hayes.result(Result.NO_CARRIER))
            self._event(f"{m.number} NO CARRIER (no answer tone within S7)")

    @staticmethod
    def _digit_time(m: _Modem) -> float:
        """A DTMF digit and the pause after it: 2 x S11 milliseconds (Hayes default 95)."""
        return 2 * max(50, m.hayes.reg(11)) / 1000.0

    def _start_digits(self, m: _Modem, now: float) -> None:
        m.next_listen = None
        m.deadline = None
        if not m.dial_number:
            self._start_carrier(m, now)
            return
        m.dial_phase = "digits"
        m.next_digit = now + self._digit_time(m)

    def _start_carrier(self, m: _Modem, now: float) -> None:
        m.dial_phase, m.next_digit = "carrier", None
        m.deadline = now + max(1, m.hayes.reg(7))
        self._event(f"{m.number} dialed {m.dial_number or '(no digits)'}, waiting for a carrier")
        self._try_connect(m)

    def _try_connect(self, m: _Modem) -> None:
        """A direct pair connects once one end answers (ATA) while the other waits for a carrier."""
        other = m.wire
        if other is None:
            return
        for answerer, caller in ((m, other), (other, m)):
            if answerer.state is State.ANSWERING and caller.state is State.DIALING and caller.dial_phase == "carrier":
                deadline = time.monotonic() + self.connect_delay
                answerer.peer, caller.peer = caller, answerer
                for side in (answerer, caller):
                    side.state = State.CONNECTING
                    side.deadline = deadline
                    side.dial_phase = ""
                self._event(f"{answerer.number} carrier from {caller.number}: training")
                return

    def _pump_line(self, now: float) -> None:
        """Move throttled data along the wire at ``bps``/10 bytes per second."""
        if not self.bps:
            return
        rate = self.bps / 10.0
        burst = max(16.0, rate * 0.05)  # 50 ms: a late wake-up must not cost line time
        for m in self._modems.values():
            m.tokens = min(burst, m.tokens + (now - m.last_refill) * rate)
            m.last_refill = now
            if not m.line_queue:
                continue
            peer = m.peer
            if peer is None or m.state not in (State.ONLINE, State.ONLINE_COMMAND):
                m.line_queue.clear()
                continue
            n = min(int(m.tokens), len(m.line_queue))
            if n <= 0 or len(peer.out) >= BACKLOG:
                continue
            chunk = bytes(m.line_queue[:n])
            del m.line_queue[:n]
            m.tokens -= n
            if peer.state is State.ONLINE:
                self._send(peer, chunk)


def tones_name(compression: int) -> str:
    return {tones.UNSIGNED_PCM: "8-bit unsigned PCM", tones.SIGNED_PCM: "8-bit signed PCM"}.get(
        compression, f"compression {compression}")


def _hung_up(master: int) -> bool:
    """True when no program holds the pty's slave (POLLHUP on the master)."""
    p = select.poll()
    p.register(master, select.POLLIN)
    return any(rev & select.POLLHUP for _, rev in p.poll(0))


def _make_raw(master: int) -> None:
    """Make the slave raw (8 bits, no echo, no signals), through the master."""
    try:
        attrs = termios.tcgetattr(master)
        attrs[0] &= ~(termios.BRKINT | termios.ICRNL | termios.INPCK | termios.ISTRIP | termios.IXON)
        attrs[1] &= ~termios.OPOST
        attrs[2] = (attrs[2] & ~(termios.CSIZE | termios.PARENB)) | termios.CS8 | termios.CLOCAL
        attrs[3] &= ~(termios.ECHO | termios.ICANON | termios.IEXTEN | termios.ISIG)
        attrs[6][termios.VMIN] = 1
        attrs[6][termios.VTIME] = 0
        termios.tcsetattr(master, termios.TCSANOW, attrs)
    except termios.error:
        pass


def _slave_echoes(master: int) -> bool:
    try:
        return bool(termios.tcgetattr(master)[3] & termios.ECHO)
    except termios.error:
        return False


def _dtr_low(master: int) -> bool:
    """Whether the port's user set speed B0, the termios way of dropping DTR."""
    try:
        attrs = termios.tcgetattr(master)
    except termios.error:
        return False
    return bool(attrs[5] == termios.B0)


def _make_link(link: Path, target: str) -> None:
    """Point ``link`` at the pty, replacing a stale symlink but never a real file."""
    if link.is_symlink():
        old = os.readlink(link)
        if not old.startswith("/dev/pts/"):
            raise UserError(f"{link} is a symlink to {old}, not to a pty: remove it first or choose another name")
    elif link.exists():
        raise UserError(f"{link} already exists and is not a symlink: choose another name for the simulated port")
    tmp = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass
    os.symlink(target, tmp)
    os.replace(tmp, link)
