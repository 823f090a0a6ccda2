"""``logs TTY``: mgetty's log file and pppd's syslog lines for one line, merged by time.

mgetty writes its own file per tty (``/var/log/mgetty/mg_ttyS1.log`` on Debian, the
pattern is read from the binary) with ``MM/DD HH:MM:SS id  text`` lines (no year).
pppd logs to syslog: the traditional ``Nov 24 03:40:12 host pppd[123]: text``, the
ISO form rsyslog and ``journalctl -o short-iso`` write, or the journal itself. A pppd
belongs to the tty when one of its lines names ``/dev/TTY`` (``Connect: ppp0 <--> /dev/ttyS1``).
On a direct line ``dialup-admin answer`` takes mgetty's place and writes its own file,
``/var/log/dialup-admin/answer-TTY.log`` (``YYYY-MM-DD HH:MM:SS.mmm [pid] text``).
Reading only.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass

from dialup_admin.paths import Paths
from dialup_admin.system import reading

SYSLOG_FILES = ("/var/log/syslog", "/var/log/messages", "/var/log/daemon.log")

_ANSWER_RE = re.compile(r"^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.\d+)? \[(\d+)\] (.*)$")
_MGETTY_RE = re.compile(r"^(\d\d)/(\d\d) (\d\d):(\d\d):(\d\d) (\S+)\s+(.*)$")
# The traditional format; busybox's syslogd puts the facility.level after the host.
_BSD_RE = re.compile(r"^([A-Z][a-z]{2}) +(\d{1,2}) (\d\d):(\d\d):(\d\d) (\S+) (?:[a-z0-9]+\.[a-z]+ )?"
                     r"([^\s:\[]+)(?:\[(\d+)\])?: ?(.*)$")
_ISO_RE = re.compile(
    r"^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)? (\S+) ([^\s:\[]+)(?:\[(\d+)\])?: ?(.*)$"
)
_MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                                         "Nov", "Dec"), 1)}


@dataclass(frozen=True)
class LogLine:
    time: dt.datetime
    source: str  # "mgetty" or "pppd[PID]"
    text: str
    order: int = 0  # position in its file, to keep equal times in file order

    def format(self) -> str:
        return f"{self.time:%Y-%m-%d %H:%M:%S} {self.source:12} {self.text}"


def _year_for(month: int, day: int, now: dt.datetime) -> int:
    """Logs without a year: the latest year that does not put the line in the future."""
    return now.year - 1 if (month, day) > (now.month, now.day) else now.year


def parse_mgetty(text: str, now: dt.datetime) -> list[LogLine]:
    out: list[LogLine] = []
    for i, line in enumerate(text.splitlines()):
        m = _MGETTY_RE.match(line)
        if m:
            mo, d, h, mi, s = (int(x) for x in m.groups()[:5])
            try:
                t = dt.datetime(_year_for(mo, d, now), mo, d, h, mi, s)
            except ValueError:
                continue
            # "#####" lines are mgetty's call summaries (written to syslog too): keep the mark.
            text = f"##### {m.group(7)}" if m.group(6) == "#####" else m.group(7)
            out.append(LogLine(t, "mgetty", text, i))
        elif line.strip() and line.strip() != "--" and out:  # a continuation; "--" starts each run
            out.append(LogLine(out[-1].time, "mgetty", line.strip(), i))
    return out


def parse_answer(text: str) -> list[LogLine]:
    """The lines of ``dialup-admin answer``'s own log for a direct line."""
    out: list[LogLine] = []
    for i, line in enumerate(text.splitlines()):
        m = _ANSWER_RE.match(line)
        if m:
            y, mo, d, h, mi, s = (int(x) for x in m.groups()[:6])
            try:
                t = dt.datetime(y, mo, d, h, mi, s)
            except ValueError:
                continue
            out.append(LogLine(t, f"answer[{m.group(7)}]", m.group(8), i))
    return out


def parse_syslog(text: str, now: dt.datetime, program: str = "pppd") -> list[tuple[LogLine, int | None]]:
    """``program``'s lines of a syslog file (either format), with their pid."""
    out: list[tuple[LogLine, int | None]] = []
    for i, line in enumerate(text.splitlines()):
        m = _ISO_RE.match(line)
        if m:
            y, mo, d, h, mi, s = (int(x) for x in m.groups()[:6])
            prog, pid, msg = m.group(8), m.group(9), m.group(10)
            t = dt.datetime(y, mo, d, h, mi, s)
        else:
            b = _BSD_RE.match(line)
            if not b or b.group(1) not in _MONTHS:
                continue
            mo, d = _MONTHS[b.group(1)], int(b.group(2))
            h, mi, s = int(b.group(3)), int(b.group(4)), int(b.group(5))
            prog, pid, msg = b.group(7), b.group(8), b.group(9)
            try:
                t = dt.datetime(_year_for(mo, d, now), mo, d, h, mi, s)
            except ValueError:
                continue
        if prog != program:
            continue
        p = int(pid) if pid else None
        out.append((LogLine(t, f"{program}[{p}]" if p else program, msg, i), p))
    return out


def pppd_lines_for(lines: Iterable[tuple[LogLine, int | None]], tty: str) -> list[LogLine]:
    """The lines of every pppd process that named ``/dev/TTY`` (or the bare tty) in its log."""
    lines = list(lines)
    word = re.compile(rf"(?:/dev/)?\b{re.escape(tty)}\b")
    pids = {p for ln, p in lines if p is not None and word.search(ln.text)}
    return [ln for ln, p in lines if p in pids]


_NO_REPLY_RE = re.compile(r"rc_send_server: no reply from RADIUS server (\S+):(\d+)")
_BAD_DIGEST = "rc_check_reply: received invalid reply digest from RADIUS server"
_PAP_RE = re.compile(r"^PAP peer authentication (succeeded|failed) for (.*)$")
_RADIUS_START = ("RADIUS plugin initialized.", "rc_send_server:", "rc_check_reply:", "rc_read_config", "RADIUS: ")
NOTE = "dialup-admin"


class RadiusNotes:
    """Says why a caller was refused when pppd asks RADIUS (radius.so), after pppd's own line.

    pppd logs only "PAP peer authentication failed for NAME" whatever the reason; the
    plugin's lines before it tell a server that did not answer ("rc_send_server: no reply
    from RADIUS server HOST:PORT") or a reply signed with another secret ("rc_check_reply:
    received invalid reply digest"). A refusal with neither is RADIUS's own Access-Reject:
    a wrong password, an unknown user or a session limit. State is kept per pppd pid, so
    ``logs -f`` can feed lines as they come.
    """

    def __init__(self) -> None:
        self.silent: dict[int, list[str]] = {}
        self.bad_secret: set[int] = set()
        self.radius: set[int] = set()

    def feed(self, lines: Iterable[LogLine]) -> list[LogLine]:
        out: list[LogLine] = []
        for ln in lines:
            out.append(ln)
            pid = _pid_of(ln)
            if pid is None:
                continue
            if ln.text.startswith(_RADIUS_START):
                self.radius.add(pid)
            m = _NO_REPLY_RE.search(ln.text)
            if m and m.group(1) not in self.silent.setdefault(pid, []):
                self.silent[pid].append(m.group(1))
            if _BAD_DIGEST in ln.text:
                self.bad_secret.add(pid)
            pap = _PAP_RE.match(ln.text)
            if pap and pid in self.radius:
                note = self._note(pid, pap.group(1) == "succeeded", pap.group(2))
                if note:
                    out.append(LogLine(ln.time, NOTE, note, ln.order))
        return out

    def _note(self, pid: int, ok: bool, user: str) -> str:
        silent = self.silent.get(pid, [])
        hosts = ", ".join(silent)
        were = "were" if len(silent) > 1 else "was"
        if ok:
            return f"RADIUS server {hosts} {were} not answering; the next one let {user} in" if silent else ""
        if pid in self.bad_secret:
            return (f"RADIUS shared secret mismatch: the server's reply is signed with another secret, so {user} "
                    "was refused for that, not for a wrong password (see dialup-admin doctor)")
        if silent:
            return (f"RADIUS server {hosts} not answering: {user} was refused for that, not for a wrong password "
                    "(see dialup-admin doctor)")
        return f"RADIUS refused {user}: a wrong password, an unknown user, or a session limit (Simultaneous-Use)"


def _pid_of(ln: LogLine) -> int | None:
    if ln.source.startswith("pppd[") and ln.source.endswith("]") and ln.source[5:-1].isdigit():
        return int(ln.source[5:-1])
    return None


def merge(*streams: Iterable[LogLine]) -> list[LogLine]:
    """All lines in time order; lines of one source with the same time keep their file order."""
    tagged = [(ln, k) for k, s in enumerate(streams) for ln in s]
    tagged.sort(key=lambda x: (x[0].time, x[1], x[0].order))
    return [ln for ln, _ in tagged]


def _text(paths: Paths, system_path: str) -> str:
    """A log's text; empty when it is not there."""
    return reading.read_or_empty(paths.of(system_path)).decode(errors="replace")


def syslog_files(paths: Paths) -> list[str]:
    return [p for p in SYSLOG_FILES if paths.of(p).is_file()]


def collect(paths: Paths, tty: str, mgetty_log: str, now: dt.datetime,
            journal_text: str | None = None, answer_log: str | None = None) -> list[LogLine]:
    """mgetty's (or answer's, on a direct line) and pppd's lines about ``tty``, merged by time."""
    mg = parse_mgetty(_text(paths, mgetty_log), now)
    if answer_log is not None:
        mg = merge(mg, parse_answer(_text(paths, answer_log)))
    ppp: list[tuple[LogLine, int | None]] = []
    for f in syslog_files(paths):
        ppp += parse_syslog(_text(paths, f), now)
    if journal_text:
        ppp += parse_syslog(journal_text, now)
    return RadiusNotes().feed(merge(mg, pppd_lines_for(ppp, tty)))


class Follower:
    """``logs -f``: new lines of the mgetty log and the syslog files as they are appended.

    A pppd's first lines come before the one naming the tty, so lines of pids not yet
    known are held back (a bounded number) and shown once their pid names the tty.
    """

    HELD = 2000

    def __init__(self, paths: Paths, tty: str, mgetty_log: str, known_pids: Iterable[int] = (),
                 answer_log: str | None = None) -> None:
        self.paths = paths
        self.tty = tty
        self.mgetty_log = mgetty_log
        self.answer_log = answer_log
        self.offsets: dict[str, int] = {}
        self.pids: set[int] = set(known_pids)
        self.held: list[tuple[LogLine, int | None]] = []
        self.notes = RadiusNotes()
        for f in [mgetty_log, *([answer_log] if answer_log else []), *syslog_files(paths)]:
            try:
                self.offsets[f] = paths.of(f).stat().st_size
            except OSError:
                self.offsets[f] = 0

    def _new_text(self, system_path: str) -> str:
        real = self.paths.of(system_path)
        try:
            size = real.stat().st_size
        except OSError:
            return ""
        start = self.offsets.get(system_path, 0)
        if size < start:  # rotated or truncated: start over
            start = 0
        if not reading.is_regular(real):
            raise reading.NotRegular(real, real.stat().st_mode)
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            data = os.pread(fd, size - start, start)
        finally:
            os.close(fd)
        # Only whole lines; a half-written one waits for the next poll.
        cut = data.rfind(b"\n") + 1
        self.offsets[system_path] = start + cut
        return data[:cut].decode(errors="replace")

    def feed_pppd(self, lines: Iterable[tuple[LogLine, int | None]]) -> list[LogLine]:
        word = re.compile(rf"(?:/dev/)?\b{re.escape(self.tty)}\b")
        out: list[LogLine] = []
        for ln, pid in lines:
            if pid is not None and pid not in self.pids and word.search(ln.text):
                self.pids.add(pid)
                out += [h for h, p in self.held if p == pid]
                self.held = [(h, p) for h, p in self.held if p != pid]
            if pid in self.pids:
                out.append(ln)
            else:
                self.held.append((ln, pid))
        del self.held[: max(0, len(self.held) - self.HELD)]
        return out

    def poll(self, now: dt.datetime, journal_text: str = "") -> list[LogLine]:
        mg = parse_mgetty(self._new_text(self.mgetty_log), now)
        if self.answer_log is not None:
            mg = merge(mg, parse_answer(self._new_text(self.answer_log)))
        ppp: list[tuple[LogLine, int | None]] = []
        for f in syslog_files(self.paths):
            if f not in self.offsets:
                self.offsets[f] = 0
            ppp += parse_syslog(self._new_text(f), now)
        if journal_text:
            ppp += parse_syslog(journal_text, now)
        return self.notes.feed(merge(mg, self.feed_pppd(ppp)))
