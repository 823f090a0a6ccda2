"""Benchmark: a simulated call to real mgetty, from ATD to the AutoPPP program starting.

Prints figures; asserts nothing. Run (as root: mount namespaces): .venv/bin/python -m bench.mgetty_autoppp
Both binaries (Debian's /sbin/mgetty and one built by build-mgetty), each set up with
setup-server only, run isolated as in tests/test_mgetty_autoppp.py.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dialup_admin.modem.simulator import PhoneLine
from tests.support.mgetty import (
    Isolated,
    compile_recorder,
    inittab_argv,
    lcp_configure_request,
    read_record,
    real_tarball,
    start_mgetty,
    stop_mgetty,
)
from tests.support.modem import Terminal
from tests.support.tool import REPO


def build(into: Path) -> Path:
    tmp = into.parent / "build-tmp"
    tmp.mkdir(parents=True)
    into.mkdir()
    subprocess.run(
        [sys.executable, "-m", "dialup_admin", "--root", str(into), "build-mgetty", str(real_tarball()), "--force"],
        check=True, capture_output=True, env={**os.environ, "TMPDIR": str(tmp)}, cwd=REPO,
    )  # fmt: skip
    return into / "usr/local/sbin/mgetty"


def one_call(base: Path, recorder: Path, binary: Path | None) -> dict[str, float]:
    root = base / "root"
    root.mkdir()
    if binary is not None:
        (root / "usr/local/sbin").mkdir(parents=True)
        shutil.copy2(binary, root / "usr/local/sbin/mgetty")
    subprocess.run(
        [sys.executable, "-m", "dialup_admin", "--root", str(root), "setup-server", "--tty", "ttyS0", "--init", "inittab"],
        check=True, capture_output=True, cwd=REPO,
    )  # fmt: skip
    iso = Isolated.make(base)
    binds: list[tuple[Path | str, str]] = [
        (iso.run_dir, "/run"), (iso.log_dir, "/var/log"), (recorder, "/usr/sbin/pppd"), (recorder, "/bin/login"),
    ]  # fmt: skip
    if binary is not None:
        binds += [(root / "usr/local/sbin", "/usr/local/sbin"), (root / "usr/local/etc", "/usr/local/etc")]
        log = iso.log_dir / "mgetty.ttyS0"
    else:
        binds.append((root / "etc/mgetty", "/etc/mgetty"))
        log = iso.log_dir / "mgetty/mg_ttyS0.log"
    with PhoneLine({"11": None, "12": None}) as line:
        t_start = time.monotonic()
        proc = start_mgetty(inittab_argv(root), [*binds, (line.pty("11"), "/dev/ttyS0")])
        try:
            while not (log.exists() and "waiting..." in log.read_text(errors="replace")):
                if time.monotonic() - t_start > 30:
                    raise RuntimeError("mgetty did not get ready")
                time.sleep(0.02)
            ready = time.monotonic() - t_start
            port = Terminal(line.port("12"))
            atd = time.time()
            t0 = time.monotonic()
            port.send(b"ATDT11\r")
            port.expect(b"CONNECT", 30)
            t_connect = time.monotonic() - t0
            port.expect(b"login:", 30)
            t_login = time.monotonic() - t0
            port.send(lcp_configure_request())
            while (rec := read_record(iso.run_dir)) is None:
                if time.monotonic() - t0 > 30:
                    raise RuntimeError("AutoPPP program not started")
                time.sleep(0.01)
            port.close()
        finally:
            stop_mgetty(proc)
    return {"ready": ready, "connect": t_connect, "login": t_login, "autoppp": rec.started - atd}


def main(repeat: int = 5) -> None:
    if os.geteuid() != 0:
        print("needs root (private mount namespaces)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        recorder = compile_recorder(base)
        built = build(base / "build")
        for name, binary in (("Debian /sbin/mgetty", None), ("built /usr/local/sbin/mgetty", built)):
            runs = []
            for i in range(repeat):
                d = base / f"{name.split()[0]}-{i}"
                d.mkdir()
                runs.append(one_call(d, recorder, binary))
            print(f"{name}, {repeat} calls (median, min-max seconds):")
            for key, label in (("ready", "mgetty start to waiting for RING"), ("connect", "ATD to CONNECT"),
                               ("login", "ATD to login: prompt"), ("autoppp", "ATD to AutoPPP program start")):
                vals = [r[key] for r in runs]
                print(f"  {label:<34} {statistics.median(vals):6.2f}  ({min(vals):.2f}-{max(vals):.2f})")


if __name__ == "__main__":
    main()
