"""``dialup-admin users``: dial-in accounts and pap-secrets side by side, with what is wrong.

Reads only: /etc/passwd, group, shadow (whether a password is set, never the hash),
pap-secrets, chap-secrets and server.json below the root.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from dialup_admin.core import pap_rules
from dialup_admin.core.accounts import CHAP, PPP_GROUP, SERVICE_USERS, Accounts, load, read_file
from dialup_admin.formats import secrets as fmt
from dialup_admin.paths import Paths
from dialup_admin.system import accounts as sysacc


@dataclass
class UserRow:
    name: str
    uid: int | None
    ip: str | None
    in_passwd: bool
    in_pap: bool
    password: str  # set | locked | empty | unknown | -
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


# users' words for the pap-secrets rules (core/pap_rules.py) of a dial-in row, in the rules' order.
_ROW_WORDS = {
    "secret-no-account": "pap-secrets line {line} has no system account behind it (pppd's login check refuses it)",
    "not-dialin": "pap-secrets line {line} lets {client}, not in group {group}, dial in",
    "secret-empty": 'pap-secrets line {line}: empty secret "" lets any password in if pppd runs without "login"',
    "secret-clear": "pap-secrets line {line} holds a password in clear; dialup-admin passwd {client} "
                    "replaces it with @login",
    "secret-options": "pap-secrets line {line} sets pppd options: {options}",
}


def report(paths: Paths) -> tuple[list[UserRow], list[str]]:
    """Dial-in users as the databases and pap-secrets see them, with what is wrong.

    Returns the rows and the file-wide problems (wildcard entries that let anyone in,
    lines pppd skips, duplicate addresses).
    """
    acc = load(paths)
    shadow = sysacc.read_shadow_status(paths)
    rows = _dialin_rows(acc, shadow)
    facts = pap_rules.Facts(login=None, accounts={u.name: u.uid for u in acc.users.values()},
                            dialin=None if acc.ppp_gid is None else set(rows))
    _pap_rows(acc, shadow, facts, rows)
    general = _addresses(acc, rows)
    general += _file_problems(acc, facts)
    general += _chap(fmt.parse(read_file(paths, CHAP)), rows)
    return sorted(rows.values(), key=lambda r: r.name), general


def _dialin_rows(acc: Accounts, shadow: dict[str, str]) -> dict[str, UserRow]:
    """A row for each account of the ppp group (primary group, or a member)."""
    gid = acc.ppp_gid
    members = set(acc.groups[PPP_GROUP].members) if PPP_GROUP in acc.groups else set()
    return {u.name: UserRow(u.name, u.uid, None, True, False, shadow.get(u.name, "unknown"))
            for u in acc.users.values() if gid is not None and (u.gid == gid or u.name in members)}


def _pap_rows(acc: Accounts, shadow: dict[str, str], facts: pap_rules.Facts, rows: dict[str, UserRow]) -> None:
    """Each client's first pap-secrets entry (the one pppd uses) onto its row, with the rules'
    issues; then the entries pppd never reaches, and the group's accounts without an entry."""
    entries = [e for e in acc.pap.entries if e.client != fmt.WILD and e.client != "" and not e.is_deny]
    first: dict[str, fmt.Entry] = {}
    for e in entries:
        if e.client in first:
            continue
        first[e.client] = e
        row = rows.get(e.client)
        if row is None:
            acct = acc.users.get(e.client)
            row = rows[e.client] = UserRow(e.client, acct.uid if acct else None, None, acct is not None, False,
                                           shadow.get(e.client, "unknown") if acct else "-")
        row.in_pap = True
        hosts = [a for a in e.addresses if _single_host(a)]
        row.ip = hosts[0] if hosts else None
        for issue in pap_rules.issues(e, facts, _ROW_WORDS):
            row.problems.append(_ROW_WORDS[issue.rule].format(line=e.line, client=e.client, group=PPP_GROUP,
                                                              options=" ".join(e.options)))
        if row.in_passwd and row.password in ("locked", "empty"):
            row.problems.append(f"password {row.password}: set one with dialup-admin passwd {e.client}")
    for name, e in first.items():
        for d in (x for x in entries if x.client == name and x is not e):
            rows[name].problems.append(f"pap-secrets line {d.line} is a second entry for {name}; pppd uses line {e.line}")
    for row in rows.values():
        if row.in_passwd and not row.in_pap and row.name not in SERVICE_USERS:
            row.problems.append(f"in group {PPP_GROUP} but no pap-secrets entry: cannot dial in "
                                f"(dialup-admin passwd {row.name} adds one)")


def _addresses(acc: Accounts, rows: dict[str, UserRow]) -> list[str]:
    """One static address per user, none of a line's, inside the pool; returns the duplicates."""
    general: list[str] = []
    seen: dict[str, str] = {}
    line_addrs = {}
    if acc.server is not None:
        for ln in acc.server.lines:
            line_addrs[str(ln.local)] = f"{ln.tty}'s local address"
            line_addrs[str(ln.remote)] = f"{ln.tty}'s remote address"
    for row in sorted(rows.values(), key=lambda r: r.name):
        if row.ip is None:
            continue
        if row.ip in seen:
            row.problems.append(f"address {row.ip} is also given to {seen[row.ip]}")
            general.append(f"duplicate address {row.ip}: {seen[row.ip]} and {row.name}")
        else:
            seen[row.ip] = row.name
        if row.ip in line_addrs:
            row.problems.append(f"address {row.ip} is {line_addrs[row.ip]}")
        if acc.server is not None and ipaddress.IPv4Address(row.ip) not in acc.server.pool:
            row.problems.append(f"address {row.ip} is outside the pool {acc.server.pool}")
    return general


def _file_problems(acc: Accounts, facts: pap_rules.Facts) -> list[str]:
    """pap-secrets as a whole: wildcard entries (pap_rules), lines pppd skips, words it cuts."""
    general: list[str] = []
    for e in acc.pap.entries:
        found = {i.rule for i in pap_rules.issues(e, facts, ("secret-wildcard", "secret-empty"))}
        if "secret-wildcard" in found and "secret-empty" in found:
            general.append(f'pap-secrets line {e.line}: wildcard entry "* {e.server} \\"\\"" lets every system '
                           'account dial in, and anyone at all if pppd runs without "login"')
        elif "secret-wildcard" in found:
            general.append(f"pap-secrets line {e.line}: wildcard entry lets anyone with its shared secret dial in")
    general += [f"pap-secrets line {line} has fewer than three words: pppd skips it" for line in acc.pap.skipped]
    return general + [f"pap-secrets {w}" for w in acc.pap.warnings]


def _chap(chap: fmt.Parsed, rows: dict[str, UserRow]) -> list[str]:
    """chap-secrets entries: CHAP needs the secret in clear on the server, so it cannot use the
    system password; setup-server turns it off (-chap) and the tool writes no chap-secrets entries."""
    general: list[str] = []
    for e in chap.entries:
        if e.client in rows:
            rows[e.client].problems.append(
                f"chap-secrets line {e.line} holds a separate clear-text secret (CHAP is off in login.config; "
                "dialup-admin passwd does not change it)")
        elif e.client == fmt.WILD and e.secret == "" and not e.is_deny:
            general.append(f'chap-secrets line {e.line}: wildcard entry with an empty secret')
    return general


def _single_host(word: str) -> bool:
    if word.startswith("!") or word in (fmt.WILD, "-"):
        return False
    base, _, bits = word.partition("/")
    try:
        ipaddress.IPv4Address(base)
    except ValueError:
        return False
    return bits in ("", "32")
