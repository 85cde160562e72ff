"""AppTest of every page on the synthetic world (tests/app/app_synthetic.py).

The page loaders are patched to answer from in-memory frames; indicators, maps and tables run
for real.  These tests need no file and no network.
"""

from __future__ import annotations

import pytest
from app_synthetic import PAGES, REPO
from streamlit.testing.v1 import AppTest


def _open(page: str) -> AppTest:
    at = AppTest.from_file(str(REPO / "navigation.py"), default_timeout=120)
    at.run()
    at.switch_page(f"app_pages/{page}.py").run()
    return at


def _texts(at: AppTest) -> str:
    parts = [e.value for e in at.markdown] + [e.value for e in at.caption]
    parts += [e.value for e in at.subheader] + [e.value for e in at.header]
    parts += [e.value for e in at.warning] + [e.value for e in at.info]
    return "\n".join(str(p) for p in parts)


@pytest.mark.parametrize("page", list(PAGES))
def test_page_renders_in_french_without_exception(synthetic_app, page):
    at = _open(page)
    assert not at.exception, [e.value for e in at.exception]
    assert [t.value for t in at.title] == [PAGES[page]]
    assert not at.error, [e.value for e in at.error]
    # demo banner with the one command that loads real data
    banner = " ".join(w.value for w in at.warning)
    assert "Données fictives de démonstration" in banner
    assert "python -m observatory refresh --sirene-dir" in banner


def test_default_page_is_comparer(synthetic_app):
    at = AppTest.from_file(str(REPO / "navigation.py"), default_timeout=120).run()
    assert [t.value for t in at.title] == ["Comparer les territoires"]


def test_comparer_widgets_and_rerender(synthetic_app):
    at = _open("comparer")
    labels = [s.label for s in at.selectbox]
    assert labels[:3] == ["Territoires à comparer", "Département de référence", "Indicateur"]
    assert at.radio[0].label == "Classification"
    assert at.query_params["indicateur"] == "structures_per_10k"
    at.selectbox(key="indicateur").select("structures").run()
    assert not at.exception
    assert at.query_params["indicateur"] == "structures"
    at.radio(key="scheme").set_value("jenks").run()
    assert not at.exception
    at.radio(key="scheme").set_value("manuel").run()
    at.text_input(key="seuils").input("abc").run()
    assert at.error and "seuil" in at.error[0].value  # a clear French message, no crash
    at.text_input(key="seuils").input("10 ; 20,5").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    at.selectbox(key="vue").select("departements").run()
    assert not at.exception
    assert "Voir les données sous forme de tableau" in [e.label for e in at.expander]
    # ranking table lists the EPCI/départements with their rank
    assert any("Rang" in df.value.columns for df in at.dataframe)


def test_comparer_comparison_table(synthetic_app):
    at = _open("comparer")
    table = at.dataframe[-1].value
    assert table.columns[0] == "Indicateur"
    assert any(c.startswith("Référence : ") for c in table.columns)


def test_comparer_permalink_opens_same_view(synthetic_app):
    at = AppTest.from_file(str(REPO / "navigation.py"), default_timeout=120)
    at.query_params["vue"] = "communes_epci"
    at.query_params["parent"] = "200000002"
    at.query_params["indicateur"] = "structures"
    at.run()
    assert not at.exception
    assert at.selectbox(key="vue").value == "communes_epci"
    assert at.selectbox(key="parent").value == "200000002"
    assert at.selectbox(key="indicateur").value == "structures"


def test_mon_territoire_search_ignores_accents_and_case(synthetic_app):
    at = _open("mon_territoire")
    at.text_input(key="recherche").input("SAINT etienne").run()
    assert not at.exception
    assert at.selectbox(key="territoire").value == "commune|21104"
    assert at.query_params["code"] == "21104"
    assert any("Saint-Étienne (commune, 21104)" in h.value for h in at.header)
    labels = [m.label for m in at.metric]
    assert "Structures actives" in labels
    assert any(b.label == "Télécharger la fiche territoire (PDF)"
               for b in at.get("download_button"))


def test_mon_territoire_unknown_search_is_explained(synthetic_app):
    at = _open("mon_territoire")
    at.text_input(key="recherche").input("zzzz").run()
    assert not at.exception
    assert "Aucun territoire" in at.warning[-1].value


def test_mon_territoire_permalink_and_key_figures(synthetic_app):
    at = AppTest.from_file(str(REPO / "navigation.py"), default_timeout=120).run()
    at.switch_page("app_pages/mon_territoire.py")
    at.query_params["niveau"] = "epci"
    at.query_params["code"] = "200000001"
    at.run()
    assert not at.exception
    figures = at.dataframe[0].value
    assert list(figures.columns) == ["Indicateur", "Valeur", "Rang",
                                     "Évolution depuis le trimestre précédent"]
    row = figures.set_index("Indicateur").loc["Structures de l'ESS actives"]
    # EPCI 200000001 holds 4 communes x 3 structures; T4 adds one in 21101 (the closure of
    # T4 is in commune 21204, EPCI 200000002), hence 13, and +1 since T3.
    assert row["Valeur"] == "13"
    assert row["Évolution depuis le trimestre précédent"] == "+1"
    assert row["Rang"] == "1er sur 2"  # peers: the 2 EPCI of département 21 (13 vs 11)


def test_zones_blanches_slider_and_family(synthetic_app):
    at = _open("zones_blanches")
    at.selectbox(key="dep_zb").select("71").run()
    assert not at.exception
    # département 71 has no structure: all its 8 communes are farther than 2 km
    at.slider(key="km_zb").set_value(2).run()
    assert not at.exception
    assert any(s.value.startswith("8 communes en zone blanche à plus de 2 km")
               for s in at.subheader), [s.value for s in at.subheader]
    summary = at.dataframe[0].value.set_index("Type de structure")
    # No structure of any kind in 71: every kind gives the same single zone of 8 communes.
    assert summary.loc["Toutes les structures de l'ESS", "Zones blanches"] == "1"
    assert set(summary["Communes concernées"]) == {"8"}
    zones = at.dataframe[1].value
    assert list(zones["Nombre de communes"]) == ["8"]  # one block of 8 adjacent communes
    at.selectbox(key="famille_zb").select("fondation").run()
    assert not at.exception


def test_annuaire_filters_and_exports(synthetic_app):
    at = _open("annuaire")
    at.text_input(key="q_annuaire").input("structure demo 01").run()
    assert not at.exception
    heading = at.subheader[0].value
    assert heading.endswith("structures trouvées")
    labels = [b.label for b in at.get("download_button")]
    assert {"Télécharger en CSV", "Télécharger en XLSX", "Télécharger en GeoJSON"} <= set(labels)
    at.multiselect(key="familles_annuaire").select("cooperative").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert set(table["Famille"]) == {"Coopérative"}


def test_qualite_diff_level_change(synthetic_app):
    at = _open("qualite")
    at.selectbox(key="niveau_diff").select("commune").run()
    assert not at.exception
    diff = at.dataframe[1].value
    assert "Nouvelles" in diff.columns and "Déplacées" in diff.columns


def test_methode_lists_indicators_and_licences(synthetic_app):
    at = _open("methode")
    definitions = at.dataframe[0].value
    assert "Structures pour 10 000 habitants" in set(definitions["Indicateur"])
    text = _texts(at)
    assert "Licence Ouverte / Etalab 2.0" in text
    assert "INSEE" in text and "IGN" in text and "ESS France" in text
    assert "Benjamini-Hochberg" in text  # the hot-spot method (indicators.hotspots.METHOD_FR)
