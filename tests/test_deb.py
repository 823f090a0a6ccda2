"""`make deb`: the Debian package, its contents, and a real install in a fresh Debian 12 chroot."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from dialup_admin import __version__
from dialup_admin.cli import REGISTRY
from tests.support.deb import Chroot, base_tarball, unpack, why_no_chroot
from tests.support.tool import REPO
from tests.support.trees import snapshot

NO_BUILD = why_no_chroot()
pytestmark = [pytest.mark.slow, pytest.mark.skipif(NO_BUILD is not None, reason=NO_BUILD or "")]


@pytest.fixture(scope="module")
def deb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """dist/dialup-admin_VERSION_all.deb as `make deb` builds it (lintian included)."""
    tmp = tmp_path_factory.mktemp("deb")
    out = subprocess.run(["make", "-s", "-C", str(REPO), "deb", f"DIST={tmp}/dist", f"DEB_BUILD={tmp}/build"],
                         capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    path = tmp / "dist" / f"dialup-admin_{__version__}_all.deb"
    assert path.is_file()
    yield path
    shutil.rmtree(tmp / "build", ignore_errors=True)


def test_changelog_version_is_the_tool_version() -> None:
    first = (REPO / "debian/changelog").read_text().splitlines()[0]
    assert first.startswith(f"dialup-admin ({__version__}) ")


def test_package_fields_and_contents(deb: Path) -> None:
    def field(name: str) -> str:
        return subprocess.run(["dpkg-deb", "-f", str(deb), name], capture_output=True, text=True).stdout.strip()

    depends = field("Depends")
    for pkg in ("python3-click (>= 8.1)", "python3-jinja2 (>= 3.1)", "python3-pexpect (>= 4.8)", "ppp", "mgetty"):
        assert pkg in depends
    assert {r.strip() for r in field("Recommends").split(",")} == {"user-mode-linux", "busybox-static", "nftables"}
    assert field("Suggests") == "freeradius"
    listing = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True, check=True).stdout
    files = {line.split()[5].removeprefix(".") for line in listing.splitlines()}
    assert not any(f.startswith("/etc") for f in files), "the package owns nothing in /etc"
    assert not any(f.startswith(("/var", "/usr/local", "/home")) for f in files)
    assert {"/usr/bin/dialup-admin", "/usr/share/bash-completion/completions/dialup-admin",
            "/usr/share/zsh/vendor-completions/_dialup-admin", "/usr/share/fish/vendor_completions.d/dialup-admin.fish",
            "/usr/share/doc/dialup-admin/copyright", "/usr/share/doc/dialup-admin/changelog.gz",
            "/usr/lib/python3/dist-packages/dialup_admin/templates/login.config.j2",
            "/usr/lib/python3/dist-packages/dialup_admin/templates/lab/init.sh.j2"} <= files
    pages = {f for f in files if f.startswith("/usr/share/man/man8/") and f.endswith(".gz")}
    assert pages == {"/usr/share/man/man8/dialup-admin.8.gz",
                     *(f"/usr/share/man/man8/dialup-admin-{n}.8.gz" for n in REGISTRY)}
    # Maintainer scripts: dh_python3's byte-compiling, and purge of the tool's own state and logs only.
    control = Path(str(deb) + ".control")
    subprocess.run(["dpkg-deb", "-e", str(deb), str(control)], check=True)
    assert {p.name for p in control.iterdir()} <= {"control", "md5sums", "postinst", "prerm", "postrm"}
    removed = re.findall(r"^\s*rm -rf (.*)$", (control / "postrm").read_text(), flags=re.M)
    assert removed == ["/var/lib/dialup-admin /var/log/dialup-admin"]
    for script in ("postinst", "prerm"):
        assert "/etc" not in (control / script).read_text()


@pytest.mark.e2e
@pytest.mark.timeout(2400)  # the first run makes the cached chroot (debootstrap, about 2 minutes)
def test_install_use_remove_purge_in_a_fresh_debian_12(deb: Path, tmp_path: Path) -> None:
    try:
        tarball = base_tarball(deb)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        pytest.skip(str(exc))
    ch = unpack(tarball, tmp_path / "chroot")
    try:
        _scenario(ch, deb)
    finally:
        shutil.rmtree(ch.root, ignore_errors=True)


def _scenario(ch: Chroot, deb: Path) -> None:
    shutil.copy(deb, ch.root / "tmp" / deb.name)
    pkg = f"/tmp/{deb.name}"
    before = ch.packages()

    # apt install ./dialup-admin_*.deb, as the README says (dependencies from Debian; offline from the cache).
    ch.run('apt-get install -y -q --no-install-recommends "$1"', pkg)
    # Installing changes nothing in /etc: the package alone, with its dependencies already there.
    ch.run("dpkg --purge dialup-admin")
    etc = snapshot(ch.root / "etc")
    ch.run('dpkg -i "$1"', pkg)
    assert snapshot(ch.root / "etc") == etc

    assert ch.run("dialup-admin --version").stdout.strip() == f"dialup-admin, version {__version__}"
    # A tree with the chroot's account databases, so setup-server's ppp group and adduser work there.
    ch.run("mkdir -p /tmp/r/etc && cp -p /etc/passwd /etc/group /etc/shadow /etc/gshadow /tmp/r/etc/"
           " && dialup-admin --root /tmp/r setup-server --tty ttyS1 --init none"
           " && echo 'a-long-password' | dialup-admin --root /tmp/r adduser dreamcast --password-stdin")
    assert "/AutoPPP/" in (ch.root / "tmp/r/etc/mgetty/login.config").read_text()

    page = ch.run("MANPAGER=cat MANWIDTH=100 man dialup-admin-setup-server").stdout
    page = re.sub(".\x08", "", page)
    assert "FILES" in page and "/etc/mgetty/login.config" in page and "UNDO" in page and "dialup-admin rollback" in page
    assert "--tty TTY[:direct][=LOCAL:REMOTE]" in page
    assert "dialup-admin-setup-server(8)" in re.sub(".\x08", "", ch.run("MANPAGER=cat man dialup-admin").stdout)

    # Tab, through bash-completion's own loader (it finds the script by the command's name).
    probe = ('. /usr/share/bash-completion/bash_completion; __load_completion dialup-admin || exit 3;'
             ' complete -p dialup-admin; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=();'
             ' _dialup_admin_completion dialup-admin; printf "%s\\n" "${COMPREPLY[@]}"')

    def tab(*words: str) -> list[str]:
        out = ch.run(f"bash -c '{probe}' bash \"$@\"", *words)
        lines = out.stdout.splitlines()
        assert lines[0] == "complete -o nosort -F _dialup_admin_completion dialup-admin"
        return [ln for ln in lines[1:] if ln]

    assert tab("dialup-admin", "setup-s") == ["setup-server"]
    assert tab("dialup-admin", "--root", "/tmp/r", "deluser", "") == ["dreamcast"]
    ch.run("mkdir -p /tmp/r/dev && touch /tmp/r/dev/ttyUSB0")
    assert tab("dialup-admin", "--root", "/tmp/r", "setup-server", "--tty", "ttyU") == ["ttyUSB0"]

    # The admin sets up this machine with the tool; remove and purge leave all of it in /etc.
    ch.run("[ -e /dev/ttyS1 ] || mknod /dev/ttyS1 c 4 65; dialup-admin setup-server --tty ttyS1 --init none")
    assert (ch.root / "var/lib/dialup-admin/journal").is_dir()
    etc = snapshot(ch.root / "etc")
    ch.run("apt-get remove -y -q dialup-admin")
    assert snapshot(ch.root / "etc") == etc
    assert (ch.root / "var/lib/dialup-admin/journal").is_dir(), "remove keeps the journals (a reinstall can roll back)"
    ch.run('dpkg -i "$1" && apt-get purge -y -q dialup-admin', pkg)
    assert snapshot(ch.root / "etc") == etc
    assert not (ch.root / "var/lib/dialup-admin").exists() and not (ch.root / "var/log/dialup-admin").exists()
    assert not (ch.root / "usr/bin/dialup-admin").exists()
    assert not (ch.root / "usr/lib/python3/dist-packages/dialup_admin").exists()

    # And the dependencies go as they came: the chroot is back to its package list. (apt keeps
    # an automatic package that an installed one recommends or suggests: mgetty brings logrotate
    # and cron, which minbase's adduser suggests, and cron sensible-utils, which util-linux
    # recommends; minbase's own packages are all manual, so these two knobs touch only those.)
    ch.run("apt-get autoremove --purge -y -q -o APT::AutoRemove::SuggestsImportant=false"
           " -o APT::AutoRemove::RecommendsImportant=false")
    assert ch.packages() == before
