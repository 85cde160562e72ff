"""Hot spots (Gi*, LISA), location quotients, HHI, ranks and the density split."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from indicators.concentration import herfindahl_hirschman, location_quotients
from indicators.hotspots import hot_spots
from indicators.ranks import peer_groups, ranks
from indicators.rural import density_split
from indicators.table import commune_base, indicator_table


def _lattice(n=10):
    cells = [box(2 + c * 0.1, 45 + r * 0.1, 2 + (c + 1) * 0.1, 45 + (r + 1) * 0.1)
             for r in range(n) for c in range(n)]
    idx = pd.Index([f"{i:05d}" for i in range(n * n)], dtype="string")
    return gpd.GeoDataFrame(geometry=cells, index=idx, crs=4326)


@pytest.fixture()
def planted():
    """10×10 lattice, values ~ U(0, 1) except a 3×3 block (rows/cols 3–5) at 10."""
    gdf = _lattice()
    rng = np.random.default_rng(0)
    vals = rng.uniform(0, 1, 100)
    block = [r * 10 + c for r in (3, 4, 5) for c in (3, 4, 5)]
    vals[block] = 10
    values = pd.Series(vals, index=gdf.index)
    values.iloc[99] = np.nan  # a cell with no population: excluded with a reason
    return gdf, values, block


def test_planted_hot_spot_is_found_and_reproducible(planted):
    gdf, values, block = planted
    a = hot_spots(gdf, values, permutations=199, seed=7)
    b = hot_spots(gdf, values, permutations=199, seed=7)
    pd.testing.assert_frame_equal(a, b)
    centre = gdf.index[4 * 10 + 4]
    assert a.loc[centre, "gi_classe"] == "point chaud"
    assert a.loc[centre, "lisa_classe"] == "HH"
    far = gdf.index[0]
    assert a.loc[far, "gi_classe"] != "point chaud"
    assert a.loc[gdf.index[block], "gi_z"].min() > 0
    assert pd.isna(a.iloc[99]["gi_z"]) and "exclu" in a.iloc[99]["motif_na"]
    c = hot_spots(gdf, values, permutations=199, seed=8)
    assert not np.allclose(a["gi_p"].dropna().to_numpy(dtype=float),
                           c["gi_p"].dropna().to_numpy(dtype=float))


def test_island_is_attached(planted):
    gdf, values, _ = planted
    island = gpd.GeoDataFrame(geometry=[box(3.5, 46.5, 3.6, 46.6)],
                              index=pd.Index(["99999"], dtype="string"), crs=4326)
    both = pd.concat([gdf, island])
    vals = pd.concat([values, pd.Series([5.0], index=island.index)])
    out = hot_spots(both, vals, permutations=99, seed=1)
    assert out.loc["99999", "lisa_quadrant"] in {"HH", "LH", "LL", "HL"}


def test_location_quotients_by_hand():
    # A: 2 associations of 4 structures; B: 2 of 2. France: 4 of 6 -> 2/3.
    # LQ_A = (2/4)/(4/6) = 0.75 ; LQ_B = (2/2)/(4/6) = 1.5 ; C has no structure -> NA.
    t = pd.DataFrame({"structures": [4, 2, 0], "n_association": [2, 2, 0],
                      "n_cooperative": [2, 0, 0]}, index=["A", "B", "C"])
    lq = location_quotients(t)
    assert lq.loc["A", "lq_association"] == pytest.approx(0.75)
    assert lq.loc["B", "lq_association"] == pytest.approx(1.5)
    assert lq.loc["A", "lq_cooperative"] == pytest.approx((2 / 4) / (2 / 6))
    assert pd.isna(lq.loc["C", "lq_association"]) and "aucune structure" in lq.loc["C", "motif_na"]
    # against a région: A and B in R1, C alone in R2 -> R1 totals 4 of 6 as above
    reg = location_quotients(t, reference=pd.Series({"A": "R1", "B": "R1", "C": "R2"}))
    assert reg.loc["B", "lq_association"] == pytest.approx(1.5)


def test_hhi_by_hand():
    # shares 1/2, 1/4, 1/4 -> (0.25 + 0.0625 + 0.0625) × 10 000 = 3 750
    h = herfindahl_hirschman(pd.DataFrame({"a": [2], "b": [1], "c": [1]}))
    assert h.iloc[0] == pytest.approx(3750)


def test_ranks_among_peers(grid, base_structures):
    t = indicator_table(base_structures, grid, "commune")
    r = ranks(t, peer_groups(grid, "departement"), columns=["structures", "structures_per_10k"])
    # département 21: 21001 has 2 structures (rank 1), 21006 one (rank 2), the 6 others
    # 0 (tied, rank 3); 8 peers
    assert r.loc["21001", "rang_structures"] == 1
    assert r.loc["21006", "rang_structures"] == 2
    assert r.loc["21002", "rang_structures"] == 3 and r.loc["21002", "nb_pairs"] == 8
    # département 71: 21016 has no population -> no rate -> no rank
    assert pd.isna(r.loc["21016", "rang_structures_per_10k"])
    assert r.loc["21016", "rang_structures"] == 1


def test_density_split(grid, base_structures):
    # rows 0–1 dense (dens7 1 -> dens3 1), rows 2–3 rural (dens7 7 -> dens3 3)
    dens7 = [1 if int(c[2:]) <= 8 else 7 for c in grid.index]
    density = pd.DataFrame({"dens7": dens7, "dens3": [1 if d == 1 else 3 for d in dens7],
                            "source": "approximation"}, index=grid.index)
    base = commune_base(base_structures, grid, density=density)
    split = density_split(base, grid, density, level="region", grid="dens3")
    assert list(split.index) == [("27", "1"), ("27", "3")]
    assert split.loc[("27", "1"), "structures"] == 3 and split.loc[("27", "3"), "structures"] == 1
    assert split.loc[("27", "3"), "population"] == 8400
    assert split.loc[("27", "1"), "classe_libelle"] == "Communes densément peuplées"
    assert (split["densite_source"] == "approximation").all()
    reg = indicator_table(base_structures, grid, "region", density=density)
    assert reg.loc["27", "part_population_rurale"] == pytest.approx(8400 / 12000 * 100)
    assert reg.loc["27", "part_structures_rurales"] == pytest.approx(25)
    com = indicator_table(base_structures, grid, "commune", density=density)
    assert com.loc["21016", "densite_libelle"] == "Rural à habitat très dispersé"
    assert com.loc["21016", "densite_source"] == "approximation"


def test_constant_values_give_a_defined_result(planted):
    gdf, _, _ = planted
    out = hot_spots(gdf, pd.Series(0.0, index=gdf.index), permutations=99)
    assert (out["gi_classe"] == "non significatif").all()
    assert out["motif_na"].str.contains("identique").all()
