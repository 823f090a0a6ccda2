"""rollback: put back what the last apply changed, from its journal."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dialup_admin.paths import Paths
from dialup_admin.system import commands
from dialup_admin.system.files import RunLock, latest_journal, read_journal, restore_entries


def pending(paths: Paths) -> tuple[Path, dict[str, Any]] | None:
    """The newest journal and its manifest, or None when there is nothing to roll back."""
    journal = latest_journal(paths)
    if journal is None:
        return None
    return journal, read_journal(journal)


def rollback(paths: Paths, echo: Callable[[str], None]) -> dict[str, Any] | None:
    """Restore every file the newest apply changed, run its undo commands, drop its journal."""
    with RunLock(paths):
        found = pending(paths)
        if found is None:
            return None
        journal, manifest = found
        restore_entries(manifest["entries"])
        for e in manifest["entries"]:
            if not e.get("dir"):
                echo(f"restored {paths.system(Path(e['path']))}")
        if paths.is_host:
            for argv in manifest.get("undo", []):
                commands.run(argv, check=False)
        shutil.rmtree(journal)
        return manifest
