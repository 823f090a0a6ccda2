"""A managed block inside a file that admins also edit (inittab, pap-secrets...).

The tool owns only the lines between its markers; every byte outside them is kept
as it was: CRLF endings, a missing final newline and non-UTF-8 bytes included. The
BEGIN marker carries a checksum of the block's body, so a block edited by hand is
noticed and refused (unless forced) instead of being silently overwritten.

Works on bytes throughout: the admin's part of the file is never decoded.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from dialup_admin.errors import UserError

# Set when the file had no final newline and one was added before the block.
ADDED_NL = b" +nl"


def _markers(name: str) -> tuple[bytes, bytes, re.Pattern[bytes], re.Pattern[bytes]]:
    """Markers of the block called ``name`` (several tools' blocks may share a file)."""
    n = re.escape(name.encode())
    begin = f"# BEGIN dialup-admin {name} block: change it with dialup-admin, not by hand".encode()
    end = f"# END dialup-admin {name} block".encode()
    begin_re = re.compile(rb"^# BEGIN dialup-admin " + n + rb" block\b.*?(?: \[sha256=([0-9a-f]{16})\])?( \+nl)?\r?$")
    end_re = re.compile(rb"^# END dialup-admin " + n + rb" block\b.*$")
    return begin, end, begin_re, end_re


class BlockError(UserError):
    """The managed block was edited by hand or its markers are broken."""


def checksum(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:16]


@dataclass(frozen=True)
class Split:
    """A file cut around its managed block. ``body`` is None when there is no block."""

    before: bytes
    body: bytes | None
    after: bytes
    added_newline: bool = False
    recorded_sum: str | None = None

    @property
    def hand_edited(self) -> bool:
        return self.body is not None and self.recorded_sum != checksum(self.body)

    @property
    def outside(self) -> bytes:
        """The admin's own bytes, exactly as they would be without our block."""
        before = self.before[:-1] if self.added_newline and self.before.endswith(b"\n") else self.before
        return before + self.after


def _lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True)


def split(data: bytes, filename: str, *, name: str = "managed", force: bool = False) -> Split:
    """Find the managed block in ``data``.

    Broken markers (a BEGIN without END, END first, two blocks) raise
    :class:`BlockError`; with ``force`` the stray marker lines are dropped, the lines
    they enclosed are kept as the admin's, and the file is treated as having no block.
    """
    _, _, begin_re, end_re = _markers(name)
    lines = _lines(data)
    begins = [i for i, ln in enumerate(lines) if begin_re.match(ln.rstrip(b"\n"))]
    ends = [i for i, ln in enumerate(lines) if end_re.match(ln.rstrip(b"\r\n"))]
    if not begins and not ends:
        return Split(data, None, b"")
    if len(begins) == 1 and len(ends) == 1 and begins[0] < ends[0]:
        b, e = begins[0], ends[0]
        m = begin_re.match(lines[b].rstrip(b"\n"))
        assert m is not None
        recorded = m.group(1).decode() if m.group(1) else None
        before = b"".join(lines[:b])
        body = b"".join(lines[b + 1 : e])
        after = b"".join(lines[e + 1 :])
        return Split(before, body, after, added_newline=bool(m.group(2)), recorded_sum=recorded)
    if not force:
        raise BlockError(
            f"{filename}: the dialup-admin markers are broken ({len(begins)} BEGIN, {len(ends)} END); "
            "fix them by hand, or rerun with --force to drop the stray markers and write a new block"
        )
    kept = [ln for i, ln in enumerate(lines) if i not in begins and i not in ends]
    return Split(b"".join(kept), None, b"")


def merge(data: bytes, body: bytes, filename: str, *, name: str = "managed", force: bool = False,
          at_start: bool = False) -> bytes:
    """``data`` with its managed block replaced by ``body`` (appended if there was none,
    or put first with ``at_start``: files read top-down where the first match wins).

    A block whose body no longer matches its checksum was edited by hand: refused
    unless ``force``.
    """
    if body and not body.endswith(b"\n"):
        body += b"\n"
    begin, end, _, _ = _markers(name)
    s = split(data, filename, name=name, force=force)
    if s.body is not None and s.hand_edited and not force:
        raise BlockError(
            f"{filename}: the dialup-admin block was edited by hand; move your lines out of it "
            "(lines outside the block are kept), or rerun with --force to overwrite it"
        )
    marker = begin + f" [sha256={checksum(body)}]".encode()
    if s.body is not None:
        before, after, added = s.before, s.after, s.added_newline
    elif at_start:
        before, after, added = b"", s.before, False
    else:
        before, after, added = s.before, b"", False
        if before and not before.endswith(b"\n"):
            before += b"\n"
            added = True
    if added:
        marker += ADDED_NL
    return before + marker + b"\n" + body + end + b"\n" + after


def body_of(data: bytes, filename: str, *, name: str = "managed") -> bytes | None:
    """The current body of the managed block, or None when there is none."""
    return split(data, filename, name=name).body
