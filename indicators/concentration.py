"""Concentration: location quotients and the Herfindahl–Hirschman index of sectors.

Location quotient of category *c* (a family or a sector) in territory *i*, against a
reference *R* (France, or the région of the territory)::

    LQ_ic = (n_ic / n_i) / (N_Rc / N_R)

where ``n`` counts active structures. LQ > 1: the category weighs more in the territory than
in the reference. Undefined (``pd.NA`` with its reason) when the territory has no structure or
the reference has none of the category.

Herfindahl–Hirschman index of ESS sectors: ``HHI = 10 000 × Σ_s (n_s / n)²`` (10 000 = a
single sector; 1 000 = ten equal sectors).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from indicators.registry import FAMILIES, family_column, sector_column
from indicators.sectors import SECTORS

__all__ = ["herfindahl_hirschman", "location_quotients"]


def location_quotients(table: pd.DataFrame, *, by: str = "famille_ess",
                       reference: pd.Series | None = None,
                       reference_totals: pd.DataFrame | None = None) -> pd.DataFrame:
    """Location quotient of each family or sector per territory.

    Parameters
    ----------
    table : DataFrame
        Indicator table at some level (``structures`` and the ``n_...`` columns), indexed by code.
    by : {"famille_ess", "secteur_ess"}
    reference : Series, optional
        Territory code -> reference group (e.g. its région). ``None``: the whole table is the
        reference (France when the table covers France). Group totals are summed over the
        rows of ``table``, so the table must cover each reference group entirely.
    reference_totals : DataFrame, optional
        Explicit totals indexed by reference group (or a single row when ``reference`` is
        None) with ``structures`` and the ``n_...`` columns, e.g. the national row when the
        table covers one région only.

    Returns
    -------
    DataFrame indexed like ``table``: ``lq_<category>`` (Float64) and ``motif_na``.
    """
    if by == "famille_ess":
        cols = [family_column(f) for f in FAMILIES]
    elif by == "secteur_ess":
        cols = [sector_column(s) for s in SECTORS]
    else:
        raise ValueError(f"by must be 'famille_ess' or 'secteur_ess', not {by!r}")
    cols = [c for c in cols if c in table.columns]
    counts = table[cols].to_numpy(dtype="float64")
    total = table["structures"].to_numpy(dtype="float64")
    if reference is None:
        if reference_totals is not None:
            ref_counts = np.broadcast_to(reference_totals[cols].to_numpy(dtype="float64")[0],
                                         counts.shape)
            ref_total = np.full(len(table), float(reference_totals["structures"].iloc[0]))
        else:
            ref_counts = np.broadcast_to(counts.sum(axis=0), counts.shape)
            ref_total = np.full(len(table), total.sum())
    else:
        keys = pd.Series(reference).astype("string").reindex(table.index)
        if reference_totals is not None:
            rt = reference_totals.reindex(keys.to_numpy())
            ref_counts = rt[cols].to_numpy(dtype="float64")
            ref_total = rt["structures"].to_numpy(dtype="float64")
        else:
            frame = table[[*cols, "structures"]].groupby(keys.to_numpy()).transform("sum")
            ref_counts = frame[cols].to_numpy(dtype="float64")
            ref_total = frame["structures"].to_numpy(dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        lq = (counts / total[:, None]) / (ref_counts / ref_total[:, None])
    undefined = ~np.isfinite(lq)
    out = pd.DataFrame({f"lq_{c[2:]}": pd.array(np.where(undefined[:, j], np.nan, lq[:, j]),
                                                 dtype="Float64")
                        for j, c in enumerate(cols)}, index=table.index)
    for j, c in enumerate(cols):
        out[f"lq_{c[2:]}"] = out[f"lq_{c[2:]}"].mask(undefined[:, j])
    reason = np.where(total == 0, "aucune structure dans le territoire : quotient non défini",
                      np.where(undefined.any(axis=1),
                               "catégorie absente de la référence : quotient non défini", None))
    out["motif_na"] = pd.array(reason, dtype="string")
    return out


def herfindahl_hirschman(counts: pd.DataFrame) -> pd.Series:
    """HHI (0–10 000) of the shares of the columns of ``counts`` per row.

    Rows with no structure give ``pd.NA``.

    Examples
    --------
    >>> herfindahl_hirschman(pd.DataFrame({"a": [1, 0], "b": [1, 0]})).tolist()
    [5000.0, <NA>]
    """
    values = counts.to_numpy(dtype="float64")
    total = values.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        hhi = ((values / total[:, None]) ** 2).sum(axis=1) * 10_000
    return pd.Series(hhi, index=counts.index, dtype="Float64").mask(total == 0)
