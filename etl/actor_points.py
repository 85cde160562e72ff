"""Points given by a list of actors: read them, project them to WGS84, check them.

A list may carry coordinates: ``longitude``/``latitude`` in WGS84 (EPSG:4326), or ``x``/``y``
in a CRS the mapping declares (``options.crs``, e.g. ``EPSG:2154``).  A point is only *used*
when it is plausible for the place the row declares - inside, or within
:data:`etl.plausibility.TOLERANCE_M` (100 m, the measured generalisation error of the
reference polygons) of the declared commune (its code, or its name found within the
postcode's département), else of the declared département (a column, or the postcode's).
The check is :func:`etl.plausibility.check_points`, the one implementation shared with the
SIRENE reader.  A point that cannot be checked (no reference geometry, nothing declared) is
used as given and counted as such.  The caller falls back to geocoding or to the declared
commune for the other rows, and :func:`location_notes` counts every case for the manifest.
"""

from __future__ import annotations

import logging
from typing import NamedTuple

import numpy as np
import pandas as pd

from etl.normalise import valid_lonlat
from etl.plausibility import TOLERANCE_M, check_points
from observatory.errors import DataValidationError, explain

__all__ = ["PointVerdict", "check_source_points", "location_notes", "parse_numbers",
           "source_points"]

log = logging.getLogger(__name__)
#: How many implausible points are listed by name in the notes (the quality view).
LISTED = 50


def parse_numbers(values: pd.Series) -> np.ndarray:
    """Text -> float64 (decimal comma accepted, blanks and junk -> NaN)."""
    text = values.astype("string").str.strip().str.replace(",", ".", regex=False)
    return pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def source_points(lon_text: pd.Series | None, lat_text: pd.Series | None,
                  x_text: pd.Series | None = None, y_text: pd.Series | None = None,
                  crs: str | None = None) -> tuple[np.ndarray, np.ndarray, str | None]:
    """The points of a list in WGS84 (NaN where none or unusable) and the CRS they were in.

    ``lon_text``/``lat_text`` (WGS84) win over ``x_text``/``y_text`` (in ``crs``).  A pair
    out of range, non-finite or (0, 0) is no point.

    Raises
    ------
    DataValidationError
        ``x``/``y`` without a declared CRS, or a CRS pyproj does not know.
    """
    if lon_text is not None and lat_text is not None:
        lon, lat, used = parse_numbers(lon_text), parse_numbers(lat_text), "EPSG:4326"
    elif x_text is not None and y_text is not None:
        if not crs:
            raise DataValidationError(explain(
                "The actors file maps x/y columns but declares no CRS.",
                "Projected coordinates mean nothing without their reference system.",
                "Add 'crs: EPSG:2154' (or the file's system) to the mapping's options, or map "
                "longitude/latitude columns in WGS84 instead."))
        lon, lat = _to_wgs84(parse_numbers(x_text), parse_numbers(y_text), str(crs))
        used = str(crs)
    else:
        return np.array([]), np.array([]), None
    ok = valid_lonlat(lon, lat)
    return np.where(ok, lon, np.nan), np.where(ok, lat, np.nan), used


def _to_wgs84(x: np.ndarray, y: np.ndarray, crs: str) -> tuple[np.ndarray, np.ndarray]:
    from pyproj import Transformer
    from pyproj.exceptions import CRSError

    try:
        transformer = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    except CRSError as exc:
        raise DataValidationError(explain(
            f"The CRS {crs!r} declared for the x/y columns is unknown: {exc}.",
            "Coordinates are projected with pyproj, which needs a known reference system.",
            "Write it as 'EPSG:<code>' (e.g. EPSG:2154 for Lambert-93).")) from exc
    lon, lat = transformer.transform(x, y)
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


class PointVerdict(NamedTuple):
    """Per row: ``use`` (take the point), ``status`` (:data:`etl.plausibility.STATUSES`, or
    ``sans_point``), ``distance_m`` to the declared area (NaN when not checked)."""

    use: np.ndarray
    status: np.ndarray
    distance_m: np.ndarray


def check_source_points(lon: np.ndarray, lat: np.ndarray, *, communes=None, reference=None,
                        commune: pd.Series | None = None, departement: pd.Series | None = None,
                        code_postal: pd.Series | None = None,
                        tolerance_m: float = TOLERANCE_M) -> PointVerdict:
    """Decide which points to use (module docstring).

    ``communes`` (GeoDataFrame, index code, EPSG:4326) or ``reference`` (its ``communes``,
    ``departements`` and ``code_changes``) give the polygons; without geometry every point is
    used unchecked (status ``non_verifiable``).
    """
    n = len(lon)
    has_point = valid_lonlat(lon, lat) if n else np.zeros(0, bool)
    status = np.where(has_point, "non_verifiable", "sans_point").astype(object)
    distance = np.full(n, np.nan)
    layer = getattr(reference, "communes", None) if communes is None else communes
    if not has_point.any() or layer is None or "geometry" not in getattr(layer, "columns", ()):
        return PointVerdict(has_point.copy(), status, distance)
    idx = np.flatnonzero(has_point)

    def pick(values):
        return None if values is None else pd.Series(values, dtype="string") \
            .reset_index(drop=True).iloc[idx]

    check = check_points(lon[idx], lat[idx], layer, commune=pick(commune),
                         departement=pick(departement), code_postal=pick(code_postal),
                         departements=getattr(reference, "departements", None),
                         code_changes=getattr(reference, "code_changes", None),
                         tolerance_m=tolerance_m)
    status[idx] = check.status
    distance[idx] = check.distance_m
    use = has_point & (status != "implausible")
    return PointVerdict(use, status, distance)


def location_notes(verdict: PointVerdict, considered: np.ndarray, outcome: pd.Series,
                   names: pd.Series, lines: pd.Series, declared: pd.Series,
                   tolerance_m: float = TOLERANCE_M, crs: str | None = None) -> dict:
    """Counts of each location case over the rows ``considered`` (not rejected before being
    located), for the manifest.  ``outcome`` is the final ``location_precision`` of each row
    (NA when rejected); ``declared`` says what an implausible point was checked against."""
    status = verdict.status
    bad = considered & (status == "implausible")
    final = outcome.astype("string").to_numpy(dtype=object, na_value=None)
    far = verdict.distance_m[bad]
    listed = [{"ligne": int(line), "nom": str(name), "controle": str(place),
               "distance_km": round(float(d) / 1000, 1),
               "repli": final[i] or "rejet"}
              for i, line, name, place, d in zip(
                  np.flatnonzero(bad), lines[bad], names[bad], declared[bad], far, strict=True)]
    listed.sort(key=lambda item: -item["distance_km"])
    return {
        "coordonnees": crs,
        "verification": "commune ou département déclarés",
        "tolerance_m": tolerance_m,
        "point_source_utilise": int((considered & verdict.use
                                     & (status != "non_verifiable")).sum()),
        "point_non_verifie": int((considered & (status == "non_verifiable")).sum()),
        "point_implausible": int(bad.sum()),
        "point_implausible_geocode": int((bad & (final == "ban_adresse")).sum()),
        "point_implausible_centroide": int((bad & (final == "centroide_commune")).sum()),
        "point_implausible_rejete": int((bad & pd.isna(outcome).to_numpy()).sum()),
        "sans_point": int((considered & (status == "sans_point")).sum()),
        "distance_implausible_km": ({"min": round(float(far.min()) / 1000, 1),
                                     "mediane": round(float(np.median(far)) / 1000, 1),
                                     "max": round(float(far.max()) / 1000, 1)}
                                    if len(far) else None),
        "points_implausibles": listed[:LISTED],
    }
