"""``dialup-admin users``: dial-in accounts and pap-secrets side by side, with what is wrong.

Reads only: /etc/passwd, group, shadow (whether a password is set, never the hash),
pap-secrets, chap-secrets and server.json below the root.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from dialup_admin.core.accounts import CHAP, PPP_GROUP, SERVICE_USERS, load, read_file
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


def report(paths: Paths) -> tuple[list[UserRow], list[str]]:
    """Dial-in users as the databases and pap-secrets see them, with what is wrong.

    Returns the rows and the file-wide problems (wildcard entries that let anyone in,
    lines pppd skips, duplicate addresses).
    """
    acc = load(paths)
    chap = fmt.parse(read_file(paths, CHAP))
    shadow = sysacc.read_shadow_status(paths)
    gid = acc.ppp_gid
    general: list[str] = []
    rows: dict[str, UserRow] = {}
    members = set(acc.groups[PPP_GROUP].members) if PPP_GROUP in acc.groups else set()
    for u in acc.users.values():
        if gid is not None and (u.gid == gid or u.name in members):
            rows[u.name] = UserRow(u.name, u.uid, None, True, False, shadow.get(u.name, "unknown"))
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
        if not row.in_passwd:
            row.problems.append(f"pap-secrets line {e.line} has no system account behind it (pppd's login check refuses it)")
        elif gid is not None and acc.users[e.client].gid != gid and e.client not in members:
            row.problems.append(f"pap-secrets line {e.line} lets {e.client}, not in group {PPP_GROUP}, dial in")
        if e.secret == "":
            row.problems.append(f'pap-secrets line {e.line}: empty secret "" lets any password in if pppd runs without "login"')
        elif e.secret not in (fmt.LOGIN_SECRET,) and not e.secret.startswith("@/"):
            row.problems.append(f"pap-secrets line {e.line} holds a password in clear; dialup-admin passwd {e.client} "
                                "replaces it with @login")
        if e.options:
            row.problems.append(f"pap-secrets line {e.line} sets pppd options: {' '.join(e.options)}")
        if row.in_passwd and row.password in ("locked", "empty"):
            row.problems.append(f"password {row.password}: set one with dialup-admin passwd {e.client}")
    for name, e in first.items():
        dups = [x for x in entries if x.client == name and x is not e]
        for d in dups:
            rows[name].problems.append(f"pap-secrets line {d.line} is a second entry for {name}; pppd uses line {e.line}")
    for row in rows.values():
        if row.in_passwd and not row.in_pap and row.name not in SERVICE_USERS:
            row.problems.append(f"in group {PPP_GROUP} but no pap-secrets entry: cannot dial in "
                                f"(dialup-admin passwd {row.name} adds one)")
    # Addresses: one per user, none of a line's.
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
            msg = f"address {row.ip} is also given to {seen[row.ip]}"
            row.problems.append(msg)
            general.append(f"duplicate address {row.ip}: {seen[row.ip]} and {row.name}")
        else:
            seen[row.ip] = row.name
        if row.ip in line_addrs:
            row.problems.append(f"address {row.ip} is {line_addrs[row.ip]}")
        if acc.server is not None and ipaddress.IPv4Address(row.ip) not in acc.server.pool:
            row.problems.append(f"address {row.ip} is outside the pool {acc.server.pool}")
    for e in acc.pap.entries:
        if e.client == fmt.WILD and not e.is_deny:
            if e.secret == "":
                general.append(f'pap-secrets line {e.line}: wildcard entry "* {e.server} \\"\\"" lets every system '
                               'account dial in, and anyone at all if pppd runs without "login"')
            else:
                general.append(f"pap-secrets line {e.line}: wildcard entry lets anyone with its shared secret dial in")
    for line in acc.pap.skipped:
        general.append(f"pap-secrets line {line} has fewer than three words: pppd skips it")
    general.extend(f"pap-secrets {w}" for w in acc.pap.warnings)
    # CHAP needs the secret in clear on the server, so it cannot use the system password:
    # setup-server turns it off (-chap) and the tool writes no chap-secrets entries.
    for e in chap.entries:
        if e.client in rows:
            rows[e.client].problems.append(
                f"chap-secrets line {e.line} holds a separate clear-text secret (CHAP is off in login.config; "
                "dialup-admin passwd does not change it)")
        elif e.client == fmt.WILD and e.secret == "" and not e.is_deny:
            general.append(f'chap-secrets line {e.line}: wildcard entry with an empty secret')
    return sorted(rows.values(), key=lambda r: r.name), general


def _single_host(word: str) -> bool:
    if word.startswith("!") or word in (fmt.WILD, "-"):
        return False
    base, _, bits = word.partition("/")
    try:
        ipaddress.IPv4Address(base)
    except ValueError:
        return False
    return bits in ("", "32")
