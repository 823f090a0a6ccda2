"""pppd options files (/etc/ppp/options, options.TTY), read as words a line. Pure.

Enough of pppd's reading for doctor's questions (is ``login`` set, which ``ms-dns``,
is the address pair there, is a plugin loaded): ``#`` starts a comment, words are
split on white space. Quoting and line continuations (options.c ``getword``, which
:mod:`dialup_admin.formats.secrets` follows in full) do not occur in the lines the
tool looks for.
"""

from __future__ import annotations


def lines(data: bytes) -> list[list[str]]:
    """The words of each line that has any once its comment is cut off."""
    return [line.split("#", 1)[0].split() for line in data.decode(errors="replace").splitlines()
            if line.split("#", 1)[0].strip()]


def values(data: bytes, option: str) -> list[str]:
    """The argument of every ``OPTION VALUE`` line (``ms-dns 192.168.32.1`` -> ``192.168.32.1``)."""
    return [w[1] for w in lines(data) if len(w) == 2 and w[0] == option]
