"""Checks for option values the commands share (values a user can get wrong in odd ways)."""

from __future__ import annotations

import math
from collections.abc import Callable

import click

Callback = Callable[[click.Context, click.Parameter, "float | None"], "float | None"]


def seconds(low: float, high: float) -> Callback:
    """An option callback for a number of seconds (``type=float``): finite, ``low``..``high``.

    click's float type takes ``inf`` and ``nan``; a timeout of either would wait forever
    or break the arithmetic of the wait.
    """

    def check(_ctx: click.Context, _param: click.Parameter, value: float | None) -> float | None:
        if value is None:
            return None
        if not math.isfinite(value) or not low <= value <= high:
            raise click.BadParameter(f"{value:g} is not a number of seconds from {low:g} to {high:g}")
        return value

    return check
