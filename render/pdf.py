"""The « fiche territoire » PDF: key figures, a static map, change, ranks, method, sources.

Built with fpdf2 and the DejaVu fonts shipped with matplotlib (full Unicode: accents, the
no-break spaces of :mod:`render.fr`, « guillemets »); the figures come from
:mod:`render.pdf_figures`.

Layout (A4 portrait, two full pages, never a page holding a few stray lines):

1. title, perimeter (series, real or demonstration), key figures, the map — sized to fill
   what is left of the page;
2. change over the quarters (chart), the communes far from any structure, method and
   sources.
"""

from __future__ import annotations

import io
from pathlib import Path

import geopandas as gpd
import matplotlib
import pandas as pd
from fpdf import FPDF

from observatory.wording import DEMO_BANNER
from render import fr
from render.kinds import kind_style
from render.pdf_figures import evolution_png, static_map_png

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


#: The same, for the insertion perimeter (``kind_column="type_structure"``).
_METHOD_INSERTION = (
    "Méthode : structures de l'insertion par l'activité économique (ACI, AI, EI, ETTI, EITI), "
    "groupements d'employeurs pour l'insertion et la qualification (GEIQ) et établissements "
    "et services d'aide par le travail (ESAT) des listes publiques, localisés par leurs "
    "coordonnées quand elles sont plausibles, sinon au centre de leur commune, puis "
    "rattachés à la commune qui contient le point. Les structures gérées par une collectivité "
    "ou un établissement public en font partie. Taux calculés sur la population municipale en "
    "vigueur. Rang : position parmi les territoires comparables (1er = valeur la plus "
    "élevée ; pour les distances, la plus faible)."
)
_SOURCES = ("Sources : INSEE (répertoire SIRENE, populations légales, code officiel "
            "géographique), IGN (ADMIN EXPRESS), ESS France (liste des entreprises de l'ESS) — "
            "Licence Ouverte / Etalab 2.0. ")
_SOURCES_INSERTION = ("Sources : Les emplois de l'inclusion (SIAE et GEIQ) et liste officielle "
                      "des ESAT, informations administratives publiques (real_data/insertion/"
                      "PROVENANCE.md) ; INSEE (populations légales, code officiel "
                      "géographique), IGN (ADMIN EXPRESS) — Licence Ouverte / Etalab 2.0. ")


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

    def heading(self, text: str) -> None:
        self.ln(2)
        self.set_font("dejavu", "B", 12)
        self.set_text_color(*_BLUE)
        self.cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(0, 0, 0)

    def room(self) -> float:
        """Height left on the page above the bottom margin (mm)."""
        return self.h - self.b_margin - self.get_y()


def _table(pdf: FPDF, frame: pd.DataFrame, widths: list[float] | None = None) -> None:
    from fpdf.fonts import FontFace

    pdf.set_font("dejavu", size=8)
    pdf.set_fill_color(255, 255, 255)  # no colour left over from a banner
    with pdf.table(col_widths=widths, text_align="LEFT", line_height=4.6,
                   headings_style=FontFace(emphasis="BOLD", fill_color=(232, 237, 255)),
                   cell_fill_mode="NONE") as table:
        head = table.row()
        for col in frame.columns:
            head.cell(str(col))
        for values in frame.astype(str).itertuples(index=False):
            row = table.row()
            for value in values:
                row.cell(value)


def _header(pdf: _Fiche, nom: str, niveau: str, code: str, trimestre: str, date, demo: bool,
            perimetre: str | None) -> None:
    pdf.set_font("dejavu", "B", 16)
    pdf.set_text_color(*_BLUE)
    _para(pdf, 8, f"Fiche territoire : {nom}")
    pdf.set_font("dejavu", size=10)
    pdf.set_text_color(0, 0, 0)
    today = fr.date_fr(date if date is not None else pd.Timestamp.now())
    _para(pdf, 5, f"{niveau} {code} — instantané du {fr.trimestre_fr(trimestre)} — "
                  f"édité le {today}")
    nature = "données fictives de démonstration" if demo else "données réelles"
    pdf.set_font("dejavu", size=9)
    _para(pdf, 5, f"Périmètre : {perimetre or 'Économie sociale et solidaire'} ({nature})")
    if demo:
        pdf.ln(1)
        pdf.set_fill_color(255, 233, 201)
        pdf.set_font("dejavu", "B", 9)
        _para(pdf, 5, f"{DEMO_BANNER}. Aucune de ces structures n'existe.", fill=True,
              border=1)
        pdf.set_fill_color(255, 255, 255)


def _map(pdf: _Fiche, territoires, structures, source: str, kind_column: str) -> None:
    """The map and its legend, filling what is left of the page."""
    pdf.heading("Carte des structures")
    width = pdf.w - pdf.l_margin - pdf.r_margin
    pdf.set_font("dejavu", size=7)
    # the source line stays under its map: measure it (two lines on most fiches) first
    caption = pdf.multi_cell(0, 4, source, dry_run=True, output="HEIGHT")
    height = min(width * 1.1, max(80.0, pdf.room() - caption - 1))
    png = static_map_png(territoires, structures, size=(7.0, 7.0 * height / width),
                         kind_column=kind_column)
    pdf.image(io.BytesIO(png), w=width, h=height)
    pdf.set_font("dejavu", size=7)
    _para(pdf, 4, source)


def _evolution(pdf: _Fiche, evolution: pd.DataFrame | None, label: str) -> None:
    pdf.heading("Évolution du nombre de structures")
    if evolution is None or evolution["trimestre"].nunique() < 2:
        pdf.set_font("dejavu", size=9)
        _para(pdf, 5, "Évolution non disponible pour cette fiche." if evolution is None else
              "Un seul instantané est disponible : l'évolution apparaîtra au prochain "
              "trimestre.")
        return
    width = pdf.w - pdf.l_margin - pdf.r_margin
    pdf.image(io.BytesIO(evolution_png(evolution, label=label)), w=width,
              h=width * 2.6 / 7.0)
    pdf.set_font("dejavu", size=7)
    _para(pdf, 4, f"{label} à chaque instantané trimestriel, pour le territoire et son "
                  "territoire de référence.")


def _shares(counts: pd.Series, label: str) -> pd.DataFrame:
    total = int(counts.sum())
    return pd.DataFrame({label: counts.index, "Structures": [fr.entier(v) for v in counts],
                         "Part": [fr.pourcentage(v / total) for v in counts]})


def _composition(pdf: _Fiche, structures: pd.DataFrame | None, kind_column: str) -> None:
    """Split of the structures by ESS family (or insertion type) and by NAF section (the six
    largest)."""
    if structures is None or not len(structures):
        return
    pdf.heading("Répartition des structures")
    kinds = kind_style(kind_column, structures)
    split = structures[kinds.column].fillna("autre").map(
        lambda k: kinds.labels.get(k, k)).value_counts()
    _table(pdf, _shares(split, "Famille de l'ESS" if kinds.column == "famille_ess"
                        else "Type de structure"), [100, 40, 50])
    if "naf_section" in structures:
        from observatory.vocabulary import NAF_SECTION_LABELS

        sections = structures["naf_section"].map(NAF_SECTION_LABELS).fillna(
            "Activité non renseignée").value_counts()
        pdf.ln(2)
        top = _shares(sections, "Secteur d'activité (section NAF)").head(6)
        _table(pdf, top, [100, 40, 50])
        if len(sections) > 6:
            pdf.set_font("dejavu", size=7)
            _para(pdf, 4, f"Six premiers secteurs sur {len(sections)}.")


def fiche_territoire(*, nom: str, niveau: str, code: str, figures: pd.DataFrame,
                     territoires: gpd.GeoDataFrame, structures: pd.DataFrame | None,
                     source: str, demo: bool, trimestre: str, comparables: str = "",
                     underserved: pd.DataFrame | None = None,
                     date: pd.Timestamp | None = None, perimetre: str | None = None,
                     evolution: pd.DataFrame | None = None,
                     evolution_label: str = "Structures de l'ESS actives",
                     kind_column: str = "famille_ess") -> bytes:
    """Build the PDF sheet of one territory.

    Parameters
    ----------
    nom, niveau, code : str
        Territory name, French level name, code.
    figures : DataFrame
        Key figures already written in French (``Indicateur``, ``Valeur``, ``Rang``,
        change column).
    territoires : GeoDataFrame
        Sub-territories with ``structures_per_10k`` (and ``nom``, ``population`` for the
        names written on the map).
    structures : DataFrame
        Structures of the territory (points on the map).
    source : str
        Source and vintage line.
    demo : bool
        Adds the demonstration warning (and says so in the perimeter line).
    underserved : DataFrame, optional
        French table of underserved communes (first 15 rows shown).
    perimetre : str, optional
        The series shown (« Économie sociale et solidaire »,
        « Insertion par l'activité économique et travail protégé »).
    evolution : DataFrame, optional
        ``trimestre``, ``territoire``, ``valeur``: the change chart (the territory and its
        reference, every quarter).
    kind_column : str
        ``famille_ess`` (ESS families) or ``type_structure`` (insertion types): how the
        map and the split tell the structures apart.
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
    _header(pdf, nom, niveau, code, trimestre, date, demo, perimetre)
    pdf.heading("Chiffres clés")
    _table(pdf, figures, [62, 42, 32, 54][: len(figures.columns)] or None)
    if comparables:
        pdf.set_font("dejavu", size=7)
        _para(pdf, 4, f"Rang parmi les {comparables}.")
    _map(pdf, territoires, structures, source, kind_column)

    pdf.add_page()  # page 2 starts with its own sections: nothing spills over alone
    _evolution(pdf, evolution, evolution_label)
    _composition(pdf, structures, kind_column)
    insertion = kind_column == "type_structure"
    pdf.heading("Communes à plus de 10 km d'une structure")
    if underserved is not None and len(underserved):
        _table(pdf, underserved.head(15))
        if len(underserved) > 15:
            pdf.set_font("dejavu", size=7)
            _para(pdf, 4, f"… et {fr.entier(len(underserved) - 15)} autres communes "
                          "(liste complète dans l'application).")
    else:
        pdf.set_font("dejavu", size=9)
        _para(pdf, 5, "Toutes les communes du territoire ont une structure "
                      + ("du périmètre" if insertion else "de l'ESS") + " à moins de 10 km "
                      "(distance à vol d'oiseau depuis le centre de la commune).")
    pdf.heading("Méthode et sources")
    pdf.set_font("dejavu", size=8)
    _para(pdf, 4, _METHOD_INSERTION if insertion else _METHOD)
    pdf.ln(1)
    _para(pdf, 4, (_SOURCES_INSERTION if insertion else _SOURCES) + source)
    return bytes(pdf.output())
