"""ESS family from the legal form, labels and NAF sections."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from etl.families import (
    COOPERATIVE_CODES,
    families_of,
    family_confidence,
    family_of,
    legal_form_label,
    legal_form_labels,
    naf_sections,
)
from observatory.vocabulary import NAF_SECTION_LABELS, naf_section


@pytest.mark.parametrize(("code", "family"), [
    ("9220", "association"), ("9260", "association"), ("5195", "association"),
    ("9224", "association"), ("9300", "fondation"), ("8210", "mutuelle"),
    ("6411", "mutuelle"), ("6595", "mutuelle"), ("5458", "cooperative"),
    ("5560", "cooperative"), ("6316", "cooperative"), ("5192", "cooperative"),
    ("5710", "societe_commerciale_ess"), ("5499", "societe_commerciale_ess"),
    ("5202", "societe_commerciale_ess"), ("7210", "autre"), ("6540", "autre"),
    ("1000", "autre"), (None, "autre"), ("9220.0", "association"), (9220, "association"),
])
def test_family_of(code, family):
    assert family_of(code) == family


def test_confidence_levels():
    assert family_confidence("9220") == "high"
    assert family_confidence("9240") == "check"
    assert family_confidence("5194") == "medium"
    assert family_confidence("5632") == "check"
    assert family_confidence("5710") is None


def test_every_cooperative_code_is_a_company_or_civil_form():
    # Cooperatives live in levels 51-56 (companies) and 63/65 (agricultural, civil).
    assert {c[:2] for c in COOPERATIVE_CODES} <= {"51", "52", "53", "54", "55", "56", "63", "65"}


def test_families_vectorised_matches_scalar():
    codes = pd.Series(["9220", None, "5710", "8290", "9220"], dtype="string")
    assert families_of(codes).tolist() == [family_of(c) for c in codes.tolist()]


def test_labels_level_three_then_level_two():
    assert legal_form_label("9220") == "Association déclarée"
    assert legal_form_label("5710") == "SAS, société par actions simplifiée"
    # 7346 is not in the compact table: its level II label is used.
    assert legal_form_label("7346") == "Établissement public administratif"
    assert legal_form_label(None) is None
    out = legal_form_labels(pd.Series(["9300", "0000", None], dtype="string"))
    assert out.iloc[0] == "Fondation" and out.iloc[1].startswith("Organisme de placement")
    assert pd.isna(out.iloc[2])


@pytest.mark.parametrize(("naf", "section"), [
    ("01.11Z", "A"), ("05.10Z", "B"), ("33.20A", "C"), ("35.11Z", "D"), ("38.11Z", "E"),
    ("43.99C", "F"), ("47.11A", "G"), ("53.10Z", "H"), ("56.10A", "I"), ("62.01Z", "J"),
    ("64.19Z", "K"), ("68.20B", "L"), ("75.00Z", "M"), ("82.99Z", "N"), ("84.11Z", "O"),
    ("85.59A", "P"), ("88.99B", "Q"), ("93.12Z", "R"), ("94.99Z", "S"), ("97.00Z", "T"),
    ("99.00Z", "U"), ("04.00Z", None), ("", None), (None, None),
])
def test_naf_section(naf, section):
    assert naf_section(naf) == section


def test_naf_sections_vectorised_with_labels():
    out = naf_sections(pd.Series(["88.99B", "xx", None], dtype="string"))
    assert out["naf_section"].tolist()[0] == "Q"
    assert out["naf_libelle"].iloc[0] == "Santé humaine et action sociale"
    assert out["naf_section"].isna().tolist() == [False, True, True]
    assert len(NAF_SECTION_LABELS) == 21


# ---------------------------------------------------------------- integration (shared data)

def _shared_mapping(shared_data) -> pd.DataFrame:
    path = shared_data / "reference" / "categories_juridiques_familles_ess.csv"
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.mark.integration
def test_high_confidence_codes_of_shared_mapping_agree(shared_data):
    mapping = _shared_mapping(shared_data)
    high = mapping[mapping["confiance"] == "high"]
    assert len(high) > 40
    wrong = [(c, f, family_of(c)) for c, f in zip(high["code"], high["famille_ess_statutaire"],
                                                  strict=True) if family_of(c) != f]
    assert wrong == []


@pytest.mark.integration
def test_every_statutory_code_of_shared_mapping_has_a_family(shared_data):
    mapping = _shared_mapping(shared_data)
    statutory = mapping[mapping["famille_ess_statutaire"] != ""]
    ours = [family_of(c) for c in statutory["code"]]
    assert ours == statutory["famille_ess_statutaire"].tolist()
    # and no code outside the mapping gets a statutory family from us
    others = mapping[mapping["famille_ess_statutaire"] == ""]["code"]
    assert {family_of(c) for c in others} <= {"societe_commerciale_ess", "autre"}


@pytest.mark.integration
def test_labels_agree_with_official_label_table(shared_data):
    labels = json.loads((shared_data / "reference" / "annuaire_labels_natures-juridiques.json")
                        .read_text(encoding="utf-8"))
    norm = {k: " ".join(v.replace("&nbsp;", " ").split()) for k, v in labels.items()}
    for code in ("9220", "9300", "8210", "5458", "5710", "5499", "6317"):
        assert " ".join(legal_form_label(code).split()) == norm[code]


@pytest.mark.integration
def test_family_breakdown_of_real_ess_sample(shared_data):
    sample = pd.read_csv(shared_data / "ess" / "sirene_ul_ess_flag_o_numerique.csv",
                         dtype=str, keep_default_na=False)
    assert (sample["economieSocialeSolidaireUniteLegale"] == "O").all()
    mapping = _shared_mapping(shared_data).set_index("code")["famille_ess_statutaire"]
    codes = sample["categorieJuridiqueUniteLegale"]
    statutory = codes.map(mapping).fillna("")
    expected_family = statutory.where(
        statutory != "", codes.str.startswith("5").map({True: "societe_commerciale_ess",
                                                        False: "autre"}))
    expected = expected_family.value_counts().sort_index()
    ours = families_of(codes.astype("string")).value_counts().sort_index()
    ours.index = ours.index.astype(object)
    assert ours.to_dict() == expected.to_dict()
    assert ours["association"] > ours["societe_commerciale_ess"] > 0
