"""What every command gets from the global options."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from dialup_admin.errors import BadInput, NotRoot
from dialup_admin.paths import Paths


@dataclass
class AppContext:
    paths: Paths = field(default_factory=Paths)
    dry_run: bool = False
    diff: bool = False
    verbose: int = 0
    json: bool = False

    def require_root(self, action: str, *, recover: bool = True) -> None:
        """Refuse to change the running machine unless we are root.

        With ``--root DIR`` the tool acts on a tree and needs no privilege, and a
        ``--dry-run`` changes nothing, so both are allowed for anyone. A changing run
        then first undoes any earlier run that was killed part-way (its journal never
        committed), so it starts from a consistent system.
        """
        if self.paths.is_host and not self.dry_run and os.geteuid() != 0:
            raise NotRoot(f"{action} changes the system: run it as root (sudo), or use --root DIR or --dry-run")
        if recover and not self.dry_run:
            from dialup_admin.system import journals

            journals.recover(self.paths, self.say)

    def say(self, message: str = "", *, err: bool = False) -> None:
        """A line for people; suppressed when --json owns stdout."""
        if self.json and not err:
            click.echo(message, err=True)
        else:
            click.echo(message, err=err)

    def say_table(self, rows: Sequence[Sequence[str]]) -> None:
        """Rows (the first one a header) in columns two spaces apart; the last column is not padded."""
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
        for r in rows:
            self.say("  ".join([*(c.ljust(w) for c, w in zip(r, widths)), r[-1]]))

    def debug(self, message: str) -> None:
        if self.verbose:
            click.echo(message, err=True)

    def emit_json(self, data: Any) -> None:
        json.dump(data, sys.stdout, indent=2, sort_keys=True, default=str)
        sys.stdout.write("\n")


pass_app = click.make_pass_decorator(AppContext, ensure=True)


def root_paths(value: str) -> Paths:
    """``--root DIR`` as Paths: an existing directory; an empty value is refused, not taken as "."."""
    if value == "":
        raise BadInput("--root needs a directory: an empty value would mean the current one (write --root . for that)")
    if "\0" in value:
        raise BadInput("--root: a directory name cannot hold a NUL byte")
    if value != "/" and not os.path.isdir(value):
        raise BadInput(f"--root {value} is not a directory")
    return Paths(Path(value))


def _set_root(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    """``--root`` after the command name, as the README promises for every global option."""
    app = ctx.find_object(AppContext)
    if value is None or app is None:
        return
    given = root_paths(value)
    if not app.paths.is_host and app.paths != given:
        raise BadInput(f"--root is given twice with different directories ({app.paths.root} and {given.root})")
    app.paths = given


def _set_flag(attr: str) -> Any:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        app = ctx.find_object(AppContext)
        if app is not None and value:
            if attr == "verbose":
                app.verbose += int(value)
            else:
                setattr(app, attr, True)

    return callback


def shared_options() -> list[click.Option]:
    """--root, --dry-run, --diff, --json and -v, accepted after the command name too.

    People type ``dialup-admin setup-server --tty ttyS1 --dry-run``; the same flags
    before the command name keep working.
    """
    return [
        click.Option(["--root"], metavar="DIR", expose_value=False, callback=_set_root, is_eager=True,
                     help="Act on the tree below DIR instead of this machine."),
        click.Option(["--dry-run"], is_flag=True, expose_value=False, callback=_set_flag("dry_run"),
                     help="Print the plan of changes and change nothing."),
        click.Option(["--diff"], is_flag=True, expose_value=False, callback=_set_flag("diff"),
                     help="Show unified diffs of the files a change writes (secrets redacted)."),
        click.Option(["--json", "json"], is_flag=True, expose_value=False, callback=_set_flag("json"),
                     help="Print results as JSON on stdout."),
        click.Option(["-v", "--verbose"], count=True, expose_value=False, callback=_set_flag("verbose"),
                     help="Say more."),
    ]
