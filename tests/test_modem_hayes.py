"""The AT command interpreter, without ptys or time."""

from __future__ import annotations

from dialup_admin.modem.hayes import (
    Answer,
    Dial,
    EscapeDetector,
    Hangup,
    Hayes,
    Online,
    Output,
    Result,
)

GUIDE_INIT = "AT S7=45 S0=0 L1 V1 X4 &c1 E1 Q0"


def out(actions: list[object]) -> bytes:
    return b"".join(a.data for a in actions if isinstance(a, Output))


def test_guide_init_string_sets_everything_and_answers_ok_once() -> None:
    h = Hayes()
    h.execute("ATE0Q1V0X0&C0")
    acts = h.execute(GUIDE_INIT)
    assert out(acts) == b"\r\nOK\r\n"
    st = h.settings
    assert (st.echo, st.quiet, st.verbose, st.xlevel, st.dcd_mode, st.speaker_volume) == (True, False, True, 4, 1, 1)
    assert h.reg(7) == 45 and h.reg(0) == 0


def test_feed_echoes_and_completes_lines_on_cr() -> None:
    h = Hayes()
    echo, lines = h.feed(b"AT")
    assert echo == b"AT" and lines == []
    echo, lines = h.feed(b"\r")
    assert echo == b"\r" and out(lines[0]) == b"\r\nOK\r\n"
    h.execute("ATE0")
    echo, lines = h.feed(b"AT\r")
    assert echo == b"" and len(lines) == 1


def test_lines_without_attention_are_ignored_and_junk_before_at_is_skipped() -> None:
    h = Hayes()
    _, lines = h.feed(b"+++\r\r hello\r")
    assert lines == []
    _, lines = h.feed(b"\x00+ AT\r")
    assert out(lines[0]) == b"\r\nOK\r\n"
    _, lines = h.feed(b"dialup-admin simulated modem\r")  # "at" inside text is no command
    assert lines == []


def test_backspace_edits_the_line() -> None:
    h = Hayes()
    _, lines = h.feed(b"ATQ1\x08\x08E0\r")
    assert out(lines[0]) == b"\r\nOK\r\n"
    assert h.settings.echo is False and h.settings.quiet is False


def test_numeric_results_with_v0() -> None:
    h = Hayes()
    assert out(h.execute("ATV0")) == b"0\r"
    assert out(h.execute("ATJ")) == b"4\r"
    assert h.result(Result.CONNECT, 33600) == b"84\r"
    assert h.result(Result.CONNECT, 12345) == b"1\r"
    assert h.result(Result.NO_CARRIER) == b"3\r"
    assert h.result(Result.BUSY) == b"7\r"


def test_quiet_mode_suppresses_results() -> None:
    h = Hayes()
    assert out(h.execute("ATQ1")) == b""
    assert h.result(Result.RING) == b""


def test_x_levels_choose_the_result_set() -> None:
    h = Hayes()
    h.execute("ATX0")
    assert h.result(Result.BUSY) == b"\r\nNO CARRIER\r\n"
    assert h.result(Result.NO_DIALTONE) == b"\r\nNO CARRIER\r\n"
    assert h.result(Result.CONNECT, 33600) == b"\r\nCONNECT\r\n"
    h.execute("ATX3")
    assert h.result(Result.BUSY) == b"\r\nBUSY\r\n"
    assert h.result(Result.NO_DIALTONE) == b"\r\nNO CARRIER\r\n"
    assert h.result(Result.CONNECT, 33600) == b"\r\nCONNECT 33600\r\n"
    h.execute("ATX4")
    assert h.result(Result.NO_DIALTONE) == b"\r\nNO DIALTONE\r\n"


def test_s_registers_set_and_query() -> None:
    h = Hayes()
    assert out(h.execute("ATS7=45S0=2")) == b"\r\nOK\r\n"
    assert out(h.execute("ATS7?")) == b"\r\n045\r\n\r\nOK\r\n"
    assert out(h.execute("ATS0?")) == b"\r\n002\r\n\r\nOK\r\n"
    assert out(h.execute("ATS300=1")) == b"\r\nERROR\r\n"
    assert out(h.execute("ATS7=999")) == b"\r\nERROR\r\n"


def test_unknown_commands_are_errors_and_stop_the_line() -> None:
    h = Hayes()
    acts = h.execute("ATE0 J E1")
    assert out(acts) == b"\r\nERROR\r\n"
    assert h.settings.echo is False
    assert out(h.execute("ATE7")) == b"\r\nERROR\r\n"
    assert out(h.execute("AT&Z")) == b"\r\nERROR\r\n"
    assert out(h.execute("AT+FOO")) == b"\r\nERROR\r\n"


def test_identification() -> None:
    h = Hayes()
    for n in range(5):
        text = out(h.execute(f"ATI{n}"))
        assert text.endswith(b"\r\nOK\r\n") and len(text) > len(b"\r\nOK\r\n")
    assert b"simulated modem" in out(h.execute("ATI3"))
    assert out(h.execute("ATI9")) == b"\r\nERROR\r\n"
    assert out(h.execute("AT+GMI")) == b"\r\ndialup-admin\r\n\r\nOK\r\n"


def test_dial_strings() -> None:
    h = Hayes()
    assert h.execute("ATDT11") == [Dial("11")]
    assert h.execute("ATDP 0123-456") == [Dial("0123456")]
    assert h.execute("ATD T(0)12,34W5") == [Dial("012345")]
    assert h.execute("ATDL") == [Dial("012345")]
    assert h.execute("ATE0DT*70#") == [Dial("*70#")]
    assert out(h.execute("ATDT1x2")) == b"\r\nERROR\r\n"


def test_call_commands() -> None:
    h = Hayes()
    assert h.execute("ATA") == [Answer()]
    assert h.execute("ATO") == [Online()]
    assert h.execute("ATO0") == [Online()]
    acts = h.execute("ATH0")
    assert isinstance(acts[0], Hangup) and out(acts) == b"\r\nOK\r\n"


def test_what_mgetty_and_chat_send() -> None:
    h = Hayes()
    for line in ("ATQ0V1H0", "ATS0=0Q0&D3&C1", "AT+FCLASS=0", "ATH0Z", "AT&F", "ATE1Q0V1&K3", "AT&W", "ATM1L2", "ATB0"):
        assert out(h.execute(line)).endswith(b"\r\nOK\r\n"), line
    assert out(h.execute("AT+FCLASS=?")) == b"\r\n0,8\r\n\r\nOK\r\n"  # data and V.253 voice, no fax
    assert out(h.execute("AT+FCLASS=2")) == b"\r\nERROR\r\n"


def test_reset_restores_the_stored_profile() -> None:
    h = Hayes()
    h.execute("ATE0S7=30")
    h.execute("ATZ")
    assert h.settings.echo is True and h.reg(7) == 50
    h.execute("ATE0S7=30&W")
    h.execute("ATE1S7=60")
    h.execute("ATZ")
    assert h.settings.echo is False and h.reg(7) == 30
    h.execute("AT&F")
    assert h.settings.echo is True and h.reg(7) == 50


def test_a_slash_repeats_the_last_command() -> None:
    h = Hayes()
    h.feed(b"ATI3\r")
    _, lines = h.feed(b"A/")
    assert b"simulated modem" in out(lines[0])


def test_escape_needs_guard_times() -> None:
    e = EscapeDetector(guard=1.0)
    e.data(b"hello", 0.0)
    e.data(b"+++", 1.5)
    assert e.deadline() == 2.5
    assert not e.due(2.0)
    assert e.due(2.6)
    assert not e.due(3.0)  # once


def test_escape_cancelled_by_data_after_or_missing_leading_guard() -> None:
    e = EscapeDetector(guard=1.0)
    e.data(b"+++", 1.5)
    e.data(b"x", 2.0)
    assert not e.due(5.0)
    e.data(b"a+++", 10.0)  # no pause before +++
    assert not e.due(20.0)
    e.data(b"+", 30.0)
    e.data(b"+", 30.5)
    e.data(b"+", 32.0)  # too slow between the pluses
    assert not e.due(40.0)
    e.data(b"+", 50.0)
    e.data(b"++", 50.2)
    assert e.due(51.3)
