"""The perimeter choice: every page shows the chosen series, keeps it in the URL, and the
insertion layer shows its source and vintage and filters by type and public management."""

from __future__ import annotations

from test_pages_synthetic import _open, _texts


def test_the_perimeter_is_chosen_in_the_sidebar_and_kept_in_the_url(two_series_app):
    at = _open("annuaire", serie="insertion")
    assert not at.exception
    radio = at.sidebar.radio[0]
    assert radio.label == "Périmètre" and radio.value == "insertion"
    assert radio.options == ["Économie sociale et solidaire",
                             "Insertion par l'activité économique et travail protégé"]
    text = _texts(at)
    assert "**Données réelles** : siae_inclusion (fiches 2019-2021) ; esat (2026)." in text
    assert "Données fictives" not in text
    assert at.query_params["serie"] == "insertion"


def test_insertion_directory_filters_type_and_public_management(two_series_app):
    """16 structures (8 communes x ACI + ESAT); commune 21101's 2 are public."""
    at = _open("annuaire", serie="insertion")
    assert at.subheader[0].value == "16 structures trouvées"
    at.button_group(key="annuaire.types").set_value(["ESAT"]).run()
    assert at.subheader[0].value == "8 structures trouvées"
    table = at.dataframe[0].value
    assert set(table["Type"]) == {"Établissement et service d'aide par le travail (ESAT)"}
    assert set(table["Places (ESAT)"]) == {40}
    at.radio(key="annuaire.gestion").set_value("hors").run()
    assert at.subheader[0].value == "7 structures trouvées"
    assert at.query_params["gestion"] == "hors" and at.query_params["types"] == "ESAT"


def test_insertion_zones_offer_types_present_only(two_series_app):
    at = _open("zones_blanches", serie="insertion", code="21", km="5")
    assert not at.exception
    options = at.selectbox(key="zones_blanches.type").options
    assert options == ["Toutes les structures du périmètre",
                       "Atelier et chantier d'insertion (ACI)",
                       "Établissement et service d'aide par le travail (ESAT)"]


def test_switching_perimeter_keeps_the_page(two_series_app):
    at = _open("comparer")
    assert at.query_params["serie"] == "ess"
    at.sidebar.radio[0].set_value("insertion").run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Comparer les territoires"]
    assert "Insertion par l'activité économique et travail protégé" in _texts(at)
    ranking = at.dataframe[0].value
    assert ranking["Structures"].sum() == 16  # the 16 insertion structures of département 21


def test_an_unknown_perimeter_falls_back_with_a_notice(two_series_app):
    at = _open("methode", serie="inconnue")
    assert not at.exception
    assert "Le périmètre « inconnue » n'existe pas ici." in " ".join(
        w.value for w in at.warning)
    assert at.query_params["serie"] == "ess"
