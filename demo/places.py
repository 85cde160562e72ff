"""Where the demo establishments are, and how SIRENE writes it (with its usual defects).

:func:`place_rows` draws a point in each establishment's commune, then writes the declared
commune code as SIRENE would (arrondissement codes, old codes, now and then the neighbouring
commune), breaks a few coordinates (at sea, swapped, ``[ND]``) and spoils a few rows on purpose
(:data:`BAD_ROW_KINDS`) so that the refresh job's rejects can be tried in the demo.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from demo.model import DemoModel, sample_points
from demo.values import epsg_of, project_points

__all__ = ["BAD_ROW_KINDS", "CodeBook", "Places", "code_book", "place_rows",
           "unknown_commune_code"]

#: Rows spoiled on purpose, ``bad_rows_per_departement`` of each kind per département (first
#: quarter only; they stay in the stock): kind -> (reject of the refresh job, what is wrong).
#: Kind 3 is rejected ``hors_commune`` by a national refresh, ``hors_territoire`` by a
#: département one (a row without a commune code is read, then its point is outside).
BAD_ROW_KINDS = {
    1: ("siret_invalide", "SIRET cut to 13 digits (stock and géolocalisé file)"),
    2: ("commune_inconnue", "postcode written as the commune code (e.g. 21000 for Dijon), no "
                            "coordinates"),
    3: ("hors_commune", "no commune code nor postcode, longitude and latitude swapped: the "
                        "point falls outside France"),
}
_ND_BROKEN, _SEA, _SWAPPED = 3, 1, 2


@dataclass
class Places:
    """Location columns of the establishment rows (aligned with them)."""

    lon: np.ndarray
    lat: np.ndarray
    x: np.ndarray
    y: np.ndarray
    epsg: np.ndarray  # projection of x, y (per row)
    code: np.ndarray  # current code of the commune of the point
    declared: np.ndarray  # code written in codeCommuneEtablissement
    declared_kind: np.ndarray  # 0 current, 1 old, 2 arrondissement, 3 neighbour, 4 spoiled
    broken: np.ndarray  # 0 fine, 1 at sea, 2 swapped, 3 [ND]
    bad: np.ndarray  # 0 or a key of BAD_ROW_KINDS


def unknown_commune_code(dep: str, known) -> str:
    """A commune code that SIRENE rows sometimes carry and the COG does not know: the
    département's "postcode 000" (``21000``: Dijon's postcode; ``97100``), else ``...999``."""
    prefix = {"2A": "20", "2B": "20"}.get(dep, dep)
    for tail in ("000", "999", "998"):
        code = prefix + tail[len(prefix) - 2:]
        if code not in known:
            return code
    raise ValueError(f"no unknown commune code left for département {dep}")


def place_rows(commune: np.ndarray, communes, book: CodeBook, candidates: np.ndarray,
               rng: np.random.Generator, model: DemoModel, n_bad: int) -> Places:
    """Points, declared codes, broken coordinates and bad rows of the establishment rows.

    ``commune`` is the position of each row's commune in ``communes`` (any départements);
    ``candidates`` marks the rows that may be spoiled (active ESS rows, fully diffused);
    ``n_bad`` rows of each kind of :data:`BAD_ROW_KINDS` are spoiled (the caller draws one
    département at a time); ``book`` is the :func:`code_book` of the reference's code
    changes.
    """
    n = commune.size
    codes = communes.index.to_numpy(dtype=object)
    deps = communes["departement"].astype(str).to_numpy()
    order = np.argsort(commune, kind="stable")
    counts = np.bincount(commune, minlength=len(communes))
    used = np.flatnonzero(counts)  # prepare only the polygons that receive a point
    lon = np.empty(n)
    lat = np.empty(n)
    lon[order], lat[order] = sample_points(communes.geometry.to_numpy()[used], counts[used],
                                           rng)
    code = codes[commune]
    declared, kind = _declared_codes(code, book, rng, model.old_code_share)
    _neighbour_codes(declared, kind, commune, communes, rng, model.neighbour_share)
    broken = np.where(rng.random(n) < model.broken_share, rng.integers(1, 4, n), 0)
    # rows declared with their current or arrondissement code (Paris has only the latter)
    bad = _choose_bad_rows(candidates & np.isin(kind, [0, 2]), n_bad, rng)
    if bad.any():  # bad == 1: only the SIRET is wrong
        for row in np.flatnonzero(bad == 2):
            declared[row] = unknown_commune_code(deps[commune[row]], set(codes) | book.known)
        declared[bad == 3] = None
        kind[bad > 1] = 4
        broken[bad == 2] = _ND_BROKEN
        broken[bad == 3] = _SWAPPED
    epsg = np.array([epsg_of(d) for d in deps], dtype=np.int64)[commune]
    lon, lat, x, y = _break_coordinates(lon, lat, broken, deps[commune], epsg, rng)
    return Places(lon, lat, x, y, epsg, code, declared, kind, broken, bad)


def _choose_bad_rows(candidates: np.ndarray, n_bad: int, rng: np.random.Generator
                     ) -> np.ndarray:
    bad = np.zeros(candidates.size, dtype=np.int8)
    pool = np.flatnonzero(candidates)
    chosen = rng.permutation(pool)[:n_bad * len(BAD_ROW_KINDS)] if n_bad > 0 else pool[:0]
    for k, rows in enumerate(np.array_split(chosen, len(BAD_ROW_KINDS)), start=1):
        bad[rows] = k
    return bad


def _project(lon: np.ndarray, lat: np.ndarray, epsg: np.ndarray, rows: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
    """x, y of ``rows`` in each row's projection."""
    x, y = np.empty(rows.size), np.empty(rows.size)
    for code in np.unique(epsg[rows]):
        sel = epsg[rows] == code
        x[sel], y[sel] = project_points(lon[rows[sel]], lat[rows[sel]], int(code))
    return x, y


def _break_coordinates(lon, lat, broken, dep, epsg, rng):
    """Project the points; put ``broken == 1`` at sea (Bay of Biscay; open ocean next to an
    overseas island or Guyane) and swap ``broken == 2`` (lon/lat and x/y), as real
    géolocalisé and stock rows sometimes are."""
    n = lon.size
    sea = broken == _SEA
    x, y = _project(lon, lat, epsg, np.arange(n))
    overseas = epsg != 2154
    lat = np.where(sea & overseas, lat + np.where(dep == "973", 2.5, -2.0), lat)
    lon = np.where(sea & ~overseas, -5.5 + rng.random(n) - 0.5, lon)
    lat = np.where(sea & ~overseas, 46.0 + rng.random(n) - 0.5, lat)
    if sea.any():
        rows = np.flatnonzero(sea)
        x[rows], y[rows] = _project(lon, lat, epsg, rows)
    swapped = broken == _SWAPPED
    x, y = np.where(swapped, y, x), np.where(swapped, x, y)
    lon, lat = np.where(swapped, lat, lon), np.where(swapped, lon, lat)
    return lon, lat, x, y


@dataclass(frozen=True)
class CodeBook:
    """The codes SIRENE may write for a current commune, prepared once for a generation:
    its municipal arrondissements and its old codes (ancienne commune, commune déléguée or
    associée), from ``reference.code_changes``, same département only (e.g. the pre-1976
    Corsican codes 20xxx never appear in SIRENE)."""

    arrondissements: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    old_codes: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    known: frozenset[str]  # every code of the table (old and current)


def code_book(changes) -> CodeBook:
    """:class:`CodeBook` of a ``code_changes`` table (``ancien_code``, ``code``, ``nature``);
    a CodeBook is returned as is."""
    if isinstance(changes, CodeBook):
        return changes
    changes = changes.astype(str)
    known = frozenset(changes["ancien_code"]) | frozenset(changes["code"])
    changes = changes[(changes["ancien_code"] != changes["code"])
                      & (changes["ancien_code"].str.slice(0, 2) == changes["code"].str.slice(0, 2))]
    parts = []
    for is_arr in (True, False):
        sub = changes[(changes["nature"] == "arrondissement_municipal") == is_arr]
        sub = sub.sort_values(["code", "ancien_code"])
        targets = sub["code"].to_numpy(dtype=object)
        uniq, first, count = np.unique(targets, return_index=True, return_counts=True)
        parts.append((uniq, first, count, sub["ancien_code"].to_numpy(dtype=object)))
    return CodeBook(parts[0], parts[1], known)


def _declared_codes(codes: np.ndarray, book: CodeBook, rng: np.random.Generator,
                    share: float) -> tuple[np.ndarray, np.ndarray]:
    """Commune code as SIRENE writes it: arrondissement for Paris/Lyon/Marseille (always),
    an old code for ``share`` of the rows of communes that have one.  Returns
    ``(declared, kind)`` with kind 0 current, 1 old, 2 arrondissement."""
    declared = codes.astype(object).copy()
    kind = np.zeros(codes.size, dtype=np.int8)
    for (uniq, first, count, olds), k in ((book.arrondissements, 2), (book.old_codes, 1)):
        if uniq.size == 0 or codes.size == 0:
            continue
        pos = np.minimum(np.searchsorted(uniq, codes), uniq.size - 1)
        has = uniq[pos] == codes
        if k == 1:
            has &= (rng.random(codes.size) < share) & (kind == 0)
        rows = np.flatnonzero(has)
        chosen = first[pos[rows]] + (rng.random(rows.size) * count[pos[rows]]).astype(np.int64)
        declared[rows] = olds[chosen]
        kind[rows] = k
    return declared, kind


def _neighbour_codes(declared: np.ndarray, kind: np.ndarray, commune: np.ndarray, communes,
                     rng: np.random.Generator, share: float) -> None:
    """For ``share`` of the rows declared with their current code, declare a neighbouring
    commune of the same département instead (kind 3), as when a point geocoded near a border
    falls in the next commune: the ETL keeps the assigned commune and flags the disagreement.
    Modifies ``declared`` and ``kind`` in place."""
    rows = np.flatnonzero((kind == 0) & (rng.random(kind.size) < share))
    if rows.size == 0 or len(communes) < 2:
        return
    geoms = communes.geometry.to_numpy()
    tree = shapely.STRtree(geoms)
    codes = communes.index.to_numpy(dtype=object)
    wanted = np.unique(commune[rows])
    pairs = tree.query(geoms[wanted], predicate="touches")
    neighbours = {int(wanted[w]): pairs[1][pairs[0] == w] for w in range(wanted.size)}
    deps = communes["departement"].astype(str).to_numpy()
    for row in rows:
        options = neighbours[int(commune[row])]
        options = options[deps[options] == deps[commune[row]]]
        if options.size:
            declared[row] = codes[options[rng.integers(0, options.size)]]
            kind[row] = 3
