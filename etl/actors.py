"""Lists of actors: the lists CRESS and regional networks send, and the real national lists of
insertion and sheltered-work structures (SIAE, GEIQ, ESAT).

Files are CSV (``;`` or ``,``, sniffed; UTF-8 with or without BOM, else Windows-1252) or XLSX
(read by :mod:`etl.tables`, within its size and row bounds; formula cells as their cached
value, a row whose used cell is a formula saved without value is rejected:
``formule_sans_valeur``), with French headers that vary from one network to the next.
Columns are mapped explicitly: default synonyms (accent- and case-insensitive,
:data:`SYNONYMS`) or a mapping (YAML file or dict, ``docs/actors_mapping_example.yaml``) with
three blocks: ``colonnes`` (field -> the
file's header(s)), ``valeurs`` (field -> a value for the rows that give none, e.g.
``type_structure: ESAT`` for a list of ESAT) and ``options`` (``separateur``, ``encodage``,
``feuille``, ``crs`` of x/y columns, ``source`` name, ``millesime`` stated by the producer,
``nom_prefere: enseigne``, ``tolerance_m``; ``titre``, ``producteur``, ``licence``,
``provenance`` copied to the manifest).  Addresses are geocoded with the BAN
(:mod:`etl.geocode`).  :func:`load_actor_lists` loads a folder of lists, each beside its
``<name>.mapping.yaml`` (the shipped real lists, ``real_data/insertion/``).

Location rule, row by row (each case counted in ``notes["localisation"]``, so in the manifest
and the quality view):

0. the file gives a point (``longitude``/``latitude`` in WGS84, or ``x``/``y`` in the declared
   CRS) that is plausible for the commune or département the row declares
   (:mod:`etl.actor_points`: within 100 m) -> that point, ``location_precision =
   "coordonnees_source"``;
1. else the address geocoded, ``result_score >= 0.8``, below commune level and a citycode
   consistent with the given commune code, else postcode (département prefix rule, see
   :func:`etl.geocode.accept_results`) -> BAN point, ``location_precision = "ban_adresse"``;
2. else, when the commune is known -> coordinates left empty, ``location_precision =
   "centroide_commune"`` (the assignment step puts the centroid).  The commune is known from,
   in order: the file's commune code; the commune name within the postcode's département
   (``communes`` table, unique match); a BAN ``municipality`` hit with a good score and a
   consistent citycode;
3. else the row is rejected (``commune_inconnue``) with the geocoding reason (and how far an
   implausible point was).

Rows: SIRET optional, validated when present (14 digits; a failed Luhn check only warns,
La Poste's SIRETs do not follow it).  Each row gets its ``identifiant``
(:mod:`observatory.schema`, *Identifiers*): the list's own identifier when the mapping names
one (the FINESS of an ESAT site: sites share their managing body's SIRET), else the SIRET and
type (one association may run an ACI and an AI under one SIRET), else a hash of the source,
name, commune code (or postcode and commune name) and address as the file writes them - never
a row number, so that the quarterly diff follows the structures without SIRET.  A duplicated
row rejects the later one (``identifiant_duplique``, ``siret_duplique``, or
``structure_dupliquee``: same name, commune and address).  A row without a name is rejected,
and so is a ``type_structure`` outside :data:`observatory.vocabulary.STRUCTURE_TYPES` (EA,
EATT, OPCS: ``hors_perimetre``).  Blank lines are not rows.

Values:

* ``famille_ess`` from the legal form or status text (:func:`family_from_text`: INSEE labels
  as the ASP list writes them, FINESS status labels such as "Ass.L.1901 R.U.P.", free text such
  as "SCOP"), else from the catégorie juridique code; an AI whose legal form is not given is an
  association (Code du travail art. L5132-7: AI are associations);
* ``gestion_publique`` (:func:`public_from_text`, or a catégorie juridique of level I 4 or 7):
  run by a public body; kept, with ``famille_ess = "autre"`` - in the insertion offer, not
  in the ESS in the legal sense;
* ``siae``: true for the five SIAE types, false for GEIQ and ESAT, NA without a type;
* a sole trader (legal form "Entrepreneur individuel", "Exploitant agricole"..., catégorie
  1xxx) is named by the enseigne, else "Entrepreneur individuel", never by a person's name;
* ``nom_prefere: enseigne``: the enseigne, when given (and not only digits), is the name shown,
  as *Les emplois de l'inclusion* shows its structures.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from etl.normalise import map_values
from etl.tables import TableInfo, read_table
from observatory.errors import DataValidationError, explain
from observatory.schema import NOM_ENTREPRENEUR_INDIVIDUEL, SourceResult
from observatory.text import fold_accents
from observatory.vocabulary import STRUCTURE_TYPES

__all__ = [
    "FIELDS",
    "NOT_INSERTION_TYPES",
    "REQUIRED_FIELDS",
    "SIAE_TYPES",
    "SOURCE",
    "SYNONYMS",
    "TableInfo",
    "actors_from_table",
    "family_from_text",
    "individual_from_text",
    "load_actor_lists",
    "load_actors",
    "load_mapping",
    "normalise_header",
    "public_from_text",
    "read_table",
    "resolve_columns",
    "siret_luhn_ok",
]

log = logging.getLogger(__name__)

SOURCE = "liste_acteurs"
#: Fields we understand, in the order of the mapping file.
FIELDS = ("nom", "siret", "enseigne", "sigle", "adresse", "complement_adresse", "code_postal",
          "commune", "code_commune", "departement", "longitude", "latitude", "x", "y",
          "famille", "categorie_juridique", "naf", "type_structure", "capacite", "identifiant")
REQUIRED_FIELDS = ("nom",)
#: Default header synonyms (compared after :func:`normalise_header`); x/y (they need a CRS),
#: type_structure and identifiant are mapped explicitly only.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "nom": ("raison sociale", "nom", "denomination", "denomination sociale", "nom structure",
            "nom de la structure", "structure", "organisme", "nom de l organisme",
            "nom ou raison sociale", "nom ou raison sociale de l entreprise", "entreprise",
            "nom de l entreprise", "acteur", "nom acteur"),
    "siret": ("siret", "n siret", "no siret", "numero siret", "num siret", "code siret",
              "siret etablissement"),
    "enseigne": ("enseigne", "nom commercial"),
    "sigle": ("sigle", "acronyme"),
    "adresse": ("adresse", "adresse postale", "adresse complete", "adresse 1", "adresse1",
                "adresse ligne 1", "rue", "voie", "numero et voie"),
    "complement_adresse": ("complement d adresse", "complement adresse", "adresse 2",
                           "adresse2", "adresse ligne 2", "complement"),
    "code_postal": ("cp", "code postal", "codepostal", "code postal de l etablissement"),
    "commune": ("commune", "ville", "localite", "libelle commune", "nom commune",
                "nom de la commune", "libelle de la commune de l etablissement"),
    "code_commune": ("code commune", "code insee", "insee", "code insee commune", "cog",
                     "code commune insee", "commune insee", "depcom"),
    "departement": ("departement", "code departement", "dep", "dept", "code du departement",
                    "code du departement de l etablissement", "numero de departement"),
    "longitude": ("longitude", "lon", "lng", "x longitude", "longitude wgs84"),
    "latitude": ("latitude", "lat", "y latitude", "latitude wgs84"),
    "x": (),
    "y": (),
    "famille": ("famille", "statut", "statut juridique", "famille ess", "famille juridique",
                "famille juridique de l entreprise", "type de structure", "type structure"),
    "categorie_juridique": ("categorie juridique", "code categorie juridique",
                            "nature juridique", "code forme juridique", "forme juridique"),
    "naf": ("naf", "code naf", "ape", "code ape", "naf ape", "activite principale"),
    "type_structure": (),
    "capacite": ("capacite", "capacite autorisee", "nombre de places", "places autorisees"),
    "identifiant": (),
}
_LOCATION_FIELDS = ("adresse", "code_postal", "commune", "code_commune", "longitude", "x")
_OPTIONS = ("separateur", "encodage", "feuille", "crs", "source", "millesime", "nom_prefere",
            "tolerance_m", "titre", "producteur", "licence", "provenance")
#: Options copied into the manifest notes, as the producer states them.
_STATED = ("titre", "producteur", "licence", "provenance", "millesime")
_COMMUNE_CODE = re.compile(r"^(?:\d{5}|2[AB]\d{3})$")
#: The five SIAE types (Code du travail art. L5132-1 ff.); GEIQ and ESAT are not SIAE.
SIAE_TYPES = ("ACI", "AI", "EI", "ETTI", "EITI")
#: Types a source may list that are outside the insertion offer (rejected or filtered).
NOT_INSERTION_TYPES = {"EA": "entreprise adaptée",
                       "EATT": "entreprise adaptée de travail temporaire",
                       "OPCS": "organisation porteuse de clauses sociales"}
# Legal form / status text (after normalise_header) -> ESS family: first match wins, so
# "mutuelle" comes before "cooperative" (coopérative mutualiste), every cooperative before the
# commercial forms ("SA coopérative"), "societe civile" before "societe".  A regex matched at
# a word start; "ass"/"asso" are whole words ("Ass.L.1901", "Asso") so that "associé unique"
# (a SAS form) is no association.
_FAMILY_KEYWORDS = (
    ("fondation", "fondation"), ("fonds de dotation", "fondation"),
    ("mutuel", "mutuelle"), ("mutualit", "mutuelle"), ("mutualis", "mutuelle"),
    ("cooperat", "cooperative"), ("scop", "cooperative"), ("scic", "cooperative"),
    ("cuma", "cooperative"), ("coop", "cooperative"),
    ("interet collectif agricole", "cooperative"), ("sica", "cooperative"),  # as etl.families
    ("association", "association"), (r"asso\b", "association"), (r"ass\b", "association"),
    ("groupement d employeurs", "association"),  # INSEE 9223, an association form
    ("societe commerciale", "societe_commerciale_ess"), ("esus", "societe_commerciale_ess"),
    ("entreprise commerciale", "societe_commerciale_ess"),
    ("societe civile", "autre"), ("registre du commerce", "autre"),  # INSEE 69xx: not a company
    ("societe", "societe_commerciale_ess"), (r"s ?a ?r ?l\b", "societe_commerciale_ess"),
    (r"e ?u ?r ?l\b", "societe_commerciale_ess"), (r"s ?a ?s ?u?\b", "societe_commerciale_ess"),
    (r"sa\b", "societe_commerciale_ess"), (r"snc\b", "societe_commerciale_ess"),
)
# Public bodies, as legal forms (INSEE labels) and FINESS status labels write them.  A
# société d'économie mixte (majority public capital) and an association syndicale autorisée
# (an établissement public) count as public.
_PUBLIC = re.compile(r"\b(?:" + "|".join((
    r"communes?\b", r"communal", r"intercommunal", r"communaute\b", r"metropole\b",
    r"departement\b", r"region\b", r"etat\b", r"collectivite", r"c ?c ?a ?s\b", r"c ?i ?a ?s\b",
    r"etablissement public", r"etb pub", r"etb social", r"syndicat mixte",
    r"syndicat intercommunal", r"sivom\b", r"sivu\b", r"petr\b", r"pole d equilibre territorial",
    r"g ?i ?p\b", r"groupement d interet public", r"gestion publique", r"economie mixte",
    r"association syndicale autorisee", r"office public", r"centre hospitalier",
)) + ")")
# A natural person (sole trader): never shown by name.
_INDIVIDUAL = re.compile(r"\b(?:entrepreneur individuel|entreprise individuelle|"
                         r"exploitant agricole|personne physique|micro entrepr\w*|auto entrepr\w*|"
                         r"profession liberale|artisan|commercant)\b")
# --------------------------------------------------------------------------- file reading
def normalise_header(text: object) -> str:
    """Lower-case, accent-free, punctuation-free header ("N° SIRET" -> "n siret")."""
    value = fold_accents(text)
    value = value.replace("°", " ").replace("º", " ")
    return re.sub(r"[^a-z0-9]+", " ", value).strip()



# --------------------------------------------------------------------------- mapping
def load_mapping(mapping: str | Path | dict | None) -> dict[str, Any]:
    """Read a mapping (YAML file or dict) into ``{"colonnes": {field: [headers]},
    "valeurs": {field: value}, "options": {...}}``.

    The YAML has a ``colonnes`` block (field -> header, or list of headers joined with a
    space), an optional ``valeurs`` block (field -> the value of rows that give none) and an
    optional ``options`` block (``separateur``, ``encodage``, ``feuille``, ``crs``,
    ``source``, ``millesime``, ``nom_prefere``, ``tolerance_m``: module docstring).
    See ``docs/actors_mapping_example.yaml``.
    """
    if mapping is None:
        return {"colonnes": {}, "valeurs": {}, "options": {}}
    if isinstance(mapping, (str, Path)):
        import yaml

        try:
            mapping = yaml.safe_load(Path(mapping).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise DataValidationError(explain(
                f"The mapping file {str(mapping)!r} cannot be read: {exc}.",
                "It must be a YAML file with a 'colonnes' block.",
                "Start from docs/actors_mapping_example.yaml.")) from exc
    if not isinstance(mapping, dict):
        raise DataValidationError(explain("The column mapping is not a dictionary.",
                                          "It must map field names to the file's headers.",
                                          "Start from docs/actors_mapping_example.yaml."))
    columns = mapping.get("colonnes", {k: v for k, v in mapping.items() if k in FIELDS}) or {}
    unknown = [k for k in columns if k not in FIELDS]
    if unknown:
        raise DataValidationError(explain(
            f"The mapping names unknown fields {unknown}.",
            f"Known fields: {list(FIELDS)}.", "Rename them in the 'colonnes' block."))
    columns = {k: ([v] if isinstance(v, str) else list(v)) for k, v in columns.items() if v}
    values = dict(mapping.get("valeurs") or {})
    options = dict(mapping.get("options") or {})
    wrong = [f"valeurs.{k}" for k in values if k not in FIELDS] + [
        f"options.{k}" for k in options if k not in _OPTIONS]
    if wrong:
        raise DataValidationError(explain(
            f"The mapping names unknown entries {wrong}.",
            f"'valeurs' takes fields {list(FIELDS)}; 'options' takes {list(_OPTIONS)}.",
            "Rename or remove them (see docs/actors_mapping_example.yaml)."))
    return {"colonnes": columns, "valeurs": {k: str(v) for k, v in values.items()},
            "options": options}


def resolve_columns(headers: list[str], mapping: dict[str, Any] | None = None
                    ) -> dict[str, list[str]]:
    """Field -> the file's column(s), from the explicit mapping then the default synonyms.

    Raises
    ------
    DataValidationError
        A mapped header is absent, a required field is unmatched, or no location column
        exists; the message lists the file's headers and the mapping to write.
    """
    explicit = (mapping or {}).get("colonnes", {})
    by_norm = {normalise_header(h): h for h in reversed(headers)}
    resolved: dict[str, list[str]] = {}
    absent = []
    for field_name, wanted in explicit.items():
        found = [by_norm.get(normalise_header(w)) for w in wanted]
        absent += [w for w, f in zip(wanted, found, strict=True) if f is None]
        resolved[field_name] = [f for f in found if f is not None]
    taken = {c for cols in resolved.values() for c in cols}
    for field_name in FIELDS:
        if field_name in resolved:
            continue
        for synonym in SYNONYMS[field_name]:
            header = by_norm.get(synonym)
            if header is not None and header not in taken:
                resolved[field_name] = [header]
                taken.add(header)
                break
    missing = [f for f in REQUIRED_FIELDS if not resolved.get(f)]
    no_location = not any(resolved.get(f) for f in _LOCATION_FIELDS)
    if absent or missing or no_location:
        problems = []
        if absent:
            problems.append(f"mapped headers not in the file: {absent}")
        if missing:
            problems.append(f"required fields without a column: {missing}")
        if no_location:
            problems.append(f"no location column (one of {list(_LOCATION_FIELDS)})")
        example = "\n".join(f"  {f}: \"<en-tête du fichier>\"" for f in
                            (*missing, *(["adresse", "code_postal", "commune"]
                                         if no_location else [])))
        raise DataValidationError(explain(
            f"The columns of the actors file cannot be mapped: {'; '.join(problems)}.",
            f"The file's headers are {headers}.",
            "Write a mapping file (see docs/actors_mapping_example.yaml) such as:\n"
            f"colonnes:\n{example or '  nom: ...'}\nand pass it with --actors-mapping.",
        ), offenders=missing + absent)
    return resolved


# --------------------------------------------------------------------------- row helpers
# --------------------------------------------------------------------------- row helpers
def siret_luhn_ok(siret: str) -> bool:
    """Luhn check of a 14-digit SIRET (La Poste's ``356000000`` uses its own rule)."""
    total = 0
    for i, ch in enumerate(reversed(siret)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    if siret.startswith("356000000"):  # La Poste: Luhn, or digit sum multiple of 5
        return total % 10 == 0 or sum(int(d) for d in siret) % 5 == 0
    return total % 10 == 0


def _family_of_text(text: str) -> object:
    norm = normalise_header(text)
    if _PUBLIC.search(norm):
        return "autre"  # a public body: not an ESS family, whatever words follow
    for keyword, family in _FAMILY_KEYWORDS:
        if re.search(rf"\b{keyword}", norm):
            return family
    return pd.NA


def family_from_text(values: pd.Series) -> pd.Series:
    """ESS family from a legal form or status text ("Association loi 1901", "SCOP",
    "Ass.L.1901 R.U.P.", "Société à responsabilité limitée"...), NA if unknown; "autre" for a
    public body (:func:`public_from_text`)."""
    return map_values(values, _family_of_text)


def public_from_text(values: pd.Series) -> pd.Series:
    """Boolean: the legal form or managing body's status is a public body (commune, CCAS,
    communauté de communes, "Etb.Social Départ."...); NA when no text is given."""
    found = map_values(values, lambda t: "1" if _PUBLIC.search(normalise_header(t)) else "0")
    return found.map({"1": True, "0": False}).astype("boolean")


def individual_from_text(values: pd.Series) -> pd.Series:
    """Boolean: the legal form says a natural person (sole trader, farmer...); False when
    unknown."""
    found = map_values(values, lambda t: "1" if _INDIVIDUAL.search(normalise_header(t))
                       else "0")
    return found.eq("1").fillna(False).astype(bool)


def _digits(values: pd.Series) -> pd.Series:
    text = values.astype("string").str.replace(r"\.0$", "", regex=True)
    return text.str.replace(r"[\s.\-/]", "", regex=True).mask(lambda s: s == "")


def _join(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    if not columns:
        return pd.Series(pd.NA, index=frame.index, dtype="string")
    if len(columns) == 1:  # cells are already stripped, blanks are NA (read_table)
        return frame[columns[0]].astype("string")
    joined = frame[columns[0]].astype("string").fillna("")
    for column in columns[1:]:
        joined = joined + " " + frame[column].astype("string").fillna("")
    joined = joined.str.replace(r"\s+", " ", regex=True).str.strip()
    return joined.mask(joined == "").astype("string")


def _commune_from_name(name: pd.Series, postcode: pd.Series,
                       communes: pd.DataFrame | None) -> pd.Series:
    """Commune code from (name, postcode département) when unique in ``communes``."""
    out = pd.Series(pd.NA, index=name.index, dtype="string")
    if communes is None or "nom" not in communes or "departement" not in communes:
        return out
    from etl.geocode import departement_of_postcode, normalise_commune_name

    dep = departement_of_postcode(postcode)
    asked = name.notna() & dep.notna()
    if not asked.any():
        return out
    deps = communes["departement"].astype(str)
    wanted_deps = {d for v in dep[asked].unique() for d in str(v).split("|")}
    local = deps.isin(wanted_deps).to_numpy()  # only the départements asked for
    # reference names are clean ("Saint-Apollinaire"): folding them is enough
    table = pd.DataFrame({"code": communes.index.astype(str)[local],
                          "cle": map_values(communes["nom"][local], normalise_header),
                          "dep": deps[local]})
    table = table[~table.duplicated(["cle", "dep"], keep=False)]
    key = map_values(normalise_commune_name(name.where(asked)), normalise_header)
    wanted = pd.DataFrame({"cle": key, "dep": dep}).dropna()
    corsica = wanted["dep"] == "2A|2B"
    parts = [wanted[~corsica]]
    for d in ("2A", "2B"):
        parts.append(wanted[corsica].assign(dep=d))
    wanted = pd.concat(parts).reset_index().merge(table, on=["cle", "dep"], how="inner",
                                                  validate="m:1")
    wanted = wanted.drop_duplicates("index", keep=False).set_index("index")
    out.loc[wanted.index] = wanted["code"].astype("string")
    return out


def _fields(raw: pd.DataFrame, cols: dict[str, list[str]], values: dict[str, str]
            ) -> pd.DataFrame:
    """One text column per field (the mapped columns joined, then the ``valeurs`` defaults)."""
    rows = pd.DataFrame({f: _join(raw, cols.get(f, [])) for f in FIELDS}, index=raw.index)
    for field_name, value in values.items():
        rows[field_name] = rows[field_name].fillna(value)
    rows["adresse"] = _join(rows, ["adresse", "complement_adresse"])
    return rows


class _Checked(NamedTuple):
    siret: pd.Series       # 14 digits or NA
    type_structure: pd.Series
    reason: pd.Series      # NA = still in
    zero_restored: int     # 13-digit SIRETs completed with their lost leading zero
    identifiant: pd.Series  # observatory.schema, Identifiers


def _identifiers(rows: pd.DataFrame, siret: pd.Series, kind: pd.Series, place: _Place,
                 source: str) -> pd.Series:
    """``identifiant`` of each row (:mod:`observatory.schema`, *Identifiers*): the list's
    own identifier, else the SIRET (and type), else a hash of the row's content as the file
    writes it - the commune code given, else postcode and commune name, never a code found
    by the geocoder, which may change from one quarter to the next."""
    from etl.normalise import content_identifiers, siret_identifiers

    own = rows["identifiant"].astype("string").str.strip().mask(lambda s: s == "")
    commune = place.code.fillna(place.postcode.fillna("") + " " + rows["commune"].fillna(""))
    content = content_identifiers(source, [rows["nom"], commune, rows["adresse"],
                                           kind.fillna("")])
    return (source + ":" + own).fillna(siret_identifiers(siret, kind)).fillna(content)


def _check_rows(rows: pd.DataFrame, lines: pd.Series, place: _Place, source: str) -> _Checked:
    """SIRET, type, duplicates and name checks (module docstring); reasons in French."""
    reason = pd.Series(pd.NA, index=rows.index, dtype="string")
    siret = _digits(rows["siret"])
    # A spreadsheet turns "08628031000102" into 8628031000102: restore the zero when the
    # completed SIRET passes the Luhn check (a lost digit elsewhere would not).
    padded = ("0" + siret).where(siret.str.fullmatch(r"\d{13}").fillna(False))
    short = pd.Series([isinstance(v, str) and siret_luhn_ok(v) for v in padded.astype(object)],
                      index=siret.index, dtype=bool)
    siret = siret.mask(short, padded)
    bad = siret.notna() & ~siret.str.fullmatch(r"\d{14}").fillna(False)
    reason = reason.mask(
        bad, "siret_invalide: " + rows["siret"].fillna("") + " (14 chiffres attendus)")
    failing = [s for s in siret[siret.notna() & ~bad] if not siret_luhn_ok(s)]
    if failing:
        log.warning("%d SIRET fail the Luhn check (kept): %s", len(failing), failing[:10])
    kind = rows["type_structure"].str.strip().str.upper()
    outside = kind.isin(list(NOT_INSERTION_TYPES)).fillna(False)
    reason = reason.mask(reason.isna() & outside, "hors_perimetre: type " + kind + " ("
                         + kind.map(NOT_INSERTION_TYPES) + ") : ni SIAE, ni GEIQ, ni ESAT")
    unknown = kind.notna() & ~kind.isin(list(STRUCTURE_TYPES)) & ~outside
    reason = reason.mask(reason.isna() & unknown, "type_inconnu: " + kind.fillna("")
                         + " (attendu : " + ", ".join(STRUCTURE_TYPES) + ")")
    kind = kind.where(~outside & ~unknown)
    # one row per identifiant: per identifier of the list, else per (SIRET, type), else per
    # content (same name, place and address)
    ident = _identifiers(rows, siret.where(~bad), kind, place, source)
    first_line = lines.groupby(ident).transform("first")
    dup = ident.duplicated(keep="first") & ~bad
    own = rows["identifiant"].notna()
    code = pd.Series("structure_dupliquee", index=rows.index, dtype="string").mask(
        siret.notna(), "siret_duplique").mask(own, "identifiant_duplique")
    detail = pd.Series(" (même nom, commune et adresse)", index=rows.index,
                       dtype="string").mask(siret.notna() | own, "")
    reason = reason.mask(reason.isna() & dup, code + ": deja ligne "
                         + first_line.astype("string").fillna("") + detail)
    reason = reason.mask(reason.isna() & rows["nom"].isna(), "nom_manquant")
    return _Checked(siret, kind, reason, int(short.sum()), ident)


class _Place(NamedTuple):
    postcode: pd.Series
    code: pd.Series          # the file's commune code, cleaned
    commune: pd.Series       # the file's code, else found from the name
    departement: pd.Series   # the file's département column, cleaned


def _declared_place(rows: pd.DataFrame, communes: pd.DataFrame | None) -> _Place:
    postcode = _digits(rows["code_postal"])
    four = postcode.str.fullmatch(r"\d{4}").fillna(False)
    postcode = postcode.where(~four, postcode.str.zfill(5))
    postcode = postcode.where(postcode.str.fullmatch(r"\d{5}").fillna(False))
    code = rows["code_commune"].astype("string").str.upper().str.replace(r"\.0$", "", regex=True)
    code = code.where(~code.str.fullmatch(r"\d{4}").fillna(False), code.str.zfill(5))
    code = code.where(code.str.match(_COMMUNE_CODE).fillna(False))
    if communes is not None and len(communes):
        unknown = code.notna() & (pd.Index(communes.index.astype(str)).get_indexer(
            code.fillna("")) < 0)
        if unknown.any():
            log.warning("%d commune codes are not current COG codes (mapped at assignment)",
                        int(unknown.sum()))
    dep = rows["departement"].astype("string").str.strip().str.upper() \
        .str.replace(r"\.0$", "", regex=True)
    dep = dep.where(~dep.str.fullmatch(r"\d").fillna(False), dep.str.zfill(2))
    dep = dep.where(dep.str.fullmatch(r"\d{2,3}|2[AB]").fillna(False))
    by_name = _commune_from_name(rows["commune"].where(code.isna()), postcode, communes)
    return _Place(postcode, code, code.fillna(by_name), dep)


# --------------------------------------------------------------------------- loader
def load_actors(path: str | Path, mapping: str | Path | dict | None = None, geocode: bool = True,
                communes: pd.DataFrame | None = None, *, geocoder_url: str | None = None,
                min_score: float = 0.8, progress: bool = False, reference=None) -> SourceResult:
    """Load a list of actors, locate it and return it in the structures schema.

    Parameters
    ----------
    path
        CSV or XLSX file.
    mapping
        YAML mapping file or dict (``colonnes`` / ``valeurs`` / ``options``); default
        synonyms otherwise.
    geocode
        Geocode addresses with the BAN (off: rows without a plausible point of their own are
        placed at their commune centroid).
    communes
        Reference communes (index ``code``, columns ``nom``, ``departement``, and
        ``geometry`` to check the file's points) used to find a commune code from its name
        and to check given codes; optional (default: ``reference.communes``).
    geocoder_url
        Geocoder root (default: catalog source ``ban_geocoder``).
    min_score
        Minimum BAN score accepted at address level.
    reference
        Reference geography (``communes``, ``departements``, ``code_changes``): the file's
        points are checked against it (:mod:`etl.actor_points`).

    Returns
    -------
    SourceResult
        ``source`` = ``options.source`` or ``"liste_acteurs"``; every data row is kept or
        rejected with its reason; ``vintage`` = ``options.millesime`` or the file's date.
    """
    path = Path(path)
    spec = load_mapping(mapping)
    options = spec["options"]
    raw, info = read_table(path, separator=options.get("separateur"),
                           encoding=options.get("encodage"), sheet=options.get("feuille"))
    log.info("%s read as %s (encoding %s, separator %r): %d rows", path.name, info.format,
             info.encoding, info.separator, len(raw))
    vintage = options.get("millesime") or datetime.fromtimestamp(
        path.stat().st_mtime, tz=UTC).date().isoformat()
    result = actors_from_table(raw, info, spec, name=path.name, vintage=str(vintage),
                               geocode=geocode, communes=communes, reference=reference,
                               geocoder_url=geocoder_url, min_score=min_score,
                               progress=progress)
    if isinstance(mapping, (str, Path)):  # the mapping shapes the result: record it too
        result.files[Path(mapping).name] = hashlib.sha256(Path(mapping).read_bytes()).hexdigest()
    return result


def load_actor_lists(folder: str | Path, *, geocode: bool = True, reference=None,
                     communes: pd.DataFrame | None = None, geocoder_url: str | None = None,
                     progress: bool = False) -> list[SourceResult]:
    """Load every list of ``folder`` that has its mapping beside it: ``<name>.mapping.yaml``
    and one ``<name>.csv`` (or ``.xlsx``, ``.xlsm``, ``.txt``); one source per list, named
    by its mapping's ``options.source`` (each name once).

    Raises
    ------
    DataValidationError
        No mapping in the folder, a mapping without its list (or with several), or two lists
        with the same source name.
    """
    folder = Path(folder)
    mappings = sorted(folder.glob("*.mapping.yaml")) if folder.is_dir() else []
    if not mappings:
        raise DataValidationError(explain(
            f"No list of actors with its mapping in {str(folder)!r}.",
            "A folder of lists holds <name>.csv (or .xlsx) beside <name>.mapping.yaml.",
            "Check the folder, or load a single file with --actors-file."))
    results: list[SourceResult] = []
    for mapping in mappings:
        stem = mapping.name[: -len(".mapping.yaml")]
        data = [folder / f"{stem}{ext}" for ext in (".csv", ".xlsx", ".xlsm", ".txt")
                if (folder / f"{stem}{ext}").is_file()]
        if len(data) != 1:
            raise DataValidationError(explain(
                f"The mapping {mapping.name!r} has {len(data)} list files beside it.",
                f"It describes exactly one file named {stem}.csv (or .xlsx, .xlsm, .txt).",
                "Rename the list after its mapping, or remove the extra copies."))
        results.append(load_actors(data[0], mapping=mapping, geocode=geocode,
                                   communes=communes, reference=reference,
                                   geocoder_url=geocoder_url, progress=progress))
    names = [r.source for r in results]
    if len(set(names)) != len(names):
        raise DataValidationError(explain(
            f"Two lists of {str(folder)!r} have the same source name: {names}.",
            "Each list is one source of the snapshot, with its own row accounting.",
            "Give each mapping its own 'options: source: <name>'."))
    return results


def actors_from_table(raw: pd.DataFrame, info: TableInfo, mapping: str | Path | dict | None = None,
                      *, name: str, vintage: str, geocode: bool = True,
                      communes: pd.DataFrame | None = None, reference=None,
                      geocoder_url: str | None = None, min_score: float = 0.8,
                      progress: bool = False) -> SourceResult:
    """:func:`load_actors` on a table already read: text columns as :func:`read_table` gives
    them (NA for blanks) plus ``_ligne`` (Int64 row reference).  Also used by the clients of
    services that answer with lists of actors (:mod:`etl.inclusion_api`)."""
    spec = load_mapping(mapping)
    options = spec["options"]
    source = str(options.get("source") or SOURCE)
    if communes is None and reference is not None:
        communes = reference.communes
    headers = [c for c in raw.columns if c not in ("_ligne", "_formules")]
    cols = resolve_columns(headers, spec)
    rows = _fields(raw, cols, spec["valeurs"])
    place = _declared_place(rows, communes)
    checked = _check_rows(rows, raw["_ligne"], place, source)
    checked = checked._replace(reason=_formula_reasons(raw, cols, checked.reason))
    located = _locate(rows, raw, cols, checked.reason, place, options, communes=communes,
                      reference=reference, geocode=geocode, geocoder_url=geocoder_url,
                      min_score=min_score, progress=progress)
    reason = located.reason
    kept = reason.isna()
    out = _structures(rows[kept], checked, place, located, kept, options)
    out["_ligne"] = raw.loc[kept, "_ligne"]  # for the assignment's rejects
    out["sources"] = source
    out["millesimes"] = json.dumps({source: vintage})
    from etl.normalise import conform_structures, make_rejects

    structures = conform_structures(out)
    rejects = make_rejects(source, raw.loc[~kept, headers], reason[~kept],
                           ligne=raw.loc[~kept, "_ligne"], siret_column="\0")
    rejects["siret"] = checked.siret[~kept].astype("string").to_numpy()
    notes = {"format": info.format, "encodage": info.encoding, "separateur": info.separator,
             "colonnes": cols, "geocodage": {
                 k: int(v) for k, v in located.geo_reason[kept].replace("", "accepte")
                 .value_counts().items()},
             "localisation": located.notes, "siret_zero_restaure": checked.zero_restored,
             "types": {str(k): int(v) for k, v in
                       structures["type_structure"].value_counts().items()},
             "gestion_publique": int(structures["gestion_publique"].fillna(False).sum()),
             **{k: str(options[k]) for k in _STATED if options.get(k)}}
    result = SourceResult(source=source, structures=structures, rejects=rejects,
                          read=len(raw), vintage=vintage, files={name: info.sha256},
                          notes=notes)
    result.check_accounting()
    log.info("%s: %d kept (%s), %d rejected", name, len(structures),
             structures["location_precision"].value_counts().to_dict(), len(rejects))
    return result


def _formula_reasons(raw: pd.DataFrame, cols: dict[str, list[str]], reason: pd.Series
                     ) -> pd.Series:
    """Reject the rows where a column we use holds an XLSX formula without cached value
    (:func:`read_table`): its value is unknown, so the row cannot be read honestly (a name
    would be "missing", an address silently dropped)."""
    if "_formules" not in raw:
        return reason
    used = {c for columns in cols.values() for c in columns}

    def lost(text):
        cells = json.loads(text)
        return "; ".join(f"{h} ({v})" for h, v in cells.items() if h in used) or None

    detail = map_values(raw["_formules"], lost)
    return reason.mask(detail.notna(), "formule_sans_valeur: " + detail + " : formule sans "
                       "valeur calculée dans le fichier ; ouvrez-le dans un tableur et "
                       "enregistrez-le (les formules seront calculées), ou exportez-le en CSV")


class _Located(NamedTuple):
    lon: pd.Series
    lat: pd.Series
    precision: pd.Series
    commune: pd.Series      # declared commune code, completed by the geocoder
    reason: pd.Series       # the checks' reasons plus commune_inconnue
    geo_reason: pd.Series
    notes: dict


def _locate(rows, raw, cols, reason, place: _Place, options, *, communes, reference, geocode,
            geocoder_url, min_score, progress) -> _Located:
    """The location rule of the module docstring, for the rows not rejected yet."""
    from etl.actor_points import check_source_points, location_notes, source_points
    from etl.plausibility import TOLERANCE_M

    def column(field_name):
        return _join(raw, cols[field_name]) if cols.get(field_name) else None

    n = len(rows)
    lon = pd.Series(np.nan, index=rows.index)
    lat = pd.Series(np.nan, index=rows.index)
    precision = pd.Series(pd.NA, index=rows.index, dtype="string")
    commune = place.commune.copy()
    given_lon, given_lat, crs = source_points(column("longitude"), column("latitude"),
                                              column("x"), column("y"), options.get("crs"))
    if not len(given_lon):
        given_lon, given_lat = np.full(n, np.nan), np.full(n, np.nan)
    tolerance = float(options.get("tolerance_m") or TOLERANCE_M)
    verdict = check_source_points(given_lon, given_lat, communes=communes, reference=reference,
                                  commune=commune, departement=place.departement,
                                  code_postal=place.postcode, tolerance_m=tolerance)
    open_rows = reason.isna().to_numpy()
    use = verdict.use & open_rows
    lon[use], lat[use] = given_lon[use], given_lat[use]
    precision[use] = "coordonnees_source"
    geo_reason = pd.Series("adresse_absente", index=rows.index, dtype="string")
    geo_reason[use] = ""
    todo = pd.Series(open_rows & ~use, index=rows.index) & rows["adresse"].notna()
    if geocode and todo.any():
        _geocode(rows, todo, place, commune, lon, lat, precision, geo_reason,
                 geocoder_url=geocoder_url, min_score=min_score, progress=progress)
    elif not geocode:
        geo_reason.loc[todo] = "geocodage_desactive"
    fallback = reason.isna() & precision.isna() & commune.notna()
    precision.loc[fallback] = "centroide_commune"
    lost = reason.isna() & precision.isna()
    far = pd.Series(verdict.status == "implausible", index=rows.index)
    declared = ("commune " + commune).fillna("département " + place.departement.fillna(
        place.postcode.str.slice(0, 2))).fillna("?")
    article = declared.str.startswith("commune").map({True: "de la ", False: "du "})
    detail = ("; point fourni à " + pd.Series(np.round(verdict.distance_m / 1000, 1),
                                              index=rows.index).astype("string")
              + " km " + article + declared).where(far, "")
    reason = reason.mask(lost, "commune_inconnue: " + geo_reason.fillna("") +
                         "; ni code commune valide ni commune retrouvée" + detail)
    notes = location_notes(verdict, open_rows, precision.where(reason.isna()),
                           rows["nom"].fillna(""), raw["_ligne"], declared,
                           tolerance_m=tolerance, crs=crs)
    return _Located(lon, lat, precision, commune, reason, geo_reason, notes)


def _geocode(rows, todo, place: _Place, commune, lon, lat, precision, geo_reason, *,
             geocoder_url, min_score, progress) -> None:
    """Geocode the ``todo`` rows with the BAN and fill the series given (in place)."""
    from etl.geocode import (
        accept_results,
        geocode_addresses,
        is_cedex,
        normalise_address,
        normalise_commune_name,
    )

    # CEDEX postcodes are mail routing codes, not places: neither query text nor filter
    cedex = is_cedex(rows["commune"]) | is_cedex(rows["adresse"])
    query = pd.DataFrame({"adresse": normalise_address(rows["adresse"]),
                          "code_postal": place.postcode.mask(cedex),
                          "commune": normalise_commune_name(rows["commune"])})[todo]
    query_cols = ["adresse"] + [c for c in ("code_postal", "commune") if query[c].notna().any()]
    answer = geocode_addresses(
        query, query_cols, postcode="code_postal" if "code_postal" in query_cols else None,
        base_url=geocoder_url, progress=progress)
    verdict = accept_results(answer, expected_citycode=place.code[todo],
                             expected_postcode=place.postcode[todo], min_score=min_score)
    ok = verdict["accepted"]
    idx = ok[ok].index
    lon.loc[idx] = answer.loc[idx, "longitude"]
    lat.loc[idx] = answer.loc[idx, "latitude"]
    precision.loc[idx] = "ban_adresse"
    commune.loc[idx] = commune.loc[idx].fillna(answer.loc[idx, "result_citycode"])
    geo_reason.loc[verdict.index] = verdict["raison"].fillna("")
    municipal = (verdict["raison"] == "niveau_commune").fillna(False) & verdict[
        "commune_coherente"]
    mun_idx = municipal[municipal].index
    commune.loc[mun_idx] = commune.loc[mun_idx].fillna(answer.loc[mun_idx, "result_citycode"])


def _structures(out: pd.DataFrame, checked: _Checked, place: _Place, located: _Located,
                kept: pd.Series, options: dict) -> pd.DataFrame:
    """The kept rows in the structures columns (before :func:`conform_structures`)."""
    from etl.families import families_of, legal_form_labels, naf_sections

    out = out.copy()
    siret = checked.siret[kept]
    out["siret"], out["siren"], out["nic"] = (siret, siret.str.slice(0, 9),
                                              siret.str.slice(9, 14))
    out["identifiant"] = checked.identifiant[kept]
    out["code_postal"] = place.postcode[kept]
    out["commune_declaree"] = located.commune[kept]
    out["longitude"], out["latitude"] = located.lon[kept], located.lat[kept]
    out["location_precision"] = located.precision[kept]
    cj = _digits(out["categorie_juridique"]).str.zfill(4).where(
        lambda s: s.str.fullmatch(r"\d{4}").fillna(False))
    out["categorie_juridique"] = cj
    out["categorie_juridique_libelle"] = legal_form_labels(cj)
    kind = checked.type_structure[kept]
    out["type_structure"] = kind
    out["siae"] = kind.isin(list(SIAE_TYPES)).astype("boolean").where(kind.notna())
    public = public_from_text(out["famille"]).fillna(
        cj.str.slice(0, 1).isin(["4", "7"]).astype("boolean").where(cj.notna()))
    out["gestion_publique"] = public
    family = family_from_text(out["famille"]).fillna(families_of(cj).where(cj.notna()))
    family = family.mask(family.isna() & (kind == "AI").fillna(False), "association")
    out["famille_ess"] = family.fillna("autre").mask(public.fillna(False), "autre")
    esus = out["famille"].str.contains(r"\bESUS\b", case=False, regex=True)
    out["esus"] = esus.where(esus.fillna(False)).astype("boolean")  # True when said, else NA
    naf = out["naf"].str.upper().str.replace(r"^(\d\d)\.?(\d\d[A-Z])$", r"\1.\2", regex=True)
    out["naf"] = naf.where(naf.str.fullmatch(r"\d\d\.\d\d[A-Z]").fillna(False))
    sections = naf_sections(out["naf"])
    out["naf_section"], out["naf_libelle"] = sections["naf_section"], sections["naf_libelle"]
    places = pd.to_numeric(_digits(out["capacite"]), errors="coerce")
    out["capacite"] = places.where(places >= 0).astype("Int64")
    out["nom"] = _display_name(out, cj, options)
    out["etat_administratif"] = "A"
    return out


def _display_name(out: pd.DataFrame, cj: pd.Series, options: dict) -> pd.Series:
    """The name shown: the enseigne when asked (``nom_prefere: enseigne``) or when the row is
    a natural person (whose own name never shows: "Entrepreneur individuel" without one)."""
    enseigne = out["enseigne"].where(~out["enseigne"].str.fullmatch(r"[\d\s]+").fillna(False))
    person = individual_from_text(out["famille"]) | cj.str.startswith("1").fillna(False)
    name = out["nom"]
    if str(options.get("nom_prefere") or "").lower() == "enseigne":
        name = enseigne.fillna(name)
    return name.mask(person, enseigne.fillna(NOM_ENTREPRENEUR_INDIVIDUEL))
