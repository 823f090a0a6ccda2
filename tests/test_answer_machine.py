"""The direct-line answerer's state machine, step by step (pure: no port, no clock)."""

from __future__ import annotations

import pytest

from dialup_admin.modem.answer import (
    DLE,
    ETX,
    AnswerConfig,
    Answerer,
    DropDtr,
    Effect,
    Fail,
    Handover,
    LineReader,
    Log,
    Send,
    Tone,
    parse_result,
)


def sent(effects: list[Effect]) -> list[bytes]:
    return [e.data for e in effects if isinstance(e, Send)]


def logs(effects: list[Effect]) -> list[str]:
    return [e.text for e in effects if isinstance(e, Log)]


def to_tone(a: Answerer, now: float = 0.0) -> list[Effect]:
    """Drive a new answerer through the init and voice mode commands; return the last effects."""
    assert sent(a.start(now)) == [b"AT\r"]
    assert sent(a.line("AT", now)) == []  # the echo is not a result
    assert sent(a.line("OK", now)) == [b"ATZ\r"]
    assert sent(a.line("OK", now)) == [f"{a.cfg.init}\r".encode()]
    assert sent(a.line("OK", now)) == [f"ATS7={a.cfg.connect_timeout}\r".encode()]
    assert sent(a.line("OK", now)) == [b"AT+FCLASS=8\r"]
    assert sent(a.line("OK", now)) == [b"AT+VLS=1\r"]
    assert sent(a.line("OK", now)) == [b"AT+VSM=1,8000\r"]
    assert sent(a.line("OK", now)) == [b"AT+VTX\r"]
    return a.line("CONNECT", now)


def test_a_whole_call() -> None:
    a = Answerer(AnswerConfig())
    effects = to_tone(a, 0.0)
    assert effects == [Tone((350, 440)), Log("dial tone on (350+440 Hz)")]
    assert a.state == "tone" and a.deadline == 60.0
    assert a.dle(b"5", 10.0) == [Tone(())]  # the tone stops at the first digit
    for i, d in enumerate(b"551234"):
        assert a.dle(bytes([d]), 10.2 + i * 0.2) == []
    assert a.tick(11.0) == []  # the digit gap has not passed
    assert a.deadline is not None and a.deadline == pytest.approx(12.2)
    effects = a.tick(12.3)
    assert effects == [Log("digits 5551234"), Tone(None), Send(DLE + ETX)]
    assert sent(a.line("OK", 12.5)) == [b"ATH0\r"]
    assert sent(a.line("OK", 12.6)) == [b"AT+FCLASS=0\r"]
    effects = a.line("OK", 12.7)
    assert effects == [Log("answering"), Send(b"ATA\r")]
    assert a.line("RING", 13.0) == [] and a.line("OK", 13.0) == []  # neither ends the answer
    assert a.line("CONNECT 33600", 14.0) == [Log("CONNECT 33600"), Handover("CONNECT 33600")]
    assert a.state == "connected" and a.deadline is None


def test_the_number_ends_the_digits_at_once() -> None:
    a = Answerer(AnswerConfig(number="11"))
    to_tone(a)
    a.dle(b"1", 1.0)
    assert a.dle(b"1", 1.2) == [Log("digits 11"), Tone(None), Send(DLE + ETX)]


def test_a_wrong_number_is_hung_up_and_the_tone_starts_again() -> None:
    a = Answerer(AnswerConfig(number="11"))
    to_tone(a)
    a.dle(b"9", 1.0)
    effects = a.tick(2.5)
    assert effects == [Log("digits 9: not this line's number 11; hanging up"), Tone(None), Send(DLE + ETX)]
    assert sent(a.line("OK", 2.6)) == [b"ATH0\r"]
    assert sent(a.line("OK", 2.7)) == [b"ATZ\r"]  # the whole cycle again, digits forgotten
    assert a.digits == "" and a.cycles == 1


def test_no_voice_mode_fails_with_one_line() -> None:
    a = Answerer(AnswerConfig())
    a.start(0)
    for _ in range(4):
        a.line("OK", 0)
    assert a.state == "fclass"
    assert a.line("ERROR", 0) == [Fail("no voice mode: use --no-dial-tone")]


def test_digits_that_never_come_reset_the_modem() -> None:
    a = Answerer(AnswerConfig(dial_timeout=5))
    to_tone(a)
    assert a.tick(4.9) == []
    effects = a.tick(5.0)
    assert effects == [Log("no digits within 5 s: resetting the modem"), Tone(None), Send(DLE + ETX)]
    assert sent(a.line("OK", 5.2)) == [b"ATH0\r"]
    assert sent(a.line("OK", 5.3)) == [b"ATZ\r"]


@pytest.mark.parametrize("result", ["NO CARRIER", "ERROR", "NO ANSWER"])
def test_no_connect_after_ata_starts_over(result: str) -> None:
    a = Answerer(AnswerConfig())
    to_tone(a)
    a.dle(b"1", 1.0)
    a.tick(2.0)
    a.line("OK", 2.1)
    a.line("OK", 2.2)
    a.line("OK", 2.3)
    assert a.state == "answer"
    effects = a.line(result, 20.0)
    assert effects == [Log(f"no CONNECT after ATA ({result}): resetting the modem"), Send(b"ATZ\r")]


def test_a_modem_silent_after_ata_is_reset_with_dtr() -> None:
    a = Answerer(AnswerConfig(connect_timeout=10))
    to_tone(a)
    a.dle(b"1", 1.0)
    a.tick(2.0)
    for t in (2.1, 2.2, 2.3):
        a.line("OK", t)
    effects = a.tick(2.3 + 15)
    assert effects == [Log("no CONNECT within 15 s after ATA: resetting the modem"), DropDtr(), Send(b"ATZ\r")]


def test_a_silent_modem_is_tried_three_times() -> None:
    a = Answerer(AnswerConfig(command_timeout=2))
    a.start(0)
    assert a.tick(2) == [DropDtr(), Send(b"AT\r")]
    assert a.tick(4) == [DropDtr(), Send(b"AT\r")]
    effects = a.tick(6)
    assert len(effects) == 1 and isinstance(effects[0], Fail) and "does not answer AT" in effects[0].message


def test_vsm_falls_back_to_rockwell_numbering() -> None:
    a = Answerer(AnswerConfig())
    a.start(0)
    for _ in range(6):
        a.line("OK", 0)
    assert a.state == "vsm"
    assert sent(a.line("ERROR", 0)) == [b"AT+VSM=128,8000\r"]
    assert sent(a.line("OK", 0)) == [b"AT+VTX\r"]
    b = Answerer(AnswerConfig())
    b.start(0)
    for _ in range(6):
        b.line("OK", 0)
    b.line("ERROR", 0)
    (fail,) = b.line("ERROR", 0)
    assert isinstance(fail, Fail) and "--no-dial-tone" in fail.message


def test_blind_mode_answers_again_and_again() -> None:
    a = Answerer(AnswerConfig(tone=None, connect_timeout=20))
    a.start(0)
    for cmd in (b"ATZ\r", b"AT&F E0 V1 Q0 &C1 &D2 S0=0\r", b"ATS7=20\r"):
        assert sent(a.line("OK", 0)) == [cmd]
    effects = a.line("OK", 0)
    assert effects == [Log("no dial tone: answering blind-dialing callers, ATA every 20 s"), Send(b"ATA\r")]
    assert a.line("NO CARRIER", 20) == [Send(b"ATA\r")]  # quietly again
    assert a.line("CONNECT 33600", 30) == [Log("CONNECT 33600"), Handover("CONNECT 33600")]


def test_digits_outside_the_tone_are_ignored() -> None:
    a = Answerer(AnswerConfig())
    a.start(0)
    assert a.dle(b"5", 0) == []
    to = Answerer(AnswerConfig())
    to_tone(to)
    assert to.dle(b"s", 1) == [] and to.dle(b"b", 1) == []  # silence, busy: not digits


def test_config_is_checked() -> None:
    for bad in ({"number": "12a"}, {"dial_timeout": 0}, {"connect_timeout": 2}, {"init": "ATZ"[1:]}):
        with pytest.raises(ValueError):
            AnswerConfig(**bad)  # type: ignore[arg-type]


def test_results_are_recognised() -> None:
    assert parse_result("CONNECT 33600/V42b") == "CONNECT 33600/V42b"
    assert parse_result("NO DIAL TONE") == "NO DIALTONE"
    assert parse_result("VCON") == "VCON"
    assert parse_result("ATDT11") is None and parse_result("RING") is None


def feed(reader: LineReader, data: bytes) -> list[tuple[str | None, bytes | None]]:
    out = []
    for b in data:
        got = reader.feed(b)
        if got != (None, None):
            out.append(got)
    return out


def test_the_reader_ends_a_connect_line_at_its_last_byte() -> None:
    r = LineReader()
    data = b"\r\nCONNECT 33600\r\n"
    for i, b in enumerate(data):
        got = r.feed(b)
        if i < len(data) - 1:
            assert got == (None, None)
    assert got == ("CONNECT 33600", None)  # complete with the LF: nothing after it is read


def test_the_reader_splits_echo_results_and_dle_codes() -> None:
    r = LineReader()
    assert feed(r, b"ATZ\r\r\nOK\r\n") == [("ATZ", None), ("OK", None)]
    assert feed(r, b"\x105\x10\x10\x103") == [(None, b"5"), (None, b"\x10"), (None, b"3")]
    assert feed(r, b"AT\rOK\r\n") == [("AT", None), ("OK", None)]
