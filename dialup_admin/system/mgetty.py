"""Which mgetty is installed, and where that binary reads its files.

Debian's package installs ``/sbin/mgetty`` reading ``/etc/mgetty/``; the guide's
source build installs ``/usr/local/sbin/mgetty`` reading
``/usr/local/etc/mgetty+sendfax/``. The compiled-in paths are read from the binary
itself, so a build with another prefix is found too.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from dialup_admin.errors import BadInput, UserError
from dialup_admin.paths import Paths
from dialup_admin.system import reading

# Searched in this order: a local build shadows the distro's binary, as on PATH.
CANDIDATES = ("/usr/local/sbin/mgetty", "/sbin/mgetty", "/usr/sbin/mgetty")

_CONFIG_RE = re.compile(rb"(/[\x21-\x7e]*?)/mgetty\.config\x00")
_LOG_RE = re.compile(rb"(/var/log/[\x21-\x7e]*%s[\x21-\x7e]*)\x00")
_LOCK_RE = re.compile(rb"(/[\x21-\x7e]*/LCK\.\.%s)\x00")
_VERSION_RE = re.compile(rb"(?:stable|interim|beta) release ([0-9][\x21-\x7e]*)\x00")
# mgetty logs its compiled-in options when it prompts: "getlogname (FIDO AUTO_PPP), read:".
_FEATURES_RE = re.compile(rb"getlogname \(([A-Za-z_ ]+)\), read:")


@dataclass(frozen=True)
class MgettyLayout:
    """Where one mgetty binary lives and reads (system paths of the target)."""

    binary: str
    config_dir: str
    log_pattern: str  # printf-style, %s is the tty
    auto_ppp: bool

    @property
    def flavour(self) -> str:
        return "debian" if self.config_dir == "/etc/mgetty" else "source"

    @property
    def mgetty_config(self) -> str:
        return f"{self.config_dir}/mgetty.config"

    @property
    def login_config(self) -> str:
        return f"{self.config_dir}/login.config"

    def log_file(self, tty: str) -> str:
        return self.log_pattern.replace("%s", tty)


def inspect_binary(data: bytes, binary: str) -> MgettyLayout:
    """Read the compiled-in config dir, log pattern and AUTO_PPP support from a binary's bytes."""
    m = _CONFIG_RE.search(data)
    if m:
        config_dir = m.group(1).decode()
    else:
        prefix = str(PurePosixPath(binary).parent.parent)
        config_dir = "/etc/mgetty" if prefix in ("/", "/usr") else f"{prefix}/etc/mgetty+sendfax"
    lm = _LOG_RE.search(data)
    log = lm.group(1).decode() if lm else "/var/log/mgetty.%s"
    # AUTO_PPP builds carry the /AutoPPP/ login.config key (as "/AutoPPP" in the binary).
    return MgettyLayout(binary, config_dir, log, auto_ppp=b"/AutoPPP" in data)


def detect(paths: Paths, explicit: str | None = None) -> MgettyLayout:
    """Find the mgetty that will run on the target and read its layout.

    Under ``--root``, a tree without mgetty falls back to this host's binary (an image
    being prepared on the machine that will run it); the caller is told.
    """
    if explicit is not None:
        if not explicit.startswith("/") or ".." in explicit.split("/") or "\0" in explicit:
            raise BadInput(f"--mgetty wants a plain absolute path (no '..'), such as /sbin/mgetty, not {explicit!r}")
        for where in (paths, Paths()):
            real = where.of(explicit)
            if real.exists():
                return checked_binary(real, explicit)
        raise UserError(f"{explicit} does not exist")
    search = [paths] if paths.is_host else [paths, Paths()]
    for where in search:
        for c in CANDIDATES:
            real = where.of(c)
            if real.is_file():
                return inspect_binary(reading.read_bytes(real), c)
    raise UserError(
        "mgetty is not installed: apt-get install mgetty (built with AUTO_PPP), "
        "or build it from source with dialup-admin build-mgetty"
    )


def checked_binary(real: Path, binary: str) -> MgettyLayout:
    """The layout of the mgetty at ``real``, refused unless it is an executable mgetty.

    An executable ELF file carrying mgetty's release string (what ``mgetty -V`` prints):
    /etc/passwd, a shell script, an empty file or junk are not mgetty, and setup-server
    would write an inittab line or unit that respawns them forever.
    """
    data = reading.read_bytes(real)
    if not data.startswith(b"\x7fELF"):
        raise BadInput(f"{binary} is not mgetty: not a compiled program (give the mgetty binary, such as /sbin/mgetty)")
    if version(data) is None:
        raise BadInput(f"{binary} is not mgetty: no mgetty release string in it (give the mgetty binary, "
                       "such as /sbin/mgetty)")
    if not os.access(real, os.X_OK):
        raise BadInput(f"{binary} is not executable (chmod 755 {binary})")
    return inspect_binary(data, binary)


def features(data: bytes) -> tuple[str, ...]:
    """The compiled-in options a binary lists in its log (``AUTO_PPP``, ``FIDO``...).

    mgetty logs ``getlogname (FIDO AUTO_PPP), read:`` when it prompts; the string in
    the binary names the options it was compiled with (``no opts`` for none).
    """
    found: set[str] = set()
    for m in _FEATURES_RE.finditer(data):
        words = m.group(1).decode().split()
        if words != ["no", "opts"]:
            found.update(words)
    if b"/AutoPPP" in data:
        found.add("AUTO_PPP")
    return tuple(sorted(found))


def version(data: bytes) -> str | None:
    """The release a binary reports with ``mgetty -V`` (``1.2.1``), read from its bytes."""
    m = _VERSION_RE.search(data)
    return m.group(1).decode() if m else None


def lock_pattern(data: bytes) -> str | None:
    """The compiled-in UUCP lock file pattern (``/var/lock/LCK..%s``)."""
    m = _LOCK_RE.search(data)
    return m.group(1).decode() if m else None


def installed(paths: Paths) -> list[MgettyLayout]:
    """Every mgetty binary on the target, in the order :func:`detect` prefers them."""
    found: list[MgettyLayout] = []
    seen: set[str] = set()
    real_seen: set[str] = set()
    search = [paths] if paths.is_host else [paths, Paths()]
    for where in search:
        for c in CANDIDATES:
            real = where.of(c)
            if c in seen or not real.is_file():
                continue
            seen.add(c)
            # /sbin is /usr/sbin on merged-/usr systems: one binary, listed once.
            if str(real.resolve()) in real_seen:
                continue
            real_seen.add(str(real.resolve()))
            found.append(inspect_binary(reading.read_bytes(real), c))
    return found
