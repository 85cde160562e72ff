"""Rural / urban split of every indicator with the INSEE grille communale de densité.

The grid classes communes in 7 levels nested in 3 (INSEE, see
``docs/data-sources.md`` §7): 1 Grands centres urbains -> 1 dense; 2 Centres urbains
intermédiaires, 3 Petites villes, 4 Ceintures urbaines -> 2 intermédiaire; 5 Bourgs ruraux,
6 Rural à habitat dispersé, 7 Rural à habitat très dispersé -> 3 rural.

The density-levels frame (``geodata.density_grid.load_density_grid`` for the official file,
``approximate_density_levels`` otherwise) is indexed by commune code with ``dens7``, ``dens3``,
``libelle``, ``source`` and ``millesime``. When ``source == "approximation"`` the flag is carried
into every output (``densite_source``) so the app labels it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geodata.density_grid import LIBELLES_7
from indicators.checks import require_columns
from indicators.rollup import rollup

__all__ = [
    "DENS3_LABELS",
    "DENS7_LABELS",
    "UNCLASSIFIED",
    "density_levels",
    "density_split",
    "rural_mask",
]

DENS7_LABELS = LIBELLES_7  # one table of the INSEE labels, kept beside the grid loader
DENS3_LABELS = {1: "Communes densément peuplées", 2: "Communes de densité intermédiaire",
                3: "Communes rurales"}
UNCLASSIFIED = "non classée"


def density_levels(communes_index: pd.Index, density: pd.DataFrame) -> pd.DataFrame:
    """Density levels aligned on the communes (missing communes get NA and source "absente").

    Returns
    -------
    DataFrame
        Indexed like ``communes_index``: ``dens3``, ``dens7`` (Int64), ``densite_libelle``
        (label of the 7-level class, or 3-level when only that one is known),
        ``densite_source`` (``insee``/``approximation``/... as given, ``absente`` when missing).
    """
    require_columns(density, ["dens3"], "density levels")
    if density.index.has_duplicates:
        from observatory.errors import DataValidationError, explain

        dup = density.index[density.index.duplicated()].unique().tolist()
        raise DataValidationError(explain(
            "The density grid lists some communes twice.",
            "Each commune has one density level.", "Deduplicate the grid on the commune code.",
            dup), dup)
    aligned = density.reindex(communes_index)
    dens3 = pd.to_numeric(aligned["dens3"], errors="coerce").astype("Int64")
    dens7 = (pd.to_numeric(aligned["dens7"], errors="coerce").astype("Int64")
             if "dens7" in aligned else pd.Series(pd.NA, index=communes_index, dtype="Int64"))
    label = dens7.map(DENS7_LABELS).astype("string")
    label = label.fillna(dens3.map(DENS3_LABELS).astype("string"))
    source = (aligned["source"].astype("string") if "source" in aligned
              else pd.Series("insee", index=communes_index, dtype="string"))
    source = source.mask(dens3.isna(), "absente")
    return pd.DataFrame({"dens3": dens3, "dens7": dens7, "densite_libelle": label,
                         "densite_source": source}, index=communes_index)


def rural_mask(levels: pd.DataFrame) -> np.ndarray:
    """Boolean array: rural communes (7-level 5–7, or 3-level 3 when ``dens7`` is missing)."""
    dens7 = levels["dens7"].to_numpy(dtype="float64", na_value=np.nan)
    dens3 = levels["dens3"].to_numpy(dtype="float64", na_value=np.nan)
    return np.where(np.isnan(dens7), dens3 == 3, dens7 >= 5)


def density_split(base: pd.DataFrame, communes: pd.DataFrame, density: pd.DataFrame, *,
                  level: str = "region", grid: str = "dens3", groups=None,
                  names: pd.Series | None = None) -> pd.DataFrame:
    """Every indicator of ``base`` split by density level inside each territory.

    Parameters
    ----------
    base : DataFrame
        Commune-level extensive table (:func:`indicators.table.commune_base`).
    communes : DataFrame
        Reference communes.
    density : DataFrame
        Density levels (``dens3``, ``dens7``, ``source``).
    level : str
        Territorial level of the split (``commune`` to ``region``), or ``groups``.
    grid : {"dens3", "dens7"}
        Which grid to split by.

    Returns
    -------
    DataFrame
        Indexed by ``(code, classe)`` (classe = the level number as text, or ``non classée``),
        with ``classe_libelle`` and ``densite_source`` ("approximation" when the levels are
        approximated, joined with "+" if mixed) in front of the rolled-up indicators.
    """
    if grid not in ("dens3", "dens7"):
        raise ValueError(f"grid must be 'dens3' or 'dens7', not {grid!r}")
    levels = density_levels(base.index, density)
    classes = levels[grid].astype("string").fillna(UNCLASSIFIED)
    out = rollup(base, communes, level, groups=groups, split=classes, names=names)
    labels = DENS7_LABELS if grid == "dens7" else DENS3_LABELS
    text_labels = {str(k): v for k, v in labels.items()} | {UNCLASSIFIED: UNCLASSIFIED}
    cls = pd.Series(out.index.get_level_values("classe"), dtype="string")
    out.insert(0, "classe_libelle", pd.array(cls.map(text_labels).fillna(UNCLASSIFIED),
                                             dtype="string"))
    pairs = pd.DataFrame({"classe": classes.to_numpy(),
                          "source": levels["densite_source"].to_numpy()}).drop_duplicates()
    sources = pairs.dropna().sort_values("source").groupby("classe")["source"].agg("+".join)
    out.insert(1, "densite_source", pd.array(sources.reindex(cls.to_numpy()).to_numpy(),
                                             dtype="string"))
    return out
