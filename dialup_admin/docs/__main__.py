"""``python3 -m dialup_admin.docs DESTDIR``: write the man pages and completion scripts below DESTDIR."""

from __future__ import annotations

import sys
from pathlib import Path

from dialup_admin.docs import completions, manpages


def write(destdir: Path) -> list[Path]:
    """Write every man page and completion script below ``destdir``; returns the files written."""
    written: list[Path] = []
    mandir = destdir / "usr/share/man" / f"man{manpages.SECTION}"
    mandir.mkdir(parents=True, exist_ok=True)
    for name, text in manpages.all_pages().items():
        (mandir / name).write_text(text, encoding="utf-8")
        written.append(mandir / name)
    for shell, rel in completions.INSTALL_PATHS.items():
        target = destdir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(completions.script(shell), encoding="utf-8")
        written.append(target)
    return written


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python3 -m dialup_admin.docs DESTDIR", file=sys.stderr)
        return 2
    for path in write(Path(argv[0])):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
