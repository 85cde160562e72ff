"""Shared vocabulary of the observatory: series of snapshots, territorial levels, NAF sections,
structure types.

Pure constants and one check, at the bottom of the layers so that ``geodata``, ``etl``,
``indicators``, rendering, the CLI and the app all use the same table (the ESS families are
in :mod:`observatory.schema`, with the structures table they describe).
"""

from __future__ import annotations

from observatory.errors import ConfigurationError, explain

__all__ = ["DEFAULT_SERIE", "LEVELS", "LEVELS_COARSE_FIRST", "NAF_SECTION_LABELS", "SERIES",
           "STRUCTURE_TYPES", "check_level", "naf_section"]

#: Series of snapshots (périmètres) the store holds side by side, with their French labels.
#: ``ess``: the full ESS (SIRENE and the other sources of the refresh); ``insertion``: the real
#: lists of SIAE, GEIQ and ESAT.  Every command and page defaults to :data:`DEFAULT_SERIE`.
SERIES: dict[str, str] = {
    "ess": "Économie sociale et solidaire",
    "insertion": "Insertion par l'activité économique et travail protégé",
}
DEFAULT_SERIE = "ess"

#: Territorial levels, finest first (the order of the roll-up commune -> EPCI -> ...).
LEVELS = ("commune", "epci", "departement", "region")
#: The same levels coarsest first (the order of menus and of the territory search).
LEVELS_COARSE_FIRST = tuple(reversed(LEVELS))


def check_level(level: object) -> str:
    """Return ``level`` if it is a known territorial level, else raise ConfigurationError.

    >>> check_level("epci")
    'epci'
    """
    if level not in LEVELS:
        raise ConfigurationError(explain(
            f"Unknown territorial level {level!r}.",
            f"The observatory knows the levels {', '.join(LEVELS)}.",
            "Pick one of those levels (or, for indicators, pass groups= a mapping commune -> "
            "group).",
        ))
    return str(level)


# NAF rév. 2: division (2 digits) ranges -> section.
_SECTION_RANGES = (
    (1, 3, "A"), (5, 9, "B"), (10, 33, "C"), (35, 35, "D"), (36, 39, "E"), (41, 43, "F"),
    (45, 47, "G"), (49, 53, "H"), (55, 56, "I"), (58, 63, "J"), (64, 66, "K"), (68, 68, "L"),
    (69, 75, "M"), (77, 82, "N"), (84, 84, "O"), (85, 85, "P"), (86, 88, "Q"), (90, 93, "R"),
    (94, 96, "S"), (97, 98, "T"), (99, 99, "U"),
)
_DIVISION_SECTION = {d: s for lo, hi, s in _SECTION_RANGES for d in range(lo, hi + 1)}

#: Sections of the NAF rév. 2 with their official French labels (INSEE).
NAF_SECTION_LABELS: dict[str, str] = {
    "A": "Agriculture, sylviculture et pêche",
    "B": "Industries extractives",
    "C": "Industrie manufacturière",
    "D": "Production et distribution d'électricité, de gaz, de vapeur et d'air conditionné",
    "E": "Production et distribution d'eau ; assainissement, gestion des déchets et dépollution",
    "F": "Construction",
    "G": "Commerce ; réparation d'automobiles et de motocycles",
    "H": "Transports et entreposage",
    "I": "Hébergement et restauration",
    "J": "Information et communication",
    "K": "Activités financières et d'assurance",
    "L": "Activités immobilières",
    "M": "Activités spécialisées, scientifiques et techniques",
    "N": "Activités de services administratifs et de soutien",
    "O": "Administration publique",
    "P": "Enseignement",
    "Q": "Santé humaine et action sociale",
    "R": "Arts, spectacles et activités récréatives",
    "S": "Autres activités de services",
    "T": "Activités des ménages en tant qu'employeurs ; activités indifférenciées des ménages "
         "en tant que producteurs de biens et services pour usage propre",
    "U": "Activités extra-territoriales",
}


def naf_section(naf: object) -> str | None:
    """Section letter (A–U) of a NAF rév. 2 code ("88.99B" -> "Q"), None if not NAF rév. 2.

    >>> naf_section("88.99B"), naf_section("62.01Z"), naf_section("xx")
    ('Q', 'J', None)
    """
    if naf is None:
        return None
    text = str(naf).strip()  # pd.NA and NaN read as "<NA>"/"nan": no section
    if len(text) < 2 or not text[:2].isdigit():
        return None
    return _DIVISION_SECTION.get(int(text[:2]))


#: Types of the insertion and sheltered-work offer (structures column ``type_structure``) with
#: their French labels: the SIAE of the Code du travail (art. L5132-1 ff.: ACI, AI, EI, ETTI;
#: EITI as an experiment since law 2018-771), the GEIQ (groupements d'employeurs, art.
#: L1253-1 ff., with the GEIQ label) and the ESAT (Code de l'action sociale et des familles,
#: art. L344-2).  Entreprises adaptées (EA, EATT) and OPCS are not in
#: this offer.  Order: the order of menus and legends.
STRUCTURE_TYPES: dict[str, str] = {
    "ACI": "Atelier et chantier d'insertion",
    "AI": "Association intermédiaire",
    "EI": "Entreprise d'insertion",
    "ETTI": "Entreprise de travail temporaire d'insertion",
    "EITI": "Entreprise d'insertion par le travail indépendant",
    "GEIQ": "Groupement d'employeurs pour l'insertion et la qualification",
    "ESAT": "Établissement et service d'aide par le travail",
}
