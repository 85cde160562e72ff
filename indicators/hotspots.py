"""Hot spots: local Getis-Ord Gi* and local Moran's I (LISA) with PySAL.

Both run on a value per territory (structures per 10,000 inhabitants by default) with Queen
contiguity weights (:meth:`libpysal.weights.Queen.from_dataframe`); territories without any
neighbour (islands) are linked to their nearest territory (:func:`libpysal.weights.attach_islands`)
so every observation takes part. Pseudo p-values come from ``permutations`` conditional
permutations (999 by default) drawn from a seeded generator, so a run is reproducible; a
result is significant when its p-value is below the false-discovery-rate threshold
(:func:`esda.fdr`) at ``alpha`` (0.05), or below ``alpha`` itself with ``fdr=False``.

Territories whose value is missing (no population) or that have no geometry are left out of
the weights and reported with a reason.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from indicators.checks import check_crs
from observatory.errors import DataValidationError, explain

__all__ = ["QUADRANTS", "contiguity_weights", "hot_spots"]

QUADRANTS = {1: "HH", 2: "LH", 3: "LL", 4: "HL"}
LABELS_FR = {
    "HH": "Forte densité entourée de forte densité",
    "LL": "Faible densité entourée de faible densité",
    "HL": "Forte densité entourée de faible densité",
    "LH": "Faible densité entourée de forte densité",
}


def contiguity_weights(territories):
    """Queen contiguity weights, islands attached to their nearest neighbour.

    Parameters
    ----------
    territories : GeoDataFrame
        Indexed by code, EPSG:4326 polygons.

    Returns
    -------
    libpysal.weights.W with ids = the index, and the list of island codes that were attached.
    """
    from libpysal import weights

    check_crs(territories)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = weights.Queen.from_dataframe(territories, use_index=True, silence_warnings=True)
    islands = list(w.islands)
    if islands and len(territories) > 1:
        centroids = territories.geometry.representative_point()
        pts = np.column_stack([centroids.x.to_numpy(), centroids.y.to_numpy()])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            knn = weights.KNN(pts, k=1, ids=list(territories.index))
            w = weights.attach_islands(w, knn)
    return w, islands


def hot_spots(territories, values: pd.Series, *, permutations: int = 999,
              alpha: float = 0.05, seed: int = 20_261_123, fdr: bool = True,
              weights=None) -> pd.DataFrame:
    """Local Gi* and local Moran's I of ``values`` over ``territories``.

    Parameters
    ----------
    territories : GeoDataFrame
        Polygons indexed by code (communes, EPCI...).
    values : Series
        Value per code (e.g. ``structures_per_10k``); NA values are left out.
    permutations : int
        Conditional permutations for the pseudo p-values.
    alpha : float
        Significance level.
    seed : int
        Seed of the permutations (same seed, same result).
    fdr : bool
        Apply the false-discovery-rate correction (:func:`esda.fdr`).
    weights : libpysal.weights.W, optional
        Precomputed weights on exactly the territories with a value (saves time when the
        function runs several times).

    Returns
    -------
    DataFrame indexed like ``territories``: ``valeur``, ``gi_z``, ``gi_p``, ``gi_classe``
    (``point chaud``/``point froid``/``non significatif``), ``lisa_i``, ``lisa_p``,
    ``lisa_quadrant`` (HH/LH/LL/HL), ``lisa_classe`` (the quadrant when significant, else
    ``non significatif``) and ``motif_na``. ``attrs`` hold the p-value thresholds used
    (``seuil_p_gi``, ``seuil_p_lisa``), ``alpha``, ``permutations``, ``seed`` and ``fdr``.
    When every value is the same, nothing can be tested: classes are ``non significatif``
    and ``motif_na`` says why.
    """
    import esda

    vals = pd.to_numeric(pd.Series(values).reindex(territories.index), errors="coerce")
    vals = vals.astype("Float64")
    geom = territories.geometry
    has_geom = ~(geom.isna().to_numpy() | geom.is_empty.to_numpy())
    keep = vals.notna().to_numpy() & has_geom
    if keep.sum() < 3:
        raise DataValidationError(explain(
            f"Only {int(keep.sum())} territories have a value.",
            "Local spatial statistics need at least 3 territories with a value.",
            "Choose a larger area or a level with more territories."))
    sub = territories.loc[keep]
    y = vals[keep].to_numpy(dtype="float64")
    if np.ptp(y) == 0:
        return _constant(territories, vals, keep, permutations, alpha, seed, fdr)
    w = contiguity_weights(sub)[0] if weights is None else weights
    if list(w.id_order) != list(sub.index):
        if set(w.id_order) != set(sub.index):
            raise DataValidationError(explain(
                "The weights given do not cover exactly the territories with a value.",
                f"{len(w.id_order)} ids in the weights, {len(sub)} territories with a value "
                "and a geometry.",
                "Build the weights on those territories (contiguity_weights), or omit "
                "weights=."))
        w.id_order = list(sub.index)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gi = esda.G_Local(y, w, transform="R", permutations=permutations, star=True,
                          keep_simulations=False, n_jobs=1, seed=seed)
        lisa = esda.Moran_Local(y, w, transformation="r", permutations=permutations,
                                keep_simulations=False, n_jobs=1, seed=seed)
    gi_p = np.asarray(gi.p_sim, dtype="float64")
    li_p = np.asarray(lisa.p_sim, dtype="float64")
    if fdr:
        gi_cut = float(esda.fdr(gi_p, alpha))
        li_cut = float(esda.fdr(li_p, alpha))
    else:
        gi_cut = li_cut = alpha
    gi_z = np.asarray(gi.Zs, dtype="float64")
    gi_sig = gi_p <= gi_cut
    gi_class = np.where(gi_sig & (gi_z > 0), "point chaud",
                        np.where(gi_sig & (gi_z < 0), "point froid", "non significatif"))
    quad = np.array([QUADRANTS.get(int(q), "") for q in lisa.q], dtype=object)
    li_sig = li_p <= li_cut
    li_class = np.where(li_sig, quad, "non significatif")

    def full(arr, dtype):
        s = pd.Series(pd.NA, index=territories.index, dtype=dtype)
        s.iloc[np.flatnonzero(keep)] = arr
        return s

    out = pd.DataFrame({
        "valeur": vals,
        "gi_z": full(gi_z, "Float64"), "gi_p": full(gi_p, "Float64"),
        "gi_classe": full(gi_class, "string"),
        "lisa_i": full(np.asarray(lisa.Is, dtype="float64"), "Float64"),
        "lisa_p": full(li_p, "Float64"),
        "lisa_quadrant": full(quad, "string"), "lisa_classe": full(li_class, "string"),
    }, index=territories.index)
    reason = np.where(~has_geom, "contour inconnu : exclu de l'analyse",
                      "valeur manquante (population nulle) : exclu de l'analyse")
    out["motif_na"] = pd.array(np.where(keep, None, reason), dtype="string")
    out.attrs.update({"seuil_p_gi": gi_cut, "seuil_p_lisa": li_cut, "alpha": alpha,
                      "permutations": permutations, "seed": seed, "fdr": fdr})
    return out


def _constant(territories, vals, keep, permutations, alpha, seed, fdr) -> pd.DataFrame:
    """Every value is the same: no spatial pattern can be tested (defined, explained result)."""
    out = pd.DataFrame({
        "valeur": vals,
        "gi_z": pd.array([pd.NA] * len(vals), dtype="Float64"),
        "gi_p": pd.array([pd.NA] * len(vals), dtype="Float64"),
        "gi_classe": pd.array(np.where(keep, "non significatif", None), dtype="string"),
        "lisa_i": pd.array([pd.NA] * len(vals), dtype="Float64"),
        "lisa_p": pd.array([pd.NA] * len(vals), dtype="Float64"),
        "lisa_quadrant": pd.array([pd.NA] * len(vals), dtype="string"),
        "lisa_classe": pd.array(np.where(keep, "non significatif", None), dtype="string"),
    }, index=territories.index)
    out["motif_na"] = pd.array(np.where(
        keep, "valeur identique partout : aucune structure spatiale à tester",
        "valeur manquante ou contour inconnu : exclu de l'analyse"), dtype="string")
    out.attrs.update({"seuil_p_gi": None, "seuil_p_lisa": None, "alpha": alpha,
                      "permutations": permutations, "seed": seed, "fdr": fdr})
    return out
