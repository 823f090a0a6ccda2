"""Starting and stopping each line's program through the init, as part of setup-server's plan.

A line's program is mgetty (``mgetty@TTY.service``, or its inittab respawn line), or on
a direct line ``dialup-admin answer`` (``dialup-answer@TTY.service``). The rules, the
same under both inits:

* a line that is configured but whose program does not run (a new line, or one
  stopped by hand) is started: ``systemctl start``, or the inittab line and ``telinit q``;
* a line that runs is left alone, so a call in progress is never dropped; changed
  settings reach it when its program next starts (after each call both inits start it
  again, reading the files anew);
* a line that was removed is stopped: its wants link goes (the unit is disabled) and
  ``systemctl stop``, or its inittab line goes and ``telinit q`` (init ends it); a line
  that changed kind has its old unit stopped before the new one starts;
* 5 s after the start the apply looks again (:func:`~dialup_admin.system.services.verify_running`):
  a line whose program is not running then fails the apply, which rolls back every
  file and undoes the commands (``systemctl stop`` a started unit, ``systemctl start``
  a stopped one, ``daemon-reload``/``telinit q`` once the files are back).

``rollback`` runs the same undo commands after restoring the files, so the previous
services run again. Only on the running machine: under ``--root`` nothing is started.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dialup_admin.core.plan import Check, Plan, RunCommand
from dialup_admin.system import services
from dialup_admin.system.mgetty import MgettyLayout


@dataclass(frozen=True)
class LineUnit:
    """A line and the unit that runs its program (``mgetty@ttyS1.service``, ``dialup-answer@ttyACM0.service``)."""

    tty: str
    unit: str

    @classmethod
    def of(cls, tty: str, direct: bool = False) -> LineUnit:
        return cls(tty, f"{'dialup-answer' if direct else 'mgetty'}@{tty}.service")

    @property
    def program(self) -> str:
        return "dialup-admin answer" if self.unit.startswith("dialup-answer@") else "mgetty"


def plan_systemd(plan: Plan, lines: Sequence[LineUnit], stale: Sequence[LineUnit], layout: MgettyLayout | None,
                 units_changed: bool) -> None:
    """The systemctl commands that make the running units match ``lines`` (see the module's rules).

    ``stale``: units no longer wanted (removed lines, or a line's other kind).
    """
    if not services.systemd_running(plan.paths):
        return
    if units_changed:
        plan.command(RunCommand(("systemctl", "daemon-reload"), "systemd rereads the units",
                                undo=("systemctl", "daemon-reload")))
    stopped = [s for s in stale if s not in lines and services.unit_active(s.unit)]
    started = [ln for ln in lines if not services.unit_active(ln.unit)]
    for s in stopped:  # first: a line that changed kind frees its port for the other program
        what = "has changed kind" if any(ln.tty == s.tty for ln in lines) else "is no longer a dial-in line"
        plan.command(RunCommand(("systemctl", "stop", s.unit), f"{s.tty} {what}", undo=("systemctl", "start", s.unit)))
    for ln in started:
        plan.command(RunCommand(("systemctl", "start", ln.unit), f"{ln.program} answers on {ln.tty}",
                                undo=("systemctl", "stop", ln.unit)))
    _check(plan, "systemd", started, stopped, layout)
    _note_running(plan, [ln for ln in lines if ln not in started], "systemctl restart UNIT")


def plan_inittab(plan: Plan, lines: Sequence[LineUnit], removed: Sequence[str], layout: MgettyLayout | None,
                 inittab_changed: bool) -> None:
    """``telinit q`` when the inittab block changed, and the check of the lines it starts or ends."""
    if not plan.paths.is_host or not inittab_changed:
        return
    plan.command(RunCommand(("telinit", "q"), "init rereads inittab: starts new lines, ends removed ones",
                            undo=("telinit", "q")))
    started = [ln for ln in lines if not services.line_busy(plan.paths, ln.tty)]
    stopped = [LineUnit.of(tty) for tty in removed if services.line_busy(plan.paths, tty)]
    _check(plan, "inittab", started, stopped, layout)
    _note_running(plan, [ln for ln in lines if ln not in started], "kill the line's program: init starts it again")


def _check(plan: Plan, init: str, started: list[LineUnit], stopped: list[LineUnit],
           layout: MgettyLayout | None) -> None:
    if not started and not stopped:
        return
    parts = []
    if started:
        names = ", ".join(ln.tty for ln in started)
        programs = sorted({ln.program for ln in started})
        parts.append(f"{' and '.join(programs)} runs on {names} {services.SETTLE_SECONDS:g} s later")
    if stopped:
        parts.append(f"nothing left running of {', '.join(s.unit if init == 'systemd' else s.tty for s in stopped)}")
    paths = plan.paths

    def log_file(tty: str) -> str:
        return layout.log_file(tty) if layout is not None else ""

    plan.check(Check("; ".join(parts), lambda: services.verify_running(
        paths, init, [(ln.tty, ln.unit) for ln in started], [(s.tty, s.unit) for s in stopped], log_file)))


def _note_running(plan: Plan, running: list[LineUnit], how: str) -> None:
    if running and plan.changes_files:
        plan.notes.append(f"left running (a call may be in progress): {', '.join(ln.tty for ln in running)}; "
                          f"the program reads changed settings when it next starts, after a call, or now: {how}")
