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


# --- official build: ADMIN EXPRESS + INSEE populations + DGCL -> reference cache -------------

def _dgcl_rows_for_fixture():
    """DGCL rows matching the 6 fixture communes (Île-de-Sein outside any EPCI)."""
    from fixtures_official import EPCICOM_ROWS

    dijon = EPCICOM_ROWS[:3]
    cc = ["21", 200070894, "CC de Gevrey-Chambertin et de Nuits-Saint-Georges", "CC", "FPU",
          1, 420, 416, "21", "21001", 212100017, "Agencourt", 420, 416]
    mgp = ["75", 200054781, "Métropole du Grand Paris", "METRO", "FPU", 1, 2133111, 2103778,
           "75", "75056", 217500016, "Paris", 2133111, 2103778]
    return [*dijon, cc, mgp]


def test_build_reference_from_official_files(tmp_path, monkeypatch):
    from fixtures_official import write_ensemble_zip, write_epcicom

    from geodata.official import build_reference_from_official
    from geodata.reference import load_reference

    monkeypatch.setenv("OBSERVATOIRE_DATA_DIR", str(tmp_path / "data"))
    gpkg = write_admin_express_gpkg(
        tmp_path / "ADMIN-EXPRESS-COG_3-2__GPKG_LAMB93_FXX_2026-01-01.gpkg")
    populations = write_ensemble_zip(tmp_path / "ensemble_2023.zip")
    dgcl = write_epcicom(tmp_path / "epcicom2026.xlsx", rows=_dgcl_rows_for_fixture())
    target = build_reference_from_official(gpkg, populations=populations, dgcl=dgcl,
                                           directory=tmp_path / "reference", progress=False)
    reference = load_reference(build=False, directory=target)
    communes = reference.communes
    assert sorted(communes.index) == ["21001", "21166", "21231", "21617", "29083", "75056"]
    # Population from INSEE where listed (Paris summed from the fixture's 2 arrondissements),
    # ADMIN EXPRESS figure elsewhere (21166 Chenôve is not in the INSEE fixture).
    assert communes.loc["75056", "population"] == 15917 + 20260
    assert communes.loc["21166", "population"] == 13808
    assert communes.loc["21231", "epci"] == "242100410"
    assert reference.epci.loc["242100410", "nb_communes"] == 3
    assert reference.epci.loc["242100410", "nom"] == "Dijon Métropole"
    assert set(reference.epci.index) == {"242100410", "200070894", "200054781"}
    assert reference.departements.loc["21", "nb_communes"] == 4
    assert reference.regions.loc["27", "nom"] == "Bourgogne-Franche-Comté"
    # Projected area of each 2 km x 2 km fixture square: 4 km².
    assert communes.loc["21231", "superficie_km2"] == pytest.approx(4.0, rel=5e-3)
    changes = reference.code_changes.set_index("ancien_code")
    assert changes.loc["75101", ["code", "nature"]].tolist() == [
        "75056", "arrondissement_municipal"]
    assert changes.loc["21213", ["code", "nature"]].tolist() == ["21001", "commune_deleguee"]
    assert reference.vintages["cog"] == "COG 2026"
    assert reference.vintages["epci"] == "DGCL 2026"
    assert reference.vintages["population"] == 2023
    assert reference.provenance["admin_express"]["crs_source"] == "EPSG:2154"


def test_build_reference_from_official_refuses_inconsistent_dgcl(tmp_path, monkeypatch):
    from fixtures_official import write_epcicom

    from geodata.official import build_reference_from_official

    monkeypatch.setenv("OBSERVATOIRE_DATA_DIR", str(tmp_path / "data"))
    gpkg = write_admin_express_gpkg(tmp_path / "ae.gpkg")
    # The default DGCL fixture lists 01001, which is not an ADMIN EXPRESS commune here.
    dgcl = write_epcicom(tmp_path / "epcicom2026.xlsx")
    with pytest.raises(DataValidationError) as info:
        build_reference_from_official(gpkg, dgcl=dgcl, directory=tmp_path / "reference",
                                      progress=False)
    assert ("epci", "membre_absent_des_communes", "200069193:01001") in info.value.offenders
    assert not (tmp_path / "reference").exists()


def test_build_reference_from_admin_express_alone(tmp_path, monkeypatch):
    from geodata.official import build_reference_from_official
    from geodata.reference import load_reference

    monkeypatch.setenv("OBSERVATOIRE_DATA_DIR", str(tmp_path / "data"))
    root = write_admin_express_shp(tmp_path)
    target = build_reference_from_official(root, directory=tmp_path / "ref", progress=False)
    reference = load_reference(build=False, directory=target)
    # EPCI from SIREN_EPCI (the EPT is not an EPCI à fiscalité propre), population from
    # the POPULATION field, edition in the vintages.
    assert reference.communes.loc["75056", "epci"] == "200054781"
    assert "200057867" not in reference.epci.index
    assert reference.communes.loc["75056", "population"] == 2103778
    assert reference.vintages["cog"] == "COG 2024"
    assert "ADMIN-EXPRESS-COG-CARTO 3-2 2024-02-22" in reference.vintages["geometrie"]


def _admin_express_from_shared(shared_data, path):
    """Rewrite the shared real Côte-d'Or boundaries as an ADMIN EXPRESS COG GeoPackage
    (IGN class and field names, Lambert-93), at test time."""
    import geopandas as gpd
    import pyogrio

    boundaries = shared_data / "boundaries"
    communes = gpd.read_file(boundaries / "communes_21.geojson")
    nature = {"CC": "Communauté de communes", "CA": "Communauté d'agglomération",
              "CU": "Communauté urbaine", "METRO": "Métropole"}
    layers = {
        "COMMUNE": communes.rename(columns={
            "code": "INSEE_COM", "nom": "NOM", "departement": "INSEE_DEP",
            "region": "INSEE_REG", "epci": "SIREN_EPCI", "population": "POPULATION"})[
            ["INSEE_COM", "NOM", "INSEE_DEP", "INSEE_REG", "SIREN_EPCI", "POPULATION",
             "geometry"]],
    }
    epci = gpd.read_file(boundaries / "epci_bourgogne-franche-comte.geojson")
    epci = epci[epci["code"].isin(communes["epci"])]
    layers["EPCI"] = gpd.GeoDataFrame({"CODE_SIREN": epci["code"], "NOM": epci["nom"],
                                       "NATURE": epci["type"].map(nature)},
                                      geometry=epci.geometry)
    deps = gpd.read_file(f"/vsigzip/{boundaries / 'departements_france.geojson.gz'}")
    deps = deps[deps["code"] == "21"]
    layers["DEPARTEMENT"] = gpd.GeoDataFrame({"INSEE_DEP": deps["code"], "NOM": deps["nom"],
                                              "INSEE_REG": deps["region"]},
                                             geometry=deps.geometry)
    regs = gpd.read_file(f"/vsigzip/{boundaries / 'regions_france.geojson.gz'}")
    regs = regs[regs["code"] == "27"]
    layers["REGION"] = gpd.GeoDataFrame({"INSEE_REG": regs["code"], "NOM": regs["nom"]},
                                        geometry=regs.geometry)
    for name, frame in layers.items():
        pyogrio.write_dataframe(frame.set_crs(4326, allow_override=True).to_crs(2154), path,
                                layer=name, driver="GPKG")
    return path


@pytest.mark.integration
def test_official_build_on_real_cote_d_or(shared_data, tmp_path, monkeypatch):
    """End to end on real values: Côte-d'Or boundaries as an ADMIN EXPRESS GeoPackage
    (Lambert-93), the real populations as donnees_communes.csv, the real DGCL composition
    as epcicom (members in Côte-d'Or)."""
    import test_dgcl
    import test_populations

    from geodata.official import build_reference_from_official
    from geodata.reference import load_reference

    monkeypatch.setenv("OBSERVATOIRE_DATA_DIR", str(tmp_path / "data"))
    gpkg = _admin_express_from_shared(
        shared_data, tmp_path / "ADMIN-EXPRESS-COG_3-2__GPKG_LAMB93_FXX_2026-01-01.gpkg")
    populations = test_populations._official_layout_from_shared(
        shared_data, tmp_path / "donnees_communes.csv")
    dgcl = test_dgcl._epcicom_from_shared(shared_data, tmp_path / "epcicom2026.xlsx",
                                          departements=["21"])
    target = build_reference_from_official(gpkg, populations=populations, dgcl=dgcl,
                                           directory=tmp_path / "reference",
                                           population_millesime=2023, progress=False)
    reference = load_reference(build=False, directory=target)
    communes = reference.communes
    assert len(communes) == 698
    assert (communes["epci"] == "242100410").sum() == 23
    assert reference.departements.loc["21", "population"] == 540_100
    assert reference.departements.loc["21", "superficie_km2"] == pytest.approx(8763, rel=0.02)
    assert communes.loc["21231", "population"] == 161_830
    assert reference.epci.loc["242100410", "nom"] == "Dijon Métropole"
    assert reference.vintages["population"] == 2023


def test_unexpected_crs_is_reprojected_and_logged(tmp_path, caplog):
    path = write_admin_express_gpkg(tmp_path / "mercator.gpkg", crs="EPSG:3857")
    with caplog.at_level("WARNING", logger="geodata.admin_express"):
        ae = read_admin_express(path)
    _check_fixture(ae)
    assert ae.source_crs["COMMUNE"] == "EPSG:3857"
    assert "unexpected CRS EPSG:3857" in caplog.text
