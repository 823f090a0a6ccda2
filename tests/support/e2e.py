"""Helpers for the end-to-end tests: a lab run whose steps are recorded, its story checked in
order, and failure text."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from dialup_admin.lab.guest import GuestError
from dialup_admin.lab.scenario import Lab


@dataclass
class Record:
    """What a scenario did, phase by phase; the first failure stops it and is kept."""

    folder: Path
    phases: dict[str, object] = field(default_factory=dict)
    error: str | None = None
    failed_phase: str | None = None

    def phase(self, name: str, func: Callable[[], object]) -> bool:
        if self.error is not None:
            return False
        try:
            self.phases[name] = func()
            return True
        except GuestError as exc:
            self.error = f"{exc}\n" + "\n".join(exc.log_lines)
        except Exception:  # noqa: BLE001 -- kept for the tests to show, with the logs
            self.error = traceback.format_exc()
        self.failed_phase = name
        return False

    def get(self, name: str) -> object:
        """The result of phase ``name``; fails the calling test with the lab's error otherwise."""
        if name not in self.phases:
            raise AssertionError(f"phase {name} did not run: failed at {self.failed_phase}: {self.error}\n"
                                 f"logs in {self.folder}\n{transcript(self.folder)}")
        return self.phases[name]

    def why(self) -> str:
        return f"logs in {self.folder}\n{transcript(self.folder)}"


def transcript(folder: Path, lines: int = 80) -> str:
    path = folder / "transcript.log"
    if not path.exists():
        return "(no transcript)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def server_text(lab: Lab, name: str) -> str:
    assert lab.server is not None
    path = lab.server.guest.folder / name
    return path.read_text(errors="replace") if path.exists() else ""


def assert_in_order(text: str, story: list[str], shown: int | None = None) -> None:
    """Each line of ``story`` occurs in ``text``, in this order (others may come between);
    a failure shows ``text`` (its last ``shown`` characters when given)."""
    at = 0
    for line in story:
        found = text.find(line, at)
        assert found >= 0, f"{line!r} missing (or out of order) in:\n{text[-shown:] if shown else text}"
        at = found
