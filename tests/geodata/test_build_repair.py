"""Hole repair rules (geodata.repair) on hand-made squares."""

from __future__ import annotations

import pandas as pd
import shapely

from geodata.repair import attribute_holes, find_holes, fix_invalid, merge_subcommunes
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
    out, log = attribute_holes(holes, geometry, deps, absorbers={"E", "A"})
    # A only touches the hole at a corner: not a neighbour; E shares one border.
    assert out["E"].area == HOLE.area + cell(3, 1).area
    assert out["A"].equals(geometry["A"])
    assert log[0]["commune"] == "E" and log[0]["rule"] == "voisin_unique_avec_anciens_codes"


def test_longest_shared_border_wins_among_several():
    geometry, deps = layer(GRID)
    holes = find_holes(geometry, deps)
    out, log = attribute_holes(holes, geometry, deps, absorbers={"B", "D", "G"})
    # B shares 2 cell sides with the hole, D and G one each.
    assert log[0]["commune"] == "B"
    assert log[0]["rule"] == "plus_longue_frontiere_commune"
    assert "B" in log[0]["detail"] and "D" in log[0]["detail"]
    assert abs(out["B"].area - 4 * cell(0, 0).area) < 1e-12
    assert 1.5 < log[0]["area_km2"] < 1.9  # two cells of ~0.86 km²


def test_no_candidate_leaves_the_hole_and_logs_it():
    geometry, deps = layer(GRID)
    holes = find_holes(geometry, deps)
    out, log = attribute_holes(holes, geometry, deps, absorbers=set())
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


def test_absorbers_exclude_mere_renumberings():
    from geodata.repair import absorbing_communes, is_recoding

    assert is_recoding("78427", "95427") and is_recoding("20004", "2A004")
    assert not is_recoding("93059", "93066") and not is_recoding("75059", "93066")
    rows = [
        {"code": "93066", "type": "commune-actuelle", "anciensCodes": ["75066", "93059"]},
        {"code": "95427", "type": "commune-actuelle", "anciensCodes": ["78427"]},
        {"code": "2A004", "type": "commune-actuelle", "anciensCodes": ["20004"]},
        {"code": "01001", "type": "commune-actuelle"},
        {"code": "01002", "type": "commune-deleguee", "anciensCodes": ["01003"]},
    ]
    assert absorbing_communes(rows) == {"93066": 1}
    assert absorbing_communes(rows, lambda old: old != "93059") == {}


def test_former_commune_without_geometry_is_preferred():
    geometry, deps = layer(GRID)
    holes = find_holes(geometry, deps)
    out, log = attribute_holes(holes, geometry, deps, absorbers={"B", "D", "G"},
                               preferred={"D": 1})
    assert log[0]["commune"] == "D" and log[0]["rule"] == "ancienne_commune_sans_geometrie"
    assert abs(out["D"].area - 3 * cell(0, 0).area) < 1e-12
    _, log = attribute_holes(holes, geometry, deps, absorbers={"B", "D", "G"},
                             preferred={"D": 1, "B": 2})
    assert log[0]["commune"] == "B" and log[0]["rule"] == "plus_longue_frontiere_commune"


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
    # B and AA each lost one former commune without geometry; H absorbed one that has one.
    out, log = attribute_holes(holes, geometry, deps, absorbers={"AA", "B", "H"},
                               preferred={"AA": 1, "B": 1})
    by_x = {round(h.centroid.x, 3): row for h, row in zip(holes, log, strict=True)}
    left, right = by_x[round(holes[0].centroid.x, 3)], by_x[round(holes[1].centroid.x, 3)]
    # Right hole: only B has a former commune left -> B; then left hole: only AA left.
    assert right["commune"] == "B" and right["rule"] == "ancienne_commune_sans_geometrie"
    assert left["commune"] == "AA" and left["rule"] == "ancienne_commune_sans_geometrie"
    assert abs(out["AA"].area - 2 * cell(0, 0).area) < 1e-12
