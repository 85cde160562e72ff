"""Demo generator against the real material of ../shared: official column names, real code
lists, real SIRENs, and the real geography of Côte-d'Or."""

from __future__ import annotations

import csv
import json
import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import shapely

from demo.files import generate_demo_files
from demo.formats import ETABLISSEMENT_COLUMNS, UNITE_LEGALE_COLUMNS, read_demo_files
from demo.model import BANDS_EMPLOYER
from indicators.employment import employment_columns

pytestmark = pytest.mark.integration


def _doc_section_1(shared_data) -> str:
    text = (shared_data.parent / "docs" / "data-sources.md").read_text(encoding="utf-8")
    return text[text.index("## 1. SIRENE"):text.index("## 2. API")]


def test_columns_cover_the_documented_and_the_real_ones(shared_data):
    section = _doc_section_1(shared_data)
    ul_part = section[section.index("**StockUniteLegale columns**"):
                      section.index("**StockEtablissement columns**")]
    et_part = section[section.index("**StockEtablissement columns**"):
                      section.index("**Géolocalisé file**")]
    ul_names = set(re.findall(r"\b([a-z][A-Za-z0-9]*UniteLegale|siren|categorieEntreprise|"
                              r"anneeCategorieEntreprise|dateDebut)\b", ul_part))
    et_names = set(re.findall(r"\b([a-z][A-Za-z0-9]*Etablissement|siren|nic|siret|dateDebut|"
                              r"etablissementSiege)\b", et_part))
    ul_names.discard("prenom1UniteLegale…prenom4UniteLegale")
    assert len(ul_names) > 25 and len(et_names) > 35
    assert ul_names <= set(UNITE_LEGALE_COLUMNS), ul_names - set(UNITE_LEGALE_COLUMNS)
    assert et_names <= set(ETABLISSEMENT_COLUMNS), et_names - set(ETABLISSEMENT_COLUMNS)
    with open(shared_data / "ess" / "sirene_ul_ess_flag_o_numerique.csv",
              encoding="utf-8") as f:
        real = next(csv.reader(f))
    sirene_names = [c for c in real if c not in ("sources", "methode_jointure")]
    assert set(sirene_names) <= set(UNITE_LEGALE_COLUMNS)


def _real_sirens(shared_data) -> set[str]:
    sirens = set()
    for name in ("sirene_ul_ess_flag_o_numerique.csv", "ess_numerique_consolide.csv"):
        frame = pd.read_csv(shared_data / "ess" / name, dtype=str, keep_default_na=False)
        sirens |= set(frame["siren"].str.zfill(9))
    for path in (shared_data / "api_samples").rglob("*.json"):
        sirens |= set(re.findall(r'"siren":\s*"(\d{9})"', path.read_text(encoding="utf-8")))
    return sirens


def _cote_dor(shared_data):
    import geopandas as gpd

    communes = gpd.read_file(shared_data / "boundaries" / "communes_21.geojson")
    communes = communes.set_index("code")
    pop = pd.read_csv(shared_data / "population" / "communes_population_cog2026_pl2023.csv",
                      dtype=str, keep_default_na=False)
    old = pop[pop["type"].isin(["commune-deleguee", "commune-associee"])
              & (pop["code"] != pop["commune_parente"])]
    changes = pd.DataFrame({"ancien_code": old["code"], "code": old["commune_parente"],
                            "nature": old["type"].str.replace("-", "_")})
    return SimpleNamespace(communes=communes, code_changes=changes)


@pytest.fixture(scope="module")
def cote_dor(shared_data, tmp_path_factory):
    ref = _cote_dor(shared_data)
    out = tmp_path_factory.mktemp("demo21")
    paths = generate_demo_files(out, ref, {"departement": "21"}, "2026-T4")
    return ref, paths, read_demo_files(out)


def test_no_demo_siren_is_a_real_siren(shared_data, cote_dor):
    real = _real_sirens(shared_data)
    assert len(real) > 3000
    demo = set(cote_dor[2]["unite_legale"]["siren"])
    assert not (demo & real)
    # the construction: no real SIREN of the samples starts with "00" or "01"
    assert not {s for s in real if s[:2] in ("00", "01")}


def test_codes_exist_in_the_official_code_lists(shared_data, cote_dor):
    ul = cote_dor[2]["unite_legale"]
    ref_dir = shared_data / "reference"
    naf = json.loads((ref_dir / "annuaire_labels_codes-NAF.json").read_text("utf-8"))
    forms = json.loads((ref_dir / "annuaire_labels_natures-juridiques.json").read_text("utf-8"))
    bands = json.loads((ref_dir / "annuaire_labels_tranches-effectifs.json").read_text("utf-8"))
    assert ul["activitePrincipaleUniteLegale"].isin(list(naf)).all()
    assert ul["categorieJuridiqueUniteLegale"].isin(list(forms)).all()
    assert set(BANDS_EMPLOYER) <= set(bands)
    families = pd.read_csv(ref_dir / "categories_juridiques_familles_ess.csv", dtype=str,
                           keep_default_na=False).set_index("code")["famille_ess_statutaire"]
    ess = ul[ul["economieSocialeSolidaireUniteLegale"] == "O"].copy()
    ess["famille"] = ess["categorieJuridiqueUniteLegale"].map(families)
    expected = {"Association": "association", "Fondation": "fondation",
                "Mutuelle": "mutuelle", "Coopérative": "cooperative",
                "Banque": "cooperative"}
    ess["attendu"] = ess["denominationUniteLegale"].str.split(" ").str[0].map(expected)
    statutory = ess[ess["attendu"].notna() & ~ess["categorieJuridiqueUniteLegale"].isin(
        ["5710", "5499"])]  # SCIC/SCOP in SAS form: generic code, documented
    assert (statutory["famille"] == statutory["attendu"]).all()
    shares = ess["famille"].replace("", "commerciale").value_counts(normalize=True)
    assert shares["association"] > 0.7


def test_cote_dor_follows_the_published_figures(cote_dor):
    """Côte-d'Or (540 100 inhabitants of 68 350 798, 0.790 %): its population share of the
    published national figures (issue 12: 2.4-2.6 million ESS employees, 210 000-221 000
    employer establishments; Panorama / Atlas de l'ESS) is 18 700-20 500 jobs and 1 660-1 750
    employer establishments.  The demo of the previous model gave 38 844 jobs."""
    ref, paths, frames = cote_dor
    et, ul, geo = frames["etablissement"], frames["unite_legale"], frames["geolocalisation"]
    assert ref.communes["population"].sum() == 540_100
    flag = ul.set_index("siren")["economieSocialeSolidaireUniteLegale"]
    ess = et[et["siren"].map(flag) == "O"]
    active = ess[ess["etatAdministratifEtablissement"] == "A"]
    employer = active[active["caractereEmployeurEtablissement"] == "O"]
    assert 1_660 <= len(employer) <= 1_750
    bands = active[["trancheEffectifsEtablissement"]].rename(
        columns={"trancheEffectifsEtablissement": "tranche_effectif"})
    jobs = employment_columns(bands)["emplois_estimes"].sum()
    assert 18_700 <= jobs <= 20_500
    # zones blanches: some communes without any active ESS establishment, mostly small ones
    current = active["codeCommuneEtablissement"].replace(
        ref.code_changes.set_index("ancien_code")["code"].to_dict())
    per_commune = current.value_counts().reindex(ref.communes.index, fill_value=0)
    empty = per_commune == 0
    assert 0.05 < empty.mean() < 0.6
    assert ref.communes.loc[empty, "population"].median() < \
        ref.communes.loc[~empty, "population"].median()
    with_employer = employer["codeCommuneEtablissement"].replace(
        ref.code_changes.set_index("ancien_code")["code"].to_dict()).nunique()
    assert 0.2 < with_employer / len(ref.communes) < 0.85
    assert (ess["codeCommuneEtablissement"].isin(ref.code_changes["ancien_code"])).sum() > 0
    ok = (geo["plg_code_commune"] != "[ND]") & (geo["x_longitude"] != "[ND]")
    rows = geo[ok]
    polygons = ref.communes.geometry.reindex(rows["plg_code_commune"]).to_numpy()
    points = shapely.points(rows["x_longitude"].astype(float), rows["y_latitude"].astype(float))
    # inside, up to the 6 decimals of the file (1e-6 degree: about 0.1 m)
    assert shapely.dwithin(polygons, points, 1e-6).all()
    assert ess["trancheEffectifsEtablissement"].value_counts(normalize=True)["NN"] > 0.5
    big = ess["trancheEffectifsEtablissement"].isin(["21", "22", "31", "32", "41", "42", "51"])
    assert 0 < big.mean() < 0.05
    assert np.isclose(json.loads(paths["info"].read_text("utf-8"))["counts"]["ess_actifs"],
                      len(active))
