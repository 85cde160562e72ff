"""The « fiche territoire » PDF: key figures, a static map, ranks, method note and sources.

Built with fpdf2 and the DejaVu fonts shipped with matplotlib (full Unicode: accents, the
no-break spaces of :mod:`render.fr`, « guillemets »); the map is drawn with matplotlib's
object API (no pyplot, thread-safe under Streamlit).
"""

from __future__ import annotations

import io
from pathlib import Path

import geopandas as gpd
import matplotlib
import pandas as pd
from fpdf import FPDF
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from observatory.wording import DEMO_BANNER
from render import fr, maps

__all__ = ["fiche_territoire", "static_map_png"]

_FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
_BLUE = (0, 0, 145)
_METHOD = (
    "Méthode : établissements actifs des entreprises de l'ESS (indicateur ESS de SIRENE ou "
    "liste d'ESS France), localisés par leurs coordonnées puis rattachés à la commune qui "
    "contient le point. Taux calculés sur la population municipale en vigueur. Les emplois "
    "sont estimés à partir des tranches d'effectif (ordre de grandeur). Rang : position parmi "
    "les territoires comparables (1er = valeur la plus élevée ; pour les distances, la plus "
    "faible)."
)


def static_map_png(territoires: gpd.GeoDataFrame, structures: pd.DataFrame | None = None,
                   column: str = "structures_per_10k",
                   label: str = "Structures pour 10 000 habitants", dpi: int = 150) -> bytes:
    """A PNG map: territories classed in quantiles, structures as family-coloured dots."""
    fig = Figure(figsize=(7.0, 5.2), dpi=dpi)
    ax = fig.add_subplot()
    ax.set_axis_off()
    handles = []
    if len(territoires):
        cls = maps.classify(territoires[column], "quantiles", 5)
        colours = [cls.colours[c] if c >= 0 else maps.MISSING_COLOUR for c in cls.classes]
        territoires.plot(ax=ax, color=colours, edgecolor="#666666", linewidth=0.3)
        handles += [Patch(facecolor=c, edgecolor="#666666", label=lab)
                    for c, lab in zip(cls.colours, cls.labels, strict=True)]
    if structures is not None and len(structures):
        pts = structures.dropna(subset=["longitude", "latitude"])
        for fam, (colour, letter) in maps.FAMILY_STYLE.items():
            sel = pts[pts["famille_ess"] == fam]
            if len(sel):
                ax.scatter(sel["longitude"], sel["latitude"], s=6, c=colour, linewidths=0.2,
                           edgecolors="white", zorder=3)
                handles.append(Line2D([], [], marker="o", linestyle="", color=colour,
                                      label=f"{letter} {fr.libelle_famille(fam)}"))
    if len(territoires):
        minx, miny, maxx, maxy = territoires.total_bounds
        ax.set_xlim(minx, maxx)
        ax.set_ylim(miny, maxy)
    ax.set_aspect(1 / max(0.2, _cos_lat(territoires)))
    if handles:
        ax.legend(handles=handles, title=label, loc="upper left", bbox_to_anchor=(1.0, 1.0),
                  fontsize=7, title_fontsize=7, frameon=False)
    fig.subplots_adjust(left=0.01, right=0.68, top=0.99, bottom=0.01)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def _cos_lat(gdf: gpd.GeoDataFrame) -> float:
    import math

    if not len(gdf):
        return 1.0
    _, miny, _, maxy = gdf.total_bounds
    return math.cos(math.radians((miny + maxy) / 2))


def _para(pdf: FPDF, height: float, text: str, **kwargs) -> None:
    """A paragraph over the full width, the cursor back at the left margin afterwards."""
    pdf.multi_cell(0, height, text, new_x="LMARGIN", new_y="NEXT", **kwargs)


class _Fiche(FPDF):
    footer_text = ""

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("dejavu", size=7)
        self.set_text_color(90, 90, 90)
        self.cell(0, 5, f"{self.footer_text} — page {self.page_no()}/{{nb}}", align="C")


def _table(pdf: FPDF, frame: pd.DataFrame, widths: list[float] | None = None) -> None:
    pdf.set_font("dejavu", size=8)
    from fpdf.fonts import FontFace

    with pdf.table(col_widths=widths, text_align="LEFT", line_height=5,
                   headings_style=FontFace(emphasis="BOLD", fill_color=(232, 237, 255))) as table:
        head = table.row()
        for col in frame.columns:
            head.cell(str(col))
        for values in frame.astype(str).itertuples(index=False):
            row = table.row()
            for value in values:
                row.cell(value)


def fiche_territoire(*, nom: str, niveau: str, code: str, figures: pd.DataFrame,
                     territoires: gpd.GeoDataFrame, structures: pd.DataFrame | None,
                     source: str, demo: bool, trimestre: str, comparables: str = "",
                     underserved: pd.DataFrame | None = None,
                     date: pd.Timestamp | None = None) -> bytes:
    """Build the PDF sheet of one territory.

    Parameters
    ----------
    nom, niveau, code : str
        Territory name, French level name, code.
    figures : DataFrame
        Key figures already written in French (``Indicateur``, ``Valeur``, ``Rang``,
        change column).
    territoires : GeoDataFrame
        Sub-territories with ``structures_per_10k`` for the static map.
    structures : DataFrame
        Structures of the territory (points on the map).
    source : str
        Source and vintage line.
    demo : bool
        Adds the demonstration warning on every page.
    underserved : DataFrame, optional
        French table of underserved communes (first 15 rows shown).
    """
    pdf = _Fiche(orientation="P", unit="mm", format="A4")
    pdf.add_font("dejavu", "", str(_FONT_DIR / "DejaVuSans.ttf"))
    pdf.add_font("dejavu", "B", str(_FONT_DIR / "DejaVuSans-Bold.ttf"))
    pdf.set_title(f"Fiche territoire — {nom}")
    pdf.set_author("Observatoire territorial de l'ESS")
    pdf.set_lang("fr")
    pdf.footer_text = f"Observatoire de l'ESS — {nom} ({code}) — {fr.trimestre_fr(trimestre)}"
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    pdf.set_font("dejavu", "B", 16)
    pdf.set_text_color(*_BLUE)
    _para(pdf, 8, f"Fiche territoire : {nom}")
    pdf.set_font("dejavu", size=10)
    pdf.set_text_color(0, 0, 0)
    today = fr.date_fr(date if date is not None else pd.Timestamp.now())
    _para(pdf, 5, f"{niveau} {code} — instantané du {fr.trimestre_fr(trimestre)} — "
                         f"édité le {today}")
    if demo:
        pdf.ln(2)
        pdf.set_fill_color(255, 233, 201)
        pdf.set_font("dejavu", "B", 10)
        _para(pdf, 6, f"{DEMO_BANNER}. Aucune de ces structures n'existe.", fill=True,
                       border=1)
    pdf.ln(3)
    pdf.set_font("dejavu", "B", 12)
    pdf.cell(0, 7, "Chiffres clés", new_x="LMARGIN", new_y="NEXT")
    _table(pdf, figures, [60, 40, 30, 60][: len(figures.columns)] or None)
    if comparables:
        pdf.set_font("dejavu", size=7)
        _para(pdf, 4, f"Rang parmi les {comparables}.")
    pdf.ln(2)
    pdf.set_font("dejavu", "B", 12)
    pdf.cell(0, 7, "Carte des structures", new_x="LMARGIN", new_y="NEXT")
    png = static_map_png(territoires, structures)
    pdf.image(io.BytesIO(png), w=180)
    pdf.set_font("dejavu", size=7)
    _para(pdf, 4, source)
    if underserved is not None and len(underserved):
        pdf.ln(2)
        pdf.set_font("dejavu", "B", 12)
        pdf.cell(0, 7, "Communes à plus de 10 km d'une structure", new_x="LMARGIN",
                 new_y="NEXT")
        _table(pdf, underserved.head(15))
        if len(underserved) > 15:
            pdf.set_font("dejavu", size=7)
            _para(pdf, 4, f"… et {fr.entier(len(underserved) - 15)} autres communes "
                                 "(liste complète dans l'application).")
    pdf.ln(3)
    pdf.set_font("dejavu", "B", 12)
    pdf.cell(0, 7, "Méthode et sources", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("dejavu", size=8)
    _para(pdf, 4, _METHOD)
    pdf.ln(1)
    _para(pdf, 4, "Sources : INSEE (répertoire SIRENE, populations légales, code "
                         "officiel géographique), IGN (ADMIN EXPRESS), ESS France (liste des "
                         "entreprises de l'ESS) — Licence Ouverte / Etalab 2.0. " + source)
    return bytes(pdf.output())
