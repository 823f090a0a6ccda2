"""Benchmarks for accounts: the secrets parser on a big file, adduser/passwd/deluser wall time.

Prints figures; asserts nothing. Run as root: .venv/bin/python -m bench.accounts [users]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dialup_admin.formats import secrets as fmt
from tests.support.accounts import make_db
from tests.support.tool import TOOL


def parse_figures(n: int = 10000) -> None:
    entries = [fmt.Entry(f"user{i}", "*", f"pw {i} \"q\" \\ é", (f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}",))
               for i in range(n)]
    t0 = time.perf_counter()
    text = fmt.format_entries(entries).encode()
    t1 = time.perf_counter()
    parsed = fmt.parse(text)
    t2 = time.perf_counter()
    assert len(parsed.entries) == n
    t3 = time.perf_counter()
    fmt.lookup(parsed.entries, f"user{n - 1}", "host")
    t4 = time.perf_counter()
    print(f"secrets: {n} entries, {len(text) / 1e6:.2f} MB: write {t1 - t0:.3f} s, "
          f"parse {t2 - t1:.3f} s ({len(text) / (t2 - t1) / 1e6:.2f} MB/s), lookup {(t4 - t3) * 1e3:.2f} ms")


def timed(*args: str, stdin: bytes = b"") -> float:
    t0 = time.perf_counter()
    p = subprocess.run([*TOOL, *args], input=stdin, capture_output=True)
    if p.returncode != 0:
        raise SystemExit(p.stderr.decode())
    return time.perf_counter() - t0


def command_figures(users: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_db(root)
        r = ["--root", str(root)]
        setup = timed(*r, "setup-server", "--tty", "ttyS1", "--init", "none", "--mgetty", "/sbin/mgetty")
        add = [timed(*r, "adduser", f"u{i}", "--password-stdin", stdin=b"bench-password-1\n") for i in range(users)]
        pw = [timed(*r, "passwd", f"u{i}", "--password-stdin", stdin=b"bench-password-2\n") for i in range(users)]
        users_t = timed(*r, "users")
        dele = [timed(*r, "deluser", f"u{i}") for i in range(users)]
        version = timed("--version")

    def s(x: list[float]) -> str:
        return f"median {statistics.median(x):.3f} s, max {max(x):.3f} s"

    print(f"setup-server with accounts (groupadd + 2 useradd -m): {setup:.3f} s")
    print(f"adduser ({users}): {s(add)}")
    print(f"passwd  ({users}): {s(pw)}")
    print(f"users   ({users} users): {users_t:.3f} s")
    print(f"deluser ({users}): {s(dele)}")
    print(f"(python start-up + import, dialup-admin --version: {version:.3f} s)")


if __name__ == "__main__":
    parse_figures()
    command_figures(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
