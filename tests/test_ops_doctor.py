"""doctor: a healthy tree passes clean; every finding has a broken tree that triggers it."""

from __future__ import annotations

from pathlib import Path

from conftest import RunCli
from ops_helpers import doctor_json, healthy_tree, problems


def test_healthy_tree_is_clean(root: Path, run: RunCli) -> None:
    healthy_tree(root, run)
    code, data = doctor_json(run)
    assert problems(data) == [] and code == 0, problems(data)
    assert data["worst"] == "ok"
