"""Benchmark scripts: each prints figures and asserts nothing. Run one from the repository root
as ``.venv/bin/python -m bench.NAME``, or all with ``make bench``."""
