"""Reading a secret from a file the admin names on the command line (never from argv).

The file must be a regular file that only its owner can read or write: a secret others
can read is no longer a secret, and the tool says so instead of copying it on.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from dialup_admin.errors import BadInput

MAX_SIZE = 4096


def read_secret_file(path: str | Path, option: str) -> bytes:
    """The bytes of the secret file at ``path`` (a host path, like any file given as input)."""
    p = Path(path)
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        raise BadInput(f"{option} {p}: no such file") from None
    except IsADirectoryError:
        raise BadInput(f"{option} {p}: a directory, not a file") from None
    except OSError as exc:
        if exc.errno == 40:  # ELOOP: O_NOFOLLOW met a symlink
            raise BadInput(f"{option} {p}: a symbolic link; name the file itself") from None
        raise BadInput(f"{option} {p}: {exc.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise BadInput(f"{option} {p}: not a regular file")
        mode = stat.S_IMODE(st.st_mode)
        if mode & 0o077:
            raise BadInput(f"{option} {p}: readable or writable by others (mode {mode:04o}); "
                           f"chmod 600 {p} and give it again")
        data = os.read(fd, MAX_SIZE + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_SIZE:
        raise BadInput(f"{option} {p}: too large for a secret")
    return data
