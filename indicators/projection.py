"""Projected coordinates for distance computations.

Distances are computed in metres in the official projection of each territory: Lambert-93
(EPSG:2154) in metropolitan France, the local UTM systems overseas (5490 Antilles, 2972
Guyane, 2975 Réunion, 4471 Mayotte). Points of different projection zones are never compared
(a commune of Réunion looks for structures of Réunion only).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geodata.crs import LOCAL_EPSG, METRO_EPSG

__all__ = ["commune_points", "epsg_for_departements", "project_lonlat", "structure_points"]

_METRO = METRO_EPSG


def epsg_for_departements(departements: pd.Series) -> np.ndarray:
    """EPSG code (int, 0 when the département is missing) for each département code."""
    table = LOCAL_EPSG
    dep = departements.astype("string")
    out = np.full(len(dep), _METRO, dtype="int64")
    mapped = dep.map(table).to_numpy(dtype="float64", na_value=np.nan)
    has = ~np.isnan(mapped)
    out[has] = mapped[has].astype("int64")
    out[dep.isna().to_numpy()] = 0
    return out


def _transform(lon: np.ndarray, lat: np.ndarray, epsg: int) -> tuple[np.ndarray, np.ndarray]:
    from pyproj import Transformer

    tr = Transformer.from_crs(4326, epsg, always_xy=True)
    return tr.transform(lon, lat)


def project_lonlat(lon: np.ndarray, lat: np.ndarray, epsg: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Project WGS84 longitudes/latitudes, each in the CRS given by ``epsg`` (0 = none).

    Returns ``x``, ``y`` in metres; NaN where the coordinates or the EPSG code are missing.
    """
    lon = np.asarray(lon, dtype="float64")
    lat = np.asarray(lat, dtype="float64")
    x = np.full(len(lon), np.nan)
    y = np.full(len(lon), np.nan)
    valid = np.isfinite(lon) & np.isfinite(lat)
    for code in np.unique(epsg[epsg > 0]):
        sel = np.flatnonzero((epsg == code) & valid)
        if len(sel):
            x[sel], y[sel] = _transform(lon[sel], lat[sel], int(code))
    return x, y


def commune_points(communes: pd.DataFrame) -> pd.DataFrame:
    """Centroid of each commune, computed in its projected CRS.

    Parameters
    ----------
    communes : GeoDataFrame
        Indexed by code, ``departement`` and ``geometry`` (EPSG:4326).

    Returns
    -------
    DataFrame
        Indexed like ``communes``: ``x``, ``y`` (metres, NaN for a missing geometry) and
        ``epsg`` (int).
    """
    import geopandas as gpd

    epsg = epsg_for_departements(communes["departement"])
    x = np.full(len(communes), np.nan)
    y = np.full(len(communes), np.nan)
    geoms = communes.geometry.to_numpy()
    for code in np.unique(epsg[epsg > 0]):
        sel = np.flatnonzero(epsg == code)
        series = gpd.GeoSeries(geoms[sel], crs=communes.crs or "EPSG:4326").to_crs(int(code))
        ok = ~(series.isna().to_numpy() | series.is_empty.to_numpy())
        cent = series[ok].centroid
        x[sel[ok]] = cent.x.to_numpy()
        y[sel[ok]] = cent.y.to_numpy()
    return pd.DataFrame({"x": x, "y": y, "epsg": epsg}, index=communes.index)


def structure_points(structures: pd.DataFrame, communes: pd.DataFrame) -> pd.DataFrame:
    """Projected coordinates of structures with a longitude and latitude.

    The projection follows the département of the structure's commune (from the reference),
    or the ``departement`` column when the commune is unknown.

    Returns
    -------
    DataFrame
        Same index as ``structures``: ``x``, ``y`` (NaN when no coordinates) and ``epsg``
        (0 when neither the commune nor the département is known).
    """
    dep = structures["commune"].astype("string").map(communes["departement"])
    if "departement" in structures.columns:
        dep = dep.fillna(structures["departement"].astype("string"))
    epsg = epsg_for_departements(dep)
    lon = pd.to_numeric(structures["longitude"], errors="coerce").to_numpy(
        dtype="float64", na_value=np.nan)
    lat = pd.to_numeric(structures["latitude"], errors="coerce").to_numpy(
        dtype="float64", na_value=np.nan)
    x, y = project_lonlat(lon, lat, epsg)
    return pd.DataFrame({"x": x, "y": y, "epsg": epsg}, index=structures.index)
