"""pap-secrets/chap-secrets as pppd reads them: getword, scan_authfile, the writer. Pure."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialup_admin.errors import BadInput
from dialup_admin.formats import secrets as fmt
from dialup_admin.formats.secrets import Entry

DEBIAN_STOCK = b"""# INBOUND connections

# Every regular user can use PPP and has to use passwords from /etc/passwd
*	hostname	""	*

# UserIDs that cannot use PPP at all.
guest	hostname	"*"	-
root	hostname	"*"	-
#	*	password
"""


def words(data: bytes) -> list[str]:
    return [t.word for t in fmt.tokenize(data)]


# --- getword ------------------------------------------------------------------

@pytest.mark.parametrize("data,expected", [
    (b"a b\tc\n", ["a", "b", "c"]),
    (b'"a b" \'c d\'', ["a b", "c d"]),
    (b'"a\nb"', ["a\nb"]),                      # a quoted word runs over newlines
    (b'ab"cd"', ['ab"cd"']),                    # a quote inside a word is ordinary
    (b'"ab"cd', ["ab", "cd"]),                  # closing quote ends the word
    (b"a#b c\nd", ["a", "d"]),                  # '#' ends an unquoted word and starts a comment
    (b'"a#b"', ["a#b"]),
    (b"a\\ b", ["a b"]),                        # escaped space
    (b"a\\\nb", ["ab"]),                        # backslash-newline is dropped
    (b"\\n\\t\\s\\a\\b\\f\\r", ["\n\t \a\b\f\r"]),
    (b"\\101\\1012", ["AA2"]),                  # at most three octal digits
    (b"\\x41\\x4", ["A\x04"]),
    (b"\\q", ["q"]),
    (b"ab\\0cd", ["ab"]),                       # a C string: NUL ends it
    (b'""', [""]),
    (b'"', []),                                 # nothing but an opening quote at EOF
    (b"abc", ["abc"]),
    (b"\\", []),
    (b'"unterminated', ["unterminated"]),
])
def test_getword(data: bytes, expected: list[str]) -> None:
    assert words(data) == expected


def test_newline_flags() -> None:
    toks = fmt.tokenize(b"a b\\\n c\n# x\n\n d")
    assert [(t.word, t.newline) for t in toks] == [("a", True), ("b", False), ("c", False), ("d", True)]
    assert toks[3].line == 5


def test_long_word_is_cut() -> None:
    (t,) = fmt.tokenize(b"x" * 2000)
    assert len(t.word) == fmt.MAXWORDLEN - 1 and t.truncated


# --- scan_authfile --------------------------------------------------------------

def test_parse_entries_addresses_options() -> None:
    p = fmt.parse(b'dc * "pw" 10.0.0.1 !10.0.0.2 10.1.0.0/16 -- debug "ms-dns" 1.1.1.1\nshort *\nx y z\n')
    assert p.entries[0] == Entry("dc", "*", "pw", ("10.0.0.1", "!10.0.0.2", "10.1.0.0/16"),
                                 ("debug", "ms-dns", "1.1.1.1"), 1)
    assert p.entries[1] == Entry("x", "y", "z", (), (), 3)
    assert p.skipped == [2]


def test_debian_stock_file() -> None:
    p = fmt.parse(DEBIAN_STOCK)
    assert [(e.client, e.server, e.secret, e.addresses) for e in p.entries] == [
        ("*", "hostname", "", ("*",)), ("guest", "hostname", "*", ("-",)), ("root", "hostname", "*", ("-",))]
    assert p.entries[1].is_deny and not p.entries[0].is_deny


def test_lookup_best_match_then_first() -> None:
    es = fmt.parse(b"* * any\ndc * first\ndc * second\ndc srv best\n").entries
    assert fmt.lookup(es, "dc", "srv").secret == "best"  # type: ignore[union-attr]
    assert fmt.lookup(es, "dc", "other").secret == "first"  # type: ignore[union-attr]
    assert fmt.lookup(es, "nobody", "other").secret == "any"  # type: ignore[union-attr]
    assert fmt.lookup(fmt.parse(b"dc srv x\n").entries, "dc", "other") is None


def test_some_ip_ok() -> None:
    assert fmt.some_ip_ok(["*"]) and fmt.some_ip_ok(["!1.2.3.4", "1.2.3.0/24"])
    assert not fmt.some_ip_ok(["-"]) and not fmt.some_ip_ok([]) and not fmt.some_ip_ok(["!1.2.3.4"])


# --- writer -----------------------------------------------------------------------

@pytest.mark.parametrize("word", ["plain", "", "a b", 'q"uote', "back\\slash", "#hash", "'single", "tab\there",
                                  "ünïcode", "\x01ctl", "12\\3", "--", "*"])
def test_quote_reads_back(word: str) -> None:
    assert words(fmt.quote(word).encode("utf-8", "surrogateescape")) == [word]


@pytest.mark.parametrize("entry,message", [
    (Entry("a\nb", "*", "x", ("*",)), "line break"),
    (Entry("a", "*", "x\ny", ("*",)), "line break"),
    (Entry("a", "*", "x\ry", ("*",)), "line break"),
    (Entry("a", "*", "x\0y", ("*",)), "NUL"),
    (Entry("a", "*", "@/etc/shadow", ("*",)), "'@'"),
    (Entry("a", "*", "@other", ("*",)), "'@'"),
    (Entry("", "*", "x", ("*",)), "empty"),
    (Entry("a", "*", "x", ("--",)), "address"),
    (Entry("a", "*", "x", ("1.2.3.4 -- debug",)), "address"),
    (Entry("a", "*", "x", ("300.1.1.1",)), "address"),
    (Entry("a", "*", "x", ("1.2.3.0/33",)), "prefix"),
    (Entry("a", "*", "y" * 1024, ("*",)), "1023"),
])
def test_writer_refuses(entry: Entry, message: str) -> None:
    with pytest.raises(BadInput, match=message):
        fmt.format_entry(entry)


def test_deny_line_as_debian_writes_it() -> None:
    assert fmt.format_entry(Entry("root", "*", "*", ("-",))) == 'root\t*\t"*"\t-\n'


# Anything text-like: hypothesis mixes in quotes, backslashes, '#', spaces, '--', control bytes.
_tricky = st.sampled_from(['"', "'", "\\", "#", " ", "\t", "--", "*", "-", "@", "\x0b", "\x0c", "\x01", "é", "\\n"])
_text = st.lists(st.one_of(st.text(min_size=1, max_size=6), _tricky), max_size=8).map("".join)
_addr = st.one_of(
    st.sampled_from(["*", "-"]),
    st.tuples(st.booleans(), st.ip_addresses(v=4), st.one_of(st.none(), st.integers(1, 32))).map(
        lambda t: ("!" if t[0] else "") + str(t[1]) + (f"/{t[2]}" if t[2] is not None else "")),
)


def _accepted(e: Entry) -> bool:
    try:
        fmt.format_entry(e)
    except BadInput:
        return False
    return True


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(client=_text, server=_text, secret=_text, addrs=st.lists(_addr, max_size=3),
       before=st.sampled_from([b"", b"# admin\n", b'* * "" *\n', b"x y z \\\n\n", b"a b c\r\n"]))
def test_roundtrip_never_adds_an_entry_or_option(client: str, server: str, secret: str, addrs: list[str],
                                                   before: bytes) -> None:
    """What the writer accepts reads back identically, one entry, no pppd options."""
    entry = Entry(client, server, secret, tuple(addrs))
    if not _accepted(entry):
        return
    text = fmt.format_entry(entry).encode("utf-8", "surrogateescape")
    (got,) = fmt.parse(text).entries
    assert got.same(entry) and got.options == ()
    # Inside a file, after admin lines and before more of ours, it stays one entry.
    other = fmt.format_entry(Entry("next", "*", "@login", ("*",))).encode()
    parsed = fmt.parse(before + text + other).entries
    assert [e for e in parsed if e.same(entry)] and parsed[-1].client == "next"
    assert all(e.options == () for e in parsed)


@given(word=st.text(max_size=40))
def test_quote_roundtrip_any_text(word: str) -> None:
    try:
        quoted = fmt.quote(word)
    except BadInput:
        assert "\0" in word
        return
    assert words(quoted.encode("utf-8", "surrogateescape")) == [word]


def test_redact_line() -> None:
    assert fmt.redact_line('dc\t*\t"my secret"\t*\n') == "dc\t*\t********\t*\n"
    assert fmt.redact_line("dc * @login *") == "dc * @login *"  # policy, not a secret
    assert fmt.redact_line("# a b c\n") == "# a b c\n"
    assert fmt.redact_line("a b\n") == "a b\n"
