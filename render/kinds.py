"""How structures maps and the PDF fiche tell kinds of structures apart: the ESS family of
the ``ess`` perimeter, the type (ACI, AI, EI, ETTI, EITI, GEIQ, ESAT) of the ``insertion``
perimeter.  One place for the colours, marker texts and labels of both."""

from __future__ import annotations

from dataclasses import dataclass

from observatory.vocabulary import STRUCTURE_TYPES
from render import fr

__all__ = ["FAMILY_STYLE", "TYPE_STYLE", "KindStyle", "kind_style"]

#: ESS family -> (colour, letter shown in the marker). Okabe-Ito colours.
FAMILY_STYLE = {
    "association": ("#0072B2", "A"),
    "cooperative": ("#E69F00", "C"),
    "mutuelle": ("#009E73", "M"),
    "fondation": ("#CC79A7", "F"),
    "societe_commerciale_ess": ("#D55E00", "S"),
    "autre": ("#555555", "?"),
}
#: Insertion type (``type_structure``) -> (colour, abbreviation shown in the marker).
TYPE_STYLE = {
    "ACI": ("#0072B2", "ACI"),
    "AI": ("#E69F00", "AI"),
    "EI": ("#009E73", "EI"),
    "ETTI": ("#CC79A7", "ETTI"),
    "EITI": ("#D55E00", "EITI"),
    "GEIQ": ("#8C510A", "GEIQ"),  # dark enough for white text and the PDF greys
    "ESAT": ("#6A3D9A", "ESAT"),
    "autre": ("#555555", "?"),
}


@dataclass(frozen=True)
class KindStyle:
    """How a structures map tells kinds apart: the column, its colours and marker texts,
    the French labels, the word for a kind in popups and the map's title."""

    column: str
    style: dict
    labels: dict
    noun: str
    title: str


def kind_style(column: str = "famille_ess", structures=None) -> KindStyle:
    """ESS families (``famille_ess``), or insertion types (``type_structure``); the families
    when ``structures`` (a frame) is given and has no such column."""
    if structures is not None and column not in structures:
        column = "famille_ess"
    if column == "type_structure":
        labels = {k: f"{k} – {v}" for k, v in STRUCTURE_TYPES.items()}
        return KindStyle(column, TYPE_STYLE, {**labels, "autre": "Type non renseigné"},
                         "Type", "Structures d'insertion et de travail protégé")
    return KindStyle("famille_ess", FAMILY_STYLE,
                     {f: fr.libelle_famille(f) for f in FAMILY_STYLE}, "Famille",
                     "Structures de l'ESS")
