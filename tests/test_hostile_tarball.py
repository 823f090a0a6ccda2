"""Issue 11 item 1: build-mgetty never writes outside its build folder, on every Python.

Debian 12's python3 (3.11.2) has no ``tarfile.data_filter``; the members are checked by
hand before anything is extracted, so one bad member and nothing at all is written.
"""

from __future__ import annotations

import io
import os
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from dialup_admin.errors import BadInput
from dialup_admin.mgetty import source
from tests.support.tool import run_tool
from tests.support.trees import snapshot

GOOD = ("mgetty-1/mgetty.c", "mgetty-1/Makefile", "mgetty-1/policy.h")

Adder = Callable[[tarfile.TarFile], None]


def _file(name: str) -> Adder:
    def add(tf: tarfile.TarFile) -> None:
        info = tarfile.TarInfo(name)
        info.size = 1
        tf.addfile(info, io.BytesIO(b"x"))
    return add


def _special(name: str, kind: bytes, linkname: str = "") -> Adder:
    def add(tf: tarfile.TarFile) -> None:
        info = tarfile.TarInfo(name)
        info.type = kind
        info.linkname = linkname
        if kind in (tarfile.CHRTYPE, tarfile.BLKTYPE):
            info.devmajor, info.devminor = 1, 3
        tf.addfile(info)
    return add


# The ones the campaign used, and the other ways out the issue names.
EVIL: dict[str, list[Adder]] = {
    "dotdot": [_file("mgetty-1/../../x")],
    "absolute": [_file("/tmp/dialup-admin-escaped-abs")],
    "other-top": [_file("elsewhere/x")],
    "symlink-absolute": [_special("mgetty-1/l", tarfile.SYMTYPE, "/etc"), _file("mgetty-1/l/x")],
    "symlink-up": [_special("mgetty-1/l", tarfile.SYMTYPE, "../..")],
    "symlink-up-alone": [_special("mgetty-1/sub/l", tarfile.SYMTYPE, "../../../x")],
    "symlink-through-link": [_special("mgetty-1/b", tarfile.SYMTYPE, "."),
                             _special("mgetty-1/a", tarfile.SYMTYPE, "b/..")],
    "write-below-link": [_special("mgetty-1/d", tarfile.SYMTYPE, "sub"), _file("mgetty-1/d/x")],
    "hardlink-out": [_special("mgetty-1/h", tarfile.LNKTYPE, "/etc/passwd")],
    "hardlink-up": [_special("mgetty-1/h", tarfile.LNKTYPE, "mgetty-1/../../x")],
    "device": [_special("mgetty-1/null", tarfile.CHRTYPE)],
    "block-device": [_special("mgetty-1/disk", tarfile.BLKTYPE)],
    "fifo": [_special("mgetty-1/fifo", tarfile.FIFOTYPE)],
    "duplicate": [_file("mgetty-1/mgetty.c")],
}


def _tarball(path: Path, extra: list[Adder]) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for name in GOOD:
            _file(name)(tf)
        for add in extra:
            add(tf)
    return path


@pytest.mark.parametrize("case", sorted(EVIL))
def test_unpack_refuses_before_writing_anything(tmp_path: Path, case: str) -> None:
    work = tmp_path / "a" / "b" / "work"
    work.mkdir(parents=True)
    evil = _tarball(tmp_path / "evil.tar.gz", EVIL[case])
    before = snapshot(tmp_path)
    with pytest.raises(BadInput) as err:
        source.unpack(evil, work)
    assert "refusing to unpack any of it" in str(err.value) or "one directory" in str(err.value)
    assert snapshot(tmp_path) == before  # nothing below the work folder, nothing beside it
    assert not Path("/tmp/dialup-admin-escaped-abs").exists()


def test_plain_links_inside_the_tree_still_unpack(tmp_path: Path) -> None:
    ok = _tarball(tmp_path / "ok.tar.gz", [
        _special("mgetty-1/doc/README", tarfile.SYMTYPE, "../policy.h"),
        _special("mgetty-1/same", tarfile.LNKTYPE, "mgetty-1/Makefile"),
    ])
    (tmp_path / "out").mkdir()
    top = source.unpack(ok, tmp_path / "out")
    assert (top / "doc" / "README").read_bytes() == b"x"
    assert os.readlink(top / "doc" / "README") == "../policy.h"


def test_unpacked_files_lose_setuid_and_foreign_owners(tmp_path: Path) -> None:
    path = tmp_path / "s.tar.gz"
    with tarfile.open(path, "w:gz") as tf:
        for name in GOOD:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.uid, info.gid = 1, 0o6777, 12345, 12345
            tf.addfile(info, io.BytesIO(b"x"))
    (tmp_path / "out").mkdir()
    top = source.unpack(path, tmp_path / "out")
    st = os.stat(top / "mgetty.c")
    assert st.st_mode & 0o7022 == 0
    assert (st.st_uid, st.st_gid) == (os.geteuid(), os.getegid())


def test_build_mgetty_refuses_in_one_line_on_this_python(tmp_path: Path) -> None:
    """The whole command, on the interpreter the suite runs on (Debian's 3.11.2 under make test)."""
    evil = _tarball(tmp_path / "evil.tar.gz", EVIL["dotdot"])
    root = tmp_path / "deep" / "root"
    root.mkdir(parents=True)
    before = snapshot(tmp_path)
    res = run_tool("--root", str(root), "build-mgetty", str(evil), "--force")
    err = res.stderr.decode()
    assert res.returncode == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "climbs out with '..'" in err and "refusing to unpack any of it" in err
    assert snapshot(tmp_path) == before
    print(sys.version, err)
