"""Main table on the 4×4 grid: answers derived by hand (see conftest.py for the layout).

Active structures of BASE_ITEMS (S4, a closed mutuelle in 21016, is not counted):
  S1 21001 association, band 01 (1 / 1.5 / 2), NAF 88.99B -> action sociale, section Q, 2023
  S2 21001 cooperative, band 12 (20 / 34.5 / 49), NAF 47.11B -> commerce, section G, 2023
  S3 21006 association, band NN (0), NAF 93.12Z -> sport et loisirs, section R, 2022
  S5 21016 fondation, band missing (unknown), NAF 85.59A -> enseignement, section P, 2023
S1, S3, S5 sit at the centres of communes (0,0), (1,1), (3,3).

Population: commune i has 100 i inhabitants (21016: 0); total 100 × (1 + … + 15) = 12 000.
Département 21 = rows 0–1 (21001–21008): population 3 600, 3 structures -> 8.333 per 10 000.
Département 71 = rows 2–3: population 8 400, 1 structure -> 1.190 per 10 000.
EPCI 200000001 = columns 0–1: population 6 000, 3 structures -> 5 per 10 000, 800 km² ->
0.375 per 100 km²; its sectors are 1 + 1 + 1 -> HHI = 3 × (1/3)² × 10 000 = 3 333.3.
EPCI 200000002: population 6 000, 1 structure -> 1.667; one sector -> HHI 10 000.
Distances (km) from commune centres to the nearest of the centres (0,0), (1,1), (3,3):
  21004 (0,3): min(30, √5·10, 30) = 22.36; 21009 (2,0): √2·10 = 14.14; 21008 (1,3): 20.
Coverage: 3 communes of 16 have a structure (18.75 %); population covered 100 + 600 + 0 = 700
(5.833 %). Farther than 5 km: every uncovered commune (all at ≥ 10 km): 12 000 − 700 = 11 300.
Farther than 15 km: 21004 (400), 21008 (800), 21013 (1 300), 21014 (1 400) = 3 900.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from indicators.registry import INDICATORS
from indicators.table import MAIN_COLUMNS, indicator_table, territory_codes


def test_commune_level_counts_and_rates(grid, base_structures):
    t = indicator_table(base_structures, grid, "commune")
    assert list(t.index[:2]) == ["21001", "21002"] and t.index.name == "code"
    assert t["structures"].sum() == 4
    assert t.loc["21001", ["structures", "n_association", "n_cooperative"]].tolist() == [2, 1, 1]
    assert t.loc["21016", "n_fondation"] == 1 and t["n_mutuelle"].sum() == 0
    assert t.loc["21001", "structures_per_10k"] == pytest.approx(200.0)
    assert t.loc["21006", "structures_per_10k"] == pytest.approx(10_000 / 600)
    assert t.loc["21001", "structures_per_100km2"] == pytest.approx(2.0)
    assert t.loc["21001", "emplois_estimes"] == pytest.approx(36.0)
    assert t.loc["21001", ["emplois_bas", "emplois_haut"]].tolist() == [21.0, 51.0]
    assert t.loc["21016", "effectif_inconnu"] == 1
    assert t.loc["21001", "annee_effectifs"] == 2023 and t.loc["21006", "annee_effectifs"] == 2022
    assert pd.isna(t.loc["21002", "annee_effectifs"])
    assert t.loc["21001", "n_secteur_action_sociale"] == 1
    assert t.loc["21001", "n_secteur_commerce"] == 1
    assert t.loc["21006", "n_secteur_sport_loisirs"] == 1
    assert t.loc["21016", "n_section_P"] == 1
    assert [c for c in MAIN_COLUMNS if c not in t.columns] == []


def test_zero_population_gives_na_with_reason(grid, base_structures):
    t = indicator_table(base_structures, grid, "commune")
    assert pd.isna(t.loc["21016", "structures_per_10k"])
    assert "population nulle" in t.loc["21016", "motif_na"]
    # a commune without structure has rate 0, not NA, and HHI undefined with its reason
    assert t.loc["21002", "structures_per_10k"] == 0
    assert pd.isna(t.loc["21002", "hhi_secteurs"])
    assert "aucune structure" in t.loc["21002", "motif_na"]
    assert pd.isna(t.loc["21001", "motif_na"]) or "population" not in t.loc["21001", "motif_na"]


def test_distances(grid, base_structures):
    t = indicator_table(base_structures, grid, "commune")
    d = t["distance_structure_km"]
    assert d["21001"] == pytest.approx(0, abs=1e-3)
    assert d["21004"] == pytest.approx(10 * np.sqrt(5), abs=1e-3)
    assert d["21009"] == pytest.approx(10 * np.sqrt(2), abs=1e-3)
    assert d["21008"] == pytest.approx(20, abs=1e-3)


def test_coverage(grid, base_structures):
    r = indicator_table(base_structures, grid, "region")
    assert r.loc["27", "communes_couvertes"] == 3
    assert r.loc["27", "part_communes_couvertes"] == pytest.approx(18.75)
    assert r.loc["27", "population_couverte"] == 700
    assert r.loc["27", "part_population_couverte"] == pytest.approx(700 / 12_000 * 100)
    assert r.loc["27", "population_plus_5km"] == 11_300
    assert r.loc["27", "population_plus_15km"] == 3_900
    assert r.loc["27", "part_population_plus_15km"] == pytest.approx(3_900 / 12_000 * 100)


def test_departement_and_epci(grid, base_structures):
    d = indicator_table(base_structures, grid, "departement",
                        names=pd.Series({"21": "Côte-d'Or", "71": "Saône-et-Loire"}))
    assert d.loc["21", "nom"] == "Côte-d'Or"
    assert d.loc["21", ["population", "structures"]].tolist() == [3600, 3]
    assert d.loc["21", "structures_per_10k"] == pytest.approx(3 / 3600 * 1e4)
    assert d.loc["71", "structures_per_10k"] == pytest.approx(1 / 8400 * 1e4)
    assert "distance_structure_km" not in d.columns
    e = indicator_table(base_structures, grid, "epci")
    assert e.loc["200000001", "structures_per_10k"] == pytest.approx(5.0)
    assert e.loc["200000001", "structures_per_100km2"] == pytest.approx(0.375)
    assert e.loc["200000001", "hhi_secteurs"] == pytest.approx(10_000 / 3)
    assert e.loc["200000002", "hhi_secteurs"] == pytest.approx(10_000)
    assert e.loc["200000001", "emplois_estimes"] == pytest.approx(36.0)


def test_groups_and_empty_group(grid, base_structures):
    groups = {"21002": "vide", "21003": "vide", "21016": "sans_habitant",
              "21001": "centre", "21006": "centre"}
    g = indicator_table(base_structures, grid, groups=groups)
    assert set(g.index) == {"vide", "sans_habitant", "centre"}
    assert g.loc["vide", "structures"] == 0 and g.loc["vide", "structures_per_10k"] == 0
    assert g.loc["centre", "structures_per_10k"] == pytest.approx(3 / 700 * 1e4)
    assert pd.isna(g.loc["sans_habitant", "structures_per_10k"])
    assert "population nulle" in g.loc["sans_habitant", "motif_na"]


def test_territory_filter(grid, base_structures):
    codes = territory_codes(grid, "commune", "71")
    assert codes == [f"21{i:03d}" for i in range(9, 17)]
    t = indicator_table(base_structures, grid, "commune", territories=codes)
    assert len(t) == 8 and t["structures"].sum() == 1
    assert territory_codes(grid, "epci", "21") == ["200000001", "200000002"]
    assert territory_codes(grid, "departement", "27", territory_level="region") == ["21", "71"]


def test_registry_is_consistent():
    for name, ind in INDICATORS.items():
        assert ind.kind in ("extensive", "intensive"), name
        assert ind.label_fr and ind.unit_fr
        if ind.kind == "intensive" and ind.compute is None:
            assert INDICATORS[ind.numerator].kind == "extensive", name
            assert INDICATORS[ind.denominator].kind == "extensive", name


def test_every_output_column_has_a_french_label(grid, base_structures):
    from indicators.registry import COLUMN_LABELS_FR

    density = pd.DataFrame({"dens7": 5, "dens3": 3, "source": "insee"}, index=grid.index)
    for level in ("commune", "epci"):
        t = indicator_table(base_structures, grid, level, density=density)
        unlabelled = [c for c in t.columns if c not in INDICATORS and c not in COLUMN_LABELS_FR]
        assert unlabelled == [], level


def test_indicator_tables_equal_single_tables(grid, base_structures):
    from indicators.table import indicator_tables

    many = indicator_tables(base_structures, grid)
    assert set(many) == {"commune", "epci", "departement", "region"}
    for level, table in many.items():
        pd.testing.assert_frame_equal(table, indicator_table(base_structures, grid, level))
