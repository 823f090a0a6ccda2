"""Starting and stopping mgetty through the init, as part of setup-server's plan.

The rules, the same under both inits:

* a line that is configured but whose mgetty does not run (a new line, or one
  stopped by hand) is started: ``systemctl start mgetty@TTY.service``, or the
  inittab line and ``telinit q``;
* a line that runs is left alone, so a call in progress is never dropped; changed
  settings reach it when its mgetty next starts (after each call both inits start
  mgetty again, reading the files anew);
* a line that was removed is stopped: its wants link goes (the unit is disabled) and
  ``systemctl stop``, or its inittab line goes and ``telinit q`` (init ends it);
* 5 s after the start the apply looks again (:func:`~dialup_admin.system.services.verify_running`):
  a line whose mgetty is not running then fails the apply, which rolls back every file
  and undoes the commands (``systemctl stop`` a started unit, ``systemctl start`` a
  stopped one, ``daemon-reload``/``telinit q`` once the files are back).

``rollback`` runs the same undo commands after restoring the files, so the previous
services run again. Only on the running machine: under ``--root`` nothing is started.
"""

from __future__ import annotations

from collections.abc import Sequence

from dialup_admin.core.plan import Check, Plan, RunCommand
from dialup_admin.system import services
from dialup_admin.system.mgetty import MgettyLayout


def plan_systemd(plan: Plan, ttys: Sequence[str], removed: Sequence[str], layout: MgettyLayout,
                 units_changed: bool) -> None:
    """The systemctl commands that make the running units match ``ttys`` (see the module's rules)."""
    if not services.systemd_running(plan.paths):
        return
    if units_changed:
        plan.command(RunCommand(("systemctl", "daemon-reload"), "systemd rereads the units",
                                undo=("systemctl", "daemon-reload")))
    started = [tty for tty in ttys if not services.unit_active(services.unit_name(tty))]
    stopped = [tty for tty in removed if tty not in ttys and services.unit_active(services.unit_name(tty))]
    for tty in stopped:
        unit = services.unit_name(tty)
        plan.command(RunCommand(("systemctl", "stop", unit), f"{tty} is no longer a dial-in line",
                                undo=("systemctl", "start", unit)))
    for tty in started:
        unit = services.unit_name(tty)
        plan.command(RunCommand(("systemctl", "start", unit), f"mgetty answers on {tty}",
                                undo=("systemctl", "stop", unit)))
    _check(plan, "systemd", started, stopped, layout)
    _note_running(plan, [t for t in ttys if t not in started], "systemctl restart mgetty@TTY.service")


def plan_inittab(plan: Plan, ttys: Sequence[str], removed: Sequence[str], layout: MgettyLayout,
                 inittab_changed: bool) -> None:
    """``telinit q`` when the inittab block changed, and the check of the lines it starts or ends."""
    if not plan.paths.is_host or not inittab_changed:
        return
    plan.command(RunCommand(("telinit", "q"), "init rereads inittab: starts new lines, ends removed ones",
                            undo=("telinit", "q")))
    started = [tty for tty in ttys if not services.line_busy(plan.paths, tty)]
    stopped = [tty for tty in removed if tty not in ttys and services.line_busy(plan.paths, tty)]
    _check(plan, "inittab", started, stopped, layout)
    _note_running(plan, [t for t in ttys if t not in started], "kill the line's mgetty: init starts it again")


def _check(plan: Plan, init: str, started: list[str], stopped: list[str], layout: MgettyLayout) -> None:
    if not started and not stopped:
        return
    parts = []
    if started:
        parts.append(f"mgetty runs on {', '.join(started)} {services.SETTLE_SECONDS:g} s later")
    if stopped:
        parts.append(f"no mgetty on {', '.join(stopped)}")
    paths = plan.paths
    plan.check(Check("; ".join(parts), lambda: services.verify_running(paths, init, started, stopped, layout.log_file)))


def _note_running(plan: Plan, running: list[str], how: str) -> None:
    if running and plan.changes_files:
        plan.notes.append(f"left running (a call may be in progress): {', '.join(running)}; mgetty reads changed "
                          f"settings when it next starts, after a call, or now: {how}")
