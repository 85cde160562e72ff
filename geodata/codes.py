"""Map old commune codes (merged communes, communes déléguées/associées, municipal
arrondissements) to current COG communes.

The correspondence table (``code_changes``) comes from the COG itself as carried by
``@etalab/decoupage-administratif``: ``anciensCodes`` of each current commune, the codes of
communes déléguées / associées (-> their chef-lieu) and the municipal arrondissements of
Paris, Lyon and Marseille (-> 75056, 69123, 13055).
"""

from __future__ import annotations

import logging

import pandas as pd

__all__ = ["NATURES", "build_code_changes", "map_commune_codes", "normalise_commune_code"]

log = logging.getLogger(__name__)

NATURES = ("ancienne_commune", "commune_deleguee", "commune_associee",
           "arrondissement_municipal")
_PRIORITY = {name: rank for rank, name in enumerate(
    ("arrondissement_municipal", "commune_deleguee", "commune_associee", "ancienne_commune"))}
_TYPE_NATURE = {
    "commune-deleguee": "commune_deleguee",
    "commune-associee": "commune_associee",
    "arrondissement-municipal": "arrondissement_municipal",
}


def build_code_changes(decoupage_communes: list[dict], current_codes) -> pd.DataFrame:
    """Correspondence old code -> current commune from decoupage-administratif rows.

    Parameters
    ----------
    decoupage_communes : list of dict
        Rows of ``communes.json`` (all types).
    current_codes : iterable of str
        Codes of the current communes (a code of this set is never an "old" code).

    Returns
    -------
    pandas.DataFrame
        Columns ``ancien_code``, ``code``, ``nature``; one row per old code.  When an old
        code appears several times the most specific nature wins: arrondissement, then
        commune déléguée / associée (still a sub-commune), then ancienne commune (merged
        and gone).  Targets are current communes.
    """
    current = set(map(str, current_codes))
    rows = []
    for row in decoupage_communes:
        kind = row.get("type")
        if kind == "commune-actuelle":
            for old in row.get("anciensCodes") or ():
                rows.append((str(old), str(row["code"]), "ancienne_commune"))
        elif kind in _TYPE_NATURE:
            target = row.get("chefLieu") or row.get("commune")
            if target:
                rows.append((str(row["code"]), str(target), _TYPE_NATURE[kind]))
    frame = pd.DataFrame(rows, columns=["ancien_code", "code", "nature"], dtype="string")
    frame = frame[~frame["ancien_code"].isin(current) & frame["code"].isin(current)]
    frame = frame.assign(_rank=frame["nature"].map(_PRIORITY))
    frame = (frame.sort_values(["ancien_code", "_rank", "code"])
             .drop_duplicates("ancien_code").drop(columns="_rank").reset_index(drop=True))
    return frame.astype("string")


def normalise_commune_code(codes: pd.Series) -> pd.Series:
    """Strip blanks, upper-case ("2a004" -> "2A004") and left-pad numeric codes to 5 chars.

    >>> normalise_commune_code(pd.Series(["1001", " 2a004", None])).tolist()
    ['01001', '2A004', <NA>]
    """
    text = pd.Series(codes, dtype="string").str.strip().str.upper()
    text = text.mask(text == "")
    numeric = text.str.fullmatch(r"\d{1,5}").fillna(False)
    return text.mask(numeric, text.str.zfill(5))


def map_commune_codes(codes, code_changes: pd.DataFrame, current_codes) -> pd.DataFrame:
    """Map commune codes (current or old) to current communes, vectorised.

    Parameters
    ----------
    codes : array-like of str
        Codes to map (int-like codes are zero-padded; NA stays unknown).
    code_changes : DataFrame
        ``ancien_code``, ``code``, ``nature`` (see :func:`build_code_changes`).
    current_codes : iterable of str
        Codes of the current communes.

    Returns
    -------
    pandas.DataFrame
        Same index as ``codes`` (a RangeIndex for non-Series input); columns
        ``code_entree`` (as given), ``code`` (current commune or NA) and ``nature``
        (``actuel``, the nature of the change, or ``inconnu``).  Unmappable codes are
        logged (see also the ``nature == "inconnu"`` rows).
    """
    given = codes if isinstance(codes, pd.Series) else pd.Series(list(codes))
    entree = given.astype("string")
    clean = normalise_commune_code(entree)
    current = pd.Index(pd.Series(list(current_codes), dtype="string").unique())
    lookup = code_changes.drop_duplicates("ancien_code").set_index("ancien_code")
    is_current = clean.isin(current)
    mapped_code = clean.map(lookup["code"])
    mapped_nature = clean.map(lookup["nature"])
    code = clean.where(is_current, mapped_code).astype("string")
    nature = pd.Series("inconnu", index=given.index, dtype="string")
    nature = nature.mask(mapped_code.notna(), mapped_nature).mask(is_current, "actuel")
    result = pd.DataFrame({"code_entree": entree, "code": code, "nature": nature},
                          index=given.index)
    unknown = result.loc[result["nature"] == "inconnu", "code_entree"]
    if len(unknown):
        log.warning("%d code(s) de commune non reconnus (ex. %s)", len(unknown),
                    ", ".join(map(str, unknown.dropna().unique()[:10])))
    return result
