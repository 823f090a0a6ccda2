"""doctor's checks of direct lines (no exchange: ``dialup-admin answer`` instead of mgetty).

Each direct line: its answer service (inittab line or systemd unit), answer running (or
the pppd it became holding the line), no mgetty on it, and the modem's voice mode as
``test-modem --voice`` recorded it. Reading only, like every doctor check.
"""

from __future__ import annotations

import json
from typing import Any

from dialup_admin.core.direct import VOICE_RECORD
from dialup_admin.core.findings import ERROR, OK, WARNING, Finding, Target
from dialup_admin.formats import inittab as inittab_fmt
from dialup_admin.formats import uucp_lock
from dialup_admin.paths import INITTAB, LOCK_DIR, SYSTEMD_DIR


def check_direct(t: Target) -> list[Finding]:
    """Each direct line: its answer service, nothing of mgetty's on it, its modem's voice mode when known."""
    if not t.direct_ttys:
        return []
    out: list[Finding] = []
    state = t.state or {}
    direct = state.get("direct") if isinstance(state.get("direct"), dict) else {}
    tone_on = not isinstance(direct, dict) or direct.get("dial_tone", "350+440") is not None
    entries = inittab_fmt.entries(t.read(INITTAB) or b"")
    for tty in t.direct_ttys:
        out.append(_service(t, tty, state.get("init"), entries))
        if t.procs is not None:
            out += _running(t, tty, state.get("init"))
        out.append(_voice(t, tty, tone_on))
    return out


def _service(t: Target, tty: str, init: object, entries: list[inittab_fmt.Entry]) -> Finding:
    """What starts answer on ``tty``: its inittab line or its enabled systemd unit."""
    unit = f"dialup-answer@{tty}.service"
    if init == "inittab" and not any(e.action == "respawn" and "answer" in e.process.split()
                                     and tty in e.process.split() for e in entries):
        return Finding("answer-service", ERROR, f"{INITTAB} has no answer respawn line for {tty}",
                       "rerun dialup-admin setup-server, then telinit q")
    if init == "systemd" and not t.is_link(f"{SYSTEMD_DIR}/multi-user.target.wants/{unit}"):
        return Finding("answer-service", ERROR, f"{unit} is not enabled", f"systemctl enable --now {unit}")
    if init not in ("inittab", "systemd"):
        return Finding("answer-service", WARNING, f"nothing keeps answer running on {tty} (--init none)",
                       "rerun setup-server with --init inittab or --init systemd")
    return Finding("answer-service", OK, f"answer is started by {init} on {tty}")


def _running(t: Target, tty: str, init: object) -> list[Finding]:
    """answer waiting on ``tty`` (or the pppd of a call holding its lock), and no mgetty there."""
    procs = t.procs or []
    out: list[Finding] = []
    lock_pid = uucp_lock.pid(t.read(f"{LOCK_DIR}/LCK..{tty}") or b"")
    holder = next((p for p in procs if p.pid == lock_pid), None)
    if any(p.is_answer(tty) for p in procs):
        out.append(Finding("answer-running", OK, f"answer waits for a call on {tty}"))
    elif holder is not None and holder.program == "pppd":
        out.append(Finding("answer-running", OK, f"a call is up on {tty} (pppd pid {holder.pid})"))
    else:
        start = f"systemctl start dialup-answer@{tty}.service" if init == "systemd" else "telinit q"
        out.append(Finding("answer-running", ERROR, f"answer is not running on {tty}: nobody answers it",
                           f"{start} (dialup-admin logs {tty} says why it stopped)"))
    for p in procs:
        if p.program == "mgetty" and p.names_tty(tty):
            out.append(Finding("direct-mgetty", ERROR,
                               f"mgetty (pid {p.pid}) runs on {tty}, a direct line: it waits for a RING that "
                               "never comes, and holds the port",
                               f"systemctl disable --now mgetty@{tty}.service, or remove its inittab line"))
    return out


def _voice(t: Target, tty: str, tone_on: bool) -> Finding:
    """The modem's voice mode as test-modem --voice recorded it, against the dial tone setup-server wants."""
    rec = voice_record(t, tty)
    if rec is None:
        return Finding("voice-mode", OK, f"{tty}: the modem's voice mode is not known yet "
                       f"(dialup-admin test-modem --voice /dev/{tty} tells)")
    if rec.get("voice") is False and tone_on:
        return Finding("voice-mode", ERROR, f"{tty}: the modem has no voice mode for the dial tone "
                       f"({rec.get('summary', 'test-modem --voice')})",
                       "setup-server --tty TTY:direct --no-dial-tone (callers must dial blind, X3)")
    if rec.get("voice") is False:
        return Finding("voice-mode", OK, f"{tty}: no voice mode; answering blind callers (--no-dial-tone)")
    return Finding("voice-mode", OK, f"{tty}: the modem plays the dial tone and reports digits "
                   f"({rec.get('summary', 'test-modem --voice')})")


def voice_record(t: Target, tty: str) -> dict[str, Any] | None:
    """What ``test-modem --voice`` last recorded about ``tty``'s modem."""
    data = t.read(VOICE_RECORD.format(tty=tty))
    try:
        rec = json.loads(data) if data is not None else None
    except ValueError:
        return None
    return rec if isinstance(rec, dict) else None
