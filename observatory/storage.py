"""Quarterly snapshots of the located ESS structures.

Layout (``settings.snapshots_dir``)::

    <quarter>/structures.parquet   GeoParquet, Point geometry in EPSG:4326
    <quarter>/rejects.parquet      every rejected input row with its reason
    <quarter>/manifest.json        quarter, territory, sources (vintage, files, sha256),
                                   row accounting, location precision counts, code version, COG

Writes are atomic: files go to ``.tmp-<quarter>-<pid>``, are re-read and validated, then the
folder is renamed into place.  With ``replace``, the old folder is moved aside to
``.old-<quarter>-<pid>`` only once the new one is complete and validated, then deleted; a run
killed between the two renames is repaired at the next start (the old folder is put back).
Leftover ``.tmp-*`` folders of dead processes are ignored by readers and cleaned by writers.
Any third-party tool can open the files (GeoParquet: QGIS, DuckDB spatial, GDAL).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from observatory.errors import ConfigurationError, SnapshotError, explain
from observatory.settings import get_settings

__all__ = [
    "MAX_DROP",
    "Snapshot",
    "list_snapshots",
    "load_snapshot",
    "previous_quarter",
    "snapshot_path",
    "validate_quarter",
    "write_snapshot",
]

log = logging.getLogger(__name__)
QUARTER_RE = re.compile(r"^(\d{4})-T([1-4])$")
MAX_DROP = 0.20
#: Test hook: seconds to sleep after writing and validating, before the rename.
SLEEP_ENV = "OBSERVATOIRE_TEST_SLEEP_BEFORE_RENAME"
_TMP_RE = re.compile(r"^\.(tmp|old)-(\d{4}-T[1-4])-(\d+)$")


@dataclass
class Snapshot:
    """One stored snapshot."""

    quarter: str
    structures: pd.DataFrame  # GeoDataFrame
    rejects: pd.DataFrame
    manifest: dict
    path: Path


def validate_quarter(quarter: str) -> str:
    """Return ``quarter`` if it reads ``YYYY-T1``…``YYYY-T4``, else raise ConfigurationError."""
    if not isinstance(quarter, str) or not QUARTER_RE.match(quarter):
        raise ConfigurationError(explain(
            f"Quarter label {quarter!r} is not valid.",
            "Snapshots are labelled by year and quarter: YYYY-T1 to YYYY-T4.",
            "Use e.g. --quarter 2026-T4.",
        ))
    return quarter


def previous_quarter(quarter: str) -> str:
    """The quarter before: ``2026-T4`` -> ``2026-T3``, ``2026-T1`` -> ``2025-T4``."""
    year, q = QUARTER_RE.match(validate_quarter(quarter)).groups()
    year, q = int(year), int(q)
    return f"{year - 1}-T4" if q == 1 else f"{year}-T{q - 1}"


def _root(root: Path | None = None) -> Path:
    return Path(root) if root is not None else get_settings().snapshots_dir


def snapshot_path(quarter: str, root: Path | None = None) -> Path:
    """Folder of a snapshot (it may not exist)."""
    return _root(root) / validate_quarter(quarter)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _repair(root: Path) -> None:
    """Put back an old snapshot moved aside by a killed replace; remove dead temp folders."""
    if not root.is_dir():
        return
    for entry in root.iterdir():
        match = _TMP_RE.match(entry.name)
        if not match or not entry.is_dir() or _alive(int(match.group(3))):
            continue
        kind, quarter = match.group(1), match.group(2)
        target = root / quarter
        if kind == "old" and not target.exists():
            entry.rename(target)
            log.warning("Snapshot %s restored from an interrupted replace", quarter)
        else:
            shutil.rmtree(entry, ignore_errors=True)
            log.info("Removed leftover folder %s", entry.name)


def _read_manifest(folder: Path) -> dict | None:
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    manifest["path"] = str(folder)
    return manifest


def list_snapshots(root: Path | None = None) -> list[dict]:
    """Manifests of the complete snapshots, oldest quarter first (each with ``path``)."""
    base = _root(root)
    if not base.is_dir():
        return []
    try:
        _repair(base)  # a replace killed between its two renames: put the old one back
    except OSError as exc:  # read-only store: still list what is there
        log.debug("snapshot store not repaired: %s", exc)
    out = []
    for entry in sorted(base.iterdir(), key=lambda p: p.name):
        if entry.is_dir() and QUARTER_RE.match(entry.name):
            manifest = _read_manifest(entry)
            if manifest is not None:
                out.append(manifest)
    return out


def _conform_loaded(frame: pd.DataFrame) -> pd.DataFrame:
    from observatory.schema import STRUCTURE_DTYPES

    for column, dtype in STRUCTURE_DTYPES.items():
        if column in frame and str(frame[column].dtype) != dtype:
            frame[column] = frame[column].astype(dtype)
    return frame


def load_snapshot(quarter: str | None = None, root: Path | None = None) -> Snapshot:
    """Load a snapshot (the latest when ``quarter`` is None)."""
    import geopandas as gpd

    available = list_snapshots(root)
    if not available:
        raise SnapshotError(explain(
            f"No snapshot in {str(_root(root))!r}.",
            "A snapshot is written by a refresh.",
            "Run: python -m observatory refresh --sirene-dir DIR --quarter 2026-T4 "
            "(or python -m observatory demo for demonstration data).",
        ))
    if quarter is None:
        quarter = available[-1]["quarter"]
    validate_quarter(quarter)
    manifest = next((m for m in available if m["quarter"] == quarter), None)
    if manifest is None:
        raise SnapshotError(explain(
            f"No snapshot {quarter!r}.", "Only complete snapshots can be read.",
            f"Choose one of: {', '.join(m['quarter'] for m in available)}.",
        ), )
    folder = Path(manifest["path"])
    structures = _conform_loaded(gpd.read_parquet(folder / "structures.parquet"))
    rejects = pd.read_parquet(folder / "rejects.parquet")
    rejects = rejects.astype({c: "string" for c in ("source", "siret", "raison", "donnees")
                              if c in rejects}).astype({"ligne": "Int64"})
    return Snapshot(quarter, structures, rejects, manifest, folder)


def _check_drop(manifest: dict, kept: int, root: Path, force: bool) -> dict | None:
    """Compare with the latest snapshot of the same territory up to this quarter."""
    same = [m for m in list_snapshots(root)
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


def _validate_written(folder: Path, manifest: dict) -> None:
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
        ), )


def write_snapshot(structures, rejects: pd.DataFrame, manifest: dict, *, replace: bool = False,
                   force: bool = False, root: Path | None = None) -> Path:
    """Write a snapshot atomically and return its folder.

    Parameters
    ----------
    structures : GeoDataFrame
        Point geometry in EPSG:4326.
    rejects : DataFrame
        Reject rows.
    manifest : dict
        At least ``quarter`` and ``territoire``; ``rows`` and ``created_at`` are filled here.
    replace : bool
        Replace an existing snapshot of the same quarter (kept readable until the new one is
        complete and validated).
    force : bool
        Accept a drop of more than 20 % of structures against the previous snapshot.

    Raises
    ------
    SnapshotError
        Existing quarter without ``replace``, drop refused, or validation failure; the store
        is left as it was.
    """
    base = _root(root)
    quarter = validate_quarter(manifest["quarter"])
    base.mkdir(parents=True, exist_ok=True)
    _repair(base)
    target = base / quarter
    if target.exists() and not replace:
        raise SnapshotError(explain(
            f"Snapshot {quarter} already exists in {str(base)!r}.",
            "A refresh never overwrites a snapshot unless asked.",
            "Add --replace to replace it (the old one stays readable until the new one is "
            "validated), or choose another --quarter.",
        ))
    manifest = dict(manifest)
    manifest["rows"] = {"structures": int(len(structures)), "rejects": int(len(rejects))}
    manifest.setdefault("created_at", pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds"))
    manifest["previous"] = _check_drop(manifest, len(structures), base, force)
    manifest.pop("path", None)
    tmp = base / f".tmp-{quarter}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        structures.to_parquet(tmp / "structures.parquet", index=False)
        rejects.to_parquet(tmp / "rejects.parquet", index=False)
        (tmp / "manifest.json").write_text(
            json.dumps(manifest, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
        _validate_written(tmp, manifest)
        delay = float(os.environ.get(SLEEP_ENV) or 0)
        if delay:
            time.sleep(delay)
        if target.exists():
            old = base / f".old-{quarter}-{os.getpid()}"
            target.rename(old)
            tmp.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("Snapshot %s written to %s", quarter, target)
    return target
