"""The live client of *Les emplois de l'inclusion* against a local server on 127.0.0.1 that
serves ``/api/v1/siaes/`` in the exact documented shape (``real_data/insertion/PROVENANCE.md``:
Django REST framework pagination, ``addresse_ligne_1`` sic), with the BAN batch geocoder
served locally too, on the tiny reference of ``tests/etl/sirene_fixtures.py`` (3x3 grid of
0.1° communes 21100-21108 named "Commune 21100"..., Paris 75056)."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from urllib.parse import urlencode

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from servers import BanCsvApp, catalog_overlay, isolated_http

from observatory.errors import NetworkError
from tests.local_server import LocalServer, Reply, Req

pytestmark = pytest.mark.integration

REAL = "api_samples/geoplateforme_geocodage_search_csv_response.csv"
HIT_21104 = {  # a housenumber hit inside commune 21104 (lon 5.0-5.1, lat 47.3-47.4)
    "longitude": "5.05", "latitude": "47.35", "result_score": "0.93", "result_score_next": "",
    "result_label": "4 Rue du Centre 21110 Commune 21104", "result_type": "housenumber",
    "result_id": "21104_0001_00004", "result_banId": "", "result_housenumber": "4",
    "result_name": "4 Rue du Centre", "result_street": "Rue du Centre",
    "result_postcode": "21110", "result_city": "Commune 21104",
    "result_context": "21, Côte-d'Or, Bourgogne-Franche-Comté", "result_citycode": "21104",
    "result_oldcitycode": "", "result_oldcity": "", "result_district": "", "result_status": "ok",
}


def siae(number: int, kind: str, name: str, dep: str, *, line1: str | None = None,
         postcode: str | None = None, town: str | None = None, siret: str | None = None,
         enseigne: str = "") -> dict:
    """One result in the exact shape of the API (contacts filled, as the service has them)."""
    return {
        "id": f"00000000-0000-4000-8000-{number:012d}", "cree_le": "2024-03-01T10:00:00+01:00",
        "mis_a_jour_le": f"2026-0{number % 9 + 1}-15T09:30:00+02:00",
        "siret": siret or f"8003298490{number:04d}", "type": kind, "raison_sociale": name,
        "enseigne": enseigne, "telephone": "0380000000", "courriel": f"contact{number}@x.fr",
        "site_web": "", "description": "Chantier", "bloque_candidatures": False,
        "addresse_ligne_1": line1 or "", "addresse_ligne_2": "", "code_postal": postcode or "",
        "ville": town or "", "departement": dep, "postes": [{"id": number, "rome": "F1703"}],
    }


RESULTS = {
    "21": [
        siae(1, "ACI", "RECYCLERIE", "21", line1="4 rue du Centre", postcode="21110",
             town="Commune 21104", siret="80032984900023"),
        siae(2, "AI", "AI DU VAL", "21", line1="chemin perdu", postcode="21110",
             town="Commune 21105"),
        siae(3, "EA", "ENTREPRISE ADAPTEE", "21", town="Commune 21104", postcode="21110"),
        siae(4, "OPCS", "CLAUSES SOCIALES", "21", town="Commune 21104", postcode="21110"),
        siae(5, "GEIQ", "GEIQ SANS ADRESSE", "21", town="Nulle part"),
        siae(6, "ETTI", "RECYCLERIE INTERIM", "21", line1="4 rue du Centre", postcode="21110",
             town="Commune 21104", siret="80032984900023", enseigne="Recyclerie Intérim"),
    ],
    "75": [siae(7, "EI", "RESTAURANT SOLIDAIRE", "75", line1="1 rue de Rivoli",
                postcode="75001", town="Paris")],
}


class InclusionApp:
    """``GET /api/v1/siaes/?departement=NN`` with DRF pagination (``page``, 2 per page,
    absolute ``next``/``previous``), 400 without a filter, as the real service."""

    page_size = 2

    def __init__(self, results: dict[str, list[dict]], faults: list | None = None) -> None:
        self.results = results
        self.faults = list(faults or [])
        self.requests: list[dict] = []
        self.lock = threading.Lock()

    def __call__(self, req: Req) -> Reply:
        status, headers, body = self.handle(req.method, req.path, req.params, req.headers)
        return Reply(status, body, headers)

    def handle(self, method, path, query, headers):
        with self.lock:
            self.requests.append({"path": path, "query": {k: v[0] for k, v in query.items()}})
            if self.faults:
                return self.faults.pop(0)
        if method != "GET" or path != "/api/v1/siaes/":
            return 404, {"Content-Type": "application/json"}, b'{"detail": "Not found."}'
        dep = (query.get("departement") or [None])[0]
        if not dep:
            return 400, {"Content-Type": "application/json"}, json.dumps(
                ["Les paramètres `code_insee` et `distance_max_km` ou `departement` sont "
                 "obligatoires."]).encode()
        items = self.results.get(dep, [])
        page = int((query.get("page") or ["1"])[0])
        chunk = items[(page - 1) * self.page_size: page * self.page_size]
        base = f"http://{headers['Host']}{path}?"

        def link(number):
            return base + urlencode({"departement": dep, "page": number})

        payload = {"count": len(items),
                   "next": link(page + 1) if page * self.page_size < len(items) else None,
                   "previous": link(page - 1) if page > 1 else None, "results": chunk}
        return 200, {"Content-Type": "application/json"}, json.dumps(payload).encode()


@pytest.fixture
def http_env(tmp_path, monkeypatch):
    yield from isolated_http(tmp_path, monkeypatch)


def test_live_client_pages_filters_geocodes_and_accounts(shared_data, tmp_path, monkeypatch,
                                                         http_env, tiny_reference):
    """By hand: 21 has 6 results (3 pages of 2), 75 one (1 page): 4 requests.  EA and OPCS are
    filtered (2); read = 5.  RECYCLERIE: BAN hit in 21104 -> ban_adresse; its ETTI (same SIRET,
    other type) kept too; AI DU VAL: address unknown to the BAN -> centroid of "Commune
    21105" found by name; RESTAURANT SOLIDAIRE: not found -> centroid of Paris; GEIQ without
    address nor known town: rejected.  A 503 first is retried."""
    from etl.inclusion_api import fetch_siaes

    app = InclusionApp(RESULTS, faults=[(503, {"Retry-After": "1"}, b"busy")])
    ban = BanCsvApp(shared_data / REAL, {"4 rue du Centre 21110 Commune 21104": HIT_21104})
    with LocalServer(app) as api_url, LocalServer(ban) as ban_url:
        catalog_overlay(tmp_path, monkeypatch, api_emplois_inclusion=api_url,
                        ban_geocoder=ban_url)
        result = fetch_siaes(["21", "75"], reference=tiny_reference)
    result.check_accounting()
    assert [r["query"] for r in app.requests] == [
        {"departement": "21"}, {"departement": "21"}, {"departement": "21", "page": "2"},
        {"departement": "21", "page": "3"}, {"departement": "75"}]
    assert http_env[0] == 1.0  # the 503's Retry-After honoured (then rate-limit waits)
    assert (result.read, len(result.structures), len(result.rejects)) == (5, 4, 1)
    assert result.filtered == 2 and result.notes["hors_perimetre"] == {"EA": 1, "OPCS": 1}
    assert result.notes["requetes"] == 4
    assert result.notes["par_departement"] == {"21": 6, "75": 1}
    s = result.structures.set_index("nom")
    assert s.loc["RECYCLERIE", "location_precision"] == "ban_adresse"
    assert (s.loc["RECYCLERIE", "longitude"], s.loc["RECYCLERIE", "latitude"]) == (5.05, 47.35)
    assert s.loc["Recyclerie Intérim", "type_structure"] == "ETTI"  # the enseigne is shown
    assert s.loc["Recyclerie Intérim", "siret"] == s.loc["RECYCLERIE", "siret"]
    assert s.loc["AI DU VAL", "commune_declaree"] == "21105"
    assert s.loc["AI DU VAL", "famille_ess"] == "association"  # an AI is an association
    assert s.loc["RESTAURANT SOLIDAIRE", "commune_declaree"] == "75056"
    assert set(s.loc[["AI DU VAL", "RESTAURANT SOLIDAIRE"], "location_precision"]) == {
        "centroide_commune"}
    assert s["siae"].tolist() == [True, True, True, True]
    assert s["gestion_publique"].isna().all()
    reject = result.rejects.iloc[0]
    assert reject["raison"].startswith("commune_inconnue")
    raw = json.loads(reject["donnees"])
    assert raw["raison_sociale"] == "GEIQ SANS ADRESSE" and "courriel" not in raw
    assert result.source == "api_emplois_inclusion"
    assert result.notes["fiches_mises_a_jour"] == {"min": "2026-02-15", "max": "2026-08-15"}


def test_live_client_rejects_a_malformed_answer(tmp_path, monkeypatch, http_env):
    from etl.inclusion_api import fetch_siaes

    def app(req: Req) -> Reply:
        return Reply(200, b'{"results": "nope"}', {"Content-Type": "application/json"})

    with LocalServer(app) as api_url:
        catalog_overlay(tmp_path, monkeypatch, api_emplois_inclusion=api_url)
        with pytest.raises(NetworkError, match="malformed body"):
            fetch_siaes(["21"], geocode=False)


def test_refresh_of_the_insertion_series_from_the_api(shared_data, tmp_path, monkeypatch,
                                                      http_env, data_dir, tiny_reference):
    """The refresh job with ``from_inclusion_api`` on département 21 writes a snapshot of the
    series ``insertion`` (its own store folder), with the API's accounting: 6 results, 2
    filtered (EA, OPCS), 3 kept (RECYCLERIE, its ETTI, AI DU VAL), 1 rejected."""
    from etl.refresh import RefreshOptions, run_refresh
    from observatory import storage

    app = InclusionApp(RESULTS)
    ban = BanCsvApp(shared_data / REAL, {"4 rue du Centre 21110 Commune 21104": HIT_21104})
    with LocalServer(app) as api_url, LocalServer(ban) as ban_url:
        catalog_overlay(tmp_path, monkeypatch, api_emplois_inclusion=api_url,
                        ban_geocoder=ban_url)
        result = run_refresh(RefreshOptions(quarter="2026-T4", serie="insertion",
                                            from_inclusion_api=True, departement="21"),
                             reference=tiny_reference, progress=False)
    assert result.path == data_dir / "snapshots" / "insertion" / "2026-T4"
    assert storage.list_snapshots(serie="ess") == []  # the ess store is untouched
    snap = storage.load_snapshot(serie="insertion")
    acc = snap.manifest["accounting"]["api_emplois_inclusion"]
    assert (acc["read"], acc["kept"], acc["rejected"], acc["filtered"]) == (3 + 1, 3, 1, 2)
    assert snap.manifest["serie"] == "insertion" and snap.manifest["demo"] is False
    assert sorted(snap.structures["type_structure"]) == ["ACI", "AI", "ETTI"]
    assert set(snap.structures["commune"]) == {"21104", "21105"}
