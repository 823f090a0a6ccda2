"""build-mgetty from start to end: decide, get the source, prepare, make, verify, install.

The command module parses options into a :class:`BuildRequest`; :func:`needed`
decides whether a build is wanted at all, :func:`describe` is the ``--dry-run``
view (reads the source, changes nothing), :func:`build` does it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from dialup_admin.core.plan import apply
from dialup_admin.errors import BadInput, UserError
from dialup_admin.mgetty import build as b
from dialup_admin.mgetty import source as s
from dialup_admin.paths import Paths
from dialup_admin.system import mgetty as mgetty_sys
from dialup_admin.system import files, reading

Say = Callable[[str], None]
STAGES = 5


@dataclass(frozen=True)
class BuildRequest:
    paths: Paths
    src: Path | None  # tarball or directory; None with from_debian
    from_debian: bool
    prefix: str  # validated, "" for /
    sha256: str | None
    download_dir: Path | None
    log: Path  # real path of the build log


@dataclass
class BuildResult:
    binary: str
    config_dir: str
    auto_ppp: bool
    features: tuple[str, ...]
    version: str | None
    source: str
    source_sha256: str | None
    make_seconds: float
    compiled: int
    log: str
    notes: list[str] = field(default_factory=list)
    picked_by_setup_server: bool = False

    def to_json(self) -> dict[str, object]:
        return dict(self.__dict__)


def needed(paths: Paths, force: bool) -> tuple[bool, str]:
    """Whether to build, and why: not when the installed mgetty already has AUTO_PPP."""
    try:
        layout = mgetty_sys.detect(paths)
    except UserError:
        return True, "no mgetty is installed"
    real = paths.of(layout.binary)
    if not real.is_file():
        real = Paths().of(layout.binary)
    blob = reading.read_bytes(real)
    ver = mgetty_sys.version(blob) or "unknown version"
    if not layout.auto_ppp:
        return True, f"{layout.binary} (mgetty {ver}) was compiled without AUTO_PPP"
    if force:
        return True, f"{layout.binary} (mgetty {ver}) has AUTO_PPP already; building anyway (--force)"
    return False, f"{layout.binary} (mgetty {ver}) has AUTO_PPP already: no build needed (--force builds anyway)"


def _source_kind(req: BuildRequest) -> str:
    if req.from_debian:
        return "debian"
    assert req.src is not None
    if req.src.is_dir():
        return "dir"
    if req.src.exists():
        return "tarball"
    raise BadInput(f"{req.src} does not exist")


def describe(req: BuildRequest) -> list[str]:
    """The ``--dry-run`` plan: reads the source (tarball members, checksum), changes nothing."""
    kind = _source_kind(req)
    lines = [f"Plan for build-mgetty (prefix {req.prefix or '/'}):"]
    policy: str | None = None
    needs_patch: bool | None = None
    if kind == "debian":
        hit = s.cached(req.download_dir) if req.download_dir is not None and req.download_dir.is_dir() else None
        if hit is not None:
            lines.append(f"  source  {hit.tarball} (SHA-256 matches {hit.dsc.name})")
            info = s.inspect_tarball(hit.tarball)
        else:
            apt = s.release_source(req.paths)
            lines.append(
                f"  fetch   apt-get source --download-only mgetty, private apt configuration with "
                f"'{apt.line().strip()}'; the upstream tarball is checked against the .dsc's SHA-256"
            )
            info = None
    elif kind == "tarball":
        assert req.src is not None
        info = s.inspect_tarball(req.src)
        digest = s.check_sha256(req.src, req.sha256) if req.sha256 else s.sha256_file(req.src)
        checked = " (matches --sha256)" if req.sha256 else ""
        lines.append(f"  source  {req.src} sha256 {digest}{checked}")
        lines.append(f"  unpack  {info.top}/ into a temporary build directory")
    else:
        assert req.src is not None
        root = s.find_source_root(req.src)
        lines.append(f"  source  copy {root} into a temporary build directory (the original is not changed)")
        policy = b.policy_action((root / "policy.h").is_file(), (root / "policy.h-dist").is_file(), str(root))
        lf = root / "logfile.c"
        needs_patch = b.patch_strerror(lf.read_text(errors="replace"))[1] if lf.is_file() else False
        info = None
    if info is not None:
        policy = b.policy_action(info.has_policy_h, info.has_policy_dist, str(req.src or info.top))
        needs_patch = b.patch_strerror(info.logfile_text)[1] if info.logfile_text else False
    if policy == "copy":
        lines.append("  policy  copy policy.h-dist to policy.h (mgetty 1.1.x), enable #define AUTO_PPP")
    else:
        lines.append("  policy  enable #define AUTO_PPP in policy.h")
    if needs_patch or needs_patch is None:
        lines.append(f"  patch   logfile.c: sys_errlist/sys_nerr -> strerror(errnr){'' if needs_patch else ' (if needed)'}")
    lines.append(f"  make    make prefix={req.prefix} {' '.join(b.MAKE_TARGETS)}   (output to {req.log})")
    b.check_writable(req.paths, [f"{req.prefix}/sbin", b.conf_dir(req.prefix)], need_write=False)
    plan = b.install_plan(req.paths, req.prefix, None)
    lines += [f"  {a.describe()}" for a in plan.actions]
    lines += [f"  note: {n}" for n in plan.notes]
    lines.append("Dry run: nothing was changed.")
    return lines


def _get_source(req: BuildRequest, work: Path, say: Say) -> tuple[Path, str, str | None, list[str]]:
    """Put the source tree into ``work``; return (tree, description, sha256, notes)."""
    notes: list[str] = []
    kind = _source_kind(req)
    if kind == "debian":
        dest = req.download_dir if req.download_dir is not None else work / "download"
        say(f"  fetching mgetty's source with apt-get source (private apt configuration in {dest / 'apt'})")
        got = s.fetch_debian(dest, req.paths)
        if got.apt_note:
            notes.append(got.apt_note)
            say(f"  note: {got.apt_note}")
        if req.sha256:
            s.check_sha256(got.tarball, req.sha256)
        say(f"  {got.tarball.name}: SHA-256 {got.sha256} matches {got.dsc.name}")
        return s.unpack(got.tarball, work), str(got.tarball), got.sha256, notes
    assert req.src is not None
    if kind == "tarball":
        digest = s.check_sha256(req.src, req.sha256) if req.sha256 else s.sha256_file(req.src)
        say(f"  {req.src.name}: SHA-256 {digest}{' (matches --sha256)' if req.sha256 else ''}")
        return s.unpack(req.src, work), str(req.src), digest, notes
    if req.sha256:
        raise BadInput("--sha256 checks a tarball; SRC is a directory")
    tree = s.copy_tree(req.src, work)
    say(f"  copied {s.find_source_root(req.src)} into the build tree (the original is not changed)")
    return tree, str(req.src), None, notes


def build(req: BuildRequest, say: Say, echo: Say, warn: Say) -> BuildResult:
    """Build and install mgetty with AUTO_PPP under ``req.prefix`` in ``req.paths``.

    Changes on the machine: the build log (``req.log``), a temporary build tree
    (removed on success, kept on failure for inspection), ``PREFIX/sbin/mgetty``
    (the previous one kept as ``mgetty.old``) and the config templates
    ``PREFIX/etc/mgetty+sendfax/{login,mgetty}.config`` when absent; all through a
    journaled plan that ``dialup-admin rollback`` can undo. ``say``/``echo`` show
    progress, ``warn`` the failure details (stderr).
    """
    describe(req)  # refuses a bad source (not a tarball, no policy file, checksum) before anything is written
    make = b.check_toolchain()
    b.check_writable(req.paths, [f"{req.prefix}/sbin", b.conf_dir(req.prefix)])
    files.ensure_dir(req.log.parent)
    header = f"dialup-admin build-mgetty, {time.strftime('%Y-%m-%d %H:%M:%S %Z')}\n"
    files.atomic_write(req.log, header.encode(), 0o644, os.geteuid(), os.getegid())  # run_make appends to it
    work = Path(tempfile.mkdtemp(prefix="dialup-admin-mgetty-"))
    ok = False
    keep = False  # a failed make leaves a tree worth reading; other failures do not
    try:
        say(f"[1/{STAGES}] source")
        tree, source_desc, digest, notes = _get_source(req, work, say)
        say(f"[2/{STAGES}] configure {tree.name}")
        for n in b.prepare(tree):
            say(f"  {n}")
            notes.append(n)
        say(f"[3/{STAGES}] make prefix={req.prefix} {' '.join(b.make_targets(tree))} (log: {req.log})")
        keep = True
        made = b.run_make(tree, make, req.prefix, req.log, warn)
        keep = False
        say(f"  built in {made.seconds:.1f} s ({made.compiled} files compiled)")
        say(f"[4/{STAGES}] verify")
        b.strip(tree / "mgetty")
        layout = b.verify_built(tree / "mgetty", req.prefix)
        blob = (tree / "mgetty").read_bytes()
        say(f"  AUTO_PPP: yes; reads {layout.config_dir}/; logs to {layout.log_pattern}")
        say(f"[5/{STAGES}] install")
        plan = b.install_plan(req.paths, req.prefix, tree)
        apply(plan, echo=lambda line: echo(f"  {line}"))
        for n in plan.notes:
            say(f"  {n}")
        ok = True
    finally:
        if keep and not ok:
            warn(f"the build tree is kept for inspection: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    picked = _picked(req.paths, b.sbin_path(req.prefix))
    return BuildResult(
        binary=b.sbin_path(req.prefix),
        config_dir=layout.config_dir,
        auto_ppp=layout.auto_ppp,
        features=mgetty_sys.features(blob),
        version=mgetty_sys.version(blob),
        source=source_desc,
        source_sha256=digest,
        make_seconds=round(made.seconds, 1),
        compiled=made.compiled,
        log=str(req.log),
        notes=notes,
        picked_by_setup_server=picked,
    )


def _picked(paths: Paths, binary: str) -> bool:
    try:
        return mgetty_sys.detect(paths).binary == binary
    except UserError:
        return False
