"""Voice mode (V.253) and direct pairs (no exchange) in the simulator, and the tone check.

A direct pair is two modems cabled to each other with a line-voltage inducer, the way
Dreamcast owners wire a DreamPi: no dial tone unless the answering modem plays one in
voice mode, no RING, the caller's digits reported as <DLE><digit>.
"""

from __future__ import annotations

import os
import random
import select
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dialup_admin.errors import BadInput
from dialup_admin.modem import tones
from dialup_admin.modem.hayes import Answer, Hayes, Identity, Output, VoiceLine, VoiceTransmit
from dialup_admin.modem.simulator import PhoneLine
from tests.support.modem import Terminal

DLE, ETX = b"\x10", b"\x03"


def out(actions: list[object]) -> bytes:
    return b"".join(a.data for a in actions if isinstance(a, Output))


# --- the AT commands -----------------------------------------------------------------


def test_voice_commands() -> None:
    h = Hayes()
    assert out(h.execute("AT+VLS=1")) == b"\r\nERROR\r\n"  # voice commands only in +FCLASS=8
    assert out(h.execute("AT+VTX")) == b"\r\nERROR\r\n"
    assert out(h.execute("AT+FCLASS=8")) == b"\r\nOK\r\n"
    assert out(h.execute("AT+FCLASS?")) == b"\r\n8\r\n\r\nOK\r\n"
    assert out(h.execute("AT+VLS=?")) == b"\r\n0,1\r\n\r\nOK\r\n"
    assert h.execute("AT+VLS=1") == [VoiceLine(True), Output(b"\r\nOK\r\n")]
    listing = out(h.execute("AT+VSM=?"))
    assert b'1,"UNSIGNED PCM",8,0,(8000),(0),(0)' in listing and b'0,"SIGNED PCM"' in listing
    assert out(h.execute("AT+VSM=1,8000")) == b"\r\nOK\r\n"
    assert out(h.execute("AT+VSM?")) == b"\r\n1,8000,0,0\r\n\r\nOK\r\n"
    for bad in ("AT+VSM=2,8000", "AT+VSM=1,11025", "AT+VSM=1", "AT+VSM=1,8000,1,0", "AT+VLS=7"):
        assert out(h.execute(bad)) == b"\r\nERROR\r\n", bad
    assert h.execute("AT+VTX") == [VoiceTransmit()]
    assert h.execute("AT+FCLASS=0") == [VoiceLine(False), Output(b"\r\nOK\r\n")]


def test_ata_in_voice_mode_is_a_voice_answer_and_atz_leaves_voice_mode() -> None:
    h = Hayes()
    h.execute("AT+FCLASS=8")
    assert h.execute("ATA") == [VoiceLine(True), Output(b"\r\nVCON\r\n")]
    h.execute("ATZ")
    assert h.settings.fclass == 0 and h.settings.vls == 0
    assert h.execute("ATA") == [Answer()]


def test_a_data_only_modem_refuses_voice_mode() -> None:
    h = Hayes(Identity(voice=False))
    assert out(h.execute("AT+FCLASS=?")) == b"\r\n0\r\n\r\nOK\r\n"
    assert out(h.execute("AT+FCLASS=8")) == b"\r\nERROR\r\n"


# --- tones -------------------------------------------------------------------------------


def audio(freqs: tuple[int, ...], level: float = 0.5) -> list[float]:
    return tones.decode(tones.ToneGenerator(freqs, level).take(tones.WINDOW))


@pytest.mark.parametrize("freqs", [(350, 440), (425,), (350, 450), (400,), (400, 425)])
def test_dial_tones_of_the_world_are_dial_tones(freqs: tuple[int, ...]) -> None:
    assert tones.is_dial_tone(audio(freqs))


@pytest.mark.parametrize("freqs", [(1000,), (2100,), (480, 620), (300,), (600,), (1400, 2060)])
def test_other_tones_are_not(freqs: tuple[int, ...]) -> None:
    assert not tones.is_dial_tone(audio(freqs))


def test_silence_noise_and_a_whisper_are_not_dial_tones() -> None:
    assert not tones.is_dial_tone(tones.decode(tones.silence(tones.WINDOW)))
    rng = random.Random(7)
    assert not tones.is_dial_tone([rng.uniform(-0.6, 0.6) for _ in range(tones.WINDOW)])
    assert not tones.is_dial_tone(audio((350, 440), level=0.03))


def test_goertzel_measures_a_sine() -> None:
    samples = audio((440,), level=0.5)
    assert tones.goertzel_power(samples, 440) == pytest.approx(0.125, rel=0.05)  # A²/2
    assert tones.goertzel_power(samples, 1000) < 0.001


def test_tone_specs() -> None:
    assert tones.parse_tone("350+440") == (350, 440)
    assert tones.parse_tone(" 425 ") == (425,)
    for bad in ("", "350+", "abc", "50", "5000", "350+350", "1+2+3+4", "42.5"):
        with pytest.raises(ValueError):
            tones.parse_tone(bad)
    gen = tones.ToneGenerator((350, 440))
    assert len(gen.period) == 800 and gen.take(1000)[800:] == gen.period[:200]


# --- direct pairs on the simulator ----------------------------------------------------------


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[PhoneLine]:
    with PhoneLine({"11": None, "21": None, "12": None}, direct=[("11", "21")], ring_interval=0.3) as pl:
        yield pl


class Player:
    """Plays a stream of samples into a port in +VTX at the real rate, 0.3 s ahead, DLE-shielded."""

    def __init__(self, term: Terminal, source: tones.ToneGenerator | None) -> None:
        self.term = term
        self.source = source
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        t0, sent = time.monotonic(), 0
        while not self.stop.is_set():
            want = int((time.monotonic() - t0) * tones.RATE) + 2400
            if want > sent:
                data = self.source.take(want - sent) if self.source else tones.silence(want - sent)
                self.term.send(data.replace(DLE, DLE + DLE))
                sent = want
            self.stop.wait(0.02)

    def end(self) -> None:
        self.stop.set()
        self.thread.join(5)


def voice_on(term: Terminal) -> None:
    for cmd in ("ATE0", "AT+FCLASS=8", "AT+VLS=1", "AT+VSM=1,8000"):
        term.command(cmd)
    term.command("AT+VTX", "CONNECT")


def test_a_direct_call_dial_tone_digits_answer_connect(pair: PhoneLine) -> None:
    with Terminal(pair.port("11")) as server, Terminal(pair.port("21")) as caller:
        voice_on(server)
        player = Player(server, tones.ToneGenerator((350, 440)))
        caller.command("AT X4")  # waits for a dial tone
        caller.type("ATDT5551234")
        got = server.expect(DLE + b"4", timeout=10)
        assert got.endswith(b"\x105\x105\x105\x101\x102\x103\x104")
        player.end()
        server.send(DLE + ETX)
        server.expect(rb"\r\nOK\r\n")
        server.command("ATH0")
        server.command("AT+FCLASS=0")
        server.command("ATA", "CONNECT 33600", timeout=10)
        caller.expect(rb"\r\nCONNECT 33600\r\n", timeout=10)
        assert pair.state("11") == pair.state("21") == "online"
        caller.send(b"from the caller\r\n")
        server.expect("from the caller\r\n")
        server.send(bytes(range(256)))
        assert caller.read_exactly(256) == bytes(range(256))
        events = " | ".join(pair.events)
        assert "21 dial tone heard" in events and "RING" not in events


@pytest.mark.parametrize("source", [None, (1000,), (2100,)], ids=["silence", "1000 Hz", "answer tone"])
def test_silence_or_a_wrong_tone_is_no_dialtone(pair: PhoneLine, source: tuple[int, ...] | None) -> None:
    with Terminal(pair.port("11")) as server, Terminal(pair.port("21")) as caller:
        voice_on(server)
        player = Player(server, tones.ToneGenerator(source) if source else None)
        try:
            caller.command("ATX4")
            caller.command("ATDT11", "NO DIALTONE", timeout=10)
        finally:
            player.end()
        assert not any("DTMF" in e for e in pair.events)


def test_425_hz_european_dial_tone_is_heard(pair: PhoneLine) -> None:
    with Terminal(pair.port("11")) as server, Terminal(pair.port("21")) as caller:
        voice_on(server)
        player = Player(server, tones.ToneGenerator((425,)))
        caller.command("ATX4")
        caller.type("ATDT7")
        server.expect(DLE + b"7", timeout=10)
        player.end()


def test_no_dial_tone_and_no_ring_without_a_voice_modem(pair: PhoneLine) -> None:
    with Terminal(pair.port("11")) as server, Terminal(pair.port("21")) as caller:
        server.command("ATE0")
        caller.command("ATX4")
        caller.command("ATDT11", "NO DIALTONE", timeout=10)  # a quiet wire: nothing to hear
        caller.command("ATX3S7=2")  # blind: dials into silence, no one answers
        caller.command("ATDT11", "NO CARRIER", timeout=15)
        assert b"RING" not in unread(server)
        assert not any(" RING" in e for e in pair.events)


def unread(term: Terminal) -> bytes:
    """What the modem sent that no expect has read yet."""
    got = term.child.buffer
    term.child.buffer = b""
    while select.select([term.fd], [], [], 0.2)[0]:
        got += os.read(term.fd, 4096)
    return got


def test_blind_caller_meets_an_ata_loop_without_voice_mode(pair: PhoneLine) -> None:
    with Terminal(pair.port("11")) as server, Terminal(pair.port("21")) as caller:
        server.command("ATE0S7=3")
        server.command("ATA", "NO CARRIER", timeout=10)  # answer tone for S7 with no caller
        server.type("ATA")
        caller.command("ATX3")
        caller.command("ATDT1", "CONNECT 33600", timeout=15)
        server.expect(rb"CONNECT 33600\r\n", timeout=10)


def test_digits_are_not_reported_on_hook(pair: PhoneLine) -> None:
    with Terminal(pair.port("11")) as server, Terminal(pair.port("21")) as caller:
        server.command("ATE0")
        caller.command("ATX3S7=1")
        caller.command("ATDT123", "NO CARRIER", timeout=15)
        assert DLE not in unread(server)


def test_dle_shielding_cancel_and_commands_after_etx(pair: PhoneLine) -> None:
    with Terminal(pair.port("11")) as server:
        voice_on(server)
        server.send(DLE + DLE + b"\x80" * 10 + DLE + b"\x18")  # a 0x10 sample, then <DLE><CAN>: buffer emptied
        server.send(b"\x80" * 100 + DLE + ETX + b"AT+VLS?\r")  # the command runs after OK
        got = server.expect(rb"OK\r\n\r\n1\r\n\r\nOK\r\n", timeout=5)
        assert got.count(b"OK") == 2
        assert pair.state("11") == "voice"
        server.command("ATH0")
        assert pair.state("11") == "idle"


def test_direct_modems_are_not_on_the_exchange(pair: PhoneLine) -> None:
    with Terminal(pair.port("12")) as other, Terminal(pair.port("11")):
        other.command("ATDT11", "BUSY", timeout=5)


def test_a_modem_without_voice_mode(tmp_path: Path) -> None:
    with PhoneLine({"11": None, "21": None}, direct=[("11", "21")], no_voice=["11"]) as pl:
        with Terminal(pl.port("11")) as server:
            server.command("AT+FCLASS=8", "ERROR")
            assert b"data-only" in server.command("ATI4")


def test_direct_pairs_are_checked() -> None:
    for direct in ([("11", "99")], [("11", "11")], [("11", "21"), ("21", "12")]):
        with pytest.raises(BadInput):
            PhoneLine({"11": None, "21": None, "12": None}, direct=direct)
    with pytest.raises(BadInput):
        PhoneLine({"11": None}, no_voice=["12"])


# --- test-modem --voice -------------------------------------------------------------------------

from dialup_admin.modem import selftest  # noqa: E402
from tests.support.tool import RunCli  # noqa: E402


def test_pcm_formats_and_dtmf_events_of_real_listings() -> None:
    conexant = ['0,"SIGNED PCM",8,0,(7200,8000,11025),(0),(0)', '1,"UNSIGNED PCM",8,0,(7200,8000,11025),(0),(0)',
                '4,"G.711U",8,0,(8000),(0),(0)', '130,"IMA ADPCM",4,0,(7200,8000,11025),(0),(0)']
    assert selftest.pcm_formats(conexant) == [0, 1]
    rockwell = ['128,"8-BIT LINEAR",8,0,(7200,8000,11025),(0),(0)', '129,"16-BIT LINEAR",16,0,(8000),(0),(0)']
    assert selftest.pcm_formats(rockwell) == [128]
    assert selftest.pcm_formats(['1,"UNSIGNED PCM",8,0,(11025),(0),(0)']) == []
    intel = ["'C' Feature Class", "DB860980", "0FEE0883", "BB863EE0"]  # Intel 536EX: DTMF (event 4) in all modes
    assert selftest.dtmf_reported(intel) is True
    assert selftest.dtmf_reported(["F7860980"]) is False
    assert selftest.dtmf_reported(["ERROR"]) is None


def test_test_modem_voice_on_a_voice_modem(tmp_path: Path, run: RunCli, root: Path) -> None:
    (root / "var/lock").mkdir(parents=True)
    with PhoneLine({"11": tmp_path / "ttyD0"}) as pl:
        res = run("--json", "test-modem", pl.port("11"), "--voice")
        assert res.exit_code == 0, res.output
        events = list(pl.events)
    import json as _json

    report = _json.loads(res.stdout)
    assert report["voice"]["voice"] is True and report["voice"]["dtmf"] == "yes"
    names = [s["name"] for s in report["steps"]]
    for step in ("voice mode", "8-bit PCM at 8 kHz", "off hook (voice)", "DTMF reporting", "play audio",
                 "end of audio", "data mode"):
        assert step in names
    assert any("voice transmit ended" in e for e in events)
    rec = _json.loads((root / "var/lib/dialup-admin/voice-ttyD0.json").read_text())
    assert rec["voice"] is True and rec["tty"] == "ttyD0"


def test_test_modem_voice_on_a_data_only_modem(tmp_path: Path, run: RunCli, root: Path) -> None:
    (root / "var/lock").mkdir(parents=True)
    with PhoneLine({"11": tmp_path / "ttyD0"}, no_voice=["11"]) as pl:
        res = run("test-modem", pl.port("11"), "--voice")
    assert res.exit_code == 1
    assert "voice mode for a direct line's dial tone: NO" in res.output
    assert "no class 8 (voice) among 0" in res.output
    import json as _json

    rec = _json.loads((root / "var/lib/dialup-admin/voice-ttyD0.json").read_text())
    assert rec["voice"] is False and "AT+FCLASS=?" in rec["summary"]
