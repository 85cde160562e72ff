"""Gi* (indicators.hotspots): z-scores against the textbook formula, randomization p-values
against exact enumeration, a planted city-like cluster and random data.

The textbook formula (Ord & Getis 1995, binary weights, self included), written here
independently of esda, with ``W_i`` the number of cells in the territory's neighbourhood
(itself included), ``x̄`` and ``s`` the mean and standard deviation (divisor n)::

    z_i = (sum_j w_ij x_j - x̄ W_i) / (s sqrt((n W_i - W_i²) / (n - 1)))
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import box

from indicators.hotspots import METHOD_FR, contiguity_weights, gi_star, hot_spots


def lattice(n: int) -> gpd.GeoDataFrame:
    """n × n square cells of 0.1°, code = row * n + column."""
    cells = [box(2 + c * 0.1, 45 + r * 0.1, 2 + (c + 1) * 0.1, 45 + (r + 1) * 0.1)
             for r in range(n) for c in range(n)]
    return gpd.GeoDataFrame(geometry=cells, crs=4326,
                            index=pd.Index([f"{i:05d}" for i in range(n * n)], dtype="string"))


def textbook_z(gdf: gpd.GeoDataFrame, x: np.ndarray) -> np.ndarray:
    """Gi* by the formula above; neighbours = cells that touch (shapely, not libpysal)."""
    geoms = list(gdf.geometry)
    n, mean = len(x), x.mean()
    s = math.sqrt((x ** 2).mean() - mean ** 2)
    z = np.empty(n)
    for i, g in enumerate(geoms):
        hood = [j for j, h in enumerate(geoms) if j == i or shapely.touches(g, h)]
        big_w = len(hood)
        denominator = s * math.sqrt((n * big_w - big_w ** 2) / (n - 1))
        z[i] = (x[hood].sum() - mean * big_w) / denominator if denominator else np.nan
    return z


# 3 × 3 grid, a 2 × 2 block of ones in the corner (cells 0, 1, 3, 4), zeros elsewhere.
CORNER = np.array([1, 1, 0, 1, 1, 0, 0, 0, 0], dtype=float)


def test_z_by_hand_on_a_3x3_grid():
    """n = 9, x̄ = 4/9, s² = 4/9 - 16/81 = 20/81.

    * cell 0 (corner): W = 4 (itself + 3), sum 4:
      z = (4 - 16/9) / (√20/9 · √((36 - 16)/8)) = (20/9) / (5√2/9) = 2√2 ≈ 2.828;
    * cell 1 (edge): W = 6, sum 4: z = (4 - 24/9) / (√20/9 · √((54 - 36)/8)) = 4/√5 ≈ 1.789;
    * cell 4 (centre): W = 9 = n: undefined.
    With row-standardised weights the old code gave cell 0 a z smaller by √(4·8/5) ≈ 2.53.
    """
    gdf = lattice(3)
    w, _ = contiguity_weights(gdf)
    z, p = gi_star(CORNER, w, draws=20_000, seed=1)
    assert z[0] == pytest.approx(2 * math.sqrt(2), abs=1e-12)
    assert z[1] == pytest.approx(4 / math.sqrt(5), abs=1e-12)
    assert np.isnan(z[4]) and np.isnan(p[4])


def test_p_values_against_exact_enumeration_on_a_3x3_grid():
    """Under the null the 4 (or 6) values of the neighbourhood are any 4 (6) of the 9.

    * cell 0: sum 4, |4 - 4·4/9| = 20/9; of the C(9,4) = 126 subsets of 4 cells, only the
      block of four ones is that far (sum 0 is 16/9 away): p = 1/126 ≈ 0.0079;
    * cell 1: sum 4, |4 - 6·4/9| = 4/3; the number of ones among 6 cells drawn from 4 ones
      and 5 zeros is 4 in C(5,2) = 10 subsets and 1 in C(4,1) = 4 (|1 - 8/3| = 5/3), of
      C(9,6) = 84: p = 14/84 = 1/6.
    """
    gdf = lattice(3)
    w, _ = contiguity_weights(gdf)
    _, p = gi_star(CORNER, w, draws=40_000, seed=2)
    assert p[0] == pytest.approx(1 / 126, abs=0.0015)
    assert p[1] == pytest.approx(1 / 6, abs=0.01)


def test_z_matches_the_textbook_formula_on_random_values():
    gdf = lattice(8)
    x = np.random.default_rng(3).lognormal(0, 1, len(gdf))
    w, _ = contiguity_weights(gdf)
    z, _ = gi_star(x, w, draws=100, seed=1)
    np.testing.assert_allclose(z, textbook_z(gdf, x), rtol=1e-10, atol=1e-12)
    out = hot_spots(gdf, pd.Series(x, index=gdf.index), permutations=9, seed=1)
    np.testing.assert_allclose(out["gi_z"].to_numpy(dtype=float), z, rtol=1e-12)


CITY_N = 25  # 625 cells, about the 698 communes of the Côte-d'Or


def city_values(seed: int = 0) -> tuple[gpd.GeoDataFrame, pd.Series, np.ndarray]:
    """Skewed background (gamma, mean 2) plus a city: 8 · exp(-d / 1.2) at distance d (in
    cells) from the centre cell (12, 12)."""
    gdf = lattice(CITY_N)
    row, col = np.divmod(np.arange(CITY_N ** 2), CITY_N)
    d = np.hypot(row - CITY_N // 2, col - CITY_N // 2)
    rng = np.random.default_rng(seed)
    return gdf, pd.Series(rng.gamma(2.0, 1.0, len(gdf)) + 8 * np.exp(-d / 1.2),
                          index=gdf.index), d


def test_planted_city_is_a_hot_spot_where_planted():
    """Before the fix: 0 hot spot (z of the centre 2.26, p 0.001 > FDR threshold 8e-5)."""
    gdf, values, d = city_values()
    out = hot_spots(gdf, values, permutations=99, seed=1)
    hot = np.flatnonzero(out["gi_classe"] == "point chaud")
    centre = (CITY_N // 2) * CITY_N + CITY_N // 2
    assert centre in hot
    assert len(hot) >= 5 and d[hot].max() <= 2.5  # the centre and its first ring
    assert (out["gi_classe"] != "point froid").all()
    assert out.attrs["seuil_p_gi"] >= 0.05 * len(hot) / len(gdf) - 1e-12  # BH threshold
    assert out.attrs["tirages_gi"] == int(np.ceil(2 * len(gdf) / 0.05))  # recorded as used


def draw(law: str, rng: np.random.Generator, n: int) -> np.ndarray:
    if law == "uniform":
        return rng.uniform(0, 1, n)
    if law == "gamma":
        return rng.gamma(2.0, 1.0, n)
    return rng.lognormal(0, 1, n)


@pytest.mark.parametrize("law", ["uniform", "gamma", "lognormal"])
def test_random_values_rarely_give_a_hot_or_cold_spot(law):
    """Values drawn at random (no pattern): with the FDR at 5 %, the share of runs reporting
    any hot or cold spot is at most 5 % in expectation.  40 fixed seeds (deterministic);
    measured 2, 2 and 3 runs of 40 (with analytic normal p-values: 2, 6 and 24); the bound
    of 4 runs (10 %) leaves room for the Monte-Carlo error of a 5 % rate over 40 runs."""
    gdf = lattice(15)
    w, _ = contiguity_weights(gdf)
    runs = flagged = 0
    for seed in range(40):
        x = draw(law, np.random.default_rng(1000 + seed), len(gdf))
        out = hot_spots(gdf, pd.Series(x, index=gdf.index), permutations=9, seed=seed,
                        weights=w)
        k = int((out["gi_classe"] != "non significatif").sum())
        runs += k > 0
        flagged += k
    assert runs <= 4
    assert flagged <= 0.002 * 40 * len(gdf)  # at most 18 false spots over 9,000 tests


def test_method_text_for_the_methode_page():
    assert "Benjamini-Hochberg" in METHOD_FR and "5 %" in METHOD_FR
    assert "point chaud" in METHOD_FR and "Getis" in METHOD_FR
