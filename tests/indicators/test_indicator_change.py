"""Change between two snapshots, on hand-made SIRET histories (grid of indicator_grid.py).

old: S1 21001 active, S2 21001 active, S3 21006 active, S4 21016 closed, S5 21002 active
new: S1 unchanged; S2 moved 3 km inside 21001 (> 100 m: deplace, same commune);
     S3 moved to 21011 (deplace, EPCI 200000001 -> 200000002, dép 21 -> 71);
     S4 reopened (nouveau); S5 closed (ferme); S6 created in 21001 (nouveau);
     S7 renamed only (modifie).
Département 21 (rows 0–1): before S1 S2 S3 S5 S7(21003) = 5; after S1 S2 S6 S7 = 4
  -> new 1 (S6), closed 1 (S5), moved out 1 (S3): 5 + 1 − 1 + 0 − 1 = 4, net −1, −20 %.
Département 71: before 0, after S3 + S4 = 2: rate undefined (no structure before).
"""

from __future__ import annotations

import pandas as pd
import pytest
from indicator_grid import make_structures

from indicators.change import change_by_territory, structure_changes
from observatory.errors import DataValidationError


@pytest.fixture()
def snapshots(grid):
    old = make_structures([
        {"siret": "1", "r": 0, "c": 0}, {"siret": "2", "r": 0, "c": 0},
        {"siret": "3", "r": 1, "c": 1}, {"siret": "4", "r": 3, "c": 3, "etat_administratif": "F"},
        {"siret": "5", "r": 0, "c": 1}, {"siret": "7", "r": 0, "c": 2, "nom": "Ancien"},
    ], grid)
    new = make_structures([
        {"siret": "1", "r": 0, "c": 0}, {"siret": "2", "r": 0, "c": 0, "dx": 0.8},
        {"siret": "3", "r": 2, "c": 2}, {"siret": "4", "r": 3, "c": 3},
        {"siret": "5", "r": 0, "c": 1, "etat_administratif": "F"},
        {"siret": "6", "r": 0, "c": 0}, {"siret": "7", "r": 0, "c": 2, "nom": "Nouveau"},
    ], grid)
    # names differ by position in make_structures: pin them so only S7 changes its name
    for frame in (old, new):
        frame.loc[frame["siret"] != "7", "nom"] = "X"
    return old, new


def test_structure_changes(snapshots):
    old, new = snapshots
    ch = structure_changes(old, new)
    assert ch["statut"].to_dict() == {"1": "inchange", "2": "deplace", "3": "deplace",
                                      "4": "nouveau", "5": "ferme", "6": "nouveau",
                                      "7": "modifie"}
    assert ch.loc["2", "distance_m"] == pytest.approx(3000, rel=0.01)
    assert ch.loc["7", "champs_modifies"] == "nom"


def test_change_by_departement(snapshots, grid):
    old, new = snapshots
    d = change_by_territory(old, new, "departement", grid)
    row = d.loc["21"]
    assert (row["structures_avant"], row["structures_apres"]) == (5, 4)
    assert (row["nouveaux"], row["fermes"], row["sorties_deplacement"]) == (1, 1, 1)
    assert row["variation_nette"] == -1 and row["taux_evolution"] == pytest.approx(-20)
    row = d.loc["71"]
    assert (row["structures_avant"], row["structures_apres"], row["entrees_deplacement"]) == (
        0, 2, 1)
    assert pd.isna(row["taux_evolution"]) and "non défini" in row["motif_na"]
    ident = (d["structures_avant"] + d["nouveaux"] - d["fermes"] + d["entrees_deplacement"]
             - d["sorties_deplacement"])
    assert (ident == d["structures_apres"]).all()


def test_duplicate_siret_refused(snapshots):
    old, new = snapshots
    with pytest.raises(DataValidationError, match="duplicated identifiants"):
        structure_changes(pd.concat([old, old.iloc[[0]]]), new)


def test_empty_snapshots(snapshots, grid):
    from observatory.schema import empty_structures

    old, new = snapshots
    first = structure_changes(empty_structures(), new)
    assert (first["statut"] == "nouveau").sum() == int((new["etat_administratif"] == "A").sum())
    gone = change_by_territory(old, empty_structures(), "region", grid)
    assert gone.loc["27", "fermes"] == 5 and gone.loc["27", "structures_apres"] == 0
    assert gone.loc["27", "taux_evolution"] == pytest.approx(-100)
    assert len(structure_changes(empty_structures(), empty_structures())) == 0


def test_change_by_levels_matches_single_levels(snapshots, grid):
    from indicators.change import change_by_levels

    old, new = snapshots
    many = change_by_levels(old, new, grid)
    for level, table in many.items():
        pd.testing.assert_frame_equal(table, change_by_territory(old, new, level, grid))
