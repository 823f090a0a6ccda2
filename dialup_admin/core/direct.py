"""Direct lines (no telephone exchange): what ``answer`` needs from the recorded setup.

``setup-server --tty ttyACM0:direct`` records the line as direct in server.json with
the answering settings (:class:`~dialup_admin.model.DirectSettings`); ``dialup-admin
answer ttyACM0`` reads them back here, so the init's command line stays short.
``test-modem --voice`` keeps what it found about a modem's voice mode in
``/var/lib/dialup-admin/voice-TTY.json`` (:func:`save_voice_record`, the only write
here), read by setup-server and doctor.
"""

from __future__ import annotations

import os
from typing import Any

from dialup_admin.core.state import load_server_json
from dialup_admin.errors import BadInput
from dialup_admin.model import DirectSettings, tty_name
from dialup_admin.modem import tones
from dialup_admin.modem.answer import AnswerConfig
from dialup_admin.paths import SERVER_STATE, STATE_DIR, Paths
from dialup_admin.system import reading

PPPD = "/usr/sbin/pppd"


def port_of(paths: Paths, tty: str) -> tuple[str, str]:
    """``(name, port path)``: ``ttyS1`` or ``/dev/ttyS1`` is the device under the root; any
    other absolute path (a symlink such as /dev/serial/by-id/..., a simulated port) is used as is."""
    if tty.startswith("/") and not (tty.startswith("/dev/") and "/" not in tty[len("/dev/"):]):
        name = os.path.basename(tty)
        if not name:
            raise BadInput(f"bad port {tty!r}")
        return name, tty
    name = tty_name(tty)
    return name, str(paths.dev(name))


def settings_json(settings: DirectSettings) -> dict[str, Any]:
    return {"dial_tone": settings.dial_tone, "number": settings.number,
            "dial_timeout": settings.dial_timeout, "connect_timeout": settings.connect_timeout}


def saved_settings(paths: Paths, name: str) -> dict[str, Any]:
    """What setup-server recorded for ``name``: the direct settings when it is a direct line,
    the port speed and pppd in any case. Empty when nothing is set up."""
    data = load_server_json(paths) or {}
    out: dict[str, Any] = {}
    speed = (data.get("mgetty") or {}).get("speed") if isinstance(data.get("mgetty"), dict) else None
    if isinstance(speed, int):
        out["speed"] = speed
    for key in ("pppd", "answer_pppd"):  # the pppd login.config names (a RADIUS fallback wrapper) wins
        if isinstance(data.get(key), str):
            out["pppd"] = data[key]
    lines = [d for d in data.get("lines", []) if isinstance(d, dict) and d.get("tty") == name]
    direct = data.get("direct")
    if lines and lines[0].get("direct") and isinstance(direct, dict):
        out.update({k: direct[k] for k in ("dial_tone", "number", "dial_timeout", "connect_timeout") if k in direct})
        out["no_dial_tone"] = direct.get("dial_tone") is None
    return out


def answer_config(settings: dict[str, Any]) -> AnswerConfig:
    """The answering cycle's settings from recorded and given ones; BadInput for bad values."""
    try:
        tone = None if settings.get("no_dial_tone") else tones.parse_tone(
            str(settings.get("dial_tone") or tones.NORTH_AMERICA))
        kwargs: dict[str, Any] = {"tone": tone, "number": settings.get("number")}
        for key in ("dial_timeout", "connect_timeout", "init"):
            if settings.get(key) is not None:
                kwargs[key] = settings[key]
        return AnswerConfig(**kwargs)
    except (ValueError, TypeError) as exc:
        raise BadInput(str(exc)) from None


def describe(cfg: AnswerConfig) -> str:
    tone = f"dial tone {tones.tone_name(cfg.tone)} Hz" if cfg.tone else "no dial tone (blind-dialing callers)"
    number = f"number {cfg.number}" if cfg.number else "any number"
    return f"{tone}, {number}, dial timeout {cfg.dial_timeout:g} s, connect timeout {cfg.connect_timeout} s"


# --- setup-server --------------------------------------------------------------------

SETTING_KEYS = ("dial_tone", "no_dial_tone", "number", "dial_timeout", "connect_timeout")
VOICE_RECORD = f"{STATE_DIR}/voice-{{tty}}.json"


def settings(paths: Paths, given: dict[str, object], have_direct: bool) -> DirectSettings:
    """The direct lines' settings: the options given, else what the last setup-server recorded, else defaults."""
    chosen = {k: v for k, v in given.items() if k in SETTING_KEYS and v is not None}
    if not have_direct:
        if chosen:
            names = ", ".join("--" + k.replace("_", "-") for k in chosen)
            raise BadInput(f"{names}: only for direct lines (give one as --tty TTY:direct)")
        return DirectSettings()
    if chosen.get("dial_tone") is not None and chosen.get("no_dial_tone"):
        raise BadInput("--dial-tone and --no-dial-tone exclude each other")
    data = load_server_json(paths) or {}
    before = data.get("direct") if isinstance(data.get("direct"), dict) else {}
    values: dict[str, Any] = {k: before[k] for k in ("dial_tone", "number", "dial_timeout", "connect_timeout")
                              if isinstance(before, dict) and k in before}
    for key in ("number", "dial_timeout", "connect_timeout"):
        if key in chosen:
            values[key] = chosen[key]
    if "dial_tone" in chosen:
        values["dial_tone"] = str(chosen["dial_tone"]).strip()
    if chosen.get("no_dial_tone"):
        values["dial_tone"] = None
    try:
        return DirectSettings(**values)
    except TypeError:
        raise BadInput(f"{SERVER_STATE}: the direct settings are damaged; give them again") from None


def tool_command() -> str:
    """How init starts this dialup-admin: the console script beside the running Python (a venv), else
    the one on PATH, else ``python -m dialup_admin``."""
    import shutil
    import sys
    from pathlib import Path

    beside = Path(sys.executable).parent / "dialup-admin"
    if beside.is_file():
        return str(beside)
    found = shutil.which("dialup-admin")
    return os.path.abspath(found) if found else f"{sys.executable} -m dialup_admin"


def voice_record(paths: Paths, tty: str) -> dict[str, Any] | None:
    """What ``test-modem --voice`` last found on ``tty``'s modem, or None."""
    import json

    try:
        data = json.loads(reading.read_bytes(paths.of(VOICE_RECORD.format(tty=tty))))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def voice_notes(paths: Paths, server: Any) -> tuple[str, ...]:
    """Warnings setup-server can give in advance: a direct line whose modem test-modem --voice
    found without what the dial tone needs."""
    if getattr(server.direct, "dial_tone", None) is None:
        return ()
    notes = []
    for ln in server.direct_lines:
        rec = voice_record(paths, ln.tty)
        if rec is not None and rec.get("voice") is False:
            notes.append(f"{ln.tty}: test-modem --voice found no voice mode on this modem "
                         f"({rec.get('summary', 'no details')}); answer will fail: use --no-dial-tone")
    return tuple(notes)


def save_voice_record(paths: Paths, port: str, info: dict[str, Any]) -> str | None:
    """Keep what test-modem --voice found (atomically, 0644); a note when it could not be kept."""
    import datetime as dt
    import json

    from dialup_admin.system import files, serial

    tty = serial.lock_names(port)[-1]
    record = {**info, "port": port, "tty": tty, "time": dt.datetime.now().isoformat(timespec="seconds")}
    target = paths.of(VOICE_RECORD.format(tty=tty))
    try:
        files.ensure_dir(target.parent, 0o755)
        files.atomic_write(target, (json.dumps(record, indent=2, sort_keys=True) + "\n").encode(), 0o644,
                           os.geteuid(), os.getegid())
    except OSError as exc:
        return f"could not keep the voice result in {VOICE_RECORD.format(tty=tty)}: {exc.strerror}"
    return f"voice result kept in {VOICE_RECORD.format(tty=tty)} (for setup-server and doctor)"
