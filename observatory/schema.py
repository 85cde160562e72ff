"""The one normalised table every source ends in, and the rejects table.

Every source module (``etl/sirene.py``, ``etl/api_entreprises.py``, ``etl/actors.py``...)
returns a :class:`SourceResult`: a frame with the :data:`STRUCTURE_COLUMNS` known before
spatial assignment (``commune_declaree``, coordinates and ``location_precision`` filled,
``commune``/``epci``/``departement``/``region`` left empty), the rows it rejected with their
reason, and its row accounting.  The refresh job then assigns communes
(:mod:`etl.assign`), fills the territory columns and writes a snapshot.

Column meanings (strings unless stated; empty = ``pd.NA``):

================================  =========================================================
``identifiant``                   the key of a structure in a snapshot: unique, and the same
                                  from one quarter to the next (see *Identifiers* below)
``siret`` / ``siren`` / ``nic``   14 / 9 / 5 digits, zero-padded text; only real SIRET (NA
                                  when the source gives none: lists of actors)
``nom``                           denomination or enseigne; never a natural person's name
``enseigne``, ``sigle``           as published
``famille_ess``                   one of :data:`FAMILIES`
``categorie_juridique``           INSEE catégorie juridique niveau III (4 digits)
``categorie_juridique_libelle``   its label
``naf``                           NAF rév. 2 sub-class with a dot ("88.99B")
``naf_section``, ``naf_libelle``  section letter A–U and the label
``tranche_effectif``              SIRENE headcount band ("NN", "00", "01" … "53")
``annee_effectif``                Int64, year of the band
``employeur``                     boolean (NA unknown)
``date_creation``/``date_fermeture``  datetime64 (NaT unknown / open)
``etat_administratif``            "A" active, "F" closed
``adresse``, ``code_postal``      postal address as published
``commune_declaree``              commune code as written by the source
``commune``                       current COG commune, from point-in-polygon
``epci``, ``departement``, ``region``  hierarchy of ``commune``
``longitude``, ``latitude``       float64, EPSG:4326
``location_precision``            one of :data:`LOCATION_PRECISIONS`
``commune_desaccord``             boolean: assigned commune differs from the declared one
``sources``                       "|"-joined source names ("sirene|ess_france")
``millesimes``                    JSON text: source name -> vintage
``flag_sirene_ess``               boolean: economieSocialeSolidaireUniteLegale == "O"
``liste_ess_france``              boolean: SIREN in ESS France's list
``esus``, ``siae``                boolean, NA when unknown
``type_structure``                insertion / sheltered-work type, a key of
                                  :data:`observatory.vocabulary.STRUCTURE_TYPES` (ACI, AI,
                                  EI, ETTI, EITI, GEIQ, ESAT); NA outside that offer
``capacite``                      Int64, authorised places (ESAT); NA when not given
``gestion_publique``              boolean: run by a public body (commune, CCAS, communauté
                                  de communes, établissement social départemental...): in
                                  the insertion offer, not ESS in the legal sense; NA unknown
================================  =========================================================

Identifiers (``identifiant``), one rule per row, never a row number (so that the quarterly
diff, :mod:`indicators.change`, can follow a structure):

* ``"<siret>"``: a SIRET and no structure type (SIRENE, API Recherche d'entreprises, most
  lists of actors);
* ``"<siret>:<type>"``: a SIRET and a ``type_structure`` ("77554456201361:ESAT"): one
  association may run an ACI and an AI under one SIRET;
* ``"<source>:<id>"``: the list's own identifier, when its mapping names one (the FINESS of an
  ESAT site, whose sites share their managing body's SIRET; the id of *Les emplois de
  l'inclusion*);
* ``"<source>:#<16 hex>"``: no SIRET and no identifier of the list: the first 16 hex digits
  of the SHA-256 of the source name, the structure's name, its commune code (else its postcode
  and commune name), its address and its type, as the file writes them, each lower-cased,
  accent-free and punctuation-free (:func:`etl.normalise.content_identifiers`).  Two rows of
  a list with the same content are one structure (the later one is rejected); a structure
  whose name, address or commune code changes gets a new identifier: the diff then counts it
  closed and opened.

When two sources list the same SIRET and type, the refresh merges them and keeps the richer
row with its identifier.  Snapshots written before the column existed have no
``identifiant``: their key is the SIRET (:func:`indicators.prepare.structure_keys`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

__all__ = [
    "COMMUNE_LEVEL_PRECISIONS",
    "FAMILIES",
    "LOCATION_PRECISIONS",
    "NOM_DIFFUSION_PARTIELLE",
    "NOM_ENTREPRENEUR_INDIVIDUEL",
    "REJECT_COLUMNS",
    "STRUCTURE_COLUMNS",
    "STRUCTURE_DTYPES",
    "SourceResult",
    "empty_rejects",
    "empty_structures",
]

FAMILIES = (
    "association",
    "cooperative",
    "mutuelle",
    "fondation",
    "societe_commerciale_ess",
    "autre",
)

#: From most to least precise.
LOCATION_PRECISIONS = (
    "geoloc_insee",        # INSEE géolocalisé file, address-level (qualite_xy != 33)
    "lambert_sirene",      # Lambert coordinates of StockEtablissement
    "api_recherche",       # latitude/longitude of API Recherche d'entreprises
    "ban_adresse",         # BAN geocoding accepted (score >= 0.8, consistent citycode)
    "coordonnees_source",  # point given by the source list, plausible for its declared place
    "commune_aleatoire",   # qualite_xy = 33: placed at random in the commune
    "centroide_commune",   # no usable point: centroid of the declared commune
)
COMMUNE_LEVEL_PRECISIONS = ("commune_aleatoire", "centroide_commune")

#: ``nom`` of units with partial diffusion (statutDiffusion "P") and of natural persons:
#: their real name never appears.
NOM_DIFFUSION_PARTIELLE = "Diffusion partielle [ND]"
NOM_ENTREPRENEUR_INDIVIDUEL = "Entrepreneur individuel"

STRUCTURE_DTYPES: dict[str, str] = {
    "identifiant": "string",
    "siret": "string",
    "siren": "string",
    "nic": "string",
    "nom": "string",
    "enseigne": "string",
    "sigle": "string",
    "famille_ess": "string",
    "categorie_juridique": "string",
    "categorie_juridique_libelle": "string",
    "naf": "string",
    "naf_section": "string",
    "naf_libelle": "string",
    "tranche_effectif": "string",
    "annee_effectif": "Int64",
    "employeur": "boolean",
    "date_creation": "datetime64[ms]",
    "date_fermeture": "datetime64[ms]",
    "etat_administratif": "string",
    "adresse": "string",
    "code_postal": "string",
    "commune_declaree": "string",
    "commune": "string",
    "epci": "string",
    "departement": "string",
    "region": "string",
    "longitude": "float64",
    "latitude": "float64",
    "location_precision": "string",
    "commune_desaccord": "boolean",
    "sources": "string",
    "millesimes": "string",
    "flag_sirene_ess": "boolean",
    "liste_ess_france": "boolean",
    "esus": "boolean",
    "siae": "boolean",
    "type_structure": "string",
    "capacite": "Int64",
    "gestion_publique": "boolean",
}
STRUCTURE_COLUMNS = tuple(STRUCTURE_DTYPES)

REJECT_COLUMNS = ("source", "ligne", "siret", "raison", "donnees")


def empty_structures() -> pd.DataFrame:
    """An empty structures frame with the right columns and dtypes."""
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in STRUCTURE_DTYPES.items()})


def empty_rejects() -> pd.DataFrame:
    """An empty rejects frame (``ligne`` is Int64, the rest text)."""
    return pd.DataFrame({
        "source": pd.Series(dtype="string"),
        "ligne": pd.Series(dtype="Int64"),
        "siret": pd.Series(dtype="string"),
        "raison": pd.Series(dtype="string"),
        "donnees": pd.Series(dtype="string"),
    })


@dataclass
class SourceResult:
    """What one source hands to the refresh job.

    Invariant checked by the refresh job: ``read == len(structures) + len(rejects)``
    (a row kept in ``structures`` or rejected with its reason, never silently dropped).
    Rows that are *filtered out by design* (non-ESS units of the SIRENE stock) are counted in
    ``filtered`` and are not part of ``read``.
    """

    source: str
    structures: pd.DataFrame
    rejects: pd.DataFrame
    read: int
    vintage: str | None = None
    filtered: int = 0
    files: dict[str, str] = field(default_factory=dict)  # file name -> sha256
    notes: dict = field(default_factory=dict)  # free-form facts for the manifest

    def check_accounting(self) -> None:
        """Raise ``ValueError`` if rows were lost between reading and output."""
        kept, rejected = len(self.structures), len(self.rejects)
        if self.read != kept + rejected:
            raise ValueError(
                f"Row accounting of source {self.source!r} does not hold: read {self.read} "
                f"!= kept {kept} + rejected {rejected}. A parser dropped rows silently. "
                "How to fix: every input row must end in structures or in rejects with a reason."
            )
