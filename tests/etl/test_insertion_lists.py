"""The real insertion lists shipped in ``real_data/insertion/`` through the actors loader, and
the rules it applies to them (family, public body, types, points given by a list).

Expected values come from ``real_data/insertion/PROVENANCE.md``, from hand tables written
here, or from independent computations on the raw CSV (pandas value counts, a geopandas
distance in Lambert-93) - never from the loader under test.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from etl.actors import (
    family_from_text,
    individual_from_text,
    load_actors,
    public_from_text,
)
from observatory.errors import DataValidationError
from observatory.vocabulary import STRUCTURE_TYPES

REPO = Path(__file__).resolve().parents[2]
LISTS = REPO / "real_data" / "insertion"
SIAE = LISTS / "siae_geiq_2021.csv"
ESAT = LISTS / "esat_2026.csv"

# Legal forms of the ASP list and FINESS statuses of the ESAT managing bodies, as written in
# the files -> (ESS family, run by a public body), decided by hand (None = no family said).
LABELS = {
    "Association déclarée": ("association", False),
    "Association intermédiaire": ("association", False),
    "Association déclarée d'insertion par l'économique": ("association", False),
    "Association de droit local (Bas-Rhin, Haut-Rhin et Moselle)": ("association", False),
    "Association déclarée, reconnue d'utilité publique": ("association", False),
    "Groupement d'employeurs": ("association", False),
    "Fondation": ("fondation", False),
    "Mutuelle": ("mutuelle", False),
    "Autre SARL coopérative": ("cooperative", False),
    "SA coopérative ouvrière de production (SCOP) à conseil d'administration":
        ("cooperative", False),
    "Autre SA coopérative à conseil d'administration": ("cooperative", False),
    "SARL coopérative ouvrière de production (SCOP)": ("cooperative", False),
    "Autre SA coopérative à directoire": ("cooperative", False),
    "SARL coopérative artisanale": ("cooperative", False),
    "SA d'intérêt collectif agricole (SICA) à conseil d'administration": ("cooperative", False),
    "Société à responsabilité limitée (sans autre indication)": ("societe_commerciale_ess", False),
    "SAS, société par actions simplifiée": ("societe_commerciale_ess", False),
    "SARL unipersonnelle": ("societe_commerciale_ess", False),
    "Société par actions simplifiée à associé unique ou société par actions simplifiée "
    "unipersonnelle": ("societe_commerciale_ess", False),  # "associé" is no association
    "Société en nom collectif": ("societe_commerciale_ess", False),
    "SA à conseil d'administration (s.a.i.)": ("societe_commerciale_ess", False),
    "SA à directoire (s.a.i.)": ("societe_commerciale_ess", False),
    "SA nationale à directoire": ("societe_commerciale_ess", False),
    "Associé gérant de Société": ("societe_commerciale_ess", False),
    "Autre personne de droit privé inscrite au registre du commerce et des sociétés":
        ("autre", False),
    "Autre personne morale de droit privé": (None, False),
    "Exploitation agricole à responsabilité limitée": (None, False),
    "Exploitant agricole": (None, False),
    "Communauté de communes": ("autre", True),
    "Centre communal d'action sociale": ("autre", True),
    "Commune et commune nouvelle": ("autre", True),
    "Communauté d'agglomération": ("autre", True),
    "Centre Intercommunal d'action sociale (CIAS)": ("autre", True),
    "Établissement public local d'enseignement": ("autre", True),
    "Syndicat mixte fermé": ("autre", True),
    "Syndicat mixte ouvert": ("autre", True),
    "Département": ("autre", True),
    "SA d'économie mixte à conseil d'administration": ("autre", True),
    "Syndicat intercommunal à vocation multiple (SIVOM)": ("autre", True),
    "Établissement public national à caractère industriel ou commercial doté d'un comptable "
    "public": ("autre", True),
    "Établissement public national à caractère industriel ou commercial non doté d'un "
    "comptable public": ("autre", True),
    "Groupement de coopération sanitaire à gestion publique": ("autre", True),
    "Pôle d'équilibre territorial et rural (PETR)": ("autre", True),
    "Association syndicale autorisée": ("autre", True),  # an établissement public
    "Régie d'une collectivité locale à caractère industriel ou commercial": ("autre", True),
    "Établissement public local à caractère industriel ou commercial": ("autre", True),
    # FINESS statuses of the ESAT managing bodies
    "Ass.L.1901 non R.U.P": ("association", False),
    "Ass.L.1901 R.U.P.": ("association", False),
    "Ass. de Droit Local": ("association", False),
    "Société Mutualiste": ("mutuelle", False),
    "S.A.R.L.": ("societe_commerciale_ess", False),
    "Autr.Org.Pri.non Luc": (None, False),
    "Rég.Gén.Sécu.Sociale": (None, False),  # private-law bodies with a public mission
    "G.C.S.M.S. privé": (None, False),
    "Etb.Social Départ.": ("autre", True),
    "Etb.Social Communal": ("autre", True),
    "Etb.Social Intercom.": ("autre", True),
    "Etb.Social National": ("autre", True),
    "Etb.Pub.Départ.Hosp.": ("autre", True),
    "Etb.Pub.Intcom.Hosp.": ("autre", True),
    "C.C.A.S.": ("autre", True),
    "G.I.P.": ("autre", True),
}


def raw(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False).replace("", None)
    frame["ligne"] = np.arange(len(frame)) + 2  # header = line 1
    return frame


def reject_lines(result) -> dict[int, str]:
    return dict(zip(result.rejects["ligne"].astype(int), result.rejects["raison"], strict=True))


# ------------------------------------------------------------------ rules on their own
def test_family_and_public_body_of_every_label_in_the_real_lists():
    labels = pd.Series(list(LABELS), dtype="string")
    family = family_from_text(labels)
    public = public_from_text(labels)
    for label, got_family, got_public in zip(labels, family, public, strict=True):
        want_family, want_public = LABELS[label]
        assert (None if pd.isna(got_family) else got_family) == want_family, label
        assert bool(got_public) is want_public, label
    assert public_from_text(pd.Series([None], dtype="string")).isna().all()
    person = individual_from_text(pd.Series(["Exploitant agricole", "Entrepreneur individuel",
                                             "SARL coopérative artisanale", None],
                                            dtype="string"))
    assert person.tolist() == [True, True, False, False]
    # every label of both real files is in the hand table above
    seen = set(raw(SIAE)["forme_juridique_asp_2019"].dropna()) | set(
        raw(ESAT)["gestionnaire_statut"].dropna())
    assert seen <= set(LABELS)


def test_structure_types_labels():
    assert STRUCTURE_TYPES == {
        "ACI": "Atelier et chantier d'insertion",
        "AI": "Association intermédiaire",
        "EI": "Entreprise d'insertion",
        "ETTI": "Entreprise de travail temporaire d'insertion",
        "EITI": "Entreprise d'insertion par le travail indépendant",
        "GEIQ": "Groupement d'employeurs pour l'insertion et la qualification",
        "ESAT": "Établissement et service d'aide par le travail",
    }


def test_types_duplicates_names_and_families_in_a_small_list(tmp_path):
    """Hand-made list (no geocoding, commune codes given).  Line 2 and 3 share a SIRET with
    two types: both kept; line 4 repeats (SIRET, type) of line 2: rejected; EA and OPCS are
    outside the offer, "XYZ" unknown; an AI without legal form is an association; a CCAS is
    public and not ESS; a farmer is shown by the enseigne, a person without one by
    "Entrepreneur individuel"."""
    text = ("nom;siret;type;forme;enseigne;code insee\n"
            "Régie A;80032984900023;ACI;Association déclarée;;21231\n"
            "Régie A;80032984900023;ei;Association déclarée;;21231\n"
            "Régie A bis;80032984900023;ACI;;;21231\n"
            "Adapté;;EA;;;21231\n"
            "Clauses;;OPCS;;;21231\n"
            "Bizarre;;XYZ;;;21231\n"
            "AI sans forme;;AI;;;21231\n"
            "CCAS de Dijon;;ACI;Centre communal d'action sociale;;21231\n"
            "DUPONT JEAN;;EI;Exploitant agricole;La Ferme;21231\n"
            "MARTIN PAUL;;EI;Exploitant agricole;;21231\n")
    path = tmp_path / "liste.csv"
    path.write_text(text, encoding="utf-8")
    mapping = {"colonnes": {"nom": "nom", "siret": "siret", "type_structure": "type",
                            "famille": "forme", "code_commune": "code insee"}}
    result = load_actors(path, mapping=mapping, geocode=False)
    result.check_accounting()
    reasons = reject_lines(result)
    assert sorted(reasons) == [4, 5, 6, 7]
    assert reasons[4] == "siret_duplique: deja ligne 2"
    assert reasons[5].startswith("hors_perimetre: type EA (entreprise adaptée)")
    assert reasons[6].startswith("hors_perimetre: type OPCS")
    assert reasons[7].startswith("type_inconnu: XYZ")
    s = result.structures
    assert s["type_structure"].tolist() == ["ACI", "EI", "AI", "ACI", "EI", "EI"]
    assert s["siae"].tolist() == [True] * 6
    assert s["famille_ess"].tolist() == ["association", "association", "association", "autre",
                                         "autre", "autre"]
    assert [None if pd.isna(v) else bool(v) for v in s["gestion_publique"]] == [
        False, False, None, True, False, False]
    assert s["nom"].tolist()[4:] == ["La Ferme", "Entrepreneur individuel"]


# ------------------------------------------------------------------ points of a list
def test_points_in_lambert93_are_checked_against_the_declared_place(tiny_reference, tmp_path):
    """Tiny reference: 0.1° squares, commune 21104 = lon 5.0-5.1, lat 47.3-47.4.

    * a: inside 21104 -> its point; b: 0.0004° east of 21104 (0.0004 x 111.32 km x
      cos 47.35° = 30 m), within the 100 m tolerance -> its point;
    * c: in 21105 (lon 5.15), declared 21104: 0.05° x 75.4 km = 3.8 km away -> implausible,
      placed at 21104;
    * d: declared département 21 only, point in Paris -> implausible, no commune: rejected;
    * e: no point -> commune centroid.
    Inputs are written in Lambert-93 (pyproj) and read back through ``crs: EPSG:2154``."""
    from pyproj import Transformer

    to_l93 = Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True)
    points = {"a": (5.05, 47.35), "b": (5.1004, 47.35), "c": (5.15, 47.35), "d": (2.35, 48.86)}
    lines = ["nom;code;dep;X;Y"]
    for name, (lon, lat) in points.items():
        x, y = to_l93.transform(lon, lat)
        code = "" if name == "d" else "21104"
        lines.append(f"{name};{code};21;{x:.2f};{y:.2f}".replace(".", ","))
    lines.append("e;21104;21;;")
    path = tmp_path / "points.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    mapping = {"colonnes": {"nom": "nom", "code_commune": "code", "departement": "dep",
                            "x": "X", "y": "Y"}, "options": {"crs": "EPSG:2154"}}
    result = load_actors(path, mapping=mapping, geocode=False, reference=tiny_reference)
    s = result.structures.set_index("nom")
    assert s.loc[["a", "b"], "location_precision"].tolist() == ["coordonnees_source"] * 2
    assert s.loc["a", "longitude"] == pytest.approx(5.05, abs=1e-7)
    assert s.loc["b", "latitude"] == pytest.approx(47.35, abs=1e-7)
    assert s.loc[["c", "e"], "location_precision"].tolist() == ["centroide_commune"] * 2
    assert np.isnan(s.loc["c", "longitude"]) and s.loc["c", "commune_declaree"] == "21104"
    assert reject_lines(result)[5].startswith("commune_inconnue")
    assert "du département 21" in reject_lines(result)[5]
    loc = result.notes["localisation"]
    assert (loc["point_source_utilise"], loc["point_implausible"], loc["sans_point"]) == (2, 2, 1)
    assert (loc["point_implausible_centroide"], loc["point_implausible_rejete"]) == (1, 1)
    assert loc["coordonnees"] == "EPSG:2154"
    c = next(p for p in loc["points_implausibles"] if p["nom"] == "c")
    assert c["distance_km"] == pytest.approx(3.8, abs=0.1)
    with pytest.raises(DataValidationError, match="declares no CRS"):
        load_actors(path, mapping={"colonnes": {**mapping["colonnes"]}}, geocode=False)


# ------------------------------------------------------------------ the real lists
@pytest.fixture(scope="module")
def esat(reference):
    return load_actors(ESAT, mapping=LISTS / "esat_2026.mapping.yaml", geocode=False,
                       reference=reference)


@pytest.fixture(scope="module")
def siae(reference):
    return load_actors(SIAE, mapping=LISTS / "siae_geiq_2021.mapping.yaml", geocode=False,
                       reference=reference)


def test_esat_list(esat):
    """PROVENANCE: 1 504 ESAT, commune codes, no point.  Every row has a name and a commune
    code, so none is rejected; two SIRET lost their leading zero (13 digits) and get it back;
    several sites share their managing body's SIRET and are all kept (one per FINESS)."""
    frame = raw(ESAT)
    esat.check_accounting()
    assert (esat.read, len(esat.structures), len(esat.rejects)) == (1504, 1504, 0)
    s = esat.structures
    assert set(s["type_structure"]) == {"ESAT"} and not s["siae"].any()
    assert set(s["location_precision"]) == {"centroide_commune"}
    assert s["longitude"].isna().all()
    assert s["commune_declaree"].tolist() == frame["insee_code"].tolist()
    assert int(s["capacite"].sum()) == int(frame["capacite"].astype(int).sum())
    assert esat.notes["siret_zero_restaure"] == 2
    row = s.set_index("nom").loc["ESAT LE CLAIR LOGIS"]  # siret 8628031000102 in the file
    assert row["siret"] == "08628031000102"
    assert frame["siret"].dropna().duplicated().sum() > 0  # shared SIRETs in the file...
    assert s["siret"].dropna().duplicated().sum() == frame["siret"].dropna().duplicated().sum()
    expected = frame["gestionnaire_statut"].map(LABELS)
    assert int(s["gestion_publique"].sum()) == sum(p for _, p in expected)
    want_family = expected.map(lambda v: v[0] or "autre").value_counts().sort_index()
    assert s["famille_ess"].value_counts().sort_index().to_dict() == want_family.to_dict()
    assert esat.vintage == "liste officielle 2026"
    assert esat.source == "liste_esat"


def test_siae_geiq_list_counts(siae):
    """PROVENANCE: 3 846 rows, 32 without a point; types ACI 1 815, EI 942, AI 620, ETTI 299,
    GEIQ 172 before two sole traders (EI) were removed: EI 940 in the file (the sum is
    3 846).  Types are counted over kept and rejected rows (rejects keep the raw row)."""
    siae.check_accounting()
    assert siae.read == 3846
    kept = siae.structures["type_structure"].value_counts()
    rejected = pd.Series([json.loads(d)["type"] for d in siae.rejects["donnees"]]).value_counts()
    total = kept.add(rejected, fill_value=0).astype(int).to_dict()
    assert total == {"ACI": 1815, "EI": 940, "AI": 620, "ETTI": 299, "GEIQ": 172}
    assert siae.notes["localisation"]["sans_point"] == 32
    assert siae.vintage == "fiches 2019-2021"
    frame = raw(SIAE)
    expected_public = sum(LABELS[v][1] for v in frame["forme_juridique_asp_2019"].dropna())
    rejected_public = sum(LABELS.get(json.loads(d)["forme_juridique_asp_2019"] or "", (0, 0))[1]
                          for d in siae.rejects["donnees"])
    assert int(siae.structures["gestion_publique"].sum()) + rejected_public == expected_public


def test_siae_geiq_points_far_from_their_departement(siae, reference):
    """Independent check: the distance of each metropolitan point to its declared
    département, in Lambert-93 with geopandas.  Every point more than 100 m outside it must
    not be used (placed at its commune, or rejected when no commune is known); the loader's
    other implausible points are checked against a commune of the right département."""
    import geopandas as gpd

    frame = raw(SIAE).dropna(subset=["longitude"])
    frame = frame[~frame["departement"].str.startswith("97")]
    points = gpd.GeoSeries(gpd.points_from_xy(frame["longitude"].astype(float),
                                              frame["latitude"].astype(float)),
                           crs=4326, index=frame.index).to_crs(2154)
    deps = reference.departements.to_crs(2154).geometry
    distance = [deps[d].distance(p) for d, p in zip(frame["departement"], points, strict=True)]
    far = frame[np.array(distance) > 100.0]
    listed = {p["ligne"]: p for p in siae.notes["localisation"]["points_implausibles"]}
    assert set(far["ligne"]) <= set(listed)
    for line in set(listed) - set(far["ligne"]):
        assert listed[line]["controle"].startswith("commune ")
    rejected = reject_lines(siae)
    for line in far["ligne"]:
        outcome = listed[line]["repli"]
        assert outcome in ("centroide_commune", "rejet")
        assert (line in rejected) is (outcome == "rejet")
    geiq_far = far[(far["type"] == "GEIQ")]
    # the GEIQ the provenance warns about: points hundreds of km from their département
    assert len(geiq_far) >= 20
    assert (np.array(distance)[np.array(distance) > 100.0] > 100_000).sum() >= 20
    print(f"\nGEIQ points > 100 m from their département: {len(geiq_far)}; all list rows > "
          f"100 m: {len(far)}; loader implausible: {len(listed)}")


def test_siae_geiq_rows_by_hand(siae):
    """Rows checked by hand in the file:
    line 2, BALUCHON (Romainville 93230, point 2.431955, 48.88053): its own point;
    line 2653, ETTI Une nouvelle chance (Beaucaire 30300 = INSEE 30032, point in Gironde):
    placed at Beaucaire; line 3689, GEIQ BTP BOURGOGNE (21024, town written "Le Havre",
    point in Le Havre): no commune of Côte-d'Or, rejected with the distance; lines 55, 2313,
    2943 (Saint-Martin 97150) and 1070, 1071 (Saint-Pierre-et-Miquelon 97500) have no point
    and no commune of the 101 départements: rejected."""
    s = siae.structures
    baluchon = s[s["siret"] == "80746931700018"].iloc[0]
    assert baluchon["location_precision"] == "coordonnees_source"
    assert (baluchon["longitude"], baluchon["latitude"]) == (2.431955, 48.88053)
    assert baluchon["nom"] == "Baluchon-À table citoyens"  # the enseigne, as the source shows
    etti = s[s["nom"] == "ETTI Une nouvelle chance"].iloc[0]
    assert etti["location_precision"] == "centroide_commune"
    assert etti["commune_declaree"] == "30032" and np.isnan(etti["longitude"])
    rejected = reject_lines(siae)
    assert rejected[3689].startswith("commune_inconnue")
    assert "du département 21" in rejected[3689]
    assert {55, 2313, 2943, 1070, 1071} <= set(rejected)
