"""nftables: the NAT table dialup-admin owns, checked with ``nft -c`` before it is loaded.

Only this module runs ``nft``. Rulesets travel on stdin (``nft -f -``), never through a
shell; the tool touches no table but its own (:data:`TABLE`).
"""

from __future__ import annotations

import re

from dialup_admin.errors import UserError
from dialup_admin.system import commands

TABLE = "dialup_admin"
FAMILY = "ip"
RULESET = "/etc/dialup-admin/nat.nft"


def check(ruleset: str) -> None:
    """Validate ``ruleset`` with ``nft -c`` (parsed and checked by the kernel, nothing loaded).

    Raises :class:`UserError` with nft's own complaint when the ruleset is refused.
    """
    proc = commands.run(("nft", "-c", "-f", "-"), stdin=ruleset.encode(), check=False)
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace")
        first = next((ln.strip() for ln in err.splitlines() if "Error" in ln), commands.last_line(proc.stderr))
        raise UserError(f"nft refused the NAT rules: {first}")


def load(ruleset: str) -> None:
    """Load ``ruleset`` into the kernel (replaces the tool's table atomically)."""
    commands.run(("nft", "-f", "-"), stdin=ruleset.encode())


def delete_table() -> None:
    """Remove the tool's table from the kernel; nothing happens when it is not loaded."""
    if list_table() is not None:
        commands.run(("nft", "delete", "table", FAMILY, TABLE))


def list_table() -> str | None:
    """The tool's table as the kernel has it now, or None when it is not loaded."""
    if commands.which("nft") is None:
        return None
    proc = commands.run(("nft", "list", "table", FAMILY, TABLE), check=False)
    return proc.stdout.decode(errors="replace") if proc.returncode == 0 else None


def list_ruleset() -> str | None:
    """The whole ruleset (every table), or None when nft cannot be asked (missing, not root)."""
    if commands.which("nft") is None:
        return None
    proc = commands.run(("nft", "list", "ruleset"), check=False)
    return proc.stdout.decode(errors="replace") if proc.returncode == 0 else None


def masquerades(table_text: str, pool: str, upstream: str) -> bool:
    """Whether a listed table masquerades ``pool`` out of ``upstream``."""
    for line in table_text.splitlines():
        words = line.split()
        if "masquerade" in words and pool in words and f'"{upstream}"' in words:
            return True
    return False


_TABLE_RE = re.compile(r"^table (\S+) (\S+) \{")
_HOOK_RE = re.compile(r"type filter hook forward priority [^;]+; policy drop;")


def forward_drops(ruleset_text: str) -> list[str]:
    """Tables (other than ours) with a forward base chain whose policy is drop."""
    found: list[str] = []
    table = ""
    for line in ruleset_text.splitlines():
        m = _TABLE_RE.match(line)
        if m:
            table = f"{m.group(1)} {m.group(2)}"
        elif _HOOK_RE.search(line) and table != f"{FAMILY} {TABLE}" and table not in found:
            found.append(table)
    return found
