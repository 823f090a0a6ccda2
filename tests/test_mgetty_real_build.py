"""The real thing: build-mgetty on the upstream tarball from Debian's sources (slow: one build per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialup_admin.paths import Paths
from dialup_admin.system import mgetty as mgetty_sys
from tests.support.mgetty import SOURCE_CACHE, BuiltMgetty, build_real_once
from tests.support.tool import run_tool

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuiltMgetty:
    return build_real_once(tmp_path_factory)


def test_real_build_has_auto_ppp(built: BuiltMgetty) -> None:
    data = built.binary.read_bytes()
    assert "AUTO_PPP" in mgetty_sys.features(data)
    assert mgetty_sys.version(data) == "1.2.1"
    assert built.result["auto_ppp"] is True
    assert "patched logfile.c: sys_errlist/sys_nerr -> strerror(errnr) (glibc 2.32 removed them)" in built.result["notes"]
    assert "policy.h: enabled #define AUTO_PPP" in built.result["notes"]


def test_setup_server_picks_the_built_binary(built: BuiltMgetty) -> None:
    layout = mgetty_sys.detect(Paths(built.root))
    assert layout.binary == "/usr/local/sbin/mgetty"
    assert layout.config_dir == "/usr/local/etc/mgetty+sendfax"
    assert layout.log_pattern == "/var/log/mgetty.%s"
    assert layout.auto_ppp
    assert built.result["picked_by_setup_server"] is True


def test_real_binary_reports_its_paths(built: BuiltMgetty) -> None:
    import subprocess

    out = subprocess.run([str(built.binary), "-V"], capture_output=True, timeout=10)
    text = (out.stdout + out.stderr).decode()
    assert "stable release 1.2.1" in text
    assert "/usr/local/etc/mgetty+sendfax/mgetty.config" in text


def test_config_templates_installed_private(built: BuiltMgetty) -> None:
    conf = built.root / "usr/local/etc/mgetty+sendfax"
    for name in ("login.config", "mgetty.config"):
        assert oct((conf / name).stat().st_mode & 0o777) == "0o600"


def test_from_debian_dry_run_uses_the_cache(built: BuiltMgetty, root: Path) -> None:
    proc = run_tool("--root", str(root), "--dry-run", "build-mgetty", "--from-debian",
                    "--download-dir", str(SOURCE_CACHE), "--force")  # fmt: skip
    out = proc.stdout.decode()
    assert proc.returncode == 0, proc.stderr
    assert "mgetty_1.2.1.orig.tar.gz (SHA-256 matches mgetty_1.2.1-1.2.dsc)" in out
    assert "enable #define AUTO_PPP in policy.h" in out


def test_from_debian_builds_from_the_cache(built: BuiltMgetty, root: Path, tmp_path: Path) -> None:
    import json

    proc = run_tool("--root", str(root), "--json", "build-mgetty", "--from-debian",
                    "--download-dir", str(SOURCE_CACHE), "--force", env={"TMPDIR": str(tmp_path)})  # fmt: skip
    assert proc.returncode == 0, proc.stderr.decode()
    data = json.loads(proc.stdout)
    assert data["auto_ppp"] and data["source"].endswith("mgetty_1.2.1.orig.tar.gz")
    assert "matches mgetty_1.2.1-1.2.dsc" in proc.stderr.decode() + proc.stdout.decode()


def _apt_state() -> dict[str, float]:
    state: dict[str, float] = {}
    for d in (Path("/etc/apt"), Path("/var/lib/apt/lists"), Path("/var/cache/apt")):
        for p in d.rglob("*") if d.is_dir() else []:
            if p.is_file() and "archives" not in p.parts:
                state[str(p)] = p.stat().st_mtime
    return state


def test_apt_source_fetch_leaves_the_machine_alone(built: BuiltMgetty, tmp_path: Path) -> None:
    import shutil

    from dialup_admin.errors import UserError
    from dialup_admin.mgetty import source

    dest = tmp_path / "fetch"
    if (SOURCE_CACHE / "apt").is_dir():  # reuse the lists: apt then only revalidates them
        shutil.copytree(SOURCE_CACHE / "apt", dest / "apt")
    before = _apt_state()
    try:
        got = source.fetch_debian(dest, Paths(), reuse=False)
    except UserError as exc:
        pytest.skip(f"no access to the Debian archive: {exc}")
    assert _apt_state() == before
    assert got.tarball.name == "mgetty_1.2.1.orig.tar.gz"
    assert source.sha256_file(got.tarball) == got.sha256
    text = (dest / "apt" / "sources.list").read_text()
    assert text.startswith("deb-src ") and "bookworm main" in text
