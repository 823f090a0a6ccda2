"""The account databases as files: /etc/passwd, group, shadow, and login.defs. Pure.

Read the way the target's own tools read them, not through this machine's NSS: one
entry a line, ``:``-separated; comments, blank lines and NIS compat lines (``+``,
``-``) are not local accounts; a line short of fields, or with a uid or gid that is not
a number, is skipped. Of shadow only whether a password is set is kept, never the hash.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PasswdEntry:
    name: str
    uid: int
    gid: int
    gecos: str
    home: str
    shell: str


@dataclass(frozen=True)
class GroupEntry:
    name: str
    gid: int
    members: tuple[str, ...]


def rows(text: str, fields: int) -> list[list[str]]:
    """The ``:``-separated fields of each local entry that has at least ``fields`` of them."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith(("#", "+", "-")):
            continue  # NIS compat lines are not local accounts
        parts = line.split(":")
        if len(parts) >= fields:
            out.append(parts)
    return out


def passwd(text: str) -> list[PasswdEntry]:
    """/etc/passwd (malformed lines skipped)."""
    out = []
    for p in rows(text, 7):
        try:
            out.append(PasswdEntry(p[0], int(p[2]), int(p[3]), p[4], p[5], p[6]))
        except ValueError:
            continue
    return out


def group(text: str) -> list[GroupEntry]:
    """/etc/group (malformed lines skipped)."""
    out = []
    for p in rows(text, 4):
        try:
            out.append(GroupEntry(p[0], int(p[2]), tuple(m for m in p[3].split(",") if m)))
        except ValueError:
            continue
    return out


def shadow_status(text: str) -> dict[str, str]:
    """name -> "set" | "locked" | "empty" from /etc/shadow (``!`` or ``*`` locks an account)."""
    out: dict[str, str] = {}
    for p in rows(text, 2):
        h = p[1]
        out[p[0]] = "empty" if h == "" else "locked" if h.startswith(("!", "*")) else "set"
    return out


def login_defs(text: str) -> dict[str, str]:
    """The settings of /etc/login.defs (``UID_MIN 1000``...); comments skipped."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and not parts[0].startswith("#"):
            out[parts[0]] = parts[1]
    return out
