"""Jinja2 rendering of the files in ``templates/``. Pure: returns text, writes nothing."""

from __future__ import annotations

import shlex
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

HEADER = "Written by dialup-admin; run dialup-admin again to change it (hand edits are overwritten)."


def templates_dir() -> Path:
    """The templates shipped in the wheel, or the repository's top-level ``templates/``."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "templates", here.parent / "templates"):
        if candidate.is_dir():
            return candidate
    raise RuntimeError("dialup-admin is installed without its templates")


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["shquote"] = shlex.quote  # a value as one word of a shell command (the lab's scripts)
    return env


def render(name: str, **values: Any) -> str:
    """Render ``templates/<name>`` with ``values``; a missing value is an error, never blank."""
    return environment().get_template(name).render(header=HEADER, **values)
