"""Issue 11 item 5: under --root, links resolve inside the root (chroot semantics), or the
command is refused; nothing outside the tree is ever written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dialup_admin.errors import UserError
from dialup_admin.paths import Paths
from tests.support.accounts import make_db
from tests.support.hostile import MGETTY, PW, refusal, server
from tests.support.trees import snapshot


def test_paths_resolve_links_inside_the_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "srv/ppp").mkdir(parents=True)
    (root / "etc").mkdir()
    os.symlink("/srv/ppp", root / "etc/ppp")                  # absolute: starts again at the root
    os.symlink("../../../../../..", root / "etc/up")           # climbs: stops at the root
    os.symlink("/etc/loop", root / "etc/loop")
    os.symlink("/etc/ppp/options", root / "etc/opts")
    p = Paths(root)
    assert p.of("/etc/ppp/options") == root / "srv/ppp/options"
    assert p.of("/etc/up/etc/passwd") == root / "etc/passwd"
    assert p.of("/etc/opts") == root / "srv/ppp/options"
    assert p.node("/etc/opts") == root / "etc/opts"            # the entry itself, for writes and links
    with pytest.raises(UserError, match="too many levels of symbolic links"):
        p.of("/etc/loop/x")


def test_setup_server_writes_through_an_absolute_link_into_the_tree_only(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    (outside / "ppp").mkdir(parents=True)
    (outside / "ppp/options").write_text("# the host's own\n")
    (root / "etc").mkdir(parents=True)
    os.symlink(str(outside / "ppp"), root / "etc/ppp")   # /etc/ppp -> /elsewhere, as the campaign did
    before = snapshot(outside)
    server(root, "--no-accounts")
    assert snapshot(outside) == before
    inside = root / str(outside / "ppp").lstrip("/")
    assert "asyncmap 0" in (inside / "options").read_text()
    assert (inside / "pap-secrets").stat().st_mode & 0o777 == 0o600


def test_a_tree_whose_etc_is_the_hosts_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    os.symlink("/etc", root / "etc")
    host = {p: os.stat(p).st_mtime_ns for p in ("/etc/passwd", "/etc/group") if os.path.exists(p)}
    err = refusal("--root", str(root), "setup-server", "--tty", "ttyS1", "--init", "none", "--mgetty", MGETTY,
                  watch=(root,), expect="too many levels of symbolic links")
    assert {p: os.stat(p).st_mtime_ns for p in host} == host
    print(err)


def test_adduser_refuses_a_passwd_linked_out_of_the_tree(tmp_path: Path) -> None:
    """useradd --prefix would follow the link onto the host: refused before it runs."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    make_db(root)
    server(root)
    outside.mkdir()
    for name in ("passwd", "shadow"):
        (outside / name).write_bytes((root / "etc" / name).read_bytes())
        (root / "etc" / name).unlink()
        os.symlink(str(outside / name), root / "etc" / name)
    err = refusal("--root", str(root), "adduser", "dreamcast", "--password-stdin", input=PW,
                  watch=(root, outside), expect="leads out of the --root tree through a symbolic link")
    print(err)


def test_relative_link_climbing_out_is_refused_for_accounts(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    make_db(root)
    server(root)
    outside.mkdir()
    (outside / "skel").mkdir()
    os.symlink("../../outside/skel", root / "etc/skel")
    refusal("--root", str(root), "adduser", "dreamcast", "--password-stdin", input=PW,
            watch=(root, outside), expect="leads out of the --root tree")
