"""Files on the machine: atomic writes with explicit modes, snapshots, the run lock.

Every change goes through a :class:`Transaction`, which records the previous state of
each path in an on-disk journal *before* touching it. A failed apply restores all of
its files; ``dialup-admin rollback`` replays the newest journal later.
"""

from __future__ import annotations

import base64
import errno
import fcntl
import json
import os
import shutil
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from dialup_admin.errors import UserError
from dialup_admin.paths import Paths

JOURNAL_DIR = "journal"


@dataclass(frozen=True)
class FileState:
    """What a path holds: nothing, a regular file (content, mode, owner) or a symlink."""

    kind: str  # "absent" | "file" | "symlink"
    content: bytes = b""
    mode: int = 0
    uid: int = 0
    gid: int = 0
    target: str = ""

    @classmethod
    def read(cls, path: Path) -> "FileState":
        """Read the state of ``path`` without following a final symlink."""
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return cls("absent")
        if stat.S_ISLNK(st.st_mode):
            return cls("symlink", target=os.readlink(path), uid=st.st_uid, gid=st.st_gid)
        if not stat.S_ISREG(st.st_mode):
            raise UserError(f"{path} exists and is not a regular file; move it away first")
        return cls("file", path.read_bytes(), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "content": base64.b64encode(self.content).decode(),
            "mode": self.mode,
            "uid": self.uid,
            "gid": self.gid,
            "target": self.target,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "FileState":
        return cls(
            data["kind"], base64.b64decode(data["content"]), data["mode"], data["uid"], data["gid"], data["target"]
        )


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _chown(fd_or_path: int | Path, uid: int, gid: int) -> None:
    """Set the owner where we may: as root always; otherwise only a no-op change succeeds."""
    try:
        if isinstance(fd_or_path, int):
            os.fchown(fd_or_path, uid, gid)
        else:
            os.chown(fd_or_path, uid, gid, follow_symlinks=False)
    except PermissionError:
        if os.geteuid() == 0:
            raise
        # Not root (a --root tree of one's own): the file keeps our ownership.


def ensure_dir(path: Path, mode: int = 0o755) -> list[Path]:
    """Create ``path`` and missing parents with an explicit mode; return what was created."""
    created: list[Path] = []
    missing: list[Path] = []
    p = path
    while not p.exists():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        os.mkdir(d)
        os.chmod(d, mode)
        created.append(d)
    return created


def atomic_write(path: Path, content: bytes, mode: int, uid: int = 0, gid: int = 0) -> None:
    """Replace ``path`` with ``content`` so readers see the old or the new file, never half.

    Temp file in the same directory, write, fsync, fchmod/fchown (explicit mode,
    whatever the umask), rename over the target, fsync the directory.
    """
    directory = path.parent
    tmp = directory / f".{path.name}.dialup-admin.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        view = memoryview(content)
        while view:
            view = view[os.write(fd, view) :]
        os.fchmod(fd, mode)
        _chown(fd, uid, gid)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    try:
        os.rename(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(directory)


def restore_state(path: Path, state: FileState) -> None:
    """Put ``path`` back exactly as ``state`` describes it."""
    if state.kind == "absent":
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        except FileNotFoundError:
            pass
        return
    ensure_dir(path.parent)
    if state.kind == "symlink":
        tmp = path.parent / f".{path.name}.dialup-admin.{os.getpid()}.lnk"
        tmp.unlink(missing_ok=True)
        os.symlink(state.target, tmp)
        _chown(tmp, state.uid, state.gid)  # a link's owner matters to some (FreeRADIUS's are freerad's)
        os.rename(tmp, path)
        _fsync_dir(path.parent)
        return
    atomic_write(path, state.content, state.mode, state.uid, state.gid)


class RunLock:
    """An exclusive lock so two runs of the tool never interleave their changes."""

    def __init__(self, paths: Paths) -> None:
        self.path = paths.state_dir / "lock"
        self.fd: int | None = None
        self.created: list[Path] = []  # directories this lock had to create, outermost first

    def __enter__(self) -> "RunLock":
        self.created = ensure_dir(self.path.parent, 0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                who = f" (pid {holder})" if holder else ""
                raise UserError(f"another dialup-admin run is changing this system{who}; try again when it ends")
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self.fd = fd
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.fd is not None:
            os.ftruncate(self.fd, 0)
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


class Transaction:
    """Records the previous state of every path it changes, on disk, before changing it.

    The journal is ``<state>/journal/<seq>/manifest.json`` (mode 0600 in a 0700
    directory: it may hold copies of secrets files). ``rollback()`` restores every
    recorded path in reverse order; a committed journal stays for ``dialup-admin
    rollback``.
    """

    def __init__(self, paths: Paths, label: str) -> None:
        self.paths = paths
        self.label = label
        base = paths.state_dir / JOURNAL_DIR
        ensure_dir(base, 0o700)
        seq = max((int(p.name) for p in base.iterdir() if p.name.isdigit()), default=0) + 1
        self.dir = base / f"{seq:06d}"
        os.mkdir(self.dir, 0o700)
        self.entries: list[dict[str, Any]] = []
        self.undo: list[list[str]] = []
        self._seen: set[str] = set()
        self._save(committed=False)

    def _save(self, committed: bool) -> None:
        manifest = {
            "label": self.label,
            "time": time.strftime("%Y-%m-%d %H:%M:%S"),
            "committed": committed,
            "entries": self.entries,
            "undo": self.undo,
        }
        atomic_write(self.dir / "manifest.json", json.dumps(manifest).encode(), 0o600, os.geteuid(), os.getegid())

    def record(self, path: Path) -> None:
        """Snapshot ``path`` (and any directories about to be created for it) once."""
        key = str(path)
        if key in self._seen:
            return
        self._seen.add(key)
        # Directories that do not exist yet are recorded as absent so rollback removes them.
        missing: list[Path] = []
        p = path.parent
        while not p.exists():
            missing.append(p)
            p = p.parent
        for d in reversed(missing):
            if str(d) not in self._seen:
                self._seen.add(str(d))
                self.entries.append({"path": str(d), "state": FileState("absent").to_json(), "dir": True})
        self.entries.append({"path": key, "state": FileState.read(path).to_json(), "dir": False})
        self._save(committed=False)

    def add_undo(self, argv: list[str]) -> None:
        """A command to run after a later rollback has restored the files (``telinit q``)."""
        self.undo.append(argv)
        self._save(committed=False)

    def write(self, path: Path, content: bytes, mode: int, uid: int, gid: int) -> None:
        self.record(path)
        ensure_dir(path.parent)
        atomic_write(path, content, mode, uid, gid)

    def remove(self, path: Path) -> None:
        self.record(path)
        path.unlink(missing_ok=True)

    def symlink(self, path: Path, target: str) -> None:
        self.record(path)
        ensure_dir(path.parent)
        restore_state(path, FileState("symlink", target=target))

    def commit(self) -> None:
        self._save(committed=True)

    def rollback(self) -> None:
        restore_entries(self.entries)
        shutil.rmtree(self.dir, ignore_errors=True)


def restore_entries(entries: list[dict[str, Any]]) -> None:
    """Restore journal entries newest first (files before the directories that hold them)."""
    for entry in reversed(entries):
        path = Path(entry["path"])
        if entry.get("dir"):
            try:
                os.rmdir(path)
            except (FileNotFoundError, OSError):
                pass  # not empty: something else lives there now; leave it
            continue
        restore_state(path, FileState.from_json(entry["state"]))


def latest_journal(paths: Paths) -> Path | None:
    base = paths.state_dir / JOURNAL_DIR
    if not base.is_dir():
        return None
    seqs = sorted((p for p in base.iterdir() if p.name.isdigit()), key=lambda p: int(p.name))
    return seqs[-1] if seqs else None


def read_journal(journal: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((journal / "manifest.json").read_text())
    return data
