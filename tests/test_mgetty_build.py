"""build-mgetty on small fake source trees (real make + cc, seconds): policy.h, patch, install, errors."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from dialup_admin.errors import BadInput
from dialup_admin.mgetty import build as b
from dialup_admin.paths import Paths
from dialup_admin.system import commands
from dialup_admin.system.mgetty import detect, features
from tests.support.mgetty import LOGFILE_C, POLICY, fake_binary, fake_source, tarball_of
from tests.support.tool import RunCli, run_tool
from tests.support.trees import snapshot

CONF = "usr/local/etc/mgetty+sendfax"


# --- pure steps ---------------------------------------------------------------------------
def test_enable_auto_ppp_uncomments_the_guide_line() -> None:
    text, changed = b.enable_auto_ppp(POLICY)
    assert changed
    assert "\n#define AUTO_PPP\n" in text
    assert "/* #define AUTO_PPP */" not in text
    # Only that line changed.
    assert text.replace("#define AUTO_PPP\n", "/* #define AUTO_PPP */\n") == POLICY
    again, changed = b.enable_auto_ppp(text)
    assert (again, changed) == (text, False)


def test_enable_auto_ppp_refuses_an_unknown_policy() -> None:
    with pytest.raises(BadInput, match="no '/\\* #define AUTO_PPP \\*/' line"):
        b.enable_auto_ppp("/* nothing here */\n")


def test_strerror_patch_is_minimal() -> None:
    text, changed = b.patch_strerror(LOGFILE_C)
    assert changed
    assert "sys_errlist" not in text and "sys_nerr" not in text
    assert "strerror(errnr)" in text
    assert b.patch_strerror(text) == (text, False)


@pytest.mark.parametrize(
    "policy_h,dist,expected", [(True, False, "edit"), (False, True, "copy"), (True, True, "edit")]
)
def test_policy_action(policy_h: bool, dist: bool, expected: str) -> None:
    assert b.policy_action(policy_h, dist, "src") == expected


def test_policy_action_neither() -> None:
    with pytest.raises(BadInput, match="neither policy.h nor policy.h-dist"):
        b.policy_action(False, False, "src")


@pytest.mark.parametrize("prefix,expected", [("/usr/local", "/usr/local"), ("/opt/mg/", "/opt/mg"), ("/", "")])
def test_validate_prefix(prefix: str, expected: str) -> None:
    assert b.validate_prefix(prefix) == expected


@pytest.mark.parametrize("prefix", ["usr/local", "/opt/my dir", "/opt/$(x)", "/opt/../etc", '/a"b'])
def test_validate_prefix_refuses(prefix: str) -> None:
    with pytest.raises(BadInput):
        b.validate_prefix(prefix)


def test_prepare_11_copies_policy_dist(tmp_path: Path) -> None:
    tree = fake_source(tmp_path, "1.1")
    notes = b.prepare(tree)
    assert "copied policy.h-dist to policy.h (mgetty 1.1.x)" in notes
    assert "#define AUTO_PPP\n" in (tree / "policy.h").read_text()
    assert (tree / "policy.h-dist").read_text() == POLICY  # the shipped file stays as shipped
    assert b.STRERROR_NOTE in notes


def test_prepare_12_edits_policy(tmp_path: Path) -> None:
    tree = fake_source(tmp_path, "1.2")
    notes = b.prepare(tree)
    assert notes[0] == "policy.h: enabled #define AUTO_PPP"
    assert not (tree / "policy.h-dist").exists()


# --- the command on fake trees ----------------------------------------------------------------------
def test_build_tarball_installs_binary_and_templates(root: Path, run: RunCli, tmp_path: Path) -> None:
    tgz = tarball_of(fake_source(tmp_path / "src", "1.2"), tmp_path / "mgetty-9.9.tar.gz")
    with commands.recording() as started:
        res = run("build-mgetty", str(tgz), "--force")
    assert res.exit_code == 0, res.output
    # The programs it ran: make (output streamed to the log) in the unpacked tree, then strip.
    assert [(s.how, s.program) for s in started] == [("stream", "make"), ("run", "strip")]
    make = started[0]
    assert make.argv[2:] == ("prefix=/usr/local", "mgetty", "login.config", "mgetty.config")
    assert make.cwd is not None and Path(make.cwd).name == "mgetty-9.9"  # the unpacked tarball (removed after)
    for stage in ("[1/5] source", "[2/5] configure", "[3/5] make", "[4/5] verify", "[5/5] install"):
        assert stage in res.output
    assert b.STRERROR_NOTE in res.output
    binary = root / "usr/local/sbin/mgetty"
    assert stat.S_IMODE(binary.stat().st_mode) == 0o755
    assert "AUTO_PPP" in features(binary.read_bytes())
    for name in ("login.config", "mgetty.config"):
        st = (root / CONF / name).stat()
        assert (stat.S_IMODE(st.st_mode), st.st_uid) == (0o600, 0)
    assert "/usr/local/etc/mgetty+sendfax" in (root / CONF / "login.config").read_text()
    # The hand-over: setup-server's detection picks the built binary and its config dir.
    layout = detect(Paths(root))
    assert (layout.binary, layout.config_dir, layout.auto_ppp) == (
        "/usr/local/sbin/mgetty",
        "/usr/local/etc/mgetty+sendfax",
        True,
    )
    assert "setup-server will use it" in res.output
    log = root / "var/log/dialup-admin/build-mgetty.log"
    assert "prefix=/usr/local" in log.read_text()
    # The compiled program runs and shows the patched strerror at work.
    assert b"No such file or directory" in run_prog(binary)


def run_prog(binary: Path) -> bytes:
    import subprocess

    return subprocess.run([str(binary)], capture_output=True, check=True).stdout


def test_rebuild_keeps_old_binary_and_config(root: Path, run: RunCli, tmp_path: Path) -> None:
    tree = fake_source(tmp_path / "src", "1.2")
    assert run("build-mgetty", str(tree), "--force").exit_code == 0
    first = (root / "usr/local/sbin/mgetty").read_bytes()
    (root / CONF / "login.config").write_text("# mine\n")
    # Change the source so the new binary differs.
    (tree / "mgetty.c").write_text((tree / "mgetty.c").read_text().replace("9.9", "9.10"))
    res = run("build-mgetty", str(tree), "--force")
    assert res.exit_code == 0, res.output
    assert (root / "usr/local/sbin/mgetty.old").read_bytes() == first
    assert b"stable release 9.10" in (root / "usr/local/sbin/mgetty").read_bytes()
    assert (root / CONF / "login.config").read_text() == "# mine\n"
    assert "login.config exists and is kept" in res.output


def test_build_from_11_directory_leaves_the_source_alone(root: Path, run: RunCli, tmp_path: Path) -> None:
    tree = fake_source(tmp_path / "src", "1.1")
    before = snapshot(tree)
    res = run("build-mgetty", str(tree.parent), "--force", "--prefix", "/opt/mg")
    assert res.exit_code == 0, res.output
    assert "copied policy.h-dist to policy.h" in res.output
    assert snapshot(tree) == before
    layout = detect(Paths(root), "/opt/mg/sbin/mgetty")
    assert layout.config_dir == "/opt/mg/etc/mgetty+sendfax" and layout.auto_ppp
    assert "--mgetty /opt/mg/sbin/mgetty" in res.output  # not on setup-server's default search path


def test_dry_run_changes_nothing(root: Path, run: RunCli, tmp_path: Path) -> None:
    tgz = tarball_of(fake_source(tmp_path / "src", "1.1"), tmp_path / "mgetty-9.9.tar.gz")
    before = snapshot(root)
    res = run("--dry-run", "build-mgetty", str(tgz), "--force")
    assert res.exit_code == 0, res.output
    assert "copy policy.h-dist to policy.h" in res.output
    assert "logfile.c: sys_errlist/sys_nerr -> strerror" in res.output
    assert "write  /usr/local/sbin/mgetty" in res.output
    assert "Dry run: nothing was changed." in res.output
    assert snapshot(root) == before


def test_json_result(root: Path, tmp_path: Path) -> None:
    tree = fake_source(tmp_path / "src", "enabled")
    proc = run_tool("--root", str(root), "--json", "build-mgetty", str(tree), "--force")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["built"] and data["auto_ppp"] and data["binary"] == "/usr/local/sbin/mgetty"
    assert data["config_dir"] == "/usr/local/etc/mgetty+sendfax"
    assert "policy.h: AUTO_PPP was already enabled" in data["notes"]


def test_no_build_when_installed_one_has_auto_ppp(root: Path, run: RunCli, tmp_path: Path) -> None:
    fake_binary(root, "/usr/local/sbin/mgetty", True, "/usr/local/etc/mgetty+sendfax")
    before = snapshot(root)
    res = run("build-mgetty", str(tmp_path / "whatever.tar.gz"))
    assert res.exit_code == 0, res.output
    assert "has AUTO_PPP already: no build needed" in res.output
    assert snapshot(root) == before


def test_builds_when_installed_one_lacks_auto_ppp(root: Path, run: RunCli, tmp_path: Path) -> None:
    fake_binary(root, "/usr/local/sbin/mgetty", False, "/usr/local/etc/mgetty+sendfax")
    old = (root / "usr/local/sbin/mgetty").read_bytes()
    res = run("build-mgetty", str(fake_source(tmp_path / "src", "1.2")))
    assert res.exit_code == 0, res.output
    assert "was compiled without AUTO_PPP" in res.output
    assert (root / "usr/local/sbin/mgetty.old").read_bytes() == old
    assert detect(Paths(root)).auto_ppp


# --- bad input: one line, non-zero, nothing installed --------------------------------------------
def _bad(root: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    before = snapshot(root)
    tmp = root.parent / "tmp"  # a kept build tree lands here, inside the test's own directory
    tmp.mkdir(exist_ok=True)
    proc = run_tool("--root", str(root), "build-mgetty", *args, "--force", env={"TMPDIR": str(tmp), **(env or {})})
    err = proc.stderr.decode()
    assert "Traceback" not in err
    after = snapshot(root)
    installed = [p for p in after if p.startswith("usr/") and p not in before]
    assert installed == [], installed
    return proc.returncode, err


def test_not_a_tarball(root: Path, tmp_path: Path) -> None:
    junk = tmp_path / "mgetty.tar.gz"
    junk.write_bytes(b"this is not a tarball\n" * 20)
    rc, err = _bad(root, str(junk))
    assert rc == 2 and "is not a tar archive" in err and len(err.strip().splitlines()) == 1


def test_tarball_of_something_else(root: Path, tmp_path: Path) -> None:
    d = tmp_path / "src" / "other-1.0"
    d.mkdir(parents=True)
    (d / "README").write_text("hello\n")
    rc, err = _bad(root, str(tarball_of(d, tmp_path / "other.tar.gz")))
    assert rc == 2 and "is not mgetty's source" in err


def test_no_policy_file(root: Path, tmp_path: Path) -> None:
    tgz = tarball_of(fake_source(tmp_path / "src", "none"), tmp_path / "m.tar.gz")
    rc, err = _bad(root, str(tgz))
    assert rc == 2 and "neither policy.h nor policy.h-dist" in err and len(err.strip().splitlines()) == 1


def test_no_policy_file_dry_run(root: Path, tmp_path: Path) -> None:
    tgz = tarball_of(fake_source(tmp_path / "src", "none"), tmp_path / "m.tar.gz")
    rc, err = _bad(root, "--dry-run", str(tgz))
    assert rc == 2 and "neither policy.h nor policy.h-dist" in err


def test_build_fails_shows_last_lines_and_log(root: Path, tmp_path: Path) -> None:
    tree = fake_source(tmp_path / "src", "broken")
    rc, err = _bad(root, str(tree))
    assert rc == 1
    assert "error: expected expression" in err or "error:" in err  # the compiler's own words
    assert "| " in err  # the tail of the log, quoted
    log = root / "var/log/dialup-admin/build-mgetty.log"
    assert f"full log: {log}" in err.strip().splitlines()[-1]
    assert "mgetty.c" in log.read_text()
    assert "the build tree is kept for inspection: " + str(root.parent / "tmp") in err


def test_no_compiler_names_build_essential(root: Path, tmp_path: Path) -> None:
    tree = fake_source(tmp_path / "src", "1.2")
    empty = tmp_path / "bin"
    empty.mkdir()
    rc, err = _bad(root, str(tree), env={"PATH": str(empty)})
    assert rc == 1 and "apt-get install build-essential" in err


def test_prefix_not_writable(root: Path, tmp_path: Path) -> None:
    tree = fake_source(tmp_path / "src", "1.2")
    (root / "opt").write_text("a file where a directory should be\n")
    rc, err = _bad(root, str(tree), "--prefix", "/opt/mgetty")
    assert rc == 1 and "cannot install into /opt/mgetty/sbin: /opt is not a directory" in err


def test_prefix_not_writable_for_this_user(run: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # We run as root, which may write anywhere; pretend the kernel said no, as it would to a user.
    tree = fake_source(tmp_path / "src", "1.2")
    monkeypatch.setattr(b, "_writable", lambda directory: False)
    res = run("build-mgetty", str(tree), "--force")
    assert res.exit_code == 1
    assert "cannot install into /usr/local/sbin: / is not writable" in res.output


def test_sha256_mismatch(root: Path, tmp_path: Path) -> None:
    tgz = tarball_of(fake_source(tmp_path / "src", "1.2"), tmp_path / "m.tar.gz")
    rc, err = _bad(root, str(tgz), "--sha256", "0" * 64)
    assert rc == 2 and "SHA-256 is" in err and "refusing to build it" in err


def test_sha256_malformed(root: Path, tmp_path: Path) -> None:
    rc, err = _bad(root, str(tmp_path / "x.tar.gz"), "--sha256", "abc")
    assert rc == 2 and "64 hex digits" in err


def test_src_or_from_debian(root: Path, tmp_path: Path) -> None:
    rc, err = _bad(root)
    assert rc == 2 and "--from-debian, one of them" in err
    rc, err = _bad(root, str(tmp_path), "--from-debian")
    assert rc == 2 and "one of them" in err


def test_missing_source(root: Path, tmp_path: Path) -> None:
    rc, err = _bad(root, str(tmp_path / "nope.tar.gz"))
    assert rc == 2 and "does not exist" in err


def test_release_without_mgetty_config_rule(root: Path, run: RunCli, tmp_path: Path) -> None:
    tree = fake_source(tmp_path / "src", "1.1")
    mk = tree / "Makefile"
    mk.write_text(mk.read_text().split("mgetty.config: mgetty.cfg.in")[0])
    assert b.make_targets(tree) == ["mgetty", "login.config"]
    res = run("build-mgetty", str(tree), "--force")
    assert res.exit_code == 0, res.output
    assert (root / CONF / "login.config").is_file()
    assert not (root / CONF / "mgetty.config").exists()


def test_rollback_undoes_the_install(root: Path, run: RunCli, tmp_path: Path) -> None:
    tree = fake_source(tmp_path / "src", "1.2")
    assert run("build-mgetty", str(tree), "--force").exit_code == 0
    first = (root / "usr/local/sbin/mgetty").read_bytes()
    (tree / "mgetty.c").write_text((tree / "mgetty.c").read_text().replace("9.9", "9.10"))
    assert run("build-mgetty", str(tree), "--force").exit_code == 0
    res = run("rollback")
    assert res.exit_code == 0, res.output
    assert (root / "usr/local/sbin/mgetty").read_bytes() == first
    assert not (root / "usr/local/sbin/mgetty.old").exists()
    res = run("rollback")
    assert res.exit_code == 0, res.output
    assert not (root / "usr/local/sbin/mgetty").exists()
    assert not (root / CONF / "login.config").exists()
