"""pppd's log, read: one line into an :class:`Event`, a run into a :class:`Follower`, a failure into a sentence.

Pure: text in, values out. The texts matched are pppd 2.4/2.5's and chat's (``-v -s``,
which pppd passes through to its log).

- :func:`parse_line` turns one line of pppd's log into an :class:`Event`;
  :class:`Follower` collects them into the figures ppp-go printed (interface,
  addresses, DNS, compression).
- :data:`EXIT_STATUS` is pppd(8)'s EXIT STATUS table; :func:`explain` turns a failed
  run (status + log) into one plain sentence.
- :class:`KernelPpp` is what ``system.ppp.kernel_ppp`` found out about this kernel's
  PPP support; ``explain`` asks for it only when pppd says the kernel lacks PPP.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

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


# --- kernel PPP, as probed by system.ppp ------------------------------------------------


@dataclass(frozen=True)
class KernelPpp:
    """Whether this kernel can do PPP; when not, why and how to fix it."""

    available: bool
    reason: str = ""
    fix: str = ""

    def sentence(self) -> str:
        return f"{self.reason}; fix: {self.fix}" if not self.available else "kernel PPP support is available"


LAB_HINT = "or prove the whole link inside kernels that have PPP: dialup-admin lab"


# --- explaining a failed run -------------------------------------------------------------


def explain(status: int | None, f: Follower, kernel: KernelPpp | Callable[[], KernelPpp]) -> str:
    """One plain sentence for a pppd run that did not bring the link up.

    ``kernel`` is this kernel's PPP support, or the probe that finds it out
    (``system.ppp.kernel_ppp``), called only when pppd says the kernel lacks PPP.
    """
    if status == 4 or f.has("no-kernel"):
        k = kernel if isinstance(kernel, KernelPpp) else kernel()
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
