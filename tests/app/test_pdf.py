"""The fiche territoire PDF and its static map."""

import io

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from render import pdf


@pytest.fixture
def inputs():
    territories = gpd.GeoDataFrame(
        {"nom": ["A", "B", "C"], "structures_per_10k": [1.0, 4.0, np.nan]},
        geometry=[box(4 + i * 0.2, 47, 4.2 + i * 0.2, 47.2) for i in range(3)],
        index=pd.Index(["21001", "21002", "21003"], name="code"), crs=4326)
    structures = pd.DataFrame({"latitude": [47.1, 47.15], "longitude": [4.1, 4.5],
                               "nom": ["<script>alert(1)</script>", "Coop"],
                               "famille_ess": ["association", "cooperative"]})
    figures = pd.DataFrame({"Indicateur": ["Structures de l'ESS actives"],
                            "Valeur": ["1\u00a0234"], "Rang": ["2e sur 5"],
                            "Évolution depuis le trimestre précédent": ["+12"]})
    return territories, structures, figures


def _text(data: bytes) -> str:
    """Text of the PDF pages (fpdf2 writes uncompressed-readable font subsets poorly, so
    re-read it with pypdf when available, else skip)."""
    pypdf = pytest.importorskip("pypdf")
    reader = pypdf.PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_static_map_is_a_png(inputs):
    territories, structures, _ = inputs
    png = pdf.static_map_png(territories, structures)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(png) > 5_000


def test_fiche_territoire_pdf(inputs):
    territories, structures, figures = inputs
    data = pdf.fiche_territoire(
        nom="Côte-d'Or", niveau="Département", code="21", figures=figures,
        territoires=territories, structures=structures, source="Source : INSEE, IGN.",
        demo=True, trimestre="2026-T4", comparables="départements de la région",
        underserved=pd.DataFrame({"Code": ["21003"], "Commune": ["C"]}),
        date=pd.Timestamp("2026-11-23"))
    assert data.startswith(b"%PDF-")
    text = _text(data)
    assert "Fiche territoire : Côte-d'Or" in text
    assert "23/11/2026" in text and "4e trimestre 2026" in text
    assert "Données fictives de démonstration" in text
    assert "1 234" in text.replace("\u00a0", " ")
    assert "Licence Ouverte" in text and "Méthode et sources" in text


def test_fiche_without_demo_has_no_banner(inputs):
    territories, structures, figures = inputs
    data = pdf.fiche_territoire(
        nom="X", niveau="Commune", code="21001", figures=figures, territoires=territories,
        structures=None, source="s", demo=False, trimestre="2026-T4")
    assert "Données fictives" not in _text(data)
