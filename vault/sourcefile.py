"""Opening a source file for reading without ever blocking on something that is not a file.

A source tree can change between listing and reading: a transcript replaced by a FIFO would
make a plain ``open()`` wait forever for a writer, and a device would be read without end.
:func:`open_regular` opens without blocking, checks with ``fstat`` that the opened object is
a regular file, and only then hands out a normal blocking stream.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
from typing import BinaryIO

__all__ = ["open_regular"]


def open_regular(path: str | os.PathLike[str]) -> BinaryIO:
    """Open ``path`` for binary reading if it is a regular file (symlinks followed).

    Raises ``OSError`` (``filename`` set) if it cannot be opened, or, with ``errno.EINVAL`` and
    the reason "not a regular file", if it is a FIFO, socket, device or directory.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, "not a regular file", os.fspath(path))
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        fcntl.fcntl(fd, fcntl.F_SETFL, flags & ~os.O_NONBLOCK)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
