"""Real mgetty answers a call on the simulated phone line, with only the files setup-server rendered.

Both binaries: Debian's /sbin/mgetty and the one build-mgetty made from the upstream
tarball. Each runs in a private mount namespace (``unshare --mount``) where the
rendered config directory, a private /run (locks, pid file, utmp) and /var/log, and
the simulated port (bound over /dev/ttyS0) replace the compiled-in paths; a small
recording program is bound over /usr/sbin/pppd and /bin/login, so the test sees the
exact argv mgetty hands over. Nothing on the host changes.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dialup_admin.modem.simulator import PhoneLine
from dialup_admin.paths import Paths
from dialup_admin.system import mgetty as mgetty_sys
from tests.support.mgetty import (
    BuiltMgetty,
    Isolated,
    Recorded,
    build_real_once,
    compile_recorder,
    inittab_argv,
    lcp_configure_request,
    read_record,
    start_mgetty,
    stop_mgetty,
)
from tests.support.modem import Terminal
from tests.support.ns import mount_ns_problem
from tests.support.tool import REPO

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(mount_ns_problem() is not None, reason=mount_ns_problem() or ""),
]

TTY = "ttyS0"  # a device node every PC has; the simulated port is bound over it in the namespace
GUIDE_PPPD_ARGV = ["pppd", "auth", "-chap", "+pap", "login", "debug"]


@pytest.fixture(scope="module")
def recorder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return compile_recorder(tmp_path_factory.mktemp("recorder"))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuiltMgetty:
    return build_real_once(tmp_path_factory)


@dataclass
class Server:
    """A --root tree set up by setup-server, and how to run its mgetty isolated."""

    root: Path
    argv: list[str]
    binds: list[tuple[Path | str, str]]
    log: Path  # the mgetty log file, host side


def set_up(flavour: str, base: Path, recorder: Path, built: BuiltMgetty | None) -> Server:
    root = base / "root"
    root.mkdir()
    if flavour == "built":
        assert built is not None
        sbin = root / "usr/local/sbin"
        sbin.mkdir(parents=True)
        shutil.copy2(built.binary, sbin / "mgetty")
    proc = subprocess.run(
        [sys.executable, "-m", "dialup_admin", "--root", str(root), "setup-server", "--tty", TTY, "--init", "inittab"],
        capture_output=True, cwd=REPO, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr.decode()
    layout = mgetty_sys.detect(Paths(root))
    assert layout.binary == ("/usr/local/sbin/mgetty" if flavour == "built" else "/sbin/mgetty")
    iso = Isolated.make(base)
    binds: list[tuple[Path | str, str]] = [
        (iso.run_dir, "/run"),  # /var/lock and /var/run point here: locks, pid file, utmp
        (iso.log_dir, "/var/log"),
        (recorder, "/usr/sbin/pppd"),
        (recorder, "/bin/login"),
    ]
    if flavour == "built":
        binds += [(root / "usr/local/sbin", "/usr/local/sbin"), (root / "usr/local/etc", "/usr/local/etc")]
    else:
        binds.append((root / "etc/mgetty", "/etc/mgetty"))
    log = iso.log_dir / layout.log_file(TTY).removeprefix("/var/log/")
    return Server(root, inittab_argv(root), binds, log)


@dataclass
class Call:
    port: Terminal
    line: PhoneLine
    server: Server
    run_dir: Path
    proc: subprocess.Popen[bytes]
    atd: float = 0.0

    def dial(self) -> None:
        self.atd = time.time()
        self.port.send(b"ATDT11\r")
        self.port.expect(b"CONNECT", timeout=30)

    def record(self, timeout: float = 20.0) -> Recorded:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            rec = read_record(self.run_dir)
            if rec is not None:
                return rec
            time.sleep(0.05)
        raise AssertionError(f"the stand-in was not started; mgetty log:\n{self.log_tail()}")

    def log_tail(self) -> str:
        return self.server.log.read_text(errors="replace")[-3000:] if self.server.log.exists() else "(no log)"


@pytest.fixture(params=["debian", "built"])
def call(request: pytest.FixtureRequest, tmp_path: Path, recorder: Path) -> Iterator[Call]:
    flavour = request.param
    if flavour == "debian" and not Path("/sbin/mgetty").is_file():
        pytest.skip("Debian's mgetty is not installed")
    built = request.getfixturevalue("built") if flavour == "built" else None
    server = set_up(flavour, tmp_path, recorder, built)
    with PhoneLine({"11": None, "12": None}) as line:
        proc = start_mgetty(server.argv, [*server.binds, (line.pty("11"), f"/dev/{TTY}")])
        port: Terminal | None = None
        try:
            line.wait_for("11 port opened", timeout=30)
            _wait_for_log(server, proc, "waiting...")
            port = Terminal(line.port("12"))
            yield Call(port, line, server, tmp_path / "run", proc)
        finally:
            if port is not None:
                port.close()
            out = stop_mgetty(proc)
            print(out.decode(errors="replace"))  # captured; pytest shows it when the test failed


def _wait_for_log(server: Server, proc: subprocess.Popen[bytes], text: str, timeout: float = 30.0) -> None:
    """mgetty has done its init chat and waits for RING when it logs ``waiting...``."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if server.log.exists() and text in server.log.read_text(errors="replace"):
            return
        if proc.poll() is not None:
            raise AssertionError(f"mgetty exited ({proc.returncode}): {stop_mgetty(proc).decode(errors='replace')}")
        time.sleep(0.05)
    raise AssertionError(f"mgetty did not log {text!r}; log:\n{server.log.read_text(errors='replace')[-2000:]}")


def _note_timing(kind: str, binary: str, seconds: float) -> None:
    # A figure, not an assertion (bench/mgetty_autoppp.py measures it properly); shown with -s.
    print(f"{binary}: {kind.replace('_', ' ')} {seconds:.2f} s")


def test_autoppp_hands_the_call_to_pppd(call: Call) -> None:
    call.dial()
    # mgetty discards input for ~0.8 s after CONNECT: its prompt says it is listening.
    call.port.expect(b"login:", timeout=30)
    call.port.send(lcp_configure_request())
    rec = call.record()
    assert rec.argv == GUIDE_PPPD_ARGV, call.log_tail()
    assert rec.tty == f"/dev/{TTY}"  # pppd gets the line as its stdin
    assert call.port.expect(b"RECORDER RAN AS pppd", timeout=10)
    log = call.log_tail()
    assert "/AutoPPP/" in log and "getlogname (" in log and "AUTO_PPP" in log
    _note_timing("atd_to_autoppp", call.server.argv[0], rec.started - call.atd)


def test_plain_text_caller_gets_login(call: Call) -> None:
    call.dial()
    call.port.expect(b"login:", timeout=30)
    assert b"CONNECT 33600" in call.port.seen
    call.port.send(b"alice\r")
    rec = call.record()
    # The rendered "*  -  -  /bin/login @" line: login with the name typed.
    assert rec.argv == ["login", "alice"], call.log_tail()
    _note_timing("atd_to_login", call.server.argv[0], rec.started - call.atd)


def test_the_built_binary_reads_the_rendered_dir(built: BuiltMgetty, tmp_path: Path, recorder: Path) -> None:
    server = set_up("built", tmp_path, recorder, built)
    assert server.argv[0] == "/usr/local/sbin/mgetty"
    lc = server.root / "usr/local/etc/mgetty+sendfax/login.config"
    assert oct(lc.stat().st_mode & 0o777) == "0o600" and lc.stat().st_uid == 0
