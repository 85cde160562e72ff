"""AppTest of every page on the synthetic world (tests/app/app_synthetic.py).

The page loaders are patched to answer from in-memory frames; indicators, maps and tables run
for real.  These tests need no file and no network.  Expected values are derived by hand
from the world's description (3 structures per commune of département 21, none in 71).
"""

from __future__ import annotations

import pytest
from app_synthetic import PAGES, REPO
from streamlit.testing.v1 import AppTest

from observatory.wording import REAL_DATA_COMMAND

URLS = {"comparer": "comparer.py", "mon_territoire": "mon_territoire.py",
        "zones_blanches": "zones_blanches.py", "annuaire": "annuaire.py",
        "qualite": "qualite.py", "methode": "methode.py"}


def _open(page: str, **query) -> AppTest:
    """The app opened on ``page`` with the address ``?query`` (as a link would)."""
    at = AppTest.from_file(str(REPO / "navigation.py"), default_timeout=120).run()
    at.query_params.clear()  # a page change starts from its own address
    for key, value in query.items():
        at.query_params[key] = value
    at.switch_page(f"app_pages/{URLS[page]}").run()
    return at


def _texts(at: AppTest) -> str:
    parts = [e.value for e in at.markdown] + [e.value for e in at.caption]
    parts += [e.value for e in at.subheader] + [e.value for e in at.header]
    parts += [e.value for e in at.warning] + [e.value for e in at.info]
    parts += [e.value for e in at.error] + [e.value for e in at.success]
    return "\n".join(str(p) for p in parts)


@pytest.mark.parametrize("page", list(PAGES))
def test_page_renders_in_french_with_its_perimeter(synthetic_app, page):
    at = _open(page)
    assert not at.exception, [e.value for e in at.exception]
    assert [t.value for t in at.title] == [PAGES[page]]
    assert not at.error, [e.value for e in at.error]
    text = _texts(at)
    # every page says which perimeter it shows, and that the data are a demonstration
    assert "Périmètre : **Économie sociale et solidaire**" in text
    assert "Données fictives de démonstration" in text
    # the command that loads real data is for staff: not in the élus' banner
    assert not any(REAL_DATA_COMMAND.split(",")[0] in w.value for w in at.warning)
    assert at.query_params["serie"] == "ess"


def test_the_real_data_command_is_on_the_staff_and_method_pages(synthetic_app):
    for page in ("qualite", "methode"):
        codes = [c.value for c in _open(page).code]
        assert any("python -m observatory refresh --sirene-dir" in c for c in codes), page


def test_root_address_opens_comparer_with_its_view(synthetic_app):
    at = AppTest.from_file(str(REPO / "navigation.py"), default_timeout=120)
    at.query_params["vue"] = "communes_dep"
    at.query_params["parent"] = "71"
    at.run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Comparer les territoires"]
    assert at.selectbox(key="comparer.vue").value == "communes_dep"
    assert at.selectbox(key="comparer.parent").value == "71"


def test_comparer_widgets_and_rerender(synthetic_app):
    at = _open("comparer")
    labels = [s.label for s in at.selectbox]
    assert labels[:3] == ["Territoires à comparer", "Département de référence", "Indicateur"]
    assert at.query_params["indicateur"] == "structures_per_10k"
    at.selectbox(key="comparer.indicateur").select("structures").run()
    assert not at.exception and at.query_params["indicateur"] == "structures"
    at.radio(key="comparer.classification").set_value("jenks").run()
    assert not at.exception and at.query_params["classification"] == "jenks"
    at.radio(key="comparer.classification").set_value("manuel").run()
    # manual mode: no class slider (it would do nothing), thresholds = current breaks
    assert not [s for s in at.slider if s.key == "comparer.classes"]
    assert "classes" not in at.query_params
    assert at.text_input(key="comparer.seuils").value  # the current quantile breaks
    at.text_input(key="comparer.seuils").input("abc").run()
    assert at.error and "n’est pas un nombre" in at.error[0].value  # French, no crash
    at.text_input(key="comparer.seuils").input("20 ; 10,5").run()
    assert not at.exception and not at.error
    assert at.query_params["seuils"] == "20 ; 10,5"


def test_ranking_sorts_numbers_and_comparison_has_references(synthetic_app):
    """EPCI of 21: 200000001 has 12 structures for 100+200+500+600 = 1 400 inhabitants,
    200000002 has 12 for 300+400+700+800 = 2 200 (T4 adds one in 21101 and closes one in
    21204: 13 and 11).  References: Côte-d'Or, Bourgogne-Franche-Comté and France (the
    world's région 27 is all of the world's France), each entirely covered."""
    at = _open("comparer", vue="epci", parent="21", indicateur="structures")
    ranking = at.dataframe[0].value
    assert ranking["Structures de l'ESS actives"].tolist() == [13, 11]  # numbers, not text
    assert ranking["Rang"].tolist() == [1, 2]
    wide = at.dataframe[1].value
    assert list(wide.columns[-3:]) == ["Côte-d'Or (département)",
                                       "Bourgogne-Franche-Comté (région)", "France"]
    row = wide.set_index("Indicateur").loc["Structures de l'ESS actives"]
    assert row["Côte-d'Or (département)"] == 24 == row["France"]
    # « pour 10 000 hab. » is not written twice
    assert "Structures pour 10 000 habitants" in set(wide["Indicateur"])


def test_comparer_permalink_opens_the_same_view(synthetic_app):
    view = {"vue": "communes_epci", "parent": "200000002", "indicateur": "structures",
            "classification": "jenks", "classes": "4", "territoires": "21201,21204",
            "mesure": "relative"}
    at = _open("comparer", **view)
    assert not at.exception and not at.warning[1:], [w.value for w in at.warning]
    assert at.selectbox(key="comparer.vue").value == "communes_epci"
    assert at.selectbox(key="comparer.parent").value == "200000002"
    assert at.radio(key="comparer.classification").value == "jenks"
    assert at.slider(key="comparer.classes").value == 4
    assert at.multiselect(key="comparer.territoires").value == ["21201", "21204"]
    assert at.radio(key="comparer.mesure").value == "relative"
    for key, value in view.items():
        assert at.query_params[key] == value


def test_invalid_and_unknown_parameters_get_a_french_notice(synthetic_app):
    at = _open("comparer", vue="zz", classes="99", foo="bar")
    assert not at.exception
    notices = " ".join(w.value for w in at.warning)
    assert "Le paramètre « foo » de l'adresse n'est pas reconnu" in notices
    assert "La vue « zz » n'existe pas ici. La page affiche à la place : EPCI d'un " \
           "département." in notices
    assert "Le nombre de classes « 99 » sort des valeurs possibles (3 à 7)" in notices
    assert at.slider(key="comparer.classes").value == 5
    assert "foo" not in at.query_params and at.query_params["vue"] == "epci"


def test_zones_blanches_survives_km_superscript_two(synthetic_app):
    """/zones-blanches?km=² crashed ('²'.isdigit() is True)."""
    at = _open("zones_blanches", km="²")
    assert not at.exception
    assert "La distance « ² » n'est pas un nombre entier." in " ".join(
        w.value for w in at.warning)
    assert at.slider(key="zones_blanches.km").value == 10
    assert at.query_params["km"] == "10"


def test_zones_blanches_kind_distance_and_consistent_distances(synthetic_app):
    """Département 71 has no structure: its 8 communes are farther than 2 km from every
    kind, one block of 8 adjacent communes; the nearest structure listed is at the zone's
    minimum distance."""
    at = _open("zones_blanches", code="71", km="2", type="toutes", par_type="1")
    assert not at.exception
    assert any(s.value.startswith("8 communes en zone blanche (1 zone) à plus de 2 km")
               for s in at.subheader), [s.value for s in at.subheader]
    summary = at.dataframe[0].value.set_index("Type de structure")
    assert summary.loc["Toutes les structures de l'ESS", "Zones blanches"] == 1
    assert set(summary["Communes concernées"]) == {8}
    zones = at.dataframe[1].value
    assert zones["Nombre de communes (zone entière)"].tolist() == [8]
    nearest = zones["Structures les plus proches (distance au centre de la commune la plus "
                    "proche de la zone)"].iloc[0]
    first_km = nearest.split(" à ")[1].split(" km")[0]
    assert first_km == f"{zones['Distance minimale (km)'].iloc[0]:.1f}".replace(".", ",")
    labels = [b.label for b in at.get("download_button")]
    assert "Télécharger en CSV" in labels


def test_zones_blanches_table_of_communes_on_demand(synthetic_app):
    """The table of every commune of the département is built only when asked for (the
    same 8 blanche communes of 71 at 2 km as above), and the choice is in the address."""
    at = _open("zones_blanches", code="71", km="2", type="toutes")
    assert not at.exception
    assert len(at.dataframe) == 1  # the zones only
    at.checkbox(key="zones_blanches.communes").check().run()
    communes = at.dataframe[-1].value
    assert (communes["Zone blanche"] == "Oui").sum() == 8
    assert communes.loc[communes["Zone blanche"] == "Oui", "Zone"].nunique() == 1
    assert at.query_params["communes"] == "1"


def test_zones_blanches_opens_on_a_view_that_shows_zones(synthetic_app):
    """First visit: the rarest kind near the département that has zones blanches at 10 km
    (the map is never empty when some kind has zones)."""
    at = _open("zones_blanches", code="21")
    heading = at.subheader[0].value
    assert not heading.startswith("0 commune"), heading
    assert at.query_params["type"] != "toutes"
    assert "par_type" in at.query_params and at.query_params["par_type"] == "0"
    zones = at.dataframe[0].value
    assert len(zones) >= 1


def test_mon_territoire_search_ignores_accents_and_case(synthetic_app):
    at = _open("mon_territoire")
    at.text_input(key="mon_territoire.q").input("SAINT etienne").run()
    assert not at.exception
    assert at.selectbox(key="mon_territoire.choix").value == "commune|21104"
    assert at.query_params["code"] == "21104" and at.query_params["q"] == "SAINT etienne"
    assert any("Saint-Étienne (commune, 21104)" in h.value for h in at.header)
    assert "Structures actives" in [m.label for m in at.metric]
    assert any(b.label == "Télécharger la fiche territoire (PDF)"
               for b in at.get("download_button"))


def test_mon_territoire_key_figures_are_numbers(synthetic_app):
    at = _open("mon_territoire", niveau="epci", code="200000001")
    assert not at.exception
    figures = at.dataframe[0].value.set_index("Indicateur")
    # 4 communes x 3 structures, + 1 new in 21101 in T4: 13, +1 since T3; 1st of 2 EPCI
    assert figures.loc["Structures de l'ESS actives", "Valeur"] == 13
    assert figures.loc["Structures de l'ESS actives", "Rang"] == "1er sur 2"
    change = [c for c in figures.columns if c.startswith("Évolution")][0]
    assert figures.loc["Structures de l'ESS actives", change] == 1
    metric = next(m for m in at.metric if m.label == "Structures actives")
    assert metric.value == "13" and metric.delta == "+1"


def test_mon_territoire_table_of_structures_on_demand(synthetic_app):
    """The EPCI 200000001 holds 13 active structures (see the key figures above): their table
    is built and sent only when asked for, and the choice is in the address; the downloads
    are offered either way."""
    at = _open("mon_territoire", niveau="epci", code="200000001")
    assert not at.exception
    assert not any("Nom" in d.value.columns for d in at.dataframe)
    assert "Télécharger en CSV" in [b.label for b in at.get("download_button")]
    at.checkbox(key="mon_territoire.tableau").check().run()
    table = next(d.value for d in at.dataframe if "Nom" in d.value.columns)
    assert len(table) == 13
    assert at.query_params["tableau"] == "1"


def test_mon_territoire_charts_have_their_tables(synthetic_app):
    at = _open("mon_territoire", niveau="departement", code="21", courbe="structures_per_10k")
    assert not at.exception
    charts = at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")
    assert len(charts) == 3  # change over the quarters, split by family, by sector
    assert [e.label for e in at.expander].count("Voir le tableau") == 3


def test_annuaire_filters_are_exact_and_in_the_url(synthetic_app):
    at = _open("annuaire")
    at.text_input(key="annuaire.q").input("structure demo 01").run()
    assert not at.exception
    assert at.subheader[0].value.endswith("structures trouvées")
    at.button_group(key="annuaire.types").set_value(["cooperative"]).run()
    assert not at.exception
    table = at.dataframe[0].value
    assert set(table["Famille de l'ESS"]) == {"Coopérative"}
    assert at.query_params["types"] == "cooperative"
    assert {"Télécharger en CSV", "Télécharger en XLSX", "Télécharger en GeoJSON"} <= {
        b.label for b in at.get("download_button")}


def test_qualite_change_table_adds_up(synthetic_app):
    at = _open("qualite", niveau="commune")
    assert not at.exception
    table = next(d.value for d in at.dataframe if "Nouvelles" in d.value.columns)
    before = [c for c in table.columns if c.startswith("Actives (3e")][0]
    after = [c for c in table.columns if c.startswith("Actives (4e")][0]
    total = (table[before] + table["Nouvelles"] - table["Fermées"] + table["Arrivées"]
             - table["Départs"])
    assert (total == table[after]).all()
    assert (table["Variation nette"] == table[after] - table[before]).all()
    # T4: one new structure in 21101, one closed in 21204; only those communes are listed
    rows = table.set_index("Code")
    assert sorted(rows.index) == ["21101", "21204"]
    assert rows.at["21101", "Nouvelles"] == 1 and rows.at["21204", "Fermées"] == 1
    assert rows.at["21204", "Variation nette"] == -1
    assert "Le tableau s'additionne" in _texts(at)


def test_qualite_open_locally_with_notice_and_masked_rows(synthetic_app):
    at = _open("qualite")
    assert any("Accès non restreint" in i.value for i in at.info)
    raw = next(d.value for d in at.dataframe if "Ligne brute" in d.value.columns)
    assert len(raw) == 1
    reasons = next(d.value for d in at.dataframe
                   if {"Raison", "Code", "Lignes"} <= set(d.value.columns))
    # the one reject of the synthetic world: « hors_commune: point en mer <b> »
    assert reasons["Raison"].tolist() == ["Point hors de toute commune"]
    assert reasons["Code"].tolist() == ["hors_commune"]
    assert raw["Raison"].iloc[0] == reasons["Raison"].iloc[0]


def test_methode_documents_small_numbers_and_perimeters(synthetic_app):
    at = _open("methode")
    definitions = at.dataframe[0].value
    assert "Structures pour 10 000 habitants" in set(definitions["Indicateur"])
    text = _texts(at)
    assert "moins de\n1\u00a0000 habitants" in text or "moins de 1\u00a0000 habitants" in text
    assert "Licence Ouverte / Etalab 2.0" in text
    assert "INSEE" in text and "IGN" in text and "ESS France" in text
    assert "Benjamini-Hochberg" in text  # the hot-spot method (indicators.hotspots.METHOD_FR)
    assert "Insertion par l'activité économique et travail protégé" in text
