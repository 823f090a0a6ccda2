"""User-mode Linux guests with kernel PPP, for the end-to-end lab.

A :class:`Guest` boots Debian's ``linux.uml`` as an ordinary host process:

* the root file system is the host's ``/`` through hostfs, **read-only**, so the guest
  runs the host's own pppd, mgetty, busybox and dialup-admin without an image;
* an init script generated here mounts proc/sys/devtmpfs/devpts, tmpfs on the
  directories that must be writable (/run, /var/log, /var/tmp, /tmp, /var/lock), a
  private writable /etc, /home, /root, /var/lib, /var/spool (overlays on the host's;
  so the tool can really change them while the host's stay untouched), loads the PPP
  modules, starts a syslog (pppd logs there), brings up ``lo``, runs the command and
  powers off;
* the guest's ``/dev/ttyS1``, ``/dev/ttyS2``... are host ptys given as ``serial``
  (UML's ``ssl1=fd:N`` with the pty opened here: stable across the guest closing the
  line, where ``ssl1=pts`` loses it);
* one host folder per guest is mounted read-write in the guest **at the same path**:
  the host puts files there for the guest, and the guest writes its syslog, the
  command's output and exit status there; the host writes the guest's console there;
* ``init``: by default the script is PID 1 to the end; with ``systemd`` or ``sysvinit``
  it ``exec`` s that init once the machine is ready, and the init starts the command
  (:mod:`dialup_admin.lab.boot`); sysvinit-core (and udev where the host lacks it) come
  unpacked from :mod:`dialup_admin.lab.debs`, mounted read-only where dpkg puts them;
* ``disk``: an ext4 image (``ubd0``) holding the private overlays' upper layers, so a
  guest booted again on it finds its /etc as it left it (a reboot);
* ``absent_serial``: ports whose device exists but whose open fails (no UART there).

What this changes on the host: it starts the UML process (in its own session and
process group, so it never touches the terminal and can be killed as a whole), creates
a temporary ``uml_dir`` for the guest's umid (removed on close), the guest folder
(removed on close only when it was a temporary one and ``keep`` is false) and the
``disk`` image when asked for one (kept: it is the guest's disk).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from dialup_admin.errors import BadInput, UserError
from dialup_admin.lab import boot, debs
from dialup_admin.render import render
from dialup_admin.system import commands
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

# Host directories the guest gets a private writable view of (overlayfs on the host's):
# the tool changes /etc, useradd may create homes and touch /var/lib, /var/spool.
WRITABLE = ("/etc", "/home", "/root", "/var/lib", "/var/spool")

DISK_MOUNT = "/run/dialup-lab/disk"  # the guest's disk (its private overlays' upper layers)
DISK_SIZE = 256 * 1024 * 1024

GUEST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Files in a guest's folder.
INIT = "init.sh"
COMMAND = "command.sh"
CONSOLE = "console.log"
SYSLOG = "syslog.log"
OUTPUT = "output.log"
STATUS = "status"
READY = "ready"
LIBRARY = "lablib.sh"

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


def _kill_pid(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _group_exists(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


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


# Host directories the guest covers with its own tmpfs: host files below them are
# invisible inside the guest (the guest folder is mounted back on top explicitly).
GUEST_TMPFS = ("/run", "/var/log", "/var/tmp", "/tmp", "/dev", "/proc", "/sys")


def visible_in_guest(path: str | os.PathLike[str]) -> bool:
    """Whether the guest sees the host file ``path`` (through the read-only hostfs root)."""
    real = os.path.realpath(path)
    return not any(real == d or real.startswith(d + "/") for d in GUEST_TMPFS)


def tool_dirs() -> list[str]:
    """Host directories this dialup-admin runs from that a guest's tmpfs would hide.

    A checkout or venv under /tmp (CI clones anywhere) is mounted back into every guest,
    read-only through hostfs at the same path, so guests run the very same tool.
    """
    import dialup_admin

    candidates = {
        os.path.realpath(sys.prefix),
        os.path.realpath(sys.base_prefix),
        os.path.realpath(Path(dialup_admin.__file__).parent.parent),
        os.path.realpath(Path(sys.executable).parent.parent),
    }
    hidden = sorted(c for c in candidates if not visible_in_guest(c))
    out: list[str] = []
    for d in hidden:  # sorted: a parent comes before what lies inside it
        if not any(d == o or d.startswith(o + "/") for o in out):
            out.append(d)
    for d in out:
        if _UNSAFE_PATH_RE.search(d) or d in GUEST_TMPFS:
            raise UserError(f"dialup-admin runs from {d}, which the lab guests cannot mount: install it elsewhere")
    return out


def tool_command() -> str:
    """How a guest script runs this very dialup-admin (the host's install, seen through hostfs).

    The console script next to the running interpreter (the venv's), else the one on
    PATH, else ``python -m dialup_admin``. Directories a guest would hide are mounted
    back by the init script (:func:`tool_dirs`).
    """
    beside = Path(sys.executable).parent / "dialup-admin"
    found = str(beside) if beside.is_file() else shutil.which("dialup-admin")
    if found is not None:
        return shlex.quote(os.path.abspath(found))
    return f"{shlex.quote(sys.executable)} -m dialup_admin"


def library_text() -> str:
    """The shell helpers every command script sources (``templates/lab/lablib.sh.j2``)."""
    return render("lab/lablib.sh.j2")


def render_init(name: str, folder: Path, env: Mapping[str, str], modules: bool, writable: Sequence[str],
                init: str = "none", *, disk: bool = False, mounts: Sequence[tuple[str, Sequence[str]]] = (),
                make_dirs: Sequence[str] = ()) -> str:
    """The guest's init script (PID 1, ``templates/lab/init.sh.j2``). It must never exit: the
    kernel panics when init does.

    With ``init`` ``none`` it runs the command and powers off; with ``systemd`` or
    ``sysvinit`` it prepares the machine and ``exec`` s that init (see
    :mod:`dialup_admin.lab.boot`). ``disk``: the private overlays live on the guest's
    disk (``/dev/ubda``, ext4), so they survive a power-off. ``mounts``: read-only
    overlays (directory, lower layers) putting unpacked packages in place. ``make_dirs``:
    directories to create on the fresh tmpfs file systems at every boot.
    """
    if init not in boot.INITS:
        raise BadInput(f"unknown guest init {init!r}: use one of {', '.join(boot.INITS)}")
    return render(
        "lab/init.sh.j2", guest=name, folder=str(folder), path=GUEST_PATH, init=init,
        stage_mark=STAGE_MARK, fail_mark=FAIL_MARK,
        disk_mount=DISK_MOUNT if disk else None, uppers=DISK_MOUNT if disk else "/run/dialup-lab",
        writable=list(writable), tool_dirs=tool_dirs(), mounts=[(t, list(lw)) for t, lw in mounts],
        ppp_modules=PPP_MODULES if modules else (), make_dirs=list(make_dirs),
        exports=sorted(env.items()), syslog=SYSLOG, ready=READY, command=COMMAND, output=OUTPUT, status=STATUS,
        guest_run=boot.GUEST_RUN, boot_dir=boot.BOOT_DIR, systemd=boot.SYSTEMD,
    )


def _check_settings(name: str, mem: str, env: Mapping[str, str], writable: Sequence[str], init: str,
                    absent_serial: Sequence[int], serial_count: int, disk: Path | None, make_dirs: Sequence[str],
                    kernel_args: Sequence[str]) -> None:
    """Raise :class:`BadInput` for the first of a guest's settings that is not valid (see :class:`Guest`)."""
    if not _NAME_RE.match(name):
        raise BadInput(f"guest name {name!r}: use 1-20 lower-case letters, digits or '-', starting with a letter")
    if not _MEM_RE.match(mem):
        raise BadInput(f"guest memory {mem!r}: use a size like 256M")
    for key in env:
        if not _ENV_RE.match(key):
            raise BadInput(f"guest environment variable name {key!r} is not valid")
    for directory in writable:
        if (
            not directory.startswith("/")
            or directory == "/"
            or _UNSAFE_PATH_RE.search(directory)
            or not visible_in_guest(directory)
        ):
            raise BadInput(f"guest writable directory {directory!r}: use an absolute path like /etc")
    if init not in boot.INITS:
        raise BadInput(f"guest init {init!r}: use one of {', '.join(boot.INITS)}")
    if any(not 1 <= n <= 63 or n <= serial_count for n in absent_serial):
        raise BadInput(f"guest absent serial ports {list(absent_serial)}: numbers after the serial lines, below 64")
    if disk is not None and _UNSAFE_PATH_RE.search(str(disk)):
        raise BadInput(f"guest disk {disk}: the path must not contain spaces, commas, quotes or '='")
    for directory in make_dirs:
        if not directory.startswith("/") or _UNSAFE_PATH_RE.search(directory):
            raise BadInput(f"guest directory {directory!r}: use an absolute path like /var/log/mgetty")
    for arg in kernel_args:
        if not re.match(r"^[A-Za-z0-9_.]+=[A-Za-z0-9_.,:]*$", arg):
            raise BadInput(f"guest kernel argument {arg!r}: such as eth0=mcast,,239.192.0.1,1102,0")


class Guest:
    """One user-mode Linux guest; a context manager that always cleans up.

    ``command`` is a shell script (``str``) or an argv (sequence), run by ``/bin/sh``
    in the guest as root, in ``folder``, with ``env`` exported. ``serial[i]`` is the host
    pty that becomes the guest's ``/dev/ttyS{i+1}``. ``kernel_args`` go on UML's command
    line as they are (a network card: ``eth0=mcast,,GROUP,PORT,TTL``).
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
        writable: Sequence[str] = WRITABLE,
        init: str = "none",
        absent_serial: Sequence[int] = (),
        disk: str | os.PathLike[str] | None = None,
        make_dirs: Sequence[str] = (),
        kernel_args: Sequence[str] = (),
    ) -> None:
        self.disk = Path(disk).resolve() if disk is not None else None
        _check_settings(name, mem, env or {}, writable, init, absent_serial, len(serial), self.disk, make_dirs,
                        kernel_args)
        self.name = name
        self.command = command if isinstance(command, str) else shlex.join(command) + "\n"
        self.serial = [Path(p) for p in serial]
        self.env = dict(env or {})
        self.mem = mem
        self.modules = modules
        self.writable = tuple(writable)
        self.init = init
        self.absent_serial = tuple(absent_serial)
        self.make_dirs = tuple(make_dirs)
        self.kernel_args = tuple(kernel_args)
        self._own_folder = folder is None
        self.keep = keep
        self.folder = Path(tempfile.mkdtemp(prefix=f"dialup-lab-{name}-")) if folder is None else Path(folder)
        self.folder = self.folder.resolve()
        if _UNSAFE_PATH_RE.search(str(self.folder)):
            raise BadInput(f"guest folder {self.folder}: the path must not contain spaces, commas, quotes or '='")
        self.umid = f"dialup-{name}-{uuid.uuid4().hex[:8]}"
        self._uml_dir: Path | None = None
        self._proc: commands.Background | None = None
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
        init = self._write_files()
        self._uml_dir = Path(tempfile.mkdtemp(prefix="dialup-uml-"))

        fds: list[int] = []
        try:
            for path in self.serial:
                try:
                    fds.append(os.open(path, os.O_RDWR | os.O_NOCTTY))
                except OSError as exc:
                    raise UserError(f"lab guest {self.name}: cannot open serial line {path}: {exc.strerror}") from None
            argv = self._kernel_argv(uml, init, self._uml_dir, fds)
            with open(self.folder / CONSOLE, "wb") as console:
                self._started_wall = time.time()
                self._started = time.monotonic()
                self._proc = commands.background(
                    argv,
                    stdout=console,
                    stderr="stdout",
                    pass_fds=fds,
                    cwd=self._uml_dir,
                    # Own session and process group: no controlling terminal, no ^C from
                    # the user's terminal, and one killpg() ends UML's helper processes too.
                    new_session=True,
                )
        except BaseException:
            self._cleanup_uml_dir()
            raise
        finally:
            for fd in fds:
                os.close(fd)
        return self

    def _write_files(self) -> Path:
        """Write the folder's init, library and command scripts (and ``boot/``, the disk); return the init's path."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for stale in (STATUS, READY, OUTPUT, SYSLOG, CONSOLE):
            (self.folder / stale).unlink(missing_ok=True)
        mounts = self._prepare_boot()
        if self.disk is not None:
            make_disk(self.disk)
        init = self.folder / INIT
        init.write_text(render_init(self.name, self.folder, self.env, self.modules, self.writable, self.init,
                                    disk=self.disk is not None, mounts=mounts, make_dirs=self.make_dirs))
        init.chmod(0o755)
        (self.folder / LIBRARY).write_text(library_text())
        (self.folder / COMMAND).write_text(f'. "$LAB_FOLDER/{LIBRARY}"\n{self.command}')
        return init

    def _kernel_argv(self, uml: str, init: Path, uml_dir: Path, fds: Sequence[int]) -> list[str]:
        """UML's command line: hostfs root read-only, ``init``, the disk, the serial lines on ``fds``."""
        return [
            uml,
            f"umid={self.umid}",
            f"uml_dir={uml_dir}",
            f"mem={self.mem}",
            "rootfstype=hostfs",
            "rootflags=/",
            "ro",
            f"init={init}",
            *([f"ubd0={self.disk}"] if self.disk is not None else []),
            # Console on our stdout only: the guest must never read or reconfigure a terminal.
            "con=null",
            "con0=null,fd:1",
            "ssl=null",
            *(f"ssl{i + 1}=fd:{fd}" for i, fd in enumerate(fds)),
            # A port without hardware behind it: the device exists but open() fails,
            # as a PC's /dev/ttyS3 with no UART there gives EIO.
            *(f"ssl{n}=tty:/dev/dialup-lab-no-uart-{n}" for n in self.absent_serial),
            *self.kernel_args,  # such as a network card: eth0=mcast,...
        ]

    def _prepare_boot(self) -> list[tuple[str, list[str]]]:
        """Write ``boot/`` (what the real init reads) and return the package overlays it needs."""
        target = self.folder / boot.BOOT_DIR
        shutil.rmtree(target, ignore_errors=True)
        if self.init == "none":
            return []
        target.mkdir(parents=True)
        roots: list[Path] = []
        if self.init == "systemd":
            if not Path(boot.SYSTEMD).is_file():
                raise UserError(f"a systemd guest runs this machine's systemd: {boot.SYSTEMD} is missing "
                                "(apt-get install systemd)")
            if not debs.host_has_udev():
                roots.append(debs.unpacked(debs.UDEV))
            boot.write_systemd_tree(target / "systemd", roots)
            (target / boot.SYSLOG_SCRIPT).write_text(boot.syslog_script(self.folder))
        else:
            roots.append(debs.unpacked(debs.SYSVINIT))
            (target / "inittab").write_text(boot.inittab())
            (target / boot.HALT_SCRIPT).write_text(boot.halt_script(DISK_MOUNT if self.disk else None))
        (target / boot.RUN_SCRIPT).write_text(boot.run_script(self.init, self.name, self.folder, self.env, COMMAND,
                                                              READY, OUTPUT, STATUS))
        mounts = boot.package_mounts(roots)
        for where, lowers in mounts:
            for d in [where, *lowers]:
                if _UNSAFE_PATH_RE.search(d) or ":" in d:
                    raise UserError(f"lab guest {self.name}: cannot mount {d} in the guest (spaces, commas, "
                                    "colons or quotes in the path); set DIALUP_ADMIN_CACHE to a plain path")
        return mounts

    @property
    def running(self) -> bool:
        # Not poll(): that would reap the process before its group is killed.
        return self._proc is not None and not self._exited(0)

    @property
    def uml_dir(self) -> Path | None:
        """The temporary ``uml_dir`` holding the guest's umid directory (None once removed)."""
        return self._uml_dir

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

    def put(self, name: str, text: str) -> Path:
        """Write ``text`` as ``name`` in the folder atomically, for a guest polling for it."""
        path = self.folder / name
        tmp = self.folder / f".{name}.tmp"
        tmp.write_text(text)
        tmp.replace(path)
        return path

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
        """Kill every process of this guest and reap the main one.

        UML's process group (its main pid) holds most helpers, but the helper that
        watches a tty line for window changes calls setsid() and leaves the group;
        UML kills it on a clean power-off only. So the guest's processes are also
        found by this guest's unique ``umid=`` argument (helpers are clones of the
        main process and share its command line) and killed by pid.
        """
        if self._proc is None:
            return
        if self._proc.returncode is None:
            self._kill_group()
            for pid in self.helper_pids():
                _kill_pid(pid)
            if self._proc.wait(timeout=10) is None:
                return
        # Killed helpers are ptraced by the main process or orphaned; they linger a
        # moment until init reaps them. Wait, so no guest process outlives close().
        # (Signal 0 only for the group: its leader is reaped now.)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            pids = self.helper_pids()
            for pid in pids:
                _kill_pid(pid)
            if not pids and not _group_exists(self._proc.pid):
                return
            time.sleep(0.02)

    def helper_pids(self) -> list[int]:
        """The live host processes of this guest (main and helpers), by their umid argument."""
        token = f"umid={self.umid}".encode()
        pids = []
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/cmdline", "rb") as fh:
                    args = fh.read().split(b"\0")
            except OSError:
                continue
            if token in args:
                pids.append(int(entry.name))
        return pids

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
        # The error points at the folder's logs: a temporary folder must outlive close().
        self.keep = True
        stage = self.stage()
        failed = [ln for ln in self._read(CONSOLE).splitlines() if FAIL_MARK in ln]
        if failed:
            message = f"{message}; {failed[-1].split(': ', 2)[-1]}"
        return GuestError(self.name, stage, message, self.folder, self.log_excerpt())

    # -- processes -----------------------------------------------------------------

    def _require_started(self) -> commands.Background:
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


def make_disk(path: Path, size: int = DISK_SIZE) -> None:
    """Create ``path`` as an empty ext4 image (sparse) unless it exists: a guest's own disk."""
    if path.exists():
        return
    mkfs = require("mkfs.ext4")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as fh:
        fh.truncate(size)
    proc = commands.run([mkfs, "-q", "-F", "-L", "dialup-lab", str(tmp)], timeout=120, check=False)
    if proc.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise UserError(f"mkfs.ext4 {tmp} failed: {proc.stderr.decode(errors='replace').strip()}")
    tmp.replace(path)


def wait_all(guests: Sequence[Guest], timeout: float = 60) -> list[GuestResult]:
    """Wait for every guest, within one deadline for all; kill those still running then.

    A guest's :class:`GuestError` is raised only once every guest has stopped, so all
    the logs are complete; after a failure every guest keeps its folder.
    """
    deadline = time.monotonic() + timeout
    results: list[GuestResult] = []
    first: GuestError | None = None
    for guest in guests:
        try:
            results.append(guest.wait(max(0.1, deadline - time.monotonic())))
        except GuestError as exc:
            first = first or exc
    if first is not None:
        for guest in guests:
            guest.keep = True
        raise first
    return results

