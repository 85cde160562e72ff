"""Plain functions behind the pages (no Streamlit): scope, peers, search, ranks, key figures,
zones blanches, snapshot diff and French tables.  Tested in ``tests/app/test_logic.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from observatory.vocabulary import LEVELS_COARSE_FIRST
from render import fr

__all__ = [
    "COMPARISONS",
    "KEY_INDICATORS",
    "Context",
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


@dataclass
class Context:
    """What every page needs: the reference geography and the snapshots."""

    reference: Any
    snapshots: list[dict]
    quarter: str
    previous: str | None
    snapshot: Any

    @property
    def manifest(self) -> dict:
        return dict(getattr(self.snapshot, "manifest", {}) or {})

    @property
    def is_demo(self) -> bool:
        return bool(self.manifest.get("demo"))


# --------------------------------------------------------------------------- territories
def _layer(reference, level: str) -> pd.DataFrame:
    if hasattr(reference, "layer"):
        return reference.layer(level)
    return getattr(reference, {"region": "regions", "departement": "departements"}
                   .get(level, level if level == "epci" else level + "s"))


def _territoire(snapshot) -> tuple[str | None, str | None]:
    """(level, code) of the snapshot's territory from its manifest ("departement:21")."""
    text = str((getattr(snapshot, "manifest", {}) or {}).get("territoire") or "").strip()
    if ":" in text:
        level, code = text.split(":", 1)
        level = level.strip().lower()
        if level in LEVELS_COARSE_FIRST:
            return level, code.strip()
    return None, None


def scope_communes(reference, snapshot) -> gpd.GeoDataFrame:
    """Communes covered by the snapshot: its territory ("departement:21", "region:27"), all
    communes for a national snapshot ("france"), else the régions where structures are."""
    communes = reference.communes
    level, code = _territoire(snapshot)
    if level == "commune":
        return communes.loc[[code]]
    if level is not None:
        inside = communes[(communes[level].astype("string") == code).fillna(False)]
        if len(inside):
            return inside
    territoire = str((getattr(snapshot, "manifest", {}) or {}).get("territoire", "")).lower()
    structures = snapshot.structures
    regions = structures["region"].dropna().unique() if "region" in structures else []
    if len(regions) == 0 or territoire in ("france", "national", "fr"):
        return communes
    return communes[communes["region"].isin(list(regions))]


def coverage_text(reference, snapshot) -> str | None:
    """French sentence naming the territory a partial snapshot covers (None if national)."""
    level, code = _territoire(snapshot)
    if level is None:
        return None
    layer = reference.communes if level == "commune" else _layer(reference, level)
    nom = layer.at[code, "nom"] if code in layer.index else code
    return (f"L'instantané couvre un seul territoire : {nom} ({fr.NIVEAUX[level].lower()} "
            f"{code}). Les comparaisons et les rangs se limitent aux territoires couverts ; "
            "un EPCI à cheval sur plusieurs départements n'est compté que pour sa partie "
            "couverte.")


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
    layer = _layer(reference, level)
    if parent_level in layer.columns:
        return layer.index[layer[parent_level].astype("string") == parent_code]
    inside = communes[communes[parent_level].astype("string") == parent_code]
    return pd.Index(inside[level].dropna().unique())


def parent_of(reference, level: str, code: str) -> tuple[str | None, str | None]:
    """The natural parent (level, code) of a territory, used to choose its peers."""
    if level == "region":
        return None, None
    if level == "commune":
        row = reference.communes.loc[code]
        return "departement", str(row["departement"])
    layer = _layer(reference, level)
    parent_level = "region" if level == "departement" else "departement"
    return parent_level, str(layer.loc[code, parent_level])


def peers_of(reference, level: str, code: str) -> pd.Index:
    """Territories compared with ``code``: same level, same parent (région for a département,
    département for an EPCI or a commune, all régions for a région)."""
    parent_level, parent_code = parent_of(reference, level, code)
    if parent_level is None:
        return _layer(reference, "region").index
    return members(reference, level, parent_level, parent_code)


def territory_index(reference, scope: pd.DataFrame) -> pd.DataFrame:
    """Searchable list of régions, départements, EPCI and communes touching ``scope``."""
    frames = []
    for level in LEVELS_COARSE_FIRST:
        if level == "commune":
            layer = scope
        else:
            layer = _layer(reference, level)
            layer = layer[layer.index.isin(scope[level].dropna().unique())]
        frames.append(pd.DataFrame({
            "code": layer.index.astype(str), "niveau": level,
            "nom": layer["nom"].astype(str).to_numpy(),
        }))
    out = pd.concat(frames, ignore_index=True)
    out["libelle"] = (out["nom"] + " (" + out["niveau"].map(fr.NIVEAUX).str.lower() + ", "
                      + out["code"] + ")")
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
    found = found.sort_values(["_exact", "_level", "nom"])
    return found.drop(columns=["_exact", "_level"]).head(limit)


def display_geometries(reference, level: str,
                       within: tuple[str, str] | None = None) -> gpd.GeoDataFrame:
    """Simplified geometries for maps (``nom`` + ``geometry``), optionally inside a parent."""
    if hasattr(reference, "display"):
        gdf = reference.display(level, within=within[1] if within else None)
    else:
        gdf = _layer(reference, level)
    if within is not None:
        parent_level, code = within
        codes = members(reference, level, parent_level, code)
        gdf = gdf[gdf.index.isin(codes)]
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


def _decimals(indicator) -> int:
    return _DECIMALS_HINT.get(getattr(indicator, "unit_fr", ""), 0)


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
                peers: pd.Index, indicators: dict) -> pd.DataFrame:
    """Key figures of a territory: value, rank among peers, change since last quarter."""
    rows = []
    for name in KEY_INDICATORS:
        if name not in table.columns or name not in indicators:
            continue
        ind = indicators[name]
        dec = _decimals(ind)
        value = table.at[code, name] if code in table.index else np.nan
        ascending = name.startswith("distance") or name.startswith("part_population_plus")
        rank, n = rank_in(table[name], code, peers, ascending=ascending)
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
            "Rang": _rank_text(rank, n, _tied(table[name], value, peers)),
            "Évolution depuis le trimestre précédent": fr.variation(change, dec),
            "valeur": value,
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
    manifest = ctx.manifest
    vintages = getattr(ctx.reference, "vintages", {}) or {}
    sources = manifest.get("sources", {}) or {}
    millesimes = ", ".join(
        f"{name} {info.get('vintage')}" for name, info in sources.items()
        if isinstance(info, dict) and info.get("vintage")
    )
    demo = " Données fictives de démonstration." if ctx.is_demo else ""
    return (f"Source : observatoire de l'ESS, instantané {fr.trimestre_fr(ctx.quarter)}"
            f"{' (' + millesimes + ')' if millesimes else ''} ; INSEE (SIRENE, populations "
            f"légales {vintages.get('population', '')}) ; IGN ({vintages.get('geometrie', '')}, "
            f"{vintages.get('cog', 'COG')}).{demo}")
