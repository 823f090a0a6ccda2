"""One root for every path the tool reads or writes.

``Paths(root)`` maps the absolute paths of a running system (``/etc/ppp/options``)
onto a tree below ``root``. With the default root ``/`` they are the machine's own
files; with ``--root DIR`` the whole tool acts on an image or a test tree, the way
``useradd --prefix`` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

STATE_DIR = "/var/lib/dialup-admin"
CONFIG_DIR = "/etc/dialup-admin"


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
        """The real location of ``system_path`` (an absolute path as the target system sees it)."""
        sp = PurePosixPath(system_path)
        if not sp.is_absolute():
            raise ValueError(f"system path must be absolute: {system_path}")
        if ".." in sp.parts:
            raise ValueError(f"system path must not contain '..': {system_path}")
        return self.root.joinpath(*sp.parts[1:]) if sp.parts[1:] else self.root

    def system(self, real_path: Path) -> str:
        """The inverse of :meth:`of`: how the target system names ``real_path``."""
        rel = Path(real_path).relative_to(self.root).as_posix()
        return "/" if rel == "." else "/" + rel

    # --- well-known places -------------------------------------------------
    @property
    def etc(self) -> Path:
        return self.of("/etc")

    @property
    def ppp_dir(self) -> Path:
        return self.of("/etc/ppp")

    @property
    def ppp_options(self) -> Path:
        return self.of("/etc/ppp/options")

    def ppp_options_tty(self, tty: str) -> Path:
        return self.of(f"/etc/ppp/options.{tty}")

    @property
    def pap_secrets(self) -> Path:
        return self.of("/etc/ppp/pap-secrets")

    @property
    def chap_secrets(self) -> Path:
        return self.of("/etc/ppp/chap-secrets")

    @property
    def peers_dir(self) -> Path:
        return self.of("/etc/ppp/peers")

    @property
    def inittab(self) -> Path:
        return self.of("/etc/inittab")

    @property
    def systemd_dir(self) -> Path:
        return self.of("/etc/systemd/system")

    @property
    def lock_dir(self) -> Path:
        """Where UUCP lock files live (``LCK..ttyS1``), as mgetty and pppd use it."""
        return self.of("/var/lock")

    @property
    def state_dir(self) -> Path:
        """The tool's own state: apply journals for rollback, the run lock."""
        return self.of(STATE_DIR)

    @property
    def config_dir(self) -> Path:
        """The tool's record of the desired state (server.json, client.json)."""
        return self.of(CONFIG_DIR)

    @property
    def server_state(self) -> Path:
        return self.of(f"{CONFIG_DIR}/server.json")

    @property
    def client_state(self) -> Path:
        return self.of(f"{CONFIG_DIR}/client.json")

    def dev(self, name: str) -> Path:
        """A device node such as ``ttyS1`` under /dev."""
        return self.of(f"/dev/{name}")
