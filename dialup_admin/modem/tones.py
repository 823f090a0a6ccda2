"""Telephone tones as 8 kHz PCM: dial tone generation and detection (Goertzel). Pure.

A voice modem in V.253 mode (``AT+VSM=1,8000``) plays and records 8-bit samples at
8000 samples a second; this module makes the samples of a dial tone
(:class:`ToneGenerator`, for ``dialup-admin answer``) and tells whether a stretch of
audio *is* a dial tone (:func:`is_dial_tone`, for the simulated caller's modem, which
waits for one before dialing when set to X4).

Detection looks at the audio's power at the frequencies dial tones use around the
world (350, 400, 425, 440 and 450 Hz) with a Goertzel filter each, against the
audio's total power: silence, a 1000 Hz test tone, a 2100 Hz answer tone, a busy
tone (480+620 Hz) or noise are not dial tones.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

RATE = 8000  # samples a second (AT+VSM=...,8000)
SILENCE = 0x80  # unsigned 8-bit PCM's zero
NORTH_AMERICA = "350+440"
EUROPE = "425"
DIAL_TONE_FREQUENCIES = (350.0, 400.0, 425.0, 440.0, 450.0)
WINDOW = RATE // 10  # 100 ms of audio per decision: 10 Hz resolution, every frequency above on a bin
MIN_LEVEL = 0.01  # mean power (full scale 1.0): quieter than this is silence (about -20 dBFS RMS)
MIN_SHARE = 0.6  # share of the power that must lie at dial tone frequencies
MAX_FREQUENCIES = 3

# V.253 compression method ids (AT+VSM=<cml>,...) this module reads and writes.
SIGNED_PCM = 0
UNSIGNED_PCM = 1


def parse_tone(spec: str) -> tuple[int, ...]:
    """``"350+440"`` -> ``(350, 440)``: one to three whole frequencies from 100 to 3400 Hz.

    Raises ValueError with a message for people.
    """
    parts = [p.strip() for p in spec.strip().split("+")]
    if not parts or len(parts) > MAX_FREQUENCIES or not all(p.isdigit() for p in parts):
        raise ValueError(f"bad tone {spec!r}: one to three frequencies in Hz joined by '+', such as 350+440 or 425")
    freqs = tuple(int(p) for p in parts)
    for f in freqs:
        if not 100 <= f <= 3400:
            raise ValueError(f"bad tone {spec!r}: {f} Hz is outside the telephone band (100 to 3400 Hz)")
    if len(set(freqs)) != len(freqs):
        raise ValueError(f"bad tone {spec!r}: a frequency is given twice")
    return freqs


def tone_name(freqs: Sequence[int]) -> str:
    return "+".join(str(f) for f in freqs)


class ToneGenerator:
    """An endless, phase-continuous tone as unsigned 8-bit PCM at :data:`RATE`.

    The frequencies share the ``level`` (peak, full scale 1.0) equally. One period of
    the whole tone (``RATE / gcd`` samples: 800 for 350+440 Hz, 320 for 425 Hz) is
    computed once and played in a loop.
    """

    def __init__(self, freqs: Sequence[int], level: float = 0.5) -> None:
        if not freqs:
            raise ValueError("a tone needs at least one frequency")
        g = RATE
        for f in freqs:
            g = math.gcd(g, int(f))
        period = RATE // g
        amp = level / len(freqs)
        self.period = bytes(
            _to_unsigned(sum(amp * math.sin(2 * math.pi * f * i / RATE) for f in freqs)) for i in range(period)
        )
        self._pos = 0

    def take(self, n: int) -> bytes:
        """The next ``n`` samples."""
        out = bytearray()
        while len(out) < n:
            chunk = self.period[self._pos : self._pos + (n - len(out))]
            out += chunk
            self._pos = (self._pos + len(chunk)) % len(self.period)
        return bytes(out)


def silence(n: int) -> bytes:
    return bytes([SILENCE]) * n


def _to_unsigned(x: float) -> int:
    return max(0, min(255, SILENCE + round(x * 127)))


def decode(data: bytes | bytearray, compression: int = UNSIGNED_PCM) -> list[float]:
    """8-bit samples (unsigned or signed PCM) as floats from -1.0 to 1.0."""
    if compression == SIGNED_PCM:
        return [(b - 256 if b > 127 else b) / 128.0 for b in data]
    return [(b - SILENCE) / 128.0 for b in data]


def goertzel_power(samples: Sequence[float], freq: float, rate: int = RATE) -> float:
    """The mean power of the ``freq`` component of ``samples`` (a sine of amplitude A gives A²/2)."""
    n = len(samples)
    if n == 0:
        return 0.0
    coeff = 2.0 * math.cos(2.0 * math.pi * freq / rate)
    s1 = s2 = 0.0
    for x in samples:
        s0 = x + coeff * s1 - s2
        s2, s1 = s1, s0
    magnitude2 = s1 * s1 + s2 * s2 - coeff * s1 * s2
    return 2.0 * magnitude2 / (n * n)


def mean_power(samples: Sequence[float]) -> float:
    """Power of the signal without its DC part (what a telephone line passes)."""
    n = len(samples)
    if n == 0:
        return 0.0
    dc = sum(samples) / n
    return sum((x - dc) * (x - dc) for x in samples) / n


def dial_tone_share(samples: Sequence[float], rate: int = RATE) -> tuple[float, float]:
    """``(total power, share of it at dial tone frequencies)`` of a stretch of audio."""
    total = mean_power(samples)
    if total <= 0.0:
        return 0.0, 0.0
    at = sum(goertzel_power(samples, f, rate) for f in DIAL_TONE_FREQUENCIES)
    return total, min(1.0, at / total)


def is_dial_tone(samples: Sequence[float], rate: int = RATE) -> bool:
    """Whether this audio (best: :data:`WINDOW` samples) is a dial tone: loud enough, and
    most of its power at 350-450 Hz dial tone frequencies."""
    total, share = dial_tone_share(samples, rate)
    return total >= MIN_LEVEL and share >= MIN_SHARE
