"""Hot spots: local Getis-Ord Gi* and local Moran's I (LISA) with PySAL.

Both run on a value per territory (structures per 10,000 inhabitants by default) with Queen
contiguity weights (:meth:`libpysal.weights.Queen.from_dataframe`); territories without any
neighbour (islands) are linked to their nearest territory (:func:`libpysal.weights.attach_islands`)
so every observation takes part.  Territories whose value is missing (no population) or that
have no geometry are left out of the weights and reported with a reason.

Gi*
---
The standard Gi* of Getis & Ord (1992) and Ord & Getis (1995): **binary** weights, the
territory itself included (``w_ii = 1``), so that with ``W_i = sum_j w_ij`` (the territory and
its neighbours), ``x̄`` and ``s`` the mean and standard deviation (divisor n) of the n values::

    z_i = (sum_j w_ij x_j - x̄ W_i) / (s * sqrt((n W_i - W_i²) / (n - 1)))

(:class:`esda.G_Local` with ``transform="B", star=True``; its analytic variance is the one of
binary weights: with row-standardised weights, as before, the z-scores came out too small by
``sqrt(W_i (n - 1) / (n - W_i))``, a median factor of 2.46 on the Côte-d'Or communes).  ``z_i`` is
undefined when the territory and its neighbours are the whole area (``W_i = n``).

Significance: **enough random draws for the number of tests, with the Benjamini-Hochberg
false-discovery rate**.  Under the null hypothesis (the values placed at random over the
territories, as for the variance above), the sum over a neighbourhood of m
territories is the sum of m values drawn at random without replacement among the n: its
distribution depends on m only, not on the territory.  So one null per neighbourhood size
(23 sizes for the metropolitan communes) is simulated with ``gi_draws(n, alpha) =
ceil(2 n / alpha)`` draws (27,920 for the 698 communes of the Côte-d'Or, 1.4 million for the
34,742 metropolitan communes: 9.6 s here), and the two-sided p-value is the share of draws
at least as far from their mean as the observed sum (``|z|`` as large), plus one.  The
smallest p-value is thus below ``alpha / (2 n)``, under the smallest Benjamini-Hochberg
threshold ``alpha / n``: the threshold (:func:`esda.fdr`, ``alpha`` = 5 %) can always be
reached, and it keeps the expected share of false hot/cold spots among those reported at or
below 5 %.

Why not the alternatives (measured on a 15 × 15 lattice of values drawn at random, 40 seeds;
the share of runs with a hot or cold spot must stay near 5 %):

* 999 conditional permutations per territory (as before): the smallest pseudo p-value is
  0.001, above ``alpha / n`` (7.2e-5 for 698 communes): no hot spot could come out unless 14
  communes reached the floor at once.  ``n / alpha`` permutations per territory would cost
  n times more than one null per size.
* analytic normal p-values: exact moments, but the sum of a few skewed values is far from
  normal: false spots in 2/40 runs on uniform values, 6/40 on gamma and 24/40 on log-normal
  values (rates per inhabitant are skewed like these), against 2/40, 2/40 and 3/40 with the
  draws (tests/indicators/test_hotspots_gi.py).

``METHOD_FR`` says this in French for the Méthode page.

Local Moran's I keeps ``permutations`` conditional permutations (999 by default, seeded, so a
run is reproducible), its usual inference, with the same FDR correction; the floor of 999
permutations above applies to it (not changed here): on many territories only large clusters
can pass.  With ``fdr=False`` both use ``alpha`` itself.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from indicators.checks import check_crs
from observatory.errors import DataValidationError, explain

__all__ = ["METHOD_FR", "QUADRANTS", "contiguity_weights", "gi_draws", "gi_star",
           "hot_spots"]

METHOD_FR = (
    "**Points chauds et points froids (Gi\\* de Getis et Ord).** Pour chaque territoire, on "
    "fait la somme de sa valeur et de celles des territoires qui le touchent (tous du même "
    "poids) et on la compare à ce qu'elle serait si les valeurs étaient réparties au hasard "
    "entre les territoires de la zone étudiée : le score z mesure cet écart en écarts types "
    "(formule d'Ord et Getis, 1995). La p-value est la part des répartitions au hasard, "
    "tirées en grand nombre (au moins 40 fois le nombre de territoires), qui s'écartent "
    "autant ou plus, dans un sens ou dans l'autre. Comme on teste d'un coup tous les "
    "territoires de la zone, le seuil est corrigé par la procédure de Benjamini-Hochberg : "
    "parmi les territoires signalés, la part de faux signaux attendue est d'au plus 5 %. Le "
    "seuil retenu, compris entre 5 % divisé par le nombre de territoires et 5 %, accompagne "
    "chaque résultat. Un territoire est « point chaud » si son score z est positif et sa "
    "p-value sous ce seuil, « point froid » s'il est négatif. Un point chaud signale un "
    "regroupement de valeurs élevées, pas sa cause ; il dépend du découpage et de la zone "
    "étudiée."
)

# Stored in the result's attrs: how gi_p was obtained.
GI_METHOD = "Gi* sur poids binaires, p-value par tirages aléatoires (bilatérale)"
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
        Conditional permutations for the pseudo p-values of local Moran's I (Gi* uses
        analytic p-values, see the module docstring).
    alpha : float
        Significance level (false-discovery rate with ``fdr``).
    seed : int
        Seed of the permutations (same seed, same result).
    fdr : bool
        Apply the Benjamini-Hochberg false-discovery-rate correction (:func:`esda.fdr`).
    weights : libpysal.weights.W, optional
        Precomputed weights on exactly the territories with a value (saves time when the
        function runs several times).

    Returns
    -------
    DataFrame indexed like ``territories``: ``valeur``, ``gi_z`` (Gi* z-score), ``gi_p`` (its
    two-sided normal p-value; NA where Gi* is undefined), ``gi_classe``
    (``point chaud``/``point froid``/``non significatif``), ``lisa_i``, ``lisa_p``,
    ``lisa_quadrant`` (HH/LH/LL/HL), ``lisa_classe`` (the quadrant when significant, else
    ``non significatif``) and ``motif_na``. ``attrs`` hold the p-value thresholds used
    (``seuil_p_gi``, ``seuil_p_lisa``), ``alpha``, ``permutations``, ``seed``, ``fdr`` and
    ``methode_gi``.
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
    draws = max(permutations, gi_draws(len(y), alpha))
    gi_z, gi_p = gi_star(y, w, draws=draws, seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lisa = esda.Moran_Local(y, w, transformation="r", permutations=permutations,
                                keep_simulations=False, n_jobs=1, seed=seed)
    li_p = np.asarray(lisa.p_sim, dtype="float64")
    tested = np.isfinite(gi_p)
    if fdr:
        gi_cut = float(esda.fdr(gi_p[tested], alpha)) if tested.any() else alpha
        li_cut = float(esda.fdr(li_p, alpha))
    else:
        gi_cut = li_cut = alpha
    gi_sig = tested & (np.nan_to_num(gi_p, nan=1.0) <= gi_cut)
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
        "gi_z": full(_na(gi_z), "Float64"), "gi_p": full(_na(gi_p), "Float64"),
        "gi_classe": full(gi_class, "string"),
        "lisa_i": full(np.asarray(lisa.Is, dtype="float64"), "Float64"),
        "lisa_p": full(li_p, "Float64"),
        "lisa_quadrant": full(quad, "string"), "lisa_classe": full(li_class, "string"),
    }, index=territories.index)
    reason = np.where(~has_geom, "contour inconnu : exclu de l'analyse",
                      "valeur manquante (population nulle) : exclu de l'analyse")
    out["motif_na"] = pd.array(np.where(keep, None, reason), dtype="string")
    out.attrs.update({"seuil_p_gi": gi_cut, "seuil_p_lisa": li_cut, "alpha": alpha,
                      "permutations": permutations, "tirages_gi": draws, "seed": seed,
                      "fdr": fdr, "methode_gi": GI_METHOD})
    return out



def _na(values: np.ndarray) -> pd.array:
    """Float array with NaN (undefined z or p) as NA."""
    return pd.array(np.where(np.isfinite(values), values, np.nan), dtype="Float64")


def gi_draws(n: int, alpha: float) -> int:
    """Random draws of the Gi* null so that the smallest p-value is below ``alpha / (2 n)``.

    >>> gi_draws(698, 0.05)
    27920
    """
    return int(np.ceil(2 * n / alpha))


def gi_star(y: np.ndarray, w, *, draws: int, seed=None) -> tuple[np.ndarray, np.ndarray]:
    """Gi* z-scores on binary weights (self included) and their randomization p-values.

    Parameters
    ----------
    y : array
        Values, in the order of ``w.id_order``.
    w : libpysal.weights.W
        Contiguity weights without self-links (any transform: only the links are used).
    draws : int
        Random placements of the values drawn for each neighbourhood size (see
        :func:`gi_draws`).
    seed : int, optional
        Seed of the draws.

    Returns
    -------
    (array, array)
        ``z`` and the two-sided ``p``; NaN where Gi* is undefined (the territory and its
        neighbours are the whole area).  See the module docstring.
    """
    import esda

    y = np.asarray(y, dtype="float64")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 0/0 where W_i = n, turned into NaN below
        gi = esda.G_Local(y, w, transform="B", star=True, permutations=0,
                          keep_simulations=False)
    z = np.asarray(gi.Zs, dtype="float64")
    z = np.where(np.isfinite(z), z, np.nan)
    binary = gi.w.sparse  # 0/1 links, diagonal 1 (star)
    size = np.rint(np.asarray(binary.sum(axis=1)).ravel()).astype(np.int64)
    deviation = np.abs(binary @ y - size * y.mean())
    p = np.full(len(y), np.nan)
    tested = np.flatnonzero(np.isfinite(z))
    if len(tested):
        p[tested] = _randomization_p(y, size[tested], deviation[tested], draws,
                                     np.random.default_rng(seed))
    return z, p


def _randomization_p(y, size, deviation, draws, rng) -> np.ndarray:
    """P(|S - m ȳ| >= observed) when m of the n values are drawn at random (no replacement).

    Under the null the sum S over a neighbourhood of m territories (itself included) is the
    sum of m values taken at random among the n, whoever the territory: one null per size m.
    Each row is a random permutation of the values cut into blocks of m (each block is such
    a draw); the cumulative sum gives the block sums.
    """
    n = len(y)
    sizes = np.unique(size)
    groups = {m: np.flatnonzero(size == m) for m in sizes}
    rows = int(np.ceil(draws / (n // sizes.max())))
    chunk = max(1, 2_000_000 // n)
    tol = 1e-9 * (np.abs(y).sum() + 1.0)  # round-off of the float sums
    counts = np.zeros(len(size))
    total = dict.fromkeys(sizes, 0)
    for start in range(0, rows, chunk):
        r = min(chunk, rows - start)
        cumsum = np.zeros((r, n + 1))
        np.cumsum(rng.permuted(np.tile(y, (r, 1)), axis=1), axis=1, out=cumsum[:, 1:])
        for m in sizes:
            b = n // m
            sims = np.abs(cumsum[:, m:b * m + 1:m] - cumsum[:, 0:b * m:m] - m * y.mean())
            sims = np.sort(sims, axis=None)
            counts[groups[m]] += sims.size - np.searchsorted(sims, deviation[groups[m]] - tol)
            total[m] += sims.size
    return (1.0 + counts) / (1.0 + np.array([total[m] for m in size], dtype="float64"))


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
                      "permutations": permutations, "tirages_gi": 0, "seed": seed,
                      "fdr": fdr, "methode_gi": GI_METHOD})
    return out
