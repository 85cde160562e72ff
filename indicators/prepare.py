"""Encode the structures once into integer arrays (fast path for 1.5 million rows).

Text columns are matched against their code lists with Arrow hash look-ups
(:func:`pyarrow.compute.index_in`), so that every count is then a ``numpy.bincount``. The
encoding also validates the values: an unknown commune code, ESS family or headcount band
raises a :class:`~observatory.errors.DataValidationError` listing the offenders.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from indicators.checks import (
    check_cog,
    check_crs,
    require_columns,
    require_string_codes,
)
from indicators.employment import BANDS
from indicators.registry import FAMILIES
from indicators.sectors import NAF_SECTIONS, SECTORS, ess_sector
from observatory.errors import DataValidationError, explain

__all__ = ["PreparedStructures", "arrow", "duplicated_values", "encode", "prepare_structures",
           "siret_numbers", "structure_keys", "territory_index", "validate_inputs"]


def arrow(values) -> pa.ChunkedArray:
    """Arrow view of a Series/array of text (zero-copy for Arrow-backed strings)."""
    arr = getattr(values, "array", values)
    chunked = getattr(arr, "_pa_array", None)
    if chunked is not None and (pa.types.is_string(chunked.type)
                                or pa.types.is_large_string(chunked.type)):
        return chunked
    np_values = _objects(values)
    clean = [None if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA
             else str(v) for v in np_values]
    return pa.chunked_array([pa.array(clean, type=pa.string())])


def _objects(values) -> np.ndarray:
    """Values as an object array (``to_numpy`` avoids pandas' slow attribute fallbacks)."""
    if hasattr(values, "to_numpy"):
        return values.to_numpy(dtype=object, na_value=None)
    return np.asarray(values, dtype=object)


def encode(values, categories) -> np.ndarray:
    """Position of each value in ``categories`` (int64; -1 for missing or not found)."""
    arr = arrow(values)
    if isinstance(categories, pd.Index) and len(categories):
        cats = arrow(categories).combine_chunks().cast(arr.type)
    else:
        cats = pa.array([str(c) for c in categories], type=pa.string()).cast(arr.type)
    idx = pc.fill_null(pc.index_in(arr, value_set=cats), -1)
    return idx.to_numpy().astype("int64", copy=False)


def structure_keys(structures: pd.DataFrame) -> pd.Series:
    """The key of each structure: its ``identifiant`` (:mod:`observatory.schema`,
    *Identifiers*), else its SIRET (snapshots written before the column existed, frames built
    by hand); NA when it has neither.

    Raises
    ------
    DataValidationError
        The frame has neither an ``identifiant`` nor a ``siret`` column.
    """
    has_id, has_siret = "identifiant" in structures, "siret" in structures
    if not (has_id or has_siret):
        raise DataValidationError(explain(
            "The structures have neither an 'identifiant' nor a 'siret' column.",
            "Each structure is counted and followed by its identifiant (else its SIRET).",
            "Load the structures from a snapshot (python -m observatory refresh).",
            ["identifiant", "siret"]), ["identifiant", "siret"])
    for column in ("identifiant", "siret"):
        if column in structures:  # an int SIRET has lost its leading zeros
            require_string_codes(structures[column], f"structures.{column}")
    if not has_id:
        return structures["siret"].astype("string")
    keys = structures["identifiant"].astype("string")
    if has_siret and keys.hasnans:
        keys = keys.fillna(structures["siret"].astype("string"))
    return keys


def siret_numbers(values) -> np.ndarray | None:
    """SIRET as int64 (they are 14 digits), or None when some value is not all digits."""
    arr = arrow(values)
    if arr.null_count:
        return None
    try:
        return pc.cast(arr, pa.int64()).to_numpy()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def duplicated_values(values) -> list:
    """Values appearing more than once (fast path for numeric SIRET)."""
    numbers = siret_numbers(values)
    if numbers is not None:
        ordered = np.sort(numbers)
        dup = ordered[1:][ordered[1:] == ordered[:-1]]
        if len(dup) == 0:
            return []
    elif pc.count_distinct(arrow(values), mode="all").as_py() == len(values):
        return []
    series = pd.Series(_objects(values))
    return series[series.duplicated()].unique().tolist()


def _nulls(values) -> np.ndarray:
    arr = arrow(values)
    return pc.is_null(arr).to_numpy(zero_copy_only=False)


def territory_index(communes: pd.DataFrame, level: str) -> tuple[np.ndarray, pd.Index]:
    """For each commune (row order), the position of its territory of ``level``.

    Returns
    -------
    (positions, codes): int64 array (-1 when the commune has no territory, e.g. no EPCI) and
    the sorted territory codes.
    """
    if level == "commune":
        return np.arange(len(communes), dtype="int64"), pd.Index(communes.index, dtype="string")
    col = communes[level].astype("string")
    codes = pd.Index(sorted(col.dropna().unique()), dtype="string")
    return encode(col, codes), codes


@dataclass
class PreparedStructures:
    """Integer encoding of a structures frame against the commune reference.

    Attributes
    ----------
    active : bool array
        ``etat_administratif == "A"``.
    commune : int64 array
        Row position of the commune in the reference (-1 unknown or missing).
    family, sector, section, band : int64 arrays
        Positions in :data:`FAMILIES`, :data:`SECTORS`, NAF sections A–U, band codes
        (-1 missing).
    year : float array
        ``annee_effectif`` (NaN missing).
    lon, lat : float arrays
    """

    n: int
    active: np.ndarray
    commune: np.ndarray
    family: np.ndarray
    sector: np.ndarray
    section: np.ndarray
    band: np.ndarray
    year: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    departement_fallback: pd.Series | None = None
    _xy: dict = field(default_factory=dict, repr=False)

    def projected(self, communes: pd.DataFrame) -> pd.DataFrame:
        """Projected ``x``, ``y``, ``epsg`` of every row (cached)."""
        key = id(communes)
        if key not in self._xy:
            from indicators.projection import epsg_for_departements, project_lonlat

            commune_epsg = epsg_for_departements(communes["departement"])
            epsg = np.where(self.commune >= 0, commune_epsg[np.maximum(self.commune, 0)], 0)
            if self.departement_fallback is not None:
                missing = epsg == 0
                if missing.any():
                    fb = epsg_for_departements(self.departement_fallback)
                    epsg[missing] = fb[missing]
            x, y = project_lonlat(self.lon, self.lat, epsg)
            self._xy[key] = pd.DataFrame({"x": x, "y": y, "epsg": epsg})
        return self._xy[key]


def _check_unknown(values, positions: np.ndarray, what: str, allowed, fix: str) -> None:
    bad = (positions < 0) & ~_nulls(values)
    if bad.any():
        offenders = sorted(set(_objects(values)[bad].tolist()))
        raise DataValidationError(explain(
            f"Unknown {what} value(s) {offenders[:5]}.",
            f"{what} must be one of {allowed}." if allowed else
            f"{len(offenders)} {what} code(s) are not in the reference geography: the "
            "structures were probably assigned with another COG vintage.",
            fix, offenders), offenders)


def prepare_structures(structures: pd.DataFrame, communes: pd.DataFrame) -> PreparedStructures:
    """Encode ``structures`` against ``communes``; raise on unknown codes.

    Raises
    ------
    DataValidationError
        Unknown commune code, ESS family or SIRENE headcount band.
    """
    require_columns(structures, ["etat_administratif", "commune", "famille_ess"], "structures")
    n = len(structures)
    active = encode(structures["etat_administratif"], ["A"]) == 0
    commune = encode(structures["commune"], communes.index)
    _check_unknown(structures["commune"], commune, "commune", None,
                   "Use a snapshot and a reference built on the same COG (map old codes with "
                   "reference.map_codes), then recompute.")
    family = encode(structures["famille_ess"], FAMILIES)
    _check_unknown(structures["famille_ess"], family, "ESS family", list(FAMILIES),
                   "Normalise the family with the ETL (observatory.schema.FAMILIES).")
    section = (encode(structures["naf_section"].astype("string").str.upper(), NAF_SECTIONS)
               if "naf_section" in structures else np.full(n, -1, dtype="int64"))
    if "naf" in structures:
        sector = _sectors(structures["naf"], section)
    else:
        sector = np.full(n, -1, dtype="int64")
    if "tranche_effectif" in structures:
        band_values = structures["tranche_effectif"].astype("string").str.strip()
        band_values = band_values.mask(band_values.eq("").fillna(False))
        band = encode(band_values, BANDS)
        _check_unknown(band_values, band, "SIRENE headcount band", list(BANDS),
                       "Keep the SIRENE code as text ('01', not 1) in the ETL.")
    else:
        band = np.full(n, -2, dtype="int64")  # -2: column absent (no employment estimate)
    year = (pd.to_numeric(structures["annee_effectif"], errors="coerce")
            .to_numpy(dtype="float64", na_value=np.nan)
            if "annee_effectif" in structures else np.full(n, np.nan))
    lon = (pd.to_numeric(structures["longitude"], errors="coerce")
           .to_numpy(dtype="float64", na_value=np.nan)
           if "longitude" in structures else np.full(n, np.nan))
    lat = (pd.to_numeric(structures["latitude"], errors="coerce")
           .to_numpy(dtype="float64", na_value=np.nan)
           if "latitude" in structures else np.full(n, np.nan))
    fallback = (structures["departement"].astype("string").reset_index(drop=True)
                if "departement" in structures else None)
    return PreparedStructures(n, active, commune, family, sector, section, band, year, lon,
                              lat, fallback)


def _sectors(naf: pd.Series, section: np.ndarray) -> np.ndarray:
    """ESS sector position per row, computed once per distinct NAF code."""
    arr = arrow(naf).combine_chunks().dictionary_encode()
    uniques = pd.Series(arr.dictionary.to_pylist(), dtype="string")
    per_unique = encode(ess_sector(uniques), SECTORS) if len(uniques) else np.zeros(0, "int64")
    indices = arr.indices
    missing = pc.is_null(indices).to_numpy(zero_copy_only=False)
    idx = pc.fill_null(indices, 0).to_numpy().astype("int64")
    out = per_unique[idx] if len(per_unique) else np.full(len(idx), -1, dtype="int64")
    out = np.where(missing, SECTORS.index("autres"), out)
    # NAF missing: the section decides when it maps to a sector alone (see indicators.sectors)
    if missing.any():
        rows = np.flatnonzero(missing)
        letters = np.array(list(NAF_SECTIONS), dtype=object)
        sec = section[rows]
        sec_letter = pd.Series(np.where(sec >= 0, letters[np.maximum(sec, 0)], None),
                               dtype="string")
        by_section = encode(ess_sector(pd.Series([None] * len(rows), dtype="string"),
                                       sec_letter), SECTORS)
        out[rows] = by_section
    return out


def validate_inputs(structures: pd.DataFrame, communes: pd.DataFrame, *,
                    structures_cog: str | None = None, reference_cog: str | None = None,
                    columns: Iterable[str] = ("siret", "famille_ess", "etat_administratif",
                                              "commune")):
    """Check structures and communes before computing indicators, and encode the structures.

    Checks the COG vintage and the CRS, the columns, that codes are text, that structures
    are unique (:func:`structure_keys`), and (while encoding) that every commune code of a
    structure exists in the reference and that ``famille_ess`` and ``tranche_effectif``
    values are known.

    Returns
    -------
    indicators.prepare.PreparedStructures
        The encoded structures, to pass on as ``prepared=``.

    Raises
    ------
    DataValidationError, CRSMismatchError
    """
    check_cog(structures_cog, reference_cog)
    check_crs(communes, structures)
    require_columns(structures, list(columns), "structures")
    require_columns(communes, ["population", "superficie_km2"], "communes")
    require_string_codes(communes.index, "commune (reference index)")
    if communes.index.has_duplicates:
        dup = communes.index[communes.index.duplicated()].unique().tolist()
        raise DataValidationError(explain(
            "The communes reference has duplicated codes.",
            "Each commune must appear once, or its structures would be counted twice.",
            "Deduplicate the reference (one row per current COG code).", dup), dup)
    for col in ("commune", "epci", "departement", "region"):
        if col in structures.columns:
            require_string_codes(structures[col], f"structures.{col}")
    keys = structure_keys(structures)
    dup = duplicated_values(keys.dropna()) if keys.hasnans else duplicated_values(keys)
    if dup:  # rows without any key (no identifiant, no SIRET) are counted once each
        raise DataValidationError(explain(
            "Some structures appear more than once (same identifiant, else same SIRET).",
            "One row is one structure; duplicates would be counted twice.",
            "Rebuild the snapshot with python -m observatory refresh, which gives each "
            "structure its own identifiant.", dup), dup)
    return prepare_structures(structures, communes)
