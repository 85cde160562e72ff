"""Counts of active ESS structures per commune: total, by family, NAF section, ESS sector.

Everything is counted at commune level (the finest territory) and then rolled up by
:func:`indicators.rollup.rollup`, so that every level and every group of communes uses the
same numbers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from indicators.checks import active_structures, require_columns
from indicators.employment import employment_columns
from indicators.registry import FAMILIES, family_column, section_column, sector_column
from indicators.sectors import NAF_SECTIONS, SECTORS, ess_sector

__all__ = ["commune_counts", "commune_position", "count_by"]


def commune_position(structures: pd.DataFrame, communes: pd.DataFrame) -> np.ndarray:
    """Row position of each structure's commune in ``communes`` (-1 when missing/unknown)."""
    codes = structures["commune"].astype("string")
    pos = communes.index.get_indexer(codes.fillna("\x00"))
    return pos


def _bincount(pos: np.ndarray, n: int, weights: np.ndarray | None = None) -> np.ndarray:
    ok = pos >= 0
    w = None if weights is None else weights[ok]
    return np.bincount(pos[ok], weights=w, minlength=n)[:n]


def count_by(structures: pd.DataFrame, communes: pd.DataFrame, by: str) -> pd.DataFrame:
    """Number of active structures per commune and per category.

    Parameters
    ----------
    structures : DataFrame
        Structures (all states; only ``etat_administratif == "A"`` are counted).
    communes : DataFrame
        Reference communes indexed by code.
    by : {"famille_ess", "naf_section", "secteur_ess"}
        Category; ``secteur_ess`` is derived from ``naf`` by :func:`indicators.sectors.ess_sector`.

    Returns
    -------
    DataFrame
        Indexed like ``communes``, one integer column per category (``n_association``,
        ``n_section_Q``, ``n_secteur_sante``...), 0 where there is none.
    """
    active = active_structures(structures)
    pos = commune_position(active, communes)
    n = len(communes)
    if by == "famille_ess":
        values, cats, name = active["famille_ess"].astype("string"), FAMILIES, family_column
    elif by == "naf_section":
        values = active["naf_section"].astype("string").str.upper()
        cats, name = tuple(NAF_SECTIONS), section_column
    elif by == "secteur_ess":
        values = ess_sector(active["naf"], active.get("naf_section"))
        cats, name = SECTORS, sector_column
    else:
        raise ValueError(f"by must be 'famille_ess', 'naf_section' or 'secteur_ess', not {by!r}")
    cat_pos = pd.Index(cats).get_indexer(values.fillna("\x00"))
    ok = (pos >= 0) & (cat_pos >= 0)
    flat = np.bincount(pos[ok] * len(cats) + cat_pos[ok], minlength=n * len(cats))
    table = flat.reshape(n, len(cats))
    return pd.DataFrame(table.astype("int64"), index=communes.index,
                        columns=[name(c) for c in cats])


def commune_counts(structures: pd.DataFrame, communes: pd.DataFrame) -> pd.DataFrame:
    """All extensive structure counts and the employment estimate per commune.

    Returns
    -------
    DataFrame
        Indexed like ``communes``: ``structures``, ``n_<famille>`` (6), ``n_secteur_<s>`` (10),
        ``n_section_<A..U>`` (21, when ``naf_section`` is present), ``emplois_bas``,
        ``emplois_estimes``, ``emplois_haut``, ``effectif_inconnu``. Active structures without a
        commune are not counted here: their number is in ``attrs["structures_sans_commune"]``.
    """
    require_columns(structures, ["commune", "famille_ess", "etat_administratif"], "structures")
    active = active_structures(structures)
    pos = commune_position(active, communes)
    n = len(communes)
    out = pd.DataFrame({"structures": _bincount(pos, n).astype("int64")}, index=communes.index)
    parts = [out, count_by(structures, communes, "famille_ess")]
    if "naf" in structures.columns:
        parts.append(count_by(structures, communes, "secteur_ess"))
    if "naf_section" in structures.columns:
        parts.append(count_by(structures, communes, "naf_section"))
    if "tranche_effectif" in structures.columns:
        emp = employment_columns(active)
        parts.append(pd.DataFrame(
            {c: _bincount(pos, n, emp[c].to_numpy()) for c in emp.columns},
            index=communes.index))
    result = pd.concat(parts, axis=1)
    result.attrs["structures_sans_commune"] = int((pos < 0).sum())
    return result
