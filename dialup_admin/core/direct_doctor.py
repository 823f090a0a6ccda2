"""doctor's checks of direct lines (no exchange: ``dialup-admin answer`` instead of mgetty).

Each direct line: its answer service (inittab line or systemd unit), answer running (or
the pppd it became holding the line), no mgetty on it, and the modem's voice mode as
``test-modem --voice`` recorded it. Reading only, like every doctor check.
"""

from __future__ import annotations

import json
from typing import Any

from dialup_admin.core.direct import VOICE_RECORD
from dialup_admin.core.doctor import ERROR, OK, WARNING, Finding, Target
from dialup_admin.formats import inittab as inittab_fmt
from dialup_admin.paths import INITTAB, SYSTEMD_DIR
from dialup_admin.system.procs import Proc


def is_answer(p: Proc, tty: str) -> bool:
    """Whether ``p`` is ``dialup-admin answer TTY`` (run as a console script, or python -m dialup_admin)."""
    args = list(p.argv)
    return "answer" in args and p.names_tty(tty) and any("dialup" in a for a in args[: args.index("answer")])


def _lock_pid(t: Target, tty: str) -> int | None:
    data = t.read(f"/var/lock/LCK..{tty}")
    text = (data or b"").decode(errors="replace").strip()
    return int(text) if text.isdigit() else None


def check(t: Target) -> list[Finding]:
    """Each direct line: its answer service, nothing of mgetty's on it, its modem's voice mode when known."""
    if not t.direct_ttys:
        return []
    out: list[Finding] = []
    state = t.state or {}
    init = state.get("init")
    direct = state.get("direct") if isinstance(state.get("direct"), dict) else {}
    tone_on = not isinstance(direct, dict) or direct.get("dial_tone", "350+440") is not None
    entries = inittab_fmt.entries(t.read(INITTAB) or b"")
    for tty in t.direct_ttys:
        unit = f"dialup-answer@{tty}.service"
        if init == "inittab" and not any(e.action == "respawn" and "answer" in e.process.split()
                                         and tty in e.process.split() for e in entries):
            out.append(Finding("answer-service", ERROR, f"{INITTAB} has no answer respawn line for {tty}",
                               "rerun dialup-admin setup-server, then telinit q"))
        elif init == "systemd" and not t.paths.node(f"{SYSTEMD_DIR}/multi-user.target.wants/{unit}").is_symlink():
            out.append(Finding("answer-service", ERROR, f"{unit} is not enabled", f"systemctl enable --now {unit}"))
        elif init not in ("inittab", "systemd"):
            out.append(Finding("answer-service", WARNING, f"nothing keeps answer running on {tty} (--init none)",
                               "rerun setup-server with --init inittab or --init systemd"))
        else:
            out.append(Finding("answer-service", OK, f"answer is started by {init} on {tty}"))
        if t.procs is not None:
            holder = next((p for p in t.procs if p.pid == _lock_pid(t, tty)), None)
            if any(is_answer(p, tty) for p in t.procs):
                out.append(Finding("answer-running", OK, f"answer waits for a call on {tty}"))
            elif holder is not None and holder.program == "pppd":
                out.append(Finding("answer-running", OK, f"a call is up on {tty} (pppd pid {holder.pid})"))
            else:
                start = f"systemctl start {unit}" if init == "systemd" else "telinit q"
                out.append(Finding("answer-running", ERROR, f"answer is not running on {tty}: nobody answers it",
                                   f"{start} (dialup-admin logs {tty} says why it stopped)"))
            for p in t.procs:
                if p.program == "mgetty" and p.names_tty(tty):
                    out.append(Finding("direct-mgetty", ERROR,
                                       f"mgetty (pid {p.pid}) runs on {tty}, a direct line: it waits for a RING that "
                                       "never comes, and holds the port",
                                       f"systemctl disable --now mgetty@{tty}.service, or remove its inittab line"))
        rec = voice_record(t, tty)
        if rec is None:
            out.append(Finding("voice-mode", OK, f"{tty}: the modem's voice mode is not known yet "
                               f"(dialup-admin test-modem --voice /dev/{tty} tells)"))
        elif rec.get("voice") is False and tone_on:
            out.append(Finding("voice-mode", ERROR, f"{tty}: the modem has no voice mode for the dial tone "
                               f"({rec.get('summary', 'test-modem --voice')})",
                               "setup-server --tty TTY:direct --no-dial-tone (callers must dial blind, X3)"))
        elif rec.get("voice") is False:
            out.append(Finding("voice-mode", OK, f"{tty}: no voice mode; answering blind callers (--no-dial-tone)"))
        else:
            out.append(Finding("voice-mode", OK, f"{tty}: the modem plays the dial tone and reports digits "
                               f"({rec.get('summary', 'test-modem --voice')})"))
    return out


def voice_record(t: Target, tty: str) -> dict[str, Any] | None:
    """What ``test-modem --voice`` last recorded about ``tty``'s modem."""
    data = t.read(VOICE_RECORD.format(tty=tty))
    try:
        rec = json.loads(data) if data is not None else None
    except ValueError:
        return None
    return rec if isinstance(rec, dict) else None
