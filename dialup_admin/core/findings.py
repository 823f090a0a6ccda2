"""What every doctor check takes and gives: a :class:`Target` in, :class:`Finding` s out.

The checks live in core/doctor.py, core/direct_doctor.py and core/radius_doctor.py;
this module is what they share, so none of them imports another's.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from dialup_admin.core.state import load_server_json
from dialup_admin.errors import UserError
from dialup_admin.formats import mgetty_conf, ppp_options
from dialup_admin.formats import passwd as passwd_fmt
from dialup_admin.formats import secrets as secrets_fmt
from dialup_admin.paths import PAP_SECRETS, PPP_OPTIONS, Paths
from dialup_admin.system.probe import Machine, Probe

OK, WARNING, ERROR = "ok", "warning", "error"
LEVELS = (OK, WARNING, ERROR)


@dataclass(frozen=True)
class Finding:
    check: str
    level: str
    message: str
    fix: str = ""

    def to_json(self) -> dict[str, str]:
        return asdict(self)


def ok(check: str, message: str) -> list[Finding]:
    return [Finding(check, OK, message)]


class Target(Machine):
    """The machine (files below the root, processes, kernel) and what setup-server recorded."""

    def __init__(self, paths: Paths, state: dict[str, Any] | None, probe: Probe | None = None) -> None:
        super().__init__(paths, probe)
        self.state = state

    @classmethod
    def load(cls, paths: Paths, probe: Probe | None = None) -> "Target":
        try:
            state = load_server_json(paths)
        except UserError as exc:
            state = {"_damaged": str(exc)}
        return cls(paths, state, probe)

    # --- recorded setup ------------------------------------------------------
    @property
    def lines(self) -> list[dict[str, str]]:
        if not self.state:
            return []
        return [d for d in self.state.get("lines", []) if isinstance(d, dict) and isinstance(d.get("tty"), str)]

    @property
    def ttys(self) -> list[str]:
        return [d["tty"] for d in self.lines]

    @property
    def mgetty_ttys(self) -> list[str]:
        """The lines mgetty answers (all but the direct ones)."""
        return [d["tty"] for d in self.lines if not d.get("direct")]

    @property
    def direct_ttys(self) -> list[str]:
        """The direct lines (no exchange), answered by dialup-admin answer."""
        return [d["tty"] for d in self.lines if d.get("direct")]

    @property
    def config_dir(self) -> str:
        return str((self.state or {}).get("mgetty_config_dir") or "/etc/mgetty")

    # --- the target's files, parsed --------------------------------------------
    def pap_entries(self) -> list[secrets_fmt.Entry] | None:
        data = self.read(PAP_SECRETS)
        return None if data is None else secrets_fmt.parse(data).entries

    def passwd(self) -> dict[str, int]:
        """Account name -> uid from the target's /etc/passwd."""
        text = (self.read("/etc/passwd") or b"").decode(errors="replace")
        return {e.name: e.uid for e in passwd_fmt.passwd(text)}

    def shadow_locked(self, name: str) -> bool:
        """Whether an account's password is locked (False when shadow does not list it)."""
        text = (self.read("/etc/shadow") or b"").decode(errors="replace")
        return passwd_fmt.shadow_status(text).get(name) == "locked"

    def login_in_effect(self) -> bool:
        """pppd's ``login`` option (PAP checked against the system password database)."""
        for words in mgetty_conf.autoppp_lines(self.read(f"{self.config_dir}/login.config") or b""):
            if "login" in words[3:]:
                return True
        return ["login"] in ppp_options.lines(self.read(PPP_OPTIONS) or b"")
