"""Scratch space of the ETL: the big temporary files of a refresh (the CSV extracted from a
SIRENE zip, several GB with the national files; DuckDB's spill) live under the data
directory's temporary folder, ``<data dir>/tmp/`` (:func:`scratch_root`), never in the
system's ``/tmp`` (often small, or memory-backed).

Each scratch folder ``<root>/<prefix>-<random>/`` has a lock file beside it,
``<root>/<prefix>-<random>.lock``, held (``fcntl.flock``, :mod:`observatory.locks`) by the
process that uses it, from before the folder exists until it is removed.  A process killed
with ``kill -9`` cannot remove its folder, but the kernel drops its lock: the next run
(:func:`scratch_dir`, and the refresh at its start) removes every folder whose lock is free
(:func:`sweep_scratch`), and leaves alone the folders of runs still at work, whatever their
PID namespace (a container sharing the data volume).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from observatory import locks

__all__ = ["scratch_dir", "scratch_root", "sweep_scratch"]

log = logging.getLogger(__name__)
_LOCK = ".lock"


def scratch_root(root: str | Path | None = None) -> Path:
    """``root``, or ``<data dir>/tmp`` (created)."""
    if root is None:
        from observatory.settings import get_settings

        root = get_settings().data_dir / "tmp"
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def sweep_scratch(root: str | Path | None = None) -> list[Path]:
    """Remove the scratch folders (and lock files) of runs that are gone; return them.

    A folder whose lock another process holds is left alone; a lock file whose folder is
    gone is removed when free.  Errors (a read-only volume) are logged, never raised: the
    sweep must not stop a refresh.
    """
    removed: list[Path] = []
    try:
        base = scratch_root(root)
        lock_files = sorted(base.glob(f"*{_LOCK}"))
        folders = {p for p in base.iterdir() if p.is_dir()}
    except OSError as exc:
        log.debug("scratch sweep skipped: %s", exc)
        return removed
    for lock in lock_files:
        folder = lock.with_name(lock.name[: -len(_LOCK)])
        folders.discard(folder)
        removed += _remove_if_free(folder, lock)
    for folder in sorted(folders):  # a folder without lock file: from an older version
        removed += _remove_if_free(folder, folder.with_name(folder.name + _LOCK))
    return removed


def _remove_if_free(folder: Path, lock: Path) -> list[Path]:
    try:
        with locks.attempt(lock) as free:
            if not free:
                return []  # a live run holds it
            gone = [folder] if folder.exists() else []
            shutil.rmtree(folder, ignore_errors=True)
            lock.unlink(missing_ok=True)  # under the lock: no one else can be using it
    except OSError as exc:
        log.debug("scratch folder %s not removed: %s", folder, exc)
        return []
    for path in gone:
        log.warning("Removed the scratch folder %s left by an interrupted run", path)
    return gone


@contextmanager
def scratch_dir(prefix: str, root: str | Path | None = None) -> Iterator[Path]:
    """A fresh scratch folder for the ``with`` block, held by its lock, removed at exit;
    the folders left by killed runs are swept first."""
    base = scratch_root(root)
    sweep_scratch(base)
    fd, name = tempfile.mkstemp(prefix=f"{prefix}-", suffix=_LOCK, dir=base)
    os.close(fd)
    lock = Path(name)
    folder = lock.with_name(lock.name[: -len(_LOCK)])
    with locks.hold(lock):  # before the folder exists: a sweep never takes it for a leftover
        folder.mkdir()
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)
            lock.unlink(missing_ok=True)
