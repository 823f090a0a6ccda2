"""Starting programs: the one place the tool does it. Never through a shell; secrets only on stdin.

Every program the tool starts goes through one of these, and nothing else in the
package starts processes (tests/test_process_starts.py checks the source):

- :func:`run`: run to the end, output captured (the usual case);
- :func:`stream`: run to the end, output passed on line by line as it comes (a log
  file, a progress callback) or straight to the user's terminal;
- :func:`background`: start and return at once (a UML guest, ``journalctl -f``);
  the :class:`Background` handle has the pid, ``wait`` and ``stop``;
- :func:`spawn`: a program on a pty under pexpect (pppd, whose log ``dial`` follows);
- :func:`exec_program`: replace this process (``answer`` handing a call to pppd).

Each start is announced to :data:`observers` first, so a test can see every command
the tool runs (:func:`recording`) while the programs still really run.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Literal, NoReturn, TypeAlias

from dialup_admin.errors import UserError

if TYPE_CHECKING:
    import pexpect

# Which Debian package provides a program the tool runs, for the "not found" message.
PACKAGE_OF = {
    "pppd": "ppp",
    "chat": "ppp",
    "pppstats": "ppp",
    "mgetty": "mgetty",
    "useradd": "passwd",
    "usermod": "passwd",
    "userdel": "passwd",
    "groupadd": "passwd",
    "chpasswd": "passwd",
    "telinit": "sysvinit-core or systemd-sysv",
    "systemctl": "systemd",
    "nft": "nftables",
    "linux.uml": "user-mode-linux",
    "busybox": "busybox-static",
    "make": "make",
    "cc": "build-essential",
    "gcc": "build-essential",
    "apt-get": "apt",
    "ip": "iproute2",
    "mkfs.ext4": "e2fsprogs",
    "dpkg-deb": "dpkg",
    "freeradius": "freeradius",
    "radclient": "freeradius-utils",
    "radtest": "freeradius-utils",
}


def which(program: str) -> str | None:
    """Find ``program`` on PATH, also in the sbin directories a non-root PATH lacks."""
    found = shutil.which(program)
    if found:
        return found
    extra = os.pathsep.join(("/usr/local/sbin", "/usr/sbin", "/sbin"))
    return shutil.which(program, path=extra)


def require(program: str) -> str:
    """The full path of ``program``, or a one-line error naming the package to install."""
    found = which(program)
    if found is None:
        pkg = PACKAGE_OF.get(program)
        hint = f" (install it: apt-get install {pkg})" if pkg else ""
        raise UserError(f"{program} not found{hint}")
    return found


How = Literal["run", "stream", "background", "spawn", "exec"]


@dataclass(frozen=True)
class Start:
    """One program the tool starts: how (which function of this module), its argv, where."""

    how: How
    argv: tuple[str, ...]
    cwd: str | None = None

    @property
    def program(self) -> str:
        """The program's name without its directory: ``/usr/sbin/useradd`` -> ``useradd``."""
        return os.path.basename(self.argv[0])


# Called with every Start before the program starts. Tests add to it (see recording());
# the tool itself never does.
observers: list[Callable[[Start], None]] = []


def _announce(how: How, argv: Sequence[str], cwd: str | Path | None = None) -> None:
    start = Start(how, tuple(argv), str(cwd) if cwd is not None else None)
    for observe in list(observers):
        observe(start)


@contextlib.contextmanager
def recording() -> Iterator[list[Start]]:
    """Collect every program started inside the ``with`` block (they still run)."""
    starts: list[Start] = []

    def observe(start: Start) -> None:
        starts.append(start)

    observers.append(observe)
    try:
        yield starts
    finally:
        observers.remove(observe)


# What run() returns, for callers that name it without importing subprocess.
Completed: TypeAlias = "subprocess.CompletedProcess[bytes]"


class TimedOut(UserError):
    """A program did not finish in time (it was killed); the message says which and how long."""


def _resolved(argv: Sequence[str]) -> list[str]:
    """``argv`` with its program as a full path (looked up on PATH and in sbin), or a one-line error."""
    exe = argv[0] if "/" in argv[0] else require(argv[0])
    return [exe, *argv[1:]]


def run(
    argv: Sequence[str],
    *,
    stdin: bytes | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    timeout: float | None = 300,
    cwd: str | Path | None = None,
) -> Completed:
    """Run ``argv`` (no shell) with its output captured; on failure raise a one-line :class:`UserError`.

    Secrets go in ``stdin``, never in ``argv``: argv is visible to every user in ``ps``.
    After ``timeout`` seconds the program is killed and :class:`TimedOut` raised.
    """
    full = _resolved(argv)
    _announce("run", full, cwd)
    try:
        proc = subprocess.run(
            full,
            input=stdin if stdin is not None else b"",
            capture_output=True,
            env=dict(env) if env is not None else None,
            timeout=timeout,
            check=False,
            cwd=cwd,
        )
    except FileNotFoundError:
        raise UserError(f"{argv[0]} not found") from None
    except subprocess.TimeoutExpired:
        raise TimedOut(f"{argv[0]} did not finish within {timeout:.0f} s") from None
    if check and proc.returncode != 0:
        raise UserError(f"{' '.join(argv[:2])} failed (exit {proc.returncode}): {last_line(proc.stderr or proc.stdout)}")
    return proc


def stream(
    argv: Sequence[str],
    *,
    cwd: str | Path | None = None,
    log: IO[bytes] | None = None,
    on_line: Callable[[bytes], None] | None = None,
    stdin: bytes | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
) -> int:
    """Run ``argv`` (no shell) to its end, passing its output on as it comes; return its exit status.

    Its stdout and stderr, merged, go line by line (each with its newline) to ``log``
    and then to ``on_line``. With neither, the program shares our terminal (stdin,
    stdout, stderr) and the user sees it live. ``stdin`` is fed to the program (secrets
    go there, never in argv); else its stdin is /dev/null. After ``timeout`` seconds it
    is killed and :class:`TimedOut` raised.
    """
    full = _resolved(argv)
    passes = log is not None or on_line is not None
    _announce("stream", full, cwd)
    try:
        proc = subprocess.Popen(
            full,
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdin=subprocess.PIPE if stdin is not None else (subprocess.DEVNULL if passes else None),
            stdout=subprocess.PIPE if passes else None,
            stderr=subprocess.STDOUT if passes else None,
        )
    except FileNotFoundError:
        raise UserError(f"{argv[0]} not found") from None
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        if stdin is not None:
            assert proc.stdin is not None
            threading.Thread(target=_feed, args=(proc.stdin, stdin), daemon=True).start()
        if proc.stdout is not None:
            _pass_lines(proc.stdout.fileno(), deadline, log, on_line)
            proc.stdout.close()
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        return proc.wait(timeout=left)
    except subprocess.TimeoutExpired:
        raise TimedOut(f"{argv[0]} did not finish within {timeout:.0f} s") from None
    finally:
        if proc.returncode is None:  # timed out, or we were interrupted (Ctrl-C): it must not outlive us
            proc.kill()
            proc.wait()


def _feed(pipe: IO[bytes], data: bytes) -> None:
    with contextlib.suppress(BrokenPipeError):
        pipe.write(data)
    with contextlib.suppress(BrokenPipeError):
        pipe.close()


def _pass_lines(fd: int, deadline: float | None, log: IO[bytes] | None,
                on_line: Callable[[bytes], None] | None) -> None:
    """Read ``fd`` to its end, giving each line to ``log`` and ``on_line``; TimeoutExpired at ``deadline``."""
    partial = b""

    def emit(line: bytes) -> None:
        if log is not None:
            log.write(line)
        if on_line is not None:
            on_line(line)

    while True:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise subprocess.TimeoutExpired("", 0)
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        *lines, partial = (partial + chunk).split(b"\n")
        for line in lines:
            emit(line + b"\n")
    if partial:
        emit(partial)


class Background:
    """A program :func:`background` started: its pid, its output pipe if asked for, wait and stop."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self._proc = proc

    @property
    def pid(self) -> int:
        return self._proc.pid

    @property
    def returncode(self) -> int | None:
        """The exit status once :meth:`wait` or :meth:`poll` has reaped it, else None."""
        return self._proc.returncode

    @property
    def stdout_fd(self) -> int:
        """The read end of its output pipe (``stdout="pipe"`` only)."""
        assert self._proc.stdout is not None, "started without stdout='pipe'"
        return self._proc.stdout.fileno()

    def poll(self) -> int | None:
        return self._proc.poll()

    def wait(self, timeout: float | None = None) -> int | None:
        """Wait for it to exit and reap it: its exit status, or None if still running after ``timeout`` s."""
        try:
            return self._proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, grace: float = 5) -> int:
        """SIGTERM, and SIGKILL if it has not exited after ``grace`` s; reaped either way."""
        self._proc.terminate()
        try:
            return self._proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            return self._proc.wait()


def background(
    argv: Sequence[str],
    *,
    stdout: Literal["pipe", "null"] | IO[bytes] = "null",
    stderr: Literal["stdout", "null"] = "null",
    cwd: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    pass_fds: Sequence[int] = (),
    new_session: bool = False,
) -> Background:
    """Start ``argv`` (no shell, stdin /dev/null) and return at once; the caller waits or stops it.

    ``stdout`` is a pipe to read (:attr:`Background.stdout_fd`), /dev/null, or an open
    file; ``stderr`` joins stdout or goes to /dev/null. ``new_session`` gives the program
    its own session and process group: no controlling terminal, no ^C from ours, and
    one killpg() reaches everything it forks.
    """
    full = _resolved(argv)
    _announce("background", full, cwd)
    out: int | IO[bytes] = {"pipe": subprocess.PIPE, "null": subprocess.DEVNULL}[stdout] \
        if isinstance(stdout, str) else stdout
    try:
        proc = subprocess.Popen(
            full,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT if stderr == "stdout" else subprocess.DEVNULL,
            cwd=cwd,
            env=dict(env) if env is not None else None,
            pass_fds=tuple(pass_fds),
            start_new_session=new_session,
        )
    except FileNotFoundError:
        raise UserError(f"{argv[0]} not found") from None
    return Background(proc)


def spawn(argv: Sequence[str], *, timeout: float, controlling_tty: bool = True) -> pexpect.spawn[str]:
    """Start ``argv`` on a pty under pexpect (text, UTF-8, bad bytes replaced, no echo).

    With ``controlling_tty=False`` the pty is the program's stdin and stdout but not its
    controlling terminal, and the program leads no session (see :func:`_pty_not_controlling`).
    """
    import pexpect  # here: it is slow to import and only dial needs it

    full = _resolved(argv)
    _announce("spawn", full)
    return pexpect.spawn(full[0], full[1:], encoding="utf-8", codec_errors="replace", echo=False,
                         timeout=timeout, preexec_fn=None if controlling_tty else _pty_not_controlling)


def _pty_not_controlling() -> None:
    """In pexpect's child, before exec: keep the pty as the program's stdio, but never as a
    terminal the program's session controls, and keep the program from leading a session.

    pexpect makes the child a session leader with the pty as its controlling terminal.
    Run as such, pppd goes wrong twice: a session leader without a terminal that opens
    /dev/ttyS0 makes the port its controlling terminal, so when the foreground pppd
    exits after ``updetach`` the kernel hangs the port up under the detached child
    ("Modem hangup"); and with the pty as its terminal, its exit sends SIGHUP to the
    child before the child's setsid(). So: drop the pty as controlling terminal, then
    fork; this process stays the (terminal-less) session leader, waits and passes on
    the program's exit status and our signals; the program, exec'd in the child, leads
    nothing. (The one fork outside subprocess and pexpect: it starts no new program.)
    """
    import fcntl
    import signal
    import termios

    old = signal.signal(signal.SIGHUP, signal.SIG_IGN)  # TIOCNOTTY sends the leader SIGHUP
    try:
        fcntl.ioctl(0, termios.TIOCNOTTY)
    except OSError:
        pass
    signal.signal(signal.SIGHUP, old)
    pid = os.fork()
    if pid == 0:
        return  # go on to exec the program
    # pexpect's parent waits for exec on a close-on-exec pipe: this process never execs,
    # so it must drop its copy, or the parent would wait for the program to finish.
    os.closerange(3, 65536)
    try:
        def forward(signum: int, _frame: object) -> None:
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass

        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, forward)
        while True:
            try:
                _, wstatus = os.waitpid(pid, 0)
                break
            except InterruptedError:
                continue
        code = os.waitstatus_to_exitcode(wstatus)
        os._exit(code if code >= 0 else 128 - code)
    except BaseException:
        os._exit(1)


def exec_program(argv: Sequence[str]) -> NoReturn:
    """Replace this process by ``argv`` (``argv[0]`` a full path); does not return.

    The caller sets up the file descriptors and session first (they are inherited).
    """
    _announce("exec", argv)
    os.execv(argv[0], list(argv))


def last_line(output: bytes) -> str:
    lines = [ln.strip() for ln in output.decode(errors="replace").splitlines() if ln.strip()]
    return lines[-1] if lines else "no output"
