"""Demonstration SIRENE files: synthetic rows in the exact official format, real geography.

:func:`generate_demo_files` writes, for a territory (a département, a région or all France),
the three files the refresh job reads, under their official names (:mod:`demo.formats`: CSV
edition, or the Parquet edition of the two stock files).  :func:`generate_demo_quarters`
writes consecutive quarters, each derived from the one before with creations, closures and
moves (:mod:`demo.evolve`).

The rows are **fictitious** and follow the documented model of :mod:`demo.model`: names
such as ``Association démo 0412``; every demo SIREN starts with ``0`` (ESS units ``00``/``01``,
other units ``02``-``09``: 8-digit serial + Luhn key) and every SIRET is SIREN + NIC with a
valid Luhn key (see ``docs/demo.md`` for why the prefix and what it does not guarantee), but
for a few rows spoiled on purpose (:data:`demo.places.BAD_ROW_KINDS`).

They also contain what real files contain and the ETL must handle: non-ESS units (flag ``N``
or empty), closed establishments (``F`` + ``dateDebut``), natural persons (``1000``) of which
some in partial diffusion (``P``, ``[ND]`` fields), géolocalisé rows with ``qualite_xy = 33``,
arrondissement codes (Paris, Lyon, Marseille) and old commune codes taken from
``reference.code_changes``, and a few broken coordinates (at sea, swapped, ``[ND]``).
Generation is deterministic: ``numpy`` generators seeded from ``seed`` + territory + quarter
(+ département).
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
import shapely

from demo.evolve import evolve_quarter
from demo.formats import EDITIONS, write_quarter
from demo.model import DemoModel, stable_seed
from demo.places import code_book
from demo.rows import build_departement, by_departement, prepare_communes
from observatory.errors import ConfigurationError, DataValidationError, explain

__all__ = [
    "DEFAULT_SEED",
    "INFO_FILE",
    "generate_demo_files",
    "generate_demo_quarters",
    "generation_info",
    "quarter_date",
    "select_communes",
]

DEFAULT_SEED = 2026
INFO_FILE = "demo_generation.json"


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


def _check_communes(communes) -> None:
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


def select_communes(reference: Any, territory: dict[str, str] | None) -> pd.DataFrame:
    """Communes of the territory (GeoDataFrame indexed by code, EPSG:4326).

    ``reference`` is a :class:`geodata.reference.Reference` or directly its ``communes``
    GeoDataFrame (index ``code``; columns ``departement``, ``region``, ``population``,
    ``geometry`` at least; ``nom``, ``superficie_km2`` used when present).
    """
    communes = getattr(reference, "communes", reference)
    _check_communes(communes)
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


def _code_changes(reference: Any):
    """:class:`demo.places.CodeBook` of the reference's code changes (none: empty)."""
    changes = getattr(reference, "code_changes", None)
    if changes is None:
        changes = pd.DataFrame({"ancien_code": [], "code": [], "nature": []}, dtype="str")
    return code_book(changes[["ancien_code", "code", "nature"]])


def _first_quarter(communes, changes, label: str, quarter: str, seed: int, model: DemoModel,
                   serials: dict[str, int], progress: bool
                   ) -> tuple[dict[str, pa.Table], dict[str, int]]:
    """Every département drawn afresh (one generator per département: bounded memory and
    the same rows whatever the order)."""
    date = quarter_date(quarter)
    parts: dict[str, list[pa.Table]] = {"unite_legale": [], "etablissement": [],
                                        "geolocalisation": []}
    counts: dict[str, int] = {}
    groups = by_departement(communes)
    departements = list(groups)
    if progress:
        from tqdm import tqdm

        departements = tqdm(departements, desc=f"Fichiers démo {quarter}", unit="dép.")
    for dep in departements:
        rng = np.random.default_rng(stable_seed(seed, label, quarter, dep))
        part = communes.iloc[groups[dep]]
        tables, part_counts = build_departement(part, changes, date, rng, model, serials)
        for key, table in tables.items():
            parts[key].append(table)
        for k, v in part_counts.items():
            counts[k] = counts.get(k, 0) + v
    return {key: pa.concat_tables(p) for key, p in parts.items()}, counts


def generation_info(territory: dict[str, str] | None, quarter: str, seed: int,
                    model: DemoModel, edition: str, previous: str | None = None) -> dict:
    """What identifies a generated quarter (written in ``demo_generation.json``; a job may
    reuse files whose info matches)."""
    return {"demo": True, "seed": seed, "territoire": territory, "quarter": quarter,
            "date_stock": quarter_date(quarter).isoformat(), "derived_from": previous,
            "edition": edition,
            "model": dict(model.__dict__)}


def _write(out_dir: Path, tables: dict[str, pa.Table], info: dict, counts: dict[str, int]
           ) -> dict[str, Path]:
    paths = write_quarter(out_dir, tables, info["edition"])
    counts = {**counts, **{f"lignes_{k}": t.num_rows for k, t in tables.items()}}
    paths["info"] = out_dir / INFO_FILE
    part = paths["info"].with_name(INFO_FILE + ".part")
    part.write_text(json.dumps({**info, "counts": counts}, ensure_ascii=False, indent=1),
                    encoding="utf-8")
    part.replace(paths["info"])
    return paths


def _check_edition(edition: str) -> None:
    if edition not in EDITIONS:
        raise ConfigurationError(explain(
            f"Edition {edition!r} is not a SIRENE edition.",
            f"The stock files are published as {' or '.join(EDITIONS)}.",
            "Use edition='csv' or edition='parquet'.",
        ))


def generate_demo_files(out_dir: Path | str, reference: Any,
                        territory: dict[str, str] | None = None, quarter: str = "2026-T4",
                        seed: int = DEFAULT_SEED, *, model: DemoModel | None = None,
                        edition: str = "csv", progress: bool = False) -> dict[str, Path]:
    """Write the demo SIRENE files of one quarter, drawn afresh, for a territory.

    Parameters
    ----------
    out_dir
        Folder to write into (created).  The official file names are used.
    reference
        :class:`geodata.reference.Reference` (or its ``communes`` GeoDataFrame).
    territory
        ``{'departement': '21'}``, ``{'region': '27'}`` or ``None`` for all France.
    quarter
        Quarter label ``YYYY-Tn``; the files describe the stock on the quarter's first day.
    seed
        Seed of the generators (with territory, quarter and département mixed in).
    model
        Parameters of the model (:class:`demo.model.DemoModel`, defaults documented).
    edition
        ``"csv"`` (the three files as CSV) or ``"parquet"`` (the two stock files in the
        Parquet edition, the géolocalisé file as CSV, its only edition).
    progress
        Show a progress bar over départements.

    Returns
    -------
    dict
        ``unite_legale``, ``etablissement``, ``geolocalisation`` (paths of the files) and
        ``info`` (``demo_generation.json``: seed, territory, counts by kind of row).
    """
    _check_edition(edition)
    model = model or DemoModel()
    communes = prepare_communes(select_communes(reference, territory))
    tables, counts = _first_quarter(communes, _code_changes(reference),
                                    _territory_label(territory), quarter, seed, model,
                                    {"ess": 1, "other": 1}, progress)
    info = generation_info(territory, quarter, seed, model, edition)
    return _write(Path(out_dir), tables, info, counts)


def generate_demo_quarters(out_dir: Path | str, reference: Any,
                           territory: dict[str, str] | None = None,
                           quarters: tuple[str, ...] = ("2026-T3", "2026-T4"),
                           seed: int = DEFAULT_SEED, *, model: DemoModel | None = None,
                           edition: str = "csv", progress: bool = False
                           ) -> dict[str, dict[str, Path]]:
    """Write consecutive quarters into ``out_dir/<quarter>/``: the first drawn afresh, each
    next one derived from the one before (:func:`demo.evolve.evolve_quarter`, in memory).

    Returns ``{quarter: paths}`` (see :func:`generate_demo_files`).
    """
    _check_edition(edition)
    for before, after in zip(quarters, quarters[1:], strict=False):
        if quarter_date(after) <= quarter_date(before):
            raise ConfigurationError(explain(
                f"Quarter {after!r} does not come after {before!r}.",
                "Each quarter is derived from the one before it.",
                "List the quarters in chronological order, e.g. ('2026-T3', '2026-T4').",
            ))
    out_dir = Path(out_dir)
    model = model or DemoModel()
    communes = prepare_communes(select_communes(reference, territory))
    changes = _code_changes(reference)
    label = _territory_label(territory)
    serials = {"ess": 1, "other": 1}  # body 00000000 is never used
    tables, counts = _first_quarter(communes, changes, label, quarters[0], seed, model,
                                    serials, progress)
    info = generation_info(territory, quarters[0], seed, model, edition)
    result = {quarters[0]: _write(out_dir / quarters[0], tables, info, counts)}
    for before, quarter in zip(quarters, quarters[1:], strict=False):
        rng = np.random.default_rng(stable_seed(seed, label, quarter, "evolve"))
        tables, counts = evolve_quarter(tables, communes, changes, quarter_date(before),
                                        quarter_date(quarter), rng, model, serials)
        info = generation_info(territory, quarter, seed, model, edition, previous=before)
        result[quarter] = _write(out_dir / quarter, tables, info, counts)
    return result
