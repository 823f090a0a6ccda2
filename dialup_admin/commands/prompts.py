"""Asking a person for a new secret on the terminal, the same on every click version."""

from __future__ import annotations

import click

from dialup_admin.errors import BadInput

TRIES = 3  # as passwd(1): a typo is asked again, a run of them ends the command


def ask_new_secret(label: str) -> str | None:
    """Ask for a secret twice, hidden, on stderr; ``None`` for an empty answer or end of input.

    Never loops on its own: click.prompt asks again on an empty answer, which under a closed
    stdin (click 8.1's test runner, Debian 12) would never end. Writes nothing.
    """
    try:
        for _ in range(TRIES):
            first = click.prompt(label, hide_input=True, default="", show_default=False, err=True)
            if not first:
                return None
            second = click.prompt("Repeat for confirmation", hide_input=True, default="",
                                  show_default=False, err=True)
            if first == second:
                return str(first)
            click.echo("Error: The two entered values do not match.", err=True)
    except click.Abort:  # end of input or Ctrl-C at the prompt
        return None
    raise BadInput(f"the two passwords did not match {TRIES} times")
