"""ADMIN EXPRESS COG / COG CARTO loader, on GeoPackage and shapefile fixtures written with
pyogrio in the IGN layouts (Lambert-93), plus a real delivery when one is available."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from fixtures_official import (
    SIZE,
    write_admin_express_gpkg,
    write_admin_express_shp,
)

from geodata.admin_express import choose_epci, epci_type, find_layers, read_admin_express
from observatory.errors import ConfigurationError, CRSMismatchError, DataValidationError


def _check_fixture(ae):
    """Expected answers of the 6-commune fixture (see fixtures_official._COMMUNES)."""
    communes = ae.communes
    assert communes.crs.to_epsg() == 4326
    assert communes.index.name == "code"
    assert sorted(communes.index) == ["21001", "21166", "21231", "21617", "29083", "75056"]
    assert list(communes.columns[:5]) == ["nom", "departement", "region", "epci", "population"]
    assert str(communes["population"].dtype) == "Int64"
    dijon = communes.loc["21231"]
    assert (dijon["nom"], dijon["departement"], dijon["region"], dijon["epci"]) == (
        "Dijon", "21", "27", "242100410")
    assert dijon["population"] == 161830
    # Lambert-93 square (853-855 km, 6690-6692 km) -> about 5.04°E 47.33°N.
    centroid = dijon.geometry.centroid
    assert 4.9 < centroid.x < 5.2 and 47.2 < centroid.y < 47.45
    # Area preserved by the reprojection: 2 km x 2 km = 4 km² (Lambert-93 is conformal
    # with a small scale error; 0.5 % tolerance).
    area = communes.to_crs(2154).area.loc["21231"] / 1e6
    assert area == pytest.approx(SIZE * SIZE / 1e6, rel=5e-3)
    # Grand Paris: "EPT/MGP" -> the EPCI à fiscalité propre (the métropole), raw kept.
    assert communes.loc["75056", "epci"] == "200054781"
    assert communes.loc["75056", "epci_brut"] == "200057867/200054781"
    # Island commune: "NC" -> no EPCI.
    assert pd.isna(communes.loc["29083", "epci"])
    assert ae.epci.loc["242100410", "type"] == "METRO"
    assert ae.epci.loc["200070894", "type"] == "CC"
    assert ae.epci.loc["200057867", "type"] == "EPT"
    assert ae.departements.loc["21", "nom"] == "Côte-d'Or"
    assert ae.departements.loc["21", "region"] == "27"
    assert ae.regions.loc["11", "nom"] == "Île-de-France"
    assert list(ae.arrondissements.index) == ["75101", "75102"]
    assert (ae.arrondissements["commune"] == "75056").all()
    assert ae.communes_deleguees.loc["21213", "commune"] == "21001"


def test_geopackage_edition_3(tmp_path):
    path = write_admin_express_gpkg(tmp_path / "ADE-COG-CARTO.gpkg", style="3x")
    ae = read_admin_express(path)
    _check_fixture(ae)
    assert ae.source_crs["COMMUNE"] == "EPSG:2154"


def test_geopackage_edition_4_lower_case_layers(tmp_path):
    path = write_admin_express_gpkg(tmp_path / "ADE-COG_4-0_GPKG_LAMB93_FXX-ED2025-01-01.gpkg",
                                    style="4x", lower_case_layers=True)
    ae = read_admin_express(path)
    _check_fixture(ae)
    assert ae.edition == "ADE-COG 4-0 2025-01-01"


def test_geopackage_already_in_wgs84(tmp_path):
    path = write_admin_express_gpkg(tmp_path / "wgs84.gpkg", crs="EPSG:4326")
    ae = read_admin_express(path)
    _check_fixture(ae)
    assert ae.source_crs["COMMUNE"] == "EPSG:4326"


def test_shapefile_folder_nested_as_delivered(tmp_path):
    root = write_admin_express_shp(tmp_path)
    ae = read_admin_express(root)
    _check_fixture(ae)
    assert ae.source_crs["COMMUNE"] == "EPSG:2154"
    assert ae.edition == "ADMIN-EXPRESS-COG-CARTO 3-2 2024-02-22"
    assert set(find_layers(root)) >= {"COMMUNE", "EPCI", "DEPARTEMENT", "REGION"}


def test_shapefile_without_prj_is_refused(tmp_path):
    root = write_admin_express_shp(tmp_path, with_prj=False)
    with pytest.raises(CRSMismatchError, match="no coordinate reference system"):
        read_admin_express(root)


def test_missing_path_and_7z_give_clear_errors(tmp_path):
    with pytest.raises(ConfigurationError, match="does not exist"):
        read_admin_express(tmp_path / "nothing.gpkg")
    archive = tmp_path / "ADMIN-EXPRESS-COG.7z"
    archive.write_bytes(b"7z")
    with pytest.raises(ConfigurationError, match="7z x"):
        read_admin_express(archive)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigurationError, match="No COMMUNE class"):
        read_admin_express(tmp_path / "empty")


def test_missing_field_lists_columns(tmp_path):
    import pyogrio
    from fixtures_official import admin_express_layers

    layers = admin_express_layers()
    path = tmp_path / "broken.gpkg"
    pyogrio.write_dataframe(layers["COMMUNE"].drop(columns=["INSEE_DEP"]), path,
                            layer="COMMUNE")
    with pytest.raises(DataValidationError, match="departement") as info:
        read_admin_express(path)
    assert "INSEE_COM" in str(info.value)


def test_duplicated_commune_is_reported(tmp_path):
    import pyogrio
    from fixtures_official import admin_express_layers

    communes = admin_express_layers()["COMMUNE"]
    path = tmp_path / "dup.gpkg"
    pyogrio.write_dataframe(pd.concat([communes, communes.iloc[[0]]]), path, layer="COMMUNE")
    with pytest.raises(DataValidationError) as info:
        read_admin_express(path)
    assert info.value.offenders == ["21231"]


def test_choose_epci_and_types():
    raw = pd.Series(["200057867/200054781", "200054781", "", None, "NR"])
    assert choose_epci(raw, {"200054781"}).tolist() == [
        "200054781", "200054781", pd.NA, pd.NA, pd.NA]
    # Without the EPCI class, the first value is kept.
    assert choose_epci(raw.iloc[:1]).tolist() == ["200057867"]
    natures = pd.Series(["Communauté d\u2019agglomération", "COMMUNAUTE URBAINE", "Métropole"])
    assert epci_type(natures, pd.Series(["1", "2", "200046977"])).tolist() == [
        "CA", "CU", "MET69"]


@pytest.mark.integration
def test_real_admin_express_delivery():
    """Runs on a machine that has a real delivery: OBSERVATOIRE_ADMIN_EXPRESS=<gpkg|folder>."""
    location = os.environ.get("OBSERVATOIRE_ADMIN_EXPRESS")
    if not location or not Path(location).exists():
        pytest.skip("OBSERVATOIRE_ADMIN_EXPRESS not set to a real ADMIN EXPRESS delivery")
    ae = read_admin_express(location)
    communes = ae.communes
    assert communes.crs.to_epsg() == 4326
    assert communes.index.is_unique
    # Côte-d'Or: 698 communes since 2019 (COG 2019 to 2026).
    assert (communes["departement"] == "21").sum() == 698
    if len(communes) > 30_000:  # France entière delivery
        assert 34_800 < len(communes) < 35_100
        assert communes.loc["21231", "nom"] == "Dijon"
        assert (communes["epci"] == "242100410").sum() == 23
    assert communes.geometry.notna().all()
