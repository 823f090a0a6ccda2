"""Issue 11 item 14: a modem that keeps verbose codes after ATV0 can serve; probes only warn.

The simulated modem gets the quirk of some real (soft) modems: ATV0 answers OK and the
numeric codes never come. mgetty and chat read verbose codes only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from dialup_admin.modem.hayes import Identity
from dialup_admin.modem.simulator import PhoneLine
from tests.support.modem import Terminal
from tests.support.tool import RunCli


@pytest.fixture
def quirky(tmp_path: Path, root: Path) -> Iterator[PhoneLine]:
    (root / "var/lock").mkdir(parents=True)
    with PhoneLine({"11": tmp_path / "ttyV0", "12": tmp_path / "ttyV1"}, ring_interval=0.2,
                   identity=Identity(verbose_only=True)) as pl:
        yield pl


def test_verbose_only_modem_passes_with_a_warning(run: RunCli, quirky: PhoneLine) -> None:
    res = run("test-modem", quirky.port("11"))
    assert res.exit_code == 0, res.output
    assert "PASS" in res.stdout and "1 probe(s) failed, not needed to serve" in res.stdout
    assert "warning: numeric result codes: ATV0 -> kept verbose" in res.stdout


def test_verbose_only_modem_json_and_a_dial(run: RunCli, quirky: PhoneLine) -> None:
    with Terminal(quirky.port("11")) as server:
        server.command("ATS0=1")
        res = run("--json", "test-modem", quirky.port("12"), "--dial", "11")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["ok"] is True
    assert data["warnings"] == ["numeric result codes: ATV0 -> kept verbose (answered OK but kept verbose codes: "
                                "mgetty and chat need only those)"]
    steps = {s["name"]: s for s in data["steps"]}
    assert steps["numeric result codes"]["required"] is False
    assert steps["dial"]["ok"] and steps["hang up"]["ok"]


def test_what_a_server_needs_still_decides(run: RunCli, quirky: PhoneLine) -> None:
    res = run("test-modem", quirky.port("11"), "--init", "AT&Z9")
    assert res.exit_code == 1
    assert "did not accept the init string" in res.stderr
