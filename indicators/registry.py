"""Registry of every indicator: French label, unit, and how it rolls up.

Each indicator is either

* **extensive** (counts, population, area, estimated jobs): summed when communes are grouped
  into an EPCI, a département, a région or a user-defined group;
* **intensive** (rates, shares, averages): recomputed from the summed ``numerator`` and
  ``denominator`` (``value = numerator / denominator * scale``), never averaged. An intensive
  indicator that is not a plain ratio (the Herfindahl–Hirschman index) carries a ``compute``
  function evaluated on the summed extensive columns.

The app reads ``label_fr``/``unit_fr``/``description_fr`` for display;
:func:`indicators.rollup.rollup` reads ``kind``/``numerator``/``denominator``/``scale``/``compute``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from indicators.sectors import NAF_SECTIONS, SECTOR_LABELS
from indicators.sectors import SECTORS as _SECTORS
from observatory.schema import FAMILIES  # the one list of ESS families (pure constant)

__all__ = [
    "COLUMN_LABELS_FR",
    "DISTANCE_THRESHOLDS_KM",
    "FAMILIES",
    "FAMILY_LABELS",
    "INDICATORS",
    "Indicator",
    "extensive_columns",
    "family_column",
    "intensive_indicators",
    "label_fr",
    "section_column",
    "sector_column",
]

FAMILY_LABELS = {
    "association": "Associations",
    "cooperative": "Coopératives",
    "mutuelle": "Mutuelles",
    "fondation": "Fondations",
    "societe_commerciale_ess": "Sociétés commerciales de l'ESS",
    "autre": "Autres formes",
}
#: Thresholds of the "population farther than X km" coverage indicators.
DISTANCE_THRESHOLDS_KM = (5, 10, 15, 20)


@dataclass(frozen=True)
class Indicator:
    """How one indicator is labelled and rolled up.

    Parameters
    ----------
    label_fr : str
        Short French label shown in the app.
    kind : {"extensive", "intensive"}
        Extensive values are summed; intensive ones are recomputed.
    unit_fr : str
        French unit ("structures", "habitants", "km²", "%", "pour 10 000 hab.").
    numerator, denominator : str or None
        Extensive columns an intensive indicator is computed from.
    description_fr : str
        One French sentence for tooltips and exports.
    scale : float
        Multiplier of the ratio (10 000 for "per 10,000 inhabitants", 100 for a percentage).
    compute : callable or None
        For intensive indicators that are not a plain ratio: ``compute(frame) -> Series`` on
        the summed extensive columns.
    """

    label_fr: str
    kind: str
    unit_fr: str
    numerator: str | None = None
    denominator: str | None = None
    description_fr: str = ""
    scale: float = 1.0
    compute: Callable[[pd.DataFrame], pd.Series] | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("extensive", "intensive"):
            raise ValueError(
                f"Indicator kind must be 'extensive' or 'intensive', not {self.kind!r}")
        if self.kind == "intensive" and self.compute is None and not (
            self.numerator and self.denominator
        ):
            raise ValueError("An intensive indicator needs a numerator and a denominator")


def family_column(family: str) -> str:
    """Column name of the count of one ESS family (``n_association``)."""
    return f"n_{family}"


def section_column(section: str) -> str:
    """Column name of the count of one NAF section (``n_section_Q``)."""
    return f"n_section_{section}"


def sector_column(sector: str) -> str:
    """Column name of the count of one ESS sector (``n_secteur_action_sociale``)."""
    return f"n_secteur_{sector}"


def _lower_first(label: str) -> str:
    """"Sociétés commerciales de l'ESS" -> "sociétés commerciales de l'ESS" (acronyms kept)."""
    return label[:1].lower() + label[1:]


def _hhi_sectors(frame: pd.DataFrame) -> pd.Series:
    """Herfindahl–Hirschman index of ESS sectors (0–10 000) from summed sector counts."""
    cols = [sector_column(s) for s in _SECTORS if sector_column(s) in frame]
    counts = frame[cols].to_numpy(dtype="float64")
    total = counts.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = counts / total[:, None]
        hhi = (shares**2).sum(axis=1) * 10_000
    hhi[total == 0] = np.nan
    return pd.Series(hhi, index=frame.index, dtype="Float64").mask(total == 0)


def _build() -> dict[str, Indicator]:
    ext, inten = "extensive", "intensive"
    reg: dict[str, Indicator] = {
        "nb_communes": Indicator("Nombre de communes", ext, "communes",
                                 description_fr="Nombre de communes du territoire."),
        "population": Indicator("Population municipale", ext, "habitants",
                                description_fr="Population municipale (millésime en vigueur)."),
        "superficie_km2": Indicator("Superficie", ext, "km²",
                                    description_fr="Superficie calculée en projection locale."),
        "structures": Indicator("Structures de l'ESS actives", ext, "structures",
                                description_fr="Établissements actifs de l'ESS localisés."),
        "structures_per_10k": Indicator(
            "Structures pour 10 000 habitants", inten, "pour 10 000 hab.", "structures",
            "population", "Établissements actifs de l'ESS pour 10 000 habitants.", 10_000),
        "structures_per_100km2": Indicator(
            "Structures pour 100 km²", inten, "pour 100 km²", "structures", "superficie_km2",
            "Établissements actifs de l'ESS pour 100 km².", 100),
        "emplois_estimes": Indicator(
            "Emplois estimés", ext, "salariés",
            description_fr="Estimation centrale des salariés à partir des tranches d'effectif "
                           "SIRENE (milieu de tranche)."),
        "emplois_bas": Indicator("Emplois estimés (bas)", ext, "salariés",
                                 description_fr="Borne basse des tranches d'effectif."),
        "emplois_haut": Indicator("Emplois estimés (haut)", ext, "salariés",
                                  description_fr="Borne haute des tranches d'effectif."),
        "effectif_inconnu": Indicator(
            "Structures sans tranche d'effectif", ext, "structures",
            description_fr="Structures actives dont la tranche d'effectif n'est pas renseignée."),
        "emplois_per_10k": Indicator(
            "Emplois estimés pour 10 000 habitants", inten, "pour 10 000 hab.",
            "emplois_estimes", "population", "Emplois estimés de l'ESS pour 10 000 habitants.",
            10_000),
        "communes_couvertes": Indicator(
            "Communes avec au moins une structure", ext, "communes",
            description_fr="Communes comptant au moins un établissement actif de l'ESS."),
        "part_communes_couvertes": Indicator(
            "Part des communes couvertes", inten, "%", "communes_couvertes", "nb_communes",
            "Part des communes comptant au moins une structure.", 100),
        "population_couverte": Indicator(
            "Population des communes couvertes", ext, "habitants",
            description_fr="Population des communes comptant au moins une structure."),
        "part_population_couverte": Indicator(
            "Part de la population couverte", inten, "%", "population_couverte", "population",
            "Part de la population vivant dans une commune comptant au moins une structure.",
            100),
        "population_distance_connue": Indicator(
            "Population dont la distance est connue", ext, "habitants",
            description_fr="Population des communes pour lesquelles une structure existe dans "
                           "la même zone de projection (métropole ou DROM)."),
        "population_x_distance_km": Indicator(
            "Population × distance", ext, "hab.·km",
            description_fr="Somme des populations pondérées par la distance (calcul interne)."),
        "distance_moyenne_km": Indicator(
            "Distance moyenne à la structure la plus proche", inten, "km",
            "population_x_distance_km", "population_distance_connue",
            "Distance moyenne, pondérée par la population, entre le centre de chaque commune "
            "et la structure active la plus proche."),
        "population_rurale": Indicator(
            "Population des communes rurales", ext, "habitants",
            description_fr="Population des communes rurales de la grille de densité "
                           "(niveaux 5 à 7, ou approximation)."),
        "structures_rurales": Indicator(
            "Structures des communes rurales", ext, "structures",
            description_fr="Structures actives situées dans une commune rurale."),
        "part_population_rurale": Indicator(
            "Part de la population rurale", inten, "%", "population_rurale", "population",
            "Part de la population vivant dans une commune rurale.", 100),
        "part_structures_rurales": Indicator(
            "Part des structures en commune rurale", inten, "%", "structures_rurales",
            "structures", "Part des structures actives situées dans une commune rurale.", 100),
        "hhi_secteurs": Indicator(
            "Concentration sectorielle (Herfindahl–Hirschman)", inten, "indice 0–10 000",
            description_fr="Somme des carrés des parts des secteurs de l'ESS (10 000 = un "
                           "seul secteur).", compute=_hhi_sectors),
    }
    for km in DISTANCE_THRESHOLDS_KM:
        col = f"population_plus_{km}km"
        reg[col] = Indicator(
            f"Population à plus de {km} km d'une structure", ext, "habitants",
            description_fr=f"Population des communes dont le centre est à plus de {km} km de "
                           "la structure active la plus proche.")
        reg[f"part_{col}"] = Indicator(
            f"Part de la population à plus de {km} km", inten, "%", col, "population",
            f"Part de la population vivant à plus de {km} km de la structure la plus proche.",
            100)
    for fam in FAMILIES:
        col = family_column(fam)
        reg[col] = Indicator(FAMILY_LABELS[fam], ext, "structures",
                             description_fr=f"{FAMILY_LABELS[fam]} actives.")
        reg[f"{col}_per_10k"] = Indicator(
            f"{FAMILY_LABELS[fam]} pour 10 000 habitants", inten, "pour 10 000 hab.", col,
            "population", f"{FAMILY_LABELS[fam]} actives pour 10 000 habitants.", 10_000)
        reg[f"part_{fam}"] = Indicator(
            f"Part des {_lower_first(FAMILY_LABELS[fam])}", inten, "%", col, "structures",
            f"Part des {_lower_first(FAMILY_LABELS[fam])} parmi les structures actives.", 100)
    for sector in _SECTORS:
        col = sector_column(sector)
        reg[col] = Indicator(SECTOR_LABELS[sector], ext, "structures",
                             description_fr=f"Structures actives du secteur « "
                                            f"{SECTOR_LABELS[sector]} ».")
        reg[f"{col}_per_10k"] = Indicator(
            f"{SECTOR_LABELS[sector]} pour 10 000 habitants", inten, "pour 10 000 hab.", col,
            "population", f"Structures du secteur « {SECTOR_LABELS[sector]} » pour 10 000 "
                          "habitants.", 10_000)
    for section, label in NAF_SECTIONS.items():
        reg[section_column(section)] = Indicator(
            f"Section {section} : {label}", ext, "structures",
            description_fr=f"Structures actives de la section NAF {section} ({label}).")
    return reg


#: name -> :class:`Indicator`, for every indicator the package computes.
INDICATORS: dict[str, Indicator] = _build()

#: French labels of the non-indicator columns of the tables (identity, commune-level values).
COLUMN_LABELS_FR = {
    "code": "Code",
    "nom": "Nom",
    "annee_effectifs": "Année des tranches d'effectif",
    "distance_structure_km": "Distance à la structure la plus proche (km)",
    "distance_km": "Distance à la structure la plus proche (km)",
    "motif_na": "Motif des valeurs manquantes",
    "dens3": "Grille de densité (3 niveaux)",
    "dens7": "Grille de densité (7 niveaux)",
    "densite_libelle": "Niveau de densité",
    "densite_source": "Source de la grille de densité",
    "classe": "Niveau de densité",
    "classe_libelle": "Niveau de densité",
    # change between two snapshots (indicators.change)
    "structures_avant": "Structures actives au trimestre précédent",
    "structures_apres": "Structures actives au trimestre courant",
    "nouveaux": "Nouvelles structures",
    "fermes": "Structures fermées",
    "deplaces": "Structures déplacées",
    "entrees_deplacement": "Arrivées par déplacement",
    "sorties_deplacement": "Départs par déplacement",
    "variation_nette": "Variation nette",
    "taux_evolution": "Taux d'évolution (%)",
    "statut": "Statut",
    "commune_avant": "Commune au trimestre précédent",
    "commune_apres": "Commune au trimestre courant",
    "distance_m": "Distance parcourue (m)",
    "actif_avant": "Active au trimestre précédent",
    "actif_apres": "Active au trimestre courant",
    "champs_modifies": "Champs modifiés",
    # hot spots (indicators.hotspots)
    "valeur": "Valeur analysée",
    "gi_z": "Gi* (score z)",
    "gi_p": "Gi* (p-value)",
    "gi_classe": "Points chauds / froids (Gi*)",
    "lisa_i": "I de Moran local",
    "lisa_p": "I de Moran local (p-value)",
    "lisa_quadrant": "Quadrant LISA",
    "lisa_classe": "Regroupement LISA",
    # ranks (indicators.ranks)
    "groupe_pairs": "Groupe de comparaison",
    "nb_pairs": "Nombre de territoires comparés",
}


def label_fr(column: str) -> str:
    """French label of any output column (indicators, ranks, quotients, distances).

    Examples
    --------
    >>> label_fr("rang_structures_per_10k")
    'Rang : Structures pour 10 000 habitants'
    >>> label_fr("lq_association")
    'Quotient de localisation : Associations'
    """
    if column in INDICATORS:
        return INDICATORS[column].label_fr
    if column in COLUMN_LABELS_FR:
        return COLUMN_LABELS_FR[column]
    if column.startswith("rang_"):
        return f"Rang : {label_fr(column[5:])}"
    if column.startswith("lq_"):
        return f"Quotient de localisation : {label_fr('n_' + column[3:])}"
    if column.startswith("distance_") and column.endswith("_km") and len(column) > 12:
        return f"Distance à la structure la plus proche ({label_fr(column[9:-3])}, km)"
    return column


def extensive_columns(columns=None) -> list[str]:
    """Names of extensive indicators, optionally restricted to ``columns`` (order kept)."""
    names = [n for n, ind in INDICATORS.items() if ind.kind == "extensive"]
    if columns is None:
        return names
    present = set(columns)
    return [n for n in names if n in present]


def intensive_indicators() -> dict[str, Indicator]:
    """The intensive indicators, by name."""
    return {n: ind for n, ind in INDICATORS.items() if ind.kind == "intensive"}
