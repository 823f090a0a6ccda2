"""System accounts through shadow-utils: reading the databases, the commands that change them.

Nothing here edits /etc/passwd by hand: changes are ``groupadd``/``useradd``/
``usermod``/``userdel`` (with ``--prefix ROOT`` when the tool acts on a tree) and
``chpasswd`` with ``user:password`` on stdin only. This module builds their argv;
the plan runs them, snapshotting :data:`TOUCHES` first so a rollback restores the
databases. Reading the databases below the root is plain file parsing (the target's
files, not this machine's NSS).

Facts (Debian 12, shadow 4.13): ``chpasswd`` has no ``--prefix``; ``chpasswd --root
DIR`` chroots and fails in a bare tree (``pam_start failure 26``) unless a crypt
method is named, so it is ``chpasswd -c SHA512 --root DIR``; with ``-c`` it does not
go through PAM on the host either, so the hash is SHA-512 whatever PAM is set to.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from dialup_admin.errors import UserError
from dialup_admin.paths import Paths
from dialup_admin.system import reading

# What shadow-utils may rewrite; the plan snapshots these before running a command,
# so rollback puts back the databases and their "-" backups exactly.
TOUCHES: tuple[str, ...] = (
    "/etc/passwd",
    "/etc/shadow",
    "/etc/group",
    "/etc/gshadow",
    "/etc/passwd-",
    "/etc/shadow-",
    "/etc/group-",
    "/etc/gshadow-",
    "/etc/subuid",
    "/etc/subgid",
    "/etc/subuid-",
    "/etc/subgid-",
)
# What useradd/userdel --prefix also read or create below the root.
PREFIX_READS: tuple[str, ...] = ("/etc/login.defs", "/etc/default/useradd", "/etc/skel", "/home", "/var/mail",
                                 "/var/spool/mail")
CRYPT_METHOD = "SHA512"
NO_SHELL = "/bin/false"


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


def _rows(paths: Paths, system_path: str, fields: int) -> list[list[str]]:
    rows = []
    for line in reading.read_or_empty(paths.of(system_path)).decode(errors="replace").splitlines():
        if not line or line.startswith(("#", "+", "-")):
            continue  # NIS compat lines are not local accounts
        parts = line.split(":")
        if len(parts) >= fields:
            rows.append(parts)
    return rows


def has_database(paths: Paths) -> bool:
    """Whether the target has a password database shadow-utils can work on."""
    return paths.of("/etc/passwd").is_file() and paths.of("/etc/group").is_file()


def has_shadow(paths: Paths) -> bool:
    """Whether the target keeps password hashes in /etc/shadow (a regular file)."""
    return reading.is_regular(paths.of("/etc/shadow"))


def read_passwd(paths: Paths) -> list[PasswdEntry]:
    """The target's /etc/passwd (malformed lines skipped)."""
    out = []
    for p in _rows(paths, "/etc/passwd", 7):
        try:
            out.append(PasswdEntry(p[0], int(p[2]), int(p[3]), p[4], p[5], p[6]))
        except ValueError:
            continue
    return out


def read_group(paths: Paths) -> list[GroupEntry]:
    """The target's /etc/group."""
    out = []
    for p in _rows(paths, "/etc/group", 4):
        try:
            out.append(GroupEntry(p[0], int(p[2]), tuple(m for m in p[3].split(",") if m)))
        except ValueError:
            continue
    return out


def read_shadow_status(paths: Paths) -> dict[str, str]:
    """name -> "set" | "locked" | "empty" from the target's /etc/shadow (never the hash itself)."""
    out: dict[str, str] = {}
    try:
        rows = _rows(paths, "/etc/shadow", 2)
    except PermissionError:
        return out  # not root: the state stays "unknown"
    for p in rows:
        h = p[1]
        out[p[0]] = "empty" if h == "" else "locked" if h.startswith(("!", "*")) else "set"
    return out


def login_defs(paths: Paths) -> dict[str, str]:
    """Settings of the target's /etc/login.defs (UID_MIN...)."""
    out: dict[str, str] = {}
    for line in reading.read_or_empty(paths.of("/etc/login.defs")).decode(errors="replace").splitlines():
        parts = line.split()
        if len(parts) >= 2 and not parts[0].startswith("#"):
            out[parts[0]] = parts[1]
    return out


def uid_min(paths: Paths) -> int:
    try:
        return int(login_defs(paths).get("UID_MIN", "1000"))
    except ValueError:
        return 1000


def confine(paths: Paths) -> None:
    """Refuse a ``--root`` tree where shadow-utils would leave the tree.

    ``useradd --prefix ROOT`` opens ``ROOT/etc/passwd`` the host's way: an absolute link
    (``ROOT/etc -> /etc``) or one climbing out with ``..`` would make it change this
    machine's accounts. The tool itself reads the tree with chroot semantics; where the
    two views differ, the account commands are not run at all.
    """
    if paths.is_host:
        return
    for sp in (*TOUCHES, *PREFIX_READS):
        host_view = os.path.realpath(paths.root.joinpath(sp.lstrip("/")))
        tree_view = os.path.realpath(paths.of(sp))
        if host_view != tree_view:
            raise UserError(
                f"{paths.root}{sp} leads out of the --root tree through a symbolic link (to {host_view}); "
                "shadow-utils would follow it onto this machine: make the link relative and inside the tree"
            )


def _prefix(paths: Paths) -> list[str]:
    return [] if paths.is_host else ["--prefix", str(paths.root)]


def groupadd_argv(paths: Paths, name: str, gid: int) -> tuple[str, ...]:
    return ("groupadd", *_prefix(paths), "-g", str(gid), name)


def useradd_argv(paths: Paths, name: str, *, uid: int | None, group: str, home: str, create_home: bool,
                 shell: str = NO_SHELL) -> tuple[str, ...]:
    argv = ["useradd", *_prefix(paths), "-d", home, "-m" if create_home else "-M", "-g", group, "-s", shell]
    if uid is not None:
        argv += ["-u", str(uid)]
    return (*argv, name)


def usermod_argv(paths: Paths, name: str, *, group: str, shell: str = NO_SHELL) -> tuple[str, ...]:
    return ("usermod", *_prefix(paths), "-g", group, "-s", shell, name)


def userdel_argv(paths: Paths, name: str) -> tuple[str, ...]:
    # No -r: a home directory (none for dial-in users) and mail spool are left alone.
    return ("userdel", *_prefix(paths), name)


def chpasswd_argv(paths: Paths) -> tuple[str, ...]:
    """chpasswd reading ``user:password`` lines on stdin; the password is never an argument."""
    if paths.is_host:
        return ("chpasswd", "-c", CRYPT_METHOD)
    return ("chpasswd", "-c", CRYPT_METHOD, "--root", str(paths.root))


def chpasswd_stdin(name: str, password: str) -> bytes:
    return f"{name}:{password}\n".encode()
