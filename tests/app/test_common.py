"""Helpers of the pages outside a script run (synthetic world)."""

import io

import pytest

from app_pages import loaders, logic, portrait, territoires


def test_no_tiles_offline(monkeypatch):
    monkeypatch.setenv("OBSERVATOIRE_OFFLINE", "1")
    assert loaders.tiles() is None


def test_series_default_to_ess_when_manifests_have_none(synthetic_app):
    """Until the series store lands, a store without series is the one series `ess`."""
    grouped = loaders.series_quarters()
    assert list(grouped) == ["ess"]
    assert [m["quarter"] for m in grouped["ess"]] == ["2026-T3", "2026-T4"]
    ctx = loaders.data_context("ess")
    assert (ctx.serie, ctx.quarter, ctx.previous) == ("ess", "2026-T4", "2026-T3")


def test_unknown_series_is_said_in_french(synthetic_app):
    with pytest.raises(loaders.DataUnavailableError, match="Aucun instantané"):
        loaders.data_context("insertion")


def test_fiche_pdf_of_an_epci(synthetic_app):
    pypdf = pytest.importorskip("pypdf")
    ctx = loaders.data_context("ess")
    table = loaders.indicator_table("ess", ctx.quarter, "epci")
    from indicators.registry import INDICATORS

    peers = logic.peers_of(ctx.reference, "epci", "200000001")  # the 2 EPCI of 21
    figures = logic.key_figures(table, None, "200000001", peers, INDICATORS)
    data = portrait.fiche_pdf(ctx, "epci", "200000001", figures)()  # built on click
    assert data.startswith(b"%PDF-")
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages)
    assert "Fiche territoire : CC numéro 211" in text
    assert "Données fictives de démonstration" in text
    assert "Économie sociale et solidaire" in text  # the perimeter
    assert "1er sur 2" in text


def test_reference_rows_parent_region_and_france(synthetic_app):
    """Scope "region:27" = the world's every commune: the département, its région and
    France are all entirely covered, hence all references."""
    ctx = loaders.data_context("ess")
    refs, notes = territoires.reference_rows(ctx, "departement", "21")
    assert refs["nom"].tolist() == ["Côte-d'Or (département)",
                                    "Bourgogne-Franche-Comté (région)", "France"]
    assert notes == []
    assert refs["structures"].tolist() == [24, 24, 24]  # all structures are in 21
