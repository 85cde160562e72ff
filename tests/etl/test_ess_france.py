"""ESS France "Liste des entreprises de l'ESS": CSV reader and tabular-API client."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from servers import TabularApp, isolated_http

from etl.ess_france import (
    COLUMNS,
    fetch_ess_france_list_tabular,
    load_ess_france_list,
    normalise_ess_france_rows,
    parse_tabular_page,
    read_ess_france_list,
)
from observatory.errors import DataValidationError, NetworkError
from tests.local_server import LocalServer

RECORDED = "api_samples/datagouv_tabular_liste_entreprises_ess.json"
HEADER = list(COLUMNS)


@pytest.fixture
def http_env(tmp_path, monkeypatch):
    yield from isolated_http(tmp_path, monkeypatch)


def _csv(rows: list[list[str]], sep: str) -> str:
    return "\n".join(sep.join(r) for r in [HEADER, *rows]) + "\n"


ROWS = [
    ["800329849", "THEATRE STEPHANE GILDAS", "Associations", "75013", "PARIS 13", "75", "PARIS",
     "ILE DE FRANCE"],
    ["62201199", "LE TIERS LIEU DE CARPENTRAS", "Coopératives", "84200", "CARPENTRAS", "84",
     "VAUCLUSE", "PROVENCE ALPES COTE D AZUR"],          # leading zero lost -> 062201199
    ["ABC", "MAUVAIS", "Associations", "21000", "DIJON", "21", "COTE D OR", "BFC"],
    ["800329849", "DOUBLON", "Associations", "75013", "PARIS 13", "75", "PARIS", "IDF"],
    ["", "SANS SIREN", "Mutuelles", "21000", "DIJON", "21", "COTE D OR", "BFC"],
]


@pytest.mark.parametrize(("sep", "encoding", "detected"), [
    (";", "cp1252", "cp1252"), (",", "utf-8-sig", "utf-8-sig"), (",", "utf-8", "utf-8")])
def test_read_list_csv(tmp_path, sep, encoding, detected):
    path = tmp_path / "liste.csv"
    path.write_bytes(_csv(ROWS, sep).encode(encoding))
    result = read_ess_france_list(path)
    result.check_accounting()
    assert (result.encoding, result.separator) == (detected, sep)
    assert result.read == 5
    assert result.entries["siren"].tolist() == ["800329849", "062201199"]
    assert result.entries["famille_ess"].tolist() == ["association", "cooperative"]
    assert result.entries["ligne"].tolist() == [2, 3]
    reasons = result.rejects.set_index("ligne")["raison"]
    assert reasons[4] == "siren_invalide: ABC"
    assert reasons[5] == "siren_duplique"
    assert reasons[6] == "siren_invalide: (vide)"
    assert json.loads(result.rejects["donnees"].iloc[0])["Nom ou raison sociale de l'entreprise"] \
        == "MAUVAIS"
    frame = load_ess_france_list(path)
    assert frame.attrs["read"] == 5 and frame.attrs["rejected"] == 3
    assert result.sirens() == {"800329849", "062201199"}


def test_missing_siren_column(tmp_path):
    path = tmp_path / "l.csv"
    path.write_text("Nom;Commune\nX;Y\n", encoding="utf-8")
    with pytest.raises(DataValidationError, match="no 'SIREN' column"):
        read_ess_france_list(path)


@pytest.mark.integration
def test_recorded_tabular_answer_parses(shared_data):
    payload = json.loads((shared_data / RECORDED).read_text(encoding="utf-8"))
    rows, next_url, total = parse_tabular_page(payload)
    assert (len(rows), next_url, total) == (1, None, 1)
    entries, rejects = normalise_ess_france_rows(pd.DataFrame(rows))
    assert entries.loc[0, "siren"] == "800329849"
    assert entries.loc[0, "famille_ess"] == "association"
    assert entries.loc[0, "departement_code"] == "75" and rejects.empty
    with pytest.raises(NetworkError, match="without a 'data' list"):
        parse_tabular_page({"message": "Resource not found"})


def _app(shared_data, rows=None, faults=None):
    template = json.loads((shared_data / RECORDED).read_text(encoding="utf-8"))
    return TabularApp(rows if rows is not None else template["data"], template, faults=faults)


@pytest.mark.integration
def test_fetch_one_siren_recorded_answer(shared_data, http_env):
    app = _app(shared_data)
    with LocalServer(app) as url:
        result = fetch_ess_france_list_tabular("800329849", base_url=url + "/data/")
    assert result.entries["nom"].tolist() == ["THEATRE STEPHANE GILDAS"]
    assert app.requests[0][2]["SIREN__exact"] == ["800329849"]


@pytest.mark.integration
def test_fetch_two_pages_follows_links_next(shared_data, http_env):
    real = json.loads((shared_data / RECORDED).read_text(encoding="utf-8"))["data"][0]
    rows = [real, {**real, "SIREN": "62201199", "Nom ou raison sociale de l'entreprise": "B"},
            {**real, "SIREN": "400461356", "Famille juridique de l'entreprise": "Fondations"}]
    app = _app(shared_data, rows, faults=[(500, {}, b"oops")])
    with LocalServer(app) as url:
        result = fetch_ess_france_list_tabular(base_url=url + "/data/", page_size=2)
    assert result.entries["siren"].tolist() == ["800329849", "062201199", "400461356"]
    assert result.entries["famille_ess"].tolist()[-1] == "fondation"
    pages = [q.get("page") for _, _, q, _, _ in app.requests]
    assert pages == [["1"], ["1"], ["2"]]  # 500 retried, then links.next followed
    assert http_env  # a backoff wait happened


@pytest.mark.integration
def test_fetch_malformed_body(shared_data, http_env):
    app = _app(shared_data, faults=[(200, {"Content-Type": "application/json"}, b"{\"data\": 3}")])
    with LocalServer(app) as url, pytest.raises(NetworkError, match="'data' list"):
        fetch_ess_france_list_tabular(base_url=url + "/data/")
