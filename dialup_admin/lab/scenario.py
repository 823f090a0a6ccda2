"""The whole guide on the real stack: a server guest and caller guests on simulated phone lines.

:class:`Lab` runs the project's phone-line simulator on the host and boots user-mode
Linux guests (:mod:`dialup_admin.lab.guest`) on its modems: one **server** guest whose
``/dev/ttyS1``, ``/dev/ttyS2``... are the modems of numbers 11, 12..., and one
**client** guest per caller, whose ``/dev/ttyS1`` is the modem of number 21, 22...
Each guest runs an :class:`~dialup_admin.lab.agent.Agent`: the host sends it steps.

Every step is ``dialup-admin`` itself (the host's install, seen through hostfs), on the
guest's private /etc. The server guest's PID 1 is ``init``: with ``systemd`` or
``sysvinit`` (``lab``'s default is systemd) ``setup-server`` picks that init by itself
and starts mgetty through it, then ``adduser``; with ``none`` (this class's default, the
older scenarios') ``setup-server --init none`` and mgetty for each line in the lab's
own respawn loop (the command line is the one setup-server prints). In a client guest
``setup-client``, ``dial``, ``status``, ``stats``, ``hangup``. Nothing pppd or mgetty
reads is hand-written. Between steps the lab pings and moves random data across the
link (:mod:`dialup_admin.lab.transfer`).

What this changes on the host: the simulator's ptys, the guests' processes (all killed
on exit) and the lab folder (removed when it was a temporary one and all passed):

- ``transcript.log`` everything shown, timed; ``events.log`` the phone line's events
  (every AT command, RING, CONNECT, DTR, NO CARRIER); ``report.json`` the figures;
- ``server/``: ``syslog.log`` (pppd's and mgetty's syslog, the tool's useradd...),
  ``mgetty-ttyS1.log`` (mgetty's own log), ``respawn-ttyS1.log``, ``console.log``,
  ``steps/NN-name.log`` (each step's command, output, status and time);
- ``client/`` (``client1/``, ``client2/``...): ``syslog.log`` (pppd and chat),
  ``console.log``, ``steps/``.

UML cannot pass a guest's DTR on to the host: where a real port would drop DTR
(mgetty starting again, pppd closing the caller's port), the lab does it on the
host pty (:func:`drop_dtr`), and drains what a closed port would have dropped. With a
real init the server guest's port watcher (:mod:`dialup_admin.lab.uart`) says when.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from dialup_admin.errors import BadInput, UserError
from dialup_admin.lab import uart
from dialup_admin.lab.agent import HEARTBEAT, Agent, StepResult, agent_script
from dialup_admin.lab.boot import INITS
from dialup_admin.lab.guest import Guest, GuestError, module_dir, tool_command, uml_binary
from dialup_admin.lab.pppmon import PppMonitor
from dialup_admin.lab.transfer import MIB
from dialup_admin.modem.simulator import PhoneLine
from dialup_admin.paths import Paths
from dialup_admin.render import render
from dialup_admin.system import mgetty as mgetty_sys
from dialup_admin.system import serial

SERVER_NUMBERS = ("11", "12", "13", "14")
CLIENT_NUMBERS = ("21", "22", "23", "24")
GUEST_TTYS = ("ttyS1", "ttyS2", "ttyS3", "ttyS4")
POOL_SERVER = "192.168.32.1"  # setup-server's first line's local address (default pool)

# Phone line events worth showing as they happen (the rest go to events.log only).
_SHOWN_EVENTS = re.compile(r" (DIAL|RING 1|ANSWER|CONNECT|NO CARRIER|BUSY|NO ANSWER|DTR dropped|dial tone heard|"
                           r"dialed|NO DIALTONE|voice transmit \()")
# The server's syslog lines worth showing as they happen: mgetty handing over, pppd's story.
_SHOWN_SERVER_LOG = re.compile(
    r"(mgetty\[\d+\]: data dev=|dialup-admin-answer\[\d+\]: |pppd\[\d+\]: (Connect:|PAP peer authentication|user \S+ logged in|"
    r"(local|remote) +IP address|LCP terminated|No response to|Serial link appears|Connection terminated|"
    r"Exit\.))")
# busybox syslogd: "Dec  4 19:03:43 server daemon.info pppd[9]: "; the journal: "Dec 04 19:03:43 server pppd[9]: ".
_SYSLOG_PREFIX = re.compile(r"^\w{3} [ \d]\d \d\d:\d\d:\d\d \S+ (?:[a-z0-9]+\.[a-z]+ )?")
_EXIT_RE = re.compile(r"^(?:mgetty|answer) exit ", re.MULTILINE)  # a respawn loop's program ended
_IP_RE = re.compile(r"(local|remote) +IP address ([0-9.]+)")
_RATE_RE = re.compile(r"^(up|down) (\d+) bytes in ([0-9.]+) s: ([0-9.]+) kB/s, sha256 (\S+)")
_RTT_RE = re.compile(r"min/avg/max = ([0-9.]+)/([0-9.]+)/([0-9.]+) ms")

Say = Callable[[str], None]


@dataclass(frozen=True)
class User:
    """A dial-in account the server guest creates with ``adduser`` (``ip``: ``--ip``)."""

    name: str
    password: str
    ip: str | None = None


@dataclass
class Call:
    """One call's figures, filled in as its steps succeed."""

    number: int
    client: str
    user: str
    ok: bool = False
    refused: bool = False
    dial_seconds: float | None = None
    """Host wall time of the whole ``dial`` step (the tool's start in the guest included)."""
    atd_to_ip: float | None = None
    """From the caller's modem seeing ATD to dial having the link up with its addresses."""
    connect_to_ip: float | None = None
    """From the caller's modem saying CONNECT to the same (LCP, PAP, IPCP and dial's own polling)."""
    connect_to_ipcp: float | None = None
    """From CONNECT to both sides having acknowledged IPCP, read off the line (the lab's PPP monitor)."""
    local_ip: str | None = None
    remote_ip: str | None = None
    rtt_ms: float | None = None
    up_kbs: float | None = None
    down_kbs: float | None = None
    failed_stage: str | None = None
    dial_output: str = ""
    caller: str = "dialup-admin dial"
    """Who dialed: the tool's own dial, or a stock pppd with chat (direct lab)."""
    expect_refusal: bool = False


@dataclass
class Report:
    """What a lab run did: the calls, whether all passed, where the logs are, how long it took."""

    folder: Path
    init: str = "none"
    calls: list[Call] = field(default_factory=list)
    setup_seconds: float | None = None
    boot_seconds: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    error: str | None = None
    log_lines: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.error is None and bool(self.calls) and all(c.ok for c in self.calls)

    def as_json(self) -> dict[str, object]:
        return {
            "passed": self.passed,
            "folder": str(self.folder),
            "init": self.init,
            "seconds": round(self.seconds, 2),
            "setup_seconds": None if self.setup_seconds is None else round(self.setup_seconds, 2),
            "boot_seconds": {k: round(v, 2) for k, v in self.boot_seconds.items()},
            "error": self.error,
            "calls": [{k: (round(v, 3) if isinstance(v, float) else v) for k, v in vars(c).items()
                       if k != "dial_output"} for c in self.calls],
        }


def mgetty_command(output: str, tty: str) -> str:
    """The mgetty command line for ``tty`` that ``setup-server --init none`` said to keep running."""
    for line in output.splitlines():
        if "--init none" in line and "): " in line:
            for command in line.split("): ", 1)[1].split(";"):
                if f" {tty} " in f" {command.strip()} ":
                    return command.strip()
    raise UserError(f"setup-server did not say how to run mgetty for {tty} with --init none")


def new_lines(path: Path, offset: int) -> tuple[list[str], int]:
    """The whole lines written to the log ``path`` after ``offset``, and the offset after them
    (a file shorter than ``offset`` is a new one, as a guest's next boot's log: read from its start)."""
    try:
        if path.stat().st_size < offset:
            offset = 0
        with open(path, "rb") as fh:
            fh.seek(offset)
            data = fh.read()
    except OSError:
        return [], offset
    end = data.rfind(b"\n") + 1
    return data[:end].decode(errors="replace").splitlines(), offset + end


def drop_dtr(pty: str, seconds: float = 0.3) -> None:
    """Drop DTR on a guest's serial line for ``seconds``: set the host pty's speed to B0 and back.

    A guest's serial port is a host pty that UML holds open: when a program in the
    guest closes the port (HUPCL) or mgetty toggles DTR, UML does not pass it on
    (TIOCMBIC fails, B0 is not copied to the host). The simulator sees a dropped DTR as
    speed B0 on the pty, so the lab does on the host what the guest's UART would have done.
    """
    fd = os.open(pty, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        serial.drop_dtr(fd, seconds)
    finally:
        os.close(fd)


@contextmanager
def failing_at(call: Call) -> Iterator[None]:
    """A step failing inside marks ``call`` failed at that step's stage; the error goes on."""
    try:
        yield
    except GuestError as exc:
        call.failed_stage = exc.stage
        raise


def wait_mgetty_on(agent: Agent, name: str, tty: str, log: str, count: int, timeout: float) -> None:
    """Wait in ``agent``'s guest until mgetty on ``tty`` has said ``waiting...`` ``count`` times in ``log``."""
    agent.run(name, render("lab/wait-mgetty.sh.j2", tty=tty, log=log, count=count, timeout=int(timeout)),
              timeout=timeout + 30)


def check_host() -> None:
    """Raise a one-line :class:`UserError` saying what to install if the lab cannot run here."""
    try:
        uml_binary()
        module_dir()
    except UserError as exc:
        raise UserError(f"the lab needs user-mode Linux, a kernel with PPP that runs as a program: {exc}") from None
    for prog, package in (("busybox", "busybox-static"), ("pppd", "ppp"), ("chat", "ppp"), ("mgetty", "mgetty")):
        if shutil.which(prog, path="/usr/sbin:/sbin:/usr/bin:/bin:/usr/local/sbin") is None:
            raise UserError(f"{prog} not found: the lab guests run this machine's own; "
                            f"install it: apt-get install {package}")


class Lab:
    """A phone line, one server guest with ``lines`` modems, ``clients`` caller guests.

    Use as a context manager: entering starts the simulator and boots the guests;
    leaving kills every guest, collects the logs into :attr:`folder` and stops the line.
    """

    def __init__(self, folder: str | Path | None = None, *, lines: int = 1, clients: int = 1,
                 bps: int | None = None, say: Say | None = None, keep: bool = False, init: str = "none",
                 direct: bool = False) -> None:
        if not 1 <= lines <= len(SERVER_NUMBERS) or not 1 <= clients <= len(CLIENT_NUMBERS):
            raise BadInput(f"a lab has 1 to {len(SERVER_NUMBERS)} lines and 1 to {len(CLIENT_NUMBERS)} callers")
        if init not in INITS:
            raise BadInput(f"--init {init!r}: use one of {', '.join(INITS)}")
        if direct and (lines, clients) != (1, 1):
            raise BadInput("a direct lab has one line cabled to one caller")
        self.init = init
        self.boots = 0  # how many times the server guest has booted
        self._log_offset = 0  # how much of the server's syslog has been shown
        self.direct = direct
        self.dial_number: str | None = None  # what callers dial (a direct line's answer may want one)
        self._own_folder = folder is None
        self.folder = Path(tempfile.mkdtemp(prefix="dialup-lab-")) if folder is None else Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.keep = keep
        self.lines = lines
        self.ttys = list(GUEST_TTYS[:lines])
        self.client_names = [f"client{i + 1}" if clients > 1 else "client" for i in range(clients)]
        self.bps = bps
        self._say = say
        self._lock = threading.Lock()
        self._t0 = time.monotonic()
        self._transcript = open(self.folder / "transcript.log", "w", encoding="utf-8")  # noqa: SIM115
        self.events: list[tuple[float, str]] = []
        self.ppp = PppMonitor()
        self._events_file = open(self.folder / "events.log", "w", encoding="utf-8")  # noqa: SIM115
        self.line: PhoneLine | None = None
        self.server: Agent | None = None
        self.clients: dict[str, Agent] = {}
        self.number_of: dict[str, str] = {}  # client name -> its modem's number
        self.tool_cmd = tool_command()
        self.python = shlex.quote(sys.executable)
        self.mgetty_log = {tty: mgetty_sys.detect(Paths(Path("/"))).log_file(tty) for tty in self.ttys}
        self.ok = False
        self._stop_watch = threading.Event()
        self._watch: threading.Thread | None = None
        self.boot_seconds: dict[str, float] = {}
        self.setup_seconds: float | None = None

    # -- output --------------------------------------------------------------------

    def say(self, text: str) -> None:
        """Show a line (and keep it in transcript.log), from any thread."""
        with self._lock:
            if not self._transcript.closed:
                self._transcript.write(f"{time.monotonic() - self._t0:7.2f} {text}\n")
                self._transcript.flush()
            if self._say is not None:
                self._say(text)

    def _event(self, text: str) -> None:
        now = time.monotonic()
        number, _, what = text.partition(" ")
        if what.startswith("CONNECT"):
            self.ppp.reset(number)
        with self._lock:
            self.events.append((now, text))
            if not self._events_file.closed:
                self._events_file.write(f"{now - self._t0:7.2f} {text}\n")
                self._events_file.flush()
        if _SHOWN_EVENTS.search(text):
            self.say(f"  line: {self._describe(text)}")

    def _monitor(self, number: str, data: bytes) -> None:
        """The line monitor: each PPP negotiation frame a modem sends becomes an event (events.log)."""
        for name in self.ppp.feed(number, data):
            self._event(f"{number} ppp {name}")

    def _describe(self, event: str) -> str:
        number, _, what = event.partition(" ")
        who = "server" if number in SERVER_NUMBERS else next(
            (n for n, num in self.number_of.items() if num == number), number)
        return f"{who} ({number}) {what}"

    def event_time(self, pattern: str, since: float) -> float | None:
        """Host time of the first phone-line event containing ``pattern`` at or after ``since``."""
        with self._lock:
            return next((t for t, e in self.events if t >= since and pattern in e), None)

    # -- lifecycle -----------------------------------------------------------------

    def __enter__(self) -> Lab:
        try:
            self.start()
        except BaseException:
            self.close(failed=True)
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close(failed=exc is not None or not self.ok)

    def start(self) -> None:
        """Start the phone line and boot the guests (they start in parallel)."""
        check_host()
        numbers: dict[str, str | None] = {n: None for n in SERVER_NUMBERS[:self.lines]}
        for name, number in zip(self.client_names, CLIENT_NUMBERS, strict=False):
            numbers[number] = None
            self.number_of[name] = number
        speed = f"{self.bps} bps" if self.bps else "full speed"
        if self.direct:
            self.say(f"Direct line: the caller's modem ({CLIENT_NUMBERS[0]}) cabled to the server's "
                     f"({SERVER_NUMBERS[0]}), no exchange ({speed})")
        else:
            self.say(f"Phone line: server on {', '.join(SERVER_NUMBERS[:self.lines])}, callers on "
                     f"{', '.join(self.number_of.values())} ({speed})")
        # A direct lab cables the caller's modem to the server's: no exchange, no dial tone, no ring.
        wired = [(SERVER_NUMBERS[0], CLIENT_NUMBERS[0])] if self.direct else []
        self.line = PhoneLine(numbers, bps=self.bps, ring_interval=1.0, log=self._event, trace=True,
                              direct=wired, monitor=self._monitor).start()
        self.server = Agent(self._server_guest())
        self.boots = 1
        for name in self.client_names:
            guest = Guest(name, agent_script(), folder=self.folder / name, serial=[self.line.pty(self.number_of[name])])
            self.clients[name] = Agent(guest)
        agents = [self.server, *self.clients.values()]
        self.say(f"Booting {len(agents)} user-mode Linux guests (kernel PPP): {', '.join(a.guest.name for a in agents)}")
        for agent in agents:
            agent.guest.start()
        for agent in agents:
            agent.guest.wait_ready(timeout=180 if agent is self.server and self.init != "none" else 90)
        self.boot_seconds = {a.guest.name: a.guest.boot_seconds() or 0.0 for a in agents}
        self.say("  booted in " + ", ".join(f"{k} {v:.1f} s" for k, v in self.boot_seconds.items()))
        self._watch = threading.Thread(target=self._watch_respawns, name="lab-dtr", daemon=True)
        self._watch.start()

    def _server_guest(self) -> Guest:
        """The server guest: ``init`` as its PID 1; with a real init, its own disk (it survives a reboot)."""
        assert self.line is not None
        folder = self.folder / "server"
        return Guest("server", agent_script(), folder=folder, init=self.init,
                     serial=[self.line.pty(n) for n in SERVER_NUMBERS[:self.lines]],
                     absent_serial=[self.lines + 1] if self.lines < len(GUEST_TTYS) else [],
                     disk=folder / "disk.img" if self.init != "none" else None,
                     # The guest's /var/log is an empty tmpfs; the mgetty package ships this directory.
                     make_dirs=sorted({str(Path(p).parent) for p in self.mgetty_log.values()}))

    def _watch_respawns(self) -> None:
        """Each time mgetty (or the pppd it became) exits on a server line, drop that line's DTR
        as the closing port would, then let the respawn loop start mgetty again (file dtr-TTY-N)."""
        assert self.server is not None and self.line is not None
        seen = dict.fromkeys(self.ttys, 0)
        syslog = self.server.guest.folder / "syslog.log"
        beat = 0.0
        while not self._stop_watch.wait(0.05):
            self._log_offset = self._show_server_log(syslog, self._log_offset)
            if time.monotonic() - beat > 1:
                beat = time.monotonic()
                for agent in [self.server, *self.clients.values()]:
                    (agent.guest.folder / HEARTBEAT).touch()
            if self.init != "none":
                self._serve_dtr_requests()
                continue
            for i, tty in enumerate(self.ttys):
                log = self.server.guest.folder / f"respawn-{tty}.log"
                try:
                    exits = len(_EXIT_RE.findall(log.read_text(errors="replace")))
                except OSError:
                    continue
                while seen[tty] < exits:
                    seen[tty] += 1
                    try:
                        drop_dtr(self.line.pty(SERVER_NUMBERS[i]))
                    except OSError as exc:
                        self.say(f"  lab: could not drop DTR on {tty}: {exc}")
                    self.server.guest.put(f"dtr-{tty}-{seen[tty]}", "")

    def _serve_dtr_requests(self) -> None:
        """Drop DTR where the server guest's port watcher saw a port's last close (:mod:`~dialup_admin.lab.uart`)."""
        assert self.server is not None and self.line is not None
        folder = self.server.guest.folder
        for request in sorted(folder.glob(f"{uart.REQUEST}-*"), key=lambda p: p.stat().st_mtime):
            tty = request.name[len(uart.REQUEST) + 1:].rsplit("-", 1)[0]
            if tty in self.ttys:
                try:
                    drop_dtr(self.line.pty(SERVER_NUMBERS[self.ttys.index(tty)]))
                except OSError as exc:
                    self.say(f"  lab: could not drop DTR on {tty}: {exc}")
            request.unlink(missing_ok=True)

    def _show_server_log(self, syslog: Path, offset: int) -> int:
        """Show the server's new syslog lines that tell the call's story; return the new offset."""
        lines, offset = new_lines(syslog, offset)
        for line in lines:
            if _SHOWN_SERVER_LOG.search(line):
                self.say(f"  server log: {_SYSLOG_PREFIX.sub('', line)}")
        return offset

    def close(self, failed: bool = False) -> None:
        """Collect mgetty's logs, kill the guests, stop the line. Keeps the folder on failure or ``keep``."""
        self._stop_watching()
        if self.server is not None and self.server.guest.running:
            try:
                self.collect_mgetty_logs()
            except UserError:
                pass
        agents = [a for a in [self.server, *self.clients.values()] if a is not None]
        # A guest with a real init is simply switched off: its logs are all here.
        self._power_off(agents, switch_off=[self.server] if self.init != "none" else [])
        self._release(failed)

    def _stop_watching(self) -> None:
        self._stop_watch.set()
        if self._watch is not None:
            self._watch.join(timeout=10)

    def _power_off(self, agents: Sequence[Agent], switch_off: Sequence[Agent | None] = ()) -> None:
        """End each agent (its guest powers off) and close the guests; those in ``switch_off`` are just killed."""
        ended = [a for a in agents if a not in switch_off]
        for agent in ended:
            if agent.guest.running:
                agent.stop()
        deadline = time.monotonic() + 20
        for agent in agents:
            while agent in ended and agent.guest.running and time.monotonic() < deadline:
                time.sleep(0.05)
            agent.guest.keep = True  # the lab folder decides
            agent.guest.close()

    def _release(self, failed: bool) -> None:
        """Stop the phone line, close the logs; remove a temporary folder unless ``failed`` or ``keep``."""
        if self.line is not None:
            try:
                self.line.stop()
            except RuntimeError as exc:
                self.say(f"phone line: {exc}")
            self.line = None
        with self._lock:
            self._transcript.close()
            self._events_file.close()
        if self._own_folder and not self.keep and not failed:
            shutil.rmtree(self.folder, ignore_errors=True)

    def collect_mgetty_logs(self, into: str = "") -> None:
        """Copy the server guest's mgetty logs (on its tmpfs /var/log) into its folder (``into``: a subfolder)."""
        assert self.server is not None
        where = f"$LAB_FOLDER/{into}" if into else "$LAB_FOLDER"
        script = render("lab/collect-logs.sh.j2", where=where, logs=list(self.mgetty_log.items()))
        self.server.run("collect-logs", script, timeout=30)

    def reboot_server(self) -> float:
        """Power the server guest off through its init and boot it again on the same disk.

        The previous boot's logs and steps move to ``server/boot-N/``. Returns the host
        seconds from the power-off request to the new boot's command starting.
        """
        assert self.server is not None and self.init != "none"
        old = self.server
        archive = f"boot-{self.boots}"
        self.collect_mgetty_logs(archive)
        how = "systemctl poweroff" if self.init == "systemd" else "shutdown -h -P now"
        self.say(f"server$ {how}  (then the guest boots again on the same disk)")
        t0 = time.monotonic()
        old.stop()  # the agent ends; the guest's run script powers it off through its init
        try:
            old.guest.wait(timeout=180)
        finally:
            old.guest.close()
        self.say(f"  server: powered off after {time.monotonic() - t0:.1f} s")
        folder = old.guest.folder
        (folder / archive).mkdir(exist_ok=True)
        for path in list(folder.iterdir()):
            if re.match(r"^(cmd|out|rc|stop)-\d+$|^(console|syslog|output|uart|transfer)\.log$|^(status|ready|"
                        r"uart-ready|uart\.out|steps)$", path.name):
                path.replace(folder / archive / path.name)
        with self._lock:
            self._log_offset = 0
        self.server = Agent(self._server_guest())
        self.server.guest.start()
        self.server.guest.wait_ready(timeout=180)
        self.boots += 1
        seconds = time.monotonic() - t0
        boot = self.server.guest.boot_seconds() or 0.0
        self.boot_seconds[f"server (boot {self.boots})"] = boot
        self.say(f"  server: booted again in {boot:.1f} s ({seconds:.1f} s since the power-off request)")
        return seconds

    # -- helpers -------------------------------------------------------------------

    def client(self, name: str | None = None) -> Agent:
        return self.clients[name or self.client_names[0]]

    def step(self, agent: Agent, name: str, script: str, *, timeout: float = 120, show: bool = True,
             check: bool = True, title: str | None = None) -> StepResult:
        """Run one step in a guest, showing its command and output as it runs."""
        who = agent.guest.name
        self.say(f"{who}$ {title or script.strip().splitlines()[0]}")
        (agent.guest.folder / "steps").mkdir(exist_ok=True)
        result = agent.run(name, script, timeout=timeout, check=check,
                           show=(lambda line: self.say(f"  | {line}")) if show else None)
        (agent.guest.folder / "steps" / f"{len(agent.steps):02d}-{name}.log").write_text(
            f"$ {script.strip()}\n{result.output}(exit {result.status}, {result.seconds:.2f} s)\n")
        return result

    def tool(self, agent: Agent, name: str, args: str, *, stdin: str | None = None, timeout: float = 120,
             show: bool = True, check: bool = True) -> StepResult:
        """Run ``dialup-admin ARGS`` in a guest (``stdin``: a secret, piped, never on argv)."""
        script = f"{self.tool_cmd} {args}"
        if stdin is not None:
            (agent.guest.folder / ".stdin").write_text(stdin + "\n")
            (agent.guest.folder / ".stdin").chmod(0o600)
            script = f"{self.tool_cmd} {args} < \"$LAB_FOLDER/.stdin\"; rc=$?; rm -f \"$LAB_FOLDER/.stdin\"; exit $rc"
        return self.step(agent, name, script, timeout=timeout, show=show, check=check,
                         title=f"dialup-admin {args}" + (" (password on stdin)" if stdin is not None else ""))

    # -- the server ----------------------------------------------------------------

    def setup_server(self, users: Sequence[User], ttys: Sequence[str] | None = None) -> None:
        """setup-server for every line, adduser for each user, mgetty answering.

        With a real init (``systemd``, ``sysvinit``) setup-server chooses it by itself
        (``--init auto``) and starts mgetty through it; the lab then shows what the
        guide's step 9 checks (``pgrep``: mgetty runs as PID 1's service). With ``none``
        mgetty runs in the lab's own respawn loop, as setup-server says to.
        """
        if self.init != "none":
            self._setup_server_init(users, list(ttys or self.ttys))
            return
        assert self.server is not None
        t = time.monotonic()
        self.say("== The server: setup-server, adduser, mgetty on each line")
        ttys = " ".join(f"--tty {tty}" for tty in self.ttys)
        result = self.tool(self.server, "setup-server", f"setup-server {ttys} --init none", timeout=180)
        commands = {tty: mgetty_command(result.output, tty) for tty in self.ttys}
        for user in users:
            ip = f" --ip {user.ip}" if user.ip else ""
            self.tool(self.server, f"adduser-{user.name}", f"adduser {shlex.quote(user.name)}{ip} --password-stdin",
                      stdin=user.password, timeout=120)
        self.start_transfer_server()
        # The guest's /var/log is an empty tmpfs; the mgetty package ships this directory.
        log_dirs = sorted({str(Path(p).parent) for p in self.mgetty_log.values()})
        self.step(self.server, "mgetty-log-dir", f"mkdir -p {' '.join(map(shlex.quote, log_dirs))}", timeout=30)
        for tty, command in commands.items():
            self.respawn(self.server, tty, command)
        for tty in self.ttys:
            self.wait_mgetty(tty, 1)
        self.setup_seconds = time.monotonic() - t

    def _setup_server_init(self, users: Sequence[User], lines: list[str]) -> None:
        assert self.server is not None
        t = time.monotonic()
        self.say(f"== The server ({self.init} is PID 1): setup-server starts mgetty through it; adduser")
        self.start_uart()
        ttys = " ".join(f"--tty {tty}" for tty in lines)
        self.tool(self.server, "setup-server", f"setup-server {ttys}", timeout=180)
        for user in users:
            ip = f" --ip {user.ip}" if user.ip else ""
            self.tool(self.server, f"adduser-{user.name}", f"adduser {shlex.quote(user.name)}{ip} --password-stdin",
                      stdin=user.password, timeout=120)
        self.start_transfer_server()
        for tty in lines:
            self.wait_mgetty(tty, 1)
        self.show_mgetty(lines)
        self.setup_seconds = time.monotonic() - t

    def start_transfer_server(self) -> None:
        assert self.server is not None
        self.step(self.server, "transfer-server",
                  f"{self.python} -m dialup_admin.lab.transfer serve > \"$LAB_FOLDER/transfer.log\" 2>&1 &",
                  title="random-data server on port 5001 (for the transfers)", timeout=30)

    def start_uart(self) -> None:
        """Start the server guest's port watcher (a port's last close drops DTR: :mod:`~dialup_admin.lab.uart`)."""
        assert self.server is not None
        ttys = " ".join(self.ttys)
        self.step(self.server, "uart", render("lab/uart.sh.j2", python=self.python, ttys=self.ttys, ready=uart.READY),
                  title=f"the lab's DTR line: a port's last close drops DTR (watching {ttys})", timeout=90)

    def show_mgetty(self, ttys: Sequence[str] | None = None) -> StepResult:
        """What the guide checks: ``pgrep`` shows ``mgetty ttyS1 -D /dev/ttyS1``, run by PID 1's service."""
        assert self.server is not None
        script = render("lab/show-mgetty.sh.j2", init=self.init, ttys=list(ttys or self.ttys))
        return self.step(self.server, "pgrep-mgetty", script,
                         title="pgrep -a mgetty", timeout=60)

    def mgetty_waits(self, tty: str) -> int:
        """How many times mgetty on ``tty`` has said ``waiting...`` (once per start, ready for a call)."""
        assert self.server is not None
        r = self.server.run(f"mgetty-waits-{tty}", f"grep -c 'waiting\\.\\.\\.' {self.mgetty_log[tty]} || true",
                            timeout=30, check=False)
        try:
            return int(r.output.split()[-1])
        except (IndexError, ValueError):
            return 0

    def wait_mgetty(self, tty: str, count: int, timeout: float = 120) -> None:
        """Wait until mgetty on ``tty`` has started ``count`` times and waits for a call."""
        assert self.server is not None
        wait_mgetty_on(self.server, f"wait-mgetty-{tty}-{count}", tty, self.mgetty_log[tty], count, timeout)
        self.say(f"  server: mgetty on {tty} waits for a call ({'started' if count == 1 else f'respawned, start {count}'})")

    def respawn(self, agent: Agent, tty: str, command: str, program: str = "mgetty") -> None:
        """Keep ``command`` running on ``tty`` in a loop, as inittab's respawn would (``respawn-TTY.log``)."""
        self.step(agent, f"{program}-{tty}", render("lab/respawn.sh.j2", command=command, tty=tty, program=program),
                  title=f"respawn loop (as inittab would): {command}", timeout=30)

    # -- the callers ---------------------------------------------------------------

    def setup_client(self, client: str, user: User, server_line: int = 0, *, new_password: bool = False) -> None:
        """setup-client in the caller's guest: dial the server line's number as ``user``."""
        number = self.dial_number or SERVER_NUMBERS[server_line]
        extra = " --new-password" if new_password else ""
        self.tool(self.client(client), "setup-client",
                  f"setup-client --device /dev/ttyS1 --number {number} --user {shlex.quote(user.name)} "
                  f"--password-stdin{extra}", stdin=user.password)

    def dial(self, client: str, call: Call, *, expect_refusal: bool = False, timeout: float = 150) -> StepResult:
        """``dialup-admin dial``; fills in the call's times and addresses (or ``refused``)."""
        agent = self.client(client)
        since = time.monotonic()
        result = self.tool(agent, "dial", "dial", timeout=timeout, check=not expect_refusal)
        self.parse_dial(call, result, since)
        return result

    def parse_dial(self, call: Call, result: StepResult, since: float | None = None) -> None:
        """Fill in a call's figures from its dial step (just finished) and the line's events."""
        call.dial_seconds = result.seconds
        call.dial_output = result.output
        start = since if since is not None else time.monotonic() - result.seconds
        atd = self.event_time(f"{self.number_of[call.client]} DIAL", start)
        connect = self.event_time(f"{self.number_of[call.client]} CONNECT", start)
        now = time.monotonic() - 0.025  # less half the agent's poll interval
        if atd is not None and result.ok:
            call.atd_to_ip = now - atd
        if connect is not None and result.ok:
            call.connect_to_ip = now - connect
            acks = [self.event_time(f"{n} ppp IPCP ConfAck", connect) for n in (self.number_of[call.client],
                                                                               *SERVER_NUMBERS[:self.lines])]
            acked = [t for t in acks if t is not None]
            if len(acked) >= 2:
                call.connect_to_ipcp = sorted(acked)[1] - connect
        for kind, ip in _IP_RE.findall(result.output):
            setattr(call, f"{kind}_ip", ip)
        call.refused = not result.ok and "refused" in result.output

    def ping(self, client: str, call: Call, count: int = 3) -> StepResult:
        """A warm-up ping (the first packets can meet a peer whose IPCP is not done), then ``count``."""
        assert call.remote_ip
        r = self.step(self.client(client), "ping", f"lab_wait_ping {call.remote_ip} 20 || exit 1\n"
                      f"busybox ping -c {count} -w 20 {call.remote_ip}",
                      title=f"ping -c {count} {call.remote_ip}", timeout=60)
        m = _RTT_RE.search(r.output)
        if m:
            call.rtt_ms = float(m.group(2))
        return r

    def transfer(self, client: str, call: Call, size: int = MIB) -> None:
        """``size`` bytes of random data up to the server, then down from it; SHA-256 checked."""
        assert call.remote_ip
        timeout = 120 + (size * 10 / self.bps if self.bps else 0) * 1.5
        for way, attr in (("send", "up_kbs"), ("recv", "down_kbs")):
            r = self.step(self.client(client), f"transfer-{way}",
                          f"{self.python} -m dialup_admin.lab.transfer {way} {call.remote_ip} --bytes {size}",
                          title=f"{'upload' if way == 'send' else 'download'} {size} random bytes",
                          timeout=timeout)
            m = _RATE_RE.search(r.output.strip().splitlines()[-1] if r.output.strip() else "")
            if m:
                setattr(call, attr, float(m.group(4)))

    def port_closed(self, client: str) -> None:
        """pppd has closed the caller's port: its DTR drops (see :func:`drop_dtr`)."""
        assert self.line is not None
        drop_dtr(self.line.pty(self.number_of[client]))

    def drain(self, client: str) -> None:
        """Drop what the caller's modem said while its port was closed (the last call's NO CARRIER).

        A real serial port that nobody holds open drops what arrives; UML keeps the
        host's end of the line open, so those bytes wait for the next open, and chat,
        reading "NO CARRIER" after ATZ, would give up the next call at once.
        """
        self.step(self.client(client), "drain", render("lab/drain.sh.j2", device="/dev/ttyS1", report=True),
                  title="drop what the modem said while the port was closed (as a closed serial port does)",
                  timeout=30)

    def vanish(self, client: str) -> None:
        """The caller disappears without hanging up: its pppd is killed (-9), the line stays up."""
        self.step(self.client(client), "vanish", "pid=$(busybox pidof pppd) || { echo 'no pppd'; exit 1; }\n"
                  "kill -9 $pid && echo \"pppd $pid killed with SIGKILL: no LCP TermReq, no hang-up\"",
                  title="kill -9 the caller's pppd (it vanishes without hanging up)", timeout=30)

    def server_log(self, pattern: str, timeout: float) -> None:
        """Wait until the server's syslog (pppd's log) has a line matching the extended regex ``pattern``."""
        assert self.server is not None
        self.server.run("server-log", render("lab/server-log.sh.j2", pattern=pattern, timeout=int(timeout)),
                        timeout=timeout + 30, show=self.say)

    def other_logs(self, failed: str, count: int = 12) -> list[str]:
        """The other guests' last pppd/mgetty/chat syslog lines (the other side of a failed step)."""
        lines: list[str] = []
        for agent in [self.server, *self.clients.values()]:
            if agent is None or agent.guest.name == failed:
                continue
            path = agent.guest.folder / "syslog.log"
            text = path.read_text(errors="replace") if path.exists() else ""
            wanted = [ln for ln in text.splitlines() if re.search(r" (pppd|mgetty|chat)\[", ln)]
            lines += [f"{agent.guest.name} syslog: {ln}" for ln in wanted[-count:]]
        return lines

    def server_syslog(self) -> str:
        assert self.server is not None
        path = self.server.guest.folder / "syslog.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def call(self, call: Call, *, transfer: int = MIB, ping: bool = True) -> Call:
        """One whole call as the guide does it: dial, status, ping, transfer, stats, hang up."""
        client = call.client
        self.say(f"== Call {call.number}: {client} dials the server as {call.user}")
        agent = self.client(client)
        with failing_at(call):
            if any(s.name == "dial" for s in agent.steps):
                self.drain(client)
            self.dial(client, call)
            self.tool(agent, "status", "status")
            if ping:
                self.ping(client, call)
            if transfer:
                self.transfer(client, call, transfer)
            self.tool(agent, "stats", "stats")
            self.tool(agent, "hangup", "hangup")
            self.port_closed(client)
            call.ok = True
        return call


def summary(report: Report) -> Iterator[str]:
    """The closing lines: one per call with its figures, then pass/fail and the time taken."""
    for c in report.calls:
        who = f"{c.client} as {c.user}" + (f", {c.caller}" if c.caller != "dialup-admin dial" else "")
        if c.expect_refusal:
            parts = [f"call {c.number} ({who}, wrong password): " + ("refused, ok" if c.ok else "NOT refused")]
        else:
            parts = [f"call {c.number} ({who}): {'ok' if c.ok else 'FAILED'}"]
        if c.atd_to_ip is not None:
            parts.append(f"dial to IP {c.atd_to_ip:.1f} s")
        if c.connect_to_ip is not None and c.caller != "dialup-admin dial":
            wire = f"{c.connect_to_ipcp:.2f} s on the line, " if c.connect_to_ipcp is not None else ""
            parts.append(f"CONNECT to IP {wire}{c.connect_to_ip:.2f} s to pppd's updetach")
        if c.local_ip:
            parts.append(f"{c.local_ip} <-> {c.remote_ip}")
        if c.rtt_ms is not None:
            parts.append(f"ping {c.rtt_ms:.1f} ms")
        if c.up_kbs is not None and c.down_kbs is not None:
            parts.append(f"up {c.up_kbs:.0f} kB/s, down {c.down_kbs:.0f} kB/s")
        if c.failed_stage:
            parts.append(f"failed at {c.failed_stage}")
        yield "  " + ", ".join(parts)
    boot = ", ".join(f"{k} {v:.1f} s" for k, v in report.boot_seconds.items())
    setup = f", server setup {report.setup_seconds:.1f} s" if report.setup_seconds is not None else ""
    yield f"  boot {boot}{setup}, total {report.seconds:.1f} s; the server's PID 1: {report.init}"
    if report.passed:
        up = [c for c in report.calls if not c.expect_refusal]
        data = ", data both ways" if all(c.up_kbs and c.down_kbs for c in up) else ""
        refused = len(report.calls) - len(up)
        wrong = f"; {refused} wrong password(s) refused" if refused else ""
        yield f"PASS: {len(up)} call(s) up, pinged{data}, hung up{wrong}"
    else:
        yield f"FAIL: {report.error or 'a call failed'}"


@contextmanager
def reporting(lab: Lab, report: Report, start: float, *, other_logs: bool = True) -> Iterator[None]:
    """Around a lab run: a lab failure goes into ``report`` instead of raising (the failed call
    gets its stage; ``other_logs``: the other guests' log lines too), then the time taken since
    ``start`` and ``report.json`` in the lab folder. ^C is raised, after saying where the logs are."""
    try:
        yield
    except GuestError as exc:
        report.error = str(exc)
        report.log_lines = exc.log_lines + (lab.other_logs(exc.name) if other_logs else [])
        if report.calls and not report.calls[-1].ok:
            report.calls[-1].failed_stage = exc.stage
    except UserError as exc:
        report.error = str(exc)
    except KeyboardInterrupt:
        if lab.folder.exists():
            lab.say(f"interrupted: the guests are stopped; logs in {lab.folder}")
        raise
    report.seconds = time.monotonic() - start
    if lab.folder.exists():
        (lab.folder / "report.json").write_text(json.dumps(report.as_json(), indent=2) + "\n")


def run(calls: int = 1, *, bps: int | None = None, keep: bool = False, say: Say | None = None,
        transfer: int = MIB, folder: str | Path | None = None, init: str = "systemd") -> Report:
    """``dialup-admin lab``: set the server up, make ``calls`` calls in a row, report.

    ``init`` is the server guest's PID 1, which keeps mgetty running (see :data:`INITS`).
    Never raises for a lab failure: the report says what failed and where the logs are.
    """
    start = time.monotonic()
    user = User("dreamcast", "Lab-Password-1")
    lab = Lab(folder, bps=bps, say=say, keep=keep, init=init)
    report = Report(lab.folder, init=init)
    with reporting(lab, report, start), lab:
        report.boot_seconds = dict(lab.boot_seconds)
        lab.setup_server([user])
        report.setup_seconds = lab.setup_seconds
        lab.setup_client(lab.client_names[0], user)
        for n in range(1, calls + 1):
            if n > 1:
                lab.wait_mgetty(lab.ttys[0], n)
            call = Call(n, lab.client_names[0], user.name)
            report.calls.append(call)
            lab.call(call, transfer=transfer)
        lab.ok = True
    return report
