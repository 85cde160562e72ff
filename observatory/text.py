"""Text folding: the one accent- and case-folding rule of the project.

Used wherever two spellings of a French name must compare equal ("Côte-d'Or" and
"COTE-D'OR", "Évreux" and "evreux"): search boxes, column headers of actor lists, commune
names in official files, export file names, synthetic names of the demo.
"""

from __future__ import annotations

import unicodedata

__all__ = ["fold_accents"]


def fold_accents(text: object, *, lower: bool = True) -> str:
    """Remove accents (NFKD decomposition, combining marks dropped) and, by default, lower-case.

    >>> fold_accents("Côte-d'Or")
    "cote-d'or"
    >>> fold_accents("Œuvre", lower=False)
    'OEuvre'
    """
    decomposed = unicodedata.normalize("NFKD", str(text))
    # NFKD leaves the ligatures œ/æ whole: spell them out so "oeuvre" finds "œuvre".
    decomposed = decomposed.replace("œ", "oe").replace("Œ", "OE").replace("æ", "ae") \
        .replace("Æ", "AE")
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return plain.lower() if lower else plain
