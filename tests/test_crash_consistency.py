"""Issue 11: SIGKILL at every point of an apply, then rollback or a re-run.

The real command runs under ``strace``, which delivers SIGKILL as the process enters its
N-th ``rename`` (every journal write and every file replace ends in one) or its N-th
``wait4`` (right after each account command, groupadd/useradd/chpasswd, has finished),
for N = 1, 2, ... until the command runs to its end untouched. After each kill:

* every file the tool writes is wholly old or wholly new, and the account databases
  shadow-utils rewrites are whole (every line complete, passwd and shadow naming the
  same users, group and gshadow the same groups);
* ``rollback`` gives back the tree as it was before the command (homes made by
  ``useradd -m`` aside, as documented), with no temp file left;
* re-running the command instead gives the tree an uninterrupted run gives (the next
  changing command first undoes the interrupted one), with no temp file left.

The figures (kill points tried, inconsistencies found) are printed with ``-s``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.accounts import make_db, shadow_hash, verify
from tests.support.tool import REPO, TOOL
from tests.support.trees import Snapshot, snapshot

STRACE = shutil.which("strace")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(1800),
    pytest.mark.skipif(STRACE is None, reason="strace is not installed (apt-get install strace)"),
    pytest.mark.skipif(os.geteuid() != 0, reason="useradd --prefix needs root"),
]

MGETTY = "/sbin/mgetty"
PW = b"s3cret-Pw\n"
SETUP = ["setup-server", "--tty", "ttyS1", "--tty", "ttyS3", "--init", "inittab", "--mgetty", MGETTY]
ADDUSER = ["adduser", "dreamcast", "--password-stdin", "--ip", "192.168.32.9"]
DATABASES = {"etc/passwd": 7, "etc/shadow": 9, "etc/group": 4, "etc/gshadow": 4,
             "etc/passwd-": 7, "etc/shadow-": 9, "etc/group-": 4, "etc/gshadow-": 4}
STATE = "var/lib/dialup-admin"
# shadow-utils' lckpwdf() file: made by the first account command, kept by design.
KEPT_LOCK = "etc/.pwd.lock"
TEMP_RE = re.compile(r"(\.dialup-admin\.[0-9]+\.(tmp|lnk)$)|(\+$)|(\.lock$)")
ENV = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")


def tool(root: Path, argv: list[str], *, stdin: bytes = b"", kill: tuple[str, int] | None = None
         ) -> subprocess.CompletedProcess[bytes]:
    cmd = [*TOOL, "--root", str(root), *argv]
    if kill is not None:
        syscall, n = kill
        assert STRACE is not None
        cmd = [STRACE, "-qq", "-o", "/dev/null", "-e", f"trace={syscall}",
               "-e", f"inject={syscall}:signal=KILL:when={n}", *cmd]
    return subprocess.run(cmd, input=stdin, capture_output=True, env=ENV, cwd=REPO, timeout=300)


STATE_PARENTS = {"var", "var/lib"}


def copy(src: Path, dst: Path) -> None:
    """cp -a: owners kept (a plain copy would give the homes of ppp and fax to root)."""
    subprocess.run(["cp", "-a", str(src), str(dst)], check=True)


def files(snap: Snapshot, *, homes: bool = True) -> Snapshot:
    """The tree without the tool's own state folder (journals, run lock) and the folders made
    for it, shadow-utils' lock file, and (unless ``homes``) /home: rollback leaves those."""
    return {k: v for k, v in snap.items()
            if not k.startswith(STATE) and k not in STATE_PARENTS and k != KEPT_LOCK
            and (homes or not (k == "home" or k.startswith("home/")))}


def journals(root: Path) -> list[str]:
    d = root / STATE / "journal"
    return sorted(p.name for p in d.iterdir()) if d.is_dir() else []


def temp_files(root: Path) -> list[str]:
    return [k for k in snapshot(root) if k != KEPT_LOCK and not k.startswith(STATE) and TEMP_RE.search(k)]


def torn(crashed: Snapshot, old: Snapshot, new: Snapshot) -> list[str]:
    """Files that are neither wholly old nor wholly new (account databases: not whole)."""
    bad = []
    for rel in sorted(set(crashed) | set(old) | set(new)):
        if rel.startswith(STATE) or rel == KEPT_LOCK or TEMP_RE.search(rel) or rel.startswith("home"):
            continue
        got = crashed.get(rel)
        if rel in DATABASES:
            if got is not None and not _whole(got[4], DATABASES[rel]):
                bad.append(f"{rel} is not whole")
            continue
        if got != old.get(rel) and got != new.get(rel):
            bad.append(f"{rel} is neither old nor new")
    names = {db: {ln.split(":")[0] for ln in crashed[db][4].decode().splitlines()}
             for db in ("etc/passwd", "etc/shadow", "etc/group", "etc/gshadow") if db in crashed}
    if names.get("etc/passwd") != names.get("etc/shadow"):
        bad.append("passwd and shadow name different users")
    if names.get("etc/group") != names.get("etc/gshadow"):
        bad.append("group and gshadow name different groups")
    return bad


def _differ(a: Snapshot, b: Snapshot) -> list[str]:
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))[:6]


def _whole(data: bytes, fields: int) -> bool:
    return data.endswith(b"\n") and all(len(ln.split(b":")) == fields for ln in data.splitlines())


def _masked(snap: Snapshot) -> Snapshot:
    """Password hashes differ from run to run (salt): compare shadow files without them."""
    out = dict(snap)
    for rel in ("etc/shadow", "etc/shadow-"):
        if rel in out:
            kind, mode, uid, gid, data = out[rel]
            lines = [re.sub(rb"^([^:]*):\$[^:]*:", rb"\1:HASH:", ln) for ln in data.splitlines(keepends=True)]
            out[rel] = (kind, mode, uid, gid, b"".join(lines))
    return out


def run_kill_points(tmp_path: Path, base: Path, argv: list[str], stdin: bytes, syscall: str) -> tuple[int, list[str]]:
    """Kill ``argv`` at every ``syscall`` in turn; return (kill points tried, inconsistencies)."""
    final = tmp_path / "final"
    copy(base, final)
    assert tool(final, argv, stdin=stdin).returncode == 0
    old, new = snapshot(base), snapshot(final)
    problems: list[str] = []
    n = 0
    while True:
        n += 1
        crashed = tmp_path / f"{syscall}-{n}"
        copy(base, crashed)
        proc = tool(crashed, argv, stdin=stdin, kill=(syscall, n))
        if proc.returncode == 0:  # ran to its end: no N-th call
            shutil.rmtree(crashed)
            return n - 1, problems
        assert proc.returncode in (-9, 137), (n, proc.returncode, proc.stderr.decode())
        where = f"{argv[0]} killed at {syscall} #{n}"
        problems += [f"{where}: {p}" for p in torn(snapshot(crashed), old, new)]

        back = tmp_path / f"{syscall}-{n}-rollback"
        copy(crashed, back)
        res = tool(back, ["rollback"])
        if res.returncode != 0:
            problems.append(f"{where}: rollback failed: {res.stderr.decode().strip()}")
        elif files(snapshot(back), homes=False) != files(old, homes=False) or journals(back) != journals(base):
            problems.append(f"{where}: rollback did not give back the tree as it was: "
                            f"{_differ(files(snapshot(back), homes=False), files(old, homes=False))}")
        problems += [f"{where}: rollback left {t}" for t in temp_files(back)]

        again = tmp_path / f"{syscall}-{n}-rerun"
        copy(crashed, again)
        res = tool(again, argv, stdin=stdin)
        if res.returncode != 0:
            problems.append(f"{where}: re-run failed: {res.stderr.decode().strip()}")
        elif _masked(files(snapshot(again))) != _masked(files(new)) or journals(again) != journals(final):
            problems.append(f"{where}: re-run did not give the tree an uninterrupted run gives: "
                            f"{_differ(_masked(files(snapshot(again))), _masked(files(new)))}")
        elif b"$" in (again / "etc/shadow").read_bytes() and b"dreamcast" in (again / "etc/shadow").read_bytes():
            h = shadow_hash(again, "dreamcast")
            if h is None or not verify(PW.decode().strip(), h):
                problems.append(f"{where}: re-run: the password does not check")
        problems += [f"{where}: re-run left {t}" for t in temp_files(again)]
        for d in (crashed, back, again):
            shutil.rmtree(d)


@pytest.fixture(scope="module")
def server_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("crash") / "base"
    make_db(root)
    (root / "etc/inittab").write_text("id:2:initdefault:\n")
    return root


@pytest.fixture(scope="module")
def user_base(server_base: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("crash-user") / "base"
    copy(server_base, root)
    assert tool(root, SETUP).returncode == 0
    return root


FIGURES: dict[str, tuple[int, int]] = {}


@pytest.mark.parametrize("syscall", ["rename", "wait4"])
@pytest.mark.parametrize("command", ["setup-server", "adduser"])
def test_sigkill_at_every_point(tmp_path: Path, server_base: Path, user_base: Path, command: str,
                                syscall: str) -> None:
    base, argv, stdin = (server_base, SETUP, b"") if command == "setup-server" else (user_base, ADDUSER, PW)
    tried, problems = run_kill_points(tmp_path, base, argv, stdin, syscall)
    FIGURES[f"{command}/{syscall}"] = (tried, len(problems))
    print(f"\n{command}: SIGKILL at each {syscall}: {tried} kill points tried, {len(problems)} inconsistencies found")
    print(f"figures so far: {FIGURES}", file=sys.stderr)
    assert tried >= (2 if syscall == "wait4" else 10)
    assert not problems, "\n".join(problems)
