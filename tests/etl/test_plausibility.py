"""Plausibility of source points against their declared commune / département.

Hand-computed on the tiny grid (sirene_fixtures): 21100 is lon 4.9-5.0 / lat 47.2-47.3; at lat
47.25 one degree of longitude is 6 371 km x pi/180 x cos(47.25°) = 75 484 m and one degree of
latitude 111 195 m.  Paris (75056) is the box lon 2.25-2.42 / lat 48.81-48.91.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from etl.plausibility import (
    TOLERANCE_M,
    check_points,
    commune_positions,
    departement_of_postcode,
    distance_to_areas_m,
)
from observatory.errors import CRSMismatchError

METRE_LON = 1 / 75_484.0  # degrees of longitude per metre at lat 47.25


def test_commune_check_hand_computed(tiny_reference):
    lon = [4.95, 5.0 + 60 * METRE_LON, 5.0 + 150 * METRE_LON, 2.35, np.nan, 5.05, 5.05]
    lat = [47.25, 47.25, 47.25, 48.86, 47.25, 47.25, 47.25]
    commune = ["21100", "21100", "21100", "21100", "21100", None, "75101"]
    check = check_points(lon, lat, tiny_reference.communes, commune=commune,
                         code_changes=tiny_reference.code_changes)
    assert check.status.tolist() == ["commune", "commune", "implausible", "implausible",
                                     "sans_point", "non_verifiable", "implausible"]
    assert check.plausible.tolist() == [True, True, False, False, False, False, False]
    np.testing.assert_allclose(check.distance_m[:3], [0, 60, 150], atol=0.01)
    # The Paris point is north-west of 21100: its distance is the geodesic distance to the
    # corner (4.9, 47.3), within 1 % (local equirectangular approximation).
    from pyproj import Geod

    _, _, geodesic = Geod(ellps="WGS84").inv(2.35, 48.86, 4.9, 47.3)
    assert check.distance_m[3] == pytest.approx(geodesic, rel=0.01)
    assert check.counts() == {"commune": 2, "departement": 0, "implausible": 3,
                              "non_verifiable": 1, "sans_point": 1}


def test_departement_and_postcode_when_no_commune(tiny_reference):
    lon = [5.05, 5.05, 2.35, 5.0 + 60 * METRE_LON, 5.05]
    lat = [47.25, 47.25, 48.86, 47.5 + 0.0005, 47.25]  # 4th: 55.6 m north of the grid
    check = check_points(lon, lat, tiny_reference.communes,
                         departement=["21", None, None, "21", None],
                         code_postal=[None, "21000", "21000", None, "99999"],
                         commune=[None, None, None, None, "21XYZ"])
    assert check.status.tolist() == ["departement", "departement", "implausible",
                                     "departement", "non_verifiable"]
    assert check.distance_m[3] == pytest.approx(0.0005 * 111_195, rel=1e-3)
    # unknown commune code of a known département: checked against the département
    check = check_points([5.05, 2.35], [47.25, 48.86], tiny_reference.communes,
                         commune=["21998", "21998"], departements=tiny_reference.departements)
    assert check.status.tolist() == ["departement", "implausible"]


def test_tolerance_parameter_and_inputs_checked(tiny_reference):
    lon, lat = [5.0 + 60 * METRE_LON], [47.25]
    assert check_points(lon, lat, tiny_reference.communes, commune=["21100"],
                        tolerance_m=50).status.tolist() == ["implausible"]
    with pytest.raises(CRSMismatchError):
        check_points(lon, lat, tiny_reference.communes.to_crs(2154), commune=["21100"])
    with pytest.raises(ValueError, match="one value per point"):
        check_points(lon, lat, tiny_reference.communes, commune=["21100", "21101"])


def test_postcode_departements():
    got = departement_of_postcode(["21000", "97411", "20000", "20167", "20200", "20600",
                                   "98000", "2100", None, "01500"]).tolist()
    assert got == ["21", "974", "2A", "2A", "2B", "2B", pd.NA, pd.NA, pd.NA, "01"]


def test_commune_positions_maps_old_codes(tiny_reference):
    codes = np.asarray(tiny_reference.communes.index, dtype=object)
    pos = commune_positions(["21100", "75101", "21999", "1100", None, "99999"], codes,
                            tiny_reference.code_changes)
    assert [codes[p] if p >= 0 else None for p in pos] == ["21100", "75056", "21104", None,
                                                           None, None]


def test_distance_pairs_and_missing(tiny_reference):
    geoms = tiny_reference.communes.geometry
    d = distance_to_areas_m([4.95, 4.95, np.nan], [47.25, 47.25 + 0.15, 47.25],
                            [geoms["21100"], geoms["21100"], geoms["21100"]])
    assert d[0] == 0 and np.isnan(d[2])
    assert d[1] == pytest.approx(0.10 * 111_195, rel=1e-3)  # 47.40 vs the top edge 47.30


@pytest.mark.integration
def test_tolerance_measurement_on_real_points(shared_data, reference):
    """The measurement behind TOLERANCE_M (etl.plausibility docstring), redone with an
    independent method (Lambert-93 distances): real SIAE/GEIQ BAN points whose town name
    matches exactly one commune of their département; disagreements are either border-scale
    (< 100 m: generalisation) or geocoding errors (km)."""
    import geopandas as gpd
    import shapely

    from render.fr import normaliser

    siae = pd.read_csv(shared_data / "real_actors" / "siae_geiq_2021.csv", dtype=str)
    siae = siae.dropna(subset=["longitude", "latitude"])
    siae = siae[~siae["departement"].str.startswith("97")]
    communes = reference.communes
    names = pd.DataFrame({"code": communes.index.astype(str),
                          "departement": communes["departement"].astype(str),
                          "n": communes["nom"].map(normaliser)})
    names = names[~names.duplicated(["departement", "n"], keep=False)]
    siae = siae.assign(n=siae["ville"].map(normaliser), departement=siae["departement"].str
                       .upper()).merge(names, on=["departement", "n"], how="inner",
                                       validate="m:1")
    lon, lat = siae["longitude"].astype(float), siae["latitude"].astype(float)
    check = check_points(lon, lat, communes, commune=siae["code"])
    points = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs=4326).to_crs(2154)
    polygons = gpd.GeoSeries(communes.geometry.reindex(siae["code"]).to_numpy(),
                             crs=4326).to_crs(2154)
    lambert = shapely.distance(points.to_numpy(), polygons.to_numpy())
    outside = lambert > 0
    assert len(siae) > 3500 and 20 <= outside.sum() <= 60
    np.testing.assert_allclose(check.distance_m[outside], lambert[outside], rtol=0.02,
                               atol=0.5)
    border = outside & (lambert <= TOLERANCE_M)
    assert border.sum() >= 20 and lambert[border].max() < 0.8 * TOLERANCE_M
    far = outside & ~border
    assert lambert[far].min() > 30 * TOLERANCE_M  # nothing between the two populations
    assert (check.status[border] == "commune").all()
    assert (check.status[far] == "implausible").all()
