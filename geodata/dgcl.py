"""Read the DGCL composition of the EPCI à fiscalité propre (``epcicom<year>.xlsx``).

The Direction générale des collectivités locales publishes every year the list of EPCI à
fiscalité propre at 1 January with one row per **member commune** (catalog source
``dgcl_epci``).  Column headers vary a little between years; they are matched
case-insensitively:

=====================  ===========================================================
canonical              accepted headers
=====================  ===========================================================
``epci``               ``siren`` (SIREN of the EPCI, 9 digits)
``nom``                ``raison_sociale``
``type``               ``nature_juridique`` (CC, CA, CU, METRO, MET69)
``mode_financement``   ``mode_financ`` (FPU, FA...)
``commune``            ``insee`` (INSEE code of the member commune)
``nom_commune``        ``nom_membre``
``siren_commune``      ``siren_membre``
``population_totale``  ``ptot_<year>`` (member commune)
``population_municipale`` ``pmun_<year>``
=====================  ===========================================================

Title rows above the header are skipped (the header row is the first one holding both a
SIREN and an INSEE column).  Every row is kept; a commune listed in two EPCI, an invalid
code or an incomplete row raises :class:`DataValidationError` with the offenders.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pandas as pd

from geodata.admin_express import EPCI_TYPES
from geodata.formats import find_columns, fold_text, pad_code, parse_counts, year_in
from observatory.errors import ConfigurationError, DataValidationError, explain

__all__ = ["COLUMNS", "epci_table", "read_epci_composition"]

log = logging.getLogger(__name__)

COLUMNS = ("epci", "nom", "type", "commune", "nom_commune", "siren_commune",
           "mode_financement", "population_municipale", "population_totale")
_ALIASES = {
    "epci": ("siren", "siren_epci", "n_siren"),
    "nom": ("raison_sociale", "nom_epci", "raison sociale"),
    "type": ("nature_juridique", "nature juridique", "nj_epci"),
    "mode_financement": ("mode_financ", "mode_financement", "mode de financement"),
    "commune": ("insee", "insee_membre", "code_insee", "insee_com"),
    "nom_commune": ("nom_membre", "nom_commune", "nom membre"),
    "siren_commune": ("siren_membre", "siren_commune"),
}
_REQUIRED = ("epci", "nom", "type", "commune")
_HEADER_SCAN = 20


def _header_row(raw: pd.DataFrame, source: str) -> int:
    for i in range(min(_HEADER_SCAN, len(raw))):
        cells = {str(v).strip().lower() for v in raw.iloc[i] if pd.notna(v)}
        if cells & set(_ALIASES["epci"]) and cells & set(_ALIASES["commune"]):
            return i
    raise DataValidationError(explain(
        f"{source}: no header row with a SIREN and an INSEE column in the first "
        f"{_HEADER_SCAN} rows.",
        "The DGCL file has one row per member commune under a header holding `siren` and "
        "`insee`.",
        "Give the epcicom<year>.xlsx file (composition), not epcisanscom (list without "
        "members), or name the right sheet.",
    ))


def _type_code(values: pd.Series) -> pd.Series:
    """DGCL nature juridique: short codes kept, long labels mapped (Métropole -> METRO)."""
    def code(value):
        if pd.isna(value):
            return None
        text = str(value).strip()
        if text.upper() in {"CC", "CA", "CU", "METRO", "MET69"}:
            return text.upper()
        return EPCI_TYPES.get(fold_text(text), text)

    return values.map(code).astype("string")


def read_epci_composition(path: str | Path, *, sheet: str | int | None = None,
                          year: int | None = None) -> pd.DataFrame:
    """Read ``epcicom<year>.xlsx``: one row per (EPCI, member commune).

    Parameters
    ----------
    path : str or Path
        The DGCL workbook (``.xlsx``); a ``.csv`` export with the same headers also works.
    sheet : str or int, optional
        Sheet name or index; the first sheet by default.
    year : int, optional
        Year of the composition (1 January); guessed from the file name otherwise.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS` (codes as str; populations Int64) plus ``millesime``;
        one row per member commune, in file order.

    Raises
    ------
    ConfigurationError
        File or sheet missing.
    DataValidationError
        No header, missing column, invalid code, incomplete row, commune in two EPCI.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise ConfigurationError(explain(
            f"DGCL file {str(path)!r} does not exist.",
            "read_epci_composition reads the DGCL epcicom<year>.xlsx.",
            "Download it (python -m observatory download dgcl_epci) or fix the path.",
        ))
    source = path.name
    if path.suffix.lower() == ".csv":
        raw = pd.read_csv(path, header=None, dtype=str, sep=None, engine="python")
    else:
        try:
            raw = pd.read_excel(path, sheet_name=0 if sheet is None else sheet, header=None,
                                dtype=str)
        except ValueError as exc:
            with pd.ExcelFile(path) as workbook:
                sheets = workbook.sheet_names
            raise ConfigurationError(explain(
                f"{source}: sheet {sheet!r} not found ({exc}).",
                f"The workbook has the sheets {sheets}.",
                "Pass sheet= one of them.",
            )) from exc
    start = _header_row(raw, source)
    header = [str(v).strip() if pd.notna(v) else f"_col{i}"
              for i, v in enumerate(raw.iloc[start])]
    data = raw.iloc[start + 1:].set_axis(header, axis=1)
    data = data.dropna(how="all")  # blank lines at the end of the sheet
    lines = (data.index + 1).tolist()  # 1-based spreadsheet rows
    columns = find_columns(header, _ALIASES, _REQUIRED, source)
    frame = pd.DataFrame({name: data[actual].astype("string").str.strip()
                          for name, actual in columns.items()}).reset_index(drop=True)
    incomplete = frame[list(_REQUIRED)].isna().any(axis=1)
    if incomplete.any():
        bad = [lines[i] for i in frame.index[incomplete]]
        raise DataValidationError(explain(
            f"{source}: {len(bad)} row(s) lack the EPCI SIREN, name, nature or member code.",
            "Each row describes one member commune of one EPCI.",
            "Complete or remove those rows (spreadsheet row numbers).",
            offenders=bad,
        ), offenders=bad)
    frame["epci"] = pad_code(frame["epci"], "siren", source=source)
    frame["commune"] = pad_code(frame["commune"], "commune", source=source)
    frame["type"] = _type_code(frame["type"])
    if "siren_commune" in frame:
        frame["siren_commune"] = pad_code(frame["siren_commune"], "siren", source=source)
    for prefix, name in (("pmun", "population_municipale"), ("ptot", "population_totale")):
        match = [h for h in header if re.fullmatch(rf"{prefix}(_\d{{4}})?", h.lower())]
        frame[name] = (parse_counts(data[match[0]].reset_index(drop=True), source) if match
                       else pd.array([pd.NA] * len(frame), dtype="Int64"))
    for name in COLUMNS:
        if name not in frame:
            frame[name] = pd.Series(pd.NA, index=frame.index, dtype="string")
    twice = frame[frame.duplicated("commune", keep=False)]
    if len(twice):
        offenders = sorted({f"{c} ({', '.join(sorted(set(g['epci'])))})"
                            for c, g in twice.groupby("commune")})
        raise DataValidationError(explain(
            f"{source}: {len(offenders)} commune(s) belong to several EPCI.",
            "A commune belongs to one EPCI à fiscalité propre at a time.",
            "Check the file (or that two years were not concatenated).",
            offenders=offenders,
        ), offenders=offenders)
    names = frame.groupby("epci")[["nom", "type"]].nunique()
    if (names > 1).any(axis=None):
        log.warning("%s: EPCI with several names/natures: %s", source,
                    ", ".join(names.index[(names > 1).any(axis=1)]))
    frame["millesime"] = pd.array([year or year_in(path)] * len(frame), dtype="Int64")
    log.info("%s: %d EPCI, %d member communes", source, frame["epci"].nunique(), len(frame))
    return frame[[*COLUMNS, "millesime"]]


def epci_table(composition: pd.DataFrame) -> pd.DataFrame:
    """One row per EPCI from the composition: index ``code``; ``nom``, ``type``,
    ``nb_communes``, ``population`` (sum of the members' population municipale)."""
    grouped = composition.groupby("epci", sort=True)
    out = grouped[["nom", "type"]].first()
    out["nb_communes"] = grouped.size().astype("Int64")
    out["population"] = grouped["population_municipale"].sum(min_count=1).astype("Int64")
    out.index = out.index.astype("string").rename("code")
    return out
