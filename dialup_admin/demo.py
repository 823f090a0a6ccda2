"""``make demo``: the main job on this machine, with nothing of the host changed.

First, the files: sets up a complete dial-in server in a temporary --root tree,
shows the files and modes it wrote, proves a second run changes nothing, and rolls
it back. Then the main job on the simulated phone line: ``dialup-admin lab`` boots
a server and a caller in user-mode Linux guests, the tool sets both up, and one
call goes through the real mgetty, pppd and chat, with a ping, random data both
ways and the hang-up.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from pathlib import Path

from dialup_admin.system import commands


def tool(*args: str) -> int:
    cmd = [sys.executable, "-m", "dialup_admin", *args]
    print("$ dialup-admin " + " ".join(args), flush=True)
    return commands.stream(cmd)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="dialup-demo-") as tmp:
        root = Path(tmp)
        (root / "etc").mkdir()
        (root / "etc/inittab").write_text("id:2:initdefault:\n")
        steps = [
            ("--root", tmp, "setup-server", "--tty", "ttyS1", "--tty", "ttyS3", "--dry-run"),
            ("--root", tmp, "setup-server", "--tty", "ttyS1", "--tty", "ttyS3"),
            ("--root", tmp, "setup-server", "--tty", "ttyS1", "--tty", "ttyS3"),
        ]
        for args in steps:
            if tool(*args) != 0:
                return 1
        print("\nFiles written below", tmp)
        for p in sorted(root.rglob("*")):
            if p.is_file() and "var/lib" not in str(p):
                st = p.stat()
                print(f"  {stat.filemode(st.st_mode)} {st.st_uid}:{st.st_gid} /{p.relative_to(root)}")
        for name in ("etc/mgetty/login.config", "etc/inittab", "etc/ppp/options.ttyS1"):
            print(f"\n--- /{name}")
            print((root / name).read_text().rstrip())
        print()
        if tool("--root", tmp, "rollback") != 0:
            return 1
    print("\nThe main job, on a simulated phone line between two user-mode Linux guests:", flush=True)
    if tool("lab") != 0:
        return 1
    print("\ndemo: ok", flush=True)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
