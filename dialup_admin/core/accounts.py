"""Dial-in accounts: the ppp group, the ppp/fax service users, adduser/deluser/passwd.

(``users``, the report, is core/accounts_report.py.)

Every change is a :class:`Plan`: shadow-utils commands (their databases snapshotted
through ``touches``, so a failed apply or ``dialup-admin rollback`` restores them) and
the pap-secrets write, in one transaction: account and entry change together or not
at all.

The pap-secrets rule: a dial-in user's entry is ``NAME * @login ADDRESS``.

Why ``@login`` (pppd 2.4.9, auth.c ``check_passwd``): after finding the entry,

* with the ``login`` option *or* when the secret is exactly ``@login``, pppd checks
  the password against the system database (``session_full``: PAM service ``ppp`` on
  Debian, else shadow) and refuses on mismatch;
* then, unless the secret is empty or ``@login``, the password must *also* equal the
  secret, or ``crypt(password, secret)`` must equal it.

So under mgetty's ``pppd ... login``:

* ``""`` works, but if ``login`` is ever dropped (an edited login.config, pppd run by
  hand) the empty secret accepts *any* password: an open door. Never written.
* the real password works too, but puts a second copy of every password in a file
  that must be kept in step, and drops back to a plain-text check without ``login``.
* ``*`` (or any string no password crypts to) refuses everyone: the deny secret.
* ``@login`` works exactly like ``""`` under ``login``, and *keeps* the system
  password check without it, because pppd tests the secret itself. The password
  lives only in /etc/shadow; ``passwd`` changes it in one place; pap-secrets holds
  nothing worth stealing. This is the rule.

Static addresses (auth.c ``set_allowed_addrs``): when the entry's address list holds
exactly one host address and the remote address from options.ttyS1 (``local:remote``)
is not among the allowed ones, pppd replaces the remote address with that host and,
the list having one element, insists on it. So ``adduser --ip`` needs no change in
options.ttyX, as long as it has no ``ipcp-accept-remote``. Users without ``--ip``
get ``*``: pppd still insists on the line's remote address from options.ttyX.

Deny lines: system accounts (uid below UID_MIN, Debian's stock names, and the ppp/fax
service users unless given a password) get ``NAME * "*" -`` like Debian's stock file,
so a wildcard line an admin keeps elsewhere can never let them in.
"""

from __future__ import annotations

import ipaddress
import re
import secrets as random_secrets
from dataclasses import dataclass, field

from dialup_admin.core.plan import Plan, RunCommand
from dialup_admin.core.state import load_server
from dialup_admin.errors import BadInput, UserError
from dialup_admin.formats import managed
from dialup_admin.formats import secrets as fmt
from dialup_admin.model import Server, ipv4
from dialup_admin.paths import CHAP_SECRETS, PAP_SECRETS, Paths
from dialup_admin.system import accounts as sysacc
from dialup_admin.system import reading

BLOCK = "accounts"  # our block in pap-secrets: setup-server adds it empty, adduser fills it
PAP, CHAP = PAP_SECRETS, CHAP_SECRETS
PPP_GROUP = "ppp"
PPP_USER = "ppp"
FAX_USER = "fax"
SERVICE_USERS = (PPP_USER, FAX_USER)
RESERVED = frozenset({"root", PPP_USER, FAX_USER})
DEBIAN_DENY = ("guest", "master", "root", "support", "stats")  # Debian's stock pap-secrets
DIALIN_HOME = "/nonexistent"  # dial-in users get no home: "nothing else"
MIN_PASSWORD = 8
MAX_PASSWORD = 255  # a PAP password is at most 255 bytes (one length octet)
MAX_NAME = 32  # shadow-utils' limit (utmp ut_user)
_NAME_RE = re.compile(r"^[a-z_][a-z0-9_.-]*$")
_GEN_ALPHABET = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/l/I


# --- validation ----------------------------------------------------------------

def username(value: str) -> str:
    """A name shadow-utils accepts everywhere and pppd reads as one plain word."""
    if value == "":
        raise BadInput("empty user name")
    if value.startswith("-"):
        raise BadInput(f"bad user name {value!r}: it must not start with '-'")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise BadInput(f"bad user name {value!r}: control characters are not allowed")
    if value.isdigit():
        raise BadInput(f"bad user name {value!r}: it must not be all digits (it would read as a uid)")
    if len(value) > MAX_NAME:
        raise BadInput(f"bad user name {value!r}: at most {MAX_NAME} characters")
    if not _NAME_RE.match(value):
        raise BadInput(
            f"bad user name {value!r}: use lowercase letters, digits, '_', '.' and '-', starting with a letter or '_'"
        )
    return value


def check_password(password: str, name: str, allow_weak: bool) -> None:
    """Refuse passwords pppd cannot check or that are too easy to guess.

    pppd copies the PAP password with ``%.*v`` before checking it, which rewrites
    control and non-ASCII bytes (``^A``, ``M-x``): such a password could never match,
    so only printable ASCII is taken. Those limits hold even with ``allow_weak``.
    """
    if any(c in password for c in "\n\r\0"):
        raise BadInput("bad password: it contains a line break or NUL")
    if any(not (0x20 <= ord(c) < 0x7F) for c in password):
        raise BadInput("bad password: use printable ASCII only (pppd mangles other bytes in PAP passwords)")
    if len(password) > MAX_PASSWORD:
        raise BadInput(f"bad password: PAP carries at most {MAX_PASSWORD} characters")
    if password == "":
        raise BadInput("empty password")
    if password.strip(" ") == "":
        raise BadInput("bad password: it is only spaces")
    if allow_weak:
        return
    if password.lower() == name.lower():
        raise BadInput("weak password: it is the user name (use --allow-weak to insist)")
    if len(password) < MIN_PASSWORD:
        raise BadInput(f"weak password: shorter than {MIN_PASSWORD} characters (use --allow-weak to insist)")


def generate_password(length: int = 16) -> str:
    """A random password easy to type on an old machine's keyboard (no look-alike characters)."""
    return "".join(random_secrets.choice(_GEN_ALPHABET) for _ in range(length))


# --- what is there now --------------------------------------------------------

@dataclass
class Accounts:
    """The target's accounts and pap-secrets, read once for a command."""

    paths: Paths
    users: dict[str, sysacc.PasswdEntry]
    groups: dict[str, sysacc.GroupEntry]
    pap_data: bytes
    pap: fmt.Parsed
    managed_entries: list[fmt.Entry]  # the entries of our block
    outside: list[fmt.Entry]  # the admin's entries
    uid_min: int
    server: Server | None

    @property
    def ppp_gid(self) -> int | None:
        g = self.groups.get(PPP_GROUP)
        return g.gid if g else None

    def is_dialin(self, name: str) -> bool:
        u = self.users.get(name)
        return u is not None and u.gid == self.ppp_gid

    def managed_user(self, name: str) -> fmt.Entry | None:
        for e in self.managed_entries:
            if e.client == name and not e.is_deny:
                return e
        return None

    def hand_written(self, name: str) -> list[fmt.Entry]:
        return [e for e in self.outside if e.client == name]


def load(paths: Paths) -> Accounts:
    """Read passwd, group, pap-secrets (and server.json if any) below the root."""
    data = read_file(paths, PAP)
    split = managed.split(data, PAP, name=BLOCK)
    body = split.body or b""
    parsed = fmt.parse(data)
    ours = fmt.parse(body).entries
    # Line numbers of the admin's entries, from the whole file; ours are those inside the block.
    begin_line = split.before.count(b"\n") + 1
    end_line = begin_line + body.count(b"\n") + 1
    outside = [e for e in parsed.entries if not (split.body is not None and begin_line < e.line < end_line)]
    return Accounts(
        paths=paths,
        users={u.name: u for u in sysacc.read_passwd(paths)},
        groups={g.name: g for g in sysacc.read_group(paths)},
        pap_data=data,
        pap=parsed,
        managed_entries=ours,
        outside=outside,
        uid_min=sysacc.uid_min(paths),
        server=load_server(paths),
    )


def read_file(paths: Paths, system_path: str) -> bytes:
    """The file at ``system_path`` below the root, empty when it is not there."""
    return reading.read_or_empty(paths.of(system_path))


def static_addresses(paths: Paths) -> set[ipaddress.IPv4Address]:
    """Single-host addresses pap-secrets gives to users: setup-server must not hand them to a line."""
    out = set()
    for e in fmt.parse(read_file(paths, PAP)).entries:
        for a in e.addresses:
            try:
                out.add(ipaddress.IPv4Address(a.removesuffix("/32")))
            except ValueError:
                continue
    return out


def statics_outside(paths: Paths, net: ipaddress.IPv4Network) -> list[str]:
    """Notes for users whose static address (pap-secrets) lies outside the pool ``net``."""
    out = []
    for e in fmt.parse(read_file(paths, PAP)).entries:
        for a in e.addresses:
            try:
                addr = ipaddress.IPv4Address(a.removesuffix("/32"))
            except ValueError:
                continue
            if addr not in net:
                out.append(f"{PAP} line {e.line}: {e.client}'s static address {addr} is outside the pool {net} "
                           f"(pppd still gives it out): dialup-admin adduser {e.client} --force --ip ADDR moves it")
    return out


def _require_database(acc: Accounts) -> None:
    sysacc.confine(acc.paths)
    if not sysacc.has_database(acc.paths):
        where = "" if acc.paths.is_host else f" below {acc.paths.root}"
        raise UserError(f"no /etc/passwd and /etc/group{where}: the accounts database is missing")
    if acc.ppp_gid is None:
        raise UserError(f"group {PPP_GROUP} does not exist: run dialup-admin setup-server first")


def _require_shadow(acc: Accounts) -> None:
    """chpasswd puts the hash in /etc/passwd (readable by everyone) when there is no shadow file."""
    if not sysacc.has_shadow(acc.paths):
        where = "" if acc.paths.is_host else f" below {acc.paths.root}"
        prefix = "" if acc.paths.is_host else f" --root {acc.paths.root}"
        raise UserError(f"no /etc/shadow{where}: the password hash would land in /etc/passwd, which everyone can "
                        f"read; create it first with: pwconv{prefix}")


# --- the pap-secrets block ----------------------------------------------------

def deny_names(acc: Accounts, users: list[fmt.Entry]) -> list[str]:
    """Accounts that must never dial in: system ones, Debian's stock list, idle service users."""
    allowed = {e.client for e in users}
    names = set(DEBIAN_DENY)
    names.update(u.name for u in acc.users.values() if u.uid < acc.uid_min)
    names.update(n for n in SERVICE_USERS if n in acc.users)
    return sorted(n for n in names - allowed if _writable_name(n))


def _writable_name(name: str) -> bool:
    try:
        fmt.check_name(name)
    except BadInput:
        return False
    return name != fmt.WILD


def render_block(users: list[fmt.Entry], deny: list[str]) -> bytes:
    """The block body: dial-in users, then deny lines."""
    out = []
    if users:
        # No quote characters in our comments: after an admin's unclosed quote they would pair up oddly.
        out.append("# dial-in users: the secret @login makes pppd check the system password (dialup-admin passwd)\n")
        out.append(fmt.format_entries(sorted(users, key=lambda e: e.client)))
    if deny:
        out.append("# accounts that never dial in (as in Debian's stock pap-secrets)\n")
        out.append(fmt.format_entries(fmt.Entry(n, fmt.WILD, fmt.DENY_SECRET, ("-",)) for n in deny))
    return "".join(out).encode()


def user_entry(name: str, ip: ipaddress.IPv4Address | None) -> fmt.Entry:
    return fmt.Entry(name, fmt.WILD, fmt.LOGIN_SECRET, (str(ip) if ip else fmt.WILD,))


def plan_pap(plan: Plan, acc: Accounts, users: list[fmt.Entry], force: bool = False) -> bool:
    """Plan pap-secrets with our block holding ``users`` (+ deny lines); the rest untouched.

    The merged file is read back with pppd's rules before anything is planned: if the
    admin's part leaves a quote open, pppd would not see our entries as written, and
    the change is refused.
    """
    body = render_block(users, deny_names(acc, users))
    want = fmt.parse(body).entries

    def readable(new: bytes) -> None:
        if not _contains(fmt.parse(new).entries, want):
            raise UserError(
                f"{PAP}: pppd would not read the dialup-admin block as written (a quote left open or a "
                "line continued with '\\' just before it?); fix the file by hand and rerun"
            )

    return plan.block(PAP, BLOCK, body, force=force, mode=0o600, redact=fmt.redact_line, header=fmt.PAP_HEADER,
                      check=readable)


def plan_pap_file(plan: Plan, force: bool = False) -> None:
    """Make sure pap-secrets exists, 0600, with our block (empty when new); never touch the entries in it."""
    plan.block(PAP, BLOCK, None, force=force, mode=0o600, redact=fmt.redact_line, header=fmt.PAP_HEADER)


def _contains(got: list[fmt.Entry], want: list[fmt.Entry]) -> bool:
    k = 0
    for e in got:
        if k < len(want) and e.same(want[k]):
            k += 1
    return k == len(want)


def current_users(acc: Accounts) -> list[fmt.Entry]:
    return [e for e in acc.managed_entries if not e.is_deny]


# --- adduser / passwd / deluser -----------------------------------------------

@dataclass(frozen=True)
class AddUser:
    """A checked adduser request, waiting for its password."""

    name: str
    ip: ipaddress.IPv4Address | None
    uid: int | None
    exists: bool
    acc: Accounts = field(compare=False)


def _reserved(acc: Accounts, name: str, action: str) -> None:
    if name in RESERVED:
        hint = f"; to let it dial in, give it a password: dialup-admin passwd {name}" if name in SERVICE_USERS else ""
        raise BadInput(f"{name} is reserved (a system or service account), not {action}{hint}")
    u = acc.users.get(name)
    if u is not None and u.uid < acc.uid_min:
        raise BadInput(f"{name} is a system account (uid {u.uid}); dial-in users are ordinary accounts")


def prepare_adduser(paths: Paths, name: str, ip: str | None, uid: int | None, force: bool) -> AddUser:
    """Check everything about an adduser request but the password; change nothing."""
    username(name)
    acc = load(paths)
    _require_database(acc)
    _require_shadow(acc)
    _reserved(acc, name, "for adduser")
    existing = acc.users.get(name)
    if existing is not None:
        if not force:
            raise BadInput(f"user {name} already exists (use --force to set its password and entry again)")
        if existing.gid != acc.ppp_gid:
            raise UserError(f"{name} is an existing account outside group {PPP_GROUP}; dialup-admin will not "
                            "turn it into a dial-in account")
    if uid is not None:
        if not 1 <= uid < 2**31 - 1:
            raise BadInput(f"bad uid {uid}")
        if uid < acc.uid_min:
            raise BadInput(f"uid {uid} is in the system range (below UID_MIN {acc.uid_min})")
        taken = [u.name for u in acc.users.values() if u.uid == uid and u.name != name]
        if taken:
            raise BadInput(f"uid {uid} is already used by {taken[0]}")
    hand = acc.hand_written(name)
    if hand:
        raise UserError(f"{PAP} line {hand[0].line} already has an entry for {name}, written by hand; "
                        "remove it first (dialup-admin leaves lines outside its block alone)")
    if acc.managed_user(name) is not None and existing is None and not force:
        raise BadInput(f"{PAP} already has an entry for {name} without an account (use --force)")
    addr = static_ip(acc, name, ip) if ip is not None else None
    return AddUser(name, addr, uid, existing is not None, acc)


def static_ip(acc: Accounts, name: str, value: str) -> ipaddress.IPv4Address:
    """A static address for ``name``: in the pool, not a line's, not another entry's."""
    addr = ipv4(value, "--ip address")
    server = acc.server
    if server is None:
        raise UserError("no server is set up here yet (no pool to check --ip against): run setup-server first")
    net = server.pool
    if addr not in net:
        raise BadInput(f"--ip {addr} is outside the pool {net}")
    if addr in (net.network_address, net.broadcast_address):
        raise BadInput(f"--ip {addr} is the pool's network or broadcast address")
    for ln in server.lines:
        if addr in (ln.local, ln.remote):
            raise BadInput(f"--ip {addr} is {ln.tty}'s {'local' if addr == ln.local else 'remote'} address")
    for e in acc.pap.entries:
        if e.client != name and str(addr) in e.addresses:
            raise BadInput(f"--ip {addr} is already given to {e.client} ({PAP} line {e.line})")
    return addr


def plan_adduser(req: AddUser, password: str) -> Plan:
    """Plan: the account (useradd, or usermod with --force), its password, its entry."""
    acc, paths = req.acc, req.acc.paths
    plan = Plan(paths, f"adduser {req.name}")
    if not req.exists:
        plan.command(RunCommand(
            sysacc.useradd_argv(paths, req.name, uid=req.uid, group=PPP_GROUP, home=DIALIN_HOME, create_home=False),
            f"dial-in account {req.name}: group {PPP_GROUP}, no shell, no home", touches=sysacc.TOUCHES))
    else:
        u = acc.users[req.name]
        if u.shell != sysacc.NO_SHELL:
            plan.command(RunCommand(sysacc.usermod_argv(paths, req.name, group=PPP_GROUP),
                                    "no shell for a dial-in account", touches=sysacc.TOUCHES))
    _plan_password(plan, req.name, password)
    entry = user_entry(req.name, req.ip)
    before = acc.managed_user(req.name)
    if req.ip is None and before is not None:
        entry = fmt.Entry(entry.client, entry.server, entry.secret, before.addresses)  # --force keeps the address
    users = [e for e in current_users(acc) if e.client != req.name] + [entry]
    plan_pap(plan, acc, users)
    plan.notes.extend(wildcard_warnings(acc))
    return plan


def wildcard_warnings(acc: Accounts) -> list[str]:
    """The admin's ``* SERVER "" ...`` lines (Debian's stock file has one): worth a word."""
    return [f'{PAP} line {e.line}: the wildcard entry * {e.server} "" lets every account with a password dial in '
            f'(anyone, if pppd loses its "login" option); consider removing it'
            for e in acc.outside if e.client == fmt.WILD and e.secret == "" and not e.is_deny]


def _plan_password(plan: Plan, name: str, password: str) -> None:
    plan.command(RunCommand(sysacc.chpasswd_argv(plan.paths), f"set {name}'s password (given on stdin)",
                            stdin=sysacc.chpasswd_stdin(name, password), touches=sysacc.TOUCHES))


def prepare_passwd(paths: Paths, name: str) -> Accounts:
    username(name)
    acc = load(paths)
    _require_database(acc)
    _require_shadow(acc)
    if name == "root":
        raise BadInput("root never dials in; use the system's passwd for root")
    u = acc.users.get(name)
    if u is None:
        raise UserError(f"no user {name}" + (f" (but {PAP} has an entry: dialup-admin deluser {name} removes it)"
                                              if acc.managed_user(name) else ""))
    if u.gid != acc.ppp_gid:
        raise UserError(f"{name} is not a dial-in user (its primary group is not {PPP_GROUP})")
    return acc


def plan_passwd(acc: Accounts, name: str, password: str) -> Plan:
    """Plan: the new password, and the entry if it was missing (account and entry in step)."""
    plan = Plan(acc.paths, f"passwd {name}")
    _plan_password(plan, name, password)
    if acc.managed_user(name) is None and not acc.hand_written(name):
        plan_pap(plan, acc, current_users(acc) + [user_entry(name, None)])
    elif acc.hand_written(name):
        line = acc.hand_written(name)[0].line
        plan.notes.append(f"{PAP} line {line} has a hand-written entry for {name}; left as it is")
    return plan


def plan_deluser(paths: Paths, name: str) -> Plan:
    """Plan: the entry out of the block, then userdel; both or neither."""
    username(name)
    acc = load(paths)
    _require_database(acc)
    _reserved(acc, name, "for deluser")
    u = acc.users.get(name)
    entry = acc.managed_user(name)
    if u is None and entry is None:
        raise UserError(f"no user {name} (neither an account nor a dialup-admin entry in {PAP})")
    if u is not None and u.gid != acc.ppp_gid:
        raise UserError(f"{name} is not a dial-in user (its primary group is not {PPP_GROUP}); not removing it")
    plan = Plan(paths, f"deluser {name}")
    if entry is not None:
        plan_pap(plan, acc, [e for e in current_users(acc) if e.client != name])
    if u is not None:
        plan.command(RunCommand(sysacc.userdel_argv(paths, name), f"remove the account {name}",
                                touches=sysacc.TOUCHES))
    for e in acc.hand_written(name):
        plan.notes.append(f"{PAP} line {e.line} still has a hand-written entry for {name}; remove it yourself")
    for e in fmt.parse(read_file(paths, CHAP)).entries:
        if e.client == name:
            plan.notes.append(f"{CHAP} line {e.line} still has an entry for {name}; remove it yourself")
    return plan


# --- setup-server: the guide's group and service users ----------------------------

@dataclass(frozen=True)
class ServiceAccounts:
    """The guide's ``groupadd -g 3000 ppp`` and its ppp (3000) and fax (3001) users."""

    ppp_gid: int = 3000
    ppp_uid: int = 3000
    fax_uid: int = 3001
    shell: str = sysacc.NO_SHELL


def plan_service_accounts(plan: Plan, spec: ServiceAccounts) -> None:
    """Add to ``plan`` the groupadd/useradd commands still missing; adopt what exists.

    An existing ``ppp`` group or ``ppp``/``fax`` user with other ids (Fedora's fax is
    uid 78) is adopted as it is and said so in a note; a wanted id taken by another
    name stops the plan. Homes are created by ``useradd -m`` (the guide's way) only
    when absent; they are not journaled: a rollback removes the accounts from the
    databases and leaves /home/ppp and /home/fax, as ``userdel`` without ``-r`` does.
    """
    paths = plan.paths
    sysacc.confine(paths)
    if not sysacc.has_database(paths):
        plan.notes.append(f"no /etc/passwd and /etc/group below {paths.root}: group {PPP_GROUP} and users "
                          f"{PPP_USER}/{FAX_USER} not created")
        return
    if spec.ppp_uid == spec.fax_uid:
        raise BadInput(f"the ppp and fax users cannot share uid {spec.ppp_uid}")
    users = {u.name: u for u in sysacc.read_passwd(paths)}
    groups = {g.name: g for g in sysacc.read_group(paths)}
    group = groups.get(PPP_GROUP)
    if group is not None:
        if group.gid != spec.ppp_gid:
            plan.notes.append(f"group {PPP_GROUP} already exists with gid {group.gid} (not {spec.ppp_gid}): using it")
    else:
        other = [g.name for g in groups.values() if g.gid == spec.ppp_gid]
        if other:
            raise UserError(f"gid {spec.ppp_gid} is already used by group {other[0]}: choose another with --ppp-gid")
        plan.command(RunCommand(sysacc.groupadd_argv(paths, PPP_GROUP, spec.ppp_gid), "the guide's ppp group",
                                touches=sysacc.TOUCHES))
    ppp_gid = group.gid if group is not None else spec.ppp_gid
    for name, uid, flag in ((PPP_USER, spec.ppp_uid, "--ppp-uid"), (FAX_USER, spec.fax_uid, "--fax-uid")):
        u = users.get(name)
        if u is not None:
            if u.uid != uid:
                plan.notes.append(f"user {name} already exists with uid {u.uid} (not {uid}): using it")
            if u.gid != ppp_gid:
                plan.notes.append(f"user {name}'s primary group is gid {u.gid}, not {PPP_GROUP}; left as it is")
            continue
        other = [x.name for x in users.values() if x.uid == uid]
        if other:
            raise UserError(f"uid {uid} is already used by user {other[0]}: choose another with {flag}")
        home = f"/home/{name}"
        create = not paths.of(home).exists()
        if not create:
            plan.notes.append(f"{home} already exists: useradd leaves it as it is")
        plan.command(RunCommand(
            sysacc.useradd_argv(paths, name, uid=uid, group=PPP_GROUP, home=home, create_home=create, shell=spec.shell),
            f"the guide's {name} user", touches=sysacc.TOUCHES))
