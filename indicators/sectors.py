"""ESS sectors: a grouping of NAF rév. 2 codes used by ESS observatories.

The grouping follows the sectors that the ESS observatories (CRESS, Observatoire national
de l'ESS) publish, defined here from the NAF division (the two first digits of ``naf``,
"88.99B" -> 88):

==============================  ================================================  ===========
key                             label                                             NAF
==============================  ================================================  ===========
``action_sociale``              Action sociale                                    87, 88
``enseignement``                Enseignement                                      85
``sport_loisirs``               Sport et loisirs                                  93
``arts_culture``                Arts et culture                                   90, 91
``finance_assurance``           Activités financières et d'assurance              64, 65, 66
``commerce``                    Commerce                                          45, 46, 47
``industrie_construction``      Industrie et construction                         05–43
``sante``                       Santé humaine                                     86
``hebergement_restauration``    Hébergement et restauration                       55, 56
``autres``                      Autres activités (incl. 94 « organisations        all others
                                associatives » and unknown NAF)
==============================  ================================================  ===========

When ``naf`` is missing the section letter (``naf_section``) is used where it decides the
sector alone (K, G, I, P, B–F); anything else falls into ``autres``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from observatory.vocabulary import NAF_SECTION_LABELS

__all__ = ["NAF_SECTIONS", "SECTORS", "SECTOR_LABELS", "ess_sector"]

SECTOR_LABELS = {
    "action_sociale": "Action sociale",
    "enseignement": "Enseignement",
    "sport_loisirs": "Sport et loisirs",
    "arts_culture": "Arts et culture",
    "finance_assurance": "Activités financières et d'assurance",
    "commerce": "Commerce",
    "industrie_construction": "Industrie et construction",
    "sante": "Santé humaine",
    "hebergement_restauration": "Hébergement et restauration",
    "autres": "Autres activités",
}
SECTORS = tuple(SECTOR_LABELS)

#: NAF rév. 2 sections A–U with their French labels (one table, kept in etl.families).
NAF_SECTIONS = NAF_SECTION_LABELS

_DIVISIONS: dict[int, str] = {}
for _d in (87, 88):
    _DIVISIONS[_d] = "action_sociale"
_DIVISIONS[85] = "enseignement"
_DIVISIONS[93] = "sport_loisirs"
for _d in (90, 91):
    _DIVISIONS[_d] = "arts_culture"
for _d in (64, 65, 66):
    _DIVISIONS[_d] = "finance_assurance"
for _d in (45, 46, 47):
    _DIVISIONS[_d] = "commerce"
for _d in range(5, 44):
    _DIVISIONS[_d] = "industrie_construction"
_DIVISIONS[86] = "sante"
for _d in (55, 56):
    _DIVISIONS[_d] = "hebergement_restauration"

_SECTIONS = {"K": "finance_assurance", "G": "commerce", "I": "hebergement_restauration",
             "P": "enseignement", **dict.fromkeys("BCDEF", "industrie_construction")}


def ess_sector(naf: pd.Series, naf_section: pd.Series | None = None) -> pd.Series:
    """ESS sector key of each NAF code.

    Parameters
    ----------
    naf : Series of str
        NAF rév. 2 sub-class with or without the dot ("88.99B", "8899B"); NA allowed.
    naf_section : Series of str, optional
        Section letter used when ``naf`` is missing.

    Returns
    -------
    Series of str
        One of :data:`SECTORS`, same index as ``naf``.

    Examples
    --------
    >>> ess_sector(pd.Series(["88.99B", "94.99Z", "64.19Z", None])).tolist()
    ['action_sociale', 'autres', 'finance_assurance', 'autres']
    """
    text = naf.astype("string").str.strip()
    division = pd.to_numeric(text.str.slice(0, 2), errors="coerce")
    div_values = division.to_numpy(dtype="float64", na_value=np.nan)
    lookup = np.full(100, "autres", dtype=object)
    for d, sector in _DIVISIONS.items():
        lookup[d] = sector
    out = np.full(len(text), "autres", dtype=object)
    ok = ~np.isnan(div_values) & (div_values >= 0) & (div_values < 100)
    out[ok] = lookup[div_values[ok].astype(int)]
    if naf_section is not None:
        sec = naf_section.astype("string").str.strip().str.upper().map(_SECTIONS)
        fill = ~ok & sec.notna().to_numpy()
        out[fill] = sec.to_numpy(dtype=object)[fill]
    return pd.Series(out, index=naf.index, dtype="string", name="secteur_ess")
