"""pppd secrets files (pap-secrets, chap-secrets). Pure.

Only redaction lives here for now; the full reader/writer following pppd's
tokeniser comes with the accounts work.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|(?:\\.|[^\s#"\'])+')


def redact_line(line: str) -> str:
    """``line`` with its secret (third word) replaced by ``********``, for diffs and logs."""
    stripped = line.lstrip()
    if not stripped or stripped.startswith("#"):
        return line
    words = list(_TOKEN.finditer(line))
    if len(words) < 3:
        return line
    m = words[2]
    return line[: m.start()] + "********" + line[m.end() :]
