"""BAN batch geocoding: pure half on the real recorded answer, network half via a local server."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from servers import BanCsvApp, isolated_http, read_ban_answer

from etl.geocode import (
    QUERY_ID,
    RESULT_COLUMNS,
    accept_results,
    build_csv_chunks,
    departement_of_postcode,
    geocode_addresses,
    is_cedex,
    normalise_address,
    normalise_commune_name,
    parse_geocode_csv,
)
from observatory.errors import GeocodingError, NetworkError
from tests.local_server import LocalServer

REAL = "api_samples/geoplateforme_geocodage_search_csv_response.csv"

# A street-level hit in Dijon written in the exact Géoplateforme result format (built here).
DIJON = {
    "longitude": "5.041480", "latitude": "47.321581", "result_score": "0.9612",
    "result_score_next": "0.61", "result_label": "2 Rue des Forges 21000 Dijon",
    "result_type": "housenumber", "result_id": "21231_2770_00002", "result_banId": "",
    "result_housenumber": "2", "result_name": "2 Rue des Forges",
    "result_street": "Rue des Forges", "result_postcode": "21000", "result_city": "Dijon",
    "result_context": "21, Côte-d'Or, Bourgogne-Franche-Comté", "result_citycode": "21231",
    "result_oldcitycode": "", "result_oldcity": "", "result_district": "", "result_status": "ok",
}




@pytest.fixture
def http_env(tmp_path, monkeypatch):
    yield from isolated_http(tmp_path, monkeypatch)


# ------------------------------------------------------------------ pure half, real answer
@pytest.mark.integration
def test_parse_real_answer_types_and_statuses(shared_data):
    answer = parse_geocode_csv((shared_data / REAL).read_bytes())
    assert list(answer.columns[:4]) == ["id", "adresse", "cp", "ville"]
    assert tuple(answer.columns[4:]) == RESULT_COLUMNS
    assert answer["result_status"].tolist() == ["ok", "not-found", "ok"]
    assert answer["longitude"].dtype == "float64"
    assert answer.loc[0, "result_citycode"] == "75104"
    assert answer.loc[0, "result_label"] == "Rue de l'Hôtel de Ville 75004 Paris"
    assert pd.isna(answer.loc[1, "latitude"]) and pd.isna(answer.loc[1, "result_type"])
    assert answer.loc[2, "result_type"] == "municipality"


@pytest.mark.integration
def test_accept_real_rows(shared_data):
    answer = parse_geocode_csv((shared_data / REAL).read_bytes())
    verdict = accept_results(answer, expected_citycode=pd.Series(["75056", pd.NA, "69123"]),
                             expected_postcode=answer["cp"])
    # score 0.797 < 0.8; not-found; municipality-level hit (commune only, but coherent)
    assert verdict["raison"].tolist() == ["score_insuffisant", "adresse_non_trouvee",
                                          "niveau_commune"]
    assert not verdict["accepted"].any()
    assert verdict["commune_coherente"].tolist() == [True, False, True]
    # a lower threshold accepts the Paris street: arrondissement 75104 belongs to Paris 75056
    relaxed = accept_results(answer, expected_citycode=pd.Series(["75056", pd.NA, pd.NA]),
                             min_score=0.7)
    assert relaxed["accepted"].tolist() == [True, False, False]


def test_accept_citycode_and_postcode_rules():
    answer = pd.DataFrame({
        "result_status": ["ok"] * 5, "result_score": [0.95] * 5,
        "result_type": ["housenumber"] * 5,
        "result_citycode": ["21231", "21231", "2A004", "97411", "21231"],
        "result_oldcitycode": ["", "21999", "", "", ""],
        "result_postcode": ["21000", "21000", "20000", "97400", "21000"],
    })
    verdict = accept_results(
        answer,
        expected_citycode=pd.Series(["21231", "21999", pd.NA, pd.NA, "25056"]),
        expected_postcode=pd.Series([pd.NA, pd.NA, "20167", "97490", pd.NA]),
    )
    # same code; old (merged) commune code; Corsica 20xxx -> 2A; overseas 3-char prefix;
    # a Dijon hit for a Besançon address is inconsistent
    assert verdict["accepted"].tolist() == [True, True, True, True, False]
    assert verdict["raison"].iloc[4] == "commune_incoherente"
    answer["result_score_next"] = [0.94, 0.2, 0.2, 0.2, 0.2]  # first one is ambiguous
    gap = accept_results(answer, expected_citycode=answer["result_citycode"], min_gap=0.1)
    assert gap["accepted"].tolist() == [False, True, True, True, True]
    assert departement_of_postcode(pd.Series(["21000", "97400", "20000"])).tolist() == [
        "21", "974", "2A|2B"]


def test_address_normalisation_french_cases():
    addresses = pd.Series(["12 av. Jean Jaurès BP 123", "3 rue St Michel CS 70001",
                           "Place Ste Anne, TSA 40001", "1 bd Carnot B.P. 40", "   ", None])
    assert normalise_address(addresses).tolist()[:4] == [
        "12 av. Jean Jaurès", "3 rue SAINT Michel", "Place SAINTE Anne", "1 bd Carnot"]
    assert normalise_address(addresses).isna().tolist()[4:] == [True, True]
    towns = pd.Series(["DIJON CEDEX 9", "ST APOLLINAIRE", "PARIS 13", "Lyon 3e Arrondissement",
                       "MARSEILLE 13EME", "Stenay"])
    assert normalise_commune_name(towns).tolist() == [
        "DIJON", "SAINT APOLLINAIRE", "PARIS", "Lyon", "MARSEILLE", "Stenay"]
    assert is_cedex(towns).tolist() == [True, False, False, False, False, False]


def test_build_chunks_dedupes_and_splits():
    frame = pd.DataFrame({"adresse": ["1 rue A", "1 rue A ", "2 rue B", "", "3 rue C"],
                          "cp": ["21000", "21000", "21000", "21000", "25000"]})
    ids, chunks = build_csv_chunks(frame, ["adresse"], postcode="cp", max_bytes=10_000)
    assert ids.tolist()[:3] == [0, 0, 1] and pd.isna(ids.iloc[3])
    assert len(chunks) == 1 and chunks[0].count(b"\n") == 4  # header + 3 distinct queries
    _, small = build_csv_chunks(frame, ["adresse"], postcode="cp", max_bytes=40)
    assert len(small) == 3 and all(len(c) <= 40 for c in small)
    assert all(c.startswith(f"{QUERY_ID},adresse,cp\n".encode()) for c in small)


def test_parse_malformed_answers():
    with pytest.raises(GeocodingError, match="lacks the result columns"):
        parse_geocode_csv(b"<html><body>502 Bad Gateway</body></html>\n")
    with pytest.raises(GeocodingError, match="not UTF-8"):
        parse_geocode_csv(b"\xff\xfe\x00a")


# ------------------------------------------------------------------ network half
def _frame():
    return pd.DataFrame({
        "adresse": ["Place de l Hotel de Ville", "rue inexistante zzz", "2 rue des Forges",
                    "2 rue des Forges", None],
        "cp": ["75004", "99999", "21000", "21000", None],
        "ville": ["Paris", "Nullepart", "Dijon", "Dijon", " "],
    }, index=[10, 11, 12, 13, 14])


@pytest.mark.integration
def test_geocode_through_local_server(shared_data, http_env):
    app = BanCsvApp(shared_data / REAL, {"2 rue des Forges 21000 Dijon": DIJON})
    with LocalServer(app) as url:
        result = geocode_addresses(_frame(), ["adresse", "cp", "ville"], postcode="cp",
                                   base_url=url)
    assert list(result.index) == [10, 11, 12, 13, 14]
    assert result["result_status"].tolist() == ["ok", "not-found", "ok", "ok", "skipped"]
    assert result.loc[10, "result_citycode"] == "75104"
    assert result.loc[10, "result_score"] == pytest.approx(0.79728)
    assert result.loc[12, "longitude"] == pytest.approx(5.04148)
    assert len(app.uploads) == 1
    form = app.uploads[0]["form"]
    assert form["columns"] == ["adresse", "cp", "ville"] and form["postcode"] == ["cp"]
    # duplicated and empty queries are not sent: 3 distinct addresses, 4 lines with the header
    body = app.requests[0][3]
    assert b'name="data"; filename="adresses.csv"' in body
    assert body.count(b"rue des Forges") == 1


@pytest.mark.integration
def test_geocode_splits_under_size_cap(shared_data, http_env):
    frame = pd.DataFrame({"adresse": [f"{n} rue des Forges" for n in range(1, 41)],
                          "cp": ["21000"] * 40})
    app = BanCsvApp(shared_data / REAL, {"2 rue des Forges 21000": DIJON})
    with LocalServer(app) as url:
        result = geocode_addresses(frame, ["adresse", "cp"], postcode="cp", base_url=url,
                                   max_bytes=200)
    assert len(app.uploads) > 3 and all(u["size"] <= 200 for u in app.uploads)
    assert (result["result_status"] == "ok").sum() == 1
    assert (result["result_status"] == "not-found").sum() == 39


@pytest.mark.integration
def test_geocode_retries_429_and_500(shared_data, http_env):
    faults = [(429, {"Retry-After": "2"}, b"Too Many Requests"), (500, {}, b"oops")]
    app = BanCsvApp(shared_data / REAL, {"2 rue des Forges 21000 Dijon": DIJON}, faults=faults)
    with LocalServer(app) as url:
        result = geocode_addresses(_frame(), ["adresse", "cp", "ville"], base_url=url,
                                   use_cache=False)
    assert len(app.requests) == 3 and len(app.uploads) == 1
    assert 2.0 in http_env  # the Retry-After wait was honoured
    assert result.loc[12, "result_citycode"] == "21231"


@pytest.mark.integration
def test_geocode_errors(shared_data, http_env):
    with LocalServer(BanCsvApp(shared_data / REAL, malformed=True)) as url, \
            pytest.raises(GeocodingError, match="result columns"):
        geocode_addresses(_frame(), ["adresse"], base_url=url, use_cache=False)
    failing = BanCsvApp(shared_data / REAL, faults=[(503, {}, b"down")] * 10)
    with LocalServer(failing) as url, pytest.raises(NetworkError, match="503"):
        geocode_addresses(_frame(), ["adresse"], base_url=url, use_cache=False)
    assert len(failing.requests) == 4  # 1 + 3 retries


def test_read_ban_answer_header_matches_module(shared_data):
    header, rows = read_ban_answer(shared_data / REAL)
    assert tuple(header[4:]) == RESULT_COLUMNS and len(rows) == 3
