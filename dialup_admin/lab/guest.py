"""User-mode Linux guests with kernel PPP, for the end-to-end lab.

A :class:`Guest` boots Debian's ``linux.uml`` as an ordinary host process:

* the root file system is the host's ``/`` through hostfs, **read-only**, so the guest
  runs the host's own pppd, mgetty, busybox and dialup-admin without an image;
* an init script generated here mounts proc/sys/devtmpfs/devpts, tmpfs on the
  directories that must be writable (/run, /var/log, /var/tmp, /tmp, /var/lock), a
  private writable copy of /etc (so the tool can really change it), loads the PPP
  modules, starts a syslog (pppd logs there), brings up ``lo``, runs the command and
  powers off;
* the guest's ``/dev/ttyS1``, ``/dev/ttyS2``... are host ptys given as ``serial``
  (UML's ``ssl1=fd:N`` with the pty opened here: stable across the guest closing the
  line, where ``ssl1=pts`` loses it);
* one host folder per guest is mounted read-write in the guest **at the same path**:
  the host puts files there for the guest, and the guest writes its syslog, the
  command's output and exit status there; the host writes the guest's console there.

What this changes on the host: it starts the UML process (in its own session and
process group, so it never touches the terminal and can be killed as a whole), creates
a temporary ``uml_dir`` for the guest's umid (removed on close) and the guest folder
(removed on close only when it was a temporary one and ``keep`` is false).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from dialup_admin.errors import BadInput, UserError
from dialup_admin.system.commands import require

UML_BINARY = "linux.uml"
UML_PACKAGE = "user-mode-linux"
UML_MODULES = Path("/usr/lib/uml/modules")

# Load order matters: insmod does not resolve dependencies (see modules.dep).
PPP_MODULES = (
    "lib/crc-ccitt",
    "drivers/net/slip/slhc",
    "drivers/net/ppp/ppp_generic",
    "drivers/net/ppp/ppp_async",
    "drivers/net/ppp/bsd_comp",
    "drivers/net/ppp/ppp_deflate",
)

GUEST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Files in a guest's folder.
INIT = "init.sh"
COMMAND = "command.sh"
CONSOLE = "console.log"
SYSLOG = "syslog.log"
OUTPUT = "output.log"
STATUS = "status"
READY = "ready"

STAGE_MARK = "dialup-lab: stage "
FAIL_MARK = "dialup-lab: failed at stage "

_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
_ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MEM_RE = re.compile(r"^[0-9]+[KMG]?$")
# The folder travels on the kernel command line (init=) and as hostfs's mount data.
_UNSAFE_PATH_RE = re.compile(r"[\s,'\"\\=$`]")


class GuestError(UserError):
    """A guest failed: which guest, at which stage, and the log lines that show why."""

    def __init__(self, name: str, stage: str, message: str, folder: Path, log_lines: Sequence[str] = ()) -> None:
        super().__init__(f"lab guest {name} failed at stage {stage}: {message} (logs in {folder})")
        self.name = name
        self.stage = stage
        self.folder = folder
        self.log_lines = list(log_lines)


@dataclass(frozen=True)
class GuestResult:
    """What a finished guest left behind. The texts are read before the folder may go."""

    name: str
    status: int
    output: str
    console: str
    syslog: str
    folder: Path
    boot_seconds: float | None
    """Host wall time from starting the UML process to the command starting."""
    seconds: float
    """Host wall time from starting the UML process to its exit."""

    @property
    def ok(self) -> bool:
        return self.status == 0

    def check(self) -> GuestResult:
        """Raise :class:`GuestError` (stage ``command``) unless the command exited 0."""
        if self.status != 0:
            lines = tail(self.output, 20)
            last = lines[-1] if lines else "no output"
            raise GuestError(self.name, "command", f"exit status {self.status}: {last}", self.folder, lines)
        return self


def tail(text: str, count: int) -> list[str]:
    lines = [ln.rstrip() for ln in text.splitlines() if ln.strip()]
    return lines[-count:]


def uml_binary() -> str:
    """The path of ``linux.uml``, or a one-line error saying ``apt-get install user-mode-linux``."""
    return require(UML_BINARY)


def module_dir() -> Path:
    """The UML package's module tree (named for the UML kernel's release, not the host's)."""
    dirs = sorted(p for p in UML_MODULES.glob("*/kernel") if p.is_dir()) if UML_MODULES.is_dir() else []
    if not dirs:
        raise UserError(f"no UML kernel modules in {UML_MODULES} (install them: apt-get install {UML_PACKAGE})")
    return dirs[-1]


def _q(text: str) -> str:
    return shlex.quote(text)


def render_init(name: str, folder: Path, env: Mapping[str, str], modules: bool, private_etc: bool) -> str:
    """The guest's init script (PID 1). It must never exit: the kernel panics when init does."""
    exports = "".join(f"export {key}={_q(value)}\n" for key, value in sorted(env.items()))
    module_lines = ""
    if modules:
        names = " ".join(PPP_MODULES)
        module_lines = f"""
stage modules
moddir=/usr/lib/uml/modules/$(uname -r)/kernel
for m in {names}; do
    busybox insmod "$moddir/$m.ko" || fail "insmod $moddir/$m.ko"
done
[ -c /dev/ppp ] || fail "/dev/ppp did not appear after loading ppp_generic"
"""
    etc_lines = ""
    if private_etc:
        # A private, writable /etc: the root is the host's, read-only. An overlay over
        # the host's /etc costs nothing; copying it (the fallback) takes about a second.
        etc_lines = """
stage etc
mkdir -p /run/dialup-lab/etc-upper /run/dialup-lab/etc-work /run/dialup-lab/etc
if busybox insmod "/usr/lib/uml/modules/$(uname -r)/kernel/fs/overlayfs/overlay.ko" 2>/dev/null &&
    mount -t overlay -o lowerdir=/etc,upperdir=/run/dialup-lab/etc-upper,workdir=/run/dialup-lab/etc-work \\
        overlay /run/dialup-lab/etc; then
    :
else
    cp -a /etc/. /run/dialup-lab/etc/ || fail "copy /etc"
fi
mount --bind /run/dialup-lab/etc /etc || fail "bind the private /etc"
echo "$GUEST_NAME" > /etc/hostname
"""
    return f"""#!/bin/sh
# Init (PID 1) of the dialup-admin lab guest {name}; generated by dialup_admin/lab/guest.py.
PATH={GUEST_PATH}
HOME=/root
export PATH HOME
GUEST_NAME={_q(name)}
FOLDER={_q(str(folder))}
STAGE=start

stage() {{ STAGE=$1; up=?; read up rest < /proc/uptime 2>/dev/null; echo "{STAGE_MARK}$1 at $up s"; }}
fail() {{
    echo "{FAIL_MARK}$STAGE: $*"
    busybox poweroff -f
    sleep 60
}}

stage mounts
mount -t proc proc /proc || fail "mount /proc"
mount -t sysfs sysfs /sys || fail "mount /sys"
# The UML kernel mounts devtmpfs on /dev itself (CONFIG_DEVTMPFS_MOUNT).
grep -q ' /dev ' /proc/mounts || mount -t devtmpfs devtmpfs /dev || fail "mount /dev"
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts || fail "mount /dev/pts"
mount -t tmpfs -o mode=1777 tmpfs /dev/shm || fail "mount /dev/shm"
mount -t tmpfs -o mode=755 tmpfs /run || fail "mount /run"
mkdir -p -m 1777 /run/lock
mount -t tmpfs -o mode=755 tmpfs /var/log || fail "mount /var/log"
mount -t tmpfs -o mode=1777 tmpfs /var/tmp || fail "mount /var/tmp"
mount -t tmpfs -o mode=1777 tmpfs /tmp || fail "mount /tmp"
# Debian: /var/lock -> /run/lock, made above.
[ -L /var/lock ] || mount -t tmpfs -o mode=1777 tmpfs /var/lock || fail "mount /var/lock"
busybox hostname "$GUEST_NAME"

stage share
# The host folder, read-write, at the same path as on the host.
mkdir -p "$FOLDER" 2>/dev/null
mount -t hostfs -o "$FOLDER" hostfs "$FOLDER" || fail "mount the host folder $FOLDER"
{etc_lines}{module_lines}
stage syslog
busybox syslogd -O "$FOLDER/{SYSLOG}" || fail "start syslogd"
i=0
while [ ! -S /dev/log ] && [ $i -lt 100 ]; do busybox usleep 20000; i=$((i + 1)); done
[ -S /dev/log ] || fail "syslogd did not create /dev/log"

stage network
busybox ip link set lo up || fail "bring up lo"

stage command
{exports}cd "$FOLDER" || fail "cd $FOLDER"
read up rest < /proc/uptime
echo "$up" > "$FOLDER/{READY}"
/bin/sh "$FOLDER/{COMMAND}" > "$FOLDER/{OUTPUT}" 2>&1 < /dev/null
echo $? > "$FOLDER/{STATUS}.tmp"
mv "$FOLDER/{STATUS}.tmp" "$FOLDER/{STATUS}"

stage poweroff
busybox poweroff -f
sleep 60
"""


class Guest:
    """One user-mode Linux guest; a context manager that always cleans up.

    ``command`` is a shell script (``str``) or an argv (sequence), run by ``/bin/sh``
    in the guest as root, in ``folder``, with ``env`` exported. ``serial[i]`` is the host
    pty that becomes the guest's ``/dev/ttyS{i+1}``.
    """

    def __init__(
        self,
        name: str,
        command: str | Sequence[str],
        *,
        serial: Sequence[str | os.PathLike[str]] = (),
        folder: str | os.PathLike[str] | None = None,
        keep: bool = False,
        env: Mapping[str, str] | None = None,
        mem: str = "256M",
        modules: bool = True,
        private_etc: bool = True,
    ) -> None:
        if not _NAME_RE.match(name):
            raise BadInput(f"guest name {name!r}: use 1-20 lower-case letters, digits or '-', starting with a letter")
        if not _MEM_RE.match(mem):
            raise BadInput(f"guest memory {mem!r}: use a size like 256M")
        for key in env or {}:
            if not _ENV_RE.match(key):
                raise BadInput(f"guest environment variable name {key!r} is not valid")
        self.name = name
        self.command = command if isinstance(command, str) else shlex.join(command) + "\n"
        self.serial = [Path(p) for p in serial]
        self.env = dict(env or {})
        self.mem = mem
        self.modules = modules
        self.private_etc = private_etc
        self._own_folder = folder is None
        self.keep = keep
        self.folder = Path(tempfile.mkdtemp(prefix=f"dialup-lab-{name}-")) if folder is None else Path(folder)
        self.folder = self.folder.resolve()
        if _UNSAFE_PATH_RE.search(str(self.folder)):
            raise BadInput(f"guest folder {self.folder}: the path must not contain spaces, commas, quotes or '='")
        self.umid = f"dialup-{name}-{uuid.uuid4().hex[:8]}"
        self._uml_dir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._started_wall = 0.0
        self._started = 0.0
        self._result: GuestResult | None = None

    # -- lifecycle -----------------------------------------------------------------

    def start(self) -> Guest:
        """Write the init and command scripts into the folder and start the UML process."""
        if self._proc is not None:
            raise UserError(f"lab guest {self.name} is already started")
        uml = uml_binary()
        require("busybox")
        if self.modules:
            module_dir()
        self.folder.mkdir(parents=True, exist_ok=True)
        for stale in (STATUS, READY, OUTPUT, SYSLOG, CONSOLE):
            (self.folder / stale).unlink(missing_ok=True)
        init = self.folder / INIT
        init.write_text(render_init(self.name, self.folder, self.env, self.modules, self.private_etc))
        init.chmod(0o755)
        (self.folder / COMMAND).write_text(self.command)
        self._uml_dir = Path(tempfile.mkdtemp(prefix="dialup-uml-"))

        fds: list[int] = []
        try:
            for path in self.serial:
                try:
                    fds.append(os.open(path, os.O_RDWR | os.O_NOCTTY))
                except OSError as exc:
                    raise UserError(f"lab guest {self.name}: cannot open serial line {path}: {exc.strerror}") from None
            argv = [
                uml,
                f"umid={self.umid}",
                f"uml_dir={self._uml_dir}",
                f"mem={self.mem}",
                "rootfstype=hostfs",
                "rootflags=/",
                "ro",
                f"init={init}",
                # Console on our stdout only: the guest must never read or reconfigure a terminal.
                "con=null",
                "con0=null,fd:1",
                "ssl=null",
                *(f"ssl{i + 1}=fd:{fd}" for i, fd in enumerate(fds)),
            ]
            with open(self.folder / CONSOLE, "wb") as console:
                self._started_wall = time.time()
                self._started = time.monotonic()
                self._proc = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=console,
                    stderr=subprocess.STDOUT,
                    pass_fds=fds,
                    cwd=self._uml_dir,
                    # Own session and process group: no controlling terminal, no ^C from
                    # the user's terminal, and one killpg() ends UML's helper processes too.
                    start_new_session=True,
                )
        except BaseException:
            self._cleanup_uml_dir()
            raise
        finally:
            for fd in fds:
                os.close(fd)
        return self

    @property
    def running(self) -> bool:
        # Not poll(): that would reap the process before its group is killed.
        return self._proc is not None and not self._exited(0)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def wait(self, timeout: float = 60) -> GuestResult:
        """Wait for the guest to power off; kill it and raise :class:`GuestError` after ``timeout`` s.

        A command that exits non-zero is not an error here: see :meth:`GuestResult.check`.
        """
        if self._result is not None:
            return self._result
        proc = self._require_started()
        try:
            if not self._exited(timeout):
                self.kill()
                raise self._error(f"did not power off within {timeout:g} s")
        finally:
            self.kill()
        seconds = time.monotonic() - self._started
        status_file = self.folder / STATUS
        try:
            status = int(status_file.read_text().strip())
        except (OSError, ValueError):
            raise self._error(f"stopped before the command finished (UML exit {proc.returncode})") from None
        self._result = GuestResult(
            name=self.name,
            status=status,
            output=self._read(OUTPUT),
            console=self._read(CONSOLE),
            syslog=self._read(SYSLOG),
            folder=self.folder,
            boot_seconds=self.boot_seconds(),
            seconds=seconds,
        )
        return self._result

    def run(self, timeout: float = 60) -> GuestResult:
        """Start the guest, wait for it, clean up; the result holds the logs' texts."""
        try:
            if self._proc is None:
                self.start()
            return self.wait(timeout)
        finally:
            self.close()

    def wait_for_file(self, name: str, timeout: float = 30, interval: float = 0.05) -> Path:
        """Wait until the guest (or anyone) creates ``name`` in the folder; fail if the guest stops."""
        self._require_started()
        path = self.folder / name
        deadline = time.monotonic() + timeout
        while True:
            if path.exists():
                return path
            if not self.running:
                raise self._error(f"stopped before {name} appeared in its folder")
            if time.monotonic() > deadline:
                raise self._error(f"{name} did not appear in its folder within {timeout:g} s")
            time.sleep(interval)

    def wait_ready(self, timeout: float = 30) -> float:
        """Wait until the guest has booted and started its command; return the boot time in s."""
        self.wait_for_file(READY, timeout)
        boot = self.boot_seconds()
        assert boot is not None
        return boot

    def boot_seconds(self) -> float | None:
        """Host wall time from starting UML to the command starting, or None if it has not."""
        try:
            return max(0.0, (self.folder / READY).stat().st_mtime - self._started_wall)
        except OSError:
            return None

    def kill(self) -> None:
        """Kill the whole UML process group (by its pid) and reap the main process."""
        if self._proc is None or self._proc.returncode is not None:
            return
        self._kill_group()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    def close(self) -> None:
        """Kill the guest if it still runs, remove its umid dir, and its folder if temporary."""
        try:
            self.kill()
        finally:
            self._cleanup_uml_dir()
            if self._own_folder and not self.keep:
                shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> Guest:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- logs ----------------------------------------------------------------------

    def stage(self) -> str:
        """The last stage the guest's init announced on its console."""
        stage = "boot"
        for line in self._read(CONSOLE).splitlines():
            if FAIL_MARK in line:
                return line.split(FAIL_MARK, 1)[1].split(":", 1)[0].strip()
            if STAGE_MARK in line:
                stage = line.split(STAGE_MARK, 1)[1].split()[0]
        return stage

    def log_excerpt(self, count: int = 20) -> list[str]:
        """The lines that most likely show why the guest failed: init's failure, else the tails."""
        console = self._read(CONSOLE)
        failed = [ln for ln in console.splitlines() if FAIL_MARK in ln]
        lines = [f"console: {ln}" for ln in tail(console, count)]
        if failed:
            lines.append(f"console: {failed[-1]}")
        lines += [f"output: {ln}" for ln in tail(self._read(OUTPUT), count)]
        lines += [f"syslog: {ln}" for ln in tail(self._read(SYSLOG), count)]
        return lines

    def _read(self, name: str) -> str:
        try:
            return (self.folder / name).read_text(errors="replace")
        except OSError:
            return ""

    def _error(self, message: str) -> GuestError:
        stage = self.stage()
        failed = [ln for ln in self._read(CONSOLE).splitlines() if FAIL_MARK in ln]
        if failed:
            message = f"{message}; {failed[-1].split(': ', 2)[-1]}"
        return GuestError(self.name, stage, message, self.folder, self.log_excerpt())

    # -- processes -----------------------------------------------------------------

    def _require_started(self) -> subprocess.Popen[bytes]:
        if self._proc is None:
            raise UserError(f"lab guest {self.name} is not started")
        return self._proc

    def _exited(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for the UML process to exit, without reaping it.

        Not reaping keeps its pid (= our process group id) from being reused, so the
        killpg() that follows can only hit UML's own leftover helpers.
        """
        assert self._proc is not None
        if self._proc.returncode is not None:
            return True
        deadline = time.monotonic() + timeout
        while True:
            info = os.waitid(os.P_PID, self._proc.pid, os.WEXITED | os.WNOWAIT | os.WNOHANG)
            if info is not None:
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)

    def _kill_group(self) -> None:
        # The group id is the main UML pid (start_new_session). Only called while that
        # pid is unreaped (alive or a zombie), so it cannot name someone else's group.
        if self._proc is None or self._proc.returncode is not None:
            return
        try:
            os.killpg(self._proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def _cleanup_uml_dir(self) -> None:
        if self._uml_dir is not None:
            shutil.rmtree(self._uml_dir, ignore_errors=True)
            self._uml_dir = None
