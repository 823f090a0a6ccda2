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
from tests.support.ns import private_mounts
from tests.support.processes import stop_process
from tests.support.tool import REPO

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


# --- real mgetty on the simulated line --------------------------------------------------------
RECORDER_C = r"""
#include <stdio.h>
#include <time.h>
#include <unistd.h>
/* Stands in for pppd (and /bin/login): records when it started, its stdin and argv. */
int main(int argc, char **argv) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    FILE *f = fopen(RECORD_FILE ".tmp", "w");
    if (f == NULL) return 99;
    char *tty = ttyname(0);
    fprintf(f, "%ld.%09ld\n%s\n", (long)ts.tv_sec, ts.tv_nsec, tty ? tty : "-");
    for (int i = 0; i < argc; i++) fprintf(f, "%s\n", argv[i]);
    fclose(f);
    rename(RECORD_FILE ".tmp", RECORD_FILE);
    printf("\r\nRECORDER RAN AS %s\r\n", argv[0]);
    fflush(stdout);
    sleep(1);
    return 0;
}
"""

RECORD_IN_NS = "/run/recorder.out"  # the private /run of the namespace


def compile_recorder(workdir: Path) -> Path:
    """Build the recording stand-in for pppd; it writes to /run/recorder.out in the namespace."""
    src = workdir / "recorder.c"
    src.write_text(RECORDER_C)
    out = workdir / "recorder"
    subprocess.run(["cc", "-O2", f'-DRECORD_FILE="{RECORD_IN_NS}"', "-o", str(out), str(src)], check=True)
    return out


@dataclass
class Recorded:
    started: float  # wall clock when the stand-in started
    tty: str
    argv: list[str]


def read_record(run_dir: Path) -> Recorded | None:
    f = run_dir / Path(RECORD_IN_NS).name
    if not f.is_file():
        return None
    lines = f.read_text().splitlines()
    return Recorded(float(lines[0]), lines[1], lines[2:])


def inittab_argv(root: Path) -> list[str]:
    """The mgetty command of the inittab line setup-server rendered (``S0:2345:respawn:...``)."""
    for line in (root / "etc/inittab").read_text().splitlines():
        parts = line.split(":", 3)
        if len(parts) == 4 and not line.startswith("#") and "mgetty" in parts[3]:
            return parts[3].split()
    raise AssertionError("no mgetty line in the rendered inittab")


@dataclass
class Isolated:
    """Private directories that stand in for /run and /var/log inside the namespace."""

    run_dir: Path
    log_dir: Path

    @classmethod
    def make(cls, base: Path) -> "Isolated":
        run_dir, log_dir = base / "run", base / "log"
        (run_dir / "lock").mkdir(parents=True)
        (log_dir / "mgetty").mkdir(parents=True)  # Debian's binary logs to /var/log/mgetty/
        (log_dir / "wtmp").touch()
        return cls(run_dir, log_dir)


def start_mgetty(argv: list[str], binds: list[tuple[Path | str, str]]) -> subprocess.Popen[bytes]:
    """Start ``argv`` (mgetty) in a private mount namespace with ``binds`` (host path, system
    path): the test's files over the system paths mgetty has compiled in."""
    return subprocess.Popen(private_mounts(argv, binds), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)


def stop_mgetty(proc: subprocess.Popen[bytes]) -> bytes:
    """Stop the mgetty ``start_mgetty`` started (by its pid) and return its output."""
    stop_process(proc, timeout=5)
    assert proc.stdout is not None
    return proc.stdout.read()


def fcs16(data: bytes) -> int:
    fcs = 0xFFFF
    for byte in data:
        fcs ^= byte
        for _ in range(8):
            fcs = (fcs >> 1) ^ 0x8408 if fcs & 1 else fcs >> 1
    return fcs ^ 0xFFFF


def ppp_frame(protocol: int, payload: bytes) -> bytes:
    """An HDLC-framed PPP packet as pppd sends it on a fresh link (all control chars escaped)."""
    body = bytes([0xFF, 0x03, protocol >> 8, protocol & 0xFF]) + payload
    fcs = fcs16(body)
    body += bytes([fcs & 0xFF, fcs >> 8])
    out = bytearray(b"~")
    for byte in body:
        if byte < 0x20 or byte in (0x7E, 0x7D):
            out += bytes([0x7D, byte ^ 0x20])
        else:
            out.append(byte)
    return bytes(out + b"~")


def lcp_configure_request() -> bytes:
    """LCP Configure-Request (id 1) with a magic number: starts ``~\\xff\\x7d\\x23\\xc0\\x21``."""
    options = bytes([5, 6, 0x12, 0x34, 0x56, 0x78])  # magic number
    return ppp_frame(0xC021, bytes([1, 1, 0, 4 + len(options)]) + options)
