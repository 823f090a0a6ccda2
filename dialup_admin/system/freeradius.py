"""FreeRADIUS 3.2 on this machine (Debian's ``freeradius`` package): where it lives, whether
it runs, and the commands that check, reload and restart it.

Facts this relies on (checked against FreeRADIUS 3.2.1 in the tests):

* the configuration is ``/etc/freeradius/3.0`` (``raddb``), owned ``freerad:freerad``,
  mode 0640, read as user freerad after start;
* ``freeradius -C -l stdout -d DIR`` checks a configuration without touching logs;
* SIGHUP re-reads the users file (rlm_files is HUP-safe) without dropping anything, but
  **not** clients.conf, new modules or sites: those need a restart;
* a SIGHUP is lost when it comes less than 5 s after the previous one (process.c: "Ignoring
  HUP (less than 5s since last one)"), and *silently* when a module was loaded less than
  3 whole seconds before (modules.c ``node->last_hup + 2 >= when``: a SIGHUP right after
  start does nothing); a file whose mtime is still the one the server saw (same second)
  counts as unchanged (conffile.c compares ``st_mtime``). :func:`reload` therefore waits
  those out and gives the changed files a fresh mtime before it signals;
* the pid file is ``/run/freeradius/freeradius.pid`` (with ``-f`` only when ``-P``).

Apart from :func:`reload` (run by the plan as ``python -m dialup_admin.system.freeradius
reload``), nothing here changes the machine: it reads files and /proc and returns argv
for the plan to run.
"""

from __future__ import annotations

import math
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from dialup_admin.paths import STATE_DIR, Paths
from dialup_admin.system import commands
from dialup_admin.system.services import systemd_running

CONFIG_DIR = "/etc/freeradius/3.0"
BINARY = "/usr/sbin/freeradius"
PIDFILE = "/run/freeradius/freeradius.pid"
LOG_DIR = "/var/log/freeradius"
RADACCT_DIR = f"{LOG_DIR}/radacct"
RADUTMP = f"{LOG_DIR}/radutmp"
SERVICE = "freeradius"
INIT_SCRIPT = "/etc/init.d/freeradius"
INIT_CHOICES = ("auto", "systemd", "sysv", "none")
PROGRAM_NAMES = ("freeradius", "radiusd")
HUP_MARK = f"{STATE_DIR}/radius-reloaded"  # touched after each reload: when the last SIGHUP went
READY_GAP = 3.05  # whole seconds after the modules were loaded before a SIGHUP reloads them
HUP_GAP = 5.05  # whole seconds between two SIGHUPs
USERS_FILE = f"{CONFIG_DIR}/mods-config/files/authorize"

def conf(name: str) -> str:
    """A file of the FreeRADIUS configuration, as the target names it."""
    return f"{CONFIG_DIR}/{name}"


def installed(paths: Paths) -> bool:
    return paths.of(conf("radiusd.conf")).is_file()


def binary(paths: Paths) -> str | None:
    """The freeradius program: the target's, or (an image prepared here) this machine's."""
    for where in (paths, Paths()):
        if where.of(BINARY).is_file():
            return str(where.of(BINARY))
    return None


@dataclass(frozen=True)
class Owner:
    uid: int
    gid: int
    mode: int


def owner_of(paths: Paths, system_path: str) -> Owner:
    """Owner and mode for a file of the configuration: the file's own when it exists, else
    what the configuration directory uses (freerad's group, 0640 as Debian ships them)."""
    real = paths.of(system_path)
    try:
        st = os.lstat(real)
        if not os.path.islink(real):
            return Owner(st.st_uid, st.st_gid, st.st_mode & 0o7777)
    except FileNotFoundError:
        pass
    try:
        st = os.stat(paths.of(CONFIG_DIR))
        return Owner(st.st_uid, st.st_gid, 0o640)
    except FileNotFoundError:
        return Owner(0, 0, 0o640)


def running_pid(paths: Paths) -> int | None:
    """The pid of the FreeRADIUS serving this target, from its pid file, if it runs.

    The pid is checked in this machine's /proc to be freeradius (a stale pid file, or a
    pid reused by another program, counts as not running).
    """
    try:
        pid = int(paths.of(PIDFILE).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    try:
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return None
    return pid if comm in PROGRAM_NAMES else None


def detect_init(paths: Paths) -> str:
    """How FreeRADIUS is started at boot on the target: systemd, a SysV script, or not by us."""
    if systemd_running(paths):
        return "systemd"
    if paths.is_host and paths.of(INIT_SCRIPT).is_file():
        return "sysv"
    return "none"


def check_argv(paths: Paths) -> tuple[str, ...] | None:
    """``freeradius -C`` over the target's configuration (None when no freeradius is here)."""
    exe = binary(paths)
    if exe is None:
        return None
    return (exe, "-C", "-l", "stdout", "-d", str(paths.of(CONFIG_DIR)))


def reload_argv(paths: Paths, init: str) -> tuple[str, ...] | None:
    """How the plan makes the running FreeRADIUS re-read its users file (None: it does not run)."""
    if running_pid(paths) is None and not (init == "systemd" and paths.is_host):
        return None
    return (sys.executable, "-m", "dialup_admin.system.freeradius", "reload", "--root", str(paths.root),
            "--init", init)


def process_start(pid: int) -> float | None:
    """When process ``pid`` started (seconds since the epoch), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        btime = next(int(ln.split()[1]) for ln in Path("/proc/stat").read_text().splitlines()
                     if ln.startswith("btime "))
    except (OSError, StopIteration, IndexError, ValueError):
        return None
    return btime + int(fields[19]) / os.sysconf("SC_CLK_TCK")


def _systemd_value(prop: str) -> int | None:
    proc = commands.run(("systemctl", "show", "-p", prop, "--value", SERVICE), check=False, timeout=30)
    value = proc.stdout.decode().strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


def ready_time(paths: Paths, pid: int, use_systemd: bool) -> float:
    """When the server finished loading its modules (epoch seconds), as near as can be told:
    systemd's ActiveEnter time (READY=1 comes after loading), else the pid file's mtime
    (written once the modules are loaded), else the process start plus a margin."""
    if use_systemd:
        mono = _systemd_value("ActiveEnterTimestampMonotonic")
        if mono is not None:
            return time.time() - (time.monotonic() - mono / 1e6)
    try:
        return paths.of(PIDFILE).stat().st_mtime
    except OSError:
        return (process_start(pid) or time.time()) + 5


def reload(paths: Paths, init: str, files: tuple[str, ...] = (USERS_FILE,), sleep: float | None = None) -> str:
    """Make the running FreeRADIUS re-read ``files`` with SIGHUP, so that it really does.

    Waits until 3 whole seconds have passed since the server loaded its modules and 5
    since the last reload (FreeRADIUS drops a SIGHUP sooner), sets the files' mtime to now (so a change in the same second as the last read is seen), then
    signals: ``systemctl reload`` under systemd (the unit checks the configuration
    first), else SIGHUP to the pid. Returns what it did, for people.
    """
    use_systemd = init == "systemd" and paths.is_host and systemd_running(paths)
    pid = _systemd_value("MainPID") if use_systemd else running_pid(paths)
    if pid is None:
        return "FreeRADIUS is not running: the change takes effect when it starts"
    mark = paths.of(HUP_MARK)
    try:
        last = mark.stat().st_mtime
    except OSError:
        last = 0.0
    target = math.floor(ready_time(paths, pid, use_systemd)) + READY_GAP
    if last:  # the last SIGHUP was handled a moment after it was sent: maybe in the next second
        target = max(target, math.floor(last) + HUP_GAP + (1 if last % 1 > 0.8 else 0))
    wait = target - time.time()
    if wait > 0:
        time.sleep(min(wait, HUP_GAP + 5) if sleep is None else sleep)
    now = time.time()
    for f in files:
        real = paths.of(f)
        if real.exists():
            os.utime(real, (now, now))
    if use_systemd:
        commands.run(("systemctl", "reload", SERVICE))
    else:
        os.kill(pid, signal.SIGHUP)
    mark.parent.mkdir(parents=True, exist_ok=True)
    mark.touch()
    os.utime(mark, (now, now))
    return f"FreeRADIUS (pid {pid}) re-reads its users file; calls in progress go on"


def main(argv: list[str]) -> int:
    """``python -m dialup_admin.system.freeradius reload [--root DIR] [--init INIT]`` (the plan's step)."""
    import argparse

    parser = argparse.ArgumentParser(prog="dialup_admin.system.freeradius")
    parser.add_argument("action", choices=["reload"])
    parser.add_argument("--root", default="/")
    parser.add_argument("--init", default="none", choices=INIT_CHOICES)
    args = parser.parse_args(argv)
    print(reload(Paths(Path(args.root)), args.init))
    return 0


def restart_argv(paths: Paths, init: str) -> tuple[str, ...] | None:
    """How to restart FreeRADIUS through the init (None: nothing starts it for us)."""
    if not paths.is_host:
        return None
    if init == "systemd":
        return ("systemctl", "restart", SERVICE)
    if init == "sysv":
        return (str(paths.of(INIT_SCRIPT)), "restart")
    return None


def enable_argv(paths: Paths, init: str) -> tuple[str, ...] | None:
    """How to have the init start FreeRADIUS at boot."""
    if not paths.is_host:
        return None
    if init == "systemd":
        return ("systemctl", "enable", SERVICE)
    if init == "sysv":
        return ("update-rc.d", SERVICE, "defaults")
    return None


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
