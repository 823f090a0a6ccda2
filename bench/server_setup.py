"""Benchmarks for the foundation: CLI cold start and setup-server on 64 lines.

Prints figures; asserts nothing. Run: .venv/bin/python -m bench.server_setup
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time


def timed(cmd: list[str], repeat: int = 7) -> float:
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def main() -> None:
    click_only = timed([sys.executable, "-c", "import click"])
    help_ = timed([sys.executable, "-m", "dialup_admin", "--help"])
    print(f"cold start: python -c 'import click'   {click_only * 1000:7.1f} ms (median of 7)")
    print(f"cold start: dialup-admin --help         {help_ * 1000:7.1f} ms  ratio {help_ / click_only:.2f}x")
    ttys = [a for i in range(64) for a in ("--tty", f"ttyS{i}")]
    with tempfile.TemporaryDirectory() as tmp:
        open(f"{tmp}/inittab", "w").close()
        cmd = [sys.executable, "-m", "dialup_admin", "--root", tmp, "setup-server", *ttys, "--init", "none"]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        first = time.perf_counter() - t0
        again = timed(cmd, repeat=3)
        dry = timed([*cmd, "--dry-run"], repeat=3)
    print(f"setup-server --root, 64 lines: first apply {first * 1000:7.1f} ms, "
          f"re-run {again * 1000:7.1f} ms, --dry-run {dry * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
