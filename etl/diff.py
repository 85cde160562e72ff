"""Structure-level change between two snapshots, and its count per territory.

Structures are matched on SIRET (rows without SIRET cannot be followed and are counted
apart).  Each matched or unmatched structure gets one change, in this order of priority:

* ``nouvelle`` — in B, not in A;
* ``disparue`` — in A, not in B (dropped from the register or left the ESS perimeter);
* ``fermee`` — active (``A``) in A, closed (``F``) in B;
* ``rouverte`` — closed in A, active in B;
* ``deplacee`` — commune changed, or the point moved by more than 100 m;
* ``modifiee`` — name, family, legal form, NAF, headcount band or employer flag changed;
* ``inchangee``.

Counts per territory use the territory of B (of A for ``disparue``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from observatory.errors import ConfigurationError, explain

__all__ = ["CHANGES", "LEVELS", "MOVE_THRESHOLD_M", "diff", "diff_structures"]

LEVELS = ("commune", "epci", "departement", "region")
CHANGES = ("nouvelle", "disparue", "fermee", "rouverte", "deplacee", "modifiee", "inchangee")
MOVE_THRESHOLD_M = 100.0
_COMPARED = ("nom", "famille_ess", "categorie_juridique", "naf", "tranche_effectif",
             "employeur")


def _haversine_m(lon1, lat1, lon2, lat2) -> np.ndarray:
    lon1, lat1, lon2, lat2 = (np.radians(np.asarray(v, dtype=float))
                              for v in (lon1, lat1, lon2, lat2))
    h = (np.sin((lat2 - lat1) / 2) ** 2
         + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2)
    return 2 * 6_371_008.8 * np.arcsin(np.sqrt(h))


def _differs(a: pd.Series, b: pd.Series) -> np.ndarray:
    a, b = a.astype("string"), b.astype("string")
    return ((a != b).fillna(a.isna() != b.isna())).to_numpy(dtype=bool)


def diff_structures(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """One row per SIRET of A ∪ B: ``siret``, ``changement``, ``distance_m`` and the
    territory columns (``commune``… of B, or of A for ``disparue``), ``champs_modifies``."""
    keep = ["siret", "etat_administratif", "longitude", "latitude", *LEVELS, *_COMPARED]
    left = pd.DataFrame(a)[[c for c in keep if c in a]].dropna(subset=["siret"])
    right = pd.DataFrame(b)[[c for c in keep if c in b]].dropna(subset=["siret"])
    left = left.drop_duplicates("siret")
    right = right.drop_duplicates("siret")
    both = left.merge(right, on="siret", how="outer", suffixes=("_a", "_b"), indicator=True,
                      validate="1:1")
    n = len(both)
    change = np.full(n, "inchangee", dtype=object)
    only_b = (both["_merge"] == "right_only").to_numpy()
    only_a = (both["_merge"] == "left_only").to_numpy()
    matched = ~(only_a | only_b)
    etat_a = both["etat_administratif_a"].astype("string").to_numpy(na_value="")
    etat_b = both["etat_administratif_b"].astype("string").to_numpy(na_value="")
    distance = _haversine_m(both["longitude_a"], both["latitude_a"], both["longitude_b"],
                            both["latitude_b"])
    moved = matched & (_differs(both["commune_a"], both["commune_b"])
                       | (np.nan_to_num(distance, nan=0.0) > MOVE_THRESHOLD_M))
    fields = [c for c in _COMPARED if f"{c}_a" in both and f"{c}_b" in both]
    changed_cols = np.array([_differs(both[f"{c}_a"], both[f"{c}_b"]) for c in fields]
                            ).reshape(len(fields), n)
    modified = matched & changed_cols.any(axis=0)
    change[matched & modified] = "modifiee"
    change[moved] = "deplacee"
    change[matched & (etat_a == "F") & (etat_b == "A")] = "rouverte"
    change[matched & (etat_a == "A") & (etat_b == "F")] = "fermee"
    change[only_a] = "disparue"
    change[only_b] = "nouvelle"
    out = pd.DataFrame({"siret": both["siret"].astype("string"),
                        "changement": pd.array(change, dtype="string"),
                        "distance_m": np.where(matched, distance, np.nan)})
    for level in LEVELS:
        if f"{level}_b" in both:
            out[level] = both[f"{level}_b"].astype("string").where(
                ~only_a, both[f"{level}_a"].astype("string")).to_numpy()
    names = np.array(fields, dtype=object)
    out["champs_modifies"] = pd.array(
        [",".join(names[changed_cols[:, i]]) if matched[i] else None for i in range(n)],
        dtype="string") if fields else pd.array([None] * n, dtype="string")
    return out


def diff(a: pd.DataFrame, b: pd.DataFrame, level: str = "commune") -> pd.DataFrame:
    """Counts of each change per territory of ``level`` (index: territory code).

    Columns: ``structures_a``, ``structures_b`` (active structures), then one column per
    change except ``inchangee``.
    """
    if level not in LEVELS:
        raise ConfigurationError(explain(
            f"Unknown level {level!r}.", "Changes are counted per territory level.",
            f"Use one of {', '.join(LEVELS)}.",
        ))
    detail = diff_structures(a, b)
    counts = (detail[detail["changement"] != "inchangee"]
              .groupby([level, "changement"], dropna=False).size().unstack(fill_value=0))
    for name in CHANGES[:-1]:
        if name not in counts:
            counts[name] = 0
    active = {}
    for tag, frame in (("a", a), ("b", b)):
        sel = frame[frame["etat_administratif"].astype("string") == "A"]
        active[f"structures_{tag}"] = sel.groupby(sel[level].astype("string")).size()
    table = pd.concat([pd.DataFrame(active), counts[list(CHANGES[:-1])]], axis=1)
    table = table.fillna(0).astype("int64").sort_index()
    table.index.name = level
    return table
