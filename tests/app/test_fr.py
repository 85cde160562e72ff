"""French formatting: numbers, percentages, dates, labels, accent-blind search keys."""

import datetime as dt
import math

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from render import fr

NB = fr.NBSP


@pytest.mark.parametrize(("value", "dec", "expected"), [
    (1234.5, 1, f"1{NB}234,5"),
    (1234567, 0, f"1{NB}234{NB}567"),
    (0.05, 2, "0,05"),
    (-1234.56, 1, f"-1{NB}234,6"),
    (-0.01, 1, "0,0"),
    (999, 0, "999"),
])
def test_nombre(value, dec, expected):
    assert fr.nombre(value, dec) == expected


@pytest.mark.parametrize("missing", [None, float("nan"), pd.NA, pd.NaT])
def test_missing_values_show_a_dash(missing):
    assert fr.nombre(missing) == "–"
    assert fr.pourcentage(missing) == "–"
    assert fr.date_fr(missing) == "–"


def test_infinite_is_not_a_crash():
    assert fr.nombre(math.inf) == "∞"


def test_pourcentage_ratio_and_percent():
    assert fr.pourcentage(0.123) == f"12,3{NB}%"
    assert fr.pourcentage(12.3, ratio=False) == f"12,3{NB}%"
    assert fr.pourcentage(1, 0) == f"100{NB}%"


def test_variation_signs():
    assert fr.variation(12) == "+12"
    assert fr.variation(-3.25, 1) == "\u22123,2" or fr.variation(-3.25, 1) == "\u22123,3"
    assert fr.variation(0) == "0"


def test_dates():
    assert fr.date_fr(dt.date(2026, 11, 23)) == "23/11/2026"
    assert fr.date_fr("2026-01-05T10:00:00") == "05/01/2026"
    assert fr.date_longue(pd.Timestamp("2026-08-01")) == "1er août 2026"
    assert fr.mois_annee(dt.datetime(2026, 2, 3)) == "février 2026"
    assert fr.trimestre_fr("2026-T4") == "4e trimestre 2026"
    assert fr.trimestre_fr("2026-T1") == "1er trimestre 2026"


def test_normaliser_ignores_accents_case_punctuation():
    assert fr.normaliser("Côte-d'Or") == fr.normaliser("cote d or") == "cote d or"
    assert fr.normaliser("SAINT-ÉTIENNE") == "saint etienne"
    assert fr.normaliser(None) == ""


def test_labels():
    assert fr.libelle_famille("cooperative") == "Coopérative"
    assert fr.libelle_precision("centroide_commune").startswith("Approximation")
    assert fr.libelle_famille("inconnue") == "inconnue"


#: Latin letters with their accents, digits, punctuation, spaces and the combining accents
#: (U+0300–U+036F except U+034F, the grapheme joiner, which is not an accent).
_LATIN_TEXT = st.text(st.characters(
    min_codepoint=0x20, max_codepoint=0x36F, exclude_characters="\u034f",
    exclude_categories=("Cc", "Cs")) | st.sampled_from("œŒæÆ\u00a0\u2019–’²"),
    max_size=30)


@given(st.lists(st.tuples(_LATIN_TEXT | st.none(), _LATIN_TEXT | st.none()), min_size=1,
                max_size=20))
def test_normaliser_colonnes_is_normaliser_of_each_row(rows):
    """The vectorised form gives, row by row, exactly normaliser(a + " " + b)."""
    frame = pd.DataFrame(rows, columns=["nom", "adresse"], dtype="string")
    got = fr.normaliser_colonnes(frame, ["nom", "adresse", "absente"]).tolist()
    expected = [fr.normaliser(f"{a or ''} {b or ''}") for a, b in rows]
    assert got == expected


def test_normaliser_colonnes_examples():
    frame = pd.DataFrame({"nom": ["Œuvre de l'Île-de-France", None],
                          "adresse": ["  12, rue Côte-d'Or ", "ÉCOLE"]})
    assert fr.normaliser_colonnes(frame, ["nom", "adresse"]).tolist() == [
        "oeuvre de l ile de france 12 rue cote d or", "ecole"]


@pytest.mark.parametrize(("label", "unit", "expected"), [
    ("Structures pour 10 000 habitants", "pour 10 000 hab.", "Structures pour 10 000 habitants"),
    ("Part de la population couverte", "%", "Part de la population couverte (%)"),
    ("Structures de l'ESS actives", "", "Structures de l'ESS actives"),
    ("Structures pour 100 km²", "pour 100 km²", "Structures pour 100 km²"),
])
def test_unit_is_never_written_twice(label, unit, expected):
    assert fr.avec_unite(label, unit) == expected


@pytest.mark.parametrize(("n", "noun", "expected"), [
    (19, "EPCI", "19 EPCI"), (1, "EPCI", "1 EPCI"), (12, "ESAT", "12 ESAT"),
    (3, "pays", "3 pays"), (2, "commune", "2 communes"), (0, "département", "0 département"),
])
def test_counted_nouns_plural(n, noun, expected):
    assert fr.compte(n, noun) == expected


def test_reasons_of_rejection_read_in_french():
    assert fr.libelle_raison("siret_invalide: 0000043820003 (14 chiffres)") == "SIRET invalide"
    assert fr.libelle_raison("commune_inconnue") == "Commune introuvable"
    assert fr.libelle_raison("motif_nouveau: x") == "motif_nouveau"  # unknown: its code
    assert fr.libelle_raison(None) == fr.libelle_precision(None)  # the same « missing » text
