"""The project's own modem lab: a Hayes modem and phone-line simulator, the AT
self-test (``test-modem``) and port detection (``detect``).

- :mod:`dialup_admin.modem.hayes`: the AT command interpreter (pure, no I/O).
- :mod:`dialup_admin.modem.simulator`: :class:`PhoneLine`, modems on pseudo-terminals
  joined by a simulated telephone line.
- :mod:`dialup_admin.modem.selftest`: the guide's minicom checks, automated.
- :mod:`dialup_admin.modem.detect`: parallel probing of serial ports.
"""
