"""SIRENE stock reader on tiny files in the exact official layout."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer
from sirene_fixtures import establishment, geoloc, unit, write_sirene

from etl.sirene import normalise_establishments, read_sirene
from observatory.errors import ConfigurationError, DataValidationError
from observatory.schema import (
    NOM_DIFFUSION_PARTIELLE,
    NOM_ENTREPRENEUR_INDIVIDUEL,
    STRUCTURE_COLUMNS,
)


def _lambert(lon: float, lat: float, epsg: int) -> tuple[str, str]:
    x, y = Transformer.from_crs(4326, epsg, always_xy=True).transform(lon, lat)
    return f"{x:.1f}", f"{y:.1f}"


def _read(folder, **kw):
    return read_sirene(folder, progress=False, **kw)


@pytest.fixture
def basic(tmp_path):
    units = [unit("100029172"), unit("100070044", categorieJuridiqueUniteLegale="5710",
                                     denominationUniteLegale="TEAM MOVE"),
             unit("200000001", economieSocialeSolidaireUniteLegale="N"),
             unit("200000002", economieSocialeSolidaireUniteLegale="")]
    ets = [establishment("100029172", "00011", "21104"),
           establishment("100029172", "00029", "21100", etatAdministratifEtablissement="F",
                         dateDebut="2024-06-30", caractereEmployeurEtablissement="N"),
           establishment("100070044", "00013", "75101", indiceRepetitionEtablissement="B",
                         typeVoieEtablissement="AV", libelleVoieEtablissement="JEAN JAURES"),
           establishment("200000001", "00011", "21104"),
           establishment("200000002", "00011", "21104")]
    return write_sirene(tmp_path / "sirene", units, ets)


def test_ess_filter_join_and_accounting(basic):
    result = _read(basic)
    assert result.read == 3 and result.filtered == 2
    assert len(result.structures) + len(result.rejects) == result.read
    s = result.structures.set_index("siret")
    assert set(s.index) == {"10002917200011", "10002917200029", "10007004400013"}
    assert [c for c in result.structures.columns if c != "_ligne"] == list(
        STRUCTURE_COLUMNS)  # plus the source line (observatory.schema)
    assert s.loc["10007004400013", "famille_ess"] == "societe_commerciale_ess"
    assert s.loc["10002917200011", "categorie_juridique_libelle"] == "Association déclarée"
    assert s.loc["10002917200011", "naf_section"] == "Q"
    assert s.loc["10007004400013", "adresse"] == "12 BIS AVENUE JEAN JAURES"
    assert s.loc["10002917200029", "etat_administratif"] == "F"
    assert s.loc["10002917200029", "date_fermeture"] == pd.Timestamp("2024-06-30")
    assert pd.isna(s.loc["10002917200011", "date_fermeture"])
    assert bool(s.loc["10002917200029", "employeur"]) is False
    assert s.loc["10002917200011", "annee_effectif"] == 2023
    assert s["flag_sirene_ess"].all() and not s["liste_ess_france"].any()
    assert s.loc["10007004400013", "commune_declaree"] == "75101"
    assert set(result.files) == {"StockUniteLegale_utf8.csv", "StockEtablissement_utf8.csv"}
    assert all(len(h) == 64 for h in result.files.values())


def test_ess_france_list_adds_units_without_flag(basic):
    result = _read(basic, ess_sirens=["200000001"])
    s = result.structures.set_index("siret")
    assert "20000000100011" in s.index
    assert bool(s.loc["20000000100011", "liste_ess_france"])
    assert not bool(s.loc["20000000100011", "flag_sirene_ess"])
    assert s.loc["20000000100011", "sources"] == "sirene|ess_france"
    assert result.read == 4 and result.filtered == 1


def test_partial_diffusion_and_natural_persons_never_named(tmp_path):
    units = [unit("300000001", statutDiffusionUniteLegale="P",
                  denominationUniteLegale="[ND]", sigleUniteLegale="[ND]"),
             unit("400000001", categorieJuridiqueUniteLegale="1000", prenom1UniteLegale="JEAN",
                  nomUniteLegale="DUPONTEL", denominationUniteLegale=""),
             unit("500000001", categorieJuridiqueUniteLegale="1000", denominationUniteLegale="")]
    ets = [establishment("300000001", statutDiffusionEtablissement="P",
                         libelleVoieEtablissement="[ND]", numeroVoieEtablissement="[ND]"),
           establishment("400000001", enseigne1Etablissement="CHEZ JEAN DUPONTEL"),
           establishment("500000001")]
    result = _read(write_sirene(tmp_path / "s", units, ets))
    s = result.structures.set_index("siren")
    assert s.loc["300000001", "nom"] == NOM_DIFFUSION_PARTIELLE
    assert s.loc["400000001", "nom"] == NOM_ENTREPRENEUR_INDIVIDUEL
    assert s.loc["500000001", "nom"] == NOM_ENTREPRENEUR_INDIVIDUEL
    text = [str(v) for v in result.structures.to_numpy().ravel()]
    assert not [v for v in text if "DUPONTEL" in v or "JEAN" in v]
    assert not [v for v in text if "[ND]" in v and v != NOM_DIFFUSION_PARTIELLE]
    assert pd.isna(s.loc["300000001", "adresse"])


def test_coordinates_priority_and_precision(tmp_path):
    lx, ly = _lambert(5.05, 47.25, 2154)
    re_x, re_y = _lambert(55.45, -20.9, 2975)
    units = [unit("100000001")]
    ets = [
        establishment("100000001", "00011", "21104"),                      # géoloc
        establishment("100000001", "00029", "21104"),                      # géoloc 33
        establishment("100000001", "00037", "21100",                       # [ND] géoloc
                      coordonneeLambertAbscisseEtablissement=lx,
                      coordonneeLambertOrdonneeEtablissement=ly),
        establishment("100000001", "00045", "97411",                       # Réunion UTM 40S
                      coordonneeLambertAbscisseEtablissement=re_x,
                      coordonneeLambertOrdonneeEtablissement=re_y),
        establishment("100000001", "00052", "21104",                       # broken coordinates
                      coordonneeLambertAbscisseEtablissement="abc",
                      coordonneeLambertOrdonneeEtablissement="[ND]"),
        establishment("100000001", "00060", "21104"),                      # géoloc x/y only
    ]
    gx, gy = _lambert(5.02, 47.33, 2154)
    geo = [geoloc("10000000100011", 4.95, 47.35),
           geoloc("10000000100029", 4.97, 47.31, qualite="33"),
           geoloc("10000000100037", "[ND]", "[ND]", qualite="[ND]"),
           geoloc("10000000100052", "0", "0"),
           geoloc("10000000100060", "[ND]", "[ND]", x=gx, y=gy, epsg="2154")]
    result = _read(write_sirene(tmp_path / "s", units, ets, geo))
    s = result.structures.set_index("siret")
    prec = s["location_precision"].to_dict()
    assert prec == {"10000000100011": "geoloc_insee", "10000000100029": "commune_aleatoire",
                    "10000000100037": "lambert_sirene", "10000000100045": "lambert_sirene",
                    "10000000100052": "centroide_commune", "10000000100060": "geoloc_insee"}
    assert s.loc["10000000100011", ["longitude", "latitude"]].tolist() == [4.95, 47.35]
    np.testing.assert_allclose(s.loc["10000000100037", ["longitude", "latitude"]].astype(float),
                               [5.05, 47.25], atol=1e-5)
    np.testing.assert_allclose(s.loc["10000000100045", ["longitude", "latitude"]].astype(float),
                               [55.45, -20.9], atol=1e-5)
    np.testing.assert_allclose(s.loc["10000000100060", ["longitude", "latitude"]].astype(float),
                               [5.02, 47.33], atol=1e-5)
    assert np.isnan(s.loc["10000000100052", "longitude"])


def test_rejects_with_reasons(tmp_path):
    units = [unit("100000001")]
    ets = [establishment("100000001", "00011"),
           establishment("100000001", "00011", "21105"),       # duplicated SIRET
           establishment("100000001", "00029", siret="10000000200029"),  # SIRET ≠ SIREN+NIC
           establishment("100000001", "00037", "", libellePaysEtrangerEtablissement="BELGIQUE"),
           establishment("100000001", "00045", "")]
    result = _read(write_sirene(tmp_path / "s", units, ets))
    assert result.read == 5 and len(result.structures) == 1 and len(result.rejects) == 4
    assert result.structures["commune_declaree"].tolist() == ["21104"]  # first kept
    reasons = result.rejects["raison"].str.split(":").str[0].value_counts().to_dict()
    assert reasons == {"siret_en_double": 1, "siret_invalide": 1, "localisation_absente": 2}
    assert result.rejects["raison"].str.contains("BELGIQUE").sum() == 1
    assert result.rejects["donnees"].str.contains("codeCommuneEtablissement").all()
    assert (result.rejects["source"] == "sirene").all()


def test_territory_filter_prefixes_corsica_overseas_arrondissements(tmp_path):
    units = [unit("100000001")]
    communes = {"00011": "21104", "00029": "75101", "00037": "2A004", "00045": "97411",
                "00052": "69999", "00060": "2B033", "00078": "21999"}
    ets = [establishment("100000001", nic, code) for nic, code in communes.items()]
    folder = write_sirene(tmp_path / "s", units, ets)
    changes = pd.DataFrame({"ancien_code": ["69999", "75101"], "code": ["21104", "75056"],
                            "nature": ["ancienne_commune", "arrondissement_municipal"]},
                           dtype="string")

    def kept(deps):
        r = _read(folder, departements=deps, code_changes=changes)
        assert r.read + r.filtered == len(ets)
        return sorted(r.structures["commune_declaree"])

    assert kept(["21"]) == ["21104", "21999", "69999"]
    assert kept(["75"]) == ["75101"]
    assert kept(["2A"]) == ["2A004"]
    assert kept(["2a", "2B"]) == ["2A004", "2B033"]
    assert kept(["974"]) == ["97411"]


@pytest.mark.parametrize("fmt", ["zip", "parquet"])
def test_zip_and_parquet_editions_give_the_csv_result(tmp_path, fmt):
    units = [unit("100000001"), unit("100000002", economieSocialeSolidaireUniteLegale="N")]
    ets = [establishment("100000001", "00011"), establishment("100000001", "00029", "21100"),
           establishment("100000002", "00011")]
    geo = [geoloc("10000000100011", 4.95, 47.35)]
    csv_result = _read(write_sirene(tmp_path / "csv", units, ets, geo))
    other = _read(write_sirene(tmp_path / fmt, units, ets, geo, fmt=fmt))
    assert any(name.endswith(f".{fmt}") for name in other.files)
    cols = ["siret", "nom", "famille_ess", "commune_declaree", "location_precision",
            "longitude", "date_creation", "annee_effectif"]
    pd.testing.assert_frame_equal(csv_result.structures[cols], other.structures[cols])
    assert (other.read, other.filtered) == (csv_result.read, csv_result.filtered) == (2, 1)


def test_missing_column_names_file_column_and_expected(tmp_path):
    folder = write_sirene(tmp_path / "s", [unit("100000001")], [establishment("100000001")])
    path = folder / "StockUniteLegale_utf8.csv"
    path.write_text(path.read_text().replace("categorieJuridiqueUniteLegale",
                                             "categorieJuridique"), encoding="utf-8")
    with pytest.raises(DataValidationError) as err:
        _read(folder)
    message = str(err.value)
    assert "StockUniteLegale_utf8.csv" in message and "categorieJuridiqueUniteLegale" in message
    assert "Expected columns" in message


def test_wrong_encoding_is_a_clear_error(tmp_path):
    folder = write_sirene(tmp_path / "s", [unit("100000001", denominationUniteLegale="CAFÉ")],
                          [establishment("100000001")])
    path = folder / "StockUniteLegale_utf8.csv"
    path.write_bytes(path.read_text(encoding="utf-8").encode("cp1252"))
    with pytest.raises(DataValidationError, match="not UTF-8"):
        _read(folder)


def test_wrong_separator_and_empty_file(tmp_path):
    folder = write_sirene(tmp_path / "s", [unit("100000001")], [establishment("100000001")])
    path = folder / "StockEtablissement_utf8.csv"
    path.write_text(path.read_text().replace(",", ";"), encoding="utf-8")
    with pytest.raises(DataValidationError, match="separator"):
        _read(folder)
    path.write_bytes(b"")
    with pytest.raises(DataValidationError, match="empty"):
        _read(folder)


def test_missing_files_named(tmp_path):
    with pytest.raises(ConfigurationError, match="does not exist"):
        _read(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigurationError, match="StockUniteLegale_utf8.zip"):
        _read(tmp_path / "empty")


def test_normalise_is_pure_and_accounts_every_row():
    et = pd.DataFrame([{**establishment("100000001"), **unit("100000001")},
                       {**establishment("100000001", "00029", ""), **unit("100000001")}])
    structures, rejects, _ = normalise_establishments(et)
    assert len(structures) + len(rejects) == 2
    assert structures["location_precision"].tolist() == ["centroide_commune"]


@pytest.mark.integration
def test_real_ess_units_from_shared_sample(shared_data, tmp_path):
    sample = pd.read_csv(shared_data / "ess" / "sirene_ul_ess_flag_o_numerique.csv",
                         dtype=str, keep_default_na=False)
    picked = pd.concat([sample.groupby("categorieJuridiqueUniteLegale").head(3)]).head(40)
    units = [unit(r.siren, denominationUniteLegale=r.denominationUniteLegale,
                  categorieJuridiqueUniteLegale=r.categorieJuridiqueUniteLegale,
                  activitePrincipaleUniteLegale=r.activitePrincipaleUniteLegale,
                  economieSocialeSolidaireUniteLegale=r.economieSocialeSolidaireUniteLegale,
                  trancheEffectifsUniteLegale=r.trancheEffectifsUniteLegale)
             for r in picked.itertuples()]
    ets = [establishment(r.siren, activitePrincipaleEtablissement=r.activitePrincipaleUniteLegale)
           for r in picked.itertuples()]
    result = _read(write_sirene(tmp_path / "s", units, ets))
    assert result.read == len(picked) == len(result.structures)
    got = result.structures.set_index("siren")
    # Expected family from the independent table of statutory families (../shared/data/
    # reference, derived from the INSEE labels), not from the code under test: a statutory
    # code gives its family; any other ESS unit is an ESS commercial company or "autre".
    table = pd.read_csv(shared_data / "reference" / "categories_juridiques_familles_ess.csv",
                        dtype=str, keep_default_na=False).set_index("code")
    codes = picked.set_index("siren")["categorieJuridiqueUniteLegale"]
    statutory = codes.map(table["famille_ess_statutaire"]).fillna("")
    family = got["famille_ess"].reindex(codes.index)
    assert (family[statutory != ""] == statutory[statutory != ""]).all()
    assert family[statutory == ""].isin(["societe_commerciale_ess", "autre"]).all()
    assert (statutory != "").sum() >= 10  # the sample does exercise statutory families
    names = picked.set_index("siren")["denominationUniteLegale"]
    assert got["nom"].reindex(names.index).tolist() == names.tolist()
    assert set(got["naf_section"].dropna()) <= {"J"}


def test_bad_bytes_deep_in_file_and_ragged_rows_are_clear_errors(tmp_path):
    units = [unit("100000001")]
    ets = [establishment("100000001", f"{i:05d}") for i in range(1, 8001)]  # > 1 MB
    folder = write_sirene(tmp_path / "s", units, ets)
    path = folder / "StockEtablissement_utf8.csv"
    assert path.stat().st_size > (1 << 20)
    good = path.read_bytes()
    path.write_bytes(good + "100000001,09999,10000000109999,O,CAFÉ".encode("cp1252")
                     + b"," * 49 + b"\n")
    with pytest.raises(DataValidationError, match="UTF-8"):
        _read(folder)
    path.write_bytes(good + b"100000001,09998,10000000109998,O,too,few,fields\n")
    with pytest.raises(DataValidationError, match="StockEtablissement_utf8.csv"):
        _read(folder)


def test_typed_parquet_edition(tmp_path):
    """Parquet editions may store numbers, dates and booleans with their own types."""
    lx, ly = _lambert(5.05, 47.25, 2154)
    folder = write_sirene(tmp_path / "s", [unit("000325175")],
                          [establishment("000325175", "00016", "21100",
                                         coordonneeLambertAbscisseEtablissement=lx,
                                         coordonneeLambertOrdonneeEtablissement=ly)],
                          fmt="parquet")
    for name in ("StockUniteLegale_utf8.parquet", "StockEtablissement_utf8.parquet"):
        frame = pd.read_parquet(folder / name)
        frame["siren"] = frame["siren"].astype("int64")  # leading zeros lost
        if "siret" in frame:
            frame["siret"] = frame["siret"].astype("int64")
            frame["dateCreationEtablissement"] = pd.to_datetime(
                frame["dateCreationEtablissement"]).dt.date
            frame["anneeEffectifsEtablissement"] = frame["anneeEffectifsEtablissement"].astype(
                "int64")
            for col in ("coordonneeLambertAbscisseEtablissement",
                        "coordonneeLambertOrdonneeEtablissement"):
                frame[col] = frame[col].astype("float64")
            frame["etablissementSiege"] = True
        frame.to_parquet(folder / name, index=False)
    result = _read(folder)
    row = result.structures.iloc[0]
    assert (row["siret"], row["siren"]) == ("00032517500016", "000325175")
    assert row["date_creation"] == pd.Timestamp("2015-03-02")
    assert row["annee_effectif"] == 2023
    assert row["location_precision"] == "lambert_sirene"
    np.testing.assert_allclose([row["longitude"], row["latitude"]], [5.05, 47.25], atol=1e-5)


def test_implausible_points_fall_back_in_order(tmp_path, tiny_reference):
    """Issue 11 item 5, hand-built: 21104 is the square lon 5.0-5.1 / lat 47.3-47.4; Paris
    (75056) lon 2.25-2.42 / lat 48.81-48.91.  Each row declares 21104 (or 75101)."""
    inside_x, inside_y = _lambert(5.05, 47.35, 2154)
    units = [unit("100000001")]
    ets = [
        establishment("100000001", "00011", "21104",      # Paris géoloc, Lambert in 21104
                      coordonneeLambertAbscisseEtablissement=inside_x,
                      coordonneeLambertOrdonneeEtablissement=inside_y),
        establishment("100000001", "00029", "21104"),     # Paris géoloc, no Lambert
        establishment("100000001", "00037", "21104",      # géoloc abroad, Lambert in 21104
                      coordonneeLambertAbscisseEtablissement=inside_x,
                      coordonneeLambertOrdonneeEtablissement=inside_y),
        establishment("100000001", "00045", "21104"),     # plausible géoloc
        establishment("100000001", "00052", "75101",      # arrondissement, Paris géoloc: ok
                      codePostalEtablissement="75001"),
        establishment("100000001", "00060", "",           # no code: postcode 21000 checks it
                      codePostalEtablissement="21000"),
    ]
    geo = [geoloc("10000000100011", 2.35, 48.86), geoloc("10000000100029", 2.35, 48.86),
           geoloc("10000000100037", -3.0, 40.0), geoloc("10000000100045", 5.05, 47.35),
           geoloc("10000000100052", 2.35, 48.86), geoloc("10000000100060", 2.35, 48.86)]
    folder = write_sirene(tmp_path / "s", units, ets, geo)
    unchecked = _read(folder)
    assert unchecked.notes["localisation"]["verification"] == "aucune"
    assert unchecked.structures.set_index("siret").loc["10000000100011", "longitude"] == 2.35
    result = _read(folder, reference=tiny_reference)
    s = result.structures.set_index("siret")
    assert s["location_precision"].to_dict() == {
        "10000000100011": "lambert_sirene", "10000000100029": "centroide_commune",
        "10000000100037": "lambert_sirene", "10000000100045": "geoloc_insee",
        "10000000100052": "geoloc_insee"}
    np.testing.assert_allclose(s.loc["10000000100011", ["longitude", "latitude"]].astype(float),
                               [5.05, 47.35], atol=1e-5)
    assert np.isnan(s.loc["10000000100029", "longitude"])
    # no commune code and an implausible point for its postcode: no place left -> rejected
    assert result.rejects["raison"].str.startswith("localisation_absente").tolist() == [True]
    located = result.notes["localisation"]
    assert {k: located[k] for k in ("point_geolocalise", "geolocalise_implausible",
                                    "point_lambert", "lambert_implausible", "centroide_commune",
                                    "centroide_apres_point_implausible")} == {
        "point_geolocalise": 2, "geolocalise_implausible": 4, "point_lambert": 2,
        "lambert_implausible": 0, "centroide_commune": 2,
        "centroide_apres_point_implausible": 2}
    assert located["tolerance_m"] == 100.0


def test_departement_refresh_rejects_rows_without_commune_or_point(tmp_path, tiny_reference):
    """Issue 11 item 6: a row with neither commune code nor coordinates is read and rejected
    with its reason, not counted among the rows filtered out of the territory."""
    inside_x, inside_y = _lambert(5.05, 47.35, 2154)
    paris_x, paris_y = _lambert(2.35, 48.86, 2154)
    units = [unit("100000001")]
    ets = [establishment("100000001", "00011", "21104"),
           establishment("100000001", "00029", ""),                       # nothing
           establishment("100000001", "00037", "", codePostalEtablissement="",
                         coordonneeLambertAbscisseEtablissement=inside_x,   # point in 21
                         coordonneeLambertOrdonneeEtablissement=inside_y),
           establishment("100000001", "00045", "", codePostalEtablissement="",
                         coordonneeLambertAbscisseEtablissement=paris_x,    # point in 75
                         coordonneeLambertOrdonneeEtablissement=paris_y),
           establishment("100000001", "00052", "", libellePaysEtrangerEtablissement="BELGIQUE"),
           establishment("100000001", "00060", "75101")]
    result = _read(write_sirene(tmp_path / "s", units, ets), departements=["21"],
                   reference=tiny_reference)
    assert (result.read, result.filtered) == (4, 2)  # abroad and Paris 1er: outside by code
    assert sorted(result.structures["siret"]) == ["10000000100011", "10000000100037"]
    reasons = result.rejects.set_index("siret")["raison"]
    assert reasons["10000000100029"].startswith("localisation_absente: ni code commune")
    assert reasons["10000000100045"].startswith("hors_territoire: pas de code commune")
    assert "21" in reasons["10000000100045"]


def test_vintage_from_the_data_never_the_file_time(tmp_path):
    """Issue 11 item 8: the latest dateDernierTraitementEtablissement, else a date stated in
    the file (zip member) name; the modification time is ignored."""
    import os
    import zipfile

    units = [unit("100000001")]
    ets = [establishment("100000001", "00011",
                         dateDernierTraitementEtablissement="2026-06-30T23:52:43"),
           establishment("100000001", "00029",
                         dateDernierTraitementEtablissement="2025-01-02T10:00:00")]
    folder = write_sirene(tmp_path / "s", units, ets)
    for path in folder.iterdir():
        os.utime(path, (1_600_000_000, 1_600_000_000))  # 2020-09-13
    result = _read(folder)
    assert result.vintage == "SIRENE stock (dernier traitement 2026-06-30)"
    assert result.notes["millesime"]["origine"].startswith("dateDernierTraitement")
    assert json.loads(result.structures["millesimes"].iloc[0])["sirene"] == result.vintage
    zipped = write_sirene(tmp_path / "z", units, ets, fmt="zip")
    archive = zipped / "StockEtablissement_utf8.zip"
    with zipfile.ZipFile(archive) as z:
        content = z.read("StockEtablissement_utf8.csv")
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("StockEtablissement_utf8_2026-07-01.csv", content)
    result = _read(zipped)
    assert result.vintage == "SIRENE stock 2026-07-01"
    assert "StockEtablissement_utf8_2026-07-01.csv" in result.notes["millesime"]["origine"]
