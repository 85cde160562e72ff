"""Read the etalab *contours-administratifs* GeoJSON files into Reference layers.

The files (github ``datagouv/contours-administratifs``; catalog source
``contours_administratifs``) are derived from IGN ADMIN EXPRESS, generalised at 5 m, 50 m,
100 m or 1 000 m, RFC 7946 GeoJSON (WGS84, EPSG:4326), plain or gzipped (``.gz``).

Properties per file:

- ``communes-*``: ``code, nom, departement, region, epci, plm, commune``.  A feature whose
  ``commune`` is set is a **municipal arrondissement** of Paris, Lyon or Marseille (its
  parent commune's code); ``plm`` is true for the three parent communes.  They are returned
  separately from the communes.
- ``epci-*``: ``code`` (SIREN), ``nom`` (+ ``type`` in some copies);
- ``departements-*``: ``code, nom, region``;
- ``regions-*``: ``code, nom``.

Extra properties (e.g. ``population`` in our shared extracts) are read when present.
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from geodata.formats import find_columns, pad_code, shape_communes, shape_named_layer, to_wgs84
from observatory.errors import ConfigurationError, explain

__all__ = ["read_communes", "read_departements", "read_epci", "read_geojson", "read_regions"]

log = logging.getLogger(__name__)

_COMMUNE_ALIASES = {
    "code": ("code",), "nom": ("nom",), "departement": ("departement",),
    "region": ("region",), "epci": ("epci",), "plm": ("plm",), "commune": ("commune",),
    "population": ("population",),
}


def read_geojson(path: str | Path) -> gpd.GeoDataFrame:
    """Read a GeoJSON file, plain or gzipped, and return it in EPSG:4326.

    Raises
    ------
    ConfigurationError
        When the file does not exist or cannot be read as GeoJSON.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise ConfigurationError(explain(
            f"GeoJSON file {str(path)!r} does not exist.",
            "The contours-administratifs loaders read a local file.",
            "Download it first (python -m observatory download contours_administratifs) "
            "or give the right path.",
        ))
    location = f"/vsigzip/{path}" if path.suffix.lower() == ".gz" else str(path)
    try:
        frame = pyogrio.read_dataframe(location)
    except Exception as exc:  # pyogrio raises DataSourceError & co.
        raise ConfigurationError(explain(
            f"{path.name} could not be read as GeoJSON ({exc}).",
            "The file is damaged, truncated or not GeoJSON.",
            "Download it again and check its size.",
        )) from exc
    if frame.crs is None:  # RFC 7946 GeoJSON without "crs" member is WGS84 by definition
        frame = frame.set_crs("EPSG:4326")
    frame, _ = to_wgs84(frame, path.name)
    return frame


def _renamed(frame: gpd.GeoDataFrame, aliases, required, source) -> gpd.GeoDataFrame:
    columns = find_columns([c for c in frame.columns if c != "geometry"], aliases, required,
                           source)
    out = frame[[*columns.values(), "geometry"]].rename(
        columns={v: k for k, v in columns.items()})
    return gpd.GeoDataFrame(out, geometry="geometry", crs=frame.crs)


def read_communes(path: str | Path) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Read a ``communes-*.geojson(.gz)`` file.

    Returns
    -------
    (communes, arrondissements)
        ``communes``: index ``code``; ``nom``, ``departement``, ``region``, ``epci``,
        ``population`` (Int64, NA when the file has none), ``plm`` (bool), ``geometry``.
        ``arrondissements``: the municipal arrondissements (features with ``commune``
        set): index ``code``; ``nom``, ``commune`` (parent), ``departement``, ``region``,
        ``geometry``.
    """
    source = Path(path).name
    frame = _renamed(read_geojson(path), _COMMUNE_ALIASES, ("code", "nom"), source)
    parent = (pad_code(frame["commune"], "commune", source=source) if "commune" in frame
              else pd.Series(pd.NA, index=frame.index, dtype="string"))
    is_arrondissement = parent.notna()
    plm = frame["plm"] if "plm" in frame else pd.Series(False, index=frame.index)
    communes = frame[~is_arrondissement].drop(columns=["commune", "plm"], errors="ignore")
    communes = communes.assign(plm=plm[~is_arrondissement].fillna(False).astype(bool))
    communes = shape_communes(communes, source)
    arrondissements = frame[is_arrondissement].assign(commune=parent[is_arrondissement])
    arrondissements = shape_communes(
        arrondissements.drop(columns=["plm", "epci"], errors="ignore"), source)[
        ["nom", "commune", "departement", "region", "geometry"]]
    orphans = sorted(set(arrondissements["commune"]) - set(communes.index))
    if orphans and len(communes):
        log.warning("%s: arrondissements whose parent commune is not in the file: %s",
                    source, ", ".join(orphans))
    log.info("%s: %d communes, %d municipal arrondissements", source, len(communes),
             len(arrondissements))
    return communes, arrondissements


def read_epci(path: str | Path) -> gpd.GeoDataFrame:
    """Read an ``epci-*.geojson(.gz)`` file: index ``code`` (SIREN); ``nom``, ``type``."""
    source = Path(path).name
    frame = _renamed(read_geojson(path), {"code": ("code", "siren"), "nom": ("nom",),
                                          "type": ("type",)}, ("code", "nom"), source)
    return shape_named_layer(frame, "siren", source, ("nom", "type"))


def read_departements(path: str | Path) -> gpd.GeoDataFrame:
    """Read a ``departements-*.geojson(.gz)`` file: index ``code``; ``nom``, ``region``."""
    source = Path(path).name
    frame = _renamed(read_geojson(path), {"code": ("code",), "nom": ("nom",),
                                          "region": ("region",)}, ("code", "nom"), source)
    out = shape_named_layer(frame, "departement", source, ("nom", "region"))
    out["region"] = pad_code(out["region"], "region", source=source)
    return out


def read_regions(path: str | Path) -> gpd.GeoDataFrame:
    """Read a ``regions-*.geojson(.gz)`` file: index ``code``; ``nom``."""
    source = Path(path).name
    frame = _renamed(read_geojson(path), {"code": ("code",), "nom": ("nom",)},
                     ("code", "nom"), source)
    return shape_named_layer(frame, "region", source)
