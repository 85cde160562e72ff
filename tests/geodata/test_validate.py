"""Validation of the reference layers: every offender listed, loudly."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geodata.validate import validate_reference
from observatory.errors import CRSMismatchError, DataValidationError


def communes(**changes):
    frame = pd.DataFrame({
        "code": ["01001", "01002", "01003", "22016"],
        "epci": ["200000001", "200000001", "200000001", None],
        "departement": ["01", "01", "01", "22"],
        "region": ["84", "84", "84", "53"],
    })
    geoms = [shapely.box(i, 0, i + 1, 1) for i in range(4)]
    for key, value in changes.items():
        if key == "geometry":
            geoms = value
        else:
            frame[key] = value
    return gpd.GeoDataFrame(frame.astype("string"), geometry=geoms, crs=4326).set_index("code")


def test_valid_layer_passes_with_island_outside_epci():
    assert validate_reference(communes()) is None


def test_every_offender_is_listed():
    bowtie = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
    layer = communes(code=["01001", "01001", "01003", "01004"],
                     departement=["01", None, "01", "01"],
                     epci=["200000001", "200000001", "200000001", None],
                     geometry=[shapely.Polygon(), shapely.box(1, 0, 2, 1), bowtie,
                               shapely.box(3, 0, 4, 1)])
    with pytest.raises(DataValidationError) as info:
        validate_reference(layer)
    offenders = set(info.value.offenders)
    assert ("communes", "code_duplique", "01001") in offenders
    assert ("communes", "sans_departement", "01001") in offenders
    assert ("communes", "geometrie_vide", "01001") in offenders
    assert ("communes", "sans_epci", "01004") in offenders
    assert any(o[1] == "geometrie_invalide" and o[2].startswith("01003") for o in offenders)
    assert "How to fix" in str(info.value)


def test_known_empty_geometry_is_allowed():
    layer = communes(geometry=[shapely.Polygon()] + [shapely.box(i, 0, i + 1, 1)
                                                     for i in range(1, 4)])
    with pytest.raises(DataValidationError):
        validate_reference(layer)
    assert validate_reference(layer, known_empty=["01001"]) is None


def test_crs_mismatch():
    with pytest.raises(CRSMismatchError, match="to_crs"):
        validate_reference(communes().to_crs(2154))


def test_epci_members_missing_from_communes():
    members = pd.DataFrame({"epci": ["200000001"] * 4,
                            "commune": ["01001", "01002", "01003", "01999"]}, dtype="string")
    with pytest.raises(DataValidationError) as info:
        validate_reference(communes(), epci_members=members)
    assert info.value.offenders == [("epci", "membre_absent_des_communes", "200000001:01999")]


def test_commune_epci_must_exist_in_epci_layer():
    epci = gpd.GeoDataFrame({"nom": pd.array(["CC Autre"], dtype="string")},
                            geometry=[shapely.box(0, 0, 3, 1)], crs=4326,
                            index=pd.Index(["200000009"], dtype="string", name="code"))
    with pytest.raises(DataValidationError) as info:
        validate_reference(communes(), epci=epci)
    assert ("communes", "epci_inconnu", "200000001") in info.value.offenders
