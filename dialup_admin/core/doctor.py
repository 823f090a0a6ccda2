"""doctor: everything that stops a caller getting in, each finding with its one-line fix.

Every check is a function of a :class:`Target` (the tree below ``--root`` and what
setup-server recorded) returning :class:`Finding` s. Checks only read: files through
Paths, processes from the target's /proc, and (on the running machine only) what the
kernel says through ``nft``. Nothing is ever changed.

The kernel state a tree cannot hold (the loaded nftables table, a DNS answer) comes
from a :class:`Probe`; under ``--root`` it answers "not checked".
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import stat
import struct
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dialup_admin.core import sessions, sharing
from dialup_admin.core.state import load_server_json
from dialup_admin.errors import UserError
from dialup_admin.formats import inittab as inittab_fmt
from dialup_admin.formats import managed
from dialup_admin.formats import secrets as secrets_fmt
from dialup_admin.paths import Paths
from dialup_admin.system import mgetty as mgetty_sys
from dialup_admin.system import netinfo, nft, services
from dialup_admin.system.procs import Proc, processes
from dialup_admin.system import reading

OK, WARNING, ERROR = "ok", "warning", "error"
LEVELS = (OK, WARNING, ERROR)
EXIT = {OK: 0, WARNING: 1, ERROR: 2}
# A modem waits S7 seconds for carrier; mgetty must wait longer for CONNECT. Hayes default.
DEFAULT_S7 = 50
SYSTEM_UID_MAX = 999


@dataclass(frozen=True)
class Finding:
    check: str
    level: str
    message: str
    fix: str = ""

    def to_json(self) -> dict[str, str]:
        return asdict(self)


# --- what the checks look at ------------------------------------------------------


class Probe:
    """Kernel state beyond files. The real one asks this machine; None means "not checked"."""

    def __init__(self, paths: Paths) -> None:
        self.live = paths.is_host

    def nft_table(self) -> str | None:
        return nft.list_table() or "" if self.live else None

    def nft_ruleset(self) -> str | None:
        return nft.list_ruleset() if self.live else None

    def dns_answers(self, server: ipaddress.IPv4Address) -> bool | None:
        return dns_query(server) if self.live else None


def dns_query(server: ipaddress.IPv4Address, timeout: float = 2.0) -> bool:
    """Whether ``server`` answers a DNS query (for the root zone's NS) over UDP within ``timeout``."""
    query = struct.pack(">HHHHHH", 0x4441, 0x0100, 1, 0, 0, 0) + b"\x00" + struct.pack(">HH", 2, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.sendto(query, (str(server), 53))
            data = s.recv(512)
        except OSError:
            return False
    return len(data) >= 12 and data[:2] == query[:2]


@dataclass
class Target:
    paths: Paths
    state: dict[str, Any] | None
    probe: Probe
    procs: list[Proc] | None = None
    _cache: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, paths: Paths, probe: Probe | None = None) -> "Target":
        try:
            state = load_server_json(paths)
        except UserError as exc:
            state = {"_damaged": str(exc)}
        return cls(paths, state, probe or Probe(paths), processes(paths))

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

    def read(self, system_path: str) -> bytes | None:
        try:
            return reading.read_bytes(self.paths.of(system_path))
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None

    def find_program(self, system_path: str) -> Path | None:
        """A program on the target. A tree with no /usr/sbin of its own is an image being
        prepared on this host, which then supplies the programs (as setup-server assumes)."""
        wheres = [self.paths]
        if not self.paths.is_host and not self.paths.of("/usr/sbin").is_dir():
            wheres.append(Paths())
        for where in wheres:
            p = where.of(system_path)
            if p.is_file() and os.access(p, os.X_OK):
                return p
        return None

    def pap_entries(self) -> list[secrets_fmt.Entry] | None:
        data = self.read("/etc/ppp/pap-secrets")
        return None if data is None else secrets_fmt.parse(data).entries

    def passwd(self) -> dict[str, int]:
        """Account name -> uid from the target's /etc/passwd."""
        out: dict[str, int] = {}
        for line in (self.read("/etc/passwd") or b"").decode(errors="replace").splitlines():
            f = line.split(":")
            if len(f) >= 3 and f[2].isdigit():
                out[f[0]] = int(f[2])
        return out

    def shadow_locked(self, name: str) -> bool | None:
        """Whether an account's password is locked (None: unknown)."""
        for line in (self.read("/etc/shadow") or b"").decode(errors="replace").splitlines():
            f = line.split(":")
            if len(f) >= 2 and f[0] == name:
                return f[1].startswith(("!", "*"))
        return None

    def login_in_effect(self) -> bool:
        """pppd's ``login`` option (PAP checked against the system password database)."""
        for path in (f"{self.config_dir}/login.config",):
            for words in _autoppp_lines(self.read(path) or b""):
                if "login" in words[3:]:
                    return True
        return any(w == ["login"] for w in _option_lines(self.read("/etc/ppp/options") or b""))


def _autoppp_lines(data: bytes) -> list[list[str]]:
    out = []
    for line in data.decode(errors="replace").splitlines():
        words = line.split()
        if words and words[0] == "/AutoPPP/":
            out.append(words)
    return out


def _option_lines(data: bytes) -> list[list[str]]:
    return [line.split("#", 1)[0].split() for line in data.decode(errors="replace").splitlines()
            if line.split("#", 1)[0].strip()]


Check = Callable[[Target], list[Finding]]


def _ok(check: str, message: str) -> list[Finding]:
    return [Finding(check, OK, message)]


# --- kernel and programs --------------------------------------------------------------


def check_kernel_ppp(t: Target) -> list[Finding]:
    p = t.paths
    if not p.is_host and not p.of("/dev").is_dir():
        return _ok("kernel-ppp", "not checked: the tree has no /dev (checked on the running machine)")
    mods = list(p.of("/lib/modules").glob("*/kernel/drivers/net/ppp/ppp_generic.ko*")) \
        if p.of("/lib/modules").is_dir() else []
    if not p.of("/dev/ppp").exists():
        if p.of("/sys/module/ppp_generic").is_dir():
            return [Finding("kernel-ppp", ERROR, "ppp_generic is loaded but /dev/ppp is missing",
                            "mknod /dev/ppp c 108 0 && chmod 600 /dev/ppp")]
        if mods:
            return [Finding("kernel-ppp", ERROR, "no /dev/ppp: the PPP modules are not loaded",
                            "modprobe ppp_generic ppp_async (and add them to /etc/modules)")]
        return [Finding("kernel-ppp", ERROR, "this kernel has no PPP support (no /dev/ppp, no ppp_generic module)",
                        "boot a kernel built with CONFIG_PPP and CONFIG_PPP_ASYNC (Debian's linux-image has both)")]
    async_mods = list(p.of("/lib/modules").glob("*/kernel/drivers/net/ppp/ppp_async.ko*")) \
        if p.of("/lib/modules").is_dir() else []
    if not p.of("/sys/module/ppp_async").is_dir() and not async_mods:
        return [Finding("kernel-ppp", ERROR, "/dev/ppp is there but ppp_async (PPP over serial lines) is not",
                        "modprobe ppp_async, or use a kernel with CONFIG_PPP_ASYNC")]
    return _ok("kernel-ppp", "kernel PPP: /dev/ppp and ppp_async available")


def check_programs(t: Target) -> list[Finding]:
    out = []
    pppd = str((t.state or {}).get("pppd") or "/usr/sbin/pppd")
    if t.find_program(pppd) is None:
        out.append(Finding("pppd", ERROR, f"{pppd} is missing", "apt-get install ppp"))
    else:
        out.append(Finding("pppd", OK, f"{pppd} present"))
    if t.find_program("/usr/sbin/chat") is None:
        out.append(Finding("chat", WARNING, "/usr/sbin/chat is missing (needed to dial out and for test calls)",
                           "apt-get install ppp"))
    else:
        out.append(Finding("chat", OK, "/usr/sbin/chat present"))
    return out


def check_mgetty(t: Target) -> list[Finding]:
    if t.lines and not t.mgetty_ttys:
        return _ok("mgetty-autoppp", "only direct lines: mgetty is not needed")
    binary = str((t.state or {}).get("mgetty_binary") or "")
    candidates = [binary] if binary else list(mgetty_sys.CANDIDATES)
    for c in candidates:
        real = t.find_program(c)
        if real is None:
            continue
        layout = mgetty_sys.inspect_binary(reading.read_bytes(real), c)
        if not layout.auto_ppp:
            return [Finding("mgetty-autoppp", ERROR, f"{c} was built without AUTO_PPP: PPP callers get login:",
                            "dialup-admin build-mgetty, then setup-server --mgetty /usr/local/sbin/mgetty")]
        return _ok("mgetty-autoppp", f"{c} has AUTO_PPP")
    what = binary or "mgetty"
    return [Finding("mgetty-autoppp", ERROR, f"{what} is not installed",
                    "apt-get install mgetty, or dialup-admin build-mgetty")]


# --- files setup-server rendered ---------------------------------------------------


def _mode_owner(t: Target, check: str, system_path: str, mode: int | None, strict: bool = True) -> list[Finding]:
    """Owner root, not writable by others along the whole path; ``mode`` exactly when given."""
    real = t.paths.of(system_path)
    st = real.stat()
    have = stat.S_IMODE(st.st_mode)
    level = ERROR if strict else WARNING
    if mode is not None and have != mode:
        return [Finding(check, level, f"{system_path} has mode {have:04o}, not {mode:04o}",
                        f"chmod {mode:04o} {system_path}")]
    if st.st_uid != 0 or (mode is not None and st.st_gid != 0):
        return [Finding(check, level, f"{system_path} is not owned by root:root",
                        f"chown root:root {system_path}")]
    # pppd >= 2.5 refuses option and secrets files on a path others can write.
    parts = Path(system_path).parts
    for i in range(1, len(parts) + 1):
        sp = "/" + "/".join(parts[1:i]) if i > 1 else "/"
        if sp == "/" and not t.paths.is_host:
            continue
        s = t.paths.of(sp).stat()
        if s.st_mode & 0o022 and not (stat.S_ISDIR(s.st_mode) and s.st_mode & stat.S_ISVTX):
            return [Finding("writable-path", level, f"{sp} is writable by group or others (pppd refuses such paths)",
                            f"chmod go-w {sp}")]
    return []


def _file(t: Target, check: str, system_path: str, mode: int | None = None, *,
          why_missing: str = "rerun dialup-admin setup-server") -> tuple[bytes | None, list[Finding]]:
    data = t.read(system_path)
    if data is None:
        return None, [Finding(check, ERROR, f"{system_path} is missing", why_missing)]
    return data, _mode_owner(t, check, system_path, mode)


def _block_state(check: str, system_path: str, data: bytes, name: str) -> list[Finding]:
    try:
        s = managed.split(data, system_path, name=name)
    except managed.BlockError:
        return [Finding(check, ERROR, f"{system_path}: the dialup-admin markers are broken",
                        "fix the # BEGIN/# END dialup-admin lines, or rerun setup-server --force")]
    if s.body is None:
        return [Finding(check, ERROR, f"{system_path} has no dialup-admin block", "rerun dialup-admin setup-server")]
    if s.hand_edited:
        return [Finding(check, WARNING, f"{system_path}: the dialup-admin block was edited by hand",
                        "move your lines out of the block, then rerun setup-server (--force keeps ours)")]
    return []


def check_setup(t: Target) -> list[Finding]:
    if t.state is None:
        return [Finding("setup", ERROR, "no server is set up here (/etc/dialup-admin/server.json is missing)",
                        "dialup-admin setup-server --tty ttyS1")]
    if t.state.get("_damaged") or not t.lines:
        why = str(t.state.get("_damaged") or "/etc/dialup-admin/server.json is damaged (it names no line)")
        problem, _, fix = why.partition(": ")
        return [Finding("setup", ERROR, problem, fix or "rerun dialup-admin setup-server")]
    return _ok("setup", f"server set up for {', '.join(t.ttys)}")


def check_files(t: Target) -> list[Finding]:
    if not t.lines:
        return []
    out: list[Finding] = []
    cfg = t.config_dir
    login, f = _file(t, "login-config", f"{cfg}/login.config", 0o600) if t.mgetty_ttys else (None, [])
    out += f
    if login is not None and not f:
        lines = _autoppp_lines(login)
        if not lines or "ppp" not in lines[0][:3] and not any("pppd" in w for w in lines[0]):
            out.append(Finding("login-config", ERROR, f"{cfg}/login.config has no /AutoPPP/ line starting pppd",
                               "rerun dialup-admin setup-server"))
        elif not any(w.startswith("/") and w.endswith("pppd") and t.find_program(w) for w in lines[0]):
            out.append(Finding("login-config", ERROR, f"{cfg}/login.config names a pppd that does not exist",
                               "apt-get install ppp, then rerun setup-server"))
    if not [x for x in out if x.check == "login-config"] and t.mgetty_ttys:
        out.append(Finding("login-config", OK, f"{cfg}/login.config: /AutoPPP/ runs pppd, 0600 root:root"))

    if t.mgetty_ttys:
        mc, f = _file(t, "mgetty-config", f"{cfg}/mgetty.config")
        out += f or ([] if mc is None else [Finding("mgetty-config", OK, f"{cfg}/mgetty.config present")])

    opts, f = _file(t, "ppp-options", "/etc/ppp/options")
    if opts is not None and not f:
        f = _block_state("ppp-options", "/etc/ppp/options", opts, "server")
    out += f or [Finding("ppp-options", OK, "/etc/ppp/options has the dialup-admin block")]

    for d in t.lines:
        path = f"/etc/ppp/options.{d['tty']}"
        data, f = _file(t, "ppp-options-tty", path)
        if data is not None and not f:
            want = f"{d.get('local')}:{d.get('remote')}"
            if not any(w == [want] for w in _option_lines(data)):
                f = [Finding("ppp-options-tty", ERROR, f"{path} lacks the address pair {want}",
                             "rerun dialup-admin setup-server")]
        out += f or [Finding("ppp-options-tty", OK, f"{path}: {d.get('local')}:{d.get('remote')}")]

    pap, f = _file(t, "pap-secrets-file", "/etc/ppp/pap-secrets", 0o600)
    out += f or [Finding("pap-secrets-file", OK, "/etc/ppp/pap-secrets is 0600 root:root")]
    return out


def check_service(t: Target) -> list[Finding]:
    if not t.lines:
        return []
    init = (t.state or {}).get("init")
    out: list[Finding] = []
    if not t.mgetty_ttys:
        return []  # direct lines only: check_direct
    if init == "inittab":
        data = t.read("/etc/inittab") or b""
        entries = inittab_fmt.entries(data)
        # A line deleted from our block by hand breaks its checksum: setup-server then needs --force.
        force = " --force" if _block_state("service", "/etc/inittab", data, "server") else ""
        for tty in t.mgetty_ttys:
            if not any(e.action == "respawn" and "mgetty" in e.process and tty in e.process.split()
                       for e in entries):
                out.append(Finding("service", ERROR, f"/etc/inittab has no mgetty respawn line for {tty}",
                                   f"rerun dialup-admin setup-server{force} (it puts the line back and runs telinit q)"))
    elif init == "systemd":
        if t.read("/etc/systemd/system/mgetty@.service") is None:
            out.append(Finding("service", ERROR, "/etc/systemd/system/mgetty@.service is missing",
                               "rerun dialup-admin setup-server"))
        for tty in t.mgetty_ttys:
            link = t.paths.node(f"/etc/systemd/system/getty.target.wants/mgetty@{tty}.service")
            if not link.is_symlink():
                out.append(Finding("service", ERROR, f"mgetty@{tty}.service is not enabled",
                                   f"systemctl enable --now mgetty@{tty}.service"))
    else:
        out.append(Finding("service", WARNING, "nothing keeps mgetty running (setup-server --init none)",
                           "rerun setup-server with --init inittab or --init systemd"))
    if not out:
        out.append(Finding("service", OK, f"mgetty is started by {init} on {', '.join(t.mgetty_ttys)}"))
    if t.procs is None:
        out.append(Finding("mgetty-running", OK, "not checked: the tree has no /proc"))
        return out
    # Where the service itself is broken for a line, its fix is also what starts mgetty there.
    fixes = {tty: f.fix for f in out if f.level == ERROR for tty in t.mgetty_ttys if tty in f.message.split(" ")
             or f"mgetty@{tty}.service" in f.message}
    for tty in t.mgetty_ttys:
        call = services.call_pid(t.paths, tty)
        if call is not None:
            out.append(Finding("mgetty-running", OK, f"a call is in progress on {tty} (pppd {call}, "
                                                     "which mgetty became; it answers again after the call)"))
        elif not any(p.program == "mgetty" and p.names_tty(tty) for p in t.procs):
            start = fixes.get(tty) or (f"systemctl start mgetty@{tty}.service" if init == "systemd" else "telinit q")
            out.append(Finding("mgetty-running", ERROR, f"mgetty is not running on {tty}", start))
        else:
            out.append(Finding("mgetty-running", OK, f"mgetty is running on {tty}"))
    return out


# --- pap-secrets -------------------------------------------------------------------------


def check_pap_secrets(t: Target) -> list[Finding]:
    entries = t.pap_entries()
    if entries is None or not t.lines:
        return []
    out: list[Finding] = []
    login = t.login_in_effect()
    for e in entries:
        if e.is_deny:
            continue
        if e.secret == "" and not login:
            out.append(Finding("secret-empty", ERROR,
                               f"pap-secrets line {e.line}: {e.client} has an empty secret and pppd's login option "
                               "is off: anyone gets in with an empty password",
                               f"make the secret @login (pppd then checks the system password): dialup-admin adduser {e.client} --force"))
        if e.client == secrets_fmt.WILD:
            out.append(Finding("secret-wildcard", WARNING,
                               f"pap-secrets line {e.line}: the client '*' accepts any user name",
                               "replace it with one line per user (dialup-admin adduser NAME)"))
    accounts = t.passwd()
    if login and accounts:
        for e in entries:
            if e.client != secrets_fmt.WILD and not e.is_deny and e.client not in accounts:
                out.append(Finding("secret-no-account", ERROR,
                                   f"pap-secrets line {e.line}: {e.client} has no system account, and pppd's "
                                   "login option makes it need one: the caller is refused",
                                   f"dialup-admin adduser {e.client}, or remove the line"))
        for name, uid in sorted(accounts.items(), key=lambda kv: kv[1]):
            if uid > SYSTEM_UID_MAX or t.shadow_locked(name):
                continue
            e2 = secrets_fmt.lookup(entries, name, None)
            if e2 is not None and not e2.is_deny:
                out.append(Finding("system-account", ERROR,
                                   f"system account {name} (uid {uid}) can dial in through pap-secrets line {e2.line}",
                                   f"deny it: add the line '{name} * \"*\" -' to /etc/ppp/pap-secrets (dialup-admin adduser adds such lines)"))
    levels = {f.check for f in out}
    for check, text in (("secret-empty", "no empty secrets without login"), ("secret-wildcard", "no wildcard clients"),
                        ("secret-no-account", "every pap-secrets user has an account"),
                        ("system-account", "system accounts cannot dial in")):
        if check not in levels:
            out.append(Finding(check, OK, text))
    return out


# --- mgetty.config against the modem ----------------------------------------------------------


def parse_mgetty_config(data: bytes) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """(global settings, per-port settings) of an mgetty.config."""
    glob: dict[str, str] = {}
    ports: dict[str, dict[str, str]] = {}
    cur = glob
    for line in data.decode(errors="replace").splitlines():
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        key, _, value = s.partition(" ")
        if key == "port":
            cur = ports.setdefault(value.strip(), {})
        else:
            cur[key] = value.strip()
    return glob, ports


def _register(chat: str, reg: int) -> int | None:
    m = re.search(rf"S{reg}=(\d+)", chat, re.IGNORECASE)
    return int(m.group(1)) if m else None


def check_mgetty_config(t: Target) -> list[Finding]:
    data = t.read(f"{t.config_dir}/mgetty.config")
    if data is None or not t.lines:
        return []
    glob, ports = parse_mgetty_config(data)
    out: list[Finding] = []
    for tty in t.mgetty_ttys:
        eff = {**glob, **ports.get(tty, {})}
        chat = eff.get("init-chat", "")
        s7 = _register(chat, 7) or DEFAULT_S7
        try:
            act = int(eff.get("answer-chat-timeout", "80"))
            rings = int(eff.get("rings", "1"))
        except ValueError:
            out.append(Finding("mgetty-config", ERROR, f"{tty}: answer-chat-timeout or rings in mgetty.config is not a number",
                               "rerun dialup-admin setup-server"))
            continue
        if act < s7 + 5:
            out.append(Finding("answer-chat-timeout", WARNING,
                               f"{tty}: answer-chat-timeout {act} s is shorter than the modem's S7 ({s7} s) + 5: "
                               "mgetty hangs up on slow handshakes",
                               f"setup-server --answer-chat-timeout {s7 + 5} (or more)"))
        else:
            out.append(Finding("answer-chat-timeout", OK, f"{tty}: answer-chat-timeout {act} s >= S7 {s7} + 5"))
        s0 = _register(chat, 0)
        if s0 is not None and s0 > 0 and s0 != rings:
            out.append(Finding("rings", WARNING,
                               f"{tty}: the modem answers by itself after {s0} rings (S0={s0}) but mgetty waits "
                               f"for {rings}: both try to answer",
                               "set ATS0=0 in init-chat (mgetty answers), or rings to S0"))
        else:
            out.append(Finding("rings", OK, f"{tty}: rings {rings}, modem auto-answer off or the same"))
    return out


# --- other programs on the port --------------------------------------------------------------


def check_port_users(t: Target) -> list[Finding]:
    if not t.lines:
        return []
    out: list[Finding] = []
    procs = t.procs or []
    mm_link = t.paths.node("/etc/systemd/system/multi-user.target.wants/ModemManager.service")
    if any(p.comm == "ModemManager" for p in procs) or mm_link.is_symlink():
        out.append(Finding("modemmanager", WARNING, "ModemManager runs (or starts at boot): it probes serial modems",
                           "systemctl disable --now ModemManager"))
    else:
        out.append(Finding("modemmanager", OK, "ModemManager is not running"))
    inittab = t.read("/etc/inittab") or b""
    try:
        outside = managed.split(inittab, "/etc/inittab", name="server").outside
    except managed.BlockError:
        outside = b""
    for tty in t.ttys:
        found: list[Finding] = []
        getty = t.paths.node(f"/etc/systemd/system/getty.target.wants/serial-getty@{tty}.service")
        if getty.is_symlink() or any(p.program.endswith("getty") and p.program != "mgetty" and p.names_tty(tty)
                                     for p in procs):
            found.append(Finding("serial-getty", ERROR, f"a serial getty also runs on {tty}",
                                 f"systemctl disable --now serial-getty@{tty}.service"))
        for e in inittab_fmt.entries(outside):
            if e.action in ("respawn", "once") and "mgetty" not in e.process and \
                    (tty in e.process.split() or f"/dev/{tty}" in e.process.split()):
                found.append(Finding("serial-getty", ERROR, f"/etc/inittab line {e.lineno} runs {e.process.split()[0]} "
                                     f"on {tty}", f"comment out line {e.lineno} of /etc/inittab, then telinit q"))
        for p in procs:
            if p.program == "pppd" and p.names_tty(tty):
                found.append(Finding("other-pppd", ERROR, f"pppd (pid {p.pid}) is using {tty} itself",
                                     f"stop it (kill {p.pid}) or dial out on another port"))
        found += _lock_findings(t, tty)
        out += found or [Finding("port-users", OK, f"nothing else holds {tty}")]
    return out


def _is_answer(p: Proc, tty: str) -> bool:
    from dialup_admin.core import direct_doctor

    return direct_doctor.is_answer(p, tty)


def _lock_findings(t: Target, tty: str) -> list[Finding]:
    lock = f"/var/lock/LCK..{tty}"
    data = t.read(lock)
    if data is None or t.procs is None:
        return []
    text = data.decode(errors="replace").strip()
    if len(data) == 4 and not text.isdigit():  # binary (old Kermit) locks
        pid = struct.unpack("=i", data)[0]
    else:
        pid = int(text) if text.isdigit() else -1
    holder = next((p for p in t.procs if p.pid == pid), None)
    if holder is None:
        return [Finding("stale-lock", WARNING, f"{lock} names pid {pid}, which is gone: dial-outs are refused",
                        f"rm {lock}")]
    if holder.program not in ("mgetty", "pppd") and not _is_answer(holder, tty):
        return [Finding("port-locked", WARNING, f"{holder.program} (pid {pid}) holds {tty} ({lock})",
                        f"stop {holder.program} (kill {pid})")]
    return []


# --- addresses ------------------------------------------------------------------------------


def check_addresses(t: Target) -> list[Finding]:
    if not t.lines or not t.state:
        return []
    out: list[Finding] = []
    seen: dict[str, str] = {}
    for d in t.lines:
        for role in ("local", "remote"):
            a = str(d.get(role))
            if a in seen:
                out.append(Finding("address-duplicate", ERROR, f"{d['tty']} {role} address {a} is also {seen[a]}'s",
                                   "rerun setup-server with distinct ttyX=LOCAL:REMOTE pairs"))
            seen[a] = d["tty"]
    for e in t.pap_entries() or []:
        for a in e.addresses:
            if a in seen and e.client != secrets_fmt.WILD:
                out.append(Finding("address-duplicate", ERROR,
                                   f"pap-secrets line {e.line}: {e.client}'s static address {a} is a line address "
                                   f"of {seen[a]}", f"give {e.client} another address outside the line pairs"))
    if not out:
        out.append(Finding("address-duplicate", OK, "every address is used once"))
    try:
        pool = ipaddress.IPv4Network(str(t.state.get("pool")))
    except ValueError:
        return out + [Finding("address-pool", ERROR, "server.json has no valid pool", "rerun setup-server")]
    clash = [r for r in netinfo.lan_networks(t.paths) if pool.overlaps(r.network)]
    if clash and not t.state.get("proxyarp"):
        r = clash[0]
        out.append(Finding("address-pool", ERROR,
                           f"the pool {pool} overlaps {r.network} on {r.iface}: callers' packets go to the LAN",
                           "setup-server --pool with a free network, or --proxyarp when callers belong on that LAN"))
    else:
        note = f" (inside {clash[0].network} on {clash[0].iface}, with proxyarp)" if clash else ""
        out.append(Finding("address-pool", OK, f"pool {pool} is free{note}"))
    return out


# --- internet for callers ----------------------------------------------------------------------


def _read_proc_value(t: Target, path: str) -> str | None:
    data = t.read(path)
    return None if data is None else data.decode(errors="replace").strip()


def check_sharing(t: Target) -> list[Finding]:
    state = t.state or {}
    upstream = state.get("share_internet")
    if not isinstance(upstream, str) or not t.lines:
        return []
    out: list[Finding] = []
    if t.paths.of("/sys/class/net").is_dir() and not netinfo.interface_exists(t.paths, upstream):
        out.append(Finding("share-iface", ERROR, f"the shared interface {upstream} does not exist",
                           "setup-server --share-internet IFACE with an interface ip link lists"))
    fwd = _read_proc_value(t, sharing.FORWARD)
    if fwd is None:
        out.append(Finding("ip-forward", OK, "not checked: the tree has no /proc/sys"))
    elif fwd != "1":
        out.append(Finding("ip-forward", ERROR, "IPv4 forwarding is off: callers reach only this host",
                           "sysctl -w net.ipv4.ip_forward=1 (setup-server keeps it on at boot via /etc/sysctl.d)"))
    else:
        out.append(Finding("ip-forward", OK, "IPv4 forwarding is on"))
    if t.read(nft.RULESET) is None:
        out.append(Finding("nat-rules", ERROR, f"{nft.RULESET} is missing",
                           f"rerun dialup-admin setup-server --share-internet {upstream}"))
    table = t.probe.nft_table()
    pool = str(state.get("pool"))
    if table is None:
        out.append(Finding("nat-loaded", OK, "not checked: kernel rules are only read on the running machine"))
    elif not table:
        out.append(Finding("nat-loaded", ERROR, f"the NAT table {nft.TABLE} is not loaded",
                           f"nft -f {nft.RULESET}"))
    elif not nft.masquerades(table, pool, upstream):
        out.append(Finding("nat-loaded", ERROR, f"the loaded table {nft.TABLE} does not masquerade {pool} "
                           f"out of {upstream}", f"nft -f {nft.RULESET}"))
    else:
        out.append(Finding("nat-loaded", OK, f"{pool} is masqueraded out of {upstream}"))
    ruleset = t.probe.nft_ruleset()
    for table_name in nft.forward_drops(ruleset or ""):
        out.append(Finding("forward-policy", WARNING,
                           f"table {table_name} drops forwarded packets by default: callers may not get out",
                           f"accept forwarding from ppp* to {upstream} in table {table_name}"))
    return out


def check_dns(t: Target) -> list[Finding]:
    if not t.lines:
        return []
    out: list[Finding] = []
    sharing_on = isinstance((t.state or {}).get("share_internet"), str)
    listening = netinfo.udp_listeners(t.paths, 53)
    have_proc = t.paths.of("/proc/net/udp").is_file()
    for d in t.lines:
        data = t.read(f"/etc/ppp/options.{d['tty']}") or b""
        servers = [w[1] for w in _option_lines(data) if len(w) == 2 and w[0] == "ms-dns"]
        if not servers:
            out.append(Finding("dns", WARNING, f"callers on {d['tty']} get no DNS server (no ms-dns)",
                               "setup-server --dns ADDR"))
            continue
        for s in servers:
            try:
                addr = ipaddress.IPv4Address(s)
            except ValueError:
                out.append(Finding("dns", ERROR, f"options.{d['tty']}: ms-dns {s} is not an address",
                                   "setup-server --dns ADDR"))
                continue
            local = {str(x.get("local")) for x in t.lines}
            if s in local:
                if not have_proc:
                    out.append(Finding("dns", OK, f"{d['tty']}: DNS {s} (this host) not checked: no /proc in the tree"))
                elif ipaddress.IPv4Address(0) in listening or addr in listening:
                    out.append(Finding("dns", OK, f"{d['tty']}: this host answers DNS on {s}"))
                else:
                    out.append(Finding("dns", ERROR, f"{d['tty']}: callers are told to use DNS {s} (this host), "
                                       "but nothing here listens on port 53 there",
                                       "install a resolver (apt-get install dnsmasq) or setup-server --dns ADDR"))
                continue
            if not sharing_on:
                out.append(Finding("dns", WARNING, f"{d['tty']}: DNS {s} is elsewhere, but callers can only "
                                   "reach this host", "setup-server --share-internet IFACE, or --dns with a local one"))
                continue
            answered = t.probe.dns_answers(addr)
            if answered is None:
                out.append(Finding("dns", OK, f"{d['tty']}: DNS {s} not checked (only on the running machine)"))
            elif answered:
                out.append(Finding("dns", OK, f"{d['tty']}: DNS {s} answers"))
            else:
                out.append(Finding("dns", ERROR, f"{d['tty']}: DNS {s} does not answer from here",
                                   "setup-server --dns with a reachable server"))
    return out


# --- session hooks ------------------------------------------------------------------------------


def check_hooks(t: Target) -> list[Finding]:
    if not t.lines:
        return []
    out: list[Finding] = []
    for event, hook in sessions.HOOKS.items():
        real = t.paths.of(hook)
        if not real.is_file():
            out.append(Finding("session-hooks", WARNING, f"{hook} is missing: calls are not recorded",
                               "rerun dialup-admin setup-server"))
            continue
        if not os.access(real, os.X_OK):
            out.append(Finding("session-hooks", WARNING, f"{hook} is not executable: calls are not recorded",
                               f"chmod 755 {hook}"))
            continue
        out += _mode_owner(t, "session-hooks", hook, None)
        wrapper = f"/etc/ppp/{event}"
        data = t.read(wrapper)
        runs = data is not None and (
            sessions.runs_hook_dir(data, event)
            or managed.body_of(data, wrapper, name=sessions.WRAPPER_BLOCK) is not None)
        if not runs:
            out.append(Finding("session-hooks", WARNING, f"{wrapper} does not run {hook}",
                               "rerun dialup-admin setup-server"))
        elif not os.access(t.paths.of(wrapper), os.X_OK):
            out.append(Finding("session-hooks", WARNING, f"{wrapper} is not executable: pppd cannot run it",
                               f"chmod 755 {wrapper}"))
        local = t.paths.of(f"/etc/ppp/{event}.local")
        if data is not None and f"{event}.local".encode() in data and local.is_file() and os.access(local, os.X_OK):
            out.append(Finding("session-hooks", WARNING, f"/etc/ppp/{event}.local replaces run-parts in {wrapper}: "
                               "calls are not recorded",
                               f"add 'run-parts /etc/ppp/{event}.d --arg=\"$1\"...' to /etc/ppp/{event}.local"))
    rec = t.paths.of(sessions.RECORDS)
    if rec.exists() and not rec.is_file():
        out.append(Finding("session-records", ERROR, f"{sessions.RECORDS} is not a regular file: the hooks "
                           "cannot append to it and sessions will not read it", f"mv {sessions.RECORDS} {sessions.RECORDS}.bad"))
    elif rec.is_file():
        st = rec.stat()
        if st.st_uid != 0 or st.st_mode & 0o022:
            out.append(Finding("session-records", ERROR, f"{sessions.RECORDS} can be written by others",
                               f"chown root {sessions.RECORDS}; chmod 640 {sessions.RECORDS}"))
    if not out:
        out.append(Finding("session-hooks", OK, "ip-up/ip-down record every call"))
    return out


def check_radius(t: Target) -> list[Finding]:
    """RADIUS (setup-server --radius, radius-server): core/radius_doctor.py."""
    from dialup_admin.core import radius_doctor

    return radius_doctor.check(t)


def check_direct(t: Target) -> list[Finding]:
    """Direct lines (no exchange: dialup-admin answer instead of mgetty): core/direct_doctor.py."""
    from dialup_admin.core import direct_doctor

    return direct_doctor.check(t)


CHECKS: tuple[Check, ...] = (
    check_kernel_ppp, check_programs, check_mgetty, check_setup, check_files, check_service, check_direct,
    check_pap_secrets, check_mgetty_config, check_port_users, check_addresses, check_sharing,
    check_dns, check_hooks, check_radius,
)


def run_checks(target: Target, checks: Iterable[Check] = CHECKS) -> list[Finding]:
    """Every finding, in check order, each problem once (one group-writable directory
    spoils every file below it). A check that cannot read something reports it, never raises."""
    out: list[Finding] = []
    seen: set[tuple[str, str]] = set()
    for check in checks:
        try:
            found = check(target)
        except PermissionError as exc:
            found = [Finding(check.__name__.removeprefix("check_").replace("_", "-"), ERROR,
                             f"cannot read {exc.filename}", "run doctor as root")]
        for f in found:
            if f.level != OK and (f.level, f.message) in seen:
                continue
            seen.add((f.level, f.message))
            out.append(f)
    return out


def worst(findings: Iterable[Finding]) -> str:
    level = OK
    for f in findings:
        if LEVELS.index(f.level) > LEVELS.index(level):
            level = f.level
    return level


def render_table(findings: list[Finding], verbose: bool = False) -> str:
    """The findings for people: problems first with their fix; the ok ones counted (listed with -v)."""
    rows: list[str] = []
    for f in sorted(findings, key=lambda f: -LEVELS.index(f.level)):
        if f.level == OK and not verbose:
            continue
        rows.append(f"{f.level.upper():8} {f.check:20} {f.message}")
        if f.fix:
            rows.append(f"{'':8} {'':20} fix: {f.fix}")
    counts = {lv: sum(1 for f in findings if f.level == lv) for lv in LEVELS}
    rows.append(f"{counts[ERROR]} error(s), {counts[WARNING]} warning(s), {counts[OK]} ok")
    return "\n".join(rows)
