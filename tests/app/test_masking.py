"""Raw rejected rows never show personal fields outside the staff view."""

import json

import pandas as pd

from app_pages import tables

ROW = {"siret": "12345678900012", "nomUniteLegale": "DUPONT", "prenom1UniteLegale": "Jean",
       "Téléphone": "03 80 12 34 56", "Courriel": "jean.dupont@exemple.fr",
       "denominationUniteLegale": "Association des amis", "Adresse": "1 rue, tél. 0380123456",
       "contact": {"nom": "Martin", "mail": "m@x.fr"}, "codePostal": "21000"}


def test_personal_fields_and_values_are_masked():
    rejects = pd.DataFrame({"source": ["actors"], "ligne": [3], "siret": ["12345678900012"],
                            "raison": ["email_invalide: jean.dupont@exemple.fr"],
                            "donnees": [json.dumps(ROW, ensure_ascii=False)]})
    out = tables.mask_personal(rejects)
    row = json.loads(out.at[0, "donnees"])
    for key in ("nomUniteLegale", "prenom1UniteLegale", "Téléphone", "Courriel", "contact"):
        assert row[key] == tables.MASKED, key
    assert row["Adresse"] == f"1 rue, tél. {tables.MASKED}"  # a phone inside a value
    assert row["denominationUniteLegale"] == "Association des amis"  # a legal name stays
    assert row["codePostal"] == "21000" and row["siret"] == "12345678900012"
    assert out.at[0, "raison"] == f"email_invalide: {tables.MASKED}"
    assert "jean" not in out.to_string().lower() and "dupont" not in out.to_string().lower()
    assert rejects.at[0, "donnees"] == json.dumps(ROW, ensure_ascii=False)  # input untouched


def test_rows_that_are_not_json_are_masked_as_text():
    rejects = pd.DataFrame({"raison": ["x"], "donnees": ["Jean;06 12 34 56 78;j@x.fr"]})
    assert tables.mask_personal(rejects).at[0, "donnees"] == (
        f"Jean;{tables.MASKED};{tables.MASKED}")
