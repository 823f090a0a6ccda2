"""SHA-512 crypt (``$6$``), the hash FreeRADIUS checks as Crypt-Password. Pure.

FreeRADIUS's pap module hands a Crypt-Password to the C library's crypt(), which knows
``$6$`` (Ulrich Drepper's "Unix crypt using SHA-256 and SHA-512", the scheme of
/etc/shadow). Implemented here from that specification because Python's ``crypt``
module is deprecated (gone in 3.13); the tests check it against ``openssl passwd -6``
and against FreeRADIUS itself. The password is never stored, only this hash.
"""

from __future__ import annotations

import hashlib
import secrets

ALPHABET = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
DEFAULT_ROUNDS = 5000
# The order in which the 64 digest bytes are written out, three at a time.
_ORDER = ((0, 21, 42), (22, 43, 1), (44, 2, 23), (3, 24, 45), (25, 46, 4), (47, 5, 26), (6, 27, 48), (28, 49, 7),
          (50, 8, 29), (9, 30, 51), (31, 52, 10), (53, 11, 32), (12, 33, 54), (34, 55, 13), (56, 14, 35),
          (15, 36, 57), (37, 58, 16), (59, 17, 38), (18, 39, 60), (40, 61, 19), (62, 20, 41))


def _b64(b2: int, b1: int, b0: int, count: int) -> str:
    w = (b2 << 16) | (b1 << 8) | b0
    out = []
    for _ in range(count):
        out.append(ALPHABET[w & 0x3F])
        w >>= 6
    return "".join(out)


def _repeat(digest: bytes, length: int) -> bytes:
    return (digest * (length // len(digest) + 1))[:length]


def new_salt(length: int = 16) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def sha512_crypt(password: str, salt: str | None = None, rounds: int = DEFAULT_ROUNDS) -> str:
    """``$6$salt$hash`` of ``password`` (a fresh random 16-character salt unless given)."""
    salt = new_salt() if salt is None else salt
    if any(c not in ALPHABET for c in salt):
        raise ValueError("salt characters must be from [./0-9A-Za-z]")
    s = salt[:16].encode()
    p = password.encode()
    rounds = max(1000, min(999_999_999, rounds))

    b = hashlib.sha512(p + s + p).digest()
    a = hashlib.sha512(p + s)
    a.update(_repeat(b, len(p)))
    n = len(p)
    while n:
        a.update(b if n & 1 else p)
        n >>= 1
    c = a.digest()
    dp = hashlib.sha512(p * len(p)).digest()
    pp = _repeat(dp, len(p))
    ds = hashlib.sha512(s * (16 + c[0])).digest()
    ss = _repeat(ds, len(s))
    for i in range(rounds):
        h = hashlib.sha512(pp if i & 1 else c)
        if i % 3:
            h.update(ss)
        if i % 7:
            h.update(pp)
        h.update(c if i & 1 else pp)
        c = h.digest()
    encoded = "".join(_b64(c[x], c[y], c[z], 4) for x, y, z in _ORDER) + _b64(0, 0, c[63], 2)
    head = "$6$" if rounds == DEFAULT_ROUNDS else f"$6$rounds={rounds}$"
    return f"{head}{salt[:16]}${encoded}"


def verify(password: str, hashed: str) -> bool:
    """Whether ``password`` matches a ``$6$`` hash."""
    parts = hashed.split("$")
    if len(parts) < 4 or parts[1] != "6":
        return False
    rounds = DEFAULT_ROUNDS
    rest = parts[2:]
    if rest[0].startswith("rounds="):
        if not rest[0][7:].isdigit():
            return False
        rounds = int(rest[0][7:])
        rest = rest[1:]
    if len(rest) != 2:
        return False
    try:
        return secrets.compare_digest(sha512_crypt(password, rest[0], rounds), hashed)
    except ValueError:
        return False
