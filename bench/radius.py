"""FreeRADIUS for the pool, measured on loopback: Access-Request -> Access-Accept latency
(median, p99) and the authentications per second it sustains, for the users dialup-admin
writes (SHA-512 crypt hashes in the users file), at two sizes of user base. Side by side:
what a dial-in server pays checking a caller locally (pppd's ``login``: one crypt() of
the caller's password against /etc/shadow's SHA-512 hash).

Real Debian FreeRADIUS 3.2 on a --root copy of its stock configuration, set up with
``radius-server``, in a private network namespace (tests/support/radius.py). Bounded:
at most LATENCY_COUNT sequential requests or LATENCY_SECONDS, and THROUGHPUT_COUNT
requests through ``radclient -p`` (parallel) per size.

Run as root from the repository top: ``.venv/bin/python -m bench.radius``.
The dial-to-IP comparison (RADIUS against local accounts, in the UML lab) is
``bench/radius_lab.py``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dialup_admin.core import radius_server as rs
from dialup_admin.core.plan import Plan, apply
from dialup_admin.paths import Paths
from dialup_admin.radius.crypt import sha512_crypt
from dialup_admin.radius.users import RadiusUser
from tests.support.radius import Radiusd, freeradius_tree, reachable_root
from tests.support.tool import REPO

SIZES = (10, 1000)
LATENCY_COUNT = 1000
LATENCY_SECONDS = 15.0
THROUGHPUT_COUNT = 2000
SECRET = "Bench-Secret-1"
PASSWORD = "Bench-pw-1234"

# Runs inside FreeRADIUS's network namespace: sequential Access-Requests from 127.0.0.2
# (the client nas1), each timed from send to the verified Access-Accept.
INNER = r"""
import os, socket, sys, time
from dialup_admin.radius import packet
count, seconds, users = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
secret = sys.argv[4].encode()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.2", 0))
s.connect(("127.0.0.1", 1812))
s.settimeout(5)
out = []
end = time.monotonic() + seconds
for i in range(count):
    if time.monotonic() > end:
        break
    auth = os.urandom(16)
    ident = i % 256
    name = f"u{i % users}".encode()
    data = packet.request(packet.ACCESS_REQUEST, ident, auth, [(packet.USER_NAME, name),
        (packet.USER_PASSWORD, sys.argv[5].encode()), (packet.NAS_IDENTIFIER, b"nas1"), (packet.NAS_PORT, (1).to_bytes(4, "big"))], secret)
    t0 = time.perf_counter()
    s.send(data)
    reply = packet.parse_reply(s.recv(4096), auth, secret)
    t1 = time.perf_counter()
    if reply.code != packet.ACCESS_ACCEPT or not reply.authentic:
        raise SystemExit(f"request {i}: {reply.name}, authentic={reply.authentic}")
    out.append(t1 - t0)
print(" ".join(f"{x:.6f}" for x in out))
"""


def pctl(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def pool_with_users(root: Path, count: int) -> None:
    freeradius_tree(root)
    secret = root.parent / "pool.secret"
    secret.write_text(SECRET + "\n")
    secret.chmod(0o600)
    proc = subprocess.run([sys.executable, "-m", "dialup_admin", "--root", str(root), "radius-server",
                           "--client", "nas1=127.0.0.2", "--secret-file", str(secret)], capture_output=True, cwd=REPO)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr.decode())
    # The same block adduser --radius writes, for many users at once.
    users = [RadiusUser(f"u{i}", sha512_crypt(PASSWORD)) for i in range(count)]
    plan = Plan(Paths(root), "bench users")
    rs.plan_users_block(plan, users)
    apply(plan)


def local_check_figure(samples: int = 200) -> float:
    """One glibc crypt() of a password against a SHA-512 hash: what pppd's ``login`` costs."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt  # the C library's crypt(), as PAM's pam_unix calls it (3.11; gone in 3.13)

    hashed = crypt.crypt(PASSWORD, crypt.mksalt(crypt.METHOD_SHA512))
    times = []
    for _ in range(samples):
        t0 = time.perf_counter()
        crypt.crypt(PASSWORD, hashed)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def throughput(radiusd: Radiusd, users: int, secret_file: Path, workdir: Path) -> float:
    packets = workdir / "packets"
    with open(packets, "w") as fh:
        for i in range(THROUGHPUT_COUNT):
            fh.write(f"Packet-Src-IP-Address = 127.0.0.2\nUser-Name = u{i % users}\nUser-Password = {PASSWORD}\n"
                     "NAS-Identifier = nas1\n\n")
    t0 = time.perf_counter()
    proc = subprocess.run(radiusd.argv("radclient", "-q", "-s", "-p", "64", "-r", "2", "-t", "5", "-S",
                                       str(secret_file), "-f", str(packets), "127.0.0.1:1812", "auth"),
                          capture_output=True, text=True, timeout=300)
    elapsed = time.perf_counter() - t0
    accepted = [ln.split(":")[1].strip() for ln in proc.stdout.splitlines() if ln.strip().startswith("Accepted")]
    if accepted != [str(THROUGHPUT_COUNT)]:
        print(f"  (radclient: accepted {accepted}, {proc.stdout[-300:]} {proc.stderr[-200:]})")
    return THROUGHPUT_COUNT / elapsed


def main() -> None:
    if os.geteuid() != 0:
        raise SystemExit("run as root (FreeRADIUS runs in namespaces of its own)")
    local = local_check_figure()
    print(f"local check (glibc crypt of a SHA-512 hash, what pppd's login costs): median {local * 1e3:.2f} ms")
    for size in SIZES:
        with reachable_root() as root, tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            pool_with_users(root, size)
            setup = time.perf_counter() - t0
            secret_file = Path(tmp) / "secret"
            secret_file.write_text(SECRET + "\n")
            secret_file.chmod(0o600)
            with Radiusd(root, Path(tmp) / "radiusd.log") as radiusd:
                started = time.perf_counter()
                proc = radiusd.run(sys.executable, "-c", INNER, str(LATENCY_COUNT), str(LATENCY_SECONDS), str(size),
                                   SECRET, PASSWORD)
                if proc.returncode != 0:
                    raise SystemExit(f"latency run failed: {proc.stderr or proc.stdout}")
                lat = [float(x) for x in proc.stdout.split()]
                spent = time.perf_counter() - started
                rate = throughput(radiusd, size, secret_file, Path(tmp))
            print(f"FreeRADIUS, {size} users in the users file (set up in {setup:.1f} s):")
            print(f"  Access-Request -> Access-Accept, {len(lat)} sequential in {spent:.1f} s: "
                  f"median {statistics.median(lat) * 1e3:.2f} ms, p99 {pctl(lat, 99) * 1e3:.2f} ms "
                  f"(local check: {local * 1e3:.2f} ms)")
            print(f"  sustained with radclient -p 64: {rate:.0f} authentications/s ({THROUGHPUT_COUNT} requests)")


if __name__ == "__main__":
    main()
