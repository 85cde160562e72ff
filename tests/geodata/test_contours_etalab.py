"""etalab contours-administratifs GeoJSON loader: a small fixture in the etalab property
layout, then the shared real extracts."""

from __future__ import annotations

import gzip
import json

import pandas as pd
import pytest

from geodata.contours_etalab import read_communes, read_departements, read_epci, read_regions
from observatory.errors import ConfigurationError, DataValidationError


def _square(x, y, d=0.01):
    return {"type": "Polygon",
            "coordinates": [[[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]]}


def _feature(geometry, **properties):
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def _communes_collection():
    """Paris (plm), two of its arrondissements, Dijon, and Île-de-Sein without EPCI."""
    base = {"plm": False, "commune": None}
    features = [
        _feature(_square(2.3, 48.85), code="75056", nom="Paris", departement="75",
                 region="11", epci="200054781", plm=True, commune=None),
        _feature(_square(2.30, 48.85, 0.005), code="75101", nom="Paris 1er Arrondissement",
                 departement="75", region="11", epci=None, plm=False, commune="75056"),
        _feature(_square(2.305, 48.85, 0.005), code="75102", nom="Paris 2e Arrondissement",
                 departement="75", region="11", epci=None, plm=False, commune="75056"),
        _feature(_square(5.0, 47.3), code="21231", nom="Dijon", departement="21",
                 region="27", epci="242100410", **base),
        _feature(_square(-4.85, 48.03), code="29083", nom="Île-de-Sein", departement="29",
                 region="53", epci=None, **base),
    ]
    return {"type": "FeatureCollection", "features": features}


@pytest.mark.parametrize("compressed", [False, True])
def test_communes_and_arrondissements_are_separated(tmp_path, compressed):
    text = json.dumps(_communes_collection())
    if compressed:
        path = tmp_path / "communes-100m.geojson.gz"
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path = tmp_path / "communes-100m.geojson"
        path.write_text(text, encoding="utf-8")
    communes, arrondissements = read_communes(path)
    assert sorted(communes.index) == ["21231", "29083", "75056"]
    assert sorted(arrondissements.index) == ["75101", "75102"]
    assert (arrondissements["commune"] == "75056").all()
    assert communes.loc["75056", "plm"] and not communes.loc["21231", "plm"]
    assert communes.loc["21231", "epci"] == "242100410"
    assert pd.isna(communes.loc["29083", "epci"])
    assert communes.population.isna().all() and str(communes.population.dtype) == "Int64"
    assert communes.crs.to_epsg() == 4326


def test_missing_file_and_missing_property(tmp_path):
    with pytest.raises(ConfigurationError, match="does not exist"):
        read_communes(tmp_path / "absent.geojson")
    broken = {"type": "FeatureCollection",
              "features": [_feature(_square(5, 47), nom="Sans code")]}
    path = tmp_path / "broken.geojson"
    path.write_text(json.dumps(broken))
    with pytest.raises(DataValidationError, match="code"):
        read_communes(path)
    path.write_text("{not json")
    with pytest.raises(ConfigurationError, match="could not be read"):
        read_communes(path)


@pytest.mark.integration
def test_real_communes_cote_d_or(shared_data):
    communes, arrondissements = read_communes(shared_data / "boundaries/communes_21.geojson")
    assert len(communes) == 698
    assert len(arrondissements) == 0
    assert (communes["departement"] == "21").all() and (communes["region"] == "27").all()
    assert (communes["epci"] == "242100410").sum() == 23  # Dijon Métropole
    assert communes.loc["21231", "nom"] == "Dijon"
    assert communes.loc["21231", "population"] == 161830
    assert communes.geometry.is_valid.all()


@pytest.mark.integration
def test_real_departements_regions_epci(shared_data):
    boundaries = shared_data / "boundaries"
    departements = read_departements(boundaries / "departements_france.geojson.gz")
    assert len(departements) == 101
    assert departements.loc["21", ["nom", "region"]].tolist() == ["Côte-d'Or", "27"]
    assert departements.loc["2A", "region"] == "94"
    assert departements.loc["974", "region"] == "04"
    regions = read_regions(boundaries / "regions_france.geojson.gz")
    assert len(regions) == 18
    assert regions.loc["27", "nom"] == "Bourgogne-Franche-Comté"
    assert set(departements["region"]) == set(regions.index)
    epci = read_epci(boundaries / "epci_bourgogne-franche-comte.geojson")
    assert len(epci) == 116
    assert epci.loc["242100410", "nom"] == "Dijon Métropole"
    assert epci.loc["242100410", "type"] == "METRO"
