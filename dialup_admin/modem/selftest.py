"""``test-modem``: the guide's minicom checks, automated with pexpect over the port.

The guide types, in minicom, the init string, ``ATX`` and ``ATDT0123456789`` and
looks for ``OK``. :func:`run_selftest` does that and more, each step timed and
bounded: attention, reset, init, numeric and verbose result codes, identification
(ATI0-4), blind dialing (X3), optionally a dial with the expected result, and a clean
hang-up. The port is locked and opened the way mgetty and pppd do it
(:mod:`dialup_admin.system.serial`).

With ``voice``, also what a direct line's answerer needs (V.253): class 8 in
``AT+FCLASS=?``, ``AT+FCLASS=8``, an 8-bit PCM at 8000 Hz in ``AT+VSM=?`` and set,
``AT+VLS=1`` (off hook), DTMF among the events of ``AT+VEM=?`` (a modem without
``+VEM`` is taken at V.253's word: digits are reported as ``<DLE><digit>``), and
``AT+VTX`` playing half a second of dial tone ended by ``<DLE><ETX>``.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import pexpect
import pexpect.fdpexpect

from dialup_admin.errors import UserError
from dialup_admin.modem import tones
from dialup_admin.paths import Paths
from dialup_admin.system import serial

GUIDE_INIT = "AT S7=45 S0=0 L1 V1 X4 &c1 E1 Q0"
RESULTS = ("OK", "CONNECT", "BUSY", "NO CARRIER", "NO DIALTONE", "NO ANSWER", "ERROR")

# A final result code in verbose form, at the start of a line.
_FINAL = re.compile(
    rb"(?:\A|[\r\n])(OK|ERROR|CONNECT(?: [^\r\n]*)?|VCON|NO CARRIER|BUSY|NO DIAL ?TONE|NO ANSWER|DELAYED|BLACKLISTED)\r"
)
_NUMERIC_OK = re.compile(rb"(?:\A|[\r\n])0\r")


@dataclass
class Step:
    """One command sent to the modem and what came back."""

    name: str
    command: str
    ok: bool
    result: str  # the final result code, or "timeout", "garbage", "hung up"
    seconds: float
    text: list[str] = field(default_factory=list)  # information text (ATI...)
    detail: str = ""
    required: bool = True


@dataclass
class Report:
    port: str
    speed: int
    ok: bool = False
    steps: list[Step] = field(default_factory=list)
    identity: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    error: str = ""
    seconds: float = 0.0
    voice: dict[str, Any] = field(default_factory=dict)  # with --voice: {"voice": bool, "dtmf": ..., "summary": ...}

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class ModemTalk:
    """Send AT commands on an open port fd and wait, bounded, for the result code."""

    def __init__(self, fd: int, log: Callable[[str], None] | None = None) -> None:
        self.child: pexpect.fdpexpect.fdspawn[bytes] = pexpect.fdpexpect.fdspawn(fd, timeout=5)
        self._log = log

    def drain(self) -> bytes:
        """Read and forget what the modem sent unasked (late LFs, RINGs)."""
        got = b""
        while True:
            try:
                got += self.child.read_nonblocking(4096, timeout=0)
            except (pexpect.TIMEOUT, pexpect.EOF):
                break
        got = self.child.buffer + got
        self.child.buffer = b""
        return got

    def send(self, data: bytes) -> None:
        self.child.send(data)

    def command(self, name: str, cmd: str, timeout: float, *, numeric: bool = False, required: bool = True) -> Step:
        """Send ``cmd`` + CR and wait up to ``timeout`` s for a final result code."""
        self.drain()
        start = time.monotonic()
        raw = cmd.encode("latin-1") + b"\r"
        if self._log:
            self._log(f">>> {cmd}")
        self.child.send(raw)
        return self.wait(name, cmd, timeout, start=start, numeric=numeric, required=required)

    def wait(
        self,
        name: str,
        cmd: str,
        timeout: float,
        *,
        start: float | None = None,
        numeric: bool = False,
        required: bool = True,
    ) -> Step:
        """Wait for a final result code after something was sent."""
        start = time.monotonic() if start is None else start
        pattern = _NUMERIC_OK if numeric else _FINAL
        idx = self.child.expect([pattern, pexpect.TIMEOUT, pexpect.EOF], timeout=timeout)
        seconds = time.monotonic() - start
        before = self.child.before if isinstance(self.child.before, bytes) else b""
        text = _info_lines(before, cmd)
        if idx == 0:
            m = self.child.match
            assert isinstance(m, re.Match)
            result = "OK" if numeric else m.group(1).decode("latin-1").replace("NO DIAL TONE", "NO DIALTONE")
            if result == "OK" and not text and cmd.upper().startswith("ATI"):
                # ATI2 on Hayes modems answers "OK" (its ROM test) before the final OK.
                if self.child.expect([_FINAL, pexpect.TIMEOUT, pexpect.EOF], timeout=0.2) == 0:
                    text = ["OK"]
                    seconds = time.monotonic() - start
            if self._log:
                self._log(f"<<< {' | '.join(text + [result])} ({seconds:.3f} s)")
            return Step(name, cmd, result in ("OK",), result, seconds, text, required=required)
        if idx == 2:
            return Step(name, cmd, False, "hung up", seconds, text, "the port hung up (device gone?)", required)
        if text:
            shown = " | ".join(text)[:80]
            return Step(
                name, cmd, False, "garbage", seconds, text, f"no result code within {timeout:g} s, got: {shown!r}", required
            )
        return Step(name, cmd, False, "timeout", seconds, [], f"no answer within {timeout:g} s", required)


def _info_lines(before: bytes, cmd: str) -> list[str]:
    """The lines of text a modem sent before its result, without the echo of ``cmd``."""
    text = before.decode("latin-1")
    lines = [ln.strip() for ln in re.split(r"[\r\n]+", text)]
    return [ln for ln in lines if ln and ln != cmd.strip() and ln not in ("+++",)]


def run_selftest(
    paths: Paths,
    port: str,
    *,
    init: str = GUIDE_INIT,
    dial: str | None = None,
    expect: str = "CONNECT",
    speed: int = 57600,
    timeout: float = 2.0,
    dial_timeout: float = 60.0,
    log: Callable[[str], None] | None = None,
    voice: bool = False,
) -> Report:
    """Lock and open ``port``, run the checks, hang up, close, unlock; return the report.

    Raises :class:`UserError` (one line) when the port cannot be used at all: missing,
    permission denied, not a tty, locked by another live process. A silent or
    confused modem is a failed report, not an exception.
    """
    report = Report(port=port, speed=speed)
    t0 = time.monotonic()
    lock = serial.PortLock(paths, port)
    lock.acquire()
    report.notes.extend(lock.notes)
    try:
        fd = serial.open_port(port, speed)
        try:
            _run_steps(ModemTalk(fd, log), report, init, dial, expect, timeout, dial_timeout, voice)
        finally:
            os.close(fd)  # HUPCL: DTR drops, a modem still in a call hangs up
    finally:
        lock.release()
    report.seconds = round(time.monotonic() - t0, 4)
    failed = [s for s in report.steps if s.required and not s.ok]
    report.ok = not failed
    if failed and not report.error:
        s = failed[0]
        report.error = f"{s.name}: {s.command} -> {s.result}" + (f" ({s.detail})" if s.detail else "")
    return report


def _run_steps(
    talk: ModemTalk, report: Report, init: str, dial: str | None, expect: str, timeout: float, dial_timeout: float,
    voice: bool = False,
) -> None:
    steps = report.steps

    def do(step: Step) -> bool:
        step.seconds = round(step.seconds, 4)
        steps.append(step)
        return step.ok or not step.required

    # Attention: two tries, the first may land in a half-typed line.
    first = talk.command("attention", "AT", timeout)
    if not first.ok and first.result in ("timeout", "garbage"):
        first = talk.command("attention", "AT", timeout)
    if not do(first):
        if first.result == "timeout":
            report.error = (
                f"the modem on {report.port} is silent: no answer to AT within {timeout:g} s "
                "(is it powered on and cabled, is the speed right?)"
            )
        elif first.result == "garbage":
            report.error = f"{report.port} answers, but not like a modem: {first.detail}"
        return
    if not do(talk.command("reset", "ATZ", max(timeout, 3.0))):
        return
    if not do(talk.command("init string", init, max(timeout, 3.0))):
        report.error = f"the modem did not accept the init string {init!r}: {steps[-1].result}"
        return
    do(talk.command("numeric result codes", "ATV0", timeout, numeric=True))
    if not do(talk.command("verbose result codes", "ATV1", timeout)):
        return
    for n in range(5):
        st = talk.command(f"identification {n}", f"ATI{n}", timeout, required=False)
        if st.result == "ERROR":
            st.detail = "not supported by this modem"
        elif st.ok:
            report.identity[f"ATI{n}"] = " ".join(st.text)
        do(st)
    # The guide's ATX: dial without waiting for a dial tone. X3 dials blind like X0 but
    # still reports BUSY and the connect speed, so the dial step can tell them apart.
    if not do(talk.command("blind dialing", "ATX3", timeout)):
        return
    if dial is not None:
        st = talk.command("dial", f"ATDT{dial}", dial_timeout)
        got = st.result
        st.ok = got == expect or (expect == "CONNECT" and got.startswith("CONNECT ")) or got.startswith(expect + " ")
        if not st.ok and got not in ("timeout", "garbage", "hung up"):
            st.detail = f"expected {expect}"
        do(st)
        if got.startswith("CONNECT"):
            # Back to command mode: guard time, +++, guard time, OK.
            time.sleep(1.1)
            talk.drain()
            start = time.monotonic()
            talk.send(b"+++")
            do(talk.wait("escape to command mode", "+++", 4.0, start=start))
    if voice:
        _voice_steps(talk, report, do, timeout)
    do(talk.command("hang up", "ATH0", max(timeout, 3.0)))


_PCM_FORMAT = re.compile(r'^\s*(\d+)\s*,\s*"([^"]*)"\s*,\s*(\d+)\s*,[^(]*\(([^)]*)\)')
_DTMF_BIT = 4  # +VEM: event 4 is "DTMF detected"; bit 0 is the mask's most significant


def pcm_formats(lines: list[str]) -> list[int]:
    """The +VSM ids of 8-bit linear PCM at 8000 samples a second in ``AT+VSM=?``'s lines."""
    found = []
    for line in lines:
        m = _PCM_FORMAT.match(line)
        if not m:
            continue
        ident, name, bits, rates = int(m.group(1)), m.group(2).upper(), int(m.group(3)), m.group(4)
        if bits == 8 and ("PCM" in name or "LINEAR" in name) and "8000" in re.split(r"[\s,\-]+", rates):
            found.append(ident)
    return found


def dtmf_reported(lines: list[str]) -> bool | None:
    """Whether ``AT+VEM=?``'s first mask (the playback mode's) has the DTMF event; None: no mask."""
    masks = [ln.strip() for ln in lines if re.fullmatch(r"[0-9A-Fa-f]{8}", ln.strip())]
    if not masks:
        return None
    return bool(int(masks[0], 16) & (1 << (31 - _DTMF_BIT)))


def _voice_steps(talk: ModemTalk, report: Report, do: Callable[[Step], bool], timeout: float) -> None:
    """What ``dialup-admin answer`` needs for the dial tone (V.253), then back to data mode."""
    info: dict[str, Any] = {"voice": False, "dtmf": "unknown", "formats": [], "summary": ""}
    report.voice = info

    def failed(step: Step, why: str) -> None:
        step.ok = False
        step.detail = why
        do(step)
        info["summary"] = f"{step.command} -> {step.result}" + (f" ({why})" if why else "")

    st = talk.command("voice classes", "AT+FCLASS=?", timeout)
    classes = re.split(r"[\s,()]+", " ".join(st.text))
    if st.result != "OK" or "8" not in classes:
        return failed(st, "no class 8 (voice) among " + (" ".join(st.text) or "none"))
    do(st)
    st = talk.command("voice mode", "AT+FCLASS=8", timeout)
    if not st.ok:
        return failed(st, "no voice mode: use answer --no-dial-tone")
    do(st)
    try:
        st = talk.command("voice formats", "AT+VSM=?", timeout)
        info["formats"] = st.text
        ids = pcm_formats(st.text)
        if not st.ok or not ids:
            return failed(st, "no 8-bit PCM at 8000 Hz")
        do(st)
        chosen = 1 if 1 in ids else ids[0]
        st = talk.command("8-bit PCM at 8 kHz", f"AT+VSM={chosen},8000", timeout)
        if not st.ok:
            return failed(st, "")
        do(st)
        st = talk.command("off hook (voice)", "AT+VLS=1", timeout)
        st.ok = st.result in ("OK", "VCON")
        if not st.ok:
            return failed(st, "")
        do(st)
        st = talk.command("DTMF reporting", "AT+VEM=?", timeout, required=False)
        dtmf = dtmf_reported(st.text) if st.ok else None
        info["dtmf"] = {True: "yes", False: "no", None: "unknown"}[dtmf]
        if dtmf is False:
            return failed(Step(st.name, st.command, False, st.result, st.seconds, st.text), "DTMF is not among its events")
        st.detail = "DTMF among its events" if dtmf else "no +VEM: V.253 reports digits as <DLE><digit>"
        st.ok = True
        do(st)
        st = talk.command("play audio", "AT+VTX", timeout)
        if not st.result.startswith("CONNECT"):
            return failed(st, "")
        st.ok = True
        do(st)
        gen = tones.ToneGenerator(tones.parse_tone(tones.NORTH_AMERICA))
        start = time.monotonic()
        for _ in range(5):  # half a second of dial tone, at the pace the modem plays it
            talk.send(gen.take(tones.RATE // 10).replace(b"\x10", b"\x10\x10"))
            time.sleep(0.1)
        talk.send(b"\x10\x03")
        st = talk.wait("end of audio", "<DLE><ETX>", max(timeout, 3.0), start=start)
        if not st.ok:
            return failed(st, "the modem did not end the audio with OK")
        do(st)
        info["voice"] = True
        info["summary"] = f"+FCLASS=8, +VSM={chosen},8000, +VLS=1, +VTX; DTMF reports: {info['dtmf']}"
    finally:
        talk.command("voice on hook", "ATH0", max(timeout, 3.0))
        do(talk.command("data mode", "AT+FCLASS=0", timeout, required=False))


def describe(report: Report) -> list[str]:
    """The human report, one line per step."""
    out = [f"test-modem {report.port} at {report.speed} bps"]
    if report.voice:
        verdict = "yes" if report.voice.get("voice") else "NO"
        out_voice = f"  voice mode for a direct line's dial tone: {verdict} ({report.voice.get('summary', '')})"
    else:
        out_voice = ""
    for note in report.notes:
        out.append(f"  note: {note}")
    for s in report.steps:
        mark = "ok  " if s.ok else ("--  " if not s.required else "FAIL")
        extra = f"  {' | '.join(s.text)}" if s.text else ""
        det = f"  ({s.detail})" if s.detail else ""
        out.append(f"  {mark} {s.name:<22} {s.command:<36} {s.result:<14} {s.seconds * 1000:7.1f} ms{extra}{det}")
    verdict = "PASS" if report.ok else "FAIL"
    if out_voice:
        out.append(out_voice)
    out.append(f"{verdict}: {len(report.steps)} steps in {report.seconds:.2f} s")
    if report.error:
        out.append(f"  {report.error}")
    return out


def check_expect(value: str) -> str:
    v = value.upper().replace("_", " ")
    if v not in RESULTS:
        raise UserError(f"unknown result {value!r}: one of {', '.join(RESULTS)}", exit_code=2)
    return v
