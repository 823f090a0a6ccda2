"""What every command gets from the global options."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from typing import Any

import click

from dialup_admin.errors import NotRoot
from dialup_admin.paths import Paths


@dataclass
class AppContext:
    paths: Paths = field(default_factory=Paths)
    dry_run: bool = False
    diff: bool = False
    verbose: int = 0
    json: bool = False

    def require_root(self, action: str) -> None:
        """Refuse to change the running machine unless we are root.

        With ``--root DIR`` the tool acts on a tree and needs no privilege, and a
        ``--dry-run`` changes nothing, so both are allowed for anyone.
        """
        if self.paths.is_host and not self.dry_run and os.geteuid() != 0:
            raise NotRoot(f"{action} changes the system: run it as root (sudo), or use --root DIR or --dry-run")

    def say(self, message: str = "", *, err: bool = False) -> None:
        """A line for people; suppressed when --json owns stdout."""
        if self.json and not err:
            click.echo(message, err=True)
        else:
            click.echo(message, err=err)

    def debug(self, message: str) -> None:
        if self.verbose:
            click.echo(message, err=True)

    def emit_json(self, data: Any) -> None:
        json.dump(data, sys.stdout, indent=2, sort_keys=True, default=str)
        sys.stdout.write("\n")


pass_app = click.make_pass_decorator(AppContext, ensure=True)
