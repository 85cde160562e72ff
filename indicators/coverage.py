"""Coverage: communes with a structure, population covered, distance to the nearest structure.

Distance is measured from each commune's centroid (computed in the projected CRS of its
territory, see :mod:`indicators.projection`) to the nearest active structure with
coordinates, with a k-d tree (:class:`scipy.spatial.cKDTree`) per projection zone. A commune
whose zone has no structure at all gets an infinite distance internally (it is farther than
every threshold) and a missing value with a reason in the tables.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from indicators.prepare import PreparedStructures, prepare_structures
from indicators.projection import commune_points
from indicators.registry import DISTANCE_THRESHOLDS_KM, FAMILIES, family_column, sector_column
from indicators.sectors import SECTORS

__all__ = [
    "NO_STRUCTURE_REASON",
    "coverage_columns",
    "nearest_distance_km",
    "structure_distances",
]

NO_STRUCTURE_REASON = "aucune structure active localisée dans la même zone (métropole ou DROM)"


def nearest_distance_km(points: pd.DataFrame, targets: pd.DataFrame, k: int = 1):
    """Distance (km) from each point to its nearest target in the same projection zone.

    Parameters
    ----------
    points, targets : DataFrame
        ``x``, ``y`` (metres) and ``epsg`` columns, as built by :mod:`indicators.projection`.
    k : int
        Also return the positions of the ``k`` nearest targets when ``k > 1``.

    Returns
    -------
    numpy.ndarray
        Distances in km: ``inf`` when the zone has no target, NaN when the point has no
        coordinates. With ``k > 1``, a tuple ``(distances (n, k), positions (n, k))`` where a
        missing neighbour has position -1.
    """
    n = len(points)
    dist = np.full((n, k), np.inf)
    idx = np.full((n, k), -1, dtype="int64")
    px, py, pe = (points[c].to_numpy() for c in ("x", "y", "epsg"))
    tx, ty, te = (targets[c].to_numpy() for c in ("x", "y", "epsg"))
    t_ok = np.isfinite(tx) & np.isfinite(ty)
    p_ok = np.isfinite(px) & np.isfinite(py)
    for code in np.unique(pe[p_ok]):
        sel_t = np.flatnonzero(t_ok & (te == code))
        sel_p = np.flatnonzero(p_ok & (pe == code))
        if len(sel_t) == 0:
            continue
        tree = cKDTree(np.column_stack([tx[sel_t], ty[sel_t]]), balanced_tree=False,
                       compact_nodes=False)
        kk = min(k, len(sel_t))
        d, i = tree.query(np.column_stack([px[sel_p], py[sel_p]]), k=kk)
        d = d.reshape(len(sel_p), kk)
        i = i.reshape(len(sel_p), kk)
        dist[sel_p, :kk] = d / 1000.0
        idx[sel_p, :kk] = sel_t[i]
    dist[~p_ok] = np.nan
    if k == 1:
        return dist[:, 0]
    return dist, idx


def structure_distances(structures: pd.DataFrame | None, communes: pd.DataFrame, *,
                        by: str | None = None, points: pd.DataFrame | None = None,
                        structure_xy: pd.DataFrame | None = None,
                        prepared: PreparedStructures | None = None) -> pd.DataFrame:
    """Distance from each commune to the nearest active structure, overall or per category.

    Parameters
    ----------
    structures : DataFrame
        Structures with ``longitude``/``latitude`` (EPSG:4326); only active ones are used.
    communes : GeoDataFrame
        Reference communes (index code, ``departement``, ``geometry``).
    by : {None, "famille_ess", "secteur_ess"}
        ``None``: one column ``distance_structure_km``. Otherwise one column per category,
        ``distance_<n_column>_km`` (``distance_n_association_km``,
        ``distance_n_secteur_sante_km``).
    points : DataFrame, optional
        Precomputed :func:`indicators.projection.commune_points` (saves the projection).
    structure_xy : DataFrame, optional
        Precomputed :func:`indicators.projection.structure_points`, row-aligned with
        ``structures``.
    prepared : PreparedStructures, optional
        Encoded structures (:func:`indicators.prepare.prepare_structures`).

    Returns
    -------
    DataFrame of float indexed like ``communes``; ``inf`` = no structure in the zone.
    """
    prep = prepared if prepared is not None else prepare_structures(structures, communes)
    pts = commune_points(communes) if points is None else points
    sxy = prep.projected(communes) if structure_xy is None else structure_xy
    sxy = sxy.reset_index(drop=True)
    active = prep.active
    if by is None:
        return pd.DataFrame({"distance_structure_km": nearest_distance_km(pts, sxy[active])},
                            index=communes.index)
    if by == "famille_ess":
        codes, cats, name = prep.family, FAMILIES, family_column
    elif by == "secteur_ess":
        codes, cats, name = prep.sector, SECTORS, sector_column
    else:
        raise ValueError(f"by must be None, 'famille_ess' or 'secteur_ess', not {by!r}")
    out = {}
    for k, cat in enumerate(cats):
        sel = active & (codes == k)
        if sel.any():
            out[f"distance_{name(cat)}_km"] = nearest_distance_km(pts, sxy[sel])
    return pd.DataFrame(out, index=communes.index)


def coverage_columns(structures_count: pd.Series, population: pd.Series,
                     distance_km: pd.Series | np.ndarray,
                     thresholds=DISTANCE_THRESHOLDS_KM) -> pd.DataFrame:
    """Extensive coverage columns per commune, ready to be rolled up.

    Parameters
    ----------
    structures_count : Series
        Active structures per commune.
    population : Series
        Population municipale per commune (NA counts as 0).
    distance_km : Series or array
        Distance to the nearest structure (``inf`` none in the zone, NaN unknown).

    Returns
    -------
    DataFrame
        ``nb_communes`` (1), ``communes_couvertes`` (0/1), ``population_couverte``,
        ``population_plus_<X>km`` for each threshold, ``population_x_distance_km`` and
        ``population_distance_connue`` (numerator and denominator of the mean distance).
    """
    pop = pd.to_numeric(population, errors="coerce").fillna(0).to_numpy(dtype="float64")
    covered = (structures_count.to_numpy() > 0).astype("int64")
    dist = np.asarray(distance_km, dtype="float64")
    finite = np.isfinite(dist)
    out = {
        "nb_communes": np.ones(len(pop), dtype="int64"),
        "communes_couvertes": covered,
        "population_couverte": pop * covered,
    }
    with np.errstate(invalid="ignore"):
        for km in thresholds:
            out[f"population_plus_{km}km"] = np.where(dist > km, pop, 0.0)
    out["population_x_distance_km"] = np.where(finite, pop * np.where(finite, dist, 0), 0.0)
    out["population_distance_connue"] = np.where(finite, pop, 0.0)
    return pd.DataFrame(out, index=structures_count.index)
