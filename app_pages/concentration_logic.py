"""What the « Concentrations » page computes and says (plain functions, no Streamlit).

* **Location quotients** (:func:`indicators.concentration.location_quotients`) of a family or
  a sector by commune of a département or a région, against the whole perimeter of the
  snapshot (France for a national snapshot).  A quotient computed on a handful of structures
  means nothing (one association out of two structures gives 0,5 or 1,1 by chance): below
  :data:`MIN_STRUCTURES` structures in the commune it is not shown, and the map says why.
* **Hot and cold spots**: local Getis-Ord Gi* (:func:`indicators.hotspots.hot_spots`) of the
  number of structures, or of structures per 10 000 inhabitants, by commune of the area.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from indicators.concentration import location_quotients
from indicators.registry import FAMILY_LABELS, family_column, sector_column
from indicators.sectors import SECTOR_LABELS
from render import fr

__all__ = [
    "BY",
    "HOT_SPOT_TEXT",
    "LEVELS",
    "MEASURES",
    "MEASURE_NOTES",
    "MIN_STRUCTURES",
    "QUOTIENT_TEXT",
    "area_layers",
    "categories",
    "count_column",
    "departements_of",
    "hotspot_table",
    "hotspot_values",
    "measure_label",
    "quotient_rows",
    "quotients",
    "reference_text",
    "threshold_text",
]

#: Fewest structures in a commune for its location quotient to be shown.
MIN_STRUCTURES = 5
LEVELS = {"departement": "Département", "region": "Région"}
BY = {"famille_ess": "Familles de l'ESS", "secteur_ess": "Secteurs d'activité"}
MEASURES = {"structures": "Nombre de structures",
            "per_10k": "Structures pour 10 000 habitants"}
MEASURE_NOTES = {
    "structures": "Le nombre de structures suit en grande partie la population : ses points "
                  "chauds montrent où les structures se concentrent (autour des villes).",
    "per_10k": "Rapporté à la population, il montre où les structures sont nombreuses pour "
               "le nombre d'habitants ; les petites communes y pèsent beaucoup (une structure "
               "pour 50 habitants fait 200 pour 10 000).",
}

QUOTIENT_TEXT = (
    "Le **quotient de localisation** compare le poids d'une catégorie dans une commune à son "
    "poids dans {reference}. Il vaut **1** quand la catégorie pèse autant dans la commune "
    "que dans la référence, **2** quand elle y pèse deux fois plus, **0,5** deux fois moins. "
    f"Il n'est calculé que pour les communes d'au moins {MIN_STRUCTURES} structures : "
    "en deçà, une seule structure de plus ou de moins le ferait varier du simple au double."
)
HOT_SPOT_TEXT = (
    "Un **point chaud** est une commune qui, **avec ses communes voisines**, a des valeurs "
    "nettement plus élevées que la moyenne du territoire : plus élevées que ce que le hasard "
    "donnerait si les structures étaient réparties sans lien avec la géographie. Un **point "
    "froid** est l'inverse : une commune et ses voisines aux valeurs nettement plus faibles. "
    "Une commune isolée aux valeurs élevées entourée de valeurs faibles n'est donc pas un "
    "point chaud : c'est le regroupement qui compte (statistique Gi* de Getis et Ord, "
    "voisines = communes qui se touchent)."
)


def categories(by: str) -> dict[str, str]:
    """Category code -> French label, for families or sectors."""
    if by == "famille_ess":
        return dict(FAMILY_LABELS)
    if by == "secteur_ess":
        return dict(SECTOR_LABELS)
    raise ValueError(f"by must be one of {', '.join(BY)}, not {by!r}")


def count_column(by: str, category: str | None) -> str:
    """Column of the indicator table counting the category (all structures when None)."""
    if not category:
        return "structures"
    return family_column(category) if by == "famille_ess" else sector_column(category)


def area_layers(communes: gpd.GeoDataFrame, departements: gpd.GeoDataFrame | None,
                table: pd.DataFrame, inside: list[str] | None = None
                ) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame | None]:
    """(communes of the area covered by the snapshot, with their population — it ranks the
    names written on the map —, the départements other than ``inside`` as grey context)."""
    area = communes[communes.index.isin(table.index)]
    if "population" not in area:
        area = area.join(table[["population"]], how="left")
    if departements is None:
        return area, None
    return area, departements[~departements.index.isin(inside or [])]


def departements_of(reference, level: str, code: str) -> list[str]:
    """Départements making up the area (the one, or those of the région)."""
    if level == "departement":
        return [code]
    layer = reference.departements
    return list(layer.index[(layer["region"].astype("string") == code).fillna(False)])


def reference_text(coverage: str | None) -> str:
    """What the quotients compare with: France, or the territory a partial snapshot covers
    (``coverage``: :func:`app_pages.logic.coverage_text`, None when national)."""
    return ("la France entière" if coverage is None
            else "l'ensemble du territoire couvert par l'instantané")


def measure_label(measure: str, category_label: str | None) -> str:
    """« Nombre de structures (associations) »: the value analysed, in words."""
    base = MEASURES[measure]
    return f"{base} ({category_label.lower()})" if category_label else base


def quotient_rows(lq: pd.DataFrame, names: pd.Series) -> pd.DataFrame:
    """The quotients as table rows (code, commune name, counts, quotient, remark), highest
    quotient first, communes without one last."""
    rows = lq.assign(nom=names.reindex(lq.index).astype("string")).reset_index(names="code")
    rows = rows[["code", "nom", "structures", "structures_categorie", "quotient", "motif"]]
    return rows.sort_values("quotient", ascending=False, na_position="last", kind="stable") \
        .reset_index(drop=True)


def quotients(scope_table: pd.DataFrame, codes: pd.Index, by: str,
              category: str) -> pd.DataFrame:
    """Quotient of ``category`` for the communes ``codes``, against the whole scope.

    Returns ``quotient`` (NA below :data:`MIN_STRUCTURES` structures or when undefined),
    ``structures``, ``structures_categorie`` (its count) and ``motif`` (why the quotient is
    missing).
    """
    column = count_column(by, category)
    counts = [c for c in scope_table.columns if c == "structures" or c.startswith("n_")]
    totals = scope_table[counts].apply(pd.to_numeric, errors="coerce").sum().to_frame().T
    area = scope_table.loc[scope_table.index.intersection(codes)]
    lq = location_quotients(area, by=by, reference_totals=totals)[f"lq_{column[2:]}"]
    structures = pd.to_numeric(area["structures"], errors="coerce").fillna(0).astype(int)
    small = structures < MIN_STRUCTURES
    motif = pd.Series(pd.NA, index=area.index, dtype="string")
    motif[small] = [f"effectif trop faible : {fr.compte(n, 'structure')} (moins de "
                    f"{MIN_STRUCTURES})" for n in structures[small]]
    return pd.DataFrame({
        "quotient": lq.astype("Float64").mask(small),
        "structures": structures,
        "structures_categorie": pd.to_numeric(area[column], errors="coerce").fillna(0)
        .astype(int),
        "motif": motif,
    }, index=area.index)


def hotspot_values(table: pd.DataFrame, by: str, category: str | None,
                   measure: str) -> pd.Series:
    """The value tested for hot spots: the count of the category, or per 10 000 inhabitants
    (missing for a commune without population)."""
    count = pd.to_numeric(table[count_column(by, category)], errors="coerce").astype(float)
    if measure == "structures":
        return count
    population = pd.to_numeric(table["population"], errors="coerce").astype(float)
    return (count / population * 10_000).where(population > 0)


def threshold_text(attrs: dict) -> str:
    """The significance threshold used, in plain French (from the attrs of hot_spots)."""
    cut = attrs.get("seuil_p_gi")
    alpha = attrs.get("alpha", 0.05)
    # Gi* draws its own number of random placements (indicators.hotspots.gi_draws)
    permutations = attrs.get("tirages_gi", attrs.get("permutations"))
    if cut is None:
        return ("Aucun test n'est possible : la valeur est la même dans toutes les communes.")
    draws = (f" La probabilité p est estimée en redistribuant {fr.entier(permutations)} fois "
             "les valeurs au hasard entre les communes." if permutations else "")
    if attrs.get("fdr"):
        return (f"Seuil de significativité : une commune n'est retenue que si sa probabilité "
                f"critique p est au plus de {fr.nombre(cut, 4)}. Ce seuil limite à "
                f"{fr.pourcentage(alpha, 0)} la part de « fausses découvertes » parmi les "
                f"communes retenues (méthode de Benjamini et Hochberg), car on teste "
                f"beaucoup de communes à la fois.{draws}")
    return (f"Seuil de significativité : une commune est retenue quand sa probabilité "
            f"critique p est au plus de {fr.nombre(cut, 4)} (risque d'erreur de "
            f"{fr.pourcentage(alpha, 0)} pour chaque commune).{draws}")


def hotspot_table(result: pd.DataFrame, names: pd.Series, decimales: int) -> pd.DataFrame:
    """Hot then cold spots, strongest first (raw columns, for the French table/export)."""
    keep = result[result["gi_classe"].isin(["point chaud", "point froid"]).fillna(False)]
    out = pd.DataFrame({
        "code": keep.index.astype(str),
        "nom": names.reindex(keep.index).astype("string").to_numpy(),
        "resultat": keep["gi_classe"].astype("string").str.capitalize().to_numpy(),
        "valeur": pd.to_numeric(keep["valeur"], errors="coerce").round(decimales).to_numpy(),
        "score_z": pd.to_numeric(keep["gi_z"], errors="coerce").round(2).to_numpy(),
        "p": pd.to_numeric(keep["gi_p"], errors="coerce").round(3).to_numpy(),
    })
    order = out["resultat"].eq("Point chaud").map({True: 0, False: 1})
    return out.assign(_o=order, _z=-out["score_z"].abs()).sort_values(
        ["_o", "_z"], kind="stable").drop(columns=["_o", "_z"]).reset_index(drop=True)
