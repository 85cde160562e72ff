"""The dictionary of the export model: French headers, labels beside codes, decimals.

Every export (CLI and app, CSV, XLSX, GeoJSON, GeoPackage) goes through
:func:`render.exports.export_frame`, which reads this table:

* :data:`HEADERS`: raw column -> readable French header (indicator columns not listed here
  take :func:`indicators.registry.label_fr` and their unit);
* :data:`LABELLED`: code columns that get a French label column right after them
  (``commune`` -> « Code commune », « Commune »; ``famille_ess`` -> « Famille ESS (code) »,
  « Famille ESS »);
* :func:`decimals_of`: the precision the app displays, to which exported numbers are rounded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pandas as pd

from indicators.registry import INDICATORS, label_fr
from observatory.vocabulary import NAF_SECTION_LABELS
from render import fr

__all__ = ["HEADERS", "LABELLED", "TERRITORY_LEVELS", "decimals_of", "header_of"]

#: Code columns naming a territory: level -> (code header, name header).
TERRITORY_LEVELS = {
    "commune": ("Code commune", "Commune"),
    "epci": ("Code EPCI", "EPCI"),
    "departement": ("Code département", "Département"),
    "region": ("Code région", "Région"),
}

#: Raw column -> French header (structures, rejects, page tables, zones, changes, charts).
HEADERS = {
    "code": "Code", "nom": "Nom",
    "siret": "SIRET", "identifiant": "Identifiant", "siren": "SIREN", "nic": "NIC",
    "enseigne": "Enseigne", "sigle": "Sigle",
    "categorie_juridique": "Catégorie juridique (code)",
    "categorie_juridique_libelle": "Catégorie juridique",
    "naf": "Code NAF", "naf_libelle": "Activité (NAF)",
    "tranche_effectif": "Tranche d'effectif (code SIRENE)",
    "annee_effectif": "Année de la tranche d'effectif", "employeur": "Employeur",
    "date_creation": "Date de création", "date_fermeture": "Date de fermeture",
    "adresse": "Adresse", "code_postal": "Code postal",
    "commune_declaree": "Commune déclarée (code)",
    "longitude": "Longitude", "latitude": "Latitude",
    "commune_desaccord": "Commune déclarée différente de la commune de rattachement",
    "sources": "Sources", "millesimes": "Millésimes des sources",
    "flag_sirene_ess": "Indicateur ESS de SIRENE", "liste_ess_france": "Liste d'ESS France",
    "esus": "Agrément ESUS", "siae": "Structure d'insertion (SIAE)",
    # rejects
    "source": "Source", "ligne": "Ligne dans la source", "raison": "Motif du rejet",
    "donnees": "Données brutes",
    # page tables (zones blanches, rankings, charts)
    "zone": "Zone", "communes": "Communes", "noms": "Communes",
    "distance_min_km": "Distance minimale (km)", "distance_max_km": "Distance maximale (km)",
    "structures_proches": "Structures les plus proches", "zone_blanche": "Zone blanche",
    "rang": "Rang", "trimestre": "Trimestre", "territoire": "Territoire",
    "categorie": "Catégorie", "valeur": "Valeur", "evolution": "Évolution",
    "type": "Type", "zones": "Zones blanches",
    # concentrations
    "quotient": "Quotient de localisation", "structures_categorie": "Structures de la catégorie",
    "motif": "Remarque", "resultat": "Résultat", "score_z": "Score z (Gi*)",
    "p": "Probabilité critique (p)",
    # coverage of the snapshot (indicators command)
    "couverture": "Couverture par l'instantané",
    "population_territoire": "Population du territoire entier",
    "part_territoire_couverte": "Part de la population du territoire couverte",
    # zones command
    "rang_zone": "Rang de la zone", "population_zone": "Population de la zone",
    "nb_communes_zone": "Communes de la zone", "structures_cherchees": "Structures cherchées",
    "distance_seuil_km": "Distance seuil (km)", "serie": "Périmètre",
    "instantane": "Instantané", "nature_donnees": "Données", "densite_source":
    "Source de la grille de densité", "dens7": "Niveau de densité (grille à 7 niveaux)",
    "dens3": "Niveau de densité (grille à 3 niveaux)",
}

_ETATS = {"A": "Active", "F": "Fermée"}
_DECIMALS = {"quotient": 2, "score_z": 2, "p": 3}


def _territory_labeller(level: str) -> Callable[[pd.Series, Mapping], pd.Series]:
    def label(codes: pd.Series, names: Mapping[str, pd.Series]) -> pd.Series:
        table = names.get(level)
        if table is None:
            return pd.Series(pd.NA, index=codes.index, dtype="string")
        return codes.astype("string").map(table).astype("string")
    return label


#: Code column -> (code header, label header, labeller(codes, names) -> labels).
LABELLED: dict[str, tuple[str, str, Callable[[pd.Series, Mapping], pd.Series]]] = {
    **{level: (code_h, name_h, _territory_labeller(level))
       for level, (code_h, name_h) in TERRITORY_LEVELS.items()},
    "famille_ess": ("Famille ESS (code)", "Famille ESS",
                    lambda s, _n: s.map(fr.FAMILLES).astype("string")),
    "location_precision": ("Précision de localisation (code)", "Précision de localisation",
                           lambda s, _n: s.map(fr.PRECISIONS).astype("string")),
    "naf_section": ("Section NAF (code)", "Section NAF",
                    lambda s, _n: s.map(NAF_SECTION_LABELS).astype("string")),
    "etat_administratif": ("État administratif (code)", "État administratif",
                           lambda s, _n: s.map(_ETATS).astype("string")),
}

# Units already said by the indicator label ("Structures pour 10 000 habitants").
_UNIT_IN_LABEL = {"structures", "habitants", "communes", "pour 10 000 hab.", "pour 100 km²"}


def header_of(column: str) -> str:
    """French header of a raw column (unchanged when it is already a header)."""
    if column in HEADERS:
        return HEADERS[column]
    if column in INDICATORS:
        ind = INDICATORS[column]
        unit = "" if ind.unit_fr in _UNIT_IN_LABEL else f" ({ind.unit_fr})"
        return f"{ind.label_fr}{unit}"
    label = label_fr(column)
    if label != column:
        return label
    if column.replace("_", "").isalnum() and column == column.lower() and "_" in column:
        return column.replace("_", " ").capitalize()  # last resort: still readable
    return column


def decimals_of(column: str, default: int = 1) -> int:
    """Decimals the app displays for a column (exported numbers are rounded to them)."""
    if column in ("longitude", "latitude"):
        return 6
    if column in _DECIMALS:
        return _DECIMALS[column]
    if column in INDICATORS:
        return fr.decimales_unite(INDICATORS[column].unit_fr)
    if column.startswith(("lq_", "gi_z", "lisa_i")):
        return 2
    if column.endswith("_p") or column.startswith(("gi_p", "lisa_p")):
        return 3
    return default
