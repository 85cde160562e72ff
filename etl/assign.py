"""Spatial assignment of located structures to current communes (point in polygon).

Rules
-----
* CRS: the communes layer must be EPSG:4326 (the structures carry WGS84 lon/lat); checked first.
* Fast path: the declared commune (``commune_declaree``, mapped to the current COG through
  ``code_changes``: old codes, communes déléguées/associées, municipal arrondissements) is tested
  first, one vectorised ``shapely.contains_xy`` call over (declared polygon, point) pairs on
  prepared full-resolution geometries.
* The other points (no declared code, point outside its declared commune, or exactly on a
  border) are searched in an STRtree of all communes with the ``intersects`` predicate, so a
  point on a shared border matches both neighbours.  **Border rule:** when a point matches
  several communes, the declared commune wins if it is among them, otherwise the smallest
  commune code (lexicographic order) — deterministic and independent of the row order.
* The assigned commune wins over the declared one; ``commune_desaccord`` records that they
  differ (also when a declared code is not a commune of the COG).
* Points outside every commune (at sea, abroad, swapped coordinates) are never placed there:
  the structure falls back to its declared commune's centroid (``centroide_commune``) when the
  declared code is valid, else it is rejected (``hors_commune``).  Structures without a point
  get their declared commune's centroid, or are rejected (``commune_inconnue``).
* "Centroid" is the polygon's centroid, or a point on its surface when the centroid falls
  outside (crescent-shaped communes), so the fallback point is always inside its commune.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
import shapely

from etl.normalise import make_rejects
from etl.schema import empty_rejects
from geodata.codes import map_commune_codes
from geodata.crs import check_crs

__all__ = ["Assignment", "assign_communes", "commune_centroids"]


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


def _pick(matches_input: np.ndarray, matches_code: np.ndarray, declared: np.ndarray,
          n: int) -> np.ndarray:
    """One commune per input point from (input index, code) pairs (border rule)."""
    out = np.full(n, None, dtype=object)
    if len(matches_input) == 0:
        return out
    pairs = pd.DataFrame({"i": matches_input, "code": matches_code})
    pairs["is_declared"] = pairs["code"].to_numpy() == declared[pairs["i"].to_numpy()]
    pairs = pairs.sort_values(["i", "is_declared", "code"], ascending=[True, False, True])
    first = pairs.drop_duplicates("i", keep="first")
    out[first["i"].to_numpy()] = first["code"].to_numpy()
    return out


def assign_communes(structures: pd.DataFrame, communes, code_changes: pd.DataFrame | None = None,
                    *, source: str = "assignation") -> Assignment:
    """Assign each structure to one current commune and fill its territory columns.

    Parameters
    ----------
    structures : DataFrame
        :mod:`etl.schema` columns; uses ``longitude``, ``latitude``, ``commune_declaree``,
        ``location_precision``.
    communes : GeoDataFrame
        Reference communes: index ``code``, columns ``epci``, ``departement``, ``region``,
        ``geometry`` (EPSG:4326).
    code_changes : DataFrame, optional
        ``ancien_code`` -> ``code`` correspondence of the reference.
    source : str
        ``source`` written in the reject rows.

    Returns
    -------
    Assignment
        ``structures`` (kept rows, same columns, ``commune``/``epci``/``departement``/``region``/
        ``commune_desaccord`` filled, coordinates and ``location_precision`` updated for the
        centroid fallbacks), ``rejects`` (schema rejects) and ``stats`` (counts).
    """
    check_crs(communes, name="communes layer")
    frame = structures.reset_index(drop=True).copy()
    n = len(frame)
    changes = code_changes if code_changes is not None else pd.DataFrame(
        {"ancien_code": pd.Series(dtype="string"), "code": pd.Series(dtype="string"),
         "nature": pd.Series(dtype="string")})
    codes_index = pd.Index(communes.index.astype("string"))
    declared_raw = frame["commune_declaree"].astype("string")
    declared = map_commune_codes(declared_raw, changes, codes_index)["code"].astype("string")
    declared_arr = declared.to_numpy(dtype=object, na_value=None)
    lon = np.array(frame["longitude"].to_numpy(dtype=float, na_value=np.nan), copy=True)
    lat = np.array(frame["latitude"].to_numpy(dtype=float, na_value=np.nan), copy=True)
    has_point = np.isfinite(lon) & np.isfinite(lat)
    geoms = communes.geometry.to_numpy()
    shapely.prepare(geoms)
    position = pd.Series(np.arange(len(codes_index)), index=codes_index)
    assigned = np.full(n, None, dtype=object)
    # 1. Fast path: each point against its own declared polygon.
    fast = has_point & declared.notna().to_numpy()
    fast_idx = np.flatnonzero(fast)
    n_inside = 0
    if len(fast_idx):
        pos = position.reindex(declared_arr[fast_idx]).to_numpy()
        inside = shapely.contains_xy(geoms[pos], lon[fast_idx], lat[fast_idx])
        assigned[fast_idx[inside]] = declared_arr[fast_idx[inside]]
        n_inside = int(inside.sum())
    # 2. The rest of the points: spatial index over all communes.
    rest = np.flatnonzero(has_point & pd.isna(assigned))
    n_multi = 0
    if len(rest):
        tree = shapely.STRtree(geoms)
        points = shapely.points(lon[rest], lat[rest])
        q_in, q_tree = tree.query(points, predicate="intersects")
        n_multi = int((np.bincount(q_in, minlength=len(rest)) > 1).sum()) if len(q_in) else 0
        picked = _pick(q_in, codes_index.to_numpy(dtype=object)[q_tree],
                       declared_arr[rest], len(rest))
        assigned[rest] = picked
    # 3. Outside every commune, or no point: declared commune's centroid, or reject.
    outside = has_point & pd.isna(assigned)
    no_point = ~has_point
    fallback = (outside | no_point) & declared.notna().to_numpy()
    precision = frame["location_precision"].astype("string").copy()
    if fallback.any():
        centres = commune_centroids(communes, declared_arr[fallback])
        chosen = centres.reindex(declared_arr[fallback])
        lon[fallback] = chosen["longitude"].to_numpy()
        lat[fallback] = chosen["latitude"].to_numpy()
        assigned[fallback] = declared_arr[fallback]
        precision[fallback] = "centroide_commune"
    rejected = pd.isna(assigned)
    raisons = [
        (f"hors_commune: point ({x:.5f}, {y:.5f}) hors de toute commune et code commune "
         f"déclaré inconnu: {code if isinstance(code, str) else '(vide)'}") if out_flag else
        ("commune_inconnue: pas de coordonnées et code commune déclaré inconnu: "
         f"{code if isinstance(code, str) else '(vide)'}")
        for x, y, code, out_flag in zip(lon[rejected], lat[rejected],
                                        declared_raw[rejected].astype(object)
                                        .where(declared_raw[rejected].notna(), None),
                                        outside[rejected], strict=True)
    ]
    rejects = (make_rejects(source, frame.loc[rejected].drop(columns="geometry", errors="ignore"),
                            pd.Series(raisons, index=frame.index[rejected], dtype="string"))
               if rejected.any() else empty_rejects())
    frame["longitude"], frame["latitude"] = lon, lat
    frame["location_precision"] = precision
    frame["commune"] = pd.array(assigned, dtype="string")
    keep = ~rejected
    out = frame.loc[keep].reset_index(drop=True)
    hierarchy = communes[["epci", "departement", "region"]].copy()
    hierarchy.index = codes_index
    filled = hierarchy.reindex(out["commune"].to_numpy()).reset_index(drop=True)
    for column in ("epci", "departement", "region"):
        out[column] = filled[column].astype("string").to_numpy()
    decl_kept = declared[keep].reset_index(drop=True)
    raw_kept = declared_raw[keep].reset_index(drop=True)
    desaccord = (out["commune"] != decl_kept).fillna(raw_kept.notna())
    out["commune_desaccord"] = desaccord.astype("boolean")
    stats = {
        "points": int(has_point.sum()),
        "dans_commune_declaree": n_inside,
        "recherche_index": int(len(rest)),
        "frontiere_plusieurs_communes": n_multi,
        "hors_commune_centroide": int((outside & fallback).sum()),
        "sans_point_centroide": int((no_point & fallback).sum()),
        "rejetes": int(rejected.sum()),
        "desaccords": int(desaccord.sum()),
    }
    return Assignment(out, rejects, stats)
