"""Plans: the file writes and commands a change consists of, shown before applied.

Commands build a :class:`Plan` of :class:`FileSpec` desired files plus commands; only
what differs from the machine becomes an action, so a second identical run has an
empty plan. :func:`apply` performs it inside a :class:`Transaction`: any failure
(a command failing, an exception, Ctrl-C) restores every file it had touched.
"""

from __future__ import annotations

import difflib
import grp
import os
import re
import shutil
import stat
import pwd
from collections.abc import Callable
from dataclasses import dataclass, field

from dialup_admin.errors import UserError
from dialup_admin.formats import managed
from dialup_admin.paths import Paths
from dialup_admin.system import commands, reading
from dialup_admin.system.files import FileState, RunLock, Transaction

Redactor = Callable[[str], str]


@dataclass(frozen=True)
class FileSpec:
    """A file as it should be: content, mode and numeric owner, set explicitly."""

    content: str | bytes
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    redact: Redactor | None = None  # hides secrets in --diff output

    @property
    def data(self) -> bytes:
        return self.content.encode() if isinstance(self.content, str) else self.content


@dataclass(frozen=True)
class WriteFile:
    path: str  # as the target system names it
    spec: FileSpec
    old: FileState

    def describe(self) -> str:
        what = "new" if self.old.kind == "absent" else "changed"
        if self.old.kind == "file" and self.old.content == self.spec.data:
            what = "mode/owner"
        return f"write  {self.path} ({self.spec.mode:04o} {owner_name(self.spec.uid, self.spec.gid)}, {what})"


@dataclass(frozen=True)
class RemoveFile:
    path: str
    old: FileState
    redact: Redactor | None = None

    def describe(self) -> str:
        return f"remove {self.path}"


@dataclass(frozen=True)
class Symlink:
    path: str
    target: str
    old: FileState

    def describe(self) -> str:
        return f"link   {self.path} -> {self.target}"


@dataclass(frozen=True)
class RunCommand:
    """A command to run; ``touches`` are system paths it changes, snapshotted first."""

    argv: tuple[str, ...]
    description: str = ""
    stdin: bytes | None = None
    touches: tuple[str, ...] = ()
    undo: tuple[str, ...] | None = None  # run after rollback has restored files

    def describe(self) -> str:
        shown = " ".join(self.argv)
        note = f"  # {self.description}" if self.description else ""
        return f"run    {shown}{note}"


@dataclass(frozen=True)
class Check:
    """A look at the machine during the apply (mgetty running after a start); raising
    :class:`UserError` fails the apply, which then rolls everything back."""

    description: str
    run: Callable[[], None] = field(compare=False)

    def describe(self) -> str:
        return f"check  {self.description}"


Action = WriteFile | RemoveFile | Symlink | RunCommand | Check


def owner_name(uid: int, gid: int) -> str:
    try:
        user = pwd.getpwuid(uid).pw_name if uid else "root"
    except KeyError:
        user = str(uid)
    try:
        group = grp.getgrgid(gid).gr_name if gid else "root"
    except KeyError:
        group = str(gid)
    return f"{user}:{group}"


@dataclass
class Plan:
    """An ordered list of actions against one root."""

    paths: Paths
    label: str
    actions: list[Action] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    # --- building ------------------------------------------------------
    def file(self, system_path: str, spec: FileSpec) -> bool:
        """Add a write if the file differs in content, mode or owner; return whether it did."""
        old = FileState.read(self.paths.node(system_path))
        same = old.kind == "file" and old.content == spec.data and old.mode == spec.mode
        # Not root (a --root tree of one's own): ownership cannot be set, so do not keep planning it.
        owner_ok = (old.uid, old.gid) == (spec.uid, spec.gid) or os.geteuid() != 0
        if same and owner_ok:
            return False
        self.actions.append(WriteFile(system_path, spec, old))
        return True

    def block(self, system_path: str, name: str, body: bytes | None, *, force: bool = False,
              mode: int | None = None, uid: int = 0, gid: int = 0, redact: Redactor | None = None,
              header: bytes = b"", at_start: bool = False, check: Callable[[bytes], None] | None = None) -> bool:
        """Add a write of ``system_path`` with its managed block ``name`` holding ``body``; every
        byte outside the block stays as it is. Return whether the file changes.

        ``body`` None only makes sure the block is there (an empty one is added if missing;
        one that is there is kept as it is). A missing or empty file starts with
        ``header``. ``mode`` None keeps the file's own mode (0644 for a new file); a mode
        given is set whatever the file had (secrets files). ``check`` is shown the merged
        file before anything is planned and raises to refuse it. A hand-edited block or
        broken markers are refused unless ``force`` (:mod:`dialup_admin.formats.managed`).
        """
        real = self.paths.of(system_path)
        old = reading.read_or_empty(real)
        if body is not None or managed.split(old, system_path, name=name, force=force).body is None:
            new = managed.merge(old or header, body or b"", system_path, name=name, force=force, at_start=at_start)
        else:
            new = old
        if check is not None:
            check(new)
        if mode is None:
            mode = stat.S_IMODE(real.stat().st_mode) if real.exists() else 0o644
        return self.file(system_path, FileSpec(new, mode=mode, uid=uid, gid=gid, redact=redact))

    def remove(self, system_path: str, redact: Redactor | None = None) -> bool:
        old = FileState.read(self.paths.node(system_path))
        if old.kind == "absent":
            return False
        self.actions.append(RemoveFile(system_path, old, redact))
        return True

    def symlink(self, system_path: str, target: str) -> bool:
        old = FileState.read(self.paths.node(system_path))
        if old.kind == "symlink" and old.target == target:
            return False
        self.actions.append(Symlink(system_path, target, old))
        return True

    def command(self, cmd: RunCommand) -> None:
        self.actions.append(cmd)

    def check(self, check: Check) -> None:
        self.actions.append(check)

    @property
    def changes_files(self) -> bool:
        return any(not isinstance(a, (RunCommand, Check)) for a in self.actions)

    def __bool__(self) -> bool:
        return bool(self.actions)

    # --- showing -------------------------------------------------------
    def render(self) -> str:
        if not self.actions:
            return "Nothing to change: everything is already as it should be."
        lines = [f"Plan for {self.label} ({len(self.actions)} change{'s' if len(self.actions) != 1 else ''}):"]
        lines += [f"  {a.describe()}" for a in self.actions]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def diff(self) -> str:
        out: list[str] = []
        for a in self.actions:
            if isinstance(a, WriteFile):
                out.append(unified(a.path, a.old, a.spec.data, a.spec.redact))
            elif isinstance(a, RemoveFile):
                out.append(unified(a.path, a.old, None, a.redact))
        return "".join(out)


def _text(data: bytes) -> list[str]:
    return data.decode("utf-8", errors="replace").splitlines(keepends=True)


_SUM = re.compile(r"sha256=[0-9a-f]{16}")


def unified(path: str, old: FileState, new: bytes | None, redact: Redactor | None) -> str:
    before = _text(old.content) if old.kind == "file" else []
    after = _text(new) if new is not None else []
    if redact is not None:
        # A block's checksum covers its secrets too: a short password could be guessed from it.
        before = [_SUM.sub("sha256=********", redact(x)) for x in before]
        after = [_SUM.sub("sha256=********", redact(x)) for x in after]
    diff = list(
        difflib.unified_diff(
            before,
            after,
            fromfile=path if old.kind != "absent" else "/dev/null",
            tofile=path if new is not None else "/dev/null",
        )
    )
    if diff and not diff[-1].endswith("\n"):
        diff[-1] += "\n\\ No newline at end of file\n"
    text = "".join(d if d.endswith("\n") else d + "\n" for d in diff)
    if not text and old.kind == "file" and new is not None:
        text = f"--- {path}\n+++ {path}\n(mode or owner only)\n"
    return text


StepHook = Callable[[int, Action], None]


def apply(plan: Plan, *, on_step: StepHook | None = None, echo: Callable[[str], None] | None = None) -> None:
    """Carry out ``plan`` under the run lock; on any failure put every file back.

    ``on_step`` is called before each action (progress display; tests inject faults
    there). Commands that fail raise :class:`UserError`, which rolls back too.
    """
    if not plan.actions:
        return
    lock = RunLock(plan.paths)
    try:
        with lock:
            _apply_locked(plan, on_step, echo)
    except BaseException:
        if lock.created:
            # A failed first run leaves no trace, not even our own state directory.
            shutil.rmtree(lock.created[0], ignore_errors=True)
        raise


def _apply_locked(plan: Plan, on_step: StepHook | None, echo: Callable[[str], None] | None) -> None:
    # Recheck under the lock: another run may have changed a file since planning.
    for a in plan.actions:
        if isinstance(a, (WriteFile, RemoveFile, Symlink)):
            now = FileState.read(plan.paths.node(a.path))
            if now != a.old:
                raise UserError(f"{a.path} changed while the plan was made; run the command again")
    txn = Transaction(plan.paths, plan.label)
    undo: list[tuple[str, ...]] = []
    try:
        for i, a in enumerate(plan.actions):
            if on_step is not None:
                on_step(i, a)
            if echo is not None:
                echo(a.describe())
            if isinstance(a, WriteFile):
                txn.write(plan.paths.node(a.path), a.spec.data, a.spec.mode, a.spec.uid, a.spec.gid)
            elif isinstance(a, RemoveFile):
                txn.remove(plan.paths.node(a.path))
            elif isinstance(a, Symlink):
                txn.symlink(plan.paths.node(a.path), a.target)
            elif isinstance(a, Check):
                a.run()
            else:
                for t in a.touches:
                    txn.record(plan.paths.node(t))
                if a.undo is not None:
                    txn.add_undo(list(a.undo))
                    undo.append(a.undo)
                commands.run(a.argv, stdin=a.stdin)
    except BaseException:
        txn.rollback()
        for argv in reversed(undo):
            commands.run(argv, check=False)
        raise
    txn.commit()


def display(plan: Plan, *, dry_run: bool, diff: bool, say: Callable[[str], None]) -> None:
    """Show a plan the way --dry-run/--diff ask for."""
    if diff:
        text = plan.diff()
        if text:
            say(text.rstrip("\n"))
    if dry_run or not plan.actions:
        say(plan.render())

