"""FreeRADIUS accounting detail files, read into the pool's calls. Pure.

FreeRADIUS's ``detail`` module appends every Accounting-Request it gets to
``radacct/<NAS address>/detail-YYYYMMDD``: a date line, then one ``\\tName = value``
line per attribute, then a blank line::

    Fri Dec  4 18:59:52 2026
    	User-Name = "alice"
    	Acct-Status-Type = Start
    	Acct-Session-Id = "6570A1B20001"
    	NAS-Port = 1
    	NAS-Identifier = "nas1"
    	NAS-Port-Id = "ttyS1"
    	Framed-IP-Address = 192.168.32.12
    	Acct-Unique-Session-Id = "93c66a0763514830971faf759e577afc"
    	Timestamp = 1796410792

pppd's radius.so sends a Start when IPCP comes up and a Stop when it goes down (with
Acct-Session-Time, octets, packets and Acct-Terminate-Cause), and Interim-Updates when the
server asks for them (Acct-Interim-Interval). A call is the records sharing an
Acct-Unique-Session-Id (FreeRADIUS's acct_unique adds it), else NAS and Acct-Session-Id.
Octets are counted at the NAS: Input is what the caller sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

Record = dict[str, str]

_ESCAPE_RE = re.compile(r"\\(\\|\"|n|r|t|[0-7]{3})")


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        def sub(m: re.Match[str]) -> str:
            e = m.group(1)
            return {"n": "\n", "r": "\r", "t": "\t"}.get(e, chr(int(e, 8)) if e.isdigit() else e)
        return _ESCAPE_RE.sub(sub, value[1:-1])
    return value


def parse(text: str) -> list[Record]:
    """The records of a detail file (a record cut short at the end is kept as far as it goes)."""
    records: list[Record] = []
    current: Record | None = None
    for line in text.splitlines():
        if not line.strip():
            if current:
                records.append(current)
            current = None
            continue
        if not line[0].isspace():
            if current:
                records.append(current)
            current = {"_header": line.strip()}
            continue
        name, sep, value = line.strip().partition(" = ")
        if sep and current is not None and name not in current:
            current[name] = _unquote(value.strip())
    if current:
        records.append(current)
    return records


@dataclass(frozen=True)
class Call:
    """One call of the pool, as FreeRADIUS's accounting tells it."""

    user: str
    nas: str  # NAS-Identifier (the dial-in server's name), else its address
    line: str  # NAS-Port-Id (the tty), else NAS-Port
    address: str  # Framed-IP-Address: the caller's
    start: int | None
    end: int | None
    duration: int | None
    bytes_in: int | None  # from the caller
    bytes_out: int | None  # to the caller
    state: str  # active | ended
    cause: str  # Acct-Terminate-Cause of an ended call
    session: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _int(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None


def _octets(rec: Record, kind: str) -> int | None:
    low = _int(rec.get(f"Acct-{kind}-Octets"))
    if low is None:
        return None
    return low + ((_int(rec.get(f"Acct-{kind}-Gigawords")) or 0) << 32)


def _key(rec: Record) -> str:
    unique = rec.get("Acct-Unique-Session-Id")
    if unique:
        return unique
    return f"{rec.get('NAS-Identifier') or rec.get('NAS-IP-Address', '-')}/{rec.get('Acct-Session-Id', '-')}"


def calls(records: Iterable[Record]) -> list[Call]:
    """The calls in ``records`` (in file order), oldest first."""
    groups: dict[str, list[Record]] = {}
    for rec in records:
        if rec.get("Acct-Status-Type") in ("Start", "Stop", "Interim-Update", "Alive"):
            groups.setdefault(_key(rec), []).append(rec)
    out: list[Call] = []
    for key, recs in groups.items():
        first = recs[0]
        start_rec = next((r for r in recs if r.get("Acct-Status-Type") == "Start"), None)
        stop = next((r for r in recs if r.get("Acct-Status-Type") == "Stop"), None)
        last = stop or recs[-1]
        duration = _int(last.get("Acct-Session-Time"))
        end = _int(stop.get("Timestamp")) if stop else None
        start = _int(start_rec.get("Timestamp")) if start_rec else None
        if start is None and end is not None and duration is not None:
            start = end - duration
        merged = {**first, **{k: v for k, v in last.items() if v}}
        out.append(Call(
            user=merged.get("User-Name", "-"),
            nas=merged.get("NAS-Identifier") or merged.get("NAS-IP-Address", "-"),
            line=merged.get("NAS-Port-Id") or merged.get("NAS-Port", "-"),
            address=merged.get("Framed-IP-Address", "-"),
            start=start, end=end, duration=duration,
            bytes_in=_octets(last, "Input"), bytes_out=_octets(last, "Output"),
            state="ended" if stop else "active",
            cause=stop.get("Acct-Terminate-Cause", "") if stop else "",
            session=key,
        ))
    order = {c.session: i for i, c in enumerate(out)}
    out.sort(key=lambda c: (c.start if c.start is not None else c.end if c.end is not None else float("inf"),
                            order[c.session]))
    return out
