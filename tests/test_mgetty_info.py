"""mgetty-info and the binary inspection behind it; Debian source lookup (no network)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dialup_admin.errors import BadInput, UserError
from dialup_admin.mgetty import source
from dialup_admin.paths import Paths
from dialup_admin.system import mgetty as mgetty_sys
from tests.support.mgetty import fake_binary, fake_source, tarball_of
from tests.support.tool import RunCli, run_tool

DEBIAN_MGETTY = Path("/sbin/mgetty")


def test_features_from_the_log_string() -> None:
    assert mgetty_sys.features(b"x\x00getlogname (FIDO AUTO_PPP), read:\x00/AutoPPP/\x00") == ("AUTO_PPP", "FIDO")
    assert mgetty_sys.features(b"getlogname (no opts), read:\x00") == ()
    assert mgetty_sys.version(b"\x00stable release 1.1.37\x00") == "1.1.37"
    assert mgetty_sys.lock_pattern(b"\x00/var/lock/LCK..%s\x00") == "/var/lock/LCK..%s"


@pytest.mark.skipif(not DEBIAN_MGETTY.is_file(), reason="Debian's mgetty is not installed")
def test_debian_binary_has_auto_ppp() -> None:
    data = DEBIAN_MGETTY.read_bytes()
    assert "AUTO_PPP" in mgetty_sys.features(data)
    layout = mgetty_sys.inspect_binary(data, "/sbin/mgetty")
    assert layout.config_dir == "/etc/mgetty" and layout.auto_ppp


@pytest.mark.skipif(not DEBIAN_MGETTY.is_file(), reason="Debian's mgetty is not installed")
def test_info_on_the_host(run: RunCli) -> None:
    res = run("mgetty-info", use_root=False)
    assert res.exit_code == 0, res.output
    assert "AUTO_PPP      yes" in res.output
    assert "/etc/mgetty" in res.output


def test_info_json_for_a_build_without_auto_ppp(root: Path) -> None:
    fake_binary(root, "/usr/local/sbin/mgetty", False, "/usr/local/etc/mgetty+sendfax")
    proc = run_tool("--root", str(root), "--json", "mgetty-info")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    sel = data["selected"]
    assert sel["binary"] == "/usr/local/sbin/mgetty" and sel["auto_ppp"] is False
    assert sel["version"] == "1.1.37" and sel["features"] == []
    assert sel["config_dir"] == "/usr/local/etc/mgetty+sendfax"
    assert sel["login_config"] == {"path": "/usr/local/etc/mgetty+sendfax/login.config", "exists": False}
    assert sel["from_host"] is False


def test_info_text_warns_without_auto_ppp_and_about_login_config_mode(root: Path, run: RunCli) -> None:
    fake_binary(root, "/usr/local/sbin/mgetty", False, "/usr/local/etc/mgetty+sendfax")
    lc = root / "usr/local/etc/mgetty+sendfax/login.config"
    lc.parent.mkdir(parents=True)
    lc.write_text("/AutoPPP/ - ppp /usr/sbin/pppd\n")
    lc.chmod(0o644)
    res = run("mgetty-info")
    assert res.exit_code == 0, res.output
    assert "AUTO_PPP      no" in res.output
    assert "has no AUTO_PPP" in res.output and "build-mgetty" in res.output
    assert "must be owned by root and mode 0600" in res.output


def test_info_explicit_binary(root: Path, run: RunCli) -> None:
    fake_binary(root, "/opt/mg/sbin/mgetty", True, "/opt/mg/etc/mgetty+sendfax")
    res = run("mgetty-info", "--mgetty", "/opt/mg/sbin/mgetty")
    assert res.exit_code == 0, res.output
    assert "mgetty used by setup-server: /opt/mg/sbin/mgetty" in res.output
    assert "/opt/mg/etc/mgetty+sendfax" in res.output


def test_info_missing_explicit_binary(root: Path) -> None:
    proc = run_tool("--root", str(root), "mgetty-info", "--mgetty", "/nope/mgetty")
    assert proc.returncode == 1 and b"does not exist" in proc.stderr and b"Traceback" not in proc.stderr


def test_installed_lists_each_binary_once(root: Path) -> None:
    fake_binary(root, "/usr/local/sbin/mgetty", True, "/usr/local/etc/mgetty+sendfax")
    found = [m.binary for m in mgetty_sys.installed(Paths(root))]
    assert found[0] == "/usr/local/sbin/mgetty"
    assert len(found) == len(set(found))


# --- Debian source lookup -------------------------------------------------------------------
DSC = """\
Format: 3.0 (quilt)
Source: mgetty
Checksums-Sha256:
 498796cc70b3f8fbdc5430ca77ddeee1d54028f4dde742f3a487726fd925a01f 1176845 mgetty_1.2.1.orig.tar.gz
 bfdf28cdfba004e54a138fe69b17411f68e3d0e357f0bda2e224bcca12222720 56444 mgetty_1.2.1-1.2.debian.tar.xz
Files:
 2bb3c91a663b61a9e7cb3bc031727773 1176845 mgetty_1.2.1.orig.tar.gz
"""


def test_dsc_sha256() -> None:
    sums = source.dsc_sha256(DSC)
    assert sums["mgetty_1.2.1.orig.tar.gz"].startswith("498796cc")
    assert len(sums) == 2


def test_release_source_deb822(root: Path) -> None:
    f = root / "etc/apt/sources.list.d/debian.sources"
    f.parent.mkdir(parents=True)
    f.write_text(
        "Types: deb\n# a comment\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\n"
        "Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n"
        "Types: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\nComponents: main\n"
    )
    src = source.release_source(Paths(root))
    assert src.line() == (
        "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] "
        "http://deb.debian.org/debian bookworm main\n"
    )


def test_release_source_classic(root: Path) -> None:
    f = root / "etc/apt/sources.list"
    f.parent.mkdir(parents=True)
    f.write_text("deb http://security.debian.org/ bookworm-security main\ndeb http://ftp.de.debian.org/debian bookworm main contrib\n")
    assert source.release_source(Paths(root)).line() == "deb-src http://ftp.de.debian.org/debian bookworm main\n"


def test_release_source_none(root: Path) -> None:
    with pytest.raises(UserError, match="cannot tell the distro's archive"):
        source.release_source(Paths(root))


def test_cache_is_used_only_when_it_matches(tmp_path: Path) -> None:
    (tmp_path / "cache").mkdir()
    tgz = tarball_of(fake_source(tmp_path / "src", "1.2"), tmp_path / "cache" / "mgetty_9.9.orig.tar.gz")
    digest = source.sha256_file(tgz)
    (tmp_path / "cache" / "mgetty_9.9-1.dsc").write_text(f"Checksums-Sha256:\n {digest} 1 mgetty_9.9.orig.tar.gz\n")
    hit = source.cached(tmp_path / "cache")
    assert hit is not None and hit.tarball == tgz and hit.sha256 == digest
    (tmp_path / "cache" / "mgetty_9.9-1.dsc").write_text(f"Checksums-Sha256:\n {'0' * 64} 1 mgetty_9.9.orig.tar.gz\n")
    assert source.cached(tmp_path / "cache") is None


def test_apt_options_stay_private(tmp_path: Path) -> None:
    opts = " ".join(source.apt_options(tmp_path))
    assert f"Dir::Etc::SourceList={tmp_path}/sources.list" in opts
    assert "Dir::Etc::SourceParts=/dev/null" in opts
    assert f"Dir::State::Lists={tmp_path}/lists" in opts
    assert "Dir::Cache::pkgcache=" in opts


def test_unpack_refuses_escaping_members(tmp_path: Path) -> None:
    import io
    import tarfile

    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tf:
        for name in ("mgetty-1/mgetty.c", "mgetty-1/Makefile", "mgetty-1/policy.h", "mgetty-1/../../escaped"):
            info = tarfile.TarInfo(name)
            info.size = 1
            tf.addfile(info, io.BytesIO(b"x"))
    (tmp_path / "out").mkdir()
    with pytest.raises(BadInput):
        source.unpack(evil, tmp_path / "out")
    assert not (tmp_path / "escaped").exists()
