"""Point-in-polygon assignment on the tiny grid (answers worked out from the grid layout in
conftest.py: square 21100 is lon 4.9-5.0 / lat 47.2-47.3, 21101 to its east, 21103 north)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from etl.assign import assign_communes, commune_centroids
from observatory.errors import CRSMismatchError
from observatory.schema import empty_structures


def _structures(rows: list[tuple]) -> pd.DataFrame:
    """rows: (siret, commune_declaree, lon, lat, precision)."""
    base = empty_structures()
    frame = pd.DataFrame(rows, columns=["siret", "commune_declaree", "longitude", "latitude",
                                        "location_precision"])
    out = pd.concat([base, frame], ignore_index=True)
    return out.astype({"longitude": "float64", "latitude": "float64"})


def test_points_in_declared_and_other_communes(tiny_reference):
    s = _structures([
        ("1", "21100", 4.95, 47.25, "geoloc_insee"),    # inside its declared commune
        ("2", "21100", 5.05, 47.25, "geoloc_insee"),    # inside 21101: point wins, disagreement
        ("3", None, 5.15, 47.45, "geoloc_insee"),       # no declared code: 21108 by point
        ("4", "75101", 2.35, 48.86, "commune_aleatoire"),  # arrondissement -> 75056
        ("5", "21999", 5.05, 47.35, "lambert_sirene"),  # old code -> 21104, inside
        ("6", "97411", 55.45, -20.9, "lambert_sirene"),
    ])
    result = assign_communes(s, tiny_reference.communes, tiny_reference.code_changes)
    out = result.structures.set_index("siret")
    assert out["commune"].to_dict() == {"1": "21100", "2": "21101", "3": "21108",
                                        "4": "75056", "5": "21104", "6": "97411"}
    assert out["commune_desaccord"].to_dict() == {"1": False, "2": True, "3": False,
                                                  "4": False, "5": False, "6": False}
    assert out.loc["2", "epci"] == "242100410" and out.loc["3", "epci"] == "200070944"
    assert out.loc["6", "departement"] == "974" and out.loc["6", "region"] == "04"
    assert result.stats["dans_commune_declaree"] == 4
    assert result.stats["recherche_index"] == 2
    assert result.stats["desaccords"] == 1
    assert len(result.rejects) == 0


def test_border_point_rule(tiny_reference):
    # (5.0, 47.25) is on the border of 21100 and 21101; (5.0, 47.3) is a corner of four.
    s = _structures([
        ("a", "21101", 5.0, 47.25, "geoloc_insee"),   # declared among matches -> declared
        ("b", "21100", 5.0, 47.25, "geoloc_insee"),
        ("c", None, 5.0, 47.25, "geoloc_insee"),      # no declared -> smallest code
        ("d", "21108", 5.0, 47.3, "geoloc_insee"),    # corner, declared not among -> smallest
    ])
    result = assign_communes(s, tiny_reference.communes, tiny_reference.code_changes)
    out = result.structures.set_index("siret")["commune"].to_dict()
    assert out == {"a": "21101", "b": "21100", "c": "21100", "d": "21100"}
    assert result.stats["frontiere_plusieurs_communes"] == 4


def test_outside_every_commune_falls_back_or_is_rejected(tiny_reference):
    s = _structures([
        ("sea", "21104", -5.0, 45.0, "geoloc_insee"),      # at sea, valid declared code
        ("swap", "21104", 47.35, 5.05, "lambert_sirene"),   # swapped coordinates
        ("lost", "99999", -5.0, 45.0, "geoloc_insee"),      # at sea, unknown code -> reject
        ("nopt", "21105", np.nan, np.nan, "centroide_commune"),
        ("bad", "12345", np.nan, np.nan, "centroide_commune"),  # unknown, no point -> reject
    ])
    result = assign_communes(s, tiny_reference.communes, tiny_reference.code_changes)
    out = result.structures.set_index("siret")
    assert set(out.index) == {"sea", "swap", "nopt"}
    assert (out["commune"] == pd.Series({"sea": "21104", "swap": "21104", "nopt": "21105"})
            ).all()
    assert (out["location_precision"] == "centroide_commune").all()
    # the fallback point is the centre of the square
    np.testing.assert_allclose(out.loc["sea", ["longitude", "latitude"]].astype(float),
                               [5.05, 47.35])
    np.testing.assert_allclose(out.loc["nopt", ["longitude", "latitude"]].astype(float),
                               [5.15, 47.35])
    reasons = result.rejects.set_index("siret")["raison"]
    assert reasons["lost"].startswith("hors_commune") and "99999" in reasons["lost"]
    assert reasons["bad"].startswith("commune_inconnue") and "12345" in reasons["bad"]
    assert result.stats["hors_commune_centroide"] == 2
    assert result.stats["rejetes"] == 2
    assert len(result.structures) + len(result.rejects) == len(s)


def test_crs_is_checked_first(tiny_reference):
    projected = tiny_reference.communes.to_crs(2154)
    with pytest.raises(CRSMismatchError, match="EPSG:4326"):
        assign_communes(_structures([("1", "21100", 4.95, 47.25, "geoloc_insee")]), projected)


def test_matches_plain_sjoin_on_random_points(tiny_reference):
    rng = np.random.default_rng(7)
    n = 2000
    lon = rng.uniform(4.85, 5.25, n)
    lat = rng.uniform(47.15, 47.55, n)
    codes = np.array(tiny_reference.communes.index[:9])
    declared = rng.choice(codes, n)
    s = _structures([(str(i), declared[i], lon[i], lat[i], "geoloc_insee") for i in range(n)])
    result = assign_communes(s, tiny_reference.communes, tiny_reference.code_changes,
                             tolerance_m=0)  # the border rule off: plain point in polygon
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    joined = gpd.sjoin(points, tiny_reference.communes.reset_index()[["code", "geometry"]],
                       predicate="within", how="left")
    joined = joined[~joined.index.duplicated()]
    out = result.structures.set_index("siret")
    inside = joined["code"].notna().to_numpy()
    assert inside.sum() > 1000
    ours = out["commune"].reindex([str(i) for i in np.flatnonzero(inside)]).to_numpy()
    assert (ours == joined["code"].to_numpy()[inside]).all()
    # outside the grid: declared commune's centroid
    outside = [str(i) for i in np.flatnonzero(~inside)]
    assert (out.loc[outside, "commune"].to_numpy() == declared[~inside]).all()


def test_commune_centroids_inside(tiny_reference):
    c = commune_centroids(tiny_reference.communes, ["21100", "97411"])
    np.testing.assert_allclose(c.loc["21100"].to_numpy(), [4.95, 47.25])
    np.testing.assert_allclose(c.loc["97411"].to_numpy(), [55.45, -20.9])


@pytest.mark.integration
def test_real_boundaries_of_cote_dor(shared_data):
    communes = gpd.read_file(shared_data / "boundaries" / "communes_21.geojson")
    assert communes.crs.to_epsg() == 4326
    communes = communes.set_index("code")[["epci", "departement", "region", "geometry"]]
    communes.index = communes.index.astype("string")
    inner = communes.geometry.representative_point()
    s = _structures([(code, code, p.x, p.y, "geoloc_insee") for code, p in inner.items()])
    result = assign_communes(s, communes)
    out = result.structures.set_index("siret")["commune"]
    assert len(out) == len(communes)
    assert (out.index == out.to_numpy()).all()
    assert result.stats["dans_commune_declaree"] == len(communes)


def test_border_rule_tolerance_declared_commune_wins(tiny_reference):
    """Hand-computed: at lat 47.25 one degree of longitude is 6 371 km x pi/180 x cos(47.25°)
    = 75 484 m.  The 21100/21101 border is lon 5.0; 21100's west edge (lon 4.9) is the edge of
    the grid."""
    metre = 1 / 75_484.0
    s = _structures([
        ("near", "21100", 5.0 + 60 * metre, 47.25, "geoloc_insee"),   # 60 m into 21101
        ("far", "21100", 5.0 + 140 * metre, 47.25, "geoloc_insee"),   # 140 m into 21101
        ("quay", "21100", 4.9 - 30 * metre, 47.25, "geoloc_insee"),   # 30 m off every commune
        ("sea", "21100", 4.9 - 300 * metre, 47.25, "geoloc_insee"),   # 300 m off
        ("none", None, 5.0 + 60 * metre, 47.25, "geoloc_insee"),      # nothing declared
    ])
    result = assign_communes(s, tiny_reference.communes, tiny_reference.code_changes)
    out = result.structures.set_index("siret")
    assert out["commune"].to_dict() == {"near": "21100", "far": "21101", "quay": "21100",
                                        "sea": "21100", "none": "21101"}
    # within the tolerance the point is kept; beyond it, off every commune: centroid
    assert out.loc["quay", "location_precision"] == "geoloc_insee"
    assert out.loc["quay", "longitude"] == pytest.approx(4.9 - 30 * metre)
    assert out.loc["sea", "location_precision"] == "centroide_commune"
    assert out["commune_desaccord"].to_dict() == {"near": False, "far": True, "quay": False,
                                                  "sea": False, "none": False}
    assert result.stats["tolerance_autre_commune"] == 1
    assert result.stats["tolerance_hors_commune"] == 1
    assert result.stats["hors_commune_centroide"] == 1
    narrow = assign_communes(s, tiny_reference.communes, tiny_reference.code_changes,
                             tolerance_m=50)
    assert narrow.structures.set_index("siret").loc["near", "commune"] == "21101"


@pytest.mark.integration
def test_la_poste_siege_stays_in_paris(shared_data, reference):
    """The recorded API answer for La Poste (SIREN 356000000): siège SIRET 35600000000048,
    declared commune 75115 (Paris 15e), point 11.9 m inside Issy-les-Moulineaux (92040) on the
    generalised reference polygons.  The declared commune must win."""
    import json

    payload = json.loads((shared_data / "api_samples" / "recherche_entreprises"
                          / "search-356000000.json").read_text(encoding="utf-8"))
    siege = payload["result"]["results"][0]["siege"]
    assert siege["siret"] == "35600000000048" and siege["commune"] == "75115"
    s = _structures([(siege["siret"], siege["commune"], float(siege["longitude"]),
                      float(siege["latitude"]), "api_recherche")])
    plain = assign_communes(s, reference.communes, reference.code_changes, tolerance_m=0)
    assert plain.structures["commune"].tolist() == ["92040"]  # what "point wins" gave
    result = assign_communes(s, reference.communes, reference.code_changes)
    assert result.structures["commune"].tolist() == ["75056"]
    assert result.stats["tolerance_autre_commune"] == 1
