"""Shell completion scripts: click's own, for bash, zsh and fish.

Each script calls ``dialup-admin`` again on every Tab (with ``_DIALUP_ADMIN_COMPLETE``
set); the values (tty names, user names) come from :mod:`dialup_admin.completion`.
Pure: returns text.
"""

from __future__ import annotations

from click.shell_completion import get_completion_class

PROG = "dialup-admin"
COMPLETE_VAR = "_DIALUP_ADMIN_COMPLETE"

# Where Debian's shells look for completions that packages install.
INSTALL_PATHS = {
    "bash": "usr/share/bash-completion/completions/dialup-admin",
    "zsh": "usr/share/zsh/vendor-completions/_dialup-admin",
    "fish": "usr/share/fish/vendor_completions.d/dialup-admin.fish",
}


def script(shell: str) -> str:
    """The completion script for ``shell`` (bash, zsh or fish)."""
    from dialup_admin.cli import cli

    cls = get_completion_class(shell)
    if cls is None:
        raise LookupError(f"click has no completion for {shell}")
    text = cls(cli, {}, PROG, COMPLETE_VAR).source()
    return text if text.endswith("\n") else text + "\n"
