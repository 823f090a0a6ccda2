"""Showing and applying a plan the way every changing command does."""

from __future__ import annotations

from dialup_admin.context import AppContext
from dialup_admin.core.plan import Plan, apply, display


def run_plan(app: AppContext, plan: Plan, *, notes: bool = True) -> bool:
    """Show the plan (--dry-run, --diff); apply it unless --dry-run, each step echoed. Returns
    whether it was applied. ``notes`` False leaves the plan's notes to the caller (printed
    after its own summary)."""
    display(plan, dry_run=app.dry_run, diff=app.diff, say=app.say)
    if app.dry_run or not plan:
        return False
    apply(plan, echo=lambda s: app.say(f"  {s}"))
    if notes:
        for n in plan.notes:
            app.say(f"  note: {n}")
    return True
