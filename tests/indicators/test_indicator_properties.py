"""Property tests (hypothesis) of the roll-up on random structures over the 4×4 grid."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from indicator_grid import make_grid, make_structures

from indicators.registry import FAMILIES, INDICATORS
from indicators.rollup import rollup
from indicators.table import commune_base, indicator_table

GRID = make_grid()
BANDS = ["NN", "00", "01", "02", "12", "21", "53", None]
NAFS = ["88.99B", "94.99Z", "85.59A", "47.11B", "64.19Z", "56.10A", "10.71C"]

structure = st.fixed_dictionaries({
    "r": st.integers(0, 3), "c": st.integers(0, 3),
    "dx": st.floats(0.05, 0.95), "dy": st.floats(0.05, 0.95),
    "famille_ess": st.sampled_from(FAMILIES),
    "tranche_effectif": st.sampled_from(BANDS),
    "naf": st.sampled_from(NAFS),
    "etat_administratif": st.sampled_from(["A", "A", "A", "F"]),
})
populations = st.lists(st.integers(0, 5000), min_size=16, max_size=16)
SETTINGS = settings(max_examples=12, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def _grid_with(pops):
    g = GRID.copy()
    g["population"] = pd.array(pops, dtype="Int64")
    return g


def _extensive(frame):
    return [c for c in frame.columns if c in INDICATORS and INDICATORS[c].kind == "extensive"]


@SETTINGS
@given(items=st.lists(structure, min_size=0, max_size=25), pops=populations)
def test_epci_and_departement_totals_equal_direct_totals(items, pops):
    g = _grid_with(pops)
    s = make_structures(items, g)
    region = indicator_table(s, g, "region")
    for level in ("commune", "epci", "departement"):
        t = indicator_table(s, g, level)
        for col in _extensive(region):
            assert t[col].sum() == pytest.approx(region[col].sum(), rel=1e-9, abs=1e-6), col
    # computing the département directly from its communes gives the same row
    dep = indicator_table(s, g, "departement")
    direct = indicator_table(s, g, groups={c: g.loc[c, "departement"] for c in g.index})
    cols = [c for c in dep.columns if c not in ("nom", "motif_na")]
    pd.testing.assert_frame_equal(dep[cols], direct[cols], check_dtype=False, check_names=False)


@SETTINGS
@given(items=st.lists(structure, min_size=0, max_size=25), pops=populations)
def test_rates_are_recomputed_from_sums(items, pops):
    g = _grid_with(pops)
    s = make_structures(items, g)
    communes = indicator_table(s, g, "commune")
    epci = indicator_table(s, g, "epci")
    for code, part in communes.groupby(g["epci"].reindex(communes.index).to_numpy()):
        pop, n = part["population"].sum(), part["structures"].sum()
        got = epci.loc[code, "structures_per_10k"]
        if pop == 0:
            assert pd.isna(got) and "population nulle" in epci.loc[code, "motif_na"]
        else:
            assert got == pytest.approx(n / pop * 10_000)
        shares = part[[c for c in part.columns if c.startswith("n_secteur_")
                       and not c.endswith("_per_10k")]].sum()
        hhi = epci.loc[code, "hhi_secteurs"]
        if n == 0:
            assert pd.isna(hhi)
        else:
            assert hhi == pytest.approx(((shares / n) ** 2).sum() * 10_000)


@SETTINGS
@given(items=st.lists(structure, min_size=1, max_size=15), data=st.data())
def test_moving_a_structure_inside_its_commune_changes_no_count(items, data):
    before = make_structures(items, GRID)
    k = data.draw(st.integers(0, len(items) - 1))
    moved = [dict(it) for it in items]
    moved[k]["dx"] = data.draw(st.floats(0.05, 0.95))
    moved[k]["dy"] = data.draw(st.floats(0.05, 0.95))
    after = make_structures(moved, GRID)
    b = commune_base(before, GRID, with_distance=False)
    a = commune_base(after, GRID, with_distance=False)
    pd.testing.assert_frame_equal(b, a)


def test_rollup_of_custom_groups_matches_manual_sum():
    g = GRID
    base = pd.DataFrame({"structures": np.arange(16), "population": np.arange(16) * 10},
                        index=g.index)
    groups = pd.Series({"21001": "A", "21002": "A", "21016": "B"})
    out = rollup(base, groups=groups)
    # A: 0 + 1 structures for 0 + 10 inhabitants -> 1 / 10 × 10 000 = 1 000
    assert out.loc["A", "structures"] == 1
    assert out.loc["A", "structures_per_10k"] == pytest.approx(1000)
    assert out.loc["B", "structures_per_10k"] == pytest.approx(15 / 150 * 1e4)


snapshot_row = st.fixed_dictionaries({
    "siret": st.sampled_from([f"{i:014d}" for i in range(12)]),
    "r": st.integers(0, 3), "c": st.integers(0, 3),
    "dx": st.sampled_from([0.2, 0.5, 0.8]), "dy": st.sampled_from([0.2, 0.5, 0.8]),
    "etat_administratif": st.sampled_from(["A", "A", "F"]),
})


def _snapshot(rows):
    unique = list({row["siret"]: row for row in rows}.values())
    return make_structures(unique, GRID)


@SETTINGS
@given(old=st.lists(snapshot_row, max_size=12), new=st.lists(snapshot_row, max_size=12),
       level=st.sampled_from(["commune", "epci", "departement", "region"]))
def test_change_identity_holds_for_any_pair_of_snapshots(old, new, level):
    from indicators.change import change_by_territory

    a, b = _snapshot(old), _snapshot(new)
    t = change_by_territory(a, b, level, GRID)
    lhs = (t["structures_avant"] + t["nouveaux"] - t["fermes"] + t["entrees_deplacement"]
           - t["sorties_deplacement"])
    assert (lhs == t["structures_apres"]).all()
    assert t["structures_apres"].sum() == int((b["etat_administratif"] == "A").sum())
    assert t["structures_avant"].sum() == int((a["etat_administratif"] == "A").sum())


@SETTINGS
@given(items=st.lists(structure, min_size=1, max_size=25))
def test_location_quotients_average_to_one(items):
    from indicators.concentration import location_quotients

    s = make_structures(items, GRID)
    t = indicator_table(s, GRID, "epci")
    lq = location_quotients(t)
    total = t["structures"].sum()
    for fam in FAMILIES:
        col = f"lq_{fam}"
        n_fam = t[f"n_{fam}"].sum()
        if total == 0 or n_fam == 0:
            continue
        weights = t["structures"] / total
        assert (weights * lq[col].fillna(0)).sum() == pytest.approx(1.0)
