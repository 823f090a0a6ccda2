"""Building mgetty with AUTO_PPP: policy.h, the glibc patch, make, and the install plan.

The guide's recipe: copy ``policy.h-dist`` to ``policy.h`` (mgetty 1.1.x; 1.2.1 ships
``policy.h`` itself), turn ``/* #define AUTO_PPP */`` into ``#define AUTO_PPP``, run
make, install. Two departures, both deliberate:

* ``logfile.c`` of 1.2.1 (and 1.1.x) uses ``sys_errlist``/``sys_nerr``, which glibc
  2.32 removed; one expression is replaced by ``strerror(errnr)``.
* Only ``make mgetty login.config mgetty.config`` is run, and the tool installs the
  binary and the two config templates itself instead of ``make install``: mgetty's
  ``install.bin`` also builds and installs sendfax, the g3/fax tools and their spool
  directories (``/var/spool/fax``, outside any prefix), ``chown``\\ s them to a ``fax``
  user that must already exist, and has no DESTDIR, so it can neither honour
  ``--root`` nor be rolled back. A dial-in server needs none of that.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dialup_admin.core.plan import FileSpec, Plan
from dialup_admin.errors import BadInput, UserError
from dialup_admin.paths import Paths
from dialup_admin.system import commands
from dialup_admin.system import mgetty as mgetty_sys

MAKE_TARGETS = ("mgetty", "login.config", "mgetty.config")
# Installed only when absent: setup-server renders the real ones later.
CONFIG_TEMPLATES = (("login.config", 0o600), ("mgetty.config", 0o600))
LOG_FILE = "/var/log/dialup-admin/build-mgetty.log"
TAIL_LINES = 15

_AUTO_PPP_COMMENTED = re.compile(r"^[ \t]*/\*[ \t]*#[ \t]*define[ \t]+AUTO_PPP[ \t]*\*/[ \t]*$", re.M)
_AUTO_PPP_DEFINED = re.compile(r"^[ \t]*#[ \t]*define[ \t]+AUTO_PPP\b", re.M)
_SYS_ERRLIST_USE = re.compile(
    r'\(\s*errnr\s*<=\s*sys_nerr\s*\)\s*\?\s*sys_errlist\s*\[\s*errnr\s*\]\s*:\s*"<error not in list>"'
)
_PREFIX_RE = re.compile(r"/[A-Za-z0-9._+/-]*")

STRERROR_NOTE = "patched logfile.c: sys_errlist/sys_nerr -> strerror(errnr) (glibc 2.32 removed them)"


# --- pure steps (unit-tested on text) -----------------------------------------------
def validate_prefix(prefix: str) -> str:
    """An absolute install prefix of plain characters (it ends up inside C string macros)."""
    p = prefix.rstrip("/") or "/"
    if not _PREFIX_RE.fullmatch(p) or ".." in p.split("/"):
        raise BadInput(f"--prefix wants an absolute path of letters, digits and ._+-/, not {prefix!r}")
    return "" if p == "/" else p


def enable_auto_ppp(policy: str) -> tuple[str, bool]:
    """``policy.h`` with ``#define AUTO_PPP`` enabled; the flag says whether it changed."""
    if _AUTO_PPP_DEFINED.search(policy):
        return policy, False
    new, n = _AUTO_PPP_COMMENTED.subn("#define AUTO_PPP", policy, count=1)
    if n == 0:
        raise BadInput("policy.h has no '/* #define AUTO_PPP */' line to enable: not a release this tool knows")
    return new, True


def patch_strerror(logfile_c: str) -> tuple[str, bool]:
    """``logfile.c`` with the ``sys_errlist[errnr]`` lookup replaced by ``strerror(errnr)``."""
    return _SYS_ERRLIST_USE.subn("strerror(errnr)", logfile_c, count=1)[0], bool(_SYS_ERRLIST_USE.search(logfile_c))


def policy_action(has_policy_h: bool, has_policy_dist: bool, where: str) -> str:
    """What to do about policy.h: ``"edit"`` (1.2.1 ships it) or ``"copy"`` (1.1.x's policy.h-dist)."""
    if has_policy_h:
        return "edit"
    if has_policy_dist:
        return "copy"
    raise BadInput(
        f"{where} has neither policy.h nor policy.h-dist, so AUTO_PPP cannot be enabled "
        "(is it mgetty's source? 1.1.x ships policy.h-dist, 1.2.x policy.h)"
    )


# --- steps on a build tree -------------------------------------------------------------
def prepare(src: Path) -> list[str]:
    """Enable AUTO_PPP and apply the glibc patch in the build tree ``src``; return what was done."""
    notes: list[str] = []
    policy, dist = src / "policy.h", src / "policy.h-dist"
    if policy_action(policy.is_file(), dist.is_file(), str(src)) == "copy":
        shutil.copyfile(dist, policy)
        notes.append("copied policy.h-dist to policy.h (mgetty 1.1.x)")
    text, changed = enable_auto_ppp(policy.read_text(errors="surrogateescape"))
    if changed:
        policy.write_text(text, errors="surrogateescape")
        notes.append("policy.h: enabled #define AUTO_PPP")
    else:
        notes.append("policy.h: AUTO_PPP was already enabled")
    logfile = src / "logfile.c"
    if logfile.is_file():
        text, changed = patch_strerror(logfile.read_text(errors="surrogateescape"))
        if changed:
            logfile.write_text(text, errors="surrogateescape")
            notes.append(STRERROR_NOTE)
    return notes


def check_toolchain() -> str:
    """The path of make, after checking a C compiler is there too."""
    make = commands.which("make")
    cc = commands.which("cc") or commands.which("gcc")
    if make is None or cc is None:
        missing = " and ".join(n for n, p in (("a C compiler (cc)", cc), ("make", make)) if p is None)
        raise UserError(f"building mgetty needs {missing}: apt-get install build-essential")
    return make


def check_writable(paths: Paths, system_dirs: list[str], need_write: bool = True) -> None:
    """Refuse early when the install directories cannot be created (or, with ``need_write``, written)."""
    for d in system_dirs:
        p = paths.of(d)
        while not p.exists():
            p = p.parent
        if not p.is_dir():
            raise UserError(f"cannot install into {d}: {paths.system(p)} is not a directory")
        if need_write and not _writable(p):
            raise UserError(f"cannot install into {d}: {paths.system(p)} is not writable (run as root, or another --prefix)")


def make_targets(src: Path) -> list[str]:
    """``mgetty`` plus the config templates this release's Makefile knows how to make."""
    makefile = (src / "Makefile").read_text(errors="replace")
    return ["mgetty"] + [t for t in MAKE_TARGETS[1:] if re.search(rf"^{re.escape(t)}\s*:", makefile, re.M)]


def _writable(directory: Path) -> bool:
    return os.access(directory, os.W_OK | os.X_OK)


@dataclass
class MakeResult:
    seconds: float
    compiled: int


def run_make(
    src: Path,
    make: str,
    prefix: str,
    log: Path,
    progress: Callable[[str], None],
    jobs: int | None = None,
) -> MakeResult:
    """Run make in ``src`` with its output appended to ``log`` (created); raise on failure.

    On failure the last lines of the log go to ``progress`` and the error names the log.
    """
    jobs = jobs or min(2, os.cpu_count() or 1)
    argv = [make, f"-j{jobs}", f"prefix={prefix}", *make_targets(src)]
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    compiled = 0
    tty = sys.stderr.isatty()

    def on_line(line: bytes) -> None:
        nonlocal compiled
        m = re.search(rb"\s-c\s+(?:-o\s+\S+\s+)?(\S+\.c)\b", line)
        if m:
            compiled += 1
            if tty:
                sys.stderr.write(f"\r  compiling {compiled:3d}: {m.group(1).decode(errors='replace'):<24}")
                sys.stderr.flush()

    with open(log, "ab") as out:
        out.write(f"$ cd {src} && {' '.join(argv)}\n".encode())
        out.flush()
        rc = commands.stream(argv, cwd=src, log=out, on_line=on_line)
        out.write(f"(make exit {rc})\n".encode())
    if tty and compiled:
        sys.stderr.write("\r" + " " * 44 + "\r")
    seconds = time.monotonic() - start
    if rc != 0:
        lines = log.read_bytes().decode(errors="replace").splitlines()
        progress(f"make failed (exit {rc}); the last lines of {log}:")
        for ln in lines[-TAIL_LINES - 1 : -1]:
            progress(f"  | {ln}")
        raise UserError(f"building mgetty failed (make exit {rc}); full log: {log}")
    return MakeResult(seconds, compiled)


def strip(binary: Path) -> None:
    """Strip symbols from the built binary like ``install -s`` does (skipped without binutils)."""
    exe = commands.which("strip")
    if exe is not None:
        commands.run([exe, str(binary)], check=False, timeout=None)


def verify_built(binary: Path, prefix: str) -> mgetty_sys.MgettyLayout:
    """Check the fresh binary has AUTO_PPP and the config directory of ``prefix``."""
    layout = mgetty_sys.inspect_binary(binary.read_bytes(), f"{prefix}/sbin/mgetty")
    if not layout.auto_ppp:
        raise UserError(f"the built {binary} has no AUTO_PPP although policy.h enables it; see the build log")
    want = f"{prefix}/etc/mgetty+sendfax"
    if layout.config_dir != want:
        raise UserError(f"the built binary reads {layout.config_dir}, not {want}; the Makefile ignored prefix=")
    return layout


# --- install --------------------------------------------------------------------------
def sbin_path(prefix: str) -> str:
    return f"{prefix}/sbin/mgetty"


def conf_dir(prefix: str) -> str:
    return f"{prefix}/etc/mgetty+sendfax"


def install_plan(paths: Paths, prefix: str, src: Path | None) -> Plan:
    """The files an install writes: the binary (old one kept as ``mgetty.old``), absent templates.

    With ``src`` None (a dry run that built nothing) the binary's content is unknown,
    so the plan holds placeholders and is only for display.
    """
    plan = Plan(paths, "build-mgetty")
    target = sbin_path(prefix)
    new = (src / "mgetty").read_bytes() if src is not None else b"(to be built)"
    current = paths.of(target)
    if current.is_file() and current.read_bytes() != new:
        st = current.stat()
        plan.file(target + ".old", FileSpec(current.read_bytes(), st.st_mode & 0o7777, st.st_uid, st.st_gid))
        plan.notes.append(f"the current {target} is kept as {target}.old")
    # 0755, not the Makefile's 0700: mgetty-info and setup-server read the binary as any user.
    plan.file(target, FileSpec(new, 0o755))
    for name, mode in CONFIG_TEMPLATES:
        path = f"{conf_dir(prefix)}/{name}"
        if paths.of(path).exists():
            plan.notes.append(f"{path} exists and is kept as it is")
            continue
        if src is not None and not (src / name).is_file():
            continue  # an old release without this template
        content = (src / name).read_bytes() if src is not None else b"(template from the source)"
        plan.file(path, FileSpec(content, mode))
    return plan
