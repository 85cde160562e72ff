"""Mapping of old commune codes to current communes (geodata.codes)."""

from __future__ import annotations

import pandas as pd

from geodata.codes import build_code_changes, map_commune_codes, normalise_commune_code

DECOUPAGE = [
    {"code": "75056", "type": "commune-actuelle"},
    {"code": "69123", "type": "commune-actuelle"},
    {"code": "13055", "type": "commune-actuelle"},
    {"code": "01015", "type": "commune-actuelle", "anciensCodes": ["01340"]},
    {"code": "01001", "type": "commune-actuelle", "anciensCodes": ["01999"]},
    {"code": "75101", "type": "arrondissement-municipal", "commune": "75056"},
    {"code": "69381", "type": "arrondissement-municipal", "commune": "69123"},
    {"code": "13216", "type": "arrondissement-municipal", "commune": "13055"},
    # The chef-lieu déléguée shares the code of its commune: not an "old" code.
    {"code": "01015", "type": "commune-deleguee", "chefLieu": "01015"},
    {"code": "01340", "type": "commune-deleguee", "chefLieu": "01015"},
    {"code": "01120", "type": "commune-associee", "chefLieu": "01001"},
    # A target that is not a current commune is dropped.
    {"code": "99001", "type": "commune-associee", "chefLieu": "99000"},
]
CURRENT = ["75056", "69123", "13055", "01015", "01001"]


def changes():
    return build_code_changes(DECOUPAGE, CURRENT)


def test_build_code_changes():
    table = changes().set_index("ancien_code")
    assert sorted(table.index) == ["01120", "01340", "01999", "13216", "69381", "75101"]
    assert table.loc["01999"].tolist() == ["01001", "ancienne_commune"]
    assert table.loc["01340", "nature"] == "commune_deleguee"  # beats ancienne_commune
    assert table.loc["01120"].tolist() == ["01001", "commune_associee"]
    assert table.loc["13216"].tolist() == ["13055", "arrondissement_municipal"]
    assert str(table["code"].dtype) == "string"


def test_map_codes_all_natures():
    codes = pd.Series(["75101", "69381", "13216", "01340", "01120", "01015", "99999", None,
                       "01999"], index=list("abcdefghi"))
    out = map_commune_codes(codes, changes(), CURRENT)
    assert list(out.index) == list("abcdefghi")
    assert out["code"].tolist()[:6] == ["75056", "69123", "13055", "01015", "01001", "01015"]
    assert out["code"].iloc[6:8].isna().all()
    assert out["code"].iloc[8] == "01001"
    assert out["nature"].tolist() == [
        "arrondissement_municipal", "arrondissement_municipal", "arrondissement_municipal",
        "commune_deleguee", "commune_associee", "actuel", "inconnu", "inconnu",
        "ancienne_commune"]
    assert out["code_entree"].iloc[0] == "75101"


def test_map_codes_pads_integer_like_codes(caplog):
    out = map_commune_codes(["1340", 1001, "abc"], changes(), CURRENT)
    assert out["code"].tolist()[:2] == ["01015", "01001"]
    assert out["nature"].tolist() == ["commune_deleguee", "actuel", "inconnu"]
    assert "non reconnus" in caplog.text and "ABC" not in caplog.text  # reports input as given


def test_normalise_commune_code():
    out = normalise_commune_code(pd.Series([" 2a004", "1001", "", "75056"]))
    assert out.iloc[0] == "2A004" and out.iloc[1] == "01001" and pd.isna(out.iloc[2])
    assert out.iloc[3] == "75056"
