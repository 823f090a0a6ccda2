"""System adapters: the only code that touches the machine."""
