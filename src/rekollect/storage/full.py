"""A full disk, reported as such instead of as an unexplained internal error.

SQLite fails a write with ``SQLITE_FULL`` ("database or disk is full", also raised when a quota
is reached) and a file write with ``ENOSPC`` or ``EDQUOT``. Inside ``reporting_full()`` either
becomes ``InternalServerError`` (AWS's type for a failure on the service's side, HTTP 500, which
clients retry) whose message says that the server's storage is full and nothing was stored. The
first such failure is logged once, as an ERROR without a traceback; the next successful write
(``writable()``) logs that writes work again, and a later failure is logged again.
"""

from __future__ import annotations

import errno
import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from ..errors import InternalServerError

log = logging.getLogger(__name__)

MESSAGE = "The server's storage is full: nothing was stored. Free space on the server's data disk and retry."

_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
_full = threading.Event()
"""Set from a failure for lack of space until the next successful write."""


def is_full(error: BaseException) -> bool:
    """Whether ``error`` is a write that failed for lack of space."""
    if isinstance(error, sqlite3.Error):
        return getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
    return isinstance(error, OSError) and error.errno in _FULL_ERRNOS


@contextmanager
def reporting_full() -> Iterator[None]:
    """Turn a failure for lack of space inside into ``InternalServerError`` (``MESSAGE``); others pass."""
    try:
        yield
    except (sqlite3.Error, OSError) as error:
        if not is_full(error):
            raise
        if not _full.is_set():
            _full.set()
            log.error("storage is full (%s): writes fail until space is freed", error)
        raise InternalServerError(MESSAGE) from None


def writable() -> None:
    """Note a successful write (logs once that writes work again after a failure for lack of space)."""
    if _full.is_set():
        _full.clear()
        log.info("storage has room again: writes work again")
