"""Zones blanches: rural areas far from any ESS structure of a given kind.

A commune is *blanche* when it is rural (density grid levels 5–7, or level 3 of the 3-level
grid, possibly approximated), has no active structure of the chosen kind, and its centre is
farther than ``distance_km`` (default 10 km) from the nearest one. Adjacent blanche communes
(shared border or corner, found with a :class:`shapely.STRtree`) are merged into zones with
:func:`scipy.sparse.csgraph.connected_components`; zones are ranked by population.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from indicators.checks import check_crs
from indicators.coverage import nearest_distance_km
from indicators.prepare import PreparedStructures, prepare_structures
from indicators.projection import commune_points
from indicators.registry import FAMILIES
from indicators.rural import density_levels, rural_mask
from indicators.sectors import NAF_SECTIONS, SECTORS

__all__ = ["ZonesBlanches", "adjacent_groups", "zones_blanches"]


@dataclass(frozen=True)
class ZonesBlanches:
    """Result of :func:`zones_blanches`.

    Attributes
    ----------
    zones : DataFrame
        Indexed by ``zone`` ("Z001" = most populated): ``rang``, ``nb_communes``,
        ``population``, ``superficie_km2``, ``communes`` (list of codes), ``noms`` (list),
        ``distance_min_km`` (smallest commune-centre distance to a structure),
        ``structures_proches`` (list of dicts ``siret`` (None without one), ``identifiant``,
        ``nom``, ``commune``,
        ``distance_km`` from the zone's border), ``densite_source``.
    communes : DataFrame
        The blanche communes: ``zone``, ``distance_km``, ``population``.
    parametres : dict
        ``distance_km``, ``by``, ``category``.
    """

    zones: pd.DataFrame
    communes: pd.DataFrame
    parametres: dict


def adjacent_groups(geometries, tolerance: float = 0.0) -> np.ndarray:
    """Connected component label of each geometry (adjacent = intersecting).

    Parameters
    ----------
    geometries : array-like of shapely geometries
    tolerance : float
        Also link geometries closer than this (in the geometries' units), to bridge slivers.

    Returns
    -------
    numpy.ndarray of int, one label per geometry (0..k-1).
    """
    geoms = np.asarray(geometries, dtype=object)
    n = len(geoms)
    if n == 0:
        return np.zeros(0, dtype="int64")
    tree = shapely.STRtree(geoms)
    if tolerance > 0:
        left, right = tree.query(geoms, predicate="dwithin", distance=tolerance)
    else:
        left, right = tree.query(geoms, predicate="intersects")
    graph = coo_matrix((np.ones(len(left)), (left, right)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return labels


def _target_mask(prep: PreparedStructures, by: str | None, category: str | None) -> np.ndarray:
    if by is None:
        return prep.active.copy()
    tables = {"famille_ess": (prep.family, FAMILIES), "secteur_ess": (prep.sector, SECTORS),
              "naf_section": (prep.section, tuple(NAF_SECTIONS))}
    if by not in tables:
        raise ValueError(f"by must be None, 'famille_ess', 'secteur_ess' or 'naf_section', "
                         f"not {by!r}")
    codes, cats = tables[by]
    if category not in cats:
        raise ValueError(f"Unknown {by} category {category!r}; expected one of {list(cats)}")
    return prep.active & (codes == cats.index(category))


def zones_blanches(communes: pd.DataFrame, structures: pd.DataFrame, density: pd.DataFrame,
                   *, distance_km: float = 10.0, by: str | None = None,
                   category: str | None = None, n_nearest: int = 3,
                   points: pd.DataFrame | None = None,
                   prepared: PreparedStructures | None = None) -> ZonesBlanches:
    """Contiguous rural zones without a structure of the chosen kind within ``distance_km``.

    Parameters
    ----------
    communes : GeoDataFrame
        Reference communes (EPSG:4326; ``nom``, ``population``, ``superficie_km2``,
        ``departement``, ``geometry``).
    structures : DataFrame
        Structures with coordinates.
    density : DataFrame
        Density levels (``dens3``, ``dens7``, ``source``).
    distance_km : float
        A commune is blanche when its centre is farther than this from the nearest structure.
    by, category : str, optional
        Kind of structure: ``by="famille_ess", category="cooperative"``,
        ``by="secteur_ess", category="sante"``...; ``None`` = any structure.
    n_nearest : int
        Number of nearest structures outside each zone to list.
    points : DataFrame, optional
        Precomputed projected centroids.
    prepared : PreparedStructures, optional
        Encoded structures.

    Returns
    -------
    ZonesBlanches
    """
    check_crs(communes, structures if hasattr(structures, "crs") else None)
    prep = prepared if prepared is not None else prepare_structures(structures, communes)
    rows_t = np.flatnonzero(_target_mask(prep, by, category))
    pts = commune_points(communes) if points is None else points
    txy = prep.projected(communes).iloc[rows_t].reset_index(drop=True)
    dist = nearest_distance_km(pts, txy)
    inside = prep.commune[rows_t]
    has_inside = np.bincount(inside[inside >= 0], minlength=len(communes)) > 0
    levels = density_levels(communes.index, density)
    rural = rural_mask(levels)
    with np.errstate(invalid="ignore"):
        blank = rural & ~has_inside & (dist > distance_km)
    sel = np.flatnonzero(blank)
    sub = communes.iloc[sel]
    labels = adjacent_groups(sub.geometry.to_numpy(), tolerance=1e-7)
    pop = pd.to_numeric(sub["population"]).astype("Float64").fillna(0).to_numpy(dtype=float)
    area = pd.to_numeric(sub["superficie_km2"]).astype("float64").fillna(0).to_numpy()
    n_zones = int(labels.max()) + 1 if len(labels) else 0
    zone_pop = np.bincount(labels, weights=pop, minlength=n_zones)
    zone_area = np.bincount(labels, weights=area, minlength=n_zones)
    # rank: population desc, then area desc, then smallest commune code (deterministic)
    first_code = pd.Series(sub.index.astype(str)).groupby(labels).min().reindex(
        range(n_zones)).to_numpy(dtype=object)
    order = sorted(range(n_zones), key=lambda z: (-zone_pop[z], -zone_area[z], first_code[z]))
    zone_id = {z: f"Z{rank + 1:03d}" for rank, z in enumerate(order)}
    ids = np.array([zone_id[z] for z in labels], dtype=object)
    members = pd.DataFrame({"zone": pd.array(ids, dtype="string"), "distance_km": dist[sel],
                            "population": pop}, index=sub.index)
    k = max(1, n_nearest) * 2
    near_d, near_i = nearest_distance_km(pts.iloc[sel], txy, k=k) if len(sel) and n_nearest \
        else (np.zeros((len(sel), k)), np.full((len(sel), k), -1, dtype=int))
    has_name = "nom" in structures.columns
    rows = []
    for rank, z in enumerate(order):
        in_zone = np.flatnonzero(labels == z)
        cand = sorted({int(i) for i in near_i[in_zone].ravel() if i >= 0})
        nearest = []
        if cand:  # none when n_nearest == 0: no zone outline to build
            zone_geom = shapely.union_all(sub.geometry.to_numpy()[in_zone])
            epsg = int(pts["epsg"].iloc[sel[in_zone[0]]])
            zone_proj = _project(zone_geom, epsg)
            cpts = shapely.points(txy["x"].to_numpy()[cand], txy["y"].to_numpy()[cand])
            dd = shapely.distance(zone_proj, cpts) / 1000.0
            for j in np.argsort(dd, kind="stable")[:n_nearest]:
                row = int(rows_t[cand[j]])
                name = structures["nom"].iloc[row] if has_name else None
                siret = structures["siret"].iloc[row]
                nearest.append({
                    # an actor without SIRET has none (not the text "<NA>")
                    "siret": None if pd.isna(siret) else str(siret),
                    "identifiant": (str(structures["identifiant"].iloc[row])
                                    if "identifiant" in structures else None),
                    "nom": None if name is None or pd.isna(name) else str(name),
                    "commune": str(structures["commune"].iloc[row]),
                    "distance_km": float(dd[j]),
                })
        codes = sub.index[in_zone].astype(str).tolist()
        rows.append({
            "zone": zone_id[z], "rang": rank + 1, "nb_communes": len(in_zone),
            "population": int(round(zone_pop[z])), "superficie_km2": float(zone_area[z]),
            "communes": codes,
            "noms": sub["nom"].astype(str).iloc[in_zone].tolist() if "nom" in sub else codes,
            "distance_min_km": float(np.min(dist[sel[in_zone]])),
            "structures_proches": nearest,
            "densite_source": "+".join(sorted(set(levels["densite_source"].iloc[
                sel[in_zone]].dropna().astype(str)))),
        })
    zones = pd.DataFrame(rows, columns=[
        "zone", "rang", "nb_communes", "population", "superficie_km2", "communes", "noms",
        "distance_min_km", "structures_proches", "densite_source"]).set_index("zone")
    return ZonesBlanches(zones=zones, communes=members,
                         parametres={"distance_km": distance_km, "by": by,
                                     "category": category})


_LOCAL = threading.local()


def _transformer(epsg: int):
    """WGS84 -> ``epsg``, made once per thread (40 ms each; pyproj transformers are not to
    be shared between threads)."""
    from pyproj import Transformer

    cache = _LOCAL.__dict__.setdefault("transformers", {})
    if epsg not in cache:
        cache[epsg] = Transformer.from_crs(4326, epsg, always_xy=True)
    return cache[epsg]


def _project(geom, epsg: int):
    tr = _transformer(epsg)
    return shapely.transform(geom, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
