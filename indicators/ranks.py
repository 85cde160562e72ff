"""Rank of each territory among its peers, for each indicator.

Peers are the territories of the same level in the same larger territory: the EPCI of a
département or of a région, the départements of a région or of France, the communes of an
EPCI... Rank 1 is the highest value; ties share the smallest rank (``method="min"``); a
missing value gets no rank.
"""

from __future__ import annotations

import pandas as pd

from indicators.registry import INDICATORS
from observatory.vocabulary import check_level

__all__ = ["peer_groups", "ranks"]


def peer_groups(layer: pd.DataFrame, peers: str) -> pd.Series:
    """Peer group of each territory of a layer.

    Parameters
    ----------
    layer : DataFrame
        A reference layer indexed by code (``reference.epci``, ``reference.departements``,
        ``reference.communes``...) with the column named by ``peers``.
    peers : str
        ``"france"`` (one group), or a column of the layer: ``"departement"``, ``"region"``,
        ``"epci"``.

    Returns
    -------
    Series of str indexed like ``layer``.
    """
    if peers == "france":
        return pd.Series("FR", index=layer.index, dtype="string")
    check_level(peers)
    return layer[peers].astype("string")


def ranks(table: pd.DataFrame, peers: pd.Series | None = None,
          columns: list[str] | None = None) -> pd.DataFrame:
    """Rank of each territory among its peers for each indicator.

    Parameters
    ----------
    table : DataFrame
        Indicator table at one level, indexed by code.
    peers : Series, optional
        code -> peer group (:func:`peer_groups`); ``None``: all rows are peers.
    columns : list of str, optional
        Indicators to rank; default: every registered indicator present in ``table``.

    Returns
    -------
    DataFrame indexed like ``table``: ``groupe_pairs``, ``nb_pairs`` (territories in the
    group) and ``rang_<indicator>`` (Int64; 1 = highest, ties share the lowest rank,
    ``pd.NA`` for a missing value).

    Examples
    --------
    >>> t = pd.DataFrame({"structures": [5, 9, 5]}, index=["a", "b", "c"])
    >>> ranks(t)["rang_structures"].tolist()
    [2, 1, 2]
    """
    cols = columns or [c for c in table.columns if c in INDICATORS]
    group = (pd.Series("FR", index=table.index, dtype="string") if peers is None
             else pd.Series(peers).astype("string").reindex(table.index))
    out = pd.DataFrame({"groupe_pairs": group}, index=table.index)
    out["nb_pairs"] = group.map(group.value_counts()).astype("Int64")
    grouped = table[cols].apply(pd.to_numeric, errors="coerce").groupby(
        group.to_numpy(), dropna=True)
    ranked = grouped.rank(method="min", ascending=False)
    for c in cols:
        out[f"rang_{c}"] = ranked[c].reindex(table.index).round().astype("Int64")
    return out
