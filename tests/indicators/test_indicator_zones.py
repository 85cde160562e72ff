"""Zones blanches on the 4×4 grid (layout in indicator_grid.py).

Density: every commune is rural (dens7 = 6) except column c = 2, urban (dens7 = 1), which cuts
the grid in two. Threshold 15 km.

Scenario 1, one association at the centre of (0,0) only. Distance = 10·√(r² + c²) > 15 for
every commune but (0,0), (0,1), (1,0), (1,1). Blanche rural communes:
  left block (2,0) (2,1) (3,0) (3,1) = 21009 21010 21013 21014, population 900+1000+1300+1400
  = 4 600 -> Z001; nearest structure from its border (x 0–20 km, y 20–40 km) to (5, 5) km: 15 km.
  right column (0,3) (1,3) (2,3) (3,3) = 21004 21008 21012 21016, population 400+800+1200+0 =
  2 400 -> Z002; distance from its border (x ≥ 30 km) to (5, 5): 25 km.
Scenario 2, add a cooperative at the centre of (3,3): for "any structure", (3,3) holds one and
(2,3) is 10 km away; (1,3) (20 km) and (0,3) (30 km) stay blanche -> right zone = 21004, 21008,
population 1 200, nearest structure the cooperative, 15 km from the zone's border (y ≤ 20 km
to y = 35 km). For "associations only" the cooperative is ignored: same as scenario 1.
"""

from __future__ import annotations

import pandas as pd
import pytest
from indicator_grid import make_structures

from indicators.zones import adjacent_groups, zones_blanches


@pytest.fixture()
def density(grid):
    col = [int(code[2:]) - 1 for code in grid.index]
    dens7 = [1 if i % 4 == 2 else 6 for i in col]
    return pd.DataFrame({"dens7": dens7, "dens3": [1 if d == 1 else 3 for d in dens7],
                         "libelle": "x", "source": "approximation", "millesime": "2026"},
                        index=grid.index)


def test_zone_merge_and_ranking(grid, density):
    s = make_structures([{"r": 0, "c": 0}], grid)
    res = zones_blanches(grid, s, density, distance_km=15)
    z = res.zones
    assert list(z.index) == ["Z001", "Z002"]
    assert z.loc["Z001", "communes"] == ["21009", "21010", "21013", "21014"]
    assert z.loc["Z001", "population"] == 4600 and z.loc["Z001", "nb_communes"] == 4
    assert z.loc["Z001", "superficie_km2"] == pytest.approx(400)
    assert z.loc["Z002", "communes"] == ["21004", "21008", "21012", "21016"]
    assert z.loc["Z002", "population"] == 2400
    near = z.loc["Z001", "structures_proches"]
    assert near[0]["commune"] == "21001"
    assert near[0]["distance_km"] == pytest.approx(15, abs=0.01)
    assert z.loc["Z002", "structures_proches"][0]["distance_km"] == pytest.approx(25, abs=0.01)
    assert z.loc["Z001", "densite_source"] == "approximation"
    assert set(res.communes["zone"]) == {"Z001", "Z002"} and len(res.communes) == 8


def test_kind_of_structure(grid, density):
    s = make_structures([{"r": 0, "c": 0},
                         {"r": 3, "c": 3, "famille_ess": "cooperative"}], grid)
    anyk = zones_blanches(grid, s, density, distance_km=15).zones
    assert anyk.loc["Z002", "communes"] == ["21004", "21008"]
    assert anyk.loc["Z002", "population"] == 1200
    near = anyk.loc["Z002", "structures_proches"][0]
    assert near["commune"] == "21016"
    assert near["distance_km"] == pytest.approx(15, abs=0.01)
    assoc = zones_blanches(grid, s, density, distance_km=15, by="famille_ess",
                           category="association").zones
    assert assoc.loc["Z002", "population"] == 2400


def test_no_structure_at_all_makes_every_rural_commune_blanche(grid, density):
    s = make_structures([{"r": 0, "c": 0, "etat_administratif": "F"}], grid)
    z = zones_blanches(grid, s, density).zones
    assert z["nb_communes"].sum() == 12
    assert all(row == [] for row in z["structures_proches"])


def test_adjacent_groups_counts_corner_contacts():
    from shapely.geometry import box

    geoms = [box(0, 0, 1, 1), box(1, 1, 2, 2), box(5, 5, 6, 6)]
    labels = adjacent_groups(geoms)
    assert labels[0] == labels[1] != labels[2]


def test_nearest_structure_without_siret_is_named_not_na(grid, density):
    """Scenario 1 with the association from an actors list without SIRET: the zones list it
    with no SIRET (None, not the text "<NA>") and its identifiant."""
    s = make_structures([{"r": 0, "c": 0}], grid)
    s["siret"] = pd.array([None], dtype="string")
    s["identifiant"] = pd.array(["acteurs:3f2a9c"], dtype="string")
    near = zones_blanches(grid, s, density, distance_km=15).zones.loc[
        "Z001", "structures_proches"][0]
    assert near["siret"] is None and near["identifiant"] == "acteurs:3f2a9c"
    assert near["distance_km"] == pytest.approx(15, abs=0.01)
