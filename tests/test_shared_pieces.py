"""The pieces the commands share: Plan.block, reading.read_or_empty, state.read_record."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dialup_admin.core import radius_server
from dialup_admin.core.plan import Plan, WriteFile
from dialup_admin.core.state import BadRecord, read_record
from dialup_admin.errors import UserError
from dialup_admin.formats import managed
from dialup_admin.formats.managed import BlockError
from dialup_admin.paths import RADIUS_STATE, Paths
from dialup_admin.system import reading

F = "/etc/f"


def plan_of(root: Path) -> Plan:
    return Plan(Paths(root), "test")


def written(plan: Plan) -> WriteFile:
    (action,) = plan.actions
    assert isinstance(action, WriteFile)
    return action


def test_block_in_a_new_file_starts_with_the_header_and_mode_0644(tmp_path: Path) -> None:
    plan = plan_of(tmp_path)
    assert plan.block(F, "b", b"x 1\n", header=b"# head\n")
    w = written(plan)
    assert w.spec.data.startswith(b"# head\n# BEGIN dialup-admin b block")
    assert managed.body_of(w.spec.data, F, name="b") == b"x 1\n"
    assert w.spec.mode == 0o644


def test_block_keeps_the_admins_lines_and_mode_unless_a_mode_is_given(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/f").write_bytes(b"admin\r\nno newline")
    os.chmod(tmp_path / "etc/f", 0o640)
    plan = plan_of(tmp_path)
    plan.block(F, "b", b"x\n", header=b"# never used\n")
    w = written(plan)
    assert w.spec.mode == 0o640
    assert managed.split(w.spec.data, F, name="b").outside == b"admin\r\nno newline"
    plan = plan_of(tmp_path)
    plan.block(F, "b", b"x\n", mode=0o600)
    assert written(plan).spec.mode == 0o600


def test_block_none_adds_an_empty_block_and_keeps_one_that_is_there(tmp_path: Path) -> None:
    plan = plan_of(tmp_path)
    plan.block(F, "b", None)
    assert managed.body_of(written(plan).spec.data, F, name="b") == b""
    # A block that is there stays as it is, hand edits too (only its presence is asked for).
    data = managed.merge(b"", b"mine\n", F, name="b").replace(b"mine", b"edited")
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/f").write_bytes(data)
    os.chmod(tmp_path / "etc/f", 0o644)
    assert not plan_of(tmp_path).block(F, "b", None)
    with pytest.raises(BlockError):
        plan_of(tmp_path).block(F, "b", b"new\n")
    assert plan_of(tmp_path).block(F, "b", b"new\n", force=True)


def test_block_check_refuses_before_anything_is_planned(tmp_path: Path) -> None:
    def refuse(new: bytes) -> None:
        raise UserError("no")

    plan = plan_of(tmp_path)
    with pytest.raises(UserError):
        plan.block(F, "b", b"x\n", check=refuse)
    assert not plan.actions


def test_read_or_empty_is_empty_only_when_the_file_is_missing(tmp_path: Path) -> None:
    assert reading.read_or_empty(tmp_path / "missing") == b""
    (tmp_path / "f").write_bytes(b"data")
    assert reading.read_or_empty(tmp_path / "f") == b"data"
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(reading.NotRegular, match="is a FIFO"):
        reading.read_or_empty(tmp_path / "fifo")
    with pytest.raises(NotADirectoryError):  # a file where a folder should be: damaged, not missing
        reading.read_or_empty(tmp_path / "f" / "below")


@pytest.mark.parametrize(("junk", "problem"), [
    (b"{", "is not valid JSON"), (b"\xff\xfe", "is not valid JSON"), (b"[1]", "is damaged (not a JSON object)"),
])
def test_records_with_junk_say_what_is_wrong(tmp_path: Path, junk: bytes, problem: str) -> None:
    (tmp_path / "r.json").write_bytes(junk)
    with pytest.raises(BadRecord) as info:
        read_record(tmp_path / "r.json")
    assert info.value.problem == problem
    assert read_record(tmp_path / "none.json") is None


def test_a_damaged_radius_record_names_the_file_and_the_fix(tmp_path: Path) -> None:
    real = Paths(tmp_path).of(RADIUS_STATE)
    real.parent.mkdir(parents=True)
    real.write_bytes(b"[]")
    with pytest.raises(UserError) as info:
        radius_server.load_state(Paths(tmp_path))
    assert str(info.value) == ("/etc/dialup-admin/radius.json is damaged (not a JSON object); "
                               "rerun dialup-admin radius-server")
