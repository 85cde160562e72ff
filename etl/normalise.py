"""Small pure helpers shared by the source parsers: clean values, build addresses, conform a
frame to :mod:`observatory.schema`, build reject rows.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from observatory.schema import REJECT_COLUMNS, STRUCTURE_DTYPES, empty_rejects

__all__ = [
    "TYPE_VOIE",
    "assemble_address",
    "conform_structures",
    "departement_of_commune",
    "make_rejects",
    "map_values",
    "nd_to_na",
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


def conform_structures(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns of :data:`observatory.schema.STRUCTURE_COLUMNS` in order, with their dtypes.

    Missing columns are added empty; extra columns are dropped.
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
