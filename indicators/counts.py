"""Counts of active ESS structures per commune: total, by family, NAF section, ESS sector.

Everything is counted at commune level (the finest territory) and then rolled up by
:func:`indicators.rollup.rollup`, so that every level and every group of communes uses the
same numbers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from indicators.employment import BANDS
from indicators.prepare import PreparedStructures, prepare_structures
from indicators.registry import FAMILIES, family_column, section_column, sector_column
from indicators.sectors import NAF_SECTIONS, SECTORS

__all__ = ["commune_counts", "count_by", "employment_by_commune"]

_BAND_VALUES = np.array(list(BANDS.values()), dtype="float64")  # (16, 3): low, central, high


def _prepared(structures, communes, prepared):
    return prepared if prepared is not None else prepare_structures(structures, communes)


def _cross(pos: np.ndarray, cat: np.ndarray, n: int, k: int) -> np.ndarray:
    ok = (pos >= 0) & (cat >= 0)
    flat = np.bincount(pos[ok] * k + cat[ok], minlength=n * k)
    return flat.reshape(n, k)


def count_by(structures: pd.DataFrame | None, communes: pd.DataFrame, by: str, *,
             prepared: PreparedStructures | None = None) -> pd.DataFrame:
    """Number of active structures per commune and per category.

    Parameters
    ----------
    structures : DataFrame
        Structures (all states; only ``etat_administratif == "A"`` are counted).
    communes : DataFrame
        Reference communes indexed by code.
    by : {"famille_ess", "naf_section", "secteur_ess"}
        Category; ``secteur_ess`` is derived from ``naf`` by :func:`indicators.sectors.ess_sector`.
    prepared : PreparedStructures, optional
        :func:`indicators.prepare.prepare_structures` output, to encode only once.

    Returns
    -------
    DataFrame
        Indexed like ``communes``, one integer column per category (``n_association``,
        ``n_section_Q``, ``n_secteur_sante``...), 0 where there is none.
    """
    prep = _prepared(structures, communes, prepared)
    if by == "famille_ess":
        codes, cats, name = prep.family, FAMILIES, family_column
    elif by == "naf_section":
        codes, cats, name = prep.section, tuple(NAF_SECTIONS), section_column
    elif by == "secteur_ess":
        codes, cats, name = prep.sector, SECTORS, sector_column
    else:
        raise ValueError(f"by must be 'famille_ess', 'naf_section' or 'secteur_ess', not {by!r}")
    pos = np.where(prep.active, prep.commune, -1)
    table = _cross(pos, codes, len(communes), len(cats))
    return pd.DataFrame(table.astype("int64"), index=communes.index,
                        columns=[name(c) for c in cats])


def employment_by_commune(prep: PreparedStructures, n_communes: int,
                          index: pd.Index) -> pd.DataFrame:
    """Sum per commune of the low / central / high employment of active structures.

    ``effectif_inconnu`` counts active structures without a band (see
    :mod:`indicators.employment`).
    """
    pos = np.where(prep.active, prep.commune, -1)
    ok = pos >= 0
    band = prep.band[ok]
    known = band >= 0
    values = np.zeros((len(band), 3))
    values[known] = _BAND_VALUES[band[known]]
    out = {}
    for j, col in enumerate(("emplois_bas", "emplois_estimes", "emplois_haut")):
        out[col] = np.bincount(pos[ok], weights=values[:, j], minlength=n_communes)
    out["effectif_inconnu"] = np.bincount(pos[ok], weights=(band == -1).astype(float),
                                          minlength=n_communes)
    return pd.DataFrame(out, index=index)


def commune_counts(structures: pd.DataFrame | None, communes: pd.DataFrame, *,
                   prepared: PreparedStructures | None = None) -> pd.DataFrame:
    """All extensive structure counts and the employment estimate per commune.

    Returns
    -------
    DataFrame
        Indexed like ``communes``: ``structures``, ``n_<famille>`` (6), ``n_secteur_<s>`` (10),
        ``n_section_<A..U>`` (21), ``emplois_bas``, ``emplois_estimes``, ``emplois_haut``,
        ``effectif_inconnu`` (when ``tranche_effectif`` is present). Active structures without
        a commune are not counted here: their number is in
        ``attrs["structures_sans_commune"]``.
    """
    prep = _prepared(structures, communes, prepared)
    n = len(communes)
    pos = np.where(prep.active, prep.commune, -1)
    total = np.bincount(pos[pos >= 0], minlength=n).astype("int64")
    parts = [pd.DataFrame({"structures": total}, index=communes.index)]
    for by in ("famille_ess", "secteur_ess", "naf_section"):
        parts.append(count_by(None, communes, by, prepared=prep))
    if (prep.band != -2).any() or prep.n == 0:
        parts.append(employment_by_commune(prep, n, communes.index))
    result = pd.concat(parts, axis=1)
    result.attrs["structures_sans_commune"] = int((prep.active & (prep.commune < 0)).sum())
    return result
