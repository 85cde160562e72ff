"""Helpers of app_pages.common/loaders outside a script run (synthetic world)."""

import pytest

from app_pages import common, loaders


def test_parse_thresholds_french_input():
    assert common.parse_thresholds("5 ; 10,5 ;20") == [5.0, 10.5, 20.0]
    assert common.parse_thresholds("1\u00a0000 ; 2 000") == [1000.0, 2000.0]
    assert common.parse_thresholds("abc") == []


def test_no_tiles_offline(monkeypatch):
    monkeypatch.setenv("OBSERVATOIRE_OFFLINE", "1")
    assert loaders.tiles() is None


def test_fiche_pdf_of_an_epci(synthetic_app):
    pypdf = pytest.importorskip("pypdf")
    import io

    ctx = loaders.data_context()
    build = common.fiche_pdf(ctx, "epci", "200000001")
    data = build()  # generated only when the user clicks
    assert data.startswith(b"%PDF-")
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages)
    assert "Fiche territoire : CC numéro 211" in text
    assert "Données fictives de démonstration" in text
    assert "1er sur 2" in text


def test_reference_rows_and_comparison_table(synthetic_app):
    ctx = loaders.data_context()
    refs = common.reference_rows(ctx, "departement", "21")
    # scope "region:27": the département and its région are both references
    assert list(refs.index) == ["21", "27"]
    assert refs["nom"].tolist() == ["Référence : Côte-d'Or",
                                    "Référence : Bourgogne-Franche-Comté"]
    wide = common.comparison_table(refs, ["structures", "structures_per_10k"])
    assert wide.columns.tolist() == ["Indicateur", "Référence : Côte-d'Or (21)",
                                     "Référence : Bourgogne-Franche-Comté (27)"]
    assert wide.iloc[0, 1] == wide.iloc[0, 2]  # all structures are in 21
