"""INSEE *grille communale de densité*: loader of the official file, and an approximation.

The grid (catalog source ``grille_densite``; method: INSEE working paper DT 2022-18)
classes each commune from the share of its population living in each kind of cluster of a
1 km² population grid, following the EU *degree of urbanisation*.  Since 2022 INSEE
publishes **7 levels** nested in the 3 European levels:

=====  ===============================  =======
dens7  libellé                          dens3
=====  ===============================  =======
1      Grands centres urbains           1 (dense)
2      Centres urbains intermédiaires   2 (densité intermédiaire)
3      Petites villes                   2
4      Ceintures urbaines               2
5      Bourgs ruraux                    3 (rural)
6      Rural à habitat dispersé         3
7      Rural à habitat très dispersé    3
=====  ===============================  =======

Files read by :func:`read_density_grid` (header on spreadsheet row 5, i.e. ``skiprows=4``,
below four title rows; the header row is located by its ``CODGEO`` cell):

- ``grille_densite_7_niveaux_<year>.xlsx``: ``CODGEO, LIBGEO, DENS`` (1–7)``, LIBDENS,
  PMUNyy, P1…P7``;
- ``fichier_diffusion_2025.xlsx``: sheet **"Maille communale"**, ``CODGEO, LIBGEO, DENS``
  (3 levels), ``DENS7`` (7 levels), ``PMUN22``.

**No copy of the real file was available when this loader was written** (see
``shared/data/population/PROVENANCE.md``): it is tested on fixtures written in the documented
layout.  Codes are those of the COG of the edition year: join on the same COG vintage as
the boundaries; :func:`density_levels` reports codes that do not match.

When the file is absent, :func:`approximate_density_levels` derives a level from the
commune's population density (``source = "approximation"``, to be labelled as such wherever
it shows).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from geodata.formats import find_columns, fold_text, pad_code, year_in
from observatory.errors import ConfigurationError, DataValidationError, explain

__all__ = [
    "COLUMNS",
    "LIBELLES_3",
    "LIBELLES_7",
    "SEVEN_TO_THREE",
    "approximate_density_levels",
    "density_levels",
    "load_density_grid",
    "read_density_grid",
]

log = logging.getLogger(__name__)

LIBELLES_7 = {
    1: "Grands centres urbains",
    2: "Centres urbains intermédiaires",
    3: "Petites villes",
    4: "Ceintures urbaines",
    5: "Bourgs ruraux",
    6: "Rural à habitat dispersé",
    7: "Rural à habitat très dispersé",
}
LIBELLES_3 = {1: "Dense", 2: "Densité intermédiaire", 3: "Rural"}
SEVEN_TO_THREE = {1: 1, 2: 2, 3: 2, 4: 2, 5: 3, 6: 3, 7: 3}
COLUMNS = ("dens7", "dens3", "libelle", "source", "millesime")

_ALIASES = {
    "code": ("CODGEO", "CODE_COMMUNE", "COM"),
    "nom": ("LIBGEO",),
    "dens": ("DENS",),
    "dens7": ("DENS7",),
    "libdens": ("LIBDENS",),
    "libdens7": ("LIBDENS7",),
}
_SHEET_2025 = "Maille communale"
_HEADER_SCAN = 15

# Thresholds of the approximation (see approximate_density_levels).
URBAN_CENTRE_DENSITY = 1500.0   # inh/km²: EU urban-centre cell density
URBAN_CLUSTER_DENSITY = 300.0   # inh/km²: EU urban-cluster (semi-dense) cell density
URBAN_CLUSTER_POPULATION = 5000  # inhabitants: minimum population of an EU urban cluster
RURAL_CLUSTER_POPULATION = 1000  # inhabitants: 2 x the EU rural-cluster minimum (500)
LOW_DENSITY = 50.0              # inh/km²: EU low- vs very-low-density rural cells


def _levels(values: pd.Series, top: int, column: str, codes: pd.Series,
            source: str) -> pd.Series:
    number = pd.to_numeric(values.astype("string").str.strip(), errors="coerce")
    bad = ~number.isin(range(1, top + 1))
    if bad.any():
        offenders = [f"{c}: {v!r}" for c, v in zip(codes[bad], values[bad], strict=True)]
        raise DataValidationError(explain(
            f"{source}: {int(bad.sum())} value(s) of {column} are not levels 1–{top}.",
            f"{column} holds the density level, an integer from 1 to {top}.",
            "Check that the right column/sheet was read, or correct the file.",
            offenders=offenders,
        ), offenders=offenders)
    return number.astype("Int8")


def _read_sheet(path: Path, sheet: str | int | None) -> tuple[pd.DataFrame, str]:
    try:
        with pd.ExcelFile(path) as workbook:  # closed at once: no file handle left open
            sheets = workbook.sheet_names
    except Exception as exc:  # not a workbook
        raise ConfigurationError(explain(
            f"{path.name} cannot be opened as an Excel workbook ({exc}).",
            "The INSEE density grid is published as .xlsx.",
            "Download the file again (python -m observatory download grille_densite).",
        )) from exc
    if sheet is None:
        sheet = _SHEET_2025 if _SHEET_2025 in sheets else sheets[0]
    elif isinstance(sheet, str) and sheet not in sheets:
        raise ConfigurationError(explain(
            f"{path.name} has no sheet {sheet!r}.",
            f"Its sheets are {sheets}.",
            f"Pass sheet= one of them (the 2025 file uses {_SHEET_2025!r}).",
        ), )
    raw = pd.read_excel(path, sheet_name=sheet, header=None, dtype=str)
    return raw, str(sheet if isinstance(sheet, str) else sheets[sheet])


def read_density_grid(path: str | Path, *, sheet: str | int | None = None,
                      millesime: int | None = None) -> pd.DataFrame:
    """Read the INSEE grille communale de densité (7-level file or the 2025 file).

    Parameters
    ----------
    path : str or Path
        ``grille_densite_7_niveaux_<year>.xlsx`` or ``fichier_diffusion_2025.xlsx``.
    sheet : str or int, optional
        Sheet to read; default "Maille communale" when the workbook has it, else the
        first sheet.
    millesime : int, optional
        Edition year (= COG year of the codes); guessed from the file name otherwise.

    Returns
    -------
    pandas.DataFrame
        Index ``code`` (commune, str); ``dens7`` (Int8, 1–7), ``dens3`` (Int8, 1–3),
        ``libelle`` (French label of the 7 levels), ``source`` ("insee"), ``millesime``
        (Int64).

    Raises
    ------
    ConfigurationError
        File missing or unreadable, sheet missing.
    DataValidationError
        No header row, missing column, level out of range, DENS inconsistent with DENS7,
        duplicated code (offenders listed).
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise ConfigurationError(explain(
            f"Density grid file {str(path)!r} does not exist.",
            "read_density_grid reads the INSEE xlsx file.",
            "Download it (python -m observatory download grille_densite) or fix the path; "
            "without it, density_levels() uses the labelled approximation.",
        ))
    raw, sheet_name = _read_sheet(path, sheet)
    source = f"{path.name} [{sheet_name}]"
    header_at = next((i for i in range(min(_HEADER_SCAN, len(raw)))
                      if any(str(v).strip().upper() == "CODGEO" for v in raw.iloc[i]
                             if pd.notna(v))), None)
    if header_at is None:
        raise DataValidationError(explain(
            f"{source}: no header row with CODGEO in the first {_HEADER_SCAN} rows.",
            "INSEE puts four title rows, then the header (CODGEO, LIBGEO, DENS...) on row 5.",
            f"Check the sheet (the 2025 file's communes are in {_SHEET_2025!r}).",
        ), offenders=[sheet_name])
    if header_at != 4:
        log.info("%s: header found on row %d (row 5 expected)", source, header_at + 1)
    header = [str(v).strip() if pd.notna(v) else f"_col{i}"
              for i, v in enumerate(raw.iloc[header_at])]
    data = raw.iloc[header_at + 1:].set_axis(header, axis=1).dropna(how="all")
    data = data.reset_index(drop=True)
    columns = find_columns(header, _ALIASES, ("code", "dens"), source)
    codes = pad_code(data[columns["code"]], "commune", source=source)
    if "dens7" in columns:  # 2025 layout: DENS = 3 levels, DENS7 = 7 levels
        dens7 = _levels(data[columns["dens7"]], 7, "DENS7", codes, source)
        dens3_file = _levels(data[columns["dens"]], 3, "DENS", codes, source)
        dens3 = dens7.map(SEVEN_TO_THREE).astype("Int8")
        wrong = dens3 != dens3_file
        if wrong.any():
            offenders = [f"{c}: DENS7={a} DENS={b}" for c, a, b in
                         zip(codes[wrong], dens7[wrong], dens3_file[wrong], strict=True)]
            raise DataValidationError(explain(
                f"{source}: DENS (3 levels) contradicts DENS7 for {int(wrong.sum())} communes.",
                "The 7 levels nest in the 3: {1}->1, {2,3,4}->2, {5,6,7}->3.",
                "Check the file's documentation sheet; the nesting may have changed.",
                offenders=offenders,
            ), offenders=offenders)
        labels = columns.get("libdens7")
    else:
        dens7 = _levels(data[columns["dens"]], 7, "DENS", codes, source)
        dens3 = dens7.map(SEVEN_TO_THREE).astype("Int8")
        labels = columns.get("libdens")
    if labels:
        _check_labels(data[labels], dens7, source)
    year = millesime if millesime is not None else year_in(path)
    out = pd.DataFrame({
        "dens7": dens7.values, "dens3": dens3.values,
        "libelle": pd.array(dens7.map(LIBELLES_7).values, dtype="string"),
        "source": pd.array(["insee"] * len(dens7), dtype="string"),
        "millesime": pd.array([year] * len(dens7), dtype="Int64"),
    }, index=pd.Index(codes, name="code"))
    duplicated = out.index[out.index.duplicated()].unique().tolist()
    if duplicated or out.index.hasnans:
        offenders = duplicated + (["<code vide>"] if out.index.hasnans else [])
        raise DataValidationError(explain(
            f"{source}: empty or repeated commune codes.",
            "The grid has one row per commune.", "Correct the file.", offenders=offenders,
        ), offenders=offenders)
    log.info("%s: %d communes, levels %s", source, len(out),
             out["dens7"].value_counts().sort_index().to_dict())
    return out


#: Name used by ``cli/indicators.py`` and ``indicators/rural.py``.
load_density_grid = read_density_grid


def _check_labels(labels: pd.Series, dens7: pd.Series, source: str) -> None:
    """Warn when the file's labels disagree with the documented code -> label mapping."""
    pairs = pd.DataFrame({"level": dens7.values, "label": labels.values}).dropna()
    for level, label in pairs.drop_duplicates("level").itertuples(index=False):
        expected = LIBELLES_7[int(level)]
        if fold_text(label) != fold_text(expected):
            log.warning("%s: level %s is labelled %r in the file, %r expected; check the "
                        "7->3 nesting against the file's documentation", source, level,
                        label, expected)


def approximate_density_levels(communes: pd.DataFrame, *,
                               on_invalid: str = "na") -> pd.DataFrame:
    """Approximate the 7-level grid from each commune's population density.

    A documented approximation, for when the INSEE file is absent; labelled
    ``source = "approximation"``.  The real grid works on 1 km² cells; here the commune's
    mean density ``d = population / superficie_km2`` and its population ``p`` stand in for
    its cells, with the thresholds of the EU degree of urbanisation (Eurostat methodological
    manual, 2021):

    ====  ====================================================  ============================
    dens7 rule (first that applies)                              EU threshold it stands for
    ====  ====================================================  ============================
    1     d ≥ 1 500                                              urban-centre cells
                                                                 (≥ 1 500 inh/km²)
    2     d ≥ 300 and p ≥ 5 000                                  urban cluster: cells ≥ 300
                                                                 inh/km² totalling ≥ 5 000
    4     d ≥ 300 (and p < 5 000)                                urban-cluster density but too
                                                                 small to be a centre itself:
                                                                 belt of a neighbouring one
    3     p ≥ 5 000 (and d < 300)                                a commune this populous holds
                                                                 a semi-dense cluster (small
                                                                 town) even if its mean is low
    5     p ≥ 1 000                                              rural cluster (≥ 500 inh in
                                                                 cells ≥ 300 inh/km²): about
                                                                 half the population in the
                                                                 bourg gives p ≥ 1 000
    6     d ≥ 50                                                 low-density rural cells
                                                                 (≥ 50 inh/km²)
    7     otherwise (d < 50)                                     very-low-density rural cells
    ====  ====================================================  ============================

    Known limits: a commune mean is lower than the density of its built-up cells, so
    small dense towns can land one level too rural; levels 3/4 cannot be told apart
    without the neighbours (4 needs a nearby centre).  A population of 0 gives level 7.
    The commune mean also counts fields and forests, whereas the INSEE class follows the
    cells where people live: level 7 is over-represented.  Measured on the 34 869 communes
    with geometry of the shared COG 2025/2026 extract: levels 1–7 = 605, 1 085, 599, 1 243,
    6 599, 6 160, 18 578 communes (53 % in level 7).  Not calibrated against the real
    grid, which was not available.

    Parameters
    ----------
    communes : pandas.DataFrame
        Indexed by commune code, with ``population`` and ``superficie_km2`` (> 0).
    on_invalid : {"na", "raise"}
        Communes without a usable population or area (e.g. the few communes of the
        embedded reference that have no geometry): leave their levels NA with
        ``source = "indisponible"`` and list them in ``attrs["non_classees"]`` (default),
        or raise.

    Returns
    -------
    pandas.DataFrame
        Same index; columns :data:`COLUMNS` with ``source = "approximation"`` and
        ``millesime`` NA; ``attrs["non_classees"]`` lists the communes left unclassified.

    Raises
    ------
    DataValidationError
        Missing columns; with ``on_invalid="raise"``, missing/negative population, missing
        or non-positive area (offenders listed).

    Examples
    --------
    >>> frame = pd.DataFrame({"population": [10_000, 200], "superficie_km2": [5.0, 10.0]},
    ...                      index=["A", "B"])
    >>> approximate_density_levels(frame)["dens7"].tolist()
    [1, 7]
    """
    if on_invalid not in ("na", "raise"):
        raise ValueError(explain(f"on_invalid={on_invalid!r} is not an option.",
                                 "Options: 'na', 'raise'.", "Pick one of them."))
    missing = [c for c in ("population", "superficie_km2") if c not in communes]
    if missing:
        raise DataValidationError(explain(
            f"approximate_density_levels needs the column(s) {', '.join(missing)}.",
            "The approximation uses population and area (km²) of each commune.",
            "Pass the Reference communes layer (it has both).",
        ), offenders=missing)
    population = pd.to_numeric(communes["population"], errors="coerce").astype("float64")
    area = pd.to_numeric(communes["superficie_km2"], errors="coerce").astype("float64")
    bad = (population.isna() | (population < 0) | area.isna() | (area <= 0)).to_numpy()
    offenders = communes.index[bad].tolist()
    if offenders and on_invalid == "raise":
        raise DataValidationError(explain(
            f"{len(offenders)} commune(s) lack a usable population or area.",
            "The approximation needs population ≥ 0 and superficie_km2 > 0.",
            "Complete the population/area of those communes (or exclude them).",
            offenders=offenders,
        ), offenders=offenders)
    if offenders:
        log.warning("Density approximation: %d communes without usable population or area "
                    "left unclassified: %s", len(offenders), ", ".join(map(str, offenders[:20])))
    d = (population / area.where(area > 0)).to_numpy()
    p = population.to_numpy()
    conditions = [
        d >= URBAN_CENTRE_DENSITY,
        (d >= URBAN_CLUSTER_DENSITY) & (p >= URBAN_CLUSTER_POPULATION),
        d >= URBAN_CLUSTER_DENSITY,
        p >= URBAN_CLUSTER_POPULATION,
        p >= RURAL_CLUSTER_POPULATION,
        d >= LOW_DENSITY,
    ]
    dens7 = pd.Series(np.select(conditions, [1, 2, 4, 3, 5, 6], default=7),
                      index=communes.index, dtype="Int8").mask(bad)
    out = _frame(dens7, "approximation", None)
    out.loc[bad, "source"] = "indisponible"
    out.attrs["non_classees"] = offenders
    return out


def _frame(dens7: pd.Series, source: str, millesime) -> pd.DataFrame:
    return pd.DataFrame({
        "dens7": dens7.astype("Int8"),
        "dens3": dens7.map(SEVEN_TO_THREE).astype("Int8"),
        "libelle": dens7.map(LIBELLES_7).astype("string"),
        "source": pd.Series(source, index=dens7.index, dtype="string"),
        "millesime": pd.Series(millesime, index=dens7.index, dtype="Int64"),
    }, index=dens7.index)


def density_levels(communes: pd.DataFrame, grid: pd.DataFrame | None = None, *,
                   fill_missing: str = "approximation",
                   min_coverage: float = 0.95) -> pd.DataFrame:
    """Density level of each commune: from the INSEE grid when given, else approximated.

    Parameters
    ----------
    communes : pandas.DataFrame
        Indexed by commune code; ``population`` and ``superficie_km2`` are needed for the
        approximation (the Reference communes layer has them).
    grid : pandas.DataFrame, optional
        Output of :func:`read_density_grid`.
    fill_missing : {"approximation", "na", "raise"}
        What to do for communes absent from the grid (e.g. a commune created after the
        grid's COG): approximate them (labelled per row in ``source``), leave NA, or raise.
    min_coverage : float
        Minimum share of the communes found in the grid; below it the COG vintages surely
        differ and a :class:`DataValidationError` is raised.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``communes``; columns :data:`COLUMNS`.  ``attrs["non_apparies"]``
        lists ``communes_absentes_de_la_grille`` and ``codes_grille_inconnus``.
    """
    if fill_missing not in ("approximation", "na", "raise"):
        raise ValueError(explain(
            f"fill_missing={fill_missing!r} is not an option.",
            "Options: 'approximation', 'na', 'raise'.", "Pick one of them."))
    if grid is None:
        log.info("No density grid given: approximation from population density")
        out = approximate_density_levels(communes)
        out.attrs["non_apparies"] = {"communes_absentes_de_la_grille": [],
                                     "codes_grille_inconnus": []}
        return out
    missing = [c for c in COLUMNS if c not in grid]
    if missing:
        raise DataValidationError(explain(
            f"The density grid lacks the column(s) {', '.join(missing)}.",
            "density_levels expects the output of read_density_grid().",
            "Read the file with geodata.density_grid.read_density_grid().",
        ), offenders=missing)
    index = pd.Index(communes.index.astype("string"), name="code")
    joined = pd.DataFrame(index=index).join(grid[list(COLUMNS)], how="left", validate="1:1")
    absent = joined.index[joined["dens7"].isna()].tolist()
    unknown = sorted(set(grid.index) - set(index))
    coverage = 1 - len(absent) / max(len(index), 1)
    if coverage < min_coverage:
        raise DataValidationError(explain(
            f"Only {coverage:.1%} of the communes are in the density grid "
            f"({len(absent)} missing).",
            "The grid's codes are those of the COG of its edition year; the communes are "
            "probably of another COG vintage.",
            "Use the grid edition matching the reference geography's COG, or map the codes "
            "through the COG correspondence first.",
            offenders=absent,
        ), offenders=absent)
    if absent:
        log.warning("%d communes are not in the density grid (%s): %s", len(absent),
                    fill_missing, ", ".join(absent[:20]))
        if fill_missing == "raise":
            raise DataValidationError(explain(
                f"{len(absent)} commune(s) are not in the density grid.",
                "Their codes are not in the grid's COG.",
                "Use fill_missing='approximation' or a grid of the same COG.",
                offenders=absent,
            ), offenders=absent)
        if fill_missing == "approximation":
            approx = approximate_density_levels(communes.loc[
                communes.index.astype("string").isin(absent)])
            approx.index = approx.index.astype("string")
            joined.loc[absent, list(COLUMNS)] = approx.loc[absent, list(COLUMNS)]
    if unknown:
        log.info("%d codes of the density grid are not communes of the reference: %s",
                 len(unknown), ", ".join(unknown[:20]))
    joined = joined.astype({"dens7": "Int8", "dens3": "Int8", "libelle": "string",
                            "source": "string", "millesime": "Int64"})
    joined.index = communes.index
    joined.attrs["non_apparies"] = {"communes_absentes_de_la_grille": absent,
                                    "codes_grille_inconnus": unknown}
    return joined
