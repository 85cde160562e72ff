"""The next quarter of the demo files, derived from the previous one (in memory).

:func:`evolve_quarter` applies, with every event dated inside the quarter, in this order:

1. closures - ``quarterly_closures`` of the active establishments get ``F`` and a closing
   date; a unit left without an active establishment ceases (``C``);
2. moves - ``quarterly_moves`` of the active ESS establishments with a clean géolocalisation
   get a new point, half in the same commune, half in another commune of the territory
   drawn like the creations.  The SIRET is kept (in real SIRENE a transfer to another
   commune usually creates a new SIRET; here the snapshot diff shows them as moved);
3. creations - ``quarterly_creations`` x the active ESS (and, separately, non-ESS)
   establishments, as new units with the next serials, communes drawn in proportion to the
   model's expected counts.

Nothing else changes (the tests check it).  Tables are those of :mod:`demo.formats` (all
text, ``null`` = empty).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from demo.model import DemoModel, area_km2, expected_active_ess, sample_points
from demo.rows import build_rows
from demo.values import ascii_upper, epsg_of, fixed_width, postcode_of, project_points

__all__ = ["evolve_quarter"]


def _take(table: pa.Table, name: str, rows: np.ndarray) -> np.ndarray:
    """Values of a text column at ``rows`` as an object array (``None`` for null)."""
    return pc.take(table.column(name), pa.array(rows, pa.int64())).to_numpy(
        zero_copy_only=False)


def _equal(table: pa.Table, name: str, value: str) -> np.ndarray:
    return pc.fill_null(pc.equal(table.column(name), value), False).to_numpy(
        zero_copy_only=False)


def _update(table: pa.Table, rows: np.ndarray, values: dict) -> pa.Table:
    """``table`` with ``values[column]`` (one value, None, or one per row) written at
    ``rows`` (distinct positions)."""
    rows = np.asarray(rows, dtype=np.int64)
    order = np.argsort(rows, kind="stable")
    mask = np.zeros(table.num_rows, dtype=bool)
    mask[rows] = True
    mask = pa.array(mask)
    for name, value in values.items():
        if value is None or isinstance(value, str):
            replacement = pa.array([value] * rows.size, pa.string())
        else:
            replacement = pa.array(np.asarray(value, dtype=object)[order], pa.string())
        column = table.column(name).combine_chunks()
        table = table.set_column(table.column_names.index(name), name,
                                 pc.replace_with_mask(column, mask, replacement))
    return table


def _days(rng: np.random.Generator, since: dt.date, date: dt.date, size: int) -> np.ndarray:
    span = max((date - since).days, 1)
    return np.datetime64(since, "D") + rng.integers(0, span, size)


def _stamps(rng: np.random.Generator, days: np.ndarray) -> np.ndarray:
    """Processing timestamps during office hours of the given days."""
    seconds = days.astype("datetime64[s]") + rng.integers(8 * 3600, 18 * 3600, days.size)
    return np.datetime_as_string(seconds, unit="s").astype(object)


def _lambdas(communes, model: DemoModel) -> np.ndarray:
    return expected_active_ess(communes["population"].fillna(0).to_numpy(float),
                               area_km2(communes), model,
                               communes["departement"].astype(str).to_numpy())


def evolve_quarter(tables: dict[str, pa.Table], communes, changes, since: dt.date,
                   date: dt.date, rng: np.random.Generator, model: DemoModel,
                   serials: dict[str, int]) -> tuple[dict[str, pa.Table], dict[str, int]]:
    """The next quarter's tables (closures, moves, creations dated in ``[since, date)``) and
    the counts of each event.  ``serials`` (next unit serials) is advanced in place."""
    et, closing = _close(tables["etablissement"], since, date, rng, model)
    ul, ceased = _cease_units(tables["unite_legale"], et)
    ess = _is_in(et.column("siren"), _ess_units(ul))  # rows of ESS units
    et, geo, moves = _move(et, tables["geolocalisation"], ess, communes, since, date, rng,
                           model)
    created, counts = _create(et, ess, communes, changes, since, date, rng, model, serials)
    out = {"unite_legale": ul, "etablissement": et, "geolocalisation": geo}
    for key, parts in created.items():
        out[key] = pa.concat_tables([out[key], *parts])
    counts.update({"fermetures": int(closing.size), "unites_cessees": int(ceased), **moves})
    return out, counts


def _close(et: pa.Table, since, date, rng, model: DemoModel) -> tuple[pa.Table, np.ndarray]:
    active = np.flatnonzero(_equal(et, "etatAdministratifEtablissement", "A"))
    closing = active[rng.random(active.size) < model.quarterly_closures]
    closed_on = _days(rng, since, date, closing.size)
    periods = _take(et, "nombrePeriodesEtablissement", closing).astype(int) + 1
    et = _update(et, closing, {
        "etatAdministratifEtablissement": "F",
        "dateDebut": np.datetime_as_string(closed_on, unit="D").astype(object),
        "caractereEmployeurEtablissement": "N",
        "dateDernierTraitementEtablissement": _stamps(rng, closed_on),
        "nombrePeriodesEtablissement": periods.astype(str).astype(object),
    })
    return et, closing


def _cease_units(ul: pa.Table, et: pa.Table) -> tuple[pa.Table, int]:
    """Units left without an active establishment cease on their last closing date."""
    unit = pc.index_in(et.column("siren"), value_set=_values(ul.column("siren"))).to_numpy(
        zero_copy_only=False)
    active = _equal(et, "etatAdministratifEtablissement", "A")
    still_active = np.bincount(unit, weights=active, minlength=ul.num_rows) > 0
    ceased = np.flatnonzero(~still_active & _equal(ul, "etatAdministratifUniteLegale", "A"))
    if ceased.size == 0:
        return ul, 0
    closed_on = pc.cast(et.column("dateDebut"), pa.date32()).to_numpy(zero_copy_only=False)
    last = np.full(ul.num_rows, np.datetime64("1900-01-01", "D"))
    np.maximum.at(last, unit[~active], closed_on[~active].astype("datetime64[D]"))
    ul = _update(ul, ceased, {
        "etatAdministratifUniteLegale": "C",
        "dateDebut": np.datetime_as_string(last[ceased], unit="D").astype(object),
        "categorieEntreprise": None, "anneeCategorieEntreprise": None,
    })
    return ul, int(ceased.size)


def _ess_units(ul: pa.Table) -> pa.Array:
    flag = pc.fill_null(ul.column("economieSocialeSolidaireUniteLegale"), "")
    return pc.filter(ul.column("siren"), pc.equal(flag, "O"))


def _values(values) -> pa.Array:
    """A value set for ``pc.is_in`` / ``pc.index_in`` (an Array, not chunked)."""
    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks()
    return values if isinstance(values, pa.Array) else pa.array(values, pa.string())


def _is_in(column, values) -> np.ndarray:
    return pc.is_in(column, value_set=_values(values)).to_numpy(zero_copy_only=False)


def _movable(et: pa.Table, geo: pa.Table, ess: np.ndarray, communes
             ) -> tuple[np.ndarray, np.ndarray]:
    """Rows that may move: active ESS establishments declared with a current commune code,
    with a clean géolocalisé point in that commune."""
    g_row = pc.index_in(et.column("siret"), value_set=_values(geo.column("siret")))
    g_row = pc.fill_null(g_row, -1).to_numpy(zero_copy_only=False)
    safe = pa.array(np.maximum(g_row, 0))
    clean = _is_in(pc.take(geo.column("qualite_xy"), safe), ["11", "12", "21", "22"])
    same = pc.fill_null(pc.equal(et.column("codeCommuneEtablissement"),
                                 pc.take(geo.column("plg_code_commune"), safe)), False)
    ok = (_equal(et, "etatAdministratifEtablissement", "A")
          & ess & (g_row >= 0) & clean
          & _is_in(et.column("codeCommuneEtablissement"), list(communes.index))
          & same.to_numpy(zero_copy_only=False))
    return np.flatnonzero(ok), g_row


def _move(et: pa.Table, geo: pa.Table, ess: np.ndarray, communes, since, date, rng,
          model: DemoModel) -> tuple[pa.Table, pa.Table, dict[str, int]]:
    candidates, g_row = _movable(et, geo, ess, communes)
    moving = candidates[rng.random(candidates.size) < model.quarterly_moves]
    lam = _lambdas(communes, model)
    position = {code: i for i, code in enumerate(communes.index)}
    old_codes = _take(et, "codeCommuneEtablissement", moving)
    target = np.array([position[c] for c in old_codes], dtype=np.int64)
    elsewhere = rng.random(moving.size) < 0.5
    target[elsewhere] = rng.choice(len(communes), int(elsewhere.sum()), p=lam / lam.sum())
    order = np.argsort(target, kind="stable")
    lon = np.empty(moving.size)
    lat = np.empty(moving.size)
    counts = np.bincount(target, minlength=len(communes))
    used = np.flatnonzero(counts)  # prepare only the polygons that receive a point
    lon[order], lat[order] = sample_points(communes.geometry.to_numpy()[used], counts[used],
                                           rng)
    codes = communes.index.to_numpy(dtype=object)[target]
    deps = communes["departement"].astype(str).to_numpy()[target]
    x, y = np.empty(moving.size), np.empty(moving.size)
    for dep in np.unique(deps):
        sel = deps == dep
        x[sel], y[sel] = project_points(lon[sel], lat[sel], epsg_of(dep))
    names = communes["nom"].astype(str).to_numpy()[target] if "nom" in communes else codes
    xs = fixed_width(x, 1).to_numpy(zero_copy_only=False)
    ys = fixed_width(y, 1).to_numpy(zero_copy_only=False)
    has_lambert = np.array([v is not None for v in
                            _take(et, "coordonneeLambertAbscisseEtablissement", moving)], bool)
    et = _update(et, moving, {
        "codeCommuneEtablissement": codes,
        "libelleCommuneEtablissement": np.array([ascii_upper(v) for v in names], dtype=object),
        "codePostalEtablissement": np.array([postcode_of(c) for c in codes], dtype=object),
        "numeroVoieEtablissement": rng.integers(1, 150, moving.size).astype(str).astype(object),
        "libelleVoieEtablissement": "DU DEMENAGEMENT DEMO",
        "dateDernierTraitementEtablissement": _stamps(rng, _days(rng, since, date,
                                                                 moving.size)),
        "coordonneeLambertAbscisseEtablissement": np.where(has_lambert, xs, None),
        "coordonneeLambertOrdonneeEtablissement": np.where(has_lambert, ys, None),
    })
    geo = _update(geo, g_row[moving], {
        "x": xs, "y": ys, "qualite_xy": "11", "plg_code_commune": codes,
        "distance_precision": "5.0",
        "y_latitude": fixed_width(lat, 6).to_numpy(zero_copy_only=False),
        "x_longitude": fixed_width(lon, 6).to_numpy(zero_copy_only=False),
        "epsg": np.array([str(epsg_of(d)) for d in deps], dtype=object),
    })
    return et, geo, {"deplacements": int(moving.size),
                     "deplacements_autre_commune": int((codes != old_codes).sum())}


def _create(et: pa.Table, ess: np.ndarray, communes, changes, since, date, rng,
            model: DemoModel, serials: dict[str, int]
            ) -> tuple[dict[str, list[pa.Table]], dict[str, int]]:
    """New units and establishments of the quarter, by département."""
    active = _equal(et, "etatAdministratifEtablissement", "A")
    n_ess = rng.poisson(model.quarterly_creations * (active & ess).sum())
    n_other = rng.poisson(model.quarterly_creations * (active & ~ess).sum())
    lam = _lambdas(communes, model)
    new_ess = rng.multinomial(n_ess, lam / lam.sum())
    new_other = rng.multinomial(n_other, lam / lam.sum())
    created: dict[str, list[pa.Table]] = {"unite_legale": [], "etablissement": [],
                                          "geolocalisation": []}
    if n_ess + n_other:
        zero = np.zeros(len(communes), dtype=np.int64)
        tables, _ = build_rows(communes, changes, date, rng, model, serials,
                               ess_active=new_ess, ess_closed=zero, other_active=new_other,
                               other_closed=zero, created_after=since)
        for key, table in tables.items():
            created[key].append(table)
    return created, {"creations_ess": int(n_ess), "creations_hors_ess": int(n_other)}
