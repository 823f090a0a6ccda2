"""pppd and chat as ``dial`` runs them: the log, the stages, the exit status, the pid.

- :func:`parse_line` turns one line of pppd's log (with chat's ``-v -s`` transcript,
  which pppd passes through) into an :class:`Event`; :class:`Follower` collects them
  into the figures ppp-go printed (interface, addresses, DNS, compression).
- :data:`EXIT_STATUS` is pppd(8)'s EXIT STATUS table; :func:`explain` turns a failed
  run (status + log) into one plain sentence.
- :func:`kernel_ppp` says whether this kernel can do PPP, and if not, the fix.
- :func:`run_pppd` starts real pppd under pexpect and follows it (changes the machine:
  pppd opens the port, dials, and, when the link comes up, stays running detached).
- :class:`DialRecord` is the pid record ``dial`` leaves in the state directory;
  :func:`stop_pppd` ends that pppd by its pid and waits for the port's lock to go.
"""

from __future__ import annotations

import errno
import json
import os
import platform
import re
import signal
import stat
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from dialup_admin.errors import UserError
from dialup_admin.paths import Paths
from dialup_admin.system import files, reading

# pppd(8), EXIT STATUS: number -> what it means for someone dialing out.
EXIT_STATUS: dict[int, str] = {
    0: "pppd detached or the link ended at the peer's request",
    1: "pppd met a fatal error (a system call failed)",
    2: "pppd refused its options",
    3: "pppd must be run as root",
    4: "this kernel has no PPP support",
    5: "pppd was stopped by a signal",
    6: "the serial port could not be locked",
    7: "the serial port could not be opened",
    8: "the dial (chat) script failed",
    9: "the pty command could not be run",
    10: "the PPP negotiation failed",
    11: "the server failed to authenticate itself",
    12: "the link was idle too long",
    13: "the connect time limit was reached",
    14: "callback was negotiated",
    15: "the server stopped answering LCP echo requests",
    16: "the modem hung up",
    17: "the serial line is looped back",
    18: "the init script failed",
    19: "the server refused our user name or password",
}

# What the modem says when a call fails (the chat script's ABORT strings), in words.
MODEM_SAYS: dict[str, str] = {
    "BUSY": "the number is busy",
    "NO CARRIER": "no modem answered the call, or the line dropped before the modems agreed",
    "NO DIALTONE": "there is no dial tone: is the phone line plugged into the modem?",
    "NO ANSWER": "nobody answered",
    "VOICE": "a person (a voice) answered, not a modem",
    "ERROR": "the modem refused a command: check the init string",
}


@dataclass(frozen=True)
class Event:
    """One meaningful line of pppd's log: ``kind`` and the value it carries."""

    kind: str
    value: str
    line: str

    @property
    def stage(self) -> str | None:
        """The line as a person saw it with ppp-go, or None when it is not a stage."""
        return _stage(self)


# (kind, regex) in order; the first match wins. The texts are pppd 2.4/2.5's and chat's.
_RULES: list[tuple[str, re.Pattern[str]]] = [
    (k, re.compile(r))
    for k, r in [
        ("chat-send", r"^send \((.*)\)$"),
        ("chat-expect", r"^expect \((.*)\)$"),
        ("chat-got", r"^ -- got it$"),
        ("chat-failed", r"^Failed \((.*)\)$"),
        ("chat-timeout", r"^alarm$"),
        ("chat-fail", r"^Failed$"),
        ("serial", r"^Serial connection established\.?$"),
        ("interface", r"^Using interface (\S+)$"),
        ("connect", r"^Connect: (\S+ <--> \S+)$"),
        ("remote-message", r"^Remote message: ?(.*)$"),
        ("pap-ok", r"^PAP authentication succeeded$"),
        ("pap-failed", r"^PAP authentication failed$"),
        ("chap-ok", r"^CHAP authentication succeeded"),
        ("chap-failed", r"^CHAP authentication failed"),
        ("no-pap-response", r"^No response to PAP authenticate-requests$"),
        ("auth-refused", r"^(?:peer refused to authenticate|The remote system is required to authenticate itself).*$"),
        ("compression", r"^(.+?) (?:(?:receive|transmit) )?compression enabled$"),
        ("local-ip", r"^local\s+IP address ?(\S*)$"),
        ("remote-ip", r"^remote\s+IP address ?(\S*)$"),
        ("dns1", r"^primary\s+DNS address ?(\S*)$"),
        ("dns2", r"^secondary\s+DNS address ?(\S*)$"),
        ("locked", r"^Device (\S+) is locked by pid (\d+)$"),
        ("open-failed", r"^Failed to open (\S+): (.*)$"),
        ("connect-failed", r"^Connect script failed$"),
        ("modem-hangup", r"^Modem hangup$"),
        ("terminated", r"^Connection terminated\.?$"),
        ("lcp-timeout", r"^LCP: timeout sending Config-Requests$"),
        ("ipcp-timeout", r"^IPCP: timeout sending Config-Requests$"),
        ("looped", r"^Serial line is looped back\.?$"),
        ("echo-dead", r"^No response to \d+ echo-requests$"),
        ("peer-terminated", r"^LCP terminated by peer(?: \((.*)\))?$"),
        ("signal", r"^Terminating on signal (\d+)\.?$"),
        ("no-kernel", r"^(?:Couldn't open the /dev/ppp device: .*|.*Please load the ppp_generic kernel module\.?"
                      r"|.*You need to create the /dev/ppp device node by|This system lacks kernel support for PPP.*)$"),
        ("option-error", r"^(?:In file .*|.*unrecognized option .*|.*Can't open options file .*)$"),
        ("not-root", r"^.*must be root to run .*$"),
    ]
]


def parse_line(line: str) -> Event | None:
    """The event a line of pppd's log carries, or None for lines of no interest."""
    text = line.rstrip("\r\n")
    for kind, rx in _RULES:
        m = rx.match(text)
        if m:
            return Event(kind, next((g for g in m.groups() if g is not None), "") if m.groups() else "", text)
    return None


def _unctl(text: str) -> str:
    """chat writes a carriage return as ^M: ``ATDT11^M`` -> ``ATDT11``."""
    return text.replace("^M", "").strip()


def _stage(ev: Event) -> str | None:
    k, v = ev.kind, ev.value
    if k == "chat-send" and _unctl(v).upper().startswith("ATD"):
        return f"Dialing {_unctl(v)[4:] if _unctl(v).upper()[3:4] in ('T', 'P') else _unctl(v)[3:]}..."
    if k == "chat-failed":
        return f"Modem: {v}"
    if k in ("serial", "interface", "connect", "remote-message", "pap-ok", "pap-failed", "chap-ok", "chap-failed",
             "compression", "modem-hangup", "terminated"):
        return ev.line.strip()
    if k in ("local-ip", "remote-ip", "dns1", "dns2"):
        return ev.line.strip()
    return None


@dataclass
class Follower:
    """What a run of pppd has shown so far: the figures ppp-go printed, and the log."""

    lines: list[str] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    interface: str | None = None
    device: str | None = None
    local: str | None = None
    remote: str | None = None
    dns: list[str] = field(default_factory=list)
    compression: list[str] = field(default_factory=list)
    remote_message: str | None = None
    modem_said: str | None = None  # the ABORT string chat met
    chat_waiting_for: str | None = None
    chat_timed_out: bool = False
    connected: bool = False  # CONNECT seen by chat (the modems are talking)

    def feed(self, line: str) -> Event | None:
        text = line.rstrip("\r\n")
        self.lines.append(text)
        ev = parse_line(text)
        if ev is None:
            return None
        self.events.append(ev)
        k, v = ev.kind, ev.value
        if k == "chat-expect":
            self.chat_waiting_for = v
        elif k == "chat-got" and self.chat_waiting_for == "CONNECT":
            self.connected = True
        elif k == "chat-failed":
            self.modem_said = v
        elif k == "chat-timeout":
            self.chat_timed_out = True
        elif k == "interface":
            self.interface = v
        elif k == "connect":
            iface, _, dev = v.partition(" <--> ")
            self.interface, self.device = iface, dev
        elif k == "remote-message":
            self.remote_message = v
        elif k == "compression":
            self.compression.append(v)
        elif k == "local-ip":
            self.local = v
        elif k == "remote-ip":
            self.remote = v
        elif k in ("dns1", "dns2"):
            self.dns.append(v)
        return ev

    def has(self, kind: str) -> bool:
        return any(e.kind == kind for e in self.events)

    def first(self, kind: str) -> Event | None:
        return next((e for e in self.events if e.kind == kind), None)

    @property
    def up(self) -> bool:
        return self.local is not None


# --- kernel PPP ------------------------------------------------------------------------


@dataclass(frozen=True)
class KernelPpp:
    """Whether this kernel can do PPP; when not, why and how to fix it."""

    available: bool
    reason: str = ""
    fix: str = ""

    def sentence(self) -> str:
        return f"{self.reason}; fix: {self.fix}" if not self.available else "kernel PPP support is available"


LAB_HINT = "or prove the whole link inside kernels that have PPP: dialup-admin lab"


def _module_file(paths: Paths, release: str, name: str) -> bool:
    base = paths.of(f"/lib/modules/{release}")
    if not base.is_dir():
        return False
    try:
        builtin = (base / "modules.builtin").read_text()
    except OSError:
        builtin = ""
    if re.search(rf"/{name}\.ko\b", builtin):
        return True
    return any(base.rglob(f"{name}.ko*"))


def kernel_ppp(paths: Paths | None = None, release: str | None = None) -> KernelPpp:
    """Look at /dev/ppp, /proc/devices and the module tree; opens /dev/ppp, changes nothing."""
    paths = paths or Paths()
    release = release or platform.release()
    node = paths.of("/dev/ppp")
    try:
        is_char = stat.S_ISCHR(node.stat().st_mode)
    except FileNotFoundError:
        is_char = False
    try:
        devices = paths.of("/proc/devices").read_text()
    except OSError:
        devices = ""
    driver = bool(re.search(r"^\s*108 ppp$", devices, re.M)) or paths.of("/sys/module/ppp_generic").is_dir()
    if is_char:
        try:
            fd = os.open(node, os.O_RDWR)
        except OSError as exc:
            if exc.errno not in (errno.ENXIO, errno.ENODEV):
                if exc.errno in (errno.EACCES, errno.EPERM):
                    return KernelPpp(True)  # there, only not ours to open: pppd runs as root
                return KernelPpp(False, f"/dev/ppp cannot be opened ({exc.strerror})", "check dmesg")
        else:
            os.close(fd)
            return KernelPpp(True)
    if driver and not is_char:
        return KernelPpp(False, "the PPP driver is loaded but /dev/ppp is missing",
                         "mknod /dev/ppp c 108 0 (pppd does this itself when run as root)")
    async_too = " ppp_async" if not paths.of("/sys/module/ppp_async").is_dir() else ""
    if _module_file(paths, release, "ppp_generic"):
        return KernelPpp(False, f"the PPP kernel modules of {release} are not loaded",
                         f"modprobe ppp_generic{async_too}")
    inside = " (in a container, the host must load ppp_generic and pass /dev/ppp in)" if _in_container(paths) else ""
    return KernelPpp(
        False,
        f"/dev/ppp is missing and kernel {release} has no ppp_generic module{inside}",
        f"modprobe ppp_generic ppp_async where the modules exist, or boot a kernel with CONFIG_PPP and "
        f"CONFIG_PPP_ASYNC (distribution kernels have them), {LAB_HINT}",
    )


def _in_container(paths: Paths) -> bool:
    return paths.of("/.dockerenv").exists() or paths.of("/run/.containerenv").exists()


# --- explaining a failed run -------------------------------------------------------------


def explain(status: int | None, f: Follower, kernel: KernelPpp | None = None) -> str:
    """One plain sentence for a pppd run that did not bring the link up."""
    if status == 4 or f.has("no-kernel"):
        k = kernel or kernel_ppp()
        if k.available:  # pppd's own check disagrees with ours: trust pppd, say what it said
            said = f.first("no-kernel")
            return f"no kernel PPP support: pppd says {said.line if said else 'so'!r}; {LAB_HINT}"
        return f"no kernel PPP support: {k.reason}; fix: {k.fix}"
    if status == 6 or f.has("locked"):
        ev = f.first("locked")
        if ev is not None:
            dev, pid = ev.line.split()[1], ev.line.split()[-1]
            return f"{dev} is in use (locked by pid {pid}): another program (mgetty? a running pppd?) holds the port"
        return "the serial port could not be locked: another program holds it, or /var/lock is not writable"
    if status == 7 or f.has("open-failed"):
        ev = f.first("open-failed")
        why = ev.line[len("Failed to open "):] if ev else "pppd could not open it"
        return f"the serial port could not be opened: {why}"
    if status == 8 or f.has("connect-failed"):
        if f.modem_said:
            return f"the dial failed: the modem said {f.modem_said} ({MODEM_SAYS.get(f.modem_said, 'the call failed')})"
        if f.chat_timed_out:
            what = f.chat_waiting_for or "an answer"
            if what == "CONNECT":
                return "the dial failed: no CONNECT in time (the other side did not answer, or the modems did not agree)"
            return f"the dial failed: the modem did not answer {what} in time (is it switched on, on this port, at this speed?)"
        return "the dial (chat) script failed; run with -v to see the modem's answers"
    if status == 19 or f.has("pap-failed") or f.has("chap-failed"):
        msg = f" (the server said: {f.remote_message})" if f.remote_message else ""
        return f"the server refused our user name or password{msg}: check pap-secrets on both sides"
    if f.has("no-pap-response"):
        return "the server never answered our PAP login: is it set up for PAP (+pap)?"
    if status == 11 or f.has("auth-refused"):
        return "pppd wanted the server to authenticate itself: the peers file needs noauth"
    if status == 16 or f.has("modem-hangup"):
        if f.connected:
            return "the modem hung up (the other side dropped the call) before the link came up"
        return "the modem hung up"
    if status == 10:
        if f.has("lcp-timeout"):
            return "PPP negotiation failed: the other side never answered (no pppd there? mgetty without AutoPPP?)"
        return "PPP negotiation failed: the two pppds could not agree (run with -v for the packets)"
    if status == 17 or f.has("looped"):
        return "the serial line is looped back: we are talking to ourselves (modem in a loopback test mode?)"
    if status == 15:
        return "the link died: the server stopped answering"
    if status == 5:
        return "pppd was stopped before the link came up"
    if status == 2:
        ev = f.first("option-error")
        return f"pppd refused its options: {ev.line if ev else (f.lines[-1] if f.lines else 'see -v')}"
    if status == 3:
        return "pppd must be run as root: use sudo"
    if status is not None and status in EXIT_STATUS:
        return f"pppd failed: {EXIT_STATUS[status]} (exit {status})"
    last = next((ln for ln in reversed(f.lines) if ln.strip()), "no output")
    return f"pppd failed (exit {status}): {last}"


# --- running pppd ----------------------------------------------------------------------------

Echo = Callable[[str], None]


@dataclass
class Run:
    """The result of :func:`run_pppd`: exit status (None if we had to stop it) and the log."""

    status: int | None
    follower: Follower
    timed_out: bool = False


def run_pppd(argv: Sequence[str], *, on_line: Echo, timeout: float = 180) -> Run:
    """Run ``argv`` (pppd ... updetach) under pexpect, calling ``on_line`` for each log line.

    Returns when pppd exits: with ``updetach`` that is the foreground pppd leaving once
    the link is up (status 0; its detached child keeps the link) or pppd failing.
    On timeout or Ctrl-C pppd is sent SIGTERM (it hangs up the modem) and reaped.
    """
    import pexpect  # here: it is only needed by dial, and slow to import

    f = Follower()
    child = pexpect.spawn(argv[0], list(argv[1:]), encoding="utf-8", codec_errors="replace", echo=False,
                          timeout=timeout, preexec_fn=_no_controlling_tty)
    deadline = time.monotonic() + timeout
    timed_out = False
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            i = child.expect([r"\r?\n", pexpect.EOF, pexpect.TIMEOUT], timeout=left)
            if i == 0:
                line = str(child.before)
                f.feed(line)
                on_line(line)
            elif i == 1:
                rest = str(child.before or "")
                for line in rest.splitlines():
                    f.feed(line)
                    on_line(line)
                break
            else:
                timed_out = True
                break
    except KeyboardInterrupt:
        _stop_child(child)
        raise
    if timed_out:
        _stop_child(child)
        return Run(None, f, timed_out=True)
    child.close()
    status = child.exitstatus if child.exitstatus is not None else 128 + (child.signalstatus or 0)
    return Run(status, f)


def _no_controlling_tty() -> None:
    """In pexpect's child, before exec: keep our pty as pppd's stdio, but never as a
    terminal pppd's session controls, and keep pppd from leading a session.

    pexpect makes the child a session leader with the pty as its controlling terminal.
    Run as such, pppd goes wrong twice: a session leader without a terminal that opens
    /dev/ttyS0 makes the port its controlling terminal, so when the foreground pppd
    exits after ``updetach`` the kernel hangs the port up under the detached child
    ("Modem hangup"); and with the pty as its terminal, its exit sends SIGHUP to the
    child before the child's setsid(). So: drop the pty as controlling terminal, then
    fork; this process stays the (terminal-less) session leader, waits and passes on
    pppd's exit status and our signals; pppd, exec'd in the child, leads nothing.
    """
    import fcntl
    import termios

    old = signal.signal(signal.SIGHUP, signal.SIG_IGN)  # TIOCNOTTY sends the leader SIGHUP
    try:
        fcntl.ioctl(0, termios.TIOCNOTTY)
    except OSError:
        pass
    signal.signal(signal.SIGHUP, old)
    pid = os.fork()
    if pid == 0:
        return  # go on to exec pppd
    # pexpect's parent waits for exec on a close-on-exec pipe: this process never execs,
    # so it must drop its copy, or the parent would wait for pppd to finish.
    os.closerange(3, 65536)
    try:
        def forward(signum: int, _frame: object) -> None:
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass

        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, forward)
        while True:
            try:
                _, wstatus = os.waitpid(pid, 0)
                break
            except InterruptedError:
                continue
        code = os.waitstatus_to_exitcode(wstatus)
        os._exit(code if code >= 0 else 128 - code)
    except BaseException:
        os._exit(1)


def _stop_child(child: object) -> None:
    import pexpect

    assert isinstance(child, pexpect.spawn)
    if child.isalive():
        child.kill(signal.SIGTERM)
        for _ in range(100):  # pppd hangs up the modem first: give it a few seconds
            if not child.isalive():
                break
            time.sleep(0.1)
    child.close(force=True)


# --- the pid record ------------------------------------------------------------------------------


@dataclass
class DialRecord:
    """What ``dial`` leaves behind for ``hangup`` and ``status``: pppd's pid and the link."""

    peer: str
    pid: int
    device: str
    interface: str | None = None
    local: str | None = None
    remote: str | None = None
    dns: list[str] = field(default_factory=list)
    compression: list[str] = field(default_factory=list)
    started: float = 0.0

    @staticmethod
    def path(paths: Paths, peer: str) -> Path:
        return paths.state_dir / f"dial-{peer}.json"

    def save(self, paths: Paths) -> None:
        """Write ``/var/lib/dialup-admin/dial-PEER.json`` atomically, mode 0644 (creates the state directory)."""
        p = self.path(paths, self.peer)
        files.ensure_dir(p.parent)
        data = json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"
        files.atomic_write(p, data.encode(), 0o644, os.geteuid(), os.getegid())

    @classmethod
    def load(cls, paths: Paths, peer: str) -> DialRecord | None:
        try:
            data = json.loads(reading.read_bytes(cls.path(paths, peer)))
            return cls(**data)
        except FileNotFoundError:
            return None
        except (ValueError, TypeError):
            return None

    @classmethod
    def load_all(cls, paths: Paths) -> list[DialRecord]:
        out = []
        for p in sorted(paths.state_dir.glob("dial-*.json")) if paths.state_dir.is_dir() else []:
            rec = cls.load(paths, p.stem[len("dial-"):])
            if rec is not None:
                out.append(rec)
        return out

    @staticmethod
    def remove(paths: Paths, peer: str) -> None:
        try:
            DialRecord.path(paths, peer).unlink()
        except FileNotFoundError:
            pass


def pppd_pidfile_pid(paths: Paths, peer: str) -> tuple[int, str | None] | None:
    """pppd's own record of a running link ``linkname PEER``: pid and interface.

    pppd 2.4 writes /run/ppp-PEER.pid (``/var/run``), 2.5 /run/pppd/ppp-PEER.pid: the pid,
    then the interface name on the second line.
    """
    for sp in (f"/run/ppp-{peer}.pid", f"/var/run/ppp-{peer}.pid", f"/run/pppd/ppp-{peer}.pid"):
        try:
            words = reading.read_text(paths.of(sp)).split()
        except OSError:
            continue
        if words and words[0].isdigit():
            return int(words[0]), (words[1] if len(words) > 1 else None)
    return None


def is_pppd(pid: int) -> bool:
    """Whether ``pid`` is a running pppd (not a recycled pid of another program)."""
    try:
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return False
    return comm == "pppd"


def stop_pppd(pid: int, *, lock_files: Sequence[Path] = (), timeout: float = 20) -> bool:
    """Send pppd ``pid`` SIGTERM (it ends LCP, hangs up the modem and removes its lock)
    and wait for it to exit. Returns False if it had to be killed (SIGKILL).

    A lock file still naming the dead pid afterwards is stale and is removed, as every
    UUCP-lock user would: the port is free again when this returns.
    """
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return True
    clean = True
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(pid):
        clean = False
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        for _ in range(50):
            if not _alive(pid):
                break
            time.sleep(0.1)
    for lf in lock_files:
        if _lock_pid(lf) == pid:
            try:
                lf.unlink()
            except FileNotFoundError:
                pass
    return clean


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours is dead for our purpose.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][:1] != "Z"
    except (OSError, IndexError):
        return True


def _lock_pid(lf: Path) -> int | None:
    try:
        text = reading.read_text(lf).strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
