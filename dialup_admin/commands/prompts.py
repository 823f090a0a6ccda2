"""Reading a new secret: from a person (asked twice, hidden, on every click version) or from stdin."""

from __future__ import annotations

import sys

import click

from dialup_admin.errors import BadInput

TRIES = 3  # as passwd(1): a typo is asked again, a run of them ends the command


def stdin_line() -> str:
    """The first line of standard input without its newline (``--password-stdin``).

    Read as bytes: text mode would end the line at a lone CR, and a non-UTF-8 byte would
    fail with a traceback instead of one line.
    """
    raw = sys.stdin.buffer.readline()
    raw = raw[:-1] if raw.endswith(b"\n") else raw
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput("--password-stdin: the password is not valid UTF-8") from None


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
