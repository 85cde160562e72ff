"""Demonstration SIRENE files: synthetic rows in the exact official format, real geography.

:func:`generate_demo_files` writes, for a territory (a département, a région or all France),
the three files the refresh job reads, under their official names:

* ``StockUniteLegale_utf8.csv`` and ``StockEtablissement_utf8.csv``: comma-separated, UTF-8,
  the full official column sets in the official order (:data:`UNITE_LEGALE_COLUMNS`,
  :data:`ETABLISSEMENT_COLUMNS`), every value text, dates ``YYYY-MM-DD``, processing
  timestamps ``YYYY-MM-DDTHH:MM:SS``, booleans ``true``/``false``, NAF codes with a dot, empty
  fields empty, quotes only where a value needs them;
* ``GeolocalisationEtablissement_Sirene_pour_etudes_statistiques_utf8.csv``: ``;``-separated
  (:data:`GEOLOCALISATION_COLUMNS`), ``x``/``y`` in Lambert-93 (or the overseas EPSG of the
  row), ``[ND]`` for missing values.

The rows are **fictitious** and follow the documented model of :mod:`demo.model`: names
such as ``Association démo 0412``; every demo SIREN starts with ``0`` (ESS units ``00``/``01``,
other units ``02``-``09``: 8-digit serial + Luhn key) and every SIRET is SIREN + NIC with a
valid Luhn key (see ``docs/demo.md`` for why the prefix and what it does not guarantee).

They also contain what real files contain and the ETL must handle: non-ESS units (flag ``N``
or empty, three times more rows than ESS), closed establishments (``F`` + ``dateDebut``),
natural persons (``1000``) of which some in partial diffusion (``P``, ``[ND]`` fields),
géolocalisé rows with ``qualite_xy = 33``, arrondissement codes (Paris, Lyon, Marseille) and
old commune codes taken from ``reference.code_changes``, and a few broken coordinates (at
sea, swapped, ``[ND]``).  Generation is deterministic: ``numpy`` generators seeded from
``seed`` + territory + quarter (+ département).

:func:`generate_demo_quarters` writes two consecutive quarters, the second derived from the
first with creations, closures and moves (:func:`evolve_quarter`).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from demo.model import (
    OTHER_SERIAL_BASE,
    DemoModel,
    area_km2,
    ascii_upper,
    build_departement,
    build_rows,
    epsg_of,
    expected_active_ess,
    fixed_width,
    postcode_of,
    project_points,
    sample_points,
    stable_seed,
)
from observatory.errors import ConfigurationError, DataValidationError, explain

__all__ = [
    "DEFAULT_SEED",
    "ETABLISSEMENT_COLUMNS",
    "FILE_NAMES",
    "GEOLOCALISATION_COLUMNS",
    "UNITE_LEGALE_COLUMNS",
    "generate_demo_files",
    "evolve_quarter",
    "generate_demo_quarters",
    "quarter_date",
    "read_demo_files",
    "select_communes",
]

DEFAULT_SEED = 2026

FILE_NAMES = {
    "unite_legale": "StockUniteLegale_utf8.csv",
    "etablissement": "StockEtablissement_utf8.csv",
    "geolocalisation": "GeolocalisationEtablissement_Sirene_pour_etudes_statistiques_utf8.csv",
}
INFO_FILE = "demo_generation.json"

#: StockUniteLegale, official order (35 columns incl. the NAF 2025 column added in 2025).
UNITE_LEGALE_COLUMNS = (
    "siren", "statutDiffusionUniteLegale", "unitePurgeeUniteLegale", "dateCreationUniteLegale",
    "sigleUniteLegale", "sexeUniteLegale", "prenom1UniteLegale", "prenom2UniteLegale",
    "prenom3UniteLegale", "prenom4UniteLegale", "prenomUsuelUniteLegale",
    "pseudonymeUniteLegale", "identifiantAssociationUniteLegale", "trancheEffectifsUniteLegale",
    "anneeEffectifsUniteLegale", "dateDernierTraitementUniteLegale",
    "nombrePeriodesUniteLegale", "categorieEntreprise", "anneeCategorieEntreprise",
    "dateDebut", "etatAdministratifUniteLegale", "nomUniteLegale", "nomUsageUniteLegale",
    "denominationUniteLegale", "denominationUsuelle1UniteLegale",
    "denominationUsuelle2UniteLegale", "denominationUsuelle3UniteLegale",
    "categorieJuridiqueUniteLegale", "activitePrincipaleUniteLegale",
    "nomenclatureActivitePrincipaleUniteLegale", "nicSiegeUniteLegale",
    "economieSocialeSolidaireUniteLegale", "societeMissionUniteLegale",
    "caractereEmployeurUniteLegale", "activitePrincipaleNAF25UniteLegale",
)

#: StockEtablissement, official order (54 columns incl. the NAF 2025 column).
ETABLISSEMENT_COLUMNS = (
    "siren", "nic", "siret", "statutDiffusionEtablissement", "dateCreationEtablissement",
    "trancheEffectifsEtablissement", "anneeEffectifsEtablissement",
    "activitePrincipaleRegistreMetiersEtablissement", "dateDernierTraitementEtablissement",
    "etablissementSiege", "nombrePeriodesEtablissement", "complementAdresseEtablissement",
    "numeroVoieEtablissement", "indiceRepetitionEtablissement",
    "dernierNumeroVoieEtablissement", "indiceRepetitionDernierNumeroVoieEtablissement",
    "typeVoieEtablissement", "libelleVoieEtablissement", "codePostalEtablissement",
    "libelleCommuneEtablissement", "libelleCommuneEtrangerEtablissement",
    "distributionSpecialeEtablissement", "codeCommuneEtablissement", "codeCedexEtablissement",
    "libelleCedexEtablissement", "codePaysEtrangerEtablissement",
    "libellePaysEtrangerEtablissement", "identifiantAdresseEtablissement",
    "coordonneeLambertAbscisseEtablissement", "coordonneeLambertOrdonneeEtablissement",
    "complementAdresse2Etablissement", "numeroVoie2Etablissement",
    "indiceRepetition2Etablissement", "typeVoie2Etablissement", "libelleVoie2Etablissement",
    "codePostal2Etablissement", "libelleCommune2Etablissement",
    "libelleCommuneEtranger2Etablissement", "distributionSpeciale2Etablissement",
    "codeCommune2Etablissement", "codeCedex2Etablissement", "libelleCedex2Etablissement",
    "codePaysEtranger2Etablissement", "libellePaysEtranger2Etablissement", "dateDebut",
    "etatAdministratifEtablissement", "enseigne1Etablissement", "enseigne2Etablissement",
    "enseigne3Etablissement", "denominationUsuelleEtablissement",
    "activitePrincipaleEtablissement", "nomenclatureActivitePrincipaleEtablissement",
    "caractereEmployeurEtablissement", "activitePrincipaleNAF25Etablissement",
)

#: Géolocalisé file ("Sirene géolocalisé pour études statistiques"), ``;``-separated.
GEOLOCALISATION_COLUMNS = (
    "siret", "x", "y", "qualite_xy", "epsg", "plg_qp24", "plg_iris", "plg_zus", "plg_qva",
    "plg_code_commune", "distance_precision", "qualite_qp", "qualite_iris", "qualite_zus",
    "qualite_qva", "y_latitude", "x_longitude",
)

#: Columns whose values may hold a comma or a quote (quoted when they do).
_FREE_TEXT = re.compile(r"(denomination|nom|prenom|sigle|enseigne|libelle|complement)", re.I)


def quarter_date(quarter: str) -> dt.date:
    """Reference date of a quarter label: the stock as published on its first day.

    >>> quarter_date("2026-T4")
    datetime.date(2026, 10, 1)
    """
    match = re.fullmatch(r"(\d{4})-T([1-4])", quarter or "")
    if not match:
        raise ConfigurationError(explain(
            f"Quarter {quarter!r} is not a quarter label.",
            "Quarters are written YYYY-Tn with n from 1 to 4.",
            "Use e.g. '2026-T4'.",
        ))
    return dt.date(int(match[1]), 3 * (int(match[2]) - 1) + 1, 1)


def _territory_label(territory: dict[str, str] | None) -> str:
    if not territory:
        return "france"
    (kind, code), = territory.items()
    return f"{kind}-{code}"


def select_communes(reference: Any, territory: dict[str, str] | None) -> pd.DataFrame:
    """Communes of the territory (GeoDataFrame indexed by code, EPSG:4326).

    ``reference`` is a :class:`geodata.reference.Reference` or directly its ``communes``
    GeoDataFrame (index ``code``; columns ``departement``, ``region``, ``population``,
    ``geometry`` at least; ``nom``, ``superficie_km2`` used when present).
    """
    communes = getattr(reference, "communes", reference)
    if communes.crs is None or communes.crs.to_epsg() != 4326:
        raise DataValidationError(explain(
            f"The communes layer is in {communes.crs}, not EPSG:4326.",
            "The generator samples longitude/latitude points then projects them itself.",
            "Pass the Reference of geodata.reference.load_reference() or reproject with "
            "to_crs(4326).",
        ))
    missing = {"departement", "region", "population"} - set(communes.columns)
    if missing:
        raise DataValidationError(explain(
            f"The communes layer lacks the columns {sorted(missing)}.",
            "The demo model needs the département, région and population of each commune.",
            "Pass the Reference of geodata.reference.load_reference().",
        ))
    if territory:
        if len(territory) != 1 or next(iter(territory)) not in ("departement", "region"):
            raise ConfigurationError(explain(
                f"Territory {territory!r} is not understood.",
                "A demo territory is one département or one région (or None for France).",
                "Use {'departement': '21'} or {'region': '27'}.",
            ))
        (kind, code), = territory.items()
        communes = communes[communes[kind].astype(str) == str(code)]
        if communes.empty:
            raise ConfigurationError(explain(
                f"No commune has {kind} = {code!r}.",
                "The code must be a current département or région code (text).",
                "Check the code, e.g. '21' for Côte-d'Or, '2A' for Corse-du-Sud, '27' for "
                "Bourgogne-Franche-Comté.",
            ))
    geoms = communes.geometry.to_numpy()
    communes = communes[~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)]
    return communes.sort_index()


def _code_changes(reference: Any) -> pd.DataFrame:
    changes = getattr(reference, "code_changes", None)
    if changes is None:
        return pd.DataFrame({"ancien_code": [], "code": [], "nature": []}, dtype="str")
    return changes[["ancien_code", "code", "nature"]].astype("str")


# --------------------------------------------------------------------------- CSV writing

def _as_array(value: Any, n: int) -> pa.Array | pa.Scalar:
    if value is None:
        return pa.scalar("", pa.string())
    if isinstance(value, str):
        return pa.scalar(value, pa.string())
    if isinstance(value, pa.ChunkedArray):
        value = value.combine_chunks()
    if not isinstance(value, pa.Array):
        value = pa.array(np.asarray(value, dtype=object), type=pa.string(), from_pandas=True)
    if len(value) != n:
        raise ValueError(f"column of length {len(value)} for {n} rows")
    return pc.fill_null(value.cast(pa.string()), "")


def _quote_needed(arr: pa.Array, sep: str) -> pa.Array:
    needs = pc.match_substring_regex(arr, f'[{re.escape(sep)}"\\n]')
    quoted = pc.binary_join_element_wise(
        pa.scalar('"'), pc.replace_substring(arr, '"', '""'), pa.scalar('"'), "")
    return pc.if_else(needs, quoted, arr)


def csv_chunk(columns: tuple[str, ...], data: dict[str, Any], n: int, sep: str) -> bytes:
    """Serialise ``n`` rows (``data``: column -> array, constant string or None) as CSV text.

    Only free-text columns (names, addresses: :data:`_FREE_TEXT`) are checked for values that
    need quotes; the generator never puts a separator or a quote in codes, dates or numbers.
    """
    if n == 0:
        return b""
    parts = []
    for column in columns:
        arr = _as_array(data.get(column), n)
        if isinstance(arr, pa.Array) and _FREE_TEXT.search(column):
            arr = _quote_needed(arr, sep)
        parts.append(arr)
    if all(isinstance(p, pa.Scalar) for p in parts):
        parts[0] = pa.array([parts[0].as_py()] * n, pa.string())
    return _concat_lines(pc.binary_join_element_wise(*parts, sep))


def _concat_lines(lines: pa.Array) -> bytes:
    lines = pc.binary_join_element_wise(lines, pa.scalar("\n"), "")
    lines = lines.cast(pa.large_string()) if lines.type != pa.large_string() else lines
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)[lines.offset:]
    data = lines.buffers()[2]
    return data.to_pybytes()[offsets[0]:offsets[len(lines)]]


class _Writers:
    """The three output files, opened once, written chunk by chunk."""

    def __init__(self, out_dir: Path) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        self.paths = {k: out_dir / name for k, name in FILE_NAMES.items()}
        self.spec = {"unite_legale": (UNITE_LEGALE_COLUMNS, ","),
                     "etablissement": (ETABLISSEMENT_COLUMNS, ","),
                     "geolocalisation": (GEOLOCALISATION_COLUMNS, ";")}
        self.files = {}
        self.rows = dict.fromkeys(self.paths, 0)
        for key, path in self.paths.items():
            handle = open(path.with_suffix(".csv.part"), "wb")  # noqa: SIM115
            columns, sep = self.spec[key]
            handle.write((sep.join(columns) + "\n").encode("utf-8"))
            self.files[key] = handle

    def write(self, key: str, data: dict[str, Any], n: int) -> None:
        columns, sep = self.spec[key]
        self.files[key].write(csv_chunk(columns, data, n, sep))
        self.rows[key] += n

    def write_frame(self, key: str, frame: pd.DataFrame) -> None:
        self.write(key, {c: pa.array(frame[c], pa.string(), from_pandas=True)
                         for c in frame.columns}, len(frame))

    def close(self, ok: bool = True) -> dict[str, Path]:
        for key, handle in self.files.items():
            handle.close()
            part = self.paths[key].with_suffix(".csv.part")
            if ok:
                part.replace(self.paths[key])
            else:
                part.unlink(missing_ok=True)
        return dict(self.paths)


def read_demo_files(folder: Path) -> dict[str, pd.DataFrame]:
    """Read back the three files of a demo quarter as all-text frames (empty = '')."""
    frames = {}
    for key, name in FILE_NAMES.items():
        sep = ";" if key == "geolocalisation" else ","
        frames[key] = pd.read_csv(Path(folder) / name, sep=sep, dtype=str,
                                  keep_default_na=False, encoding="utf-8")
    return frames


# --------------------------------------------------------------------------- next quarter

def _previous_date(folder: Path, date: dt.date) -> dt.date:
    info = folder / INFO_FILE
    if info.is_file():
        return dt.date.fromisoformat(json.loads(info.read_text("utf-8"))["date_stock"])
    return (pd.Timestamp(date) - pd.DateOffset(months=3)).date()


def _frame(columns: tuple[str, ...], data: dict[str, Any], n: int) -> pd.DataFrame:
    out = {}
    for column in columns:
        value = data.get(column)
        if value is None or isinstance(value, str):
            out[column] = np.full(n, value or "", dtype=object)
        else:
            out[column] = pc.fill_null(value, "").to_numpy(zero_copy_only=False)
    return pd.DataFrame(out, dtype="str")


def _days(rng: np.random.Generator, since: dt.date, date: dt.date, size: int) -> np.ndarray:
    span = max((date - since).days, 1)
    return np.datetime64(since, "D") + rng.integers(0, span, size)


def evolve_quarter(frames: dict[str, pd.DataFrame], communes, changes, since: dt.date,
                   date: dt.date, rng: np.random.Generator, model: DemoModel
                   ) -> tuple[dict[str, pd.DataFrame], dict[str, int]]:
    """Derive the next quarter's files: closures, moves, then creations (all dated in
    ``[since, date)``).

    Moves keep the SIRET (as when an address is corrected or renumbered; a real transfer to
    another commune usually creates a new SIRET) so that the diff between snapshots shows
    them as moved.
    """
    ul = frames["unite_legale"].copy()
    et = frames["etablissement"].copy()
    geo = frames["geolocalisation"].copy()
    stamp = lambda days: (days.astype("datetime64[s]")  # noqa: E731
                          + rng.integers(8 * 3600, 18 * 3600, days.size)).astype(str)
    # closures ------------------------------------------------------------------------
    active = np.flatnonzero((et["etatAdministratifEtablissement"] == "A").to_numpy())
    closing = active[rng.random(active.size) < model.quarterly_closures]
    closed_on = _days(rng, since, date, closing.size)
    cols = et.columns
    et.iloc[closing, cols.get_loc("etatAdministratifEtablissement")] = "F"
    et.iloc[closing, cols.get_loc("dateDebut")] = closed_on.astype(str)
    et.iloc[closing, cols.get_loc("caractereEmployeurEtablissement")] = "N"
    et.iloc[closing, cols.get_loc("dateDernierTraitementEtablissement")] = stamp(closed_on)
    periods = et["nombrePeriodesEtablissement"].iloc[closing].astype(int) + 1
    et.iloc[closing, cols.get_loc("nombrePeriodesEtablissement")] = periods.astype(str).to_numpy()
    still_active = et["etatAdministratifEtablissement"].eq("A").groupby(et["siren"]).any()
    ceased = ul["siren"].map(still_active).eq(False) & ul["etatAdministratifUniteLegale"].eq("A")
    last_close = et[et["etatAdministratifEtablissement"] == "F"].groupby("siren")["dateDebut"].max()
    ul.loc[ceased, "etatAdministratifUniteLegale"] = "C"
    ul.loc[ceased, "dateDebut"] = ul.loc[ceased, "siren"].map(last_close)
    ul.loc[ceased, "categorieEntreprise"] = ""
    ul.loc[ceased, "anneeCategorieEntreprise"] = ""

    # moves (ESS, active, clean géolocalisation, declared with the current code) ---------------
    ess_sirens = ul.loc[ul["economieSocialeSolidaireUniteLegale"] == "O", "siren"]
    g_index = pd.Series(np.arange(len(geo)), index=geo["siret"])
    g_row = et["siret"].map(g_index)
    clean = geo["qualite_xy"].isin(["11", "12", "21", "22"]).to_numpy()
    ok = np.array(et["etatAdministratifEtablissement"].eq("A") & et["siren"].isin(ess_sirens)
                  & g_row.notna() & et["codeCommuneEtablissement"].isin(communes.index),
                  dtype=bool)
    ok &= clean[g_row.fillna(0).astype(int).to_numpy()]
    ok &= (et["codeCommuneEtablissement"].to_numpy()
           == geo["plg_code_commune"].to_numpy()[g_row.fillna(0).astype(int).to_numpy()])
    candidates = np.flatnonzero(ok)
    moving = candidates[rng.random(candidates.size) < model.quarterly_moves]
    lam = expected_active_ess(communes["population"].fillna(0).to_numpy(float),
                              area_km2(communes), model)
    position = pd.Series(np.arange(len(communes)), index=communes.index)
    target = np.array(position[et["codeCommuneEtablissement"].to_numpy()[moving]], dtype=np.int64)
    elsewhere = rng.random(moving.size) < 0.5
    target[elsewhere] = rng.choice(len(communes), int(elsewhere.sum()), p=lam / lam.sum())
    order = np.argsort(target, kind="stable")
    lon = np.empty(moving.size)
    lat = np.empty(moving.size)
    lon[order], lat[order] = sample_points(communes.geometry.to_numpy(),
                                           np.bincount(target, minlength=len(communes)), rng)
    codes = communes.index.to_numpy(dtype=object)[target]
    deps = communes["departement"].astype(str).to_numpy()[target]
    x = np.empty(moving.size)
    y = np.empty(moving.size)
    for dep in np.unique(deps):
        sel = deps == dep
        x[sel], y[sel] = project_points(lon[sel], lat[sel], epsg_of(dep))
    names = communes["nom"].astype(str).to_numpy()[target] if "nom" in communes else codes
    moved_on = _days(rng, since, date, moving.size)
    old_codes = et["codeCommuneEtablissement"].to_numpy()[moving].copy()
    updates = {
        "codeCommuneEtablissement": codes,
        "libelleCommuneEtablissement": np.array([ascii_upper(v) for v in names], dtype=object),
        "codePostalEtablissement": np.array([postcode_of(c) for c in codes], dtype=object),
        "numeroVoieEtablissement": rng.integers(1, 150, moving.size).astype(str),
        "libelleVoieEtablissement": np.full(moving.size, "DU DEMENAGEMENT DEMO", dtype=object),
        "dateDernierTraitementEtablissement": stamp(moved_on),
    }
    has_lambert = et["coordonneeLambertAbscisseEtablissement"].to_numpy()[moving] != ""
    xs = fixed_width(x, 1).to_numpy(zero_copy_only=False)
    ys = fixed_width(y, 1).to_numpy(zero_copy_only=False)
    updates["coordonneeLambertAbscisseEtablissement"] = np.where(has_lambert, xs, "")
    updates["coordonneeLambertOrdonneeEtablissement"] = np.where(has_lambert, ys, "")
    for column, values in updates.items():
        et.iloc[moving, cols.get_loc(column)] = values
    g_rows = g_row.to_numpy()[moving].astype(int)
    g_updates = {"x": xs, "y": ys, "qualite_xy": np.full(moving.size, "11", dtype=object),
                 "plg_code_commune": codes, "distance_precision": np.full(moving.size, "5.0"),
                 "y_latitude": fixed_width(lat, 6).to_numpy(zero_copy_only=False),
                 "x_longitude": fixed_width(lon, 6).to_numpy(zero_copy_only=False),
                 "epsg": np.array([str(epsg_of(d)) for d in deps], dtype=object)}
    for column, values in g_updates.items():
        geo.iloc[g_rows, geo.columns.get_loc(column)] = values

    # creations ---------------------------------------------------------------------------
    body = ul["siren"].str.slice(0, 8).astype(int).to_numpy()
    serials = {"ess": int(body[body < OTHER_SERIAL_BASE].max(initial=-1)) + 1,
               "other": int(body[body >= OTHER_SERIAL_BASE].max(initial=OTHER_SERIAL_BASE - 1))
               - OTHER_SERIAL_BASE + 1}
    n_ess = rng.poisson(model.quarterly_creations * (
        (et["etatAdministratifEtablissement"] == "A") & et["siren"].isin(ess_sirens)).sum())
    n_other = rng.poisson(model.quarterly_creations * (
        (et["etatAdministratifEtablissement"] == "A") & ~et["siren"].isin(ess_sirens)).sum())
    new_ess = rng.multinomial(n_ess, lam / lam.sum())
    new_other = rng.multinomial(n_other, lam / lam.sum())
    new = {"unite_legale": [ul], "etablissement": [et], "geolocalisation": [geo]}
    spec = {"unite_legale": UNITE_LEGALE_COLUMNS, "etablissement": ETABLISSEMENT_COLUMNS,
            "geolocalisation": GEOLOCALISATION_COLUMNS}
    dep_of = communes["departement"].astype(str).to_numpy()
    for dep in sorted(set(dep_of)):
        sel = dep_of == dep
        if new_ess[sel].sum() + new_other[sel].sum() == 0:
            continue
        zero = np.zeros(int(sel.sum()), dtype=np.int64)
        tables, _ = build_rows(communes[sel], changes, date, rng, model, serials,
                               ess_active=new_ess[sel], ess_closed=zero,
                               other_active=new_other[sel], other_closed=zero,
                               created_after=since)
        for key, (data, n) in tables.items():
            new[key].append(_frame(spec[key], data, n))
    out = {key: pd.concat(parts, ignore_index=True) for key, parts in new.items()}
    counts = {"fermetures": int(closing.size), "unites_cessees": int(ceased.sum()),
              "deplacements": int(moving.size),
              "deplacements_autre_commune": int((codes != old_codes).sum()),
              "creations_ess": int(n_ess), "creations_hors_ess": int(n_other)}
    return out, counts


# --------------------------------------------------------------------------- public API

def generate_demo_files(out_dir: Path | str, reference: Any,
                        territory: dict[str, str] | None = None, quarter: str = "2026-T4",
                        seed: int = DEFAULT_SEED, previous: Path | str | None = None, *,
                        model: DemoModel | None = None, progress: bool = False
                        ) -> dict[str, Path]:
    """Write the demo SIRENE files of one quarter for a territory.

    Parameters
    ----------
    out_dir
        Folder to write into (created).  The three official file names are used.
    reference
        :class:`geodata.reference.Reference` (or its ``communes`` GeoDataFrame).
    territory
        ``{'departement': '21'}``, ``{'region': '27'}`` or ``None`` for all France.
    quarter
        Quarter label ``YYYY-Tn``; the files describe the stock on the quarter's first day.
    seed
        Seed of the generators (with territory, quarter and département mixed in).
    previous
        Folder of the previous quarter's demo files: when given, this quarter is derived from
        it (creations, closures, moves) instead of drawn afresh.
    model
        Parameters of the model (:class:`demo.model.DemoModel`, defaults documented).
    progress
        Show a progress bar over départements.

    Returns
    -------
    dict
        ``unite_legale``, ``etablissement``, ``geolocalisation`` (paths of the CSV files) and
        ``info`` (``demo_generation.json``: seed, territory, counts by kind of row).
    """
    out_dir = Path(out_dir)
    model = model or DemoModel()
    date = quarter_date(quarter)
    communes = select_communes(reference, territory)
    changes = _code_changes(reference)
    label = _territory_label(territory)
    writers = _Writers(out_dir)
    counts: dict[str, int] = {}
    try:
        if previous is not None:
            rng = np.random.default_rng(stable_seed(seed, label, quarter, "evolve"))
            since = _previous_date(Path(previous), date)
            frames, counts = evolve_quarter(read_demo_files(Path(previous)), communes, changes,
                                            since, date, rng, model)
            for key, frame in frames.items():
                writers.write_frame(key, frame)
        else:
            serials = {"ess": 1, "other": 1}  # body 00000000 is never used
            departements = sorted(communes["departement"].astype(str).unique())
            iterator = departements
            if progress:
                from tqdm import tqdm
                iterator = tqdm(departements, desc="Fichiers démo", unit="dép.")
            for dep in iterator:
                rng = np.random.default_rng(stable_seed(seed, label, quarter, dep))
                part = communes[communes["departement"].astype(str) == dep]
                tables, part_counts = build_departement(part, changes, date, rng, model,
                                                        serials)
                for key, (data, n) in tables.items():
                    writers.write(key, data, n)
                for k, v in part_counts.items():
                    counts[k] = counts.get(k, 0) + v
    except BaseException:
        writers.close(ok=False)
        raise
    paths = writers.close()
    counts.update({f"lignes_{k}": v for k, v in writers.rows.items()})
    info = {"demo": True, "seed": seed, "territoire": territory, "quarter": quarter,
            "date_stock": date.isoformat(), "derived_from": str(previous) if previous else None,
            "counts": counts, "model": {k: v for k, v in model.__dict__.items()
                                        if not isinstance(v, dict)}}
    paths["info"] = out_dir / INFO_FILE
    paths["info"].write_text(json.dumps(info, ensure_ascii=False, indent=1), encoding="utf-8")
    return paths


def generate_demo_quarters(out_dir: Path | str, reference: Any,
                           territory: dict[str, str] | None = None,
                           quarters: tuple[str, ...] = ("2026-T3", "2026-T4"),
                           seed: int = DEFAULT_SEED, *, model: DemoModel | None = None,
                           progress: bool = False) -> dict[str, dict[str, Path]]:
    """Write consecutive quarters into ``out_dir/<quarter>/``, each derived from the previous.

    Returns ``{quarter: paths}`` (see :func:`generate_demo_files`).
    """
    out_dir = Path(out_dir)
    result: dict[str, dict[str, Path]] = {}
    previous = None
    for quarter in quarters:
        if previous is not None and quarter_date(quarter) <= quarter_date(previous[0]):
            raise ConfigurationError(explain(
                f"Quarter {quarter!r} does not come after {previous[0]!r}.",
                "Each quarter is derived from the one before it.",
                "List the quarters in chronological order, e.g. ('2026-T3', '2026-T4').",
            ))
        paths = generate_demo_files(out_dir / quarter, reference, territory, quarter, seed,
                                    previous=previous[1] if previous else None, model=model,
                                    progress=progress)
        result[quarter] = paths
        previous = (quarter, out_dir / quarter)
    return result

