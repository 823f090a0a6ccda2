"""The pap-secrets rules, written once: ``doctor`` and ``users`` both ask them.

A rule looks at one entry against what is known of the machine and says how bad it
is. The level is data, a rule's row in :data:`RULES`: it depends on whether pppd's
``login`` option is in effect (auth.c ``check_passwd``: with it, pppd also checks the
password against the system database, which needs an account behind the entry).
doctor reads login.config and knows; users does not, and lists every issue of a
dial-in row at :data:`NOTE`, "wrong, or wrong once ``login`` is dropped". doctor
shows what is an error or a warning now. How each command words an issue is its own.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from dialup_admin.core.findings import ERROR, WARNING
from dialup_admin.formats import secrets as fmt

NOTE = "note"
SYSTEM_UID_MAX = 999


@dataclass(frozen=True)
class Facts:
    """What the rules know of the target."""

    login: bool | None  # pppd's login option in effect; None: not known
    accounts: Mapping[str, int] | None  # account name -> uid; None: not known (no /etc/passwd)
    dialin: Collection[str] | None = None  # the accounts of the ppp group; None: there is no such group


@dataclass(frozen=True)
class Issue:
    rule: str
    level: str
    entry: fmt.Entry
    account: str = ""  # system-account: the account the entry lets in
    uid: int = -1


@dataclass(frozen=True)
class Rule:
    name: str
    applies: Callable[[fmt.Entry, Facts], bool]
    levels: Mapping[bool | None, str]  # by Facts.login; a state it does not name raises no issue


def _known(f: Facts, client: str) -> bool:
    return f.accounts is not None and client in f.accounts


_NOTE = {True: NOTE, False: NOTE, None: NOTE}  # listed by users; never one of doctor's findings

RULES: tuple[Rule, ...] = (
    # pppd's login check refuses a caller with no account; without login pppd does not look.
    Rule("secret-no-account", lambda e, f: f.accounts is not None and e.client != fmt.WILD and not _known(f, e.client),
         {True: ERROR, None: NOTE}),
    # An account outside the ppp group dials in all the same: pppd does not look at groups.
    Rule("not-dialin", lambda e, f: f.dialin is not None and _known(f, e.client) and e.client not in f.dialin, _NOTE),
    # Without login an empty secret takes any password: an open door.
    Rule("secret-empty", lambda e, f: e.secret == "", {True: NOTE, False: ERROR, None: NOTE}),
    # A second copy of the password, to keep in step, and a plain-text check without login.
    Rule("secret-clear", lambda e, f: e.secret not in ("", fmt.LOGIN_SECRET) and not e.secret.startswith("@/"),
         _NOTE),
    # Options after "--" are applied with root's privilege.
    Rule("secret-options", lambda e, f: bool(e.options), _NOTE),
    Rule("secret-wildcard", lambda e, f: e.client == fmt.WILD, {True: WARNING, False: WARNING, None: WARNING}),
)
# Under login a system account's password is the system one: any it has lets its holder dial in.
SYSTEM_ACCOUNT_LEVELS: Mapping[bool | None, str] = {True: ERROR}


def issues(entry: fmt.Entry, facts: Facts, rules: Iterable[str] | None = None) -> list[Issue]:
    """The issues of one entry, in :data:`RULES` order (only ``rules`` when named). A deny
    entry (``NAME * "*" -``) lets nobody in and has none."""
    if entry.is_deny:
        return []
    names = None if rules is None else set(rules)
    wanted = [r for r in RULES if names is None or r.name in names]
    return [Issue(r.name, r.levels[facts.login], entry) for r in wanted
            if facts.login in r.levels and r.applies(entry, facts)]


def system_accounts(entries: Sequence[fmt.Entry], facts: Facts, locked: Callable[[str], bool]) -> list[Issue]:
    """System accounts (uid up to 999, password not locked) that pap-secrets lets dial in, at
    :data:`SYSTEM_ACCOUNT_LEVELS`. Lowest uid first."""
    level = SYSTEM_ACCOUNT_LEVELS.get(facts.login)
    if level is None or not facts.accounts:
        return []
    out = []
    for name, uid in sorted(facts.accounts.items(), key=lambda kv: kv[1]):
        if uid > SYSTEM_UID_MAX or locked(name):
            continue
        e = fmt.lookup(entries, name, None)
        if e is not None and not e.is_deny:
            out.append(Issue("system-account", level, e, name, uid))
    return out
