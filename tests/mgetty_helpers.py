"""Helpers for the mgetty tests: fake source trees, the real source cache, building once.

The fake trees are tiny but real: their Makefile compiles a C program that carries
mgetty's tell-tale strings (the compiled-in config path from ``prefix=``, ``/AutoPPP/``
only when ``policy.h`` defines AUTO_PPP, the release string), and a ``logfile.c``
with 1.2.1's ``sys_errlist`` expression, which current glibc refuses unless patched.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dialup_admin.errors import UserError
from dialup_admin.mgetty import source
from dialup_admin.paths import Paths

REPO = Path(__file__).resolve().parent.parent
# Filled by the test set-up on first use (and by `make` if it wants to: see the README);
# reused while the tarball matches the SHA-256 in Debian's .dsc.
SOURCE_CACHE = Path(os.environ.get("DIALUP_ADMIN_MGETTY_CACHE", REPO / ".cache" / "mgetty-src"))

POLICY = """\
/* policy.h -- a fake, cut down from mgetty's */
#define MGETTY_CONFIG "mgetty.config"

/* AutoPPP-Support
 * If you want to auto-detect incoming PPP calls (with authorization done
 * by the pppd, i.e. via CHAP or PAP), define AUTO_PPP.
 */
/* #define AUTO_PPP */

#define LOG_PATH "/var/log/mgetty.%s"
#define LOCK "/var/lock/LCK..%s"
"""

MGETTY_C = r"""
#include <stdio.h>
#include "policy.h"
static const char *config = CONFDIR "/" MGETTY_CONFIG;
static const char *release = "stable release 9.9";
static const char *logpath = LOG_PATH;
static const char *lock = LOCK;
#ifdef AUTO_PPP
static const char *autoppp = "/AutoPPP/";
static const char *opts = "getlogname (AUTO_PPP), read:";
#else
static const char *autoppp = "";
static const char *opts = "getlogname (no opts), read:";
#endif
extern const char *errtext(int);
int main(void) {
    printf("%s %s %s %s %s %s %s\n", config, release, logpath, lock, autoppp, opts, errtext(2));
    return 0;
}
"""

LOGFILE_C = r"""
#include <stdio.h>
#include <string.h>
#include <errno.h>
const char *errtext(int errnr) {
    return
			     ( errnr <= sys_nerr ) ? sys_errlist[errnr]:
			     "<error not in list>" ;
}
"""

MAKEFILE = """\
CC=cc
prefix=/usr/local
CONFDIR=$(prefix)/etc/mgetty+sendfax

all: mgetty

mgetty: mgetty.o logfile.o
\t$(CC) -o mgetty mgetty.o logfile.o

mgetty.o: mgetty.c policy.h Makefile
\t$(CC) -O2 -DCONFDIR=\\"$(CONFDIR)\\" -c mgetty.c

logfile.o: logfile.c
\t$(CC) -O2 -c logfile.c

login.config: login.cfg.in
\tsed -e 's|@CONFDIR@|$(CONFDIR)|' login.cfg.in >login.config

mgetty.config: mgetty.cfg.in
\tcp mgetty.cfg.in mgetty.config
"""


def fake_source(parent: Path, style: str = "1.2", name: str = "mgetty-9.9") -> Path:
    """Write a fake mgetty source tree below ``parent`` and return it.

    ``style``: ``"1.2"`` ships policy.h; ``"1.1"`` ships policy.h-dist; ``"none"``
    neither; ``"broken"`` is 1.2 with a C syntax error; ``"enabled"`` has AUTO_PPP on.
    """
    d = parent / name
    d.mkdir(parents=True)
    (d / "Makefile").write_text(MAKEFILE)
    (d / "mgetty.c").write_text(MGETTY_C + ("\nint broken(void) { return }\n" if style == "broken" else ""))
    (d / "logfile.c").write_text(LOGFILE_C)
    (d / "login.cfg.in").write_text("# login.config template for @CONFDIR@\n#/AutoPPP/ - a_ppp /usr/sbin/pppd\n")
    (d / "mgetty.cfg.in").write_text("# mgetty.config template\n")
    policy = POLICY.replace("/* #define AUTO_PPP */", "#define AUTO_PPP") if style == "enabled" else POLICY
    if style == "1.1":
        (d / "policy.h-dist").write_text(policy)
    elif style != "none":
        (d / "policy.h").write_text(policy)
    return d


def tarball_of(tree: Path, out: Path) -> Path:
    """Pack ``tree`` as ``out`` (.tar.gz) with the tree's name as the top directory."""
    with tarfile.open(out, "w:gz") as tf:
        tf.add(tree, arcname=tree.name)
    return out


def fake_binary(root: Path, system_path: str, auto_ppp: bool, config_dir: str) -> Path:
    """A file carrying an mgetty binary's tell-tale strings at ``system_path`` under ``root``."""
    b = root / system_path.lstrip("/")
    b.parent.mkdir(parents=True, exist_ok=True)
    opts = b"getlogname (AUTO_PPP), read:\x00/AutoPPP/\x00" if auto_ppp else b"getlogname (no opts), read:\x00"
    b.write_bytes(
        b"\x7fELF\x00stable release 1.1.37\x00" + config_dir.encode() + b"/mgetty.config\x00"
        b"/var/log/mgetty.%s\x00/var/lock/LCK..%s\x00" + opts
    )
    b.chmod(0o755)
    return b


def real_tarball() -> Path:
    """Debian's copy of the upstream mgetty tarball, fetched into the cache on first use.

    Uses ``apt-get source`` with a private apt configuration (network needed once).
    """
    return source.fetch_debian(SOURCE_CACHE, Paths()).tarball


@dataclass
class BuiltMgetty:
    """The real mgetty, built once per session into its own --root tree."""

    root: Path
    binary: Path
    seconds: float  # the whole build-mgetty run (unpack, make, install)
    result: dict[str, Any]
    output: str


_BUILT: dict[str, BuiltMgetty] = {}


def build_real_once(tmp_path_factory: pytest.TempPathFactory) -> BuiltMgetty:
    """Build Debian's upstream mgetty tarball with build-mgetty, once per test session."""
    if "real" in _BUILT:
        return _BUILT["real"]
    try:
        tarball = real_tarball()
    except UserError as exc:
        pytest.skip(f"mgetty's source is not cached in {SOURCE_CACHE} and cannot be fetched: {exc}")
    hit = source.cached(SOURCE_CACHE)
    assert hit is not None
    root = tmp_path_factory.mktemp("mgetty-real-build")
    tmp = tmp_path_factory.mktemp("mgetty-real-build-tmp")
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "dialup_admin", "--root", str(root), "--json",
         "build-mgetty", str(tarball), "--sha256", hit.sha256, "--force"],
        capture_output=True, cwd=REPO, env={**os.environ, "TMPDIR": str(tmp)}, timeout=900,
    )  # fmt: skip
    seconds = time.monotonic() - start
    assert proc.returncode == 0, proc.stderr.decode()
    built = BuiltMgetty(root, root / "usr/local/sbin/mgetty", seconds, json.loads(proc.stdout), proc.stderr.decode())
    _BUILT["real"] = built
    return built
