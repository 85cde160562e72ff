"""A territory outside the snapshot's coverage is never replaced silently by another.

World: snapshots covering département 21 only; département 71 is outside the coverage and
région 27 is covered in part (3 600 of its 13 600 inhabitants, see test_coverage.py).
"""

from __future__ import annotations

from test_pages_synthetic import _open, _texts


def test_a_link_to_an_uncovered_territory_says_so(synthetic_app_dep21):
    at = _open("comparer", vue="epci", parent="71")
    assert not at.exception
    notices = " ".join(w.value for w in at.warning)
    assert "ne couvre pas Saône-et-Loire (département 71)" in notices
    assert "il couvre le département Côte-d'Or (21)" in notices
    assert "La page affiche à la place : Côte-d'Or (21)" in notices
    assert at.selectbox(key="comparer.parent").value == "21"
    # the choice offers covered territories only
    assert at.selectbox(key="comparer.parent").options == ["Côte-d'Or (21)"]


def test_an_unknown_code_is_named(synthetic_app_dep21):
    at = _open("comparer", vue="departements", parent="28")
    assert "Le code « 28 » ne correspond à aucun territoire de niveau région." in " ".join(
        w.value for w in at.warning)


def test_a_region_covered_in_part_is_labelled_and_never_a_reference(synthetic_app_dep21):
    at = _open("comparer", vue="departements", parent="27", territoires="21")
    assert not at.exception
    text = _texts(at)
    assert "Couverture partielle : les chiffres de Bourgogne-Franche-Comté (région 27)" in text
    assert "26,5\u00a0%" in text
    assert at.selectbox(key="comparer.parent").options == [
        "Bourgogne-Franche-Comté (27) — couverture partielle"]
    at = _open("comparer", vue="epci", parent="21")
    wide = at.dataframe[1].value
    assert "Bourgogne-Franche-Comté (région)" not in wide.columns  # its figures = 21's
    assert "France" not in wide.columns
    assert "L'instantané ne couvre qu'une partie de Bourgogne-Franche-Comté (région)" in \
        _texts(at)


def test_mon_territoire_uncovered_territory_offers_covered_ones(synthetic_app_dep21):
    at = _open("mon_territoire", niveau="departement", code="71")
    assert not at.exception
    assert "ne couvre pas Saône-et-Loire (département 71)" in at.error[0].value
    assert not at.header  # no figures of another territory
    offers = [b.label for b in at.button]
    assert "Voir Côte-d'Or (département 21)" in offers
    next(b for b in at.button if b.label == "Voir Côte-d'Or (département 21)").click().run()
    assert any("Côte-d'Or (département, 21)" in h.value for h in at.header)
    assert at.query_params["code"] == "21"


def test_mon_territoire_search_finds_uncovered_territories(synthetic_app_dep21):
    at = _open("mon_territoire")
    at.text_input(key="mon_territoire.q").input("71101").run()
    choice = at.selectbox(key="mon_territoire.choix")
    assert choice.value == "commune|71101"
    assert choice.format_func(choice.value).endswith("— hors de l'instantané")
    assert at.error and "ne couvre pas Commune 71101 (commune 71101)" in at.error[0].value


def test_mon_territoire_partial_region_is_labelled(synthetic_app_dep21):
    at = _open("mon_territoire", niveau="region", code="27")
    assert not at.exception
    assert any("Couverture partielle" in w.value for w in at.warning)
    figures = at.dataframe[0].value.set_index("Indicateur")
    assert figures.loc["Structures de l'ESS actives", "Valeur"] == 24
