"""Smaller units: per-category distances, sectors, band year, empty inputs, group errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from indicator_grid import make_structures

from indicators.concentration import location_quotients
from indicators.coverage import structure_distances
from indicators.employment import band_year
from indicators.rollup import rollup
from indicators.sectors import ess_sector
from indicators.table import indicator_table
from observatory.errors import DataValidationError
from observatory.schema import empty_structures


def test_distances_per_family(grid, base_structures):
    # the only active cooperative is S2 at (x, y) = (2, 3) km from the grid origin;
    # 21016's centre is (35, 35) km -> √(33² + 32²) = 45.97 km.
    # the only fondation is S5 at the centre of 21016 (35, 35); 21001's centre (5, 5) is
    # √(30² + 30²) = 42.43 km away. No active mutuelle (S4 is closed): no column.
    d = structure_distances(base_structures, grid, by="famille_ess")
    assert d.loc["21016", "distance_n_cooperative_km"] == pytest.approx(np.hypot(33, 32),
                                                                        abs=1e-3)
    assert d.loc["21001", "distance_n_fondation_km"] == pytest.approx(np.hypot(30, 30),
                                                                      abs=1e-3)
    assert "distance_n_mutuelle_km" not in d.columns
    s = structure_distances(base_structures, grid, by="secteur_ess")
    assert s.loc["21006", "distance_n_secteur_sport_loisirs_km"] == pytest.approx(0, abs=1e-3)


def test_ess_sector_grouping():
    naf = pd.Series(["87.10A", "88.99B", "85.20Z", "93.12Z", "90.01Z", "91.02Z", "65.12Z",
                     "46.90Z", "10.71C", "43.21A", "86.10Z", "55.10Z", "56.10A", "94.99Z",
                     None, None])
    section = pd.Series([None] * 14 + ["K", "Q"])
    assert ess_sector(naf, section).tolist() == [
        "action_sociale", "action_sociale", "enseignement", "sport_loisirs", "arts_culture",
        "arts_culture", "finance_assurance", "commerce", "industrie_construction",
        "industrie_construction", "sante", "hebergement_restauration",
        "hebergement_restauration", "autres", "finance_assurance", "autres"]


def test_band_year_ties_go_to_the_most_recent_year():
    years = np.array([2021, 2022, 2022, 2021, np.nan])
    keys = np.array([0, 0, 1, 1, 2])
    out = band_year(years, keys, pd.Index(["a", "b", "c"]))
    assert out["a"] == 2022 and out["b"] == 2022 and pd.isna(out["c"])


def test_no_structure_at_all(grid):
    t = indicator_table(empty_structures(), grid, "commune")
    assert (t["structures"] == 0).all() and (t["structures_per_10k"].dropna() == 0).all()
    assert t["distance_structure_km"].isna().all()
    assert t["motif_na"].str.contains("aucune structure active localisée").all()
    r = indicator_table(empty_structures(), grid, "region")
    assert r.loc["27", "population_plus_20km"] == 12_000  # everybody is "farther"
    assert pd.isna(r.loc["27", "distance_moyenne_km"])


def test_object_dtype_codes_work(grid, base_structures):
    cols = ("siret", "commune", "famille_ess", "etat_administratif")
    obj = base_structures.astype(dict.fromkeys(cols, object))
    a = indicator_table(obj, grid, "epci")
    b = indicator_table(base_structures, grid, "epci")
    assert a["structures"].tolist() == b["structures"].tolist()


def test_group_errors(grid):
    base = pd.DataFrame({"structures": [1] * 16, "population": [10] * 16}, index=grid.index)
    with pytest.raises(DataValidationError, match="not in the reference"):
        rollup(base, groups={"99999": "A"})
    with pytest.raises(DataValidationError, match="not text"):
        rollup(base, groups=pd.Series({1001: "A"}))
    with pytest.raises(DataValidationError, match="needs the communes"):
        rollup(base, level="epci")


def test_location_quotient_against_explicit_national_totals(grid):
    # a région table alone cannot be its own reference: pass France's totals.
    t = pd.DataFrame({"structures": [10], "n_association": [9]}, index=["27"])
    france = pd.DataFrame({"structures": [100], "n_association": [60]}, index=["FR"])
    lq = location_quotients(t, reference_totals=france)
    assert lq.loc["27", "lq_association"] == pytest.approx((9 / 10) / (60 / 100))


def test_moved_structure_changes_distance_not_counts(grid):
    a = make_structures([{"r": 0, "c": 0, "dx": 0.1, "dy": 0.1}], grid)
    b = make_structures([{"r": 0, "c": 0, "dx": 0.9, "dy": 0.9}], grid)
    ta, tb = indicator_table(a, grid, "commune"), indicator_table(b, grid, "commune")
    assert ta["structures"].tolist() == tb["structures"].tolist()
    # centre of 21002 is (15, 5) km: from (1, 1) -> √(14² + 4²); from (9, 9) -> √(6² + 4²)
    assert ta.loc["21002", "distance_structure_km"] == pytest.approx(np.hypot(14, 4), abs=1e-3)
    assert tb.loc["21002", "distance_structure_km"] == pytest.approx(np.hypot(6, 4), abs=1e-3)


def test_commune_without_geometry_gets_a_reason(grid, base_structures):
    g = grid.copy()
    g.loc["21002", "geometry"] = None
    t = indicator_table(base_structures, g, "commune")
    assert pd.isna(t.loc["21002", "distance_structure_km"])
    assert "contour de la commune inconnu" in t.loc["21002", "motif_na"]
    assert t.loc["21003", "distance_structure_km"] > 0


def test_label_fr_covers_derived_outputs(grid, base_structures):
    from indicators.change import change_by_territory, structure_changes
    from indicators.ranks import ranks
    from indicators.registry import label_fr

    t = indicator_table(base_structures, grid, "epci")
    frames = [ranks(t), location_quotients(t, by="secteur_ess"),
              structure_distances(base_structures, grid, by="famille_ess"),
              change_by_territory(base_structures, base_structures, "epci", grid),
              structure_changes(base_structures, base_structures)]
    for frame in frames:
        missing = [c for c in frame.columns if label_fr(c) == c]
        assert missing == []
    assert label_fr("rang_structures") == "Rang : Structures de l'ESS actives"
