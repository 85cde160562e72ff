"""BAN batch geocoding and the HTTP cache: a transient error page is never replayed.

Probe of issue 14: after one ``200`` answer carrying an HTML error page (a proxy or gateway
hiccup), BAN geocoding kept failing from the cache after the service had recovered, until
the cache folder was deleted by hand.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from servers import BanCsvApp, isolated_http

from etl.geocode import geocode_addresses
from observatory.errors import GeocodingError
from tests.local_server import LocalServer

REAL = "api_samples/geoplateforme_geocodage_search_csv_response.csv"
ERROR_PAGE = (200, {"Content-Type": "text/html"}, b"<html><body>502 Bad Gateway</body></html>")


@pytest.fixture
def http_env(tmp_path, monkeypatch):
    yield from isolated_http(tmp_path, monkeypatch)


def _frame() -> pd.DataFrame:
    # Two addresses of the real recorded answer (their input columns: adresse, cp, ville).
    return pd.DataFrame({"adresse": ["Place de l Hotel de Ville", "rue inexistante zzz"],
                         "cp": ["75004", "99999"], "ville": ["Paris", "Nullepart"]})


@pytest.mark.integration
def test_error_page_is_not_cached_and_geocoding_recovers(shared_data, http_env, tmp_path):
    app = BanCsvApp(shared_data / REAL, faults=[ERROR_PAGE])
    with LocalServer(app) as url:
        with pytest.raises(GeocodingError) as info:
            geocode_addresses(_frame(), ["adresse", "cp", "ville"], base_url=url)
        message = str(info.value)
        assert "lacks the result columns" in message
        assert "not kept in the HTTP cache" in message and str(tmp_path / "http-cache") in message
        assert not list((tmp_path / "http-cache").rglob("*.json"))
        # The service has recovered: the same call works, without touching the cache by hand.
        result = geocode_addresses(_frame(), ["adresse", "cp", "ville"], base_url=url)
        assert result["result_status"].tolist() == ["ok", "not-found"]
        assert result.loc[0, "result_citycode"] == "75104"
        # ... and the good answer is the one kept: a third call is served from the cache.
        again = geocode_addresses(_frame(), ["adresse", "cp", "ville"], base_url=url)
    assert len(app.requests) == 2
    assert again["result_status"].tolist() == ["ok", "not-found"]


@pytest.mark.integration
def test_answer_missing_rows_is_not_cached(shared_data, http_env, tmp_path):
    header = (shared_data / REAL).read_bytes().splitlines()[0]
    short = (200, {"Content-Type": "text/csv"}, b"obs_query_id," + header + b"\n")
    app = BanCsvApp(shared_data / REAL, faults=[short])
    with LocalServer(app) as url:
        with pytest.raises(GeocodingError, match="answered 0 rows for 2 uploaded"):
            geocode_addresses(_frame(), ["adresse", "cp", "ville"], base_url=url)
        result = geocode_addresses(_frame(), ["adresse", "cp", "ville"], base_url=url)
    assert result["result_status"].tolist() == ["ok", "not-found"]
    assert len(app.requests) == 2
