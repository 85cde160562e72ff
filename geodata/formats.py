"""Shared helpers of the official-format loaders (column mapping, codes, CRS).

The loaders of the official geography formats (:mod:`geodata.admin_express`,
:mod:`geodata.contours_etalab`, :mod:`geodata.geo_api`, :mod:`geodata.populations`,
:mod:`geodata.dgcl`, :mod:`geodata.density_grid`) all return frames in the shape of the
:class:`~geodata.reference.Reference` layers:

- communes: GeoDataFrame, index ``code`` (str, "21231", "2A004"), columns ``nom``,
  ``departement``, ``region``, ``epci`` (SIREN or NA), ``population`` (Int64, population
  municipale or NA), ``geometry`` (EPSG:4326);
- EPCI / départements / régions: index ``code`` with ``nom`` (plus ``type`` for EPCI and
  ``region`` for départements when the source has them).

This module holds the helpers they share (case-insensitive column mapping, code padding,
CRS check and reprojection). :mod:`geodata.official` assembles a reference geography from
ADMIN EXPRESS COG + INSEE populations légales + DGCL with them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import geopandas as gpd
import pandas as pd

from observatory.errors import CRSMismatchError, DataValidationError, explain
from observatory.text import fold_accents

__all__ = [
    "COMMUNE_COLUMNS",
    "WGS84",
    "find_columns",
    "fold_text",
    "pad_code",
    "parse_counts",
    "shape_communes",
    "shape_named_layer",
    "to_wgs84",
    "year_in",
]

log = logging.getLogger(__name__)

WGS84 = "EPSG:4326"
COMMUNE_COLUMNS = ("nom", "departement", "region", "epci", "population", "geometry")

# Width of each kind of territory code once left-padded with zeros.
_WIDTHS = {"commune": 5, "departement": 2, "region": 2, "siren": 9}
_PATTERNS = {
    "commune": r"(\d{5}|2[AB]\d{3})",
    "departement": r"(\d{2}|2[AB]|97\d)",
    "region": r"\d{2}",
    "siren": r"\d{9}",
}


def find_columns(columns: Iterable[str], aliases: Mapping[str, tuple[str, ...]],
                 required: Iterable[str], source: str) -> dict[str, str]:
    """Map canonical names to the actual column names, case-insensitively.

    Parameters
    ----------
    columns : iterable of str
        Columns present in the source (any case: shapefiles upper-case them).
    aliases : mapping
        Canonical name -> accepted source names, in order of preference.
    required : iterable of str
        Canonical names that must be found.
    source : str
        What is being read, for the error message.

    Returns
    -------
    dict
        Canonical name -> actual column name, for every alias found.

    Raises
    ------
    DataValidationError
        When a required column is missing; lists the columns that are there.

    Examples
    --------
    >>> find_columns(["INSEE_COM", "Nom"], {"code": ("insee_com",), "nom": ("nom",)},
    ...              ["code"], "COMMUNE")
    {'code': 'INSEE_COM', 'nom': 'Nom'}
    """
    present = {}
    for column in columns:
        present.setdefault(str(column).strip().lower(), column)
    found = {}
    for canonical, names in aliases.items():
        for name in names:
            if name.lower() in present:
                found[canonical] = present[name.lower()]
                break
    missing = [name for name in required if name not in found]
    if missing:
        raise DataValidationError(explain(
            f"{source}: required column(s) {', '.join(missing)} not found.",
            "Expected one of " + "; ".join(
                f"{name}: {'/'.join(aliases[name])}" for name in missing)
            + f". Columns present: {', '.join(map(str, columns))}.",
            "Check that the file is the official format and edition this loader reads.",
        ), offenders=missing)
    return found


def pad_code(values, kind: str, *, source: str = "input", strict: bool = True) -> pd.Series:
    """Normalise territory codes to zero-padded strings.

    Blanks are stripped, letters upper-cased, integer-looking values ("1001", "1001.0")
    left-padded ("01001"); empty values become NA.

    Parameters
    ----------
    values : array-like
        Codes as read (str, int or float).
    kind : {"commune", "departement", "region", "siren"}
        Kind of code; sets the width and the valid pattern.
    source : str
        What is being read, for the error message.
    strict : bool
        Raise :class:`DataValidationError` listing the invalid codes (default); when
        False, invalid codes are returned unchanged.

    Examples
    --------
    >>> pad_code(["1001", "2a004", 21231.0, None], "commune").tolist()
    ['01001', '2A004', '21231', <NA>]
    >>> pad_code(["1", "971", "2A"], "departement").tolist()
    ['01', '971', '2A']
    """
    series = pd.Series(values, dtype="object") if not isinstance(values, pd.Series) else values
    text = series.astype("string").str.strip().str.upper()
    text = text.str.replace(r"\.0+$", "", regex=True)
    text = text.mask(text.isin(["", "NAN", "NONE", "<NA>"]))
    width = _WIDTHS[kind]
    numeric = text.str.fullmatch(r"\d+").fillna(False).astype(bool)
    text = text.mask(numeric, text.str.zfill(width))
    if strict:
        valid = text.str.fullmatch(_PATTERNS[kind]).fillna(True).astype(bool)
        if not valid.all():
            bad = text[~valid].unique().tolist()
            raise DataValidationError(explain(
                f"{source}: {len(bad)} invalid {kind} code(s).",
                f"A {kind} code matches {_PATTERNS[kind]}.",
                "Correct the source file, or check that the right column was read.",
                offenders=bad,
            ), offenders=bad)
    return text


def to_wgs84(frame: gpd.GeoDataFrame, source: str) -> tuple[gpd.GeoDataFrame, str]:
    """Check the CRS of a layer and reproject it to EPSG:4326.

    Returns
    -------
    (GeoDataFrame, str)
        The layer in EPSG:4326 and the name of its source CRS (e.g. "EPSG:2154").

    Raises
    ------
    CRSMismatchError
        When the layer declares no CRS (a shapefile without its ``.prj``).
    """
    if frame.crs is None:
        raise CRSMismatchError(explain(
            f"{source} declares no coordinate reference system.",
            "Without it the coordinates cannot be told apart between Lambert-93 (metres) "
            "and WGS84 (degrees).",
            "Keep the .prj file next to the .shp (or read the GeoPackage), as delivered by IGN.",
        ), offenders=[source])
    epsg = frame.crs.to_epsg()
    name = f"EPSG:{epsg}" if epsg else frame.crs.to_string()
    if epsg == 4326:
        return frame, name
    return frame.to_crs(WGS84), name


def fold_text(text: object) -> str:
    """Lower-case, accent-free text with straight apostrophes, for label matching.

    >>> fold_text("Communauté d\u2019Agglomération ")
    "communaute d'agglomeration"
    """
    text = str(text).replace("\u2019", "'")
    folded = fold_accents(text).encode("ascii", "ignore").decode()
    return re.sub(r"\s+", " ", folded.strip().lower())


def year_in(text: str | Path | None) -> int | None:
    """First plausible 4-digit year (1990–2099) in a file name, else None.

    >>> year_in("grille_densite_7_niveaux_2024.xlsx"), year_in("ensemble.zip")
    (2024, None)
    """
    if text is None:
        return None
    match = re.search(r"(?<!\d)(199\d|20\d\d)(?!\d)", Path(str(text)).name)
    return int(match.group(1)) if match else None


def _check_unique(index: pd.Index, source: str) -> None:
    duplicated = index[index.duplicated()].unique().tolist()
    if duplicated:
        raise DataValidationError(explain(
            f"{source}: {len(duplicated)} code(s) appear more than once.",
            "Each territory must appear once in a layer.",
            "Remove the duplicated features, or check that two editions were not mixed.",
            offenders=duplicated,
        ), offenders=duplicated)


def shape_communes(frame: pd.DataFrame, source: str) -> gpd.GeoDataFrame:
    """Order and type the commune columns as in the Reference layer.

    ``frame`` has a ``code`` column and any of :data:`COMMUNE_COLUMNS` (missing ones are
    filled with NA); extra columns are kept after them.
    """
    out = frame.copy()
    out["code"] = pad_code(out["code"], "commune", source=source)
    for name, kind in (("departement", "departement"), ("region", "region"),
                       ("epci", "siren")):
        out[name] = (pad_code(out[name], kind, source=source) if name in out
                     else pd.Series(pd.NA, index=out.index, dtype="string"))
    out["nom"] = out["nom"].astype("string") if "nom" in out else pd.NA
    if "population" in out:
        out["population"] = parse_counts(out["population"], source)
    else:
        out["population"] = pd.array([pd.NA] * len(out), dtype="Int64")
    extra = [c for c in out.columns if c not in COMMUNE_COLUMNS and c != "code"]
    out = out.set_index("code")[[*COMMUNE_COLUMNS[:-1], *extra, "geometry"]]
    _check_unique(out.index, source)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=getattr(frame, "crs", None))


def shape_named_layer(frame: pd.DataFrame, kind: str, source: str,
                      columns: tuple[str, ...] = ("nom",)) -> pd.DataFrame:
    """Index a layer by its padded ``code`` (kind: departement, region or siren)."""
    out = frame.copy()
    out["code"] = pad_code(out["code"], kind, source=source)
    for name in columns:
        if name not in out:
            out[name] = pd.NA
        out[name] = out[name].astype("string")
    keep = [*columns, *(["geometry"] if "geometry" in out else [])]
    out = out.set_index("code")[keep]
    _check_unique(out.index, source)
    if "geometry" in keep:
        return gpd.GeoDataFrame(out, geometry="geometry", crs=getattr(frame, "crs", None))
    return out


def parse_counts(values: pd.Series, source: str) -> pd.Series:
    """Population-like counts as Int64; spaces (thousand separators) removed."""
    text = values.astype("string").str.replace(r"[\s\u00a0\u202f]", "", regex=True)
    text = text.str.replace(r"\.0+$", "", regex=True).mask(lambda s: s == "")
    number = pd.to_numeric(text, errors="coerce")
    bad = text[number.isna() & text.notna()]
    if len(bad):
        raise DataValidationError(explain(
            f"{source}: {len(bad)} population value(s) are not numbers.",
            "Population counts are whole numbers.",
            "Correct the source file.", offenders=bad.unique().tolist(),
        ), offenders=bad.unique().tolist())
    return number.astype("Int64")
