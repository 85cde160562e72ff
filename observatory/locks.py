"""Advisory OS file locks (``fcntl.flock``) for the snapshot store.

Why ``flock`` and not PID files: the app and a cron job may run in separate containers that
share the data volume, each in its own PID namespace, where a writer's PID means nothing to a
reader.  A ``flock`` lock belongs to an open file of the kernel that serves the volume, so
every process sees it, whatever its namespace, and the kernel drops it when the holder exits
or is killed: a lock is never left behind.  (It needs a local file system or a network one
that supports ``flock``; lock files are never deleted, since deleting a lock file while others
wait on it would let two processes hold "the" lock at once.)

* :func:`hold` takes a lock for a block of code, waiting at most ``wait`` seconds, and records
  who holds it (pid, host, time) in the lock file for the messages of the others.  It is
  re-entrant in the thread that holds it, so that the refresh can hold the lock of its
  snapshot for its whole run and the store take it again for the write.
* :func:`attempt` tries once, without waiting: readers use it before repairing or removing
  a temporary folder, and leave the folder alone when a writer holds the lock.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from observatory.errors import SnapshotError

__all__ = ["LockBusyError", "attempt", "hold", "holder"]


class LockBusyError(SnapshotError):
    """Another process (or thread) holds the lock; ``holder`` is what it recorded, if any."""

    def __init__(self, message: str, holder: dict | None = None):
        super().__init__(message)
        self.holder = holder


@dataclass
class _Held:
    fd: int
    thread: int
    depth: int


_HELD: dict[str, _Held] = {}
_GUARD = threading.Lock()


def _key(path: Path) -> str:
    return str(Path(path).resolve())


def _reenter(key: str) -> _Held | None:
    with _GUARD:
        held = _HELD.get(key)
        if held is not None and held.thread == threading.get_ident():
            held.depth += 1
            return held
    return None


def _leave(held: _Held) -> None:
    with _GUARD:
        held.depth -= 1


def holder(path: Path) -> dict | None:
    """What the last holder of the lock recorded (``pid``, ``host``, ``since``), if readable."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8") or "null")
    except (OSError, ValueError):
        return None


def _record(fd: int) -> None:
    info = {"pid": os.getpid(), "host": socket.gethostname(),
            "since": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode("utf-8"), 0)
    except OSError:  # the lock holds all the same; the record only helps the messages
        pass


@contextmanager
def hold(path: Path, *, wait: float = 0.0, poll: float = 0.1) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if needed) for the ``with`` block.

    Raises
    ------
    LockBusyError
        The lock is still held by someone else after ``wait`` seconds.
    OSError
        The lock file cannot be created (read-only store...).
    """
    key = _key(path)
    held = _reenter(key)
    if held is not None:
        try:
            yield
        finally:
            _leave(held)
        return
    fd = os.open(key, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o664)
    try:
        deadline = time.monotonic() + max(0.0, wait)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockBusyError(f"lock {key} is held", holder(Path(key))) from None
                time.sleep(poll)
        _record(fd)
        with _GUARD:
            _HELD[key] = _Held(fd, threading.get_ident(), 1)
        try:
            yield
        finally:
            with _GUARD:
                _HELD.pop(key, None)
    finally:
        os.close(fd)  # releases the lock


@contextmanager
def attempt(path: Path) -> Iterator[bool]:
    """Try once to take the lock on ``path``: yield True while holding it, False when another
    process or thread holds it or the lock file cannot be opened (then touch nothing)."""
    key = _key(path)
    held = _reenter(key)
    if held is not None:
        try:
            yield True
        finally:
            _leave(held)
        return
    try:
        fd = os.open(key, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o664)
    except OSError:
        try:
            fd = os.open(key, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            yield False
            return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        yield True
    finally:
        os.close(fd)
