"""Quarterly snapshots of the located structures, in series side by side.

Layout (``settings.snapshots_dir``)::

    <serie>/<quarter>/structures.parquet   GeoParquet, Point geometry in EPSG:4326
    <serie>/<quarter>/rejects.parquet      every rejected input row with its reason
    <serie>/<quarter>/manifest.json        serie, quarter, territory, sources (vintage, files,
                                           sha256), row accounting, location precision
                                           counts, code version, COG
    <serie>/.lock-<quarter>                the writers' lock of that snapshot (never deleted)

A series (:data:`observatory.vocabulary.SERIES`: ``ess``, ``insertion``) is a sequence of
quarterly snapshots with its own perimeter and sources.  A store written before the series
existed (``<quarter>/`` at the top) is read as the series ``ess``; the next write moves each
such folder to ``ess/<quarter>/`` (one atomic rename each, under that snapshot's lock).

Writes hold the snapshot's lock (:mod:`observatory.locks`, ``fcntl.flock``) from start to
end, so that a second writer of the same series and quarter waits, then fails with a clear
message; it never replaces the first one silently.  Files go to ``.tmp-<quarter>-<pid>``, are
re-read and validated, then the folder is renamed into place.  With ``replace``, the old folder
is moved aside to ``.old-<quarter>-<pid>`` only once the new one is complete and validated,
then deleted; a run killed between the two renames is repaired later (the old folder is put
back).  Readers and writers repair or remove a leftover ``.tmp-``/``.old-`` folder only when
they can take its snapshot's lock: the lock, not the PID (meaningless across containers),
tells a live writer from a dead one.
Any third-party tool can open the files (GeoParquet: QGIS, DuckDB spatial, GDAL).
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from observatory import locks
from observatory.errors import ConfigurationError, SnapshotError, explain
from observatory.settings import get_settings
from observatory.vocabulary import DEFAULT_SERIE, SERIES

__all__ = [
    "LOCK_WAIT_S",
    "MAX_DROP",
    "MIN_FREE_BYTES",
    "Snapshot",
    "check_outside_store",
    "check_writable",
    "list_series",
    "list_snapshots",
    "load_snapshot",
    "previous_quarter",
    "read_structures",
    "snapshot_path",
    "validate_quarter",
    "validate_serie",
    "validate_written",
    "write_snapshot",
    "writer_lock",
]

log = logging.getLogger(__name__)
QUARTER_RE = re.compile(r"(\d{4})-T([1-4])")  # always used with fullmatch
_TMP_RE = re.compile(r"\.(tmp|old)-(\d{4}-T[1-4])-(\d+)")
MAX_DROP = 0.20
#: Seconds a writer waits for the lock of its snapshot (readers hold it for milliseconds
#: while they repair; a writer holds it for its whole run) before failing.
LOCK_WAIT_S = 10.0
#: Free space a refresh needs before it starts, at least (see :func:`check_writable`).
MIN_FREE_BYTES = 100 * 2**20


@dataclass
class Snapshot:
    """One stored snapshot."""

    quarter: str
    structures: pd.DataFrame  # GeoDataFrame
    rejects: pd.DataFrame
    manifest: dict
    path: Path
    serie: str = DEFAULT_SERIE


def validate_quarter(quarter: str) -> str:
    """Return ``quarter`` if it reads ``YYYY-T1``…``YYYY-T4`` (the whole text), else raise
    ConfigurationError."""
    if not isinstance(quarter, str) or not QUARTER_RE.fullmatch(quarter):
        raise ConfigurationError(explain(
            f"Quarter label {quarter!r} is not valid.",
            "Snapshots are labelled by year and quarter: YYYY-T1 to YYYY-T4, nothing else "
            "(no space or line break).",
            "Use e.g. --quarter 2026-T4.",
        ))
    return quarter


def validate_serie(serie: str) -> str:
    """Return ``serie`` if it is a known series of snapshots, else raise ConfigurationError."""
    if serie not in SERIES:
        raise ConfigurationError(explain(
            f"Unknown series of snapshots {serie!r}.",
            f"The store holds the series {', '.join(SERIES)} "
            f"({'; '.join(f'{k}: {v}' for k, v in SERIES.items())}).",
            f"Use e.g. --serie {DEFAULT_SERIE}.",
        ))
    return str(serie)


def previous_quarter(quarter: str) -> str:
    """The quarter before: ``2026-T4`` -> ``2026-T3``, ``2026-T1`` -> ``2025-T4``."""
    year, q = QUARTER_RE.fullmatch(validate_quarter(quarter)).groups()
    year, q = int(year), int(q)
    return f"{year - 1}-T4" if q == 1 else f"{year}-T{q - 1}"


def _root(root: Path | None = None) -> Path:
    return Path(root) if root is not None else get_settings().snapshots_dir


def _lock_path(folder: Path, quarter: str) -> Path:
    return folder / f".lock-{quarter}"


def _is_snapshot(folder: Path) -> bool:
    return folder.is_dir() and QUARTER_RE.fullmatch(folder.name) is not None


def snapshot_path(quarter: str, root: Path | None = None, serie: str = DEFAULT_SERIE) -> Path:
    """Folder of a snapshot (it may not exist); a not yet migrated ``ess`` snapshot of the
    legacy layout is found at the top of the store."""
    base = _root(root)
    path = base / validate_serie(serie) / validate_quarter(quarter)
    legacy = base / quarter
    if serie == DEFAULT_SERIE and not path.exists() and (legacy / "manifest.json").is_file():
        return legacy
    return path


# --------------------------------------------------------------------------- repair
def _temp_folders(base: Path) -> list[tuple[Path, Path]]:
    """(folder that may hold ``.tmp-``/``.old-`` folders, folder of their locks)."""
    pairs = [(base / serie, base / serie) for serie in SERIES if (base / serie).is_dir()]
    return [*pairs, (base, base / DEFAULT_SERIE)]  # the legacy layout: locks of ``ess``


def _repair(base: Path) -> None:
    """Put back an old snapshot moved aside by a killed replace; remove the temporary folders
    of writers that are gone.  A folder whose lock is held (a live writer, whatever its PID
    namespace) is left alone."""
    for folder, lock_folder in _temp_folders(base):
        for entry in sorted(folder.iterdir()):
            match = _TMP_RE.fullmatch(entry.name)
            if match is None or not entry.is_dir():
                continue
            try:
                _repair_one(entry, match.group(1), folder / match.group(2), lock_folder)
            except OSError as exc:  # read-only store, or a race with another reader
                log.debug("leftover %s not repaired: %s", entry, exc)


def _repair_one(entry: Path, kind: str, target: Path, lock_folder: Path) -> None:
    lock_folder.mkdir(parents=True, exist_ok=True)
    with locks.attempt(_lock_path(lock_folder, target.name)) as free:
        if not free:
            return  # a live writer, in this PID namespace or another: leave it alone
        if kind == "old" and not target.exists():
            entry.rename(target)
            log.warning("Snapshot %s restored from an interrupted replace", target)
        elif entry.exists():
            shutil.rmtree(entry, ignore_errors=True)
            log.info("Removed leftover folder %s", entry)


def _migrate_legacy(base: Path) -> None:
    """Move the snapshots of the legacy layout (``<quarter>/``) to ``ess/<quarter>/``."""
    legacy = [e for e in sorted(base.iterdir())
              if _is_snapshot(e) and (e / "manifest.json").is_file()]
    if not legacy:
        return
    folder = base / DEFAULT_SERIE
    folder.mkdir(exist_ok=True)
    for entry in legacy:
        target = folder / entry.name
        with locks.attempt(_lock_path(folder, entry.name)) as free:
            if not free:
                continue  # a writer of that quarter is at work: next time
            if target.exists():
                log.warning("Legacy snapshot %s left in place: %s exists (the series one is "
                            "read)", entry, target)
                continue
            entry.rename(target)
            log.info("Snapshot %s moved to the series %s: %s", entry.name, DEFAULT_SERIE,
                     target)


# --------------------------------------------------------------------------- reading
def _read_manifest(folder: Path, serie: str) -> dict | None:
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict):
        return None
    manifest["serie"] = serie  # the folder decides (legacy manifests have no serie)
    manifest["quarter"] = folder.name
    manifest["demo"] = bool(manifest.get("demo", False))
    manifest["path"] = str(folder)
    return manifest


def _manifests(folder: Path, serie: str) -> dict[str, dict]:
    if not folder.is_dir():
        return {}
    found = {}
    for entry in folder.iterdir():
        if _is_snapshot(entry):
            manifest = _read_manifest(entry, serie)
            if manifest is not None:
                found[entry.name] = manifest
    return found


def _serie_manifests(base: Path, serie: str) -> list[dict]:
    found = _manifests(base, serie) if serie == DEFAULT_SERIE else {}  # legacy layout
    found.update(_manifests(base / serie, serie))
    return [found[quarter] for quarter in sorted(found)]


def list_snapshots(root: Path | None = None, serie: str | None = None) -> list[dict]:
    """Manifests of the complete snapshots of ``serie`` (every series when None), oldest
    quarter first; each has ``serie``, ``quarter``, ``demo`` (bool) and ``path``."""
    base = _root(root)
    series = list(SERIES) if serie is None else [validate_serie(serie)]
    if not base.is_dir():
        return []
    try:
        _repair(base)  # a replace killed between its two renames: put the old one back
    except OSError as exc:  # read-only store: still list what is there
        log.debug("snapshot store not repaired: %s", exc)
    out = [m for s in series for m in _serie_manifests(base, s)]
    order = {s: i for i, s in enumerate(SERIES)}
    return sorted(out, key=lambda m: (m["quarter"], order[m["serie"]]))


def list_series(root: Path | None = None) -> list[str]:
    """Series that hold at least one complete snapshot (in the order of ``SERIES``)."""
    base = _root(root)
    if not base.is_dir():
        return []
    return [serie for serie in SERIES if _serie_manifests(base, serie)]


def _conform_loaded(frame: pd.DataFrame) -> pd.DataFrame:
    from observatory.schema import STRUCTURE_DTYPES

    for column, dtype in STRUCTURE_DTYPES.items():
        if column in frame and str(frame[column].dtype) != dtype:
            frame[column] = frame[column].astype(dtype)
    return frame


def read_structures(path: Path, columns: list[str], *, active_only: bool = False
                    ) -> pd.DataFrame:
    """``columns`` of a snapshot's ``structures.parquet`` with the schema's dtypes (a
    GeoDataFrame when ``geometry`` is among them); ``active_only``: the rows with
    ``etat_administratif == "A"``, filtered while the file is read."""
    import geopandas as gpd

    filters = [("etat_administratif", "==", "A")] if active_only else None
    read = gpd.read_parquet if "geometry" in columns else pd.read_parquet
    return _conform_loaded(read(path, columns=columns, filters=filters))


def load_snapshot(quarter: str | None = None, root: Path | None = None,
                  serie: str = DEFAULT_SERIE, *, active_only: bool = False,
                  without: tuple[str, ...] = ()) -> Snapshot:
    """Load a snapshot of ``serie`` (its latest when ``quarter`` is None).

    ``active_only``: only the structures with ``etat_administratif == "A"``, filtered while
    the file is read; ``without``: columns not read (without ``geometry`` the structures are
    a plain DataFrame).  The app reads a national snapshot so: 650 000 of its 767 000 rows,
    and no 767 000 point objects it would drop at once."""
    import pyarrow.parquet as pq

    available = list_snapshots(root, validate_serie(serie))
    if not available:
        raise SnapshotError(explain(
            f"No snapshot of the series {serie!r} in {str(_root(root))!r}.",
            "A snapshot is written by a refresh.",
            f"Run: python -m observatory refresh --serie {serie} --sirene-dir DIR --quarter "
            "2026-T4 (or python -m observatory demo for demonstration data).",
        ))
    if quarter is None:
        quarter = available[-1]["quarter"]
    validate_quarter(quarter)
    manifest = next((m for m in available if m["quarter"] == quarter), None)
    if manifest is None:
        raise SnapshotError(explain(
            f"No snapshot {quarter!r} in the series {serie!r}.",
            "Only complete snapshots can be read.",
            f"Choose one of: {', '.join(m['quarter'] for m in available)}.",
        ))
    folder = Path(manifest["path"])
    path = folder / "structures.parquet"
    columns = [c for c in pq.read_schema(path).names if c not in without]
    structures = read_structures(path, columns, active_only=active_only)
    rejects = pd.read_parquet(folder / "rejects.parquet")
    rejects = rejects.astype({c: "string" for c in ("source", "siret", "raison", "donnees")
                              if c in rejects}).astype({"ligne": "Int64"})
    return Snapshot(quarter, structures, rejects, manifest, folder, serie)


# --------------------------------------------------------------------------- guards
def _unwritable(folder: Path, exc: OSError) -> str:
    full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
    return explain(
        f"The snapshot store {str(folder)!r} cannot be written: "
        f"{exc.strerror or exc} / le dossier des instantanés "
        f"{'est plein' if full else 'est en lecture seule ou inaccessible'}.",
        "A refresh writes its snapshot there; nothing was changed in the store.",
        "Free some space on that disk." if full else
        "Give this process write access to the data folder, or point OBSERVATOIRE_DATA_DIR "
        "at a writable folder.",
    )


def _serie_folder(base: Path, serie: str) -> Path:
    folder = base / validate_serie(serie)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SnapshotError(_unwritable(folder, exc)) from exc
    return folder


def _busy(serie: str, quarter: str, holder: dict | None) -> str:
    who = (f" (pid {holder.get('pid')} on {holder.get('host')}, since {holder.get('since')})"
           if isinstance(holder, dict) else "")
    return explain(
        f"Snapshot {serie} {quarter} is being written by another process{who} / l'instantané "
        f"{serie} {quarter} est en cours d'écriture par un autre processus.",
        "Only one writer at a time may write a snapshot of a series and quarter, so that "
        "neither silently replaces the other.",
        f"Wait for that run to end and check it with: python -m observatory snapshots --serie "
        f"{serie}; run again (with --replace to replace its result) only if needed.",
    )


def _exists(serie: str, quarter: str, base: Path) -> str:
    return explain(
        f"Snapshot {quarter} of the series {serie} already exists in {str(base)!r} / "
        "l'instantané existe déjà.",
        "A refresh never overwrites a snapshot unless asked.",
        "Add --replace to replace it (the old one stays readable until the new one is "
        "validated), or choose another --quarter.",
    )


@contextmanager
def writer_lock(quarter: str, *, serie: str = DEFAULT_SERIE, root: Path | None = None,
                wait: float | None = None) -> Iterator[None]:
    """Hold the writers' lock of one snapshot (re-entrant in the holding thread).

    Raises
    ------
    SnapshotError
        Another writer still holds it after ``wait`` seconds (default :data:`LOCK_WAIT_S`),
        or the store cannot be written.
    """
    folder = _serie_folder(_root(root), serie)
    path = _lock_path(folder, validate_quarter(quarter))
    with ExitStack() as stack:
        try:
            stack.enter_context(locks.hold(path, wait=LOCK_WAIT_S if wait is None else wait))
        except locks.LockBusyError as exc:
            raise SnapshotError(_busy(serie, quarter, exc.holder)) from None
        except OSError as exc:
            raise SnapshotError(_unwritable(folder, exc)) from exc
        yield


def _folder_bytes(folder: Path) -> int:
    try:
        return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
    except OSError:
        return 0


def check_writable(quarter: str, *, serie: str = DEFAULT_SERIE, replace: bool = False,
                   root: Path | None = None) -> Path:
    """Before a refresh does its work: the store can take this snapshot.

    Checks that the series folder can be written (a probe file), that its disk has at least
    twice the size of the series' latest snapshot free (and :data:`MIN_FREE_BYTES`), and that
    the quarter is free unless ``replace``.  Returns the snapshot's folder.

    Raises
    ------
    SnapshotError
        Read-only, inaccessible or full store; existing quarter without ``replace``.
    """
    base = _root(root)
    validate_quarter(quarter)
    folder = _serie_folder(base, serie)
    try:
        fd, probe = tempfile.mkstemp(prefix=".probe-", dir=folder)
        os.close(fd)
        Path(probe).unlink()
        free = shutil.disk_usage(folder).free
    except OSError as exc:
        raise SnapshotError(_unwritable(folder, exc)) from exc
    latest = _serie_manifests(base, serie)
    needed = max(MIN_FREE_BYTES, 2 * _folder_bytes(Path(latest[-1]["path"])) if latest else 0)
    if free < needed:
        raise SnapshotError(_unwritable(folder, OSError(
            errno.ENOSPC, f"{free / 2**20:.0f} MB free, {needed / 2**20:.0f} MB needed")))
    target = snapshot_path(quarter, base, serie)
    if target.exists() and not replace:
        raise SnapshotError(_exists(serie, quarter, base))
    return target


def check_outside_store(path: str | Path, root: Path | None = None) -> Path:
    """Return ``path`` if it is outside the snapshot store, else raise ConfigurationError
    (a file written there could be taken for a snapshot, or damage one)."""
    out = Path(path).expanduser().resolve()
    store = _root(root).expanduser().resolve()
    if out == store or store in out.parents:
        raise ConfigurationError(explain(
            f"Refusing to write {str(path)!r}: it is inside the snapshot store "
            f"{str(store)!r} / fichier refusé dans le dossier des instantanés.",
            "The store holds only snapshots written by a refresh; another file there could "
            "be taken for a snapshot or damage one.",
            "Write it to another folder, e.g. --output exports/structures.csv.",
        ))
    return Path(path)


# --------------------------------------------------------------------------- writing
def _check_drop(manifest: dict, kept: int, root: Path, force: bool) -> dict | None:
    """Compare with the latest snapshot of the same series and territory up to this quarter."""
    same = [m for m in list_snapshots(root, manifest["serie"])
            if m.get("territoire") == manifest.get("territoire")
            and m["quarter"] <= manifest["quarter"]]
    if not same:
        return None
    previous = same[-1]
    before = int(previous.get("rows", {}).get("structures", 0))
    if before and kept < (1 - MAX_DROP) * before:
        drop = 1 - kept / before
        message = explain(
            f"Refusing snapshot {manifest['quarter']}: {kept} structures kept against {before} "
            f"in {previous['quarter']} for the same territory ({drop:.0%} fewer).",
            f"A drop of more than {MAX_DROP:.0%} usually means truncated or partial input files.",
            "Check the input files (sizes, checksums); if the drop is real, run again with "
            "--force.",
        )
        if not force:
            raise SnapshotError(message)
        log.warning("Forced: %s", message)
    return {"quarter": previous["quarter"], "structures": before}


def validate_written(folder: Path, manifest: dict) -> None:
    """Re-read a written snapshot folder: row counts and accounting must match the manifest.

    Raises
    ------
    SnapshotError
    """
    import pyarrow.parquet as pq

    rows = manifest["rows"]
    counted = {"structures": pq.ParquetFile(folder / "structures.parquet").metadata.num_rows,
               "rejects": pq.ParquetFile(folder / "rejects.parquet").metadata.num_rows}
    problems = [f"{name}: {counted[name]} rows written, {rows[name]} expected"
                for name in counted if counted[name] != rows[name]]
    for source, acc in manifest.get("accounting", {}).items():
        if acc["read"] != acc["kept"] + acc["rejected"]:
            problems.append(f"{source}: read {acc['read']} != kept {acc['kept']} + "
                            f"rejected {acc['rejected']}")
    json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    if problems:
        raise SnapshotError(explain(
            f"Snapshot {manifest['quarter']} failed validation: {'; '.join(problems)}.",
            "Every input row must be kept or rejected, and the files must hold them all.",
            "Nothing was replaced; look at the parser of the source named above.",
        ))


def _write_folder(structures, rejects: pd.DataFrame, manifest: dict, target: Path) -> None:
    """Write to a temporary folder, validate, then rename into place (see module docstring)."""
    folder, quarter = target.parent, target.name
    tmp = folder / f".tmp-{quarter}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        structures.to_parquet(tmp / "structures.parquet", index=False)
        rejects.to_parquet(tmp / "rejects.parquet", index=False)
        (tmp / "manifest.json").write_text(
            json.dumps(manifest, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
        validate_written(tmp, manifest)
        if target.exists():
            old = folder / f".old-{quarter}-{os.getpid()}"
            target.rename(old)
            tmp.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_snapshot(structures, rejects: pd.DataFrame, manifest: dict, *, replace: bool = False,
                   force: bool = False, root: Path | None = None) -> Path:
    """Write a snapshot atomically, holding its writers' lock, and return its folder.

    Parameters
    ----------
    structures : GeoDataFrame
        Point geometry in EPSG:4326.
    rejects : DataFrame
        Reject rows.
    manifest : dict
        At least ``quarter`` and ``territoire``; ``serie`` (default ``ess``); ``rows`` and
        ``created_at`` are filled here.
    replace : bool
        Replace an existing snapshot of the same series and quarter (kept readable until the
        new one is complete and validated).
    force : bool
        Accept a drop of more than 20 % of structures against the previous snapshot.

    Raises
    ------
    SnapshotError
        Existing quarter without ``replace``, another writer of the same snapshot, drop
        refused, validation failure, or a store that cannot be written; the store is left as
        it was.
    """
    base = _root(root)
    manifest = dict(manifest)
    serie = validate_serie(manifest.get("serie") or DEFAULT_SERIE)
    quarter = validate_quarter(manifest["quarter"])
    manifest["serie"] = serie
    with writer_lock(quarter, serie=serie, root=base):
        try:
            _repair(base)  # first: a legacy killed replace is put back, then moved
            _migrate_legacy(base)
        except OSError as exc:
            raise SnapshotError(_unwritable(base, exc)) from exc
        target = base / serie / quarter
        if target.exists() and not replace:
            raise SnapshotError(_exists(serie, quarter, base))
        manifest["rows"] = {"structures": int(len(structures)), "rejects": int(len(rejects))}
        manifest.setdefault("created_at",
                            pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds"))
        manifest["previous"] = _check_drop(manifest, len(structures), base, force)
        manifest.pop("path", None)
        try:
            _write_folder(structures, rejects, manifest, target)
        except OSError as exc:
            raise SnapshotError(_unwritable(target.parent, exc)) from exc
    log.info("Snapshot %s %s written to %s", serie, quarter, target)
    return target
