"""The API and actors loaders inside the refresh job, against local services and the tiny
reference geography of tests/etl/conftest.py (3x3 grid of 0.1° communes 21100-21108)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from servers import (
    BanCsvApp,
    SearchApp,
    catalog_overlay,
    clone_units,
    isolated_http,
    load_real_units,
)

from tests.local_server import LocalServer

pytestmark = pytest.mark.integration

REAL = "api_samples/geoplateforme_geocodage_search_csv_response.csv"
# A housenumber hit inside commune 21104 (square lon 5.0-5.1, lat 47.3-47.4), real format.
HIT_21104 = {
    "longitude": "5.05", "latitude": "47.35", "result_score": "0.93", "result_score_next": "",
    "result_label": "4 Rue du Centre 21104 Commune", "result_type": "housenumber",
    "result_id": "21104_0001_00004", "result_banId": "", "result_housenumber": "4",
    "result_name": "4 Rue du Centre", "result_street": "Rue du Centre",
    "result_postcode": "21110", "result_city": "Commune 21104",
    "result_context": "21, Côte-d'Or, Bourgogne-Franche-Comté", "result_citycode": "21104",
    "result_oldcitycode": "", "result_oldcity": "", "result_district": "", "result_status": "ok",
}


@pytest.fixture
def http_env(tmp_path, monkeypatch):
    yield from isolated_http(tmp_path, monkeypatch)


def test_refresh_from_api_and_actors(shared_data, tmp_path, monkeypatch, http_env, data_dir,
                                     tiny_reference):
    from etl.refresh import RefreshOptions, run_refresh
    from observatory import storage

    real = load_real_units(shared_data / "api_samples")
    ess = [u for u in real if (u.get("complements") or {}).get("est_ess")]
    units = clone_units(ess, 3, communes=[("21104", "21110")])
    points = [("5.05", "47.35"), (None, None), ("-5.0", "46.0")]  # inside, none, at sea
    for unit, (lon, lat) in zip(units, points, strict=True):
        for etab in unit["_pool"].values():
            etab["longitude"], etab["latitude"] = lon, lat
    actors = tmp_path / "acteurs.csv"
    actors.write_bytes(("Raison sociale;Adresse;CP;Ville;Code INSEE\n"
                        "Recyclerie;4 rue du Centre;21110;Commune 21104;21104\n"
                        "Jardin partagé;chemin perdu;21110;Commune 21105;21105\n"
                        "Inconnue;;;Nulle part;\n").encode("cp1252"))
    api, ban = SearchApp(units), BanCsvApp(shared_data / REAL,
                                           {"4 rue du Centre 21110 Commune 21104": HIT_21104})
    with LocalServer(api) as api_url, LocalServer(ban) as ban_url:
        catalog_overlay(tmp_path, monkeypatch, api_recherche_entreprises=api_url,
                        ban_geocoder=ban_url)
        result = run_refresh(RefreshOptions(quarter="2026-T4", from_api=True, departement="21",
                                            actors_file=actors),
                             reference=tiny_reference, progress=False)
    snap = storage.load_snapshot("2026-T4")
    s = snap.structures
    acc = result.accounting
    assert acc["api_recherche_entreprises"]["read"] == 3
    assert acc["api_recherche_entreprises"]["kept"] == 3
    assert acc["liste_acteurs"]["read"] == 3 and acc["liste_acteurs"]["rejected"] == 1
    assert set(s["commune"].dropna()) == {"21104", "21105"}
    by_name = s.set_index("nom")
    assert by_name.loc["Recyclerie", "location_precision"] == "ban_adresse"
    assert by_name.loc["Jardin partagé", "commune"] == "21105"
    assert by_name.loc["Jardin partagé", "location_precision"] == "centroide_commune"
    api_rows = s[s["sources"].str.contains("api_recherche_entreprises").fillna(False)]
    assert sorted(api_rows["location_precision"]) == ["api_recherche", "centroide_commune",
                                                      "centroide_commune"]
    assert (api_rows["commune"] == "21104").all()
    manifest = json.loads((snap_path := storage.snapshot_path("2026-T4") / "manifest.json")
                          .read_text(encoding="utf-8"))
    assert snap_path.exists() and "liste_acteurs" in manifest["sources"]
