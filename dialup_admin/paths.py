"""One root for every path the tool reads or writes.

``Paths(root)`` maps the absolute paths of a running system (``/etc/ppp/options``)
onto a tree below ``root``. With the default root ``/`` they are the machine's own
files; with ``--root DIR`` the whole tool acts on an image or a test tree, the way
``useradd --prefix`` does.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from dialup_admin.errors import BadInput, UserError

STATE_DIR = "/var/lib/dialup-admin"
CONFIG_DIR = "/etc/dialup-admin"
MAX_LINKS = 40  # as the kernel's ELOOP limit

# Files several parts of the tool name, as the target system names them: plans, messages
# and journals use these names; Paths.of finds them below the root.
PPP_OPTIONS = "/etc/ppp/options"
PAP_SECRETS = "/etc/ppp/pap-secrets"
CHAP_SECRETS = "/etc/ppp/chap-secrets"
INITTAB = "/etc/inittab"
SYSTEMD_DIR = "/etc/systemd/system"  # the admin's units and the targets' .wants links
LOCK_DIR = "/var/lock"
SERVER_STATE = f"{CONFIG_DIR}/server.json"  # the desired state: what setup-server set up
CLIENT_STATE = f"{CONFIG_DIR}/client.json"
RADIUS_STATE = f"{CONFIG_DIR}/radius.json"


def tty_options(tty: str) -> str:
    """pppd's options file for one port (``/etc/ppp/options.ttyS1``)."""
    return f"{PPP_OPTIONS}.{tty}"


@dataclass(frozen=True)
class Paths:
    root: Path = Path("/")

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root).resolve())

    @property
    def is_host(self) -> bool:
        """True when the tool acts on the running machine rather than a tree."""
        return self.root == Path("/")

    def of(self, system_path: str | PurePosixPath) -> Path:
        """The real location of ``system_path`` (an absolute path as the target system sees it).

        Under ``--root`` every symbolic link on the way, the last one included, is followed
        the way the target would see it (chroot semantics): an absolute link target starts
        again at the root and ``..`` never climbs above it, so the result always lies
        inside the root. On the machine itself (root ``/``) the path is returned as it is.
        """
        return self._resolve(system_path, follow_last=True)

    def node(self, system_path: str | PurePosixPath) -> Path:
        """Like :meth:`of`, but the last component is not followed: the directory entry itself.

        What atomic writes, removals and managed symlinks act on (a link is replaced, never
        written through).
        """
        return self._resolve(system_path, follow_last=False)

    def _resolve(self, system_path: str | PurePosixPath, follow_last: bool) -> Path:
        sp = PurePosixPath(system_path)
        if not sp.is_absolute():
            raise BadInput(f"not an absolute path: {str(system_path)!r}")
        if ".." in sp.parts:
            raise BadInput(f"a path must not contain '..': {str(system_path)!r}")
        if self.is_host:
            return self.root.joinpath(*sp.parts[1:]) if sp.parts[1:] else self.root
        todo = list(reversed(sp.parts[1:]))
        done: list[str] = []
        hops = 0
        while todo:
            name = todo.pop()
            if name in ("", "."):
                continue
            if name == "..":
                if done:
                    done.pop()
                continue
            here = self.root.joinpath(*done, name)
            if not todo and not follow_last:
                done.append(name)
                break
            try:
                st = os.lstat(here)
            except OSError:  # missing (or not a directory): nothing further can be a link
                done.append(name)
                continue
            if not stat.S_ISLNK(st.st_mode):
                done.append(name)
                continue
            hops += 1
            if hops > MAX_LINKS:
                raise UserError(f"{self.root}{sp}: too many levels of symbolic links below --root")
            target = os.readlink(here)
            if target.startswith("/"):
                done = []
            todo.extend(reversed([p for p in target.split("/") if p]))
        return self.root.joinpath(*done)

    def system(self, real_path: Path) -> str:
        """The inverse of :meth:`of`: how the target system names ``real_path``."""
        rel = Path(real_path).relative_to(self.root).as_posix()
        return "/" if rel == "." else "/" + rel

    # --- well-known places -------------------------------------------------
    @property
    def pap_secrets(self) -> Path:
        return self.of(PAP_SECRETS)

    @property
    def inittab(self) -> Path:
        return self.of(INITTAB)

    @property
    def lock_dir(self) -> Path:
        """Where UUCP lock files live (``LCK..ttyS1``), as mgetty and pppd use it."""
        return self.of(LOCK_DIR)

    @property
    def state_dir(self) -> Path:
        """The tool's own state: apply journals for rollback, the run lock."""
        return self.of(STATE_DIR)

    @property
    def server_state(self) -> Path:
        """The tool's record of the server it set up (setup-server writes it)."""
        return self.of(SERVER_STATE)

    @property
    def client_state(self) -> Path:
        """The tool's record of the dial-out connections (setup-client writes it)."""
        return self.of(CLIENT_STATE)

    def dev(self, name: str) -> Path:
        """A device node such as ``ttyS1`` under /dev."""
        return self.of(f"/dev/{name}")
