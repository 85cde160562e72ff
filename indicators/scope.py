"""The part of France a snapshot covers, and how much of each territory that is.

A snapshot covers the communes of its ``territoire`` (manifest: ``"france"``,
``"departement:21"``, ``"region:27"``, ``"epci:200006682"``, ``"commune:21231"``).  Indicators
are computed on the covered communes only, as the app does:

* a territory that crosses the edge of the coverage (an EPCI over two départements) is
  computed on its covered part and labelled as partly covered, with the covered share of its
  population;
* a territory without any covered commune is not computed at all: its figures would be zeros
  that nobody measured, and its distances would be measured to the structures of another
  territory.

A manifest without a readable territory (older stores) covers the régions where its
structures are; ``"france"`` covers every commune.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from observatory.vocabulary import LEVELS, check_level

__all__ = ["covered_communes", "coverage_by_territory", "structures_inside", "territory_of"]

_NATIONAL = ("france", "national", "fr")


def territory_of(territoire: object) -> tuple[str | None, str | None]:
    """(level, code) of a manifest's ``territoire`` ("departement:21" -> ("departement",
    "21")); (None, None) for France or an unreadable value.

    >>> territory_of("departement:21"), territory_of("france")
    (('departement', '21'), (None, None))
    """
    text = str(territoire or "").strip()
    if ":" in text:
        level, code = text.split(":", 1)
        level = level.strip().lower()
        if level in LEVELS:
            return level, code.strip()
    return None, None


def covered_communes(communes: pd.DataFrame, territoire: object,
                     structures: pd.DataFrame | None = None) -> pd.DataFrame:
    """The rows of ``communes`` (reference, indexed by code) that a snapshot covers."""
    level, code = territory_of(territoire)
    if level == "commune":
        return communes.loc[communes.index == code]
    if level is not None:
        inside = communes[(communes[level].astype("string") == code).fillna(False)]
        if len(inside):
            return inside
    regions = (structures["region"].dropna().unique()
               if structures is not None and "region" in structures else [])
    if len(regions) == 0 or str(territoire or "").strip().lower() in _NATIONAL:
        return communes
    return communes[communes["region"].isin(list(regions))]


def structures_inside(structures: pd.DataFrame, communes: pd.DataFrame,
                      covered: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """The structures located in a covered commune, and the number of those located in
    another commune of the reference (left out: they belong to no covered territory).
    Structures without a commune, or with a code the reference does not know, are kept for
    the input checks to report."""
    codes = structures["commune"].astype("string")
    elsewhere = (codes.isin(communes.index) & ~codes.isin(covered.index)).fillna(False)
    mask = elsewhere.to_numpy(dtype=bool)
    return structures[~mask], int(mask.sum())


def coverage_by_territory(communes: pd.DataFrame, covered: pd.Index,
                          level: str) -> pd.DataFrame:
    """How much of each territory of ``level`` the coverage holds.

    Parameters
    ----------
    communes : DataFrame
        Every reference commune (``population`` and the level columns).
    covered : Index
        Codes of the covered communes (:func:`covered_communes`).
    level : str
        Level of the territories.

    Returns
    -------
    DataFrame indexed by the codes of the territories with at least one covered commune:
    ``population_territoire`` (whole territory), ``population_couverte_instantane`` (its
    covered part), ``part_territoire_couverte`` (that share in %, NaN for an empty
    territory) and ``complet`` (bool: every commune of the territory is covered).
    """
    check_level(level)
    key = (pd.Series(communes.index, index=communes.index) if level == "commune"
           else communes[level]).astype("string")
    pop = pd.to_numeric(communes["population"], errors="coerce").astype("float64").fillna(0)
    inside = communes.index.isin(covered)
    frame = pd.DataFrame({"key": key.to_numpy(), "pop": pop.to_numpy(),
                          "inside": inside}).dropna(subset=["key"])
    frame["pop_inside"] = np.where(frame["inside"], frame["pop"], 0.0)
    grouped = frame.groupby("key", sort=True).agg(
        population_territoire=("pop", "sum"), population_couverte_instantane=("pop_inside", "sum"),
        communes=("inside", "size"), couvertes=("inside", "sum"))
    grouped = grouped[grouped["couvertes"] > 0]
    total = grouped["population_territoire"]
    out = pd.DataFrame({
        "population_territoire": total.round().astype("int64"),
        "population_couverte_instantane": grouped["population_couverte_instantane"].round()
        .astype("int64"),
        "part_territoire_couverte": (100 * grouped["population_couverte_instantane"]
                                     / total.where(total > 0)),
        "complet": grouped["couvertes"] == grouped["communes"],
    })
    out.index = pd.Index(out.index.astype("string"), name="code")
    return out
