"""mgetty's own configuration files, login.config and mgetty.config, as doctor reads them. Pure."""

from __future__ import annotations

import re


def autoppp_lines(login_config: bytes) -> list[list[str]]:
    """The words of login.config's ``/AutoPPP/`` lines (``/AutoPPP/ - ppp /usr/sbin/pppd ...``)."""
    out = []
    for line in login_config.decode(errors="replace").splitlines():
        words = line.split()
        if words and words[0] == "/AutoPPP/":
            out.append(words)
    return out


def parse(mgetty_config: bytes) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """(global settings, per-port settings) of an mgetty.config."""
    glob: dict[str, str] = {}
    ports: dict[str, dict[str, str]] = {}
    cur = glob
    for line in mgetty_config.decode(errors="replace").splitlines():
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        key, _, value = s.partition(" ")
        if key == "port":
            cur = ports.setdefault(value.strip(), {})
        else:
            cur[key] = value.strip()
    return glob, ports


def register(chat: str, reg: int) -> int | None:
    """The value an init-chat string gives the modem's S-register ``reg`` (``ATS0=0`` -> 0)."""
    m = re.search(rf"S{reg}=(\d+)", chat, re.IGNORECASE)
    return int(m.group(1)) if m else None
