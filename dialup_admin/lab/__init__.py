"""The lab: user-mode Linux guests with kernel PPP, for proving the whole stack end to end.

The host this tool runs on may have no PPP in its kernel (no ``/dev/ppp``). Debian's
``user-mode-linux`` package ships a kernel that runs as an ordinary process and has
PPP as modules; :class:`~dialup_admin.lab.guest.Guest` boots it with the host's ``/``
as a read-only root, so the guest runs the host's own pppd, mgetty and dialup-admin.
"""

from __future__ import annotations

from dialup_admin.lab.guest import Guest, GuestError, GuestResult, wait_all

__all__ = ["Guest", "GuestError", "GuestResult", "wait_all"]
