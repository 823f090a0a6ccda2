"""Random data over TCP across the lab's PPP link, checked end to end, with its rate.

``python -m dialup_admin.lab.transfer serve [--port P]`` runs on the server guest (in
the background, one connection at a time). The caller runs ``send ADDR`` (upload) or
``recv ADDR`` (download). Each transfer is ``BYTES`` of ``os.urandom`` (random data does
not compress, so Deflate on the link cannot flatter the figure) and its SHA-256 is
checked by the receiving side. One line per transfer on stdout, e.g.::

    up 1048576 bytes in 1.21 s: 866.6 kB/s, sha256 ok

Protocol: the client sends ``up N\\n`` or ``down N\\n``. Upload: N bytes from the client,
then the server answers ``ok <sha256>\\n`` of what it got. Download: the server sends
``<sha256>\\n`` then N bytes. Changes nothing on the machine but a listening socket.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import socket
import sys
import time

PORT = 5001
CHUNK = 16384
MIB = 1 << 20
MAX_BYTES = 1 << 30


def _recv_line(sock: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        ch = sock.recv(1)
        if not ch:
            raise ConnectionError("connection closed in the middle of a line")
        data += ch
        if len(data) > 200:
            raise ConnectionError("line too long")
    return data[:-1]


def _send_random(sock: socket.socket, count: int, digest: hashlib._Hash | None = None) -> None:
    left = count
    while left > 0:
        chunk = os.urandom(min(CHUNK, left))
        if digest is not None:
            digest.update(chunk)
        sock.sendall(chunk)
        left -= len(chunk)


def _recv_exact(sock: socket.socket, count: int) -> str:
    digest = hashlib.sha256()
    left = count
    while left > 0:
        chunk = sock.recv(min(65536, left))
        if not chunk:
            raise ConnectionError(f"connection closed with {left} of {count} bytes missing")
        digest.update(chunk)
        left -= len(chunk)
    return digest.hexdigest()


def _serve_one(conn: socket.socket) -> None:
    words = _recv_line(conn).decode().split()
    if len(words) != 2 or words[0] not in ("up", "down") or not words[1].isdigit():
        raise ConnectionError(f"bad request {words!r}")
    count = int(words[1])
    if count > MAX_BYTES:
        raise ConnectionError("too many bytes asked for")
    if words[0] == "up":
        conn.sendall(b"ok " + _recv_exact(conn, count).encode() + b"\n")
    else:
        data = os.urandom(count)  # hashed before sending: the digest goes first
        conn.sendall(hashlib.sha256(data).hexdigest().encode() + b"\n")
        conn.sendall(data)


def serve(port: int = PORT, once: bool = False) -> None:
    """Answer transfers on ``port`` (all addresses), one at a time, until killed."""
    with socket.create_server(("", port), reuse_port=False) as srv:
        print(f"transfer: listening on port {port}", flush=True)
        while True:
            conn, peer = srv.accept()
            with conn:
                try:
                    _serve_one(conn)
                except (OSError, ConnectionError, UnicodeDecodeError) as exc:
                    print(f"transfer: {peer[0]}: {exc}", flush=True)
            if once:
                return


def _rate(count: int, seconds: float) -> str:
    return f"{count / 1000 / seconds:.1f} kB/s" if seconds > 0 else "? kB/s"


def upload(host: str, count: int, port: int = PORT, timeout: float = 300) -> tuple[float, bool]:
    """Send ``count`` random bytes to a server; returns (seconds, whether its SHA-256 matched)."""
    digest = hashlib.sha256()
    with socket.create_connection((host, port), timeout=timeout) as sock:
        start = time.monotonic()
        sock.sendall(f"up {count}\n".encode())
        _send_random(sock, count, digest)
        answer = _recv_line(sock).decode()
        seconds = time.monotonic() - start
    return seconds, answer == f"ok {digest.hexdigest()}"


def download(host: str, count: int, port: int = PORT, timeout: float = 300) -> tuple[float, bool]:
    """Fetch ``count`` random bytes from a server; returns (seconds, whether the SHA-256 matched)."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        start = time.monotonic()
        sock.sendall(f"down {count}\n".encode())
        expected = _recv_line(sock).decode()
        got = _recv_exact(sock, count)
        seconds = time.monotonic() - start
    return seconds, got == expected


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dialup_admin.lab.transfer", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--port", type=int, default=PORT)
    s.add_argument("--once", action="store_true")
    for name in ("send", "recv"):
        c = sub.add_parser(name)
        c.add_argument("host")
        c.add_argument("--bytes", type=int, default=MIB)
        c.add_argument("--port", type=int, default=PORT)
        c.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args(argv)
    if args.what == "serve":
        serve(args.port, args.once)
        return 0
    if not 0 < args.bytes <= MAX_BYTES:
        parser.error(f"--bytes: 1 to {MAX_BYTES}")
    way, func = ("up", upload) if args.what == "send" else ("down", download)
    try:
        seconds, ok = func(args.host, args.bytes, args.port, args.timeout)
    except OSError as exc:
        print(f"{way} failed: {exc}", flush=True)
        return 1
    print(f"{way} {args.bytes} bytes in {seconds:.2f} s: {_rate(args.bytes, seconds)}, "
          f"sha256 {'ok' if ok else 'MISMATCH'}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
