"""rollback: put back what the last apply changed, from its journal."""

from __future__ import annotations

from collections.abc import Callable

from dialup_admin.paths import Paths
from dialup_admin.system import journals
from dialup_admin.system.files import RunLock


def pending(paths: Paths) -> journals.Journal | None:
    """The newest journal, checked whole, or None when there is nothing to roll back."""
    return journals.newest(paths)


def rollback(paths: Paths, echo: Callable[[str], None]) -> journals.Journal | None:
    """Restore every file the newest apply changed, run its undo commands, drop its journal.

    The whole journal is checked first: a damaged one is refused and nothing is restored.
    """
    with RunLock(paths):
        journal = journals.newest(paths)
        if journal is None:
            return None
        for system in journals.undo_journal(paths, journal):
            echo(f"restored {system}")
        return journal
