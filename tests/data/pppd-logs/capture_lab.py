"""Capture real pppd logs of whole dials in the lab (run as root from the repository top:
``.venv/bin/python tests/data/pppd-logs/capture_lab.py``; needs user-mode-linux).

A user-mode Linux guest runs ``dialup-admin dial -v`` (pppd 2.4.9 with ``debug``, kernel
PPP) through the modem simulator to a guest whose pppd answers with PAP; the lines
pppd wrote on dial's pty (dial prints them after "  | ") are saved as ``lab-*.log``,
and pppd's exit status (dial -v prints it) goes to ``index.json``.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))  # the repository root, for tests.support (a script in a data folder)

from tests.support.client import lab_dial  # noqa: E402


def main() -> None:
    index = json.loads((HERE / "index.json").read_text())
    for name, kw in (("lab-success.log", {}), ("lab-wrong-password.log", {"password": "wrong"}),
                     ("lab-busy.log", {"server": False})):
        with tempfile.TemporaryDirectory() as d:
            run = lab_dial(Path(d), verbose=True, **kw)  # type: ignore[arg-type]
        lines = [ln[4:] for ln in run.client_output.splitlines() if ln.startswith("  | ")]
        (HERE / name).write_text("\n".join(lines) + "\n")
        m = re.search(r"^pppd exit status (\d+):", run.client_output, re.M)
        status = int(m.group(1)) if m else 0  # dial prints it on failures; success is 0 (updetach)
        index[name] = {"status": status, "source": "real pppd 2.4.9 (debug) in a user-mode Linux guest, "
                                                   "through the modem simulator (dialup-admin dial -v)"}
    (HERE / "index.json").write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
