"""Benchmark: build-mgetty on the real upstream tarball (Debian's mgetty_1.2.1.orig.tar.gz).

Prints figures; asserts nothing. Run: .venv/bin/python -m bench.mgetty_build
Fetches the source into .cache/mgetty-src/ on first use (apt-get source, private config).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from dialup_admin.mgetty import source
from tests.support.mgetty import SOURCE_CACHE, real_tarball
from tests.support.tool import REPO


def main(repeat: int = 3) -> None:
    t0 = time.perf_counter()
    cached = source.cached(SOURCE_CACHE) is not None
    tarball = real_tarball()
    fetch = time.perf_counter() - t0
    print(f"source: {tarball.name} ({'from the cache' if cached else 'fetched with apt-get source'}) {fetch:.2f} s")
    total, make = [], []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as root, tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "-m", "dialup_admin", "--root", root, "--json", "build-mgetty", str(tarball), "--force"],
                capture_output=True, check=True, env={**os.environ, "TMPDIR": tmp}, cwd=REPO,
            )  # fmt: skip
            total.append(time.perf_counter() - t0)
            result = json.loads(proc.stdout)
            make.append(result["make_seconds"])
    print(f"build-mgetty (unpack, patch, make -j2 of {result['compiled']} files, install), {repeat} runs on "
          f"{os.cpu_count()} cores: median {statistics.median(total):.2f} s, min {min(total):.2f}, max {max(total):.2f}")
    print(f"  of which make: median {statistics.median(make):.2f} s")


if __name__ == "__main__":
    main()
