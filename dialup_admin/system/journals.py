"""Apply journals on disk: reading them back, checking them whole, restoring from them.

A journal (``/var/lib/dialup-admin/journal/NNNNNN/manifest.json``, written by
:class:`dialup_admin.system.files.Transaction`) is trusted for nothing: before one file
is restored, the whole manifest is read and checked (JSON shape, base64, modes, owners,
paths that stay below the root, undo commands that are plain argv), so a damaged journal
is refused in one line and nothing is restored half-way.

Journals of older versions kept absolute paths of the machine they were written on;
they are still accepted when every path lies below the current root (the usual case:
the same machine, the same tree), and refused otherwise (a tree copied with ``cp -a``
would otherwise restore into the original tree).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import shutil
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from dialup_admin.errors import UserError
from dialup_admin.paths import Paths
from dialup_admin.system import commands
from dialup_admin.system.files import JOURNAL_VERSION, RunLock, journal_dirs, restore_entries

MANIFEST = "manifest.json"
_PROGRAM_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*\Z")  # a program found on PATH
_ABSOLUTE_RE = re.compile(r"(?:/[A-Za-z0-9._+-]+)+\Z")  # or one named by its path (sys.executable)
_TEMP_RE = re.compile(r"\.manifest\.json\.dialup-admin\.[0-9]+\.tmp\Z")
MAX_ID = 2**32 - 2


class DamagedJournal(UserError):
    """A journal that cannot be trusted; nothing was restored from it."""


@dataclass(frozen=True)
class Journal:
    """One checked journal. ``entries`` are in the Transaction's form (``rel``, ``state``, ``dir``)."""

    dir: Path
    label: str
    time: str
    committed: bool
    entries: list[dict[str, Any]]
    undo: list[list[str]]

    @property
    def files(self) -> list[str]:
        """System paths of the files (not directories) it restores, in recorded order."""
        return ["/" + e["rel"] for e in self.entries if not e.get("dir")]


def _damaged(where: Path, why: str, jdir: Path) -> DamagedJournal:
    return DamagedJournal(
        f"{where} is damaged ({why}); nothing was restored. Look at it, then move {jdir} aside "
        f"(mv {jdir} {jdir}.damaged) to roll back older changes"
    )


def _is_empty_leftover(jdir: Path) -> bool:
    """A journal folder a run killed before its first manifest write left: nothing to undo."""
    try:
        names = os.listdir(jdir)
    except OSError:
        return False
    return MANIFEST not in names and all(_TEMP_RE.match(n) for n in names)


def _check_rel(value: Any) -> str:
    if not isinstance(value, str) or value == "" or "\0" in value:
        raise ValueError("a path is not a non-empty string")
    parts = value.split("/")
    if value.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"path {value!r} is not a plain path below the root")
    return value


def _check_int(value: Any, low: int, high: int, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValueError(f"{what} {value!r} is not a number from {low} to {high}")
    return value


def _check_state(data: Any) -> None:
    if not isinstance(data, dict):
        raise ValueError("a file state is not an object")
    kind = data.get("kind")
    if kind not in ("absent", "file", "symlink"):
        raise ValueError(f"unknown file kind {kind!r}")
    content = data.get("content")
    if not isinstance(content, str):
        raise ValueError("content is missing")
    try:
        base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("content is not base64") from None
    _check_int(data.get("mode"), 0, 0o7777, "mode")
    _check_int(data.get("uid"), 0, MAX_ID, "uid")
    _check_int(data.get("gid"), 0, MAX_ID, "gid")
    target = data.get("target")
    if not isinstance(target, str) or "\0" in target or (kind == "symlink" and target == ""):
        raise ValueError("a link target is missing")


def _old_rel(paths: Paths, value: Any) -> str:
    """An absolute path from a journal of an older version, as a path below the current root."""
    if not isinstance(value, str) or not value.startswith("/") or "\0" in value:
        raise ValueError(f"path {value!r} is not absolute")
    p = PurePosixPath(value)
    if ".." in p.parts:
        raise ValueError(f"path {value!r} climbs with '..'")
    try:
        rel = Path(p).relative_to(paths.root).as_posix()
    except ValueError:
        raise UserError("outside") from None
    return _check_rel(rel)


def _entries(paths: Paths, data: Any, old: bool, where: Path, jdir: Path) -> list[dict[str, Any]]:
    if not isinstance(data, list):
        raise ValueError("entries is not a list")
    out: list[dict[str, Any]] = []
    for i, e in enumerate(data, 1):
        if not isinstance(e, dict):
            raise ValueError(f"entry {i} is not an object")
        is_dir = e.get("dir", False)
        if not isinstance(is_dir, bool):
            raise ValueError(f"entry {i}: dir is not true or false")
        try:
            if old:
                try:
                    rel = _old_rel(paths, e.get("path"))
                except UserError:
                    raise UserError(
                        f"{where} was written by an older dialup-admin with absolute paths, and "
                        f"{e.get('path')} lies outside --root {paths.root} (a copied tree?); nothing was "
                        f"restored. Restore by hand from it, or move {jdir} aside"
                    ) from None
            else:
                rel = _check_rel(e.get("rel"))
            if not is_dir:
                _check_state(e.get("state"))
        except ValueError as exc:
            raise ValueError(f"entry {i}: {exc}") from None
        out.append({"rel": rel, "state": e.get("state"), "dir": is_dir})
    return out


def _undo(data: Any) -> list[list[str]]:
    if data is None:
        return []
    if not isinstance(data, list):
        raise ValueError("undo is not a list")
    out: list[list[str]] = []
    for argv in data:
        if (not isinstance(argv, list) or not argv or not all(isinstance(a, str) and "\0" not in a for a in argv)
                or not (_PROGRAM_RE.match(argv[0]) or _ABSOLUTE_RE.match(argv[0]))
                or ".." in argv[0].split("/")):
            raise ValueError(f"undo command {argv!r} is not a plain command")
        out.append(list(argv))
    return out


def read_manifest(jdir: Path) -> bytes:
    """The manifest's bytes; a FIFO or device in its place is refused, never opened for long."""
    where = jdir / MANIFEST
    try:
        st = os.lstat(jdir)
    except FileNotFoundError:
        raise _damaged(where, "its folder is gone", jdir) from None
    if not stat.S_ISDIR(st.st_mode):
        raise _damaged(where, f"{jdir} is not a folder", jdir)
    try:
        st = os.lstat(where)
    except FileNotFoundError:
        raise _damaged(where, "the manifest is missing", jdir) from None
    if not stat.S_ISREG(st.st_mode):
        raise _damaged(where, "the manifest is not a regular file", jdir)
    fd = os.open(where, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise _damaged(where, "the manifest is not a regular file", jdir)
        chunks = []
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def load(paths: Paths, jdir: Path) -> Journal:
    """Read and check the whole journal in ``jdir``; raise one line if any of it is wrong."""
    where = jdir / MANIFEST
    raw = read_manifest(jdir)
    if not raw.strip():
        raise _damaged(where, "the manifest is empty", jdir)
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise _damaged(where, "the manifest is not text", jdir) from None
    except (ValueError, RecursionError):
        raise _damaged(where, "the manifest is not valid JSON (cut short?)", jdir) from None
    try:
        if not isinstance(data, dict):
            raise ValueError(f"the manifest is {type(data).__name__}, not an object")
        version = data.get("version")
        if version is not None and version != JOURNAL_VERSION:
            raise ValueError(f"unknown version {version!r}")
        label, when = data.get("label"), data.get("time")
        if not isinstance(label, str) or not isinstance(when, str):
            raise ValueError("label or time is missing")
        committed = data.get("committed", True)
        if not isinstance(committed, bool):
            raise ValueError("committed is not true or false")
        if "entries" not in data:
            raise ValueError("entries are missing")
        entries = _entries(paths, data["entries"], version is None, where, jdir)
        undo = _undo(data.get("undo"))
    except ValueError as exc:
        raise _damaged(where, str(exc), jdir) from None
    return Journal(jdir, label, when, committed, entries, undo)


LEFTOVER = "a run interrupted before it changed anything"


def newest(paths: Paths) -> Journal | None:
    """The newest journal, checked; None when there is none.

    A folder a run killed before its first manifest write left is a journal with nothing
    to restore (:data:`LEFTOVER`): undoing it only removes the folder, so ``rollback``
    never skips past an interrupted run to the apply before it.
    """
    dirs = journal_dirs(paths)
    if not dirs:
        return None
    jdir = dirs[-1]
    if _is_empty_leftover(jdir):
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(os.lstat(jdir).st_mtime))
        return Journal(jdir, LEFTOVER, when, False, [], [])
    return load(paths, jdir)


def _precheck(paths: Paths, journal: Journal) -> None:
    """Refuse before restoring anything when a file's place is now taken by a directory."""
    for system in journal.files:
        node = paths.node(system)
        try:
            st = os.lstat(node)
        except (FileNotFoundError, NotADirectoryError):
            continue
        if stat.S_ISDIR(st.st_mode):
            raise UserError(f"{system} is now a directory, so the journal {journal.dir.name} cannot put the file back; "
                            "nothing was restored: move that directory away first")


def undo_journal(paths: Paths, journal: Journal) -> list[str]:
    """Restore one checked journal and drop it; the caller holds the run lock."""
    _precheck(paths, journal)
    done = restore_entries(paths, journal.entries)
    if paths.is_host:
        for argv in journal.undo:
            commands.run(argv, check=False)
    shutil.rmtree(journal.dir)
    return done


def recover(paths: Paths, say: Callable[[str], None]) -> int:
    """Undo the runs that were killed part-way (their journals never committed), newest first.

    Called by every changing command before it reads the system, under the run lock: a
    live run holds that lock, so an uncommitted journal found here belongs to a dead
    one. Afterwards every file is as it was before the killed run, and no temp file of
    it is left. Returns how many runs were undone.
    """
    if not journal_dirs(paths):
        return 0
    count = 0
    with RunLock(paths):
        while True:
            journal = newest(paths)
            if journal is None or journal.committed:
                break
            done = undo_journal(paths, journal)
            count += 1
            if journal.label == LEFTOVER:
                say(f"note: removed journal {journal.dir.name} of {LEFTOVER}")
            else:
                say(f"note: undid the interrupted {journal.label} of {journal.time} first "
                    f"({len(done)} file(s) put back; journal {journal.dir.name})")
    return count
