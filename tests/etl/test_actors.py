"""Lists of actors: encodings, separators, XLSX, header mapping, bad rows, BAN geocoding."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from servers import BanCsvApp, catalog_overlay, isolated_http

from etl.actors import (
    family_from_text,
    load_actors,
    load_mapping,
    normalise_header,
    read_table,
    resolve_columns,
    siret_luhn_ok,
)
from observatory.errors import DataValidationError
from observatory.schema import STRUCTURE_COLUMNS
from tests.local_server import LocalServer

REAL = "api_samples/geoplateforme_geocodage_search_csv_response.csv"
REPO = Path(__file__).resolve().parents[2]

COMMUNES = pd.DataFrame(
    {"nom": ["Dijon", "Paris", "Lyon", "Besançon", "Chenôve", "Saint-Apollinaire"],
     "departement": ["21", "75", "69", "25", "21", "21"]},
    index=pd.Index(["21231", "75056", "69123", "25056", "21166", "21540"], name="code"))

DIJON = {  # street-level hit in the exact Géoplateforme result format (built here)
    "longitude": "5.041480", "latitude": "47.321581", "result_score": "0.9612",
    "result_score_next": "0.61", "result_label": "2 Rue des Forges 21000 Dijon",
    "result_type": "housenumber", "result_id": "21231_2770_00002", "result_banId": "",
    "result_housenumber": "2", "result_name": "2 Rue des Forges",
    "result_street": "Rue des Forges", "result_postcode": "21000", "result_city": "Dijon",
    "result_context": "21, Côte-d'Or, Bourgogne-Franche-Comté", "result_citycode": "21231",
    "result_oldcitycode": "", "result_oldcity": "", "result_district": "", "result_status": "ok",
}
# A good score in the wrong commune: the address says Chenôve (21166), the BAN finds Dijon.
WRONG_TOWN = {**DIJON, "result_label": "1 Rue de la Gare 21000 Dijon",
              "result_id": "21231_0001_00001", "result_postcode": "21300"}


@pytest.fixture
def http_env(tmp_path, monkeypatch):
    yield from isolated_http(tmp_path, monkeypatch)


def write(path: Path, text: str, encoding: str) -> Path:
    path.write_bytes(text.encode(encoding))
    return path


CP1252_TEXT = (
    "Dénomination;Adresse;CP;Ville;N° SIRET;Statut\r\n"
    "Café associatif Les Forges;2 rue des Forges;21000;Dijon;800 329 849 00023;"
    "Association loi 1901\r\n"
    "SCOP Bâtiment;rue inexistante zzz;99999;Nullepart;12345;SCOP\r\n"
    "Mutuelle Côte-d'Or;;21000;Dijon;;Mutuelle\r\n"
    ";;;;;\r\n"
    "Doublon;1 rue;21000;Dijon;80032984900023;Asso\r\n"
    ";3 rue;21000;Dijon;;Asso\r\n"
)


# ------------------------------------------------------------------ reading
def test_cp1252_semicolon_detected(tmp_path):
    frame, info = read_table(write(tmp_path / "cress.csv", CP1252_TEXT, "cp1252"))
    assert (info.format, info.encoding, info.separator) == ("csv", "cp1252", ";")
    assert list(frame.columns[:2]) == ["Dénomination", "Adresse"]
    assert frame.loc[0, "Dénomination"] == "Café associatif Les Forges"
    assert frame["_ligne"].tolist() == [2, 3, 4, 6, 7]  # line 5 is blank: not a row


def test_utf8_bom_comma(tmp_path):
    text = ("\ufeffRaison sociale,Adresse postale,Code postal,Commune,SIRET\n"
            "\"Coop, Sud\",1 rue,21000,Dijon,\n")
    frame, info = read_table(write(tmp_path / "a.csv", text, "utf-8"))
    assert (info.encoding, info.separator) == ("utf-8-sig", ",")
    assert frame.columns[0] == "Raison sociale" and frame.iloc[0, 0] == "Coop, Sud"


def test_empty_and_header_only_files(tmp_path):
    with pytest.raises(DataValidationError, match="is empty"):
        read_table(write(tmp_path / "e.csv", "\ufeff\n", "utf-8"))
    with pytest.raises(DataValidationError, match="no data row"):
        read_table(write(tmp_path / "h.csv", "Nom;Adresse\n", "utf-8"))


def test_headers_and_mapping_errors():
    assert normalise_header("N° SIRET ") == "n siret"
    assert normalise_header("Libellé de la commune") == "libelle de la commune"
    cols = resolve_columns(["RAISON SOCIALE", "Adresse", "CP", "Ville", "Code INSEE"])
    assert cols == {"nom": ["RAISON SOCIALE"], "adresse": ["Adresse"], "code_postal": ["CP"],
                    "commune": ["Ville"], "code_commune": ["Code INSEE"]}
    with pytest.raises(DataValidationError) as err:
        resolve_columns(["Structure porteuse", "Téléphone"])
    message = str(err.value)
    assert "'Structure porteuse'" in message and "'Téléphone'" in message
    assert "colonnes:" in message and "nom:" in message
    with pytest.raises(DataValidationError, match="not in the file"):
        resolve_columns(["Nom", "Ville"], load_mapping({"colonnes": {"adresse": "Rue"}}))
    with pytest.raises(DataValidationError, match="unknown fields"):
        load_mapping({"colonnes": {"telephone": "Tel"}})


def test_siret_luhn_and_family_text():
    assert siret_luhn_ok("80032984900023") and not siret_luhn_ok("80032984900024")
    assert siret_luhn_ok("35600000000048")  # La Poste's own rule
    fam = family_from_text(pd.Series(["Association loi 1901", "SCOP SARL", "Mutuelle santé",
                                      "Fondation reconnue", "SAS agréée ESUS", "Collectif",
                                      None]))
    assert fam.tolist()[:5] == ["association", "cooperative", "mutuelle", "fondation",
                                "societe_commerciale_ess"]
    assert fam.isna().tolist()[5:] == [True, True]


# ------------------------------------------------------------------ loading without geocoder
def test_load_cp1252_without_geocoding(tmp_path):
    result = load_actors(write(tmp_path / "cress.csv", CP1252_TEXT, "cp1252"), geocode=False,
                         communes=COMMUNES)
    result.check_accounting()
    assert result.read == 5 and len(result.structures) == 2 and len(result.rejects) == 3
    assert [c for c in result.structures.columns if c != "_ligne"] == list(
        STRUCTURE_COLUMNS)  # plus the source line (observatory.schema)
    s = result.structures.set_index("nom")
    assert s.loc["Café associatif Les Forges", "siret"] == "80032984900023"
    assert s.loc["Café associatif Les Forges", "siren"] == "800329849"
    assert s.loc["Mutuelle Côte-d'Or", "famille_ess"] == "mutuelle"
    assert set(s["commune_declaree"]) == {"21231"}  # from name + postcode département
    assert set(s["location_precision"]) == {"centroide_commune"}
    assert s["longitude"].isna().all()
    reasons = dict(zip(result.rejects["ligne"], result.rejects["raison"], strict=True))
    assert reasons[3].startswith("siret_invalide")
    assert reasons[6] == "siret_duplique: deja ligne 2"
    assert reasons[7] == "nom_manquant"
    raw = json.loads(result.rejects.set_index("ligne").loc[3, "donnees"])
    assert raw["Dénomination"] == "SCOP Bâtiment"  # raw row kept with its original headers


def test_xlsx_with_numeric_cells(tmp_path):
    path = tmp_path / "acteurs.xlsx"
    pd.DataFrame({"Nom": ["Asso Ain", "Coop Lyon"], "Code postal": [1000, 69001],
                  "Code INSEE": ["01053", "69123"], "SIRET": [80032984900023, None],
                  "Forme juridique": [9220, 5458]}).to_excel(path, index=False)
    result = load_actors(path, geocode=False)
    s = result.structures
    assert s["code_postal"].tolist() == ["01000", "69001"]  # leading zero restored
    assert s["commune_declaree"].tolist() == ["01053", "69123"]
    assert s["siret"].iloc[0] == "80032984900023" and pd.isna(s["siret"].iloc[1])
    assert s["famille_ess"].tolist() == ["association", "cooperative"]
    assert s["categorie_juridique"].tolist() == ["9220", "5458"]


def test_renamed_headers_with_yaml_mapping(tmp_path):
    text = ("Structure porteuse|Rue|Complément|Code postal du siège|Localité|Type\n"
            "Tiers-lieu La Fabrique|2 rue des Forges|Bât. B|21000|Dijon|SCIC\n")
    path = write(tmp_path / "reseau.txt", text, "utf-8")
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(
        "colonnes:\n  nom: Structure porteuse\n  adresse: [Rue, Complément]\n"
        "  code_postal: Code postal du siège\n  commune: Localité\n  famille: Type\n"
        "options:\n  separateur: '|'\n", encoding="utf-8")
    result = load_actors(path, mapping=mapping, geocode=False, communes=COMMUNES)
    row = result.structures.iloc[0]
    assert row["nom"] == "Tiers-lieu La Fabrique"
    assert row["adresse"] == "2 rue des Forges Bât. B"
    assert row["famille_ess"] == "cooperative" and row["commune_declaree"] == "21231"
    assert pd.isna(row["esus"])
    esus = write(tmp_path / "esus.csv", "Nom;Ville;CP;Statut\nLa Régie;Dijon;21000;SAS ESUS\n",
                 "utf-8")
    assert bool(load_actors(esus, geocode=False, communes=COMMUNES).structures["esus"].iloc[0])


def test_example_mapping_file_is_valid():
    spec = load_mapping(REPO / "docs" / "actors_mapping_example.yaml")
    assert spec["colonnes"]["nom"] == ["Raison sociale"]
    assert resolve_columns(["Raison sociale", "Adresse 1", "Adresse 2", "CP", "Ville",
                            "Code INSEE", "N° SIRET", "Statut"], spec)["adresse"] == [
        "Adresse 1", "Adresse 2"]


def test_unknown_commune_is_rejected(tmp_path):
    text = "Nom;Ville;CP\nAsso X;Nulle Part;99999\nAsso Y;Dijon;21000\n"
    result = load_actors(write(tmp_path / "x.csv", text, "utf-8"), geocode=False,
                         communes=COMMUNES)
    assert len(result.structures) == 1 and result.structures["nom"].iloc[0] == "Asso Y"
    assert result.rejects["raison"].iloc[0].startswith("commune_inconnue")


# ------------------------------------------------------------------ with the geocoder
@pytest.mark.integration
def test_geocoding_through_local_server(tmp_path, shared_data, http_env):
    text = (
        "Raison sociale;Adresse;CP;Ville;Code commune\n"
        "Café Les Forges;2 rue des Forges;21000;Dijon;21231\n"          # accepted (0.96)
        "Théâtre municipal;Place de l Hotel de Ville;75004;Paris;\n"      # real row: 0.797
        "Inconnu;rue inexistante zzz;99999;Nullepart;\n"                  # real row: not-found
        "Collectif Lyon;;69001;Lyon;\n"                                    # no address
        "Gare Chenôve;1 rue de la Gare;21300;Chenôve;21166\n"             # wrong commune
        "Asso Cedex;10 rue St Martin BP 12;21035;DIJON CEDEX;\n"          # postal mentions
        "Asso St Apo;;21850;ST APOLLINAIRE;\n"                            # name lookup
    )
    app = BanCsvApp(shared_data / REAL, {"2 rue des Forges 21000 Dijon": DIJON,
                                         "1 rue de la Gare 21300 Chenôve": WRONG_TOWN})
    with LocalServer(app) as url:
        result = load_actors(write(tmp_path / "l.csv", text, "utf-8"), communes=COMMUNES,
                             geocoder_url=url)
    result.check_accounting()
    s = result.structures.set_index("nom")
    assert s.loc["Café Les Forges", "location_precision"] == "ban_adresse"
    assert s.loc["Café Les Forges", "longitude"] == pytest.approx(5.04148)
    assert s.loc["Café Les Forges", "commune_declaree"] == "21231"
    # score below 0.8: centroid of the commune found from its name (Paris)
    assert s.loc["Théâtre municipal", "location_precision"] == "centroide_commune"
    assert s.loc["Théâtre municipal", "commune_declaree"] == "75056"
    assert pd.isna(s.loc["Théâtre municipal", "latitude"])
    assert s.loc["Collectif Lyon", "commune_declaree"] == "69123"
    # good score, wrong citycode: not accepted, falls back to the declared commune
    assert s.loc["Gare Chenôve", "location_precision"] == "centroide_commune"
    assert s.loc["Gare Chenôve", "commune_declaree"] == "21166"
    assert result.rejects["raison"].tolist() == [
        "commune_inconnue: adresse_non_trouvee; ni code commune valide ni commune retrouvée"]
    assert result.notes["geocodage"] == {"accepte": 1, "score_insuffisant": 1,
                                         "adresse_absente": 2, "commune_incoherente": 1,
                                         "adresse_non_trouvee": 1}
    assert s.loc["Asso Cedex", "commune_declaree"] == "21231"
    assert s.loc["Asso St Apo", "commune_declaree"] == "21540"
    sent = app.requests[0][3].decode()
    assert "10 rue SAINT Martin,,DIJON" in sent and "BP 12" not in sent  # no CEDEX postcode
    assert (result.notes["encodage"], result.notes["separateur"]) == ("utf-8", ";")
    # one upload; addresses concatenated with postcode and town; postcode used as filter
    assert len(app.uploads) == 1
    assert app.uploads[0]["form"] == {"columns": ["adresse", "code_postal", "commune"],
                                      "postcode": ["code_postal"]}


@pytest.mark.integration
def test_geocoder_url_from_catalog_overlay(tmp_path, shared_data, http_env, monkeypatch):
    text = "Nom,Adresse,CP,Ville\nCafé Les Forges,2 rue des Forges,21000,Dijon\n"
    app = BanCsvApp(shared_data / REAL, {"2 rue des Forges 21000 Dijon": DIJON})
    with LocalServer(app) as url:
        catalog_overlay(tmp_path, monkeypatch, ban_geocoder=url)
        result = load_actors(write(tmp_path / "c.csv", text, "utf-8"), communes=COMMUNES)
    assert result.structures["location_precision"].tolist() == ["ban_adresse"]
    assert app.requests[0][1] == "/search/csv"
