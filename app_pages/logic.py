"""Plain functions behind the pages (no Streamlit): scope, peers, search, ranks, key figures,
zones blanches, snapshot diff and French tables.  Tested in ``tests/app/test_logic.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from indicators.scope import covered_communes, territory_of
from observatory.vocabulary import LEVELS_COARSE_FIRST
from render import fr

__all__ = [
    "COMPARISONS",
    "among",
    "KEY_INDICATORS",
    "SMALL_POPULATION",
    "Context",
    "covers_text",
    "is_population_rate",
    "layer",
    "small_population",
    "niveau_fr",
    "territoire",
    "compute_table",
    "display_geometries",
    "fr_table",
    "key_figures",
    "members",
    "peers_of",
    "rank_in",
    "scope_communes",
    "search_territories",
    "source_text",
    "territory_index",
]

#: Comparison views: key -> (French label, level compared, parent level).
COMPARISONS = {
    "departements": ("Départements d'une région", "departement", "region"),
    "epci": ("EPCI d'un département", "epci", "departement"),
    "communes_epci": ("Communes d'un EPCI", "commune", "epci"),
    "communes_dep": ("Communes d'un département", "commune", "departement"),
}
#: Indicators shown as key figures, in order.
KEY_INDICATORS = ("structures", "structures_per_10k", "structures_per_100km2",
                  "emplois_estimes", "distance_moyenne_km", "part_population_plus_10km",
                  "part_population_couverte")
_DECIMALS_HINT = {"pour 10 000 hab.": 1, "pour 100 km²": 1, "%": 1, "km": 1}
#: Below this population a rate per inhabitant is flagged « faible effectif » and left out of
#: commune rankings by default: one structure more or less moves it by 10 per 10 000 or more.
SMALL_POPULATION = 1_000


@dataclass
class Context:
    """What every page needs: the reference geography and the snapshots."""

    reference: Any
    snapshots: list[dict]
    quarter: str
    previous: str | None
    snapshot: Any
    serie: str = "ess"
    series: list[str] = field(default_factory=lambda: ["ess"])

    @property
    def quarters(self) -> list[str]:
        return [str(m.get("quarter")) for m in self.snapshots]

    @property
    def manifest(self) -> dict:
        return dict(getattr(self.snapshot, "manifest", {}) or {})

    @property
    def is_demo(self) -> bool:
        return bool(self.manifest.get("demo"))


# --------------------------------------------------------------------------- territories
def among(values, allowed) -> np.ndarray:
    """``values.isin(allowed)`` as a boolean array, fast when ``allowed`` is large:
    pandas' isin of Arrow strings walks the allowed values in Python (1.5 s for the 35 000
    communes); Arrow's hash lookup does not."""
    import pyarrow as pa
    import pyarrow.compute as pc

    left = pa.array(pd.Index(values).astype("string").to_numpy(dtype=object, na_value=None),
                    type=pa.string())
    right = pa.array(pd.Index(allowed).astype("string").to_numpy(dtype=object, na_value=None),
                     type=pa.string())
    return pc.is_in(left, value_set=right).to_numpy(zero_copy_only=False)



def layer(reference, level: str) -> pd.DataFrame:
    """The reference layer of ``level`` (index code, ``nom``...)."""
    if hasattr(reference, "layer"):
        return reference.layer(level)
    return getattr(reference, {"region": "regions", "departement": "departements"}
                   .get(level, level if level == "epci" else level + "s"))


def territoire(snapshot) -> tuple[str | None, str | None]:
    """(level, code) of the snapshot's territory from its manifest ("departement:21")."""
    return territory_of((getattr(snapshot, "manifest", {}) or {}).get("territoire"))


def scope_communes(reference, snapshot) -> gpd.GeoDataFrame:
    """Communes covered by the snapshot (:func:`indicators.scope.covered_communes`, the one
    rule that the CLI uses too)."""
    manifest = getattr(snapshot, "manifest", {}) or {}
    return covered_communes(reference.communes, manifest.get("territoire"),
                            snapshot.structures)


def covers_text(reference, snapshot) -> str:
    """What a snapshot covers, in French: « toute la France », « le département Côte-d'Or
    (21) »."""
    level, code = territoire(snapshot)
    if level is None:
        return "toute la France"
    lay = reference.communes if level == "commune" else layer(reference, level)
    nom = lay.at[code, "nom"] if code in lay.index else code
    article = {"region": "la région", "departement": "le département", "epci": "l'EPCI",
               "commune": "la commune"}[level]
    return f"{article} {nom} ({code})"


def coverage_text(reference, snapshot) -> str | None:
    """French sentence naming the territory a partial snapshot covers (None if national)."""
    level, _ = territoire(snapshot)
    if level is None:
        return None
    return (f"L'instantané couvre {covers_text(reference, snapshot)}. Les comparaisons et "
            "les rangs se limitent aux territoires couverts ; un territoire couvert en partie "
            "est calculé sur sa seule partie couverte, et signalé comme tel.")


def compute_table(structures: pd.DataFrame, communes: pd.DataFrame, level: str, *,
                  base: pd.DataFrame | None = None, names: pd.Series | None = None,
                  structures_cog: str | None = None, reference_cog: str | None = None,
                  density: pd.DataFrame | None = None) -> pd.DataFrame:
    """Indicator table of ``level`` (delegates to :func:`indicators.table.indicator_table`)."""
    from indicators.table import indicator_table

    return indicator_table(structures, communes, level, base=base, density=density,
                           names=None if level == "commune" else names,
                           structures_cog=structures_cog, reference_cog=reference_cog)


def members(reference, level: str, parent_level: str | None, parent_code: str | None,
            scope: pd.DataFrame | None = None) -> pd.Index:
    """Codes of the territories of ``level`` inside the parent territory.

    EPCI belong to the département of most of their members; communes to their EPCI or
    département; départements to their région.  Without a parent, every territory of the
    level that has a commune in ``scope``.
    """
    communes = reference.communes if scope is None else scope
    if level == "commune":
        if parent_level is None:
            return communes.index
        return communes.index[communes[parent_level].astype("string") == parent_code]
    if parent_level is None:
        return pd.Index(communes[level].dropna().unique())
    if parent_level == level:
        return pd.Index([parent_code])
    lay = layer(reference, level)
    if parent_level in lay.columns:
        return lay.index[lay[parent_level].astype("string") == parent_code]
    inside = communes[communes[parent_level].astype("string") == parent_code]
    return pd.Index(inside[level].dropna().unique())


def parent_of(reference, level: str, code: str) -> tuple[str | None, str | None]:
    """The natural parent (level, code) of a territory, used to choose its peers."""
    if level == "region":
        return None, None
    if level == "commune":
        row = reference.communes.loc[code]
        return "departement", str(row["departement"])
    lay = layer(reference, level)
    parent_level = "region" if level == "departement" else "departement"
    return parent_level, str(lay.loc[code, parent_level])


def peers_of(reference, level: str, code: str) -> pd.Index:
    """Territories compared with ``code``: same level, same parent (région for a département,
    département for an EPCI or a commune, all régions for a région)."""
    parent_level, parent_code = parent_of(reference, level, code)
    if parent_level is None:
        return layer(reference, "region").index
    return members(reference, level, parent_level, parent_code)


def niveau_fr(level: str) -> str:
    """Level name inside a sentence: « commune », « département », but « EPCI »."""
    return fr.NIVEAUX[level] if level == "epci" else fr.NIVEAUX[level].lower()


def territory_index(reference, coverage: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Searchable list of every région, département, EPCI and commune of France, with its
    coverage by the snapshot (``couverture``: ``complet``, ``partiel`` or ``absent``;
    ``coverage`` maps a level to :func:`app_pages.coverage.coverage_table`)."""
    frames = []
    for level in LEVELS_COARSE_FIRST:
        lay = layer(reference, level)
        codes = lay.index.astype(str)
        table = coverage.get(level)
        if table is None:
            state = np.full(len(codes), "absent", dtype=object)
        else:
            full = table["complet"].reindex(codes)
            state = np.where(full.isna(), "absent",
                             np.where(full.fillna(False).astype(bool), "complet", "partiel"))
        frames.append(pd.DataFrame({
            "code": codes, "niveau": level, "nom": lay["nom"].astype(str).to_numpy(),
            "couverture": state,
        }))
    out = pd.concat(frames, ignore_index=True)
    out["libelle"] = (out["nom"] + " (" + out["niveau"].map(niveau_fr) + ", " + out["code"]
                      + ")")
    out["cle"] = [fr.normaliser(n) + " " + c.lower() for n, c in zip(out["nom"], out["code"],
                                                                      strict=True)]
    return out


def search_territories(index: pd.DataFrame, query: str, limit: int = 30) -> pd.DataFrame:
    """Territories whose name or code contains every word of ``query`` (accents, case and
    punctuation ignored).  Exact name or code matches come first, then larger levels."""
    words = fr.normaliser(query).split()
    if not words:
        return index.iloc[0:0]
    mask = np.ones(len(index), dtype=bool)
    for word in words:
        mask &= index["cle"].str.contains(word, regex=False).to_numpy()
    found = index[mask].copy()
    target = " ".join(words)
    found["_exact"] = ~((found["nom"].map(fr.normaliser) == target)
                        | (found["code"].str.lower() == target))
    found["_level"] = found["niveau"].map({lvl: i for i, lvl in enumerate(LEVELS_COARSE_FIRST)})
    found["_absent"] = (found["couverture"] == "absent") if "couverture" in found else False
    found = found.sort_values(["_exact", "_absent", "_level", "nom"])
    return found.drop(columns=["_exact", "_level", "_absent"]).head(limit)


def display_geometries(reference, level: str,
                       within: tuple[str, str] | None = None) -> gpd.GeoDataFrame:
    """Simplified geometries for maps (``nom`` + ``geometry``), optionally inside a parent."""
    if hasattr(reference, "display"):
        gdf = reference.display(level, within=within[1] if within else None)
    else:
        gdf = layer(reference, level)
    if within is not None:
        parent_level, code = within
        codes = members(reference, level, parent_level, code)
        gdf = gdf[among(gdf.index, codes)]
    return gdf[["nom", "geometry"]]


# --------------------------------------------------------------------------- figures
def rank_in(values: pd.Series, code: str, peers: pd.Index,
            ascending: bool = False) -> tuple[int | None, int]:
    """Rank (1 = highest unless ``ascending``) of ``code`` among ``peers`` with a value."""
    sub = pd.to_numeric(values.reindex(peers), errors="coerce").dropna()
    if code not in sub.index:
        return None, len(sub)
    ranks = sub.rank(ascending=ascending, method="min")
    return int(ranks[code]), len(sub)


def decimals(indicator) -> int:
    """Decimals used to show an indicator (one for rates, shares and distances)."""
    return _DECIMALS_HINT.get(getattr(indicator, "unit_fr", ""), 0)


def is_population_rate(indicator) -> bool:
    """A rate per inhabitant (or a share of the population): unstable on small populations."""
    return (getattr(indicator, "kind", "") == "intensive"
            and getattr(indicator, "denominator", None) == "population")


def small_population(table: pd.DataFrame) -> pd.Series:
    """True for territories of fewer than :data:`SMALL_POPULATION` inhabitants (their rates
    are flagged « faible effectif »)."""
    if "population" not in table.columns:
        return pd.Series(False, index=table.index)
    population = pd.to_numeric(table["population"], errors="coerce")
    return (population < SMALL_POPULATION).fillna(False).astype(bool)


def _tied(values: pd.Series, value, peers: pd.Index) -> bool:
    """True when another peer has exactly the same value (a shared rank)."""
    if pd.isna(value):
        return False
    peer_values = pd.to_numeric(values.reindex(values.index.intersection(peers)),
                                errors="coerce")
    return int((peer_values == value).sum()) > 1


def _rank_text(rank, n: int, tied: bool) -> str:
    """« 1er sur 19 », « 3e sur 19 (ex æquo) », or « – » without peers."""
    if not rank or n < 2:
        return "–"
    text = f"{rank}e sur {n}" if rank > 1 else f"1er sur {n}"
    return text + (" (ex æquo)" if tied else "")


def key_figures(table: pd.DataFrame, previous: pd.DataFrame | None, code: str,
                peers: pd.Index, indicators: dict, *, exclude_small: bool = False
                ) -> pd.DataFrame:
    """Key figures of a territory: value, rank among peers, change since last quarter.

    With ``exclude_small``, rates per inhabitant are ranked among the peers of at least
    :data:`SMALL_POPULATION` inhabitants only; a territory below it gets no rank for them.
    Text columns (``Indicateur``, ``Valeur``, ``Rang``, ``Évolution...``) feed the PDF; numeric
    ones (``valeur``, ``variation``, ``decimales``) the French table of the page.
    """
    small = small_population(table)
    rows = []
    for name in KEY_INDICATORS:
        if name not in table.columns or name not in indicators:
            continue
        ind = indicators[name]
        dec = decimals(ind)
        value = table.at[code, name] if code in table.index else np.nan
        ascending = name.startswith("distance") or name.startswith("part_population_plus")
        rate = is_population_rate(ind)
        flagged = rate and bool(small.get(code, False))
        ranked_peers = peers
        if rate and exclude_small:
            ranked_peers = peers[~small.reindex(peers).fillna(False).to_numpy(dtype=bool)]
        rank, n = rank_in(table[name], code, ranked_peers, ascending=ascending)
        change = np.nan
        if previous is not None and name in previous.columns and code in previous.index:
            change = pd.to_numeric(pd.Series([value]), errors="coerce")[0] - pd.to_numeric(
                pd.Series([previous.at[code, name]]), errors="coerce")[0]
        rows.append({
            "indicateur": name,
            "Indicateur": ind.label_fr,
            "Valeur": fr.nombre(value, dec) + (f" {ind.unit_fr}" if ind.unit_fr not in (
                "structures", "habitants", "salariés") else ""),
            "unite": ind.unit_fr,
            "nombre": fr.nombre(value, dec),
            "Rang": _rank_text(rank, n, _tied(table[name], value, ranked_peers)),
            "Évolution depuis le trimestre précédent": fr.variation(change, dec),
            "valeur": value,
            "variation": change,
            "decimales": dec,
            "remarque": (f"faible effectif (moins de {fr.entier(SMALL_POPULATION)} habitants)"
                         if flagged else ""),
        })
    return pd.DataFrame(rows)


def fr_table(df: pd.DataFrame, labels: dict[str, str],
             decimals: dict[str, int] | None = None) -> pd.DataFrame:
    """Columns renamed to French labels and numbers written ``1 234,5`` (text)."""
    decimals = decimals or {}
    out = pd.DataFrame(index=df.index)
    for col, label in labels.items():
        if col not in df.columns:
            continue
        series = df[col]
        if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            dec = decimals.get(col, 0 if pd.api.types.is_integer_dtype(series) else 1)
            out[label] = [fr.nombre(v, dec) for v in series]
        elif pd.api.types.is_datetime64_any_dtype(series):
            out[label] = [fr.date_fr(v) for v in series]
        elif pd.api.types.is_bool_dtype(series):
            out[label] = series.map({True: "oui", False: "non"}).fillna("–")
        else:
            out[label] = series.astype("string").fillna("–")
    return out


# --------------------------------------------------------------------------- sources
def source_text(ctx: Context) -> str:
    """"Source : ..." line with vintages, written under every map and table."""
    vintages = getattr(ctx.reference, "vintages", {}) or {}
    parts = []
    for name, info in (ctx.manifest.get("sources", {}) or {}).items():
        if not isinstance(info, dict):
            continue
        notes = info.get("notes") if isinstance(info.get("notes"), dict) else {}
        vintage = str(info.get("vintage") or "")
        if notes.get("titre"):
            parts.append(str(notes["titre"]))
        elif vintage:
            parts.append(vintage if name.lower() in vintage.lower() else f"{name} {vintage}")
    demo = " Données fictives de démonstration." if ctx.is_demo else ""
    geometry = str(vintages.get("geometrie", "")).removeprefix("IGN ").strip()
    cog = vintages.get("cog", "COG")
    return (f"Source : observatoire de l'ESS, instantané du {fr.trimestre_fr(ctx.quarter)}"
            f"{' (' + ', '.join(parts) + ')' if parts else ''} ; INSEE (populations légales "
            f"{vintages.get('population', '')}) ; IGN ({', '.join(filter(None, [geometry, cog]))})."
            f"{demo}")
