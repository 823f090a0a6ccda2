"""Shell completion of values: serial ports and dial-in user names.

click's shell completion (bash, zsh, fish) calls these while the user presses Tab; the
completion scripts themselves are click's own (``dialup_admin.docs.completions``). They
only read: ``/dev``, ``/sys/class/tty``, ``/etc/ppp/pap-secrets``, ``/etc/group`` and
``/etc/passwd`` of the ``--root`` tree, and never fail: whatever goes wrong, the answer is
no candidates. Kept light (no pexpect, no jinja2) because every Tab starts the program.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

import click
from click.shell_completion import CompletionItem

from dialup_admin.errors import UserError
from dialup_admin.paths import Paths
from dialup_admin.system import reading, serial

# Serial ports a modem can be on: on-board UARTs, USB adapters and USB modems, a Pi's PL011.
PORT_PATTERNS = ("ttyS*", "ttyUSB*", "ttyACM*", "ttyAMA*")
PPP_GROUP = "ppp"


def _paths(ctx: click.Context) -> Paths:
    """The tree of the global ``--root`` already typed on the line (``/`` when none)."""
    root = ctx.find_root().params.get("root")
    try:
        return Paths(Path(root)) if root else Paths()
    except (OSError, ValueError, TypeError):
        return Paths()


def tty_names(paths: Paths) -> list[str]:
    """Names under /dev of the serial ports (``ttyS1``, ``ttyUSB0``), in natural order."""
    dev = paths.of("/dev")
    out: list[str] = []
    for pattern in PORT_PATTERNS:
        names = sorted((os.path.basename(p) for p in glob.glob(str(dev / pattern))), key=serial.natural_key)
        out.extend(n for n in names if not n.startswith("ttyS") or serial.has_uart(paths, n))
    return out


def port_paths(paths: Paths) -> list[str]:
    """Full paths of the serial ports: stable ``/dev/serial/by-id/`` names first."""
    by_id = sorted(glob.glob(str(paths.of("/dev/serial/by-id") / "*")))
    return [paths.system(Path(p)) for p in by_id] + [f"/dev/{n}" for n in tty_names(paths)]


def complete_tty(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """``ttyS1``-style names, for options that take a name under /dev (``--tty``, ``logs TTY``)."""
    if "=" in incomplete:  # --tty ttyS1=LOCAL:REMOTE: the addresses are the user's to type
        return []
    try:
        names = tty_names(_paths(ctx))
    except Exception:  # noqa: BLE001 - completion never fails, it offers nothing
        return []
    return [CompletionItem(n) for n in names if n.startswith(incomplete)]


def complete_port(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Port paths (``/dev/serial/by-id/...``, ``/dev/ttyS1``), or names once a name is begun."""
    try:
        paths = _paths(ctx)
        words = port_paths(paths) if not incomplete or incomplete.startswith("/") else tty_names(paths)
    except Exception:  # noqa: BLE001
        return []
    return [CompletionItem(w) for w in words if w.startswith(incomplete)]


def _read(paths: Paths, system_path: str) -> str:
    return reading.read_text(paths.of(system_path))


def dialin_users(paths: Paths) -> list[str]:
    """User names of pap-secrets' entries that can log in; from the account database
    (members of group ppp) when pap-secrets cannot be read (it is 0600 root, and Tab runs
    as the user even under sudo)."""
    from dialup_admin.formats import secrets

    try:
        parsed = secrets.parse(reading.read_bytes(paths.pap_secrets))
    except (OSError, UserError):
        return _ppp_members(paths)
    names = {e.client for e in parsed.entries if e.secret != secrets.DENY_SECRET}
    return sorted(n for n in names if n and n != "*" and not n.startswith("-"))


def _ppp_members(paths: Paths) -> list[str]:
    try:
        group_lines = _read(paths, "/etc/group").splitlines()
    except (OSError, UserError):
        return []
    gid, members = None, set()
    for line in group_lines:
        f = line.split(":")
        if len(f) >= 4 and f[0] == PPP_GROUP:
            gid, members = f[2], {m for m in f[3].split(",") if m}
    if gid is None:
        return []
    try:
        for line in _read(paths, "/etc/passwd").splitlines():
            f = line.split(":")
            if len(f) >= 4 and f[3] == gid:
                members.add(f[0])
    except OSError:
        pass
    return sorted(members)


def complete_user(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Dial-in user names, for ``deluser NAME`` and ``passwd NAME``."""
    try:
        names = dialin_users(_paths(ctx))
    except Exception:  # noqa: BLE001
        return []
    return [CompletionItem(n) for n in names if n.startswith(incomplete)]
