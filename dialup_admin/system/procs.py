"""Processes of the target, read from /proc through Paths (never signalled, only looked at)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from dialup_admin.paths import Paths


@dataclass(frozen=True)
class Proc:
    pid: int
    comm: str
    argv: tuple[str, ...]

    @property
    def program(self) -> str:
        """The program's base name (``/sbin/mgetty`` -> ``mgetty``), falling back to comm."""
        return PurePosixPath(self.argv[0]).name if self.argv else self.comm

    def names_tty(self, tty: str) -> bool:
        return tty in self.argv[1:] or f"/dev/{tty}" in self.argv[1:]

    def is_answer(self, tty: str) -> bool:
        """Whether this is ``dialup-admin answer TTY`` (a direct line's program), run as a console
        script or as ``python -m dialup_admin``."""
        args = list(self.argv)
        return "answer" in args and self.names_tty(tty) and any("dialup" in a for a in args[: args.index("answer")])


def processes(paths: Paths) -> list[Proc] | None:
    """Every process of the target, or None when there is no /proc to read (a plain tree)."""
    proc = paths.of("/proc")
    if not proc.is_dir():
        return None
    out: list[Proc] = []
    for d in proc.iterdir():
        if not d.name.isdigit():
            continue
        try:
            comm = (d / "comm").read_text().strip()
            raw = (d / "cmdline").read_bytes()
        except OSError:  # gone meanwhile, or a kernel thread we may not read
            continue
        argv = tuple(a.decode(errors="replace") for a in raw.split(b"\0") if a)
        out.append(Proc(int(d.name), comm, argv))
    return sorted(out, key=lambda p: p.pid)


def alive(paths: Paths, pid: int) -> bool:
    return paths.of(f"/proc/{pid}").is_dir()
