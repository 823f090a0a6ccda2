"""Errors a user can cause. The CLI prints them as one line and exits non-zero."""

from __future__ import annotations


class UserError(Exception):
    """A failure with a message meant for a person: printed as one line, no traceback.

    ``exit_code`` follows the convention of the CLI: 1 for a failed check or action,
    2 for bad input (as click uses for usage errors).
    """

    exit_code = 1

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self) -> str:
        # Always a single line: a message built from a subprocess's output must not
        # spill several lines onto the terminal.
        return " ".join(str(self.args[0]).split("\n")).strip()


class BadInput(UserError):
    """The user gave a value the tool refuses (bad name, bad address...)."""

    exit_code = 2


class NotRoot(UserError):
    """The command changes the machine and needs root (or --root DIR)."""

    exit_code = 1
