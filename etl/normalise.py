"""Small pure helpers shared by the source parsers: clean values, build addresses, conform a
frame to :mod:`observatory.schema`, build reject rows.
"""

from __future__ import annotations

import hashlib
import json
import re

import numpy as np
import pandas as pd

from observatory.errors import DataValidationError, explain
from observatory.schema import REJECT_COLUMNS, STRUCTURE_DTYPES, empty_rejects
from observatory.text import fold_accents

__all__ = [
    "TYPE_VOIE",
    "assemble_address",
    "check_identifiers",
    "conform_structures",
    "content_identifiers",
    "departement_of_commune",
    "make_rejects",
    "map_values",
    "nd_to_na",
    "siret_identifiers",
    "valid_lonlat",
]

#: SIRENE ``typeVoieEtablissement`` abbreviations -> words (the frequent ones; others kept).
TYPE_VOIE: dict[str, str] = {
    "ALL": "ALLEE", "AV": "AVENUE", "BD": "BOULEVARD", "CAR": "CARREFOUR", "CHE": "CHEMIN",
    "CHS": "CHAUSSEE", "CITE": "CITE", "COR": "CORNICHE", "CRS": "COURS", "DOM": "DOMAINE",
    "DSC": "DESCENTE", "ECA": "ECART", "ESP": "ESPLANADE", "FG": "FAUBOURG", "GR": "GRANDE RUE",
    "HAM": "HAMEAU", "HLE": "HALLE", "IMP": "IMPASSE", "LD": "LIEU DIT", "LOT": "LOTISSEMENT",
    "MAR": "MARCHE", "MTE": "MONTEE", "PAS": "PASSAGE", "PL": "PLACE", "PLN": "PLAINE",
    "PLT": "PLATEAU", "PRO": "PROMENADE", "PRV": "PARVIS", "QUA": "QUARTIER", "QUAI": "QUAI",
    "RES": "RESIDENCE", "RLE": "RUELLE", "ROC": "ROCADE", "RPT": "ROND POINT", "RTE": "ROUTE",
    "RUE": "RUE", "SEN": "SENTIER", "SQ": "SQUARE", "TPL": "TERRE PLEIN", "TRA": "TRAVERSE",
    "VLA": "VILLA", "VLGE": "VILLAGE",
}
_INDICE = {"B": "BIS", "T": "TER", "Q": "QUATER", "C": "QUINQUIES"}


def nd_to_na(values: pd.Series) -> pd.Series:
    """Text series with blanks, ``[ND]`` (non-diffusible) and ``nan`` turned into NA."""
    text = values.astype("string").str.strip()
    return text.mask(text.isin(["", "[ND]", "nan", "NaN"]))


def map_values(values: pd.Series, func) -> pd.Series:
    """Apply ``func`` to each *distinct* value (few distinct codes, many rows): a "string"
    Series aligned on ``values``; NA stays NA (``func`` may also return None)."""
    import pyarrow as pa

    arr = pa.array(values.astype("string").array)
    encoded = arr.dictionary_encode()
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    results = (func(v) for v in encoded.dictionary.to_pylist())
    # func may answer None or pd.NA for "no value": both become a null.
    mapped = pa.array([None if r is None or r is pd.NA else r for r in results],
                      type=pa.large_string())
    out = mapped.take(encoded.indices)
    return pd.Series(pd.arrays.ArrowStringArray(out), index=values.index)


def assemble_address(numero: pd.Series, indice: pd.Series, type_voie: pd.Series,
                     libelle: pd.Series) -> pd.Series:
    """Postal street line from SIRENE's parts ("12", "B", "AV", "JEAN JAURES").

    >>> s = lambda *v: pd.Series(list(v), dtype="string")
    >>> assemble_address(s("12", None), s("B", None), s("AV", None),
    ...                  s("JEAN JAURES", None)).tolist()
    ['12 BIS AVENUE JEAN JAURES', <NA>]
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    parts = [
        nd_to_na(numero),
        map_values(nd_to_na(indice), lambda v: _INDICE.get(v.upper(), v) if v else None),
        map_values(nd_to_na(type_voie), lambda v: TYPE_VOIE.get(v.upper(), v) if v else None),
        nd_to_na(libelle),
    ]
    arrays = [pa.array(p.astype("string").array).cast(pa.large_string()) for p in parts]
    # (null_handling="skip" drops all-null rows in this pyarrow version: replace + collapse)
    joined = pc.binary_join_element_wise(*arrays, pa.scalar(" ", pa.large_string()),
                                         null_handling="replace", null_replacement="")
    joined = pc.utf8_trim_whitespace(pc.replace_substring_regex(joined, r"\s+", " "))
    out = pd.Series(pd.arrays.ArrowStringArray(joined.cast(pa.large_string())),
                    index=numero.index)
    return out.mask(out == "").astype("string")


def departement_of_commune(codes: pd.Series) -> pd.Series:
    """Département code of commune codes: 3 characters overseas ("97411" -> "974"), else 2."""
    text = codes.astype("string")
    overseas = text.str.startswith("97").fillna(False)
    return text.str.slice(0, 2).mask(overseas, text.str.slice(0, 3)).astype("string")


def valid_lonlat(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """True where (lon, lat) is a finite WGS84 position other than (0, 0)."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    return (np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90)
            & ~((lon == 0) & (lat == 0)))


# --------------------------------------------------------------------------- identifiers
def siret_identifiers(siret: pd.Series, type_structure: pd.Series | None = None) -> pd.Series:
    """``identifiant`` of rows with a SIRET: the SIRET, or ``"<siret>:<type>"`` when the row
    has a structure type (:mod:`observatory.schema`, *Identifiers*); NA without SIRET."""
    siret = siret.astype("string")
    if type_structure is None:
        return siret
    kind = type_structure.astype("string")
    return (siret + ":" + kind).fillna(siret).astype("string")


def _identity_text(values: pd.Series) -> pd.Series:
    """Lower-case, accent-free, punctuation-free text ("Rue de l'Église" -> "rue de l eglise");
    NA -> ""."""
    return map_values(values, lambda v: re.sub(r"[^a-z0-9]+", " ", fold_accents(v)).strip()
                      ).fillna("")


def content_identifiers(source: str, parts: list[pd.Series]) -> pd.Series:
    """``identifiant`` of rows without SIRET nor identifier of their own:
    ``"<source>:#<16 hex>"``, the SHA-256 of the source and the normalised ``parts`` (name,
    commune code or postcode and commune name, address, type: :mod:`observatory.schema`).

    Deterministic: the same content gives the same identifier in every quarter, whatever the
    row's position in the file.
    """
    if not parts:
        raise ValueError("content_identifiers needs at least one part")
    texts = [_identity_text(p).to_numpy(dtype=object) for p in parts]
    out = []
    for values in zip(*texts, strict=True):
        digest = hashlib.sha256("\x1f".join((source, *values)).encode("utf-8")).hexdigest()
        out.append(f"{source}:#{digest[:16]}")
    return pd.Series(out, index=parts[0].index, dtype="string")


def check_identifiers(structures: pd.DataFrame, what: str = "the structures") -> None:
    """Raise :class:`DataValidationError` when an ``identifiant`` is missing or duplicated:
    a snapshot whose rows cannot be told apart would be refused by the indicators and the
    diff, so it is never written."""
    ident = structures["identifiant"].astype("string")
    missing = int(ident.isna().sum())
    dup = ident[ident.duplicated(keep=False) & ident.notna()].unique().tolist()
    if missing or dup:
        raise DataValidationError(explain(
            f"{what.capitalize()} have {missing} row(s) without identifiant and "
            f"{len(dup)} identifiant(s) used more than once.",
            "Every structure needs its own identifiant (observatory.schema, Identifiers): "
            "the indicators count it once and the diff follows it from quarter to quarter.",
            "Report this as a bug of the source parser named in the 'sources' column.",
            offenders=[str(d) for d in dup[:20]]), offenders=dup)


def conform_structures(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns of :data:`observatory.schema.STRUCTURE_COLUMNS` in order, with their dtypes.

    Missing columns are added empty; extra columns are dropped, except ``_ligne`` (Int64, the
    row's line in its source file, when the reader knows it), which the refresh carries to
    the assignment's rejects and drops before writing.  A missing ``identifiant`` is filled
    from the SIRET (and type) when the row has one (:func:`siret_identifiers`).
    """
    out = {}
    n = len(frame)
    for column, dtype in STRUCTURE_DTYPES.items():
        if column in frame:
            values = frame[column]
            if dtype.startswith("datetime64"):
                values = pd.to_datetime(values, errors="coerce").astype(dtype)
            else:
                values = values.astype(dtype)
            out[column] = values.reset_index(drop=True)
        else:
            out[column] = pd.Series([pd.NA] * n if dtype not in ("float64",) else np.nan,
                                    index=range(n)).astype(dtype)
    out["identifiant"] = out["identifiant"].fillna(
        siret_identifiers(out["siret"], out["type_structure"]))
    if "_ligne" in frame:
        out["_ligne"] = pd.array(frame["_ligne"], dtype="Int64")
    return pd.DataFrame(out)


def make_rejects(source: str, rows: pd.DataFrame, raison: pd.Series | str,
                 ligne: pd.Series | None = None, siret_column: str = "siret") -> pd.DataFrame:
    """Reject rows: ``source``, ``ligne``, ``siret``, ``raison``, ``donnees`` (JSON of the row)."""
    if len(rows) == 0:
        return empty_rejects()
    raw = rows.astype(object).where(rows.notna(), None)
    donnees = [json.dumps(rec, ensure_ascii=False, default=str)
               for rec in raw.to_dict(orient="records")]
    siret = rows[siret_column] if siret_column in rows else pd.Series(pd.NA, index=rows.index)
    if isinstance(raison, str):
        raison = pd.Series(raison, index=rows.index)
    frame = pd.DataFrame({
        "source": pd.Series(source, index=rows.index, dtype="string"),
        "ligne": (ligne if ligne is not None else pd.Series(pd.NA, index=rows.index)),
        "siret": siret,
        "raison": raison,
        "donnees": pd.Series(donnees, index=rows.index),
    }).reset_index(drop=True)
    return frame.astype({"source": "string", "ligne": "Int64", "siret": "string",
                         "raison": "string", "donnees": "string"})[list(REJECT_COLUMNS)]
