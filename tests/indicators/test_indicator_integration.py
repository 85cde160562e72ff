"""Integration on real boundaries and populations of ../shared/data (Côte-d'Or, Nord, Normandie).

The geography and populations are real; structures are built here (seeded) at each commune's
representative point, so every expected figure is either an official one quoted in
shared/data PROVENANCE files (Côte-d'Or 540 100 inhabitants, Nord 2 615 635, Dijon Métropole
23 communes) or recomputed independently with geopandas.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from indicators.hotspots import hot_spots
from indicators.table import indicator_table
from indicators.zones import zones_blanches
from observatory.schema import STRUCTURE_DTYPES

pytestmark = pytest.mark.integration

NORMANDIE = ("14", "27", "50", "61", "76")


def load_communes(shared_data, deps) -> gpd.GeoDataFrame:
    frames = [gpd.read_file(shared_data / "boundaries" / f"communes_{d}.geojson") for d in deps]
    gdf = pd.concat(frames, ignore_index=True)
    gdf = gpd.GeoDataFrame(gdf, geometry="geometry", crs=4326)
    for col in ("code", "nom", "departement", "region", "epci"):
        gdf[col] = gdf[col].astype("string")
    pop = pd.read_csv(shared_data / "population" / "communes_population_cog2026_pl2023.csv",
                      dtype=str)
    pop = pop[(pop["type"] == "commune-actuelle") & (pop["zone"] != "com")]
    pop = pop[["code", "population"]].rename(columns={"population": "pop_insee"})
    pop["code"] = pop["code"].astype("string")
    gdf = gdf.merge(pop, on="code", how="left", validate="1:1")
    assert (gdf["pop_insee"].astype(int) == gdf["population"].astype(int)).all()
    gdf["population"] = gdf["pop_insee"].astype("Int64")
    gdf["superficie_km2"] = gdf.to_crs(2154).area.to_numpy() / 1e6
    return gdf.drop(columns="pop_insee").set_index("code")


def structures_in(communes, per_commune: pd.Series, seed: int = 0) -> pd.DataFrame:
    """``per_commune[code]`` active associations at each commune's representative point."""
    rng = np.random.default_rng(seed)
    reps = communes.geometry.representative_point()
    codes = np.repeat(per_commune.index.to_numpy(), per_commune.to_numpy())
    n = len(codes)
    frame = pd.DataFrame({
        "siret": [f"{i + 1:014d}" for i in range(n)], "commune": codes,
        "famille_ess": rng.choice(["association", "cooperative", "mutuelle"], n),
        "naf": rng.choice(["88.99B", "94.99Z", "85.59A"], n), "naf_section": "Q",
        "tranche_effectif": rng.choice(["NN", "01", "11"], n), "annee_effectif": 2023,
        "etat_administratif": "A",
        "longitude": reps.x.reindex(codes).to_numpy(), "latitude": reps.y.reindex(codes).to_numpy(),
    })
    for col, dtype in STRUCTURE_DTYPES.items():
        if col not in frame:
            frame[col] = pd.Series(pd.NA, index=frame.index)
        frame[col] = frame[col].astype(dtype)
    return frame


def _connected(geoms) -> bool:
    """Brute-force breadth-first search over pairwise intersections."""
    seen, todo = {0}, [0]
    while todo:
        i = todo.pop()
        for j, other in enumerate(geoms):
            if j not in seen and geoms[i].intersects(other):
                seen.add(j)
                todo.append(j)
    return len(seen) == len(geoms)


@pytest.fixture(scope="module")
def cote_dor(shared_data):
    communes = load_communes(shared_data, ["21"])
    big = communes["population"].astype(int)
    per = (big // 1500).clip(0, 40)
    per = per[per > 0]
    return communes, structures_in(communes, per)


def test_cote_dor_totals_and_rollups(cote_dor):
    communes, structures = cote_dor
    dep = indicator_table(structures, communes, "departement")
    assert dep.loc["21", "population"] == 540_100
    assert dep.loc["21", "structures"] == len(structures)
    assert dep.loc["21", "structures_per_10k"] == pytest.approx(len(structures) / 540_100 * 1e4)
    epci = indicator_table(structures, communes, "epci")
    assert epci.loc["242100410", "nb_communes"] == 23  # Dijon Métropole
    assert epci["structures"].sum() == len(structures)
    assert epci["population"].sum() == 540_100
    com = indicator_table(structures, communes, "commune")
    dijon = communes.index[communes["epci"] == "242100410"]
    assert com.loc[dijon, "structures"].sum() == epci.loc["242100410", "structures"]
    covered = com["structures"] > 0
    assert dep.loc["21", "part_population_couverte"] == pytest.approx(
        com.loc[covered, "population"].sum() / 540_100 * 100)


def test_cote_dor_distances_match_geopandas(cote_dor):
    communes, structures = cote_dor
    com = indicator_table(structures, communes, "commune")
    cent = communes.to_crs(2154).centroid
    pts = gpd.GeoSeries(gpd.points_from_xy(structures["longitude"], structures["latitude"]),
                        crs=4326).to_crs(2154)
    uniq = gpd.GeoSeries(pts.drop_duplicates().to_numpy(), crs=2154)
    sample = com.index[np.random.default_rng(3).choice(len(com), 25, replace=False)]
    for code in sample:
        expected = uniq.distance(cent[code]).min() / 1000
        assert com.loc[code, "distance_structure_km"] == pytest.approx(expected, abs=1e-3)


def test_normandie_zones_blanches_are_contiguous_and_ranked(shared_data):
    from geodata.density_grid import approximate_density_levels

    communes = load_communes(shared_data, NORMANDIE)
    pop = communes["population"].astype(int)
    per = (pop >= 3000).astype(int) * 2
    structures = structures_in(communes, per[per > 0])
    density = approximate_density_levels(communes)
    res = zones_blanches(communes, structures, density, distance_km=10)
    zones, members = res.zones, res.communes
    assert len(zones) > 0
    assert list(zones["rang"]) == list(range(1, len(zones) + 1))
    assert zones["population"].is_monotonic_decreasing
    com = indicator_table(structures, communes, "commune", density=density)
    assert (com.loc[members.index, "distance_structure_km"] > 10).all()
    assert com.loc[members.index, "densite_libelle"].isin(
        ["Bourgs ruraux", "Rural à habitat dispersé", "Rural à habitat très dispersé"]).all()
    assert (com.loc[members.index, "structures"] == 0).all()
    for zone, row in zones.head(10).iterrows():
        geoms = communes.loc[row["communes"]].geometry
        assert row["population"] == communes.loc[row["communes"], "population"].sum()
        assert _connected(list(geoms)), zone
        others = communes.loc[members.index[members["zone"] != zone]].geometry
        assert not others.intersects(geoms.union_all()).any(), zone
        assert row["structures_proches"][0]["distance_km"] > 0


def test_nord_hot_spot_on_lille_is_reproducible(shared_data):
    communes = load_communes(shared_data, ["59"])
    mel = communes["epci"] == "200093201"  # Métropole Européenne de Lille, 95 communes
    assert mel.sum() == 95
    per = pd.Series(np.where(mel, 30, 0), index=communes.index)
    per["59350"] = 0  # Lille itself left empty: a LH outlier among HH neighbours
    structures = structures_in(communes, per[per > 0])
    table = indicator_table(structures, communes, "commune")
    a = hot_spots(communes, table["structures_per_10k"], seed=42)
    b = hot_spots(communes, table["structures_per_10k"], seed=42)
    pd.testing.assert_frame_equal(a, b)
    hot = a.index[a["gi_classe"] == "point chaud"]
    assert len(hot) > 10 and mel[hot].mean() > 0.9
    hh = a.index[a["lisa_classe"] == "HH"]
    assert len(hh) > 0 and mel[hh].all()


def test_normandie_epci_rollup_matches_official_epci_layer(shared_data):
    communes = load_communes(shared_data, NORMANDIE)
    pop = communes["population"].astype(int)
    structures = structures_in(communes, (pop // 2000)[pop >= 2000])
    epci = indicator_table(structures, communes, "epci")
    official = gpd.read_file(shared_data / "boundaries" / "epci_normandie.geojson")
    official = official.set_index(official["code"].astype(str))
    inside = official[official["nb_communes"].astype(int).eq(
        epci["nb_communes"].reindex(official.index))]
    assert len(inside) > 50  # EPCI wholly in Normandie (a few straddle a regional border)
    got = epci.loc[inside.index, "population"].astype(int)
    assert (got == inside["population"].astype(int)).all()
    assert epci["structures"].sum() == len(structures)
