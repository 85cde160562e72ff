"""API Recherche d'entreprises: parser on the real recorded answers, client through a local
``/search`` that filters and pages the real results like the live API."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from servers import (
    SearchApp,
    catalog_overlay,
    clone_units,
    isolated_http,
    load_real_units,
)

from etl.api_entreprises import (
    EI_NAME,
    ND_NAME,
    collect_units,
    fetch_territory,
    parse_search_payload,
    units_to_structures,
)
from observatory.errors import DataValidationError, NetworkError
from observatory.schema import STRUCTURE_COLUMNS
from tests.local_server import LocalServer

pytestmark = pytest.mark.integration

# Côte-d'Or communes used to spread simulated units (code, postcode).
DIJON_AREA = [("21231", "21000"), ("21166", "21300"), ("21617", "21800"), ("21515", "21160"),
              ("21054", "21200")]
COMMUNES = pd.DataFrame({"departement": ["21"] * 5 + ["25"], "region": ["27"] * 6,
                         "epci": ["242100410"] * 6},
                        index=pd.Index([c for c, _ in DIJON_AREA] + ["25056"], name="code"))


@pytest.fixture
def http_env(tmp_path, monkeypatch):
    yield from isolated_http(tmp_path, monkeypatch)


@pytest.fixture(scope="module")
def real_units(shared_data):
    return load_real_units(shared_data / "api_samples")


def _expected(units, departement):
    """SIRETs the API must return: ESS units' establishments located in the département."""
    out = set()
    for unit in units:
        if (unit.get("complements") or {}).get("est_ess"):
            out |= {s for s, e in unit["_pool"].items()
                    if (e.get("commune") or "").startswith(departement)}
    return out


# ------------------------------------------------------------------ pure half on real answers
def test_every_recorded_answer_parses(shared_data):
    files = sorted((shared_data / "api_samples" / "recherche_entreprises").glob("search-*.json"))
    assert len(files) == 34
    for path in files:
        payload = parse_search_payload(json.loads(path.read_text(encoding="utf-8"))["result"])
        assert payload["total_results"] >= len(payload["results"])
    with pytest.raises(NetworkError, match="malformed"):
        parse_search_payload({"erreur": "Service indisponible"})


def test_real_matching_establishments_to_structures(shared_data):
    """A recorded text + postcode query: 10 units, 11 matching establishments, one unit
    (888427994, 2 establishments) with est_ess true; the 9 others are filtered out."""
    folder = shared_data / "api_samples" / "recherche_entreprises"
    path = folder / "search-ag-cp_dep-35000-cp_dep_type-cp.json"
    units = json.loads(path.read_text(encoding="utf-8"))["result"]["results"]
    n_etabs = sum(len(u["matching_etablissements"]) for u in units)
    result = units_to_structures(units, ess_france_sirens={"888427994"}, fetched_on="2026-11-23")
    result.check_accounting()
    s = result.structures.set_index("siret")
    assert [c for c in result.structures.columns if c != "_ligne"] == list(
        STRUCTURE_COLUMNS)  # plus the source line (observatory.schema)
    assert n_etabs == 11 and (result.read, len(s), result.filtered) == (2, 2, 9)
    assert result.notes["hors_ess"] == {"est_ess_faux": 9}
    assert set(s["siren"]) == {"888427994"}
    # est_ess is SIRENE flag OR ESS France list: with the SIREN in the list, the flag is unknown
    assert s["liste_ess_france"].all() and s["flag_sirene_ess"].isna().all()
    # the parser on the first (non-ESS) unit, as if the API had flagged it
    flagged = json.loads(json.dumps(units[0]))
    flagged["complements"]["est_ess"] = True
    one = units_to_structures([flagged], ess_france_sirens=set(), fetched_on="2026-11-23")
    first = units[0]["matching_etablissements"][0]
    row = one.structures.set_index("siret").loc[first["siret"]]
    assert row["longitude"] == pytest.approx(float(first["longitude"]))  # string -> float
    assert row["commune_declaree"] == "35238" and row["location_precision"] == "api_recherche"
    assert row["etat_administratif"] == "A" and row["siren"] == "435246145"
    assert row["date_creation"] == pd.Timestamp("2001-04-17")
    assert bool(row["flag_sirene_ess"]) and not bool(row["liste_ess_france"])
    assert json.loads(row["millesimes"]) == {"api_recherche_entreprises": "2026-11-23"}


def test_non_ess_units_filtered_with_accounting(real_units):
    """Issue 11 item 9, on every recorded answer (each unit with its siège and matching
    establishments): ESS units (est_ess true) are kept with their flags, the others filtered
    and counted; read = kept + rejected.  Expected sets counted from the raw answers."""
    units = json.loads(json.dumps(real_units))
    by_flag: dict[object, set] = {}
    no_establishment = 0
    for unit in units:
        unit["matching_etablissements"] = list(unit.pop("_pool").values())
        flag = (unit.get("complements") or {}).get("est_ess")
        by_flag.setdefault(flag, set()).update(e["siret"] for e in unit["matching_etablissements"])
        no_establishment += not unit["matching_etablissements"]
    result = units_to_structures(units, fetched_on="2026-11-23")
    result.check_accounting()
    kept = set(result.structures["siret"])
    assert kept == by_flag[True] and set(by_flag) == {True, False}
    assert result.filtered == len(by_flag[False]) + no_establishment
    assert result.notes["hors_ess"] == {"est_ess_faux": result.filtered}
    # 112 establishments: 9 of ESS units kept, 103 filtered, + 1 non-ESS unit without any
    assert (len(kept), result.filtered, result.read, len(result.rejects)) == (9, 104, 9, 0)
    assert result.structures["liste_ess_france"].isna().all()  # no list given: unknown
    listed = units_to_structures(units, ess_france_sirens={"888427994"}, fetched_on="2026-11-23")
    flags = listed.structures.set_index("siren")["flag_sirene_ess"]
    assert flags.drop("888427994").all() and flags[["888427994"]].isna().all()


def test_natural_persons_never_named(real_units):
    units = json.loads(json.dumps(real_units))
    for unit in units:
        unit["matching_etablissements"] = list(unit.pop("_pool").values())
        unit.setdefault("complements", {})["est_ess"] = True  # names, not the perimeter
    result = units_to_structures(units)
    s = result.structures
    ei = s[s["categorie_juridique"] == "1000"]
    assert len(ei) == 2 and set(ei["nom"]) == {EI_NAME}
    assert ei["enseigne"].isna().all() and ei["sigle"].isna().all()
    # redacted coordinates ("REDACTED...") are not numbers: commune centroid, flagged
    assert set(ei["location_precision"]) == {"centroide_commune"} and ei["latitude"].isna().all()
    assert not s["nom"].str.contains("REDACTED").fillna(False).any()
    partial = json.loads(json.dumps(units[0]))
    partial["statut_diffusion"], partial["nature_juridique"] = "P", "9220"
    assert units_to_structures([partial]).structures["nom"].iloc[0] == ND_NAME
    # the recorded unit without any establishment is rejected with its reason
    assert result.rejects["raison"].str.startswith("aucun_etablissement").sum() == 1


# ------------------------------------------------------------------ client, local server
def test_fetch_departement_over_real_results(real_units, http_env):
    app = SearchApp(real_units)
    with LocalServer(app) as url:
        result = fetch_territory(departement="75", base_url=url, progress=False)
    result.check_accounting()
    assert result.notes["requetes"] == len(app.requests) and result.notes["tranches"] == 1
    expected = _expected(real_units, "75")
    assert expected and set(result.structures["siret"]) == expected
    assert len(result.structures) == len(expected)
    for _, _, query, _, _ in app.requests:
        assert "q" not in query  # filter-only queries
        assert query["est_ess"] == ["true"] and query["departement"] == ["75"]
        assert query["per_page"] == ["25"] and query["limite_matching_etablissements"] == ["100"]


def test_base_url_from_catalog_overlay(real_units, http_env, tmp_path, monkeypatch):
    app = SearchApp(real_units)
    with LocalServer(app) as url:
        catalog_overlay(tmp_path, monkeypatch, api_recherche_entreprises=url)
        result = fetch_territory(departement="75", progress=False)
    assert set(result.structures["siret"]) == _expected(real_units, "75")
    assert all(path == "/search" for _, path, *_ in app.requests)


def test_slices_large_territory_until_under_cap(real_units, http_env):
    ess = [u for u in real_units if (u.get("complements") or {}).get("est_ess")]
    # 900 units spread over the sections, plus 700 more in section S: with a cap of 500 the
    # département is split by section, and section S again by commune.
    units = (clone_units(ess, 900, communes=DIJON_AREA, sections="ABCDEFGHIJKLMNOPQRSTU")
             + clone_units(ess, 700, first_siren=910_000_000, communes=DIJON_AREA,
                           sections="S", establishments=2))
    app = SearchApp(units, cap=500)
    with LocalServer(app) as url:
        harvest = collect_units({"departement": "21"}, base_url=url, communes=COMMUNES,
                                result_cap=500)
    result = units_to_structures(harvest.units)
    assert all(s.total < 500 for s in harvest.slices)
    split = {dict(s.filters).get("section_activite_principale") for s in harvest.split}
    assert split == {None, "S"}  # the département, then section S
    assert any("code_commune" in dict(s.filters) for s in harvest.slices)
    sirets = result.structures["siret"]
    assert len(sirets) == 900 + 700 * 2 and sirets.is_unique  # each establishment once
    fetched = Counter(e["siret"] for u in harvest.units for e in u["matching_etablissements"])
    assert len(fetched) == 2300 and set(fetched.values()) == {1}  # no overlap between slices
    assert all(int(q["page"][0]) * 25 <= 500 for _, _, q, _, _ in app.requests)


@pytest.mark.slow
def test_real_cap_of_ten_thousand(real_units, http_env):
    ess = [u for u in real_units if (u.get("complements") or {}).get("est_ess")]
    units = clone_units(ess, 10_300, communes=DIJON_AREA, sections="ABCDEFGHIJKLMNOPQRSTU")
    app = SearchApp(units)  # real limits: 25 a page, total capped at 10 000
    with LocalServer(app) as url:
        result = fetch_territory(departement="21", base_url=url, communes=COMMUNES,
                                 progress=False)
    assert app.served_totals[0][1] == 10_000  # the département query is capped
    assert len(result.structures) == 10_300 and result.structures["siret"].is_unique
    assert max(total for query, total in app.served_totals[1:]) < 10_000


def test_many_matching_establishments_are_paged(real_units, http_env):
    ess = [u for u in real_units if (u.get("complements") or {}).get("est_ess")]
    units = clone_units(ess, 3, communes=DIJON_AREA, establishments=230)
    app = SearchApp(units)
    with LocalServer(app) as url:
        result = fetch_territory(departement="21", base_url=url, progress=False)
    assert len(result.structures) == 3 * 230 and result.structures["siret"].is_unique
    assert sorted(q.get("page_etablissements", ["1"])[0] for *_, q, _, _ in
                  [(m, p, q, b, h) for m, p, q, b, h in app.requests]) == ["1", "2", "3"]


def test_retry_after_429_and_500(real_units, http_env):
    faults = [(429, {"Retry-After": "3", "Content-Type": "application/json"},
               b'{"erreur": "Too many requests"}'), (500, {}, b"Internal Server Error")]
    app = SearchApp(real_units, faults=faults)
    with LocalServer(app) as url:
        result = fetch_territory(departement="75", base_url=url, progress=False)
    assert 3.0 in http_env  # Retry-After honoured
    assert len(app.requests) == 3
    assert set(result.structures["siret"]) == _expected(real_units, "75")


def test_read_timeout_is_retried(real_units, http_env, monkeypatch):
    monkeypatch.setenv("OBSERVATOIRE_TIMEOUT", "0.3")
    app = SearchApp(real_units)
    app.delays = [1.5]  # the first answer comes too late
    with LocalServer(app) as url:
        result = fetch_territory(departement="75", base_url=url, progress=False)
    assert len(app.requests) == 2 and len(http_env) == 1  # one backoff wait, then success
    assert set(result.structures["siret"]) == _expected(real_units, "75")


def test_errors_are_clear(real_units, http_env):
    malformed = SearchApp(real_units, faults=[(200, {"Content-Type": "application/json"},
                                               b'{"results": "oops"}')])
    with LocalServer(malformed) as url, pytest.raises(NetworkError, match="malformed"):
        fetch_territory(departement="75", base_url=url, progress=False)
    not_json = SearchApp(real_units, faults=[(200, {"Content-Type": "text/html"}, b"<html>")])
    with LocalServer(not_json) as url, pytest.raises(NetworkError, match="did not answer JSON"):
        fetch_territory(departement="75", base_url=url, progress=False)
    strict = SearchApp(real_units, max_per_page=10)  # refuses per_page=25 with HTTP 400
    with LocalServer(strict) as url, pytest.raises(NetworkError, match="400"):
        fetch_territory(departement="75", base_url=url, progress=False)
    down = SearchApp(real_units, faults=[(500, {}, b"down")] * 10)
    with LocalServer(down) as url, pytest.raises(NetworkError, match="500"):
        fetch_territory(departement="75", base_url=url, progress=False)
    assert len(down.requests) == 4
    with pytest.raises(DataValidationError, match="exactly one territory"):
        fetch_territory(departement="21", commune="21231", progress=False)


def test_unsplittable_slice_raises(real_units, http_env):
    ess = [u for u in real_units if (u.get("complements") or {}).get("est_ess")]
    units = clone_units(ess, 120, communes=[("21231", "21000")], sections="Q")
    with LocalServer(SearchApp(units, cap=100)) as url, \
            pytest.raises(DataValidationError, match="cannot be split further"):
        fetch_territory(commune="21231", base_url=url, communes=COMMUNES, result_cap=100,
                        progress=False)


def test_region_is_split_by_departement(real_units, http_env):
    ess = [u for u in real_units if (u.get("complements") or {}).get("est_ess")]
    units = (clone_units(ess, 60, communes=DIJON_AREA, sections="Q")
             + clone_units(ess, 30, first_siren=920_000_000, communes=[("25056", "25000")]))
    for unit in units:
        for etab in unit["_pool"].values():
            etab["region"] = "27"
    app = SearchApp(units, cap=75)
    with LocalServer(app) as url:
        harvest = collect_units({"region": "27"}, base_url=url, communes=COMMUNES,
                                result_cap=75)
    deps = sorted(dict(s.filters).get("departement") for s in harvest.slices)
    assert deps == ["21", "25"] and len(harvest.units) == 90
