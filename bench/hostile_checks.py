"""What the issue-11 checks cost: checked unpacking, links resolved inside --root, journals
checked whole. Prints medians side by side with what people use instead; asserts nothing.

Run: .venv/bin/python -m bench.hostile_checks
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from dialup_admin.mgetty import source
from dialup_admin.paths import Paths
from dialup_admin.system import journals
from dialup_admin.system.files import FileState
from tests.support.tool import REPO


def median(fn: Callable[[], object], repeat: int = 7) -> float:
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def tarball() -> Path | None:
    cache = REPO / ".cache" / "mgetty-src"
    found = sorted(cache.glob("mgetty_*.orig.tar.*")) if cache.is_dir() else []
    return found[0] if found else None


def bench_unpack(tmp: Path) -> None:
    tgz = tarball()
    if tgz is None:
        print("unpack: no mgetty tarball in .cache/mgetty-src (make mgetty-src): skipped")
        return
    n = 0

    def ours() -> None:
        nonlocal n
        n += 1
        out = tmp / f"ours{n}"
        out.mkdir()
        source.unpack(tgz, out)
        shutil.rmtree(out)

    def gnu_tar() -> None:
        nonlocal n
        n += 1
        out = tmp / f"tar{n}"
        out.mkdir()
        subprocess.run(["tar", "-xzf", str(tgz), "-C", str(out)], check=True)
        shutil.rmtree(out)

    def check_only() -> None:
        source.inspect_tarball(tgz)

    a, b, c = median(ours), median(gnu_tar), median(check_only)
    print(f"unpack {tgz.name}: dialup-admin (every member checked first) {a * 1000:7.1f} ms   "
          f"GNU tar -xzf {b * 1000:7.1f} ms   ratio {a / b:.2f}x   (the check alone: {c * 1000:.1f} ms)")


def bench_paths(tmp: Path) -> None:
    root = tmp / "root"
    (root / "srv/ppp").mkdir(parents=True)
    (root / "etc").mkdir()
    os.symlink("/srv/ppp", root / "etc/ppp")
    p = Paths(root)
    names = [f"/etc/ppp/options.ttyS{i}" for i in range(1000)]
    resolved = median(lambda: [p.of(n) for n in names])
    lexical = median(lambda: [root.joinpath(*n.split("/")[1:]) for n in names])
    realpath = median(lambda: [os.path.realpath(root.joinpath(*n.split("/")[1:])) for n in names])
    print(f"--root paths, 1000 names through a link: inside the root {resolved * 1000:6.1f} ms   "
          f"os.path.realpath (follows out of the root) {realpath * 1000:6.1f} ms   plain join {lexical * 1000:6.1f} ms")


def bench_journal(tmp: Path) -> None:
    root = tmp / "jroot"
    jdir = root / "var/lib/dialup-admin/journal/000001"
    jdir.mkdir(parents=True)
    blob = os.urandom(4096)
    state = FileState("file", blob, 0o644, 0, 0).to_json()
    entries = [{"rel": f"etc/ppp/options.ttyS{i}", "state": state, "dir": False} for i in range(200)]
    manifest = {"version": 2, "label": "setup-server", "time": "now", "committed": True, "entries": entries,
                "undo": [["telinit", "q"]]}
    (jdir / "manifest.json").write_text(json.dumps(manifest))
    paths = Paths(root)
    checked = median(lambda: journals.load(paths, jdir))
    plain = median(lambda: json.loads((jdir / "manifest.json").read_bytes()))
    print(f"journal of 200 files (4 KiB each): read and checked whole {checked * 1000:6.1f} ms   "
          f"json.loads alone {plain * 1000:6.1f} ms")


def main() -> None:
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        bench_unpack(tmp)
        bench_paths(tmp)
        bench_journal(tmp)


if __name__ == "__main__":
    main()
