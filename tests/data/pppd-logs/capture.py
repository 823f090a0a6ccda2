"""Capture the real logs in this directory (run as root from the repository top:
``.venv/bin/python tests/data/pppd-logs/capture.py``).

- ``no-kernel-*.log``: real pppd 2.4.9 on a machine without kernel PPP, run the way
  ``dial`` runs it (``updetach``); stdout and stderr as one stream, as on dial's pty.
  ``no-kernel-enxio.log`` is run in a private mount namespace whose /dev has a
  ``/dev/ppp`` node (c 108 0) but no driver behind it.
- ``chat-*.log``: the real ``/usr/sbin/chat -v -s`` running the chat script that
  setup-client renders, against the project's modem simulator; this is exactly what
  pppd copies into its log (it gives chat its log fd as stderr) before
  ``Connect script failed``, which these files do not contain (pppd cannot get that far
  here: it checks for kernel PPP before it opens the port).
The exit status of each run is written to ``index.json``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import tty
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from dialup_admin.core.client import Client, render_files  # noqa: E402
from dialup_admin.modem.simulator import PhoneLine  # noqa: E402

CHAT = "/usr/sbin/chat"
PPPD = "/usr/sbin/pppd"


def pppd(tmp: Path, name: str, wrapper: list[str]) -> int:
    peer = tmp / "peer"
    peer.write_text("/dev/null\n57600\nnoauth\n")
    script = f"{PPPD} file {peer} updetach"
    with open(HERE / name, "wb") as out:
        proc = subprocess.run([*wrapper, "sh", "-c", script], stdout=out, stderr=subprocess.STDOUT)
    return proc.returncode


def chat(script: str, mode: str) -> tuple[int, str]:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "chat"
        if mode == "timeout":
            path.write_text(script.replace("TIMEOUT 10", "TIMEOUT 2"))
            master, slave = os.openpty()  # a port with a modem that never answers
            tty.setraw(slave)
            p = subprocess.run([CHAT, "-v", "-s", "-f", str(path)], stdin=slave, stdout=slave,
                               stderr=subprocess.PIPE, timeout=30)
            os.close(master)
            os.close(slave)
            return p.returncode, p.stderr.decode()
        if mode == "no-answer":
            script = script.replace("S7=45", "S7=2")
        path.write_text(script)
        with PhoneLine({"11": None, "12": None}, ring_interval=0.3,
                       dead=["12"] if mode == "no-dialtone" else ()) as line:
            server = None
            if mode != "busy":
                server = os.open(line.port("11"), os.O_RDWR | os.O_NOCTTY)
                line.wait_for("11 port opened")
                if mode != "no-answer":
                    os.write(server, b"ATS0=1\r")
                    time.sleep(0.3)
            if mode == "no-carrier":  # the other side hangs up while the modems train
                def hang_up() -> None:
                    line.wait_for("11 ANSWER", 20)
                    assert server is not None
                    os.close(server)
                threading.Thread(target=hang_up, daemon=True).start()
            fd = os.open(line.port("12"), os.O_RDWR | os.O_NOCTTY)
            p = subprocess.run([CHAT, "-v", "-s", "-f", str(path)], stdin=fd, stdout=fd,
                               stderr=subprocess.PIPE, timeout=60)
            os.close(fd)
            if server is not None and mode != "no-carrier":
                os.close(server)
            return p.returncode, p.stderr.decode()


def main() -> None:
    index = json.loads((HERE / "index.json").read_text()) if (HERE / "index.json").exists() else {}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        rc = pppd(tmp, "no-kernel-dev-missing.log", [])
        index["no-kernel-dev-missing.log"] = {"status": rc, "source": "real pppd 2.4.9, this machine (no /dev/ppp)"}
        ns = ["unshare", "-m", "sh", "-c",
              "mount -t tmpfs none /dev && mknod -m 666 /dev/null c 1 3 && mknod /dev/ppp c 108 0 && exec \"$@\"", "-"]
        rc = pppd(tmp, "no-kernel-enxio.log", ns)
        index["no-kernel-enxio.log"] = {"status": rc,
                                        "source": "real pppd 2.4.9, /dev/ppp node present, no driver (mount namespace)"}
    script = render_files(Client(peer="dialup", device="/dev/ttyS0", number="11", user="ppp"))["/etc/ppp/chat-dialup"]
    for mode in ("connect", "busy", "no-carrier", "no-answer", "no-dialtone", "timeout"):
        rc, text = chat(script, mode)
        (HERE / f"chat-{mode}.log").write_text(text)
        where = "a pty whose modem never answers" if mode == "timeout" else "the modem simulator"
        index[f"chat-{mode}.log"] = {"status": rc, "source": f"real chat -v -s against {where}"}
    (HERE / "index.json").write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
