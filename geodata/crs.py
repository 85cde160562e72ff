"""Coordinate reference systems of the reference geography.

Geometries are stored in WGS84 (EPSG:4326).  Areas are computed in the official
projected system of each territory: Lambert-93 for metropolitan France and the local
systems of the overseas départements.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from observatory.errors import CRSMismatchError, explain

__all__ = ["LOCAL_EPSG", "METRO_EPSG", "WGS84", "area_km2", "check_crs", "local_epsg"]

WGS84 = "EPSG:4326"
METRO_EPSG = 2154  # RGF93 v1 / Lambert-93

# Overseas départements -> official projected CRS.
LOCAL_EPSG: dict[str, int] = {
    "971": 5490,  # Guadeloupe: RGAF09 / UTM 20N
    "972": 5490,  # Martinique: RGAF09 / UTM 20N
    "973": 2972,  # Guyane: RGFG95 / UTM 22N
    "974": 2975,  # La Réunion: RGR92 / UTM 40S
    "976": 4471,  # Mayotte: RGM04 / UTM 38S
}


def local_epsg(departement: str) -> int:
    """EPSG code of the projected CRS used for areas in a département.

    Parameters
    ----------
    departement : str
        Département code ("21", "2A", "974").

    Returns
    -------
    int
        2154 (Lambert-93) for metropolitan France, the local system overseas.

    Examples
    --------
    >>> local_epsg("21"), local_epsg("974")
    (2154, 2975)
    """
    code = str(departement)
    if code.startswith("97"):
        if code not in LOCAL_EPSG:
            raise ValueError(explain(
                f"Unknown overseas département {code!r}.",
                f"Projected CRS are known for {sorted(LOCAL_EPSG)} only.",
                "Use a DROM code (971, 972, 973, 974, 976).",
            ))
        return LOCAL_EPSG[code]
    return METRO_EPSG


def area_km2(geometries, departements, crs: str = WGS84) -> np.ndarray:
    """Area in km² of each geometry, projected in the CRS of its département.

    Parameters
    ----------
    geometries : array-like of shapely geometries (or GeoSeries)
        Geometries in ``crs``; empty or missing geometries give NaN.
    departements : array-like of str
        Département code of each geometry (chooses the projection).
    crs : str
        CRS of the input geometries.

    Returns
    -------
    numpy.ndarray of float
    """
    from pyproj import Transformer

    geoms = np.asarray(getattr(geometries, "values", geometries), dtype=object)
    deps = pd.Series(np.asarray(departements, dtype=object)).astype("string")
    epsg = np.array([local_epsg(d) if not pd.isna(d) else METRO_EPSG for d in deps])
    out = np.full(len(geoms), np.nan)
    for code in np.unique(epsg):
        mask = epsg == code
        transformer = Transformer.from_crs(crs, f"EPSG:{code}", always_xy=True)
        projected = shapely.transform(geoms[mask], lambda xy, t=transformer: np.column_stack(
            t.transform(xy[:, 0], xy[:, 1])))
        areas = shapely.area(projected) / 1e6
        empty = shapely.is_missing(geoms[mask]) | shapely.is_empty(geoms[mask])
        out[mask] = np.where(empty, np.nan, areas)
    return out


def check_crs(layer, expected: str = WGS84, name: str = "layer") -> None:
    """Raise :class:`CRSMismatchError` when ``layer.crs`` is not ``expected``."""
    crs = getattr(layer, "crs", None)
    if crs is None or not crs.equals(expected):
        raise CRSMismatchError(explain(
            f"The {name} is in CRS {crs!s}, not {expected}.",
            "Every layer of the reference geography is stored in WGS84 (longitude, latitude).",
            f"Reproject it first: layer.to_crs({expected!r}).",
        ), offenders=[str(crs)])
