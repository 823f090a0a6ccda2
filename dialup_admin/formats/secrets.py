"""pppd secrets files (pap-secrets, chap-secrets), read and written as pppd reads them. Pure.

The reader follows pppd 2.4.9 byte for byte: ``getword()`` in options.c splits the
file into words, ``scan_authfile()`` in auth.c groups them into entries.

getword, as pppd has it:

* words are separated by white space (C locale ``isspace``: space, \\t, \\n, \\v, \\f, \\r);
* ``#`` outside a word, or right after an unquoted word, starts a comment to the end
  of the line (``#`` inside an unquoted word ends that word);
* a word that *starts* with ``"`` or ``'`` runs to the same quote character,
  newlines included (a quote in the middle of a word is an ordinary character);
* backslash escapes, inside quotes or not: ``\\<newline>`` is dropped (line
  continuation), ``\\a \\b \\f \\n \\r \\s \\t`` are the C characters (``\\s`` is a space),
  ``\\ddd`` up to three octal digits, ``\\xHH`` up to two hex digits, anything
  else stands for itself;
* words are C strings: a ``\\0`` ends the word there, and a word is cut at 1023 bytes.

scan_authfile, as pppd has it: an entry begins with the first word of a line
(client), then server and secret, then every further word on that line. A ``--``
among those words ends the address list; the words after it are pppd options,
applied with root's privilege. A line with fewer than three words is skipped.
For a client, pppd takes the *best* match (a non-wildcard client beats ``*``, a
non-wildcard server adds to that); among equally good entries the first wins.
A secret ``@/path`` is read from that file; the secret ``@login`` (check_passwd)
means "check the system password database", whatever the ``login`` option says.

The writer quotes so that every value it accepts reads back identically, and the
validators refuse what no quoting can make safe (NUL, newline, an address ``--``,
a secret that pppd would take as ``@/file``).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from dialup_admin.errors import BadInput

MAXWORDLEN = 1024  # pppd.h: a word is at most MAXWORDLEN-1 bytes
LOGIN_SECRET = "@login"  # auth.c check_passwd: check the password against the system database
DENY_SECRET = "*"  # no password crypt()s to "*", so the entry can never authenticate
WILD = "*"
# The first lines of a pap-secrets file the tool creates (those of Debian's stock file).
PAP_HEADER = b"# Secrets for authentication using PAP\n# client\tserver\tsecret\t\t\tIP addresses\n"
_SPACE = b" \t\n\v\f\r"
_OCTAL = b"01234567"
_HEX = b"0123456789abcdefABCDEF"
_ESCAPES = {ord("a"): 7, ord("b"): 8, ord("f"): 12, ord("n"): 10, ord("r"): 13, ord("s"): 32, ord("t"): 9}


def _text(raw: bytes) -> str:
    """Bytes from the file as str, losslessly (undecodable bytes kept as surrogates)."""
    return raw.decode("utf-8", errors="surrogateescape")


def _raw(text: str) -> bytes:
    return text.encode("utf-8", errors="surrogateescape")


@dataclass(frozen=True)
class Token:
    """One word as getword returns it."""

    word: str  # the value pppd sees (cut at a NUL and at MAXWORDLEN-1 bytes)
    newline: bool  # a newline came before it: it starts a line
    line: int  # 1-based line where the word starts
    start: int  # byte offsets of the word's source text
    end: int
    truncated: bool = False
    spans_lines: bool = False  # a quoted word that swallowed newlines


def tokenize(data: bytes) -> list[Token]:
    """Split ``data`` into words exactly as pppd's getword() does."""
    out: list[Token] = []
    i, n, line = 0, len(data), 1
    while True:
        newline = False
        escape = False
        comment = False
        c: int | None = None
        # Skip white space and comments.
        while i < n:
            c = data[i]
            i += 1
            if c == 0x0A:
                line += 1
                if not escape:
                    newline = True
                    comment = False
                else:
                    escape = False
                continue
            if comment:
                continue
            if escape:
                break
            if c == 0x5C:
                escape = True
                continue
            if c == 0x23:
                comment = True
                continue
            if c not in _SPACE:
                break
        else:
            c = None
        if c is None:
            return out  # end of file before a word (len == 0 at EOF: no word)
        start = i - 1 - (1 if escape else 0)
        first_line = line
        word = bytearray()
        quoted = 0
        if not escape and c in (0x22, 0x27):
            quoted = c
            c = data[i] if i < n else None
            i += 1
        while c is not None:
            if escape:
                escape = False
                if c == 0x0A:
                    line += 1
                    c = data[i] if i < n else None
                    i += 1
                    continue
                got = False
                if c in _ESCAPES:
                    value = _ESCAPES[c]
                elif c in _OCTAL:
                    value = 0
                    k = 0
                    while k < 3 and c is not None and c in _OCTAL:
                        value = (value << 3) + (c & 7)
                        c = data[i] if i < n else None
                        i += 1
                        k += 1
                    got = True
                elif c == ord("x"):
                    value = 0
                    c = data[i] if i < n else None
                    i += 1
                    k = 0
                    while k < 2 and c is not None and c in _HEX:
                        value = (value << 4) + int(chr(c), 16)
                        c = data[i] if i < n else None
                        i += 1
                        k += 1
                    got = True
                else:
                    value = c
                word.append(value & 0xFF)
                if not got:
                    c = data[i] if i < n else None
                    i += 1
                continue
            if quoted:
                if c == quoted:
                    break
            elif c in _SPACE or c == 0x23:
                i -= 1  # ungetc
                break
            if c == 0x5C:
                escape = True
                c = data[i] if i < n else None
                i += 1
                continue
            if c == 0x0A:
                line += 1
            word.append(c)
            c = data[i] if i < n else None
            i += 1
        if c is None:
            i = n  # the reads past the end above advanced i beyond the data
            if not word:
                return out
        value_bytes = bytes(word)
        truncated = len(value_bytes) > MAXWORDLEN - 1
        value_bytes = value_bytes[: MAXWORDLEN - 1].split(b"\0", 1)[0]
        out.append(Token(_text(value_bytes), newline or not out, first_line, start, min(i, n), truncated,
                         spans_lines=line != first_line and bool(quoted)))


@dataclass(frozen=True)
class Entry:
    """One entry of a secrets file: ``client server secret [addresses...] [-- options...]``."""

    client: str
    server: str
    secret: str
    addresses: tuple[str, ...] = ()
    options: tuple[str, ...] = ()
    line: int = 0  # where it starts in the file (0: not from a file)

    @property
    def is_deny(self) -> bool:
        """An entry that can never authenticate, or authorises no address."""
        return self.secret == DENY_SECRET or not some_ip_ok(self.addresses)

    def same(self, other: "Entry") -> bool:
        return (self.client, self.server, self.secret, self.addresses, self.options) == (
            other.client, other.server, other.secret, other.addresses, other.options)


@dataclass
class Parsed:
    entries: list[Entry] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)  # lines pppd ignores (fewer than three words)
    warnings: list[str] = field(default_factory=list)


def parse(data: bytes) -> Parsed:
    """Every entry of a secrets file, as scan_authfile would meet them, in file order."""
    result = Parsed()
    toks = tokenize(data)
    i = 0
    while i < len(toks):
        head = toks[i]
        line = [head]
        i += 1
        while i < len(toks) and not toks[i].newline:
            line.append(toks[i])
            i += 1
        for t in line:
            if t.truncated:
                result.warnings.append(f"line {t.line}: a word longer than {MAXWORDLEN - 1} bytes is cut by pppd")
            if t.spans_lines:
                result.warnings.append(f"line {t.line}: a quoted word runs over several lines (a missing quote?)")
        if len(line) < 3:
            result.skipped.append(head.line)
            continue
        rest = [t.word for t in line[3:]]
        opts: tuple[str, ...] = ()
        if "--" in rest:
            k = rest.index("--")
            rest, opts = rest[:k], tuple(rest[k + 1 :])
        result.entries.append(Entry(line[0].word, line[1].word, line[2].word, tuple(rest), opts, head.line))
    return result


def lookup(entries: Sequence[Entry], client: str, server: str | None) -> Entry | None:
    """The entry pppd's scan_authfile picks for ``client`` talking to ``server``.

    Best match wins (non-wildcard client 2, non-wildcard server 1); the first of
    equally good entries wins. ``@/file`` secrets are taken as given (not opened).
    """
    best: Entry | None = None
    best_flag = -1
    for e in entries:
        if e.client != client and e.client != WILD:
            continue
        flag = 2 if e.client != WILD else 0
        if e.server != WILD:
            if server is not None and e.server != server:
                continue
            flag |= 1
        if flag > best_flag:
            best, best_flag = e, flag
    return best


def some_ip_ok(addresses: Sequence[str]) -> bool:
    """auth.c some_ip_ok: does the address list authorise any address at all?"""
    for a in addresses:
        if a.startswith("-"):
            return False
        if not a.startswith("!"):
            return True
    return False


# --- writing -----------------------------------------------------------------

_PLAIN = re.compile(r"^[A-Za-z0-9_.,:/+=%^~!@$*-]+$")


def quote(word: str) -> str:
    """``word`` written so that getword reads back exactly ``word``.

    Plain words stay bare; anything else goes in double quotes with ``"`` and ``\\``
    escaped and every control or non-ASCII byte as a three-digit octal escape
    (three digits, so a following digit is never taken into the escape).
    """
    check_word(word, "word")
    if _PLAIN.match(word) and not word.startswith(("#", '"', "'")):
        return word
    out = ['"']
    for b in _raw(word):
        ch = chr(b)
        if ch in '"\\':
            out.append("\\" + ch)
        elif 0x20 <= b < 0x7F:
            out.append(ch)
        else:
            out.append(f"\\{b:03o}")
    out.append('"')
    return "".join(out)


def check_word(word: str, what: str) -> None:
    """Refuse what pppd cannot read back as one word: NUL, too long."""
    try:
        raw = _raw(word)
    except UnicodeEncodeError:
        raise BadInput(f"bad {what}: it is not valid text") from None
    if b"\0" in raw:
        raise BadInput(f"bad {what}: it contains a NUL byte")
    if len(raw) > MAXWORDLEN - 1:
        raise BadInput(f"bad {what}: longer than pppd's {MAXWORDLEN - 1} bytes")


def check_secret(secret: str, what: str = "secret") -> None:
    """A secret the tool may write: no line breaks, no ``@`` start (pppd would read a file)."""
    check_word(secret, what)
    if any(ch in secret for ch in "\n\r"):
        raise BadInput(f"bad {what}: it contains a line break")
    if secret.startswith("@") and secret != LOGIN_SECRET:
        raise BadInput(f"bad {what}: it starts with '@', which pppd reads as @/file or @login")


def check_name(name: str, what: str = "name") -> None:
    """A client or server name: one word, no line breaks, not empty."""
    if name == "":
        raise BadInput(f"bad {what}: empty (pppd reads an empty client as the null login)")
    check_word(name, what)
    if any(ch in name for ch in "\n\r"):
        raise BadInput(f"bad {what}: it contains a line break")


_ADDR = re.compile(r"^!?(\d{1,3}(?:\.\d{1,3}){3})(?:/(\d{1,2})\+?)?$")


def check_address(word: str) -> None:
    """An address-list word pppd understands: ``*``, ``-``, ``[!]a.b.c.d[/n[+]]``."""
    if word in (WILD, "-"):
        return
    m = _ADDR.match(word)
    if m is None:
        raise BadInput(f"bad address {word!r}: expected *, - or an IPv4 address (optionally !addr or addr/nn)")
    try:
        ipaddress.IPv4Address(m.group(1))
    except ValueError:
        raise BadInput(f"bad address {word!r}: not an IPv4 address") from None
    if m.group(2) is not None and not 1 <= int(m.group(2)) <= 32:
        raise BadInput(f"bad address {word!r}: the prefix length must be 1 to 32")


def format_entry(entry: Entry) -> str:
    """One line for ``entry`` (with its newline), refusing anything that would not read back."""
    check_name(entry.client, "client")
    check_name(entry.server, "server")
    check_secret(entry.secret)
    for a in entry.addresses:
        check_address(a)
    for o in entry.options:
        check_name(o, "pppd option")
    # Debian's stock file writes the deny secret quoted ("*"); it reads back the same.
    secret = '"*"' if entry.secret == DENY_SECRET else quote(entry.secret)
    words = [quote(entry.client), quote(entry.server), secret]
    words += [quote(a) for a in entry.addresses]
    if entry.options:
        words += ["--", *(quote(o) for o in entry.options)]
    return "\t".join(words) + "\n"


def format_entries(entries: Iterable[Entry]) -> str:
    return "".join(format_entry(e) for e in entries)


def redact_line(line: str) -> str:
    """``line`` with its secret (third word) replaced by ``********``, for diffs and logs."""
    raw = _raw(line)
    toks = tokenize(raw)
    if len(toks) < 3 or any(t.newline and k for k, t in enumerate(toks[:3])):
        return line
    t = toks[2]
    if t.word in (LOGIN_SECRET, DENY_SECRET, ""):
        return line  # policy, not a secret: reviewers should see it
    return _text(raw[: t.start] + b"********" + raw[t.end :])
