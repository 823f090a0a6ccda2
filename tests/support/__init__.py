"""The helpers the tests (and the scripts under ``bench/``) share, one module per area.

Import them by their full name from the repository root, as the code imports the tool::

    from tests.support.modem import Terminal
    from tests.support.tool import REPO, run_tool

``tests`` is a package, so pytest puts the repository root on ``sys.path`` however it is
started (``python -m pytest``, ``pytest``, one file or all); a bench script runs as
``python -m bench.NAME`` from the root. ``tests/conftest.py`` holds only fixtures.

- ``tool``: run the real command (``run_tool``) or click's runner (``cli_runner``); ``REPO``.
- ``trees``: ``snapshot`` of a tree (kinds, modes, owners, bytes) to prove nothing changed.
- ``processes``: stop a process the test started, by its pid.
- ``ns``: private mount namespaces (``private_mounts``) and whether this machine has them.
- ``accounts``, ``hostile``, ``ops``: --root trees with an account database, a server, a doctor's view.
- ``modem``: a ``Terminal`` on a port, ports that misbehave, UUCP locks held by live processes.
- ``client``, ``answer``, ``mgetty``, ``radius``, ``deb``: each area's processes and fixtures.
- ``lab``, ``e2e``: user-mode Linux guests, recorded scenario phases.
"""
