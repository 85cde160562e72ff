"""One roll-up for every level and for user-defined groups of communes.

Extensive columns (counts, population, area, jobs) are summed over the communes of each
territory; intensive indicators (rates, shares, averages) are then recomputed from the summed
numerators and denominators declared in :data:`indicators.registry.INDICATORS` — never
averaged. A zero denominator (a territory with no population, no area, no structure) gives a
missing value (``pd.NA``) and its reason in the ``motif_na`` column, never a division error.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from indicators.checks import require_columns, require_string_codes
from indicators.registry import INDICATORS, extensive_columns, intensive_indicators
from observatory.errors import DataValidationError, explain
from observatory.vocabulary import check_level

__all__ = ["ZERO_DENOMINATOR_REASONS", "compute_intensive", "rollup"]

#: French reason written in ``motif_na`` when a denominator is zero.
ZERO_DENOMINATOR_REASONS = {
    "population": "population nulle : taux par habitant non définis",
    "superficie_km2": "superficie nulle : densité par km² non définie",
    "structures": "aucune structure active : parts et concentration non définies",
    "nb_communes": "aucune commune",
    "population_distance_connue": "aucune structure dans la zone ou population nulle : "
                                  "distance moyenne non définie",
}


def _reason_for(denominator: str) -> str:
    if denominator in ZERO_DENOMINATOR_REASONS:
        return ZERO_DENOMINATOR_REASONS[denominator]
    label = INDICATORS[denominator].label_fr if denominator in INDICATORS else denominator
    return f"{label} nul(le) : indicateurs rapportés non définis"


def compute_intensive(frame: pd.DataFrame) -> pd.DataFrame:
    """Add every intensive indicator computable from ``frame``'s extensive columns.

    Parameters
    ----------
    frame : DataFrame
        Extensive columns (summed or per commune).

    Returns
    -------
    DataFrame
        A copy with the intensive columns (``Float64``, ``pd.NA`` where the denominator is 0)
        and ``motif_na`` (French reasons joined by " ; ", ``pd.NA`` when nothing is missing).
    """
    new: dict[str, pd.arrays.FloatingArray] = {}
    reasons: dict[str, np.ndarray] = {}
    for name, ind in intensive_indicators().items():
        if ind.compute is not None:
            if "structures" not in frame.columns or not any(
                    c.startswith("n_secteur_") for c in frame.columns):
                continue
            new[name] = pd.array(ind.compute(frame), dtype="Float64")
            zero = frame["structures"].to_numpy(dtype="float64") == 0
            reasons.setdefault("structures", np.zeros(len(frame), bool))
            reasons["structures"] |= zero
            continue
        if ind.numerator not in frame.columns or ind.denominator not in frame.columns:
            continue
        num = frame[ind.numerator].to_numpy(dtype="float64", na_value=np.nan)
        den = frame[ind.denominator].to_numpy(dtype="float64", na_value=np.nan)
        zero = ~(den > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            value = num / den * ind.scale
        missing = zero | np.isnan(value)
        new[name] = pd.arrays.FloatingArray(np.where(missing, 0.0, value), missing)
        reasons.setdefault(ind.denominator, np.zeros(len(frame), bool))
        reasons[ind.denominator] |= zero
    out = pd.concat([frame.drop(columns=[c for c in new if c in frame.columns]),
                     pd.DataFrame(new, index=frame.index)], axis=1)
    motif = np.full(len(frame), "", dtype=object)
    for den, mask in reasons.items():
        if mask.any():
            text = _reason_for(den)
            motif[mask] = np.where(motif[mask] == "", text, motif[mask] + " ; " + text)
    out["motif_na"] = pd.Series(motif, index=frame.index, dtype="string").replace("", pd.NA)
    return out


def _keys(table: pd.DataFrame, communes: pd.DataFrame | None, level: str,
          groups) -> tuple[pd.Series, list[str]]:
    if groups is not None:
        mapping = pd.Series(groups) if isinstance(groups, Mapping) else groups
        if not isinstance(mapping, pd.Series):
            raise DataValidationError(explain(
                "groups must map commune codes to group names.",
                f"Got an object of type {type(groups).__name__}.",
                "Pass a dict {commune_code: group} or a Series indexed by commune code."))
        require_string_codes(mapping.index, "groups (commune)")
        if mapping.index.has_duplicates:
            dup = mapping.index[mapping.index.duplicated()].unique().tolist()
            raise DataValidationError(explain(
                "A commune is assigned to several groups.",
                "Each commune may belong to one group only, or it would be counted twice.",
                "Give each commune one group (or compute each group separately).", dup), dup)
        unknown = mapping.index.difference(table.index).tolist()
        if unknown:
            raise DataValidationError(explain(
                f"{len(unknown)} commune code(s) of the groups are not in the reference.",
                "A group is made of communes of the current COG.",
                "Check the codes (5 characters, '2A004' style) or map old codes first.",
                unknown), unknown)
        keys = mapping.astype("string").reindex(table.index)
    else:
        check_level(level)
        if level == "commune":
            keys = pd.Series(table.index, index=table.index, dtype="string")
        else:
            if communes is None:
                raise DataValidationError(explain(
                    f"Rolling up to {level!r} needs the communes reference.",
                    "The commune -> territory mapping comes from the reference.",
                    "Pass communes=reference.communes."))
            require_columns(communes, [level], "communes")
            keys = communes[level].astype("string").reindex(table.index)
    orphans = keys.index[keys.isna()].tolist()
    return keys, orphans


def rollup(table: pd.DataFrame, communes: pd.DataFrame | None = None,
           level: str = "commune", *, groups=None, split: pd.Series | None = None,
           names: pd.Series | None = None) -> pd.DataFrame:
    """Aggregate a commune-level table to a level or to groups of communes.

    Parameters
    ----------
    table : DataFrame
        Indexed by commune code, with extensive columns of the registry (other columns are
        ignored).
    communes : DataFrame, optional
        Reference communes (columns ``epci``, ``departement``, ``region``); needed for levels
        above the commune.
    level : {"commune", "epci", "departement", "region"}
        Target level (ignored when ``groups`` is given).
    groups : dict or Series, optional
        commune code -> group name (user-defined territories). Communes not listed are left out.
    split : Series, optional
        commune code -> class (e.g. density level): the result is indexed by
        ``(code, classe)``.
    names : Series, optional
        territory code -> name, added as column ``nom``.

    Returns
    -------
    DataFrame
        Indexed by territory code (``code``): summed extensive columns, recomputed intensive
        columns and ``motif_na``. ``attrs["communes_sans_territoire"]`` lists communes that have
        no territory at this level (e.g. the four island communes outside any EPCI).

    Examples
    --------
    >>> t = pd.DataFrame({"structures": [2, 0], "population": [1000, 0]},
    ...                  index=pd.Index(["01001", "01002"], dtype="string"))
    >>> rollup(t, groups={"01001": "G", "01002": "G"})["structures_per_10k"].tolist()
    [20.0]
    """
    keys, orphans = _keys(table, communes, level, groups)
    ext = extensive_columns(table.columns)
    data = table[ext]
    mask = keys.notna().to_numpy()
    data = data.loc[mask]
    by = [keys[mask].rename("code")]
    if split is not None:
        classes = pd.Series(split).reindex(table.index)[mask].rename("classe")
        by.append(classes)
    summed = data.groupby(by, sort=True, dropna=True).sum(min_count=0)
    out = compute_intensive(summed)
    if names is not None:
        codes = out.index.get_level_values("code")
        out.insert(0, "nom", pd.Series(names).astype("string").reindex(codes).to_numpy())
    out.attrs["communes_sans_territoire"] = orphans
    return out
