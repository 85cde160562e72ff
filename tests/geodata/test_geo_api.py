"""geo.api.gouv.fr client against a local HTTP server on 127.0.0.1.

The server serves (a) the recorded real answer of ``/communes?nom=`` (bare JSON array) and
(b) a FeatureCollection in the API's format built at test time from the shared real
contours of Côte-d'Or restricted to Dijon Métropole (EPCI 242100410, 23 communes), with the
API's property names; (c) a 404 and a malformed JSON answer.
"""

from __future__ import annotations

import functools
import json

import pytest

from geodata.geo_api import (
    DEFAULT_FIELDS,
    communes_of_departement,
    communes_of_epci,
    parse_communes_json,
    search_communes,
)
from observatory import http
from observatory.errors import DataValidationError
from tests.local_server import LocalServer, Reply

DIJON_METROPOLE = "242100410"


def _json_route(answer):
    """Handler answering ``(status, bytes)``, or ``answer(params)`` when it is a function."""
    def handler(req):
        status, body = answer(req.params) if callable(answer) else answer
        return Reply(status, body, {"Content-Type": "application/json; charset=utf-8"})
    return handler


def _last_query(server):
    """(path, parse_qs parameters) of the last request ``server`` received."""
    return server.requests[-1].path, server.requests[-1].params


@functools.lru_cache(maxsize=4)
def _api_feature_collection(shared_data, epci=None):
    """FeatureCollection with the API property names, from the shared real contours."""
    import geopandas as gpd

    from geodata.crs import area_km2

    frame = gpd.read_file(shared_data / "boundaries/communes_21.geojson")
    if epci:
        frame = frame[frame["epci"] == epci]
    surface_ha = (area_km2(frame.geometry, frame["departement"]) * 100).round(2)
    features = []
    for (_, row), surface in zip(frame.iterrows(), surface_ha, strict=True):
        features.append({
            "type": "Feature",
            "geometry": row.geometry.__geo_interface__,
            "properties": {"code": row["code"], "nom": row["nom"], "codeEpci": row["epci"],
                           "codeDepartement": row["departement"],
                           "codeRegion": row["region"], "population": int(row["population"]),
                           "surface": float(surface)},
        })
    return {"type": "FeatureCollection", "features": features}


@pytest.fixture
def api(shared_data, tmp_path, monkeypatch):
    departement = _api_feature_collection(shared_data)
    routes = {
        "/communes": (200, (shared_data / "api_samples/geo_api_communes_search_response.json")
                      .read_bytes()),
        f"/epcis/{DIJON_METROPOLE}/communes": (
            200, json.dumps(_api_feature_collection(shared_data, DIJON_METROPOLE)).encode()),
        "/departements/21/communes": lambda query: (200, json.dumps(
            departement if query.get("format") == ["geojson"]
            else [f["properties"] for f in departement["features"]]).encode()),
        "/epcis/200000000/communes": (200, b'{"type": "FeatureCollection", "features": [{'),
    }
    server = LocalServer(_json_route((404, b'{"code":404}')))
    for path, answer in routes.items():
        server.route(path, _json_route(answer))
    server.start()
    overlay = tmp_path / "catalog.yaml"
    overlay.write_text(f"sources:\n  geo_api:\n    url: {server.base}\n"
                       "rate_limits:\n  127.0.0.1: 0\n", encoding="utf-8")
    monkeypatch.setenv("OBSERVATOIRE_CATALOG", str(overlay))
    monkeypatch.setenv("OBSERVATOIRE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("OBSERVATOIRE_MAX_RETRIES", "0")
    monkeypatch.delenv("OBSERVATOIRE_OFFLINE", raising=False)
    monkeypatch.delenv("OBSERVATOIRE_CACHE_DIR", raising=False)
    http.reset_session()
    yield server
    http.reset_session()
    server.stop()


@pytest.mark.integration
def test_search_bare_array_recorded_answer(api):
    found = search_communes(nom="Nice", limit=3)
    assert _last_query(api) == ("/communes", {"nom": ["Nice"], "limit": ["3"]})
    assert found.index.tolist() == ["06088", "21454", "55384"]  # ranked as the API ranks
    assert found.loc["21454", "nom"] == "Nicey"
    assert found.loc["21454", "departement"] == "21"
    assert found.loc["21454", "departement_nom"] == "Côte-d'Or"
    assert found.loc["06088", "codes_postaux"] == "06000,06100,06200,06300"
    assert found["score"].is_monotonic_decreasing


@pytest.mark.integration
def test_communes_of_epci_geojson(api):
    communes = communes_of_epci(DIJON_METROPOLE)
    path, query = _last_query(api)
    assert path == f"/epcis/{DIJON_METROPOLE}/communes"
    assert query["format"] == ["geojson"] and query["geometry"] == ["contour"]
    assert query["fields"] == [",".join(DEFAULT_FIELDS)]
    assert len(communes) == 23
    assert (communes["epci"] == DIJON_METROPOLE).all()
    assert communes.crs.to_epsg() == 4326
    assert communes.loc["21231", "nom"] == "Dijon"
    assert communes.loc["21231", "population"] == 161830
    assert str(communes["population"].dtype) == "Int64"
    # surface (ha) -> km²: the fixture's surface is the projected area, so they agree.
    from geodata.crs import area_km2

    dijon = communes.loc[["21231"]]
    assert dijon["superficie_km2"].iloc[0] == pytest.approx(
        area_km2(dijon.geometry, ["21"])[0], abs=0.01)
    assert 35 < dijon["superficie_km2"].iloc[0] < 45  # Dijon: about 40 km²


@pytest.mark.integration
def test_communes_of_departement_and_cache(api):
    communes = communes_of_departement("21")
    assert len(communes) == 698
    hits = len(api.requests)
    again = communes_of_departement("21")  # served by the on-disk cache
    assert len(api.requests) == hits and len(again) == 698
    attributes_only = communes_of_departement("21", geometry=None, use_cache=False)
    assert "format" not in _last_query(api)[1]
    assert "geometry" not in attributes_only.columns
    assert attributes_only.equals(communes.drop(columns="geometry").astype(
        attributes_only.dtypes.to_dict()))


@pytest.mark.integration
def test_unknown_epci_and_malformed_json(api):
    with pytest.raises(DataValidationError, match="does not know EPCI '999999999'"):
        communes_of_epci("999999999")
    with pytest.raises(DataValidationError, match="not JSON"):
        communes_of_epci("200000000")
    with pytest.raises(DataValidationError, match="9-digit SIREN"):
        communes_of_epci("2421")


def test_parse_bare_array_nested_and_flat():
    payload = [
        {"code": "21231", "nom": "Dijon", "codeDepartement": "21", "codeRegion": "27",
         "codeEpci": "242100410", "population": 161830, "surface": 4041.0},
        {"code": "2A004", "nom": "Ajaccio", "departement": {"code": "2A", "nom": "Corse-du-Sud"},
         "region": {"code": "94", "nom": "Corse"}, "population": 74291},
    ]
    frame = parse_communes_json(payload)
    assert frame.loc["21231", "superficie_km2"] == pytest.approx(40.41)  # 4041 ha
    assert frame.loc["2A004", "departement"] == "2A"
    assert frame.loc["2A004", "region"] == "94"
    assert frame["population"].tolist() == [161830, 74291]
    with pytest.raises(DataValidationError, match="expected a JSON array"):
        parse_communes_json({"type": "FeatureCollection"})


def test_wrong_shaped_answer_is_never_cached(tmp_path, monkeypatch):
    """A 200 whose JSON is valid but of the wrong shape (an error object where the API
    answers an array) is refused and not kept: the next call asks again and gets the real
    answer, which is then cached (issue 14: the cache replayed such answers forever)."""
    real = [{"code": "21231", "nom": "Dijon", "codeDepartement": "21", "codeRegion": "27",
             "codeEpci": "242100410", "population": 161830, "surface": 4041.0}]

    def communes(req):
        body = {"message": "Service en maintenance"} if req.n == 1 else real
        return Reply(200, json.dumps(body).encode(), {"Content-Type": "application/json"})

    server = LocalServer()
    server.route("/communes", communes)
    with server as url:
        overlay = tmp_path / "catalog.yaml"
        overlay.write_text(f"sources:\n  geo_api:\n    url: {url}\nrate_limits:\n"
                           "  127.0.0.1: 0\n", encoding="utf-8")
        monkeypatch.setenv("OBSERVATOIRE_CATALOG", str(overlay))
        monkeypatch.setenv("OBSERVATOIRE_DATA_DIR", str(tmp_path / "data"))
        monkeypatch.delenv("OBSERVATOIRE_OFFLINE", raising=False)
        monkeypatch.delenv("OBSERVATOIRE_CACHE_DIR", raising=False)
        http.reset_session()
        with pytest.raises(DataValidationError) as err:
            search_communes(nom="Dijon")
        found = search_communes(nom="Dijon")  # asked again: the real answer
        assert found.index.tolist() == ["21231"] and server.hits["/communes"] == 2
        assert "expected a JSON array" in str(err.value)
        assert "not kept in the HTTP cache" in str(err.value)
        assert search_communes(nom="Dijon").index.tolist() == ["21231"]
        assert server.hits["/communes"] == 2  # the good answer is cached
    http.reset_session()
