"""dialup-admin: set up and prove a dial-up PPP server (mgetty + pppd) and client."""

__version__ = "0.1.0"
