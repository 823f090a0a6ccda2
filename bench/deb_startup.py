"""Benchmark: the installed .deb's cold start, on Debian 12's own python3 and libraries.

Builds the package (make deb), installs it with apt in a fresh Debian 12 chroot (the test
suite's cached minbase tarball, tests/support/deb.py), and times there, each as a new
process: `python3 -c 'import click'` (the floor any click tool pays), `dialup-admin --help`,
`--version`, and one Tab (the completion call bash makes on every key press).
Prints medians; asserts nothing. Needs root (chroot). Run: .venv/bin/python -m bench.deb_startup
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.support.deb import base_tarball, unpack, why_no_chroot
from tests.support.tool import REPO

REPEAT = 21
TIMER = r"""
import os, statistics, subprocess, sys, time
repeat = int(sys.argv[1])
cases = [
    ("python3 -c 'import click'", ["python3", "-c", "import click"], {}),
    ("python3 -c 'pass'", ["python3", "-c", "pass"], {}),
    ("dialup-admin --help", ["dialup-admin", "--help"], {}),
    ("dialup-admin --version", ["dialup-admin", "--version"], {}),
    ("Tab: dialup-admin setup-s", ["dialup-admin"],
     {"_DIALUP_ADMIN_COMPLETE": "bash_complete", "COMP_WORDS": "dialup-admin setup-s", "COMP_CWORD": "1"}),
]
for label, argv, extra in cases:
    env = {**os.environ, **extra}
    subprocess.run(argv, check=True, capture_output=True, env=env)  # page cache and .pyc warm
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True, env=env)
        samples.append(time.perf_counter() - t0)
    print(f"{label}\t{statistics.median(samples) * 1000:.1f}")
"""


def main() -> int:
    why = why_no_chroot()
    if why:
        print(f"deb_startup: skipped: {why}")
        return 0
    with tempfile.TemporaryDirectory(prefix="dialup-bench-") as tmp:
        built = subprocess.run(["make", "-s", "-C", str(REPO), "deb", f"DIST={tmp}/dist", f"DEB_BUILD={tmp}/build"],
                               capture_output=True, text=True)
        if built.returncode != 0:
            print(built.stdout[-2000:] + built.stderr[-2000:], file=sys.stderr)
            return 1
        deb = next(Path(tmp, "dist").glob("dialup-admin_*_all.deb"))
        try:
            tarball = base_tarball(deb)
        except RuntimeError as exc:
            print(f"deb_startup: skipped: {exc}")
            return 0
        ch = unpack(tarball, Path(tmp) / "chroot")
        try:
            shutil.copy(deb, ch.root / "tmp" / deb.name)
            ch.run('apt-get install -y -q --no-install-recommends "/tmp/$1"', deb.name)
            versions = ch.run("python3 --version; dpkg-query -W -f '${Package} ${Version}\\n' "
                              "python3-click python3-jinja2 python3-pexpect dialup-admin").stdout
            rows = [ln.split("\t") for ln in ch.run(f"python3 -c \"$1\" {REPEAT}", TIMER).stdout.splitlines()]
        finally:
            shutil.rmtree(ch.root, ignore_errors=True)
    print("installed .deb in a fresh Debian 12 chroot:", ", ".join(versions.split("\n")).strip(", "))
    floor = float(rows[0][1])
    print(f"{'command (new process each time)':32} {'median ms':>10} {'vs import click':>16}   (median of {REPEAT})")
    for label, ms in rows:
        print(f"{label:32} {float(ms):10.1f} {float(ms) / floor:15.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
