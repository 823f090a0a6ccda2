"""Issue 11 items 2 and 3: rollback trusts nothing in a journal.

Paths are stored relative to the root and never restored outside it; a damaged journal
is refused whole, in one line naming it, before a single file is restored.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.hostile import copy_tree, ok, refusal, server_tree
from tests.support.trees import snapshot

@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tree with a server and one user: journals 000001 (setup-server) and 000002 (adduser)."""
    return server_tree(tmp_path_factory.mktemp("journal") / "root", "dreamcast")


@pytest.fixture
def tree(base: Path, tmp_path: Path) -> Path:
    return copy_tree(base, tmp_path)


def newest(root: Path) -> Path:
    jdir = root / "var/lib/dialup-admin/journal"
    return max((p for p in jdir.iterdir() if p.name.isdigit()), key=lambda p: int(p.name)) / "manifest.json"


def edit(root: Path, change: Callable[[dict[str, Any]], Any]) -> None:
    m = newest(root)
    data = json.loads(m.read_text())
    out = change(data)
    m.write_text(json.dumps(data if out is None else out))


def to_old_format(data: dict[str, Any], root: Path) -> None:
    """What versions before issue 11 wrote: absolute host paths, no version."""
    del data["version"]
    for e in data["entries"]:
        e["path"] = str(root / e.pop("rel"))


# --- item 2: paths ------------------------------------------------------------------


def test_journal_stores_paths_relative_to_the_root(tree: Path) -> None:
    data = json.loads(newest(tree).read_text())
    assert data["version"] == 2
    rels = [e["rel"] for e in data["entries"]]
    assert "etc/ppp/pap-secrets" in rels and "etc/passwd" in rels
    assert not any(str(tree) in r or r.startswith("/") for r in rels)


def test_rollback_of_a_copied_tree_restores_the_copy_only(tree: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-a", str(tree), str(copy)], check=True)
    before = snapshot(tree)
    ok("--root", str(copy), "rollback")
    assert snapshot(tree) == before
    assert b"dreamcast" not in (copy / "etc/passwd").read_bytes()
    assert b"dreamcast" not in (copy / "etc/ppp/pap-secrets").read_bytes()


def test_old_absolute_journal_inside_the_root_still_rolls_back(tree: Path) -> None:
    edit(tree, lambda d: to_old_format(d, tree))
    ok("--root", str(tree), "rollback")
    assert b"dreamcast" not in (tree / "etc/passwd").read_bytes()


def test_old_absolute_journal_of_another_tree_is_refused(tree: Path, tmp_path: Path) -> None:
    """The cp -a case with a journal of an older version: it names the original tree's files."""
    edit(tree, lambda d: to_old_format(d, tree))
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-a", str(tree), str(copy)], check=True)
    err = refusal("--root", str(copy), "rollback", watch=(tree, copy),
                  expect="written by an older dialup-admin with absolute paths")
    assert "nothing was restored" in err


VICTIM = "victim"

ESCAPES: dict[str, Callable[[dict[str, Any], Path], None]] = {
    "dotdot": lambda d, r: d["entries"][0].update(rel="../../outside/victim"),
    "deep-dotdot": lambda d, r: d["entries"][0].update(rel="etc/../../../../outside/victim"),
    "absolute-rel": lambda d, r: d["entries"][0].update(rel=str(r.parent / "outside/victim")),
    "old-outside": lambda d, r: (to_old_format(d, r), d["entries"][0].update(path=str(r.parent / "outside/victim"))),
    "old-dotdot": lambda d, r: (to_old_format(d, r), d["entries"][0].update(path=f"{r}/../../../outside/victim")),
}


@pytest.mark.parametrize("case", sorted(ESCAPES))
def test_entries_outside_the_root_are_refused(tree: Path, case: str) -> None:
    outside = tree.parent / "outside"
    outside.mkdir()
    (outside / VICTIM).write_text("precious\n")
    edit(tree, lambda d: ESCAPES[case](d, tree))
    refusal("--root", str(tree), "rollback", watch=(tree, outside), expect="nothing was restored")
    assert (outside / VICTIM).read_text() == "precious\n"


def test_a_link_in_the_tree_is_followed_inside_it(tree: Path) -> None:
    """etc/ppp replaced by an absolute link after the apply: restored below the root."""
    outside = tree.parent / "outside"
    shutil.move(str(tree / "etc/ppp"), outside)
    os.symlink(str(outside), tree / "etc/ppp")
    before = snapshot(outside)
    ok("--root", str(tree), "rollback")
    assert snapshot(outside) == before
    assert (tree / str(outside).lstrip("/") / "pap-secrets").is_file()


# --- item 3: damaged journals ---------------------------------------------------------


def _bytes(data: bytes) -> Callable[[Path], None]:
    return lambda m: m.write_bytes(data)


def _json(value: Any) -> Callable[[Path], None]:
    return lambda m: m.write_text(json.dumps(value))


def _half(m: Path) -> None:
    raw = m.read_bytes()
    m.write_bytes(raw[: len(raw) // 2])


def _tweak(change: Callable[[dict[str, Any]], None]) -> Callable[[Path], None]:
    def do(m: Path) -> None:
        data = json.loads(m.read_text())
        change(data)
        m.write_text(json.dumps(data))
    return do


def _last_entry_state(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    # Entries are restored newest first: the first entry is the last to be restored, so a
    # half-way restore would show.
    return lambda d: d["entries"][0]["state"].update({key: value})


DAMAGE: dict[str, Callable[[Path], None]] = {
    "empty": _bytes(b""),
    "truncated": _half,
    "binary": _bytes(bytes(range(256)) * 4),
    "null": _json(None),
    "list": _json([]),
    "object": _json({}),
    "nested": _bytes(b"[" * 200000 + b"]" * 200000),
    "no-entries": _tweak(lambda d: d.pop("entries")),
    "no-label": _tweak(lambda d: d.pop("label")),
    "entry-not-object": _tweak(lambda d: d["entries"].insert(0, "etc/passwd")),
    "entry-no-state": _tweak(lambda d: d["entries"][0].pop("state")),
    "entry-no-rel": _tweak(lambda d: d["entries"][0].pop("rel")),
    "bad-base64": _tweak(_last_entry_state("content", "%%%not base64%%%")),
    "mode-text": _tweak(_last_entry_state("mode", "0644")),
    "mode-huge": _tweak(_last_entry_state("mode", 10**30)),
    "uid-negative": _tweak(_last_entry_state("uid", -1)),
    "kind-unknown": _tweak(_last_entry_state("kind", "fifo")),
    "undo-dotdot": _tweak(lambda d: d["undo"].append(["/tmp/../bin/sh", "-c", "echo owned"])),
    "undo-words": _tweak(lambda d: d["undo"].append(["sh -c 'echo owned'"])),
    "undo-text": _tweak(lambda d: d.update(undo="telinit q")),
    "version-future": _tweak(lambda d: d.update(version=99)),
}


@pytest.mark.parametrize("case", sorted(DAMAGE))
def test_damaged_journal_is_refused_whole(tree: Path, case: str) -> None:
    m = newest(tree)
    DAMAGE[case](m)
    err = refusal("--root", str(tree), "rollback", watch=(tree,), expect="is damaged")
    assert str(m) in err and f"mv {m.parent} {m.parent}.damaged" in err
    # The --dry-run says the same, and so does a changing command (it checks for interrupted runs).
    refusal("--root", str(tree), "rollback", "--dry-run", watch=(tree,), expect="is damaged")


def test_moving_a_damaged_journal_aside_lets_rollback_go_further_back(tree: Path) -> None:
    m = newest(tree)
    m.write_bytes(b"\0\0\0")
    m.parent.rename(m.parent.with_name(m.parent.name + ".damaged"))
    ok("--root", str(tree), "rollback")  # 000001: the setup-server
    assert not (tree / "etc/ppp/pap-secrets").exists()


def test_folder_names_that_are_not_numbers_are_not_journals(tree: Path) -> None:
    jdir = tree / "var/lib/dialup-admin/journal"
    (jdir / "\u00b2").mkdir()         # "²".isdigit() is True, int("²") fails
    (jdir / "abc").mkdir()
    (jdir / "12a").write_text("x")
    ok("--root", str(tree), "rollback")
    assert b"dreamcast" not in (tree / "etc/passwd").read_bytes()


def test_a_journal_that_is_a_file_is_refused(tree: Path) -> None:
    (tree / "var/lib/dialup-admin/journal/000099").write_text("{}")
    refusal("--root", str(tree), "rollback", watch=(tree,), expect="is not a folder")


def test_a_file_turned_directory_is_refused_before_restoring(tree: Path) -> None:
    (tree / "etc/ppp/pap-secrets").unlink()
    (tree / "etc/ppp/pap-secrets").mkdir()
    (tree / "etc/ppp/pap-secrets/keep").write_text("x")
    refusal("--root", str(tree), "rollback", watch=(tree,), expect="is now a directory")


def test_restored_bytes_are_the_recorded_ones(tree: Path) -> None:
    """A sanity check of the format: the recorded content decodes to the pre-adduser file."""
    data = json.loads(newest(tree).read_text())
    pap = next(e for e in data["entries"] if e["rel"] == "etc/ppp/pap-secrets")
    assert b"dreamcast" not in base64.b64decode(pap["state"]["content"])
