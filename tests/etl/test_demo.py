"""Demo SIRENE generator: official format, determinism, geography, special rows, quarters.

Uses the tiny reference of ``tests/etl/conftest.py`` (nine 0.1° squares in Côte-d'Or, Paris
with its old arrondissement code 75101, Saint-Denis de La Réunion, old code 21999 -> 21104:
three départements), scaled up so that the rare kinds of rows (0.4 % broken coordinates...)
do occur, with two bad rows of each kind per département (a model input of the tests).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import shapely
from sirene_fixtures import ET_HEADER, GEO_HEADER, UL_HEADER, make_tiny_reference

from demo.files import generate_demo_files, generate_demo_quarters, quarter_date
from demo.formats import FILE_NAMES, read_demo_files
from demo.model import DemoModel, luhn_valid
from observatory.errors import ConfigurationError

# First lines of the official files as published (INSEE stock files since the NAF 2025
# column was added; géolocalisé file as listed in data-sources.md §1): one copy, in the test
# fixtures of the SIRENE reader.
OFFICIAL_UL = ",".join(UL_HEADER)
OFFICIAL_ET = ",".join(ET_HEADER)
OFFICIAL_GEO = ";".join(GEO_HEADER)
MODEL = DemoModel(scale=4.0, bad_rows_per_departement=2)
BAD_PER_KIND = 2 * 3  # two per département, three départements


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    ref = make_tiny_reference()
    out = tmp_path_factory.mktemp("demo")
    paths = generate_demo_quarters(out, ref, None, ("2026-T3", "2026-T4"), seed=7, model=MODEL)
    return ref, out, paths


def test_headers_are_the_official_ones(demo):
    _, _, paths = demo
    p = paths["2026-T3"]
    assert p["unite_legale"].name == "StockUniteLegale_utf8.csv"
    assert p["etablissement"].name == "StockEtablissement_utf8.csv"
    assert p["geolocalisation"].name == FILE_NAMES["geolocalisation"]
    with open(p["unite_legale"], encoding="utf-8") as f:
        assert f.readline().rstrip("\n") == OFFICIAL_UL
    with open(p["geolocalisation"], encoding="utf-8") as f:
        assert f.readline().rstrip("\n") == OFFICIAL_GEO
    with open(p["etablissement"], encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split(",")
    assert header == OFFICIAL_ET.split(",")
    assert len(header) == 54 and header[:3] == ["siren", "nic", "siret"]
    assert header[-1] == "activitePrincipaleNAF25Etablissement"
    assert header.index("dateDebut") == header.index("etatAdministratifEtablissement") - 1


def test_values_follow_the_official_formats(demo):
    _, out, _ = demo
    frames = read_demo_files(out / "2026-T3")
    ul, et, geo = frames["unite_legale"], frames["etablissement"], frames["geolocalisation"]
    assert list(ul.columns) == OFFICIAL_UL.split(",")
    assert list(geo.columns) == OFFICIAL_GEO.split(";")
    for frame in (ul, et, geo):
        assert not frame.isin(["nan", "None", "NaN", "<NA>"]).any().any()
    date = re.compile(r"^\d{4}-\d{2}-\d{2}$")
    assert et["dateCreationEtablissement"].str.match(date).all()
    assert et["dateDebut"].str.match(date).all()
    assert ul["dateCreationUniteLegale"].str.match(date).all()
    assert et["dateDernierTraitementEtablissement"].str.match(
        r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$").all()
    assert set(et["etablissementSiege"]) == {"true", "false"}
    assert et["activitePrincipaleEtablissement"].str.match(r"^\d{2}\.\d{2}[A-Z]$").all()
    assert ul["activitePrincipaleUniteLegale"].str.match(r"^\d{2}\.\d{2}[A-Z]$").all()
    assert set(et["nomenclatureActivitePrincipaleEtablissement"]) == {"NAFRev2"}
    assert set(ul["economieSocialeSolidaireUniteLegale"]) == {"O", "N", ""}
    assert set(et["etatAdministratifEtablissement"]) == {"A", "F"}
    bands = {"NN", "00", "01", "02", "03", "11", "12", "21", "22", "31", "32", "41", "42",
             "51", "52", "53"}
    assert set(et["trancheEffectifsEtablissement"]) <= bands
    # every establishment has exactly one unit, every unit one siège
    assert et["siren"].isin(ul["siren"]).all()
    assert ul["siren"].is_unique and et["siret"].is_unique
    sieges = et[et["etablissementSiege"] == "true"]
    assert sieges["siren"].is_unique and len(sieges) == len(ul)
    merged = ul.merge(sieges, on="siren", validate="1:1")
    assert (merged["nicSiegeUniteLegale"] == merged["nic"]).all()


def test_identifiers_are_luhn_valid_and_recognisable(demo):
    _, out, _ = demo
    frames = read_demo_files(out / "2026-T4")
    ul, et = frames["unite_legale"], frames["etablissement"]
    assert ul["siren"].str.len().eq(9).all()
    assert luhn_valid(ul["siren"].tolist()).all()
    # the bad rows: a SIRET cut to 13 digits (siret_invalide in the refresh), nothing else
    cut = et["siret"].str.len() != 14
    assert cut.sum() == BAD_PER_KIND
    assert (et.loc[cut, "siret"] == (et["siren"] + et["nic"])[cut].str.slice(0, 13)).all()
    et = et[~cut]
    assert luhn_valid(et["siret"].tolist()).all()
    assert (et["siret"] == et["siren"] + et["nic"]).all()
    assert ul["siren"].str.startswith("0").all()
    ess = ul["economieSocialeSolidaireUniteLegale"] == "O"
    assert ul.loc[ess, "siren"].str.slice(0, 2).isin(["00", "01"]).all()
    assert not ul.loc[~ess, "siren"].str.slice(0, 2).isin(["00", "01"]).any()
    assert ul.loc[ess, "denominationUniteLegale"].str.contains("démo").all()


def test_deterministic_byte_identical(tmp_path, demo):
    ref = demo[0]
    a = generate_demo_files(tmp_path / "a", ref, {"departement": "21"}, seed=11, model=MODEL)
    b = generate_demo_files(tmp_path / "b", ref, {"departement": "21"}, seed=11, model=MODEL)
    c = generate_demo_files(tmp_path / "c", ref, {"departement": "21"}, seed=12, model=MODEL)
    for key in FILE_NAMES:
        assert a[key].read_bytes() == b[key].read_bytes()
    assert a["etablissement"].read_bytes() != c["etablissement"].read_bytes()
    et = pd.read_csv(a["etablissement"], dtype=str, keep_default_na=False)
    declared = et["codeCommuneEtablissement"]
    # only the territory (but the bad rows without any commune code)
    assert (declared.str.startswith("21") | (declared == "")).all()
    assert (declared == "").sum() == 2


def test_points_fall_inside_their_commune(demo):
    ref, out, _ = demo
    geo = read_demo_files(out / "2026-T3")["geolocalisation"]
    ok = (geo["plg_code_commune"] != "[ND]") & (geo["x_longitude"] != "[ND]")
    rows = geo[ok]
    assert len(rows) > 0.9 * len(geo)
    polygons = ref.communes.geometry.reindex(rows["plg_code_commune"].replace({"75101": "75056"}))
    assert polygons.notna().all()
    inside = shapely.contains_xy(polygons.to_numpy(), rows["x_longitude"].astype(float),
                                 rows["y_latitude"].astype(float))
    assert inside.all()
    # Lambert / local projection and WGS84 coordinates describe the same point
    from pyproj import Transformer

    for epsg in rows["epsg"].unique():
        part = rows[rows["epsg"] == epsg]
        lon, lat = Transformer.from_crs(int(epsg), 4326, always_xy=True).transform(
            part["x"].astype(float).to_numpy(), part["y"].astype(float).to_numpy())
        assert np.allclose(lon, part["x_longitude"].astype(float), atol=1e-5)
        assert np.allclose(lat, part["y_latitude"].astype(float), atol=1e-5)
    assert set(geo["epsg"]) == {"2154", "2975"}  # metro + La Réunion


def test_special_rows_the_etl_must_handle(demo):
    ref, out, paths = demo
    frames = read_demo_files(out / "2026-T3")
    ul, et, geo = frames["unite_legale"], frames["etablissement"], frames["geolocalisation"]
    flag = ul.set_index("siren")["economieSocialeSolidaireUniteLegale"]
    et_flag = et["siren"].map(flag)
    assert (et_flag != "O").sum() > 2 * (et_flag == "O").sum()  # several times more non-ESS
    closed = et[et["etatAdministratifEtablissement"] == "F"]
    assert len(closed) > 0 and closed["dateDebut"].ne("").all()
    assert (closed["dateDebut"] >= closed["dateCreationEtablissement"]).all()
    persons = ul[ul["categorieJuridiqueUniteLegale"] == "1000"]
    assert len(persons) > 0 and persons["economieSocialeSolidaireUniteLegale"].ne("O").all()
    partial = persons[persons["statutDiffusionUniteLegale"] == "P"]
    visible = persons[persons["statutDiffusionUniteLegale"] == "O"]
    assert len(partial) > 0 and (partial["nomUniteLegale"] == "[ND]").all()
    assert (partial["prenom1UniteLegale"] == "[ND]").all()
    assert visible["prenom1UniteLegale"].ne("").all()
    nd_et = et[et["statutDiffusionEtablissement"] == "P"]
    assert (nd_et["libelleVoieEtablissement"] == "[ND]").all()
    assert (nd_et["codeCommuneEtablissement"] != "[ND]").all()  # the commune stays
    assert (geo["qualite_xy"] == "33").sum() > 0
    declared = et["codeCommuneEtablissement"]
    assert (declared == "21999").sum() > 0  # old code from reference.code_changes
    assert declared.str.startswith("75").any() and not (declared == "75056").any()
    assert (geo["x"] == "[ND]").sum() > 0
    info = paths["2026-T3"]["info"].read_text(encoding="utf-8")
    counts = pd.read_json(paths["2026-T3"]["info"], typ="series")["counts"]
    assert counts["coord_en_mer"] > 0 and counts["coord_inversees"] > 0, info
    # broken coordinates: some points fall outside every commune
    lon = pd.to_numeric(geo["x_longitude"], errors="coerce")
    lat = pd.to_numeric(geo["y_latitude"], errors="coerce")
    valid = lon.notna()
    anywhere = shapely.contains_xy(ref.communes.union_all(), lon[valid].to_numpy(),
                                   lat[valid].to_numpy())
    assert (~anywhere).sum() >= 1
    assert geo["siret"].isin(et["siret"]).all() and len(geo) < len(et)
    # a few rows declare the neighbouring commune of their point (border geocoding)
    both = et.merge(geo, on="siret", validate="1:1")
    current = both["codeCommuneEtablissement"].isin(ref.communes.index)
    other = both[current & (both["plg_code_commune"] != "[ND]")
                 & (both["codeCommuneEtablissement"] != both["plg_code_commune"])]
    assert len(other) > 0
    polygons = ref.communes.geometry
    assert all(polygons[a].touches(polygons[b]) for a, b in zip(
        other["codeCommuneEtablissement"], other["plg_code_commune"], strict=True))


def test_bad_rows_for_the_rejects(demo):
    """Unknown commune codes (the département's "postcode 000": 21000 is Dijon's postcode,
    97400 Saint-Denis') without any coordinates; rows without commune code nor postcode whose
    longitude and latitude are swapped, so that the point falls outside France."""
    ref, out, _ = demo
    frames = read_demo_files(out / "2026-T3")
    et, geo = frames["etablissement"], frames["geolocalisation"]
    declared = et["codeCommuneEtablissement"]
    known = set(ref.communes.index) | set(ref.code_changes["ancien_code"])
    unknown = et[~declared.isin(known) & (declared != "")]
    assert set(unknown["codeCommuneEtablissement"]) == {"21000", "75000", "97400"}
    assert len(unknown) == BAD_PER_KIND
    assert not unknown["siret"].isin(geo["siret"]).any()
    assert unknown["coordonneeLambertAbscisseEtablissement"].eq("").all()
    nowhere = et[declared == ""]
    assert len(nowhere) == BAD_PER_KIND
    assert nowhere["codePostalEtablissement"].eq("").all()
    outside = nowhere.merge(geo, on="siret", validate="1:1")
    assert len(outside) == BAD_PER_KIND
    lon, lat = outside["x_longitude"].astype(float), outside["y_latitude"].astype(float)
    # metropolitan France: lon -5.2..9.6, lat 41.3..51.1; La Réunion: lon 55.2..55.9
    in_metro = lon.between(-5.2, 9.6) & lat.between(41.3, 51.1)
    in_reunion = lon.between(55.2, 55.9) & lat.between(-21.4, -20.8)
    assert not (in_metro | in_reunion).any()
    assert outside["plg_code_commune"].eq("[ND]").all()


def test_parquet_edition_holds_the_same_rows(tmp_path, demo):
    ref = demo[0]
    csv = generate_demo_files(tmp_path / "csv", ref, {"departement": "21"}, seed=5, model=MODEL)
    parquet = generate_demo_files(tmp_path / "pq", ref, {"departement": "21"}, seed=5,
                                  model=MODEL, edition="parquet")
    assert parquet["unite_legale"].name == "StockUniteLegale_utf8.parquet"
    assert parquet["etablissement"].name == "StockEtablissement_utf8.parquet"
    assert parquet["geolocalisation"].name == FILE_NAMES["geolocalisation"]  # CSV only
    import pyarrow.parquet as pq

    schema = pq.read_schema(parquet["etablissement"])
    assert schema.names == OFFICIAL_ET.split(",")
    assert {str(t) for t in schema.types} == {"string"}
    a, b = read_demo_files(tmp_path / "csv"), read_demo_files(tmp_path / "pq")
    for key in FILE_NAMES:
        pd.testing.assert_frame_equal(a[key], b[key])
    assert csv["geolocalisation"].read_bytes() == parquet["geolocalisation"].read_bytes()
    with pytest.raises(ConfigurationError, match="edition"):
        generate_demo_files(tmp_path / "x", ref, {"departement": "21"}, edition="xlsx")


def test_families_legal_forms_and_sectors_are_consistent(demo):
    _, out, _ = demo
    ul = read_demo_files(out / "2026-T3")["unite_legale"]
    ess = ul[ul["economieSocialeSolidaireUniteLegale"] == "O"]
    allowed = {"Association démo": {"9220", "9230", "9210"},
               "Fondation démo": {"9300"},
               "Mutuelle démo": {"8210", "6411", "8250", "8290"},
               "Banque coopérative démo": {"5192", "5196"},
               "Société ESS démo": {"5710", "5499"}}
    for prefix, forms in allowed.items():
        rows = ess[ess["denominationUniteLegale"].str.startswith(prefix + " ")]
        assert rows["categorieJuridiqueUniteLegale"].isin(forms).all(), prefix
    banks = ess[ess["denominationUniteLegale"].str.startswith("Banque coopérative")]
    assert (banks["activitePrincipaleUniteLegale"] == "64.19Z").all()
    assocs = ess[ess["denominationUniteLegale"].str.startswith("Association démo")]
    assert len(assocs) > 0.6 * len(ess)


def test_second_quarter_differs_by_creations_closures_and_moves(demo):
    _, out, paths = demo
    q3 = read_demo_files(out / "2026-T3")
    q4 = read_demo_files(out / "2026-T4")
    e3 = q3["etablissement"].set_index("siret")
    e4 = q4["etablissement"].set_index("siret")
    assert e3.index.isin(e4.index).all()  # nothing disappears from a stock
    created = e4.index.difference(e3.index)
    assert len(created) > 0
    assert (e4.loc[created, "dateCreationEtablissement"] >= "2026-07-01").all()
    assert (e4.loc[created, "dateCreationEtablissement"] < "2026-10-01").all()
    common = e3.index
    closed = common[(e3["etatAdministratifEtablissement"] == "A")
                    & (e4.loc[common, "etatAdministratifEtablissement"] == "F")]
    assert len(closed) > 0
    assert (e4.loc[closed, "dateDebut"] >= "2026-07-01").all()
    g3 = q3["geolocalisation"].set_index("siret")
    g4 = q4["geolocalisation"].set_index("siret")
    both = g3.index.intersection(g4.index)
    moved = both[(g3.loc[both, "x_longitude"] != g4.loc[both, "x_longitude"])]
    assert len(moved) > 0
    assert (e4.loc[moved, "etatAdministratifEtablissement"] == "A").all()
    changed = common[(e3.loc[common] != e4.loc[common]).any(axis=1)]
    assert set(changed) <= set(closed) | set(moved)  # nothing else changed
    counts = pd.read_json(paths["2026-T4"]["info"], typ="series")["counts"]
    assert counts["fermetures"] == len(closed) and counts["deplacements"] == len(moved)


def test_bad_arguments_are_explained(tmp_path, demo):
    ref = demo[0]
    with pytest.raises(ConfigurationError, match="No commune"):
        generate_demo_files(tmp_path, ref, {"departement": "99"})
    with pytest.raises(ConfigurationError, match="not understood"):
        generate_demo_files(tmp_path, ref, {"commune": "21104"})
    with pytest.raises(ConfigurationError, match="quarter label"):
        quarter_date("2026-Q4")
    with pytest.raises(ConfigurationError, match="does not come after"):
        generate_demo_quarters(tmp_path, ref, None, ("2026-T4", "2026-T3"))
    assert not list(tmp_path.glob("*.part"))


def test_region_territory_and_model_scale(tmp_path, demo):
    ref = demo[0]
    model = DemoModel(bad_rows_per_departement=0)
    small = generate_demo_files(tmp_path / "r1", ref, {"region": "27"}, seed=3, model=model)
    large = generate_demo_files(tmp_path / "r3", ref, {"region": "27"}, seed=3,
                                model=model.with_(scale=3.0))
    et_small = pd.read_csv(small["etablissement"], dtype=str, keep_default_na=False)
    et_large = pd.read_csv(large["etablissement"], dtype=str, keep_default_na=False)
    assert et_small["codeCommuneEtablissement"].str.startswith("21").all()
    assert 2.2 * len(et_small) < len(et_large) < 3.8 * len(et_small)
