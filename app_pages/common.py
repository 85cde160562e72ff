"""Shared pieces of the pages: page setup, cached loaders, banners, source notes, exports.

Loaders are cached (``st.cache_resource`` for the big read-only frames, which are never
mutated by the pages; ``st.cache_data`` for small derived tables).  Everything the user reads
is in French.
"""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import pandas as pd
import streamlit as st

from app_pages import loaders, logic, tables
from observatory.wording import DEMO_BANNER, REAL_DATA_COMMAND
from render import exports, fr, maps

__all__ = [
    "DEMO_BANNER",
    "REAL_DATA_COMMAND",
    "data_context",
    "demo_banner",
    "display_layer",
    "download_buttons",
    "indicator_table",
    "page_setup",
    "param",
    "set_params",
    "show_map",
    "source_caption",
    "tiles",
]



# --------------------------------------------------------------------------- setup
def page_setup(title: str) -> None:
    """Title of the page; the demo banner is added by :func:`demo_banner` once data is known."""
    st.title(title)


def param(name: str, default: str | None = None) -> str | None:
    """A permalink parameter from the URL (``st.query_params``)."""
    value = st.query_params.get(name)
    return value if value not in (None, "") else default


def set_params(**values: str | None) -> None:
    """Write permalink parameters (territory, level, indicator) into the URL."""
    for key, value in values.items():
        if value is None:
            if key in st.query_params:
                del st.query_params[key]
        elif st.query_params.get(key) != str(value):
            st.query_params[key] = str(value)


# --------------------------------------------------------------------------- loaders (pages)
data_context = loaders.data_context
indicator_table = loaders.indicator_table
display_layer = loaders.display_layer
density = loaders.density
map_assets = loaders.map_assets
tiles = loaders.tiles
warm_up = loaders.warm_up


# --------------------------------------------------------------------------- display
def coverage_note(ctx: logic.Context) -> None:
    """Say which territory a partial snapshot covers."""
    text = logic.coverage_text(ctx.reference, ctx.snapshot)
    if text:
        st.info(text)


def demo_banner(ctx: logic.Context) -> None:
    """Prominent banner on every page showing demonstration data."""
    if ctx.is_demo:
        st.warning(f"**{DEMO_BANNER}.** Aucune de ces structures n'existe : noms, adresses et "
                   "SIRET sont inventés. Pour charger les données réelles :\n\n"
                   f"`{REAL_DATA_COMMAND}`", icon=":material/warning:")


def source_caption(ctx: logic.Context, extra: str | None = None) -> None:
    """Source and vintage line written under every map and table."""
    st.caption(logic.source_text(ctx) + (f" {extra}" if extra else ""))


def show_map(m, *, height: int = 560, alt: str = "Carte") -> None:
    """Embed a folium map as a self-contained iframe (local Leaflet, no CDN)."""
    st.iframe(maps.map_html(m), height=height, alt=alt)


def download_buttons(df: pd.DataFrame, name: str, *, key: str,
                     about: Mapping[str, str] | None = None, geo: bool = False) -> None:
    """CSV (``;`` + BOM), XLSX and optionally GeoJSON downloads of exactly ``df``.

    The files are built only when the user clicks (deferred ``data`` callables), so the
    page does not pay for exports nobody asks for.
    """
    frame = df.copy()
    cols = st.columns(3 if geo else 2)
    cols[0].download_button("Télécharger en CSV", lambda: exports.csv_bytes(frame),
                            file_name=exports.export_filename(name, "csv"),
                            mime="text/csv", key=f"{key}_csv", on_click="ignore")
    cols[1].download_button("Télécharger en XLSX",
                            lambda: exports.xlsx_bytes(frame, about=about),
                            file_name=exports.export_filename(name, "xlsx"),
                            mime="application/vnd.openxmlformats-officedocument."
                                 "spreadsheetml.sheet",
                            key=f"{key}_xlsx", on_click="ignore")
    if geo:
        cols[2].download_button("Télécharger en GeoJSON", lambda: exports.geojson_bytes(frame),
                                file_name=exports.export_filename(name, "geojson"),
                                mime="application/geo+json", key=f"{key}_geojson",
                                on_click="ignore")


# --------------------------------------------------------------------------- helpers
def indicators() -> dict:
    """The indicator registry (French labels, units, kinds)."""
    from indicators.registry import INDICATORS

    return INDICATORS


def decimals(indicator) -> int:
    """Decimals used to show an indicator."""
    return logic._decimals(indicator)


def indicator_choices(table: pd.DataFrame) -> list[str]:
    """Indicators of the registry present (and not all missing) in ``table``, main ones first."""
    registry = indicators()
    first = [n for n in logic.KEY_INDICATORS if n in table.columns]
    rest = [n for n in registry if n in table.columns and n not in first
            and not n.startswith("n_section_") and n != "population_x_distance_km"]
    return [n for n in first + rest if table[n].notna().any()]


def scope(ctx: logic.Context) -> gpd.GeoDataFrame:
    """Communes covered by the current snapshot."""
    return loaders.scope(ctx.quarter)


@st.cache_data(max_entries=16)
def _territories(quarter: str, level: str) -> pd.DataFrame:
    ref = loaders.load_reference()
    communes = loaders.scope(quarter)
    codes = communes.index if level == "commune" else communes[level].dropna().unique()
    layer = ref.communes if level == "commune" else logic._layer(ref, level)
    out = pd.DataFrame({"nom": layer.loc[layer.index.isin(codes), "nom"].astype(str)})
    return out.sort_values("nom")


def territories_in_scope(ctx: logic.Context, level: str) -> pd.DataFrame:
    """Territories of ``level`` in the snapshot's scope (index code, column ``nom``)."""
    return _territories(ctx.quarter, level)


def default_territory(ctx: logic.Context, level: str) -> str | None:
    """The territory the app opens on: the most represented one in the snapshot."""
    structures = ctx.snapshot.structures
    if level in structures and structures[level].notna().any():
        return str(structures[level].value_counts().index[0])
    return None


def parse_thresholds(text: str) -> list[float]:
    """Manual class bounds typed the French way: ``5 ; 10,5 ; 20``."""
    values = []
    for part in text.replace("\u00a0", " ").split(";"):
        part = part.strip().replace(" ", "").replace(",", ".")
        if not part:
            continue
        try:
            values.append(float(part))
        except ValueError:
            return []
    return sorted(set(values))


def about(ctx: logic.Context, title: str) -> dict[str, str]:
    """The "À propos" sheet of XLSX exports."""
    info = {
        "Contenu": title,
        "Source": logic.source_text(ctx),
        "Instantané": ctx.quarter,
        "Licence": "Licence Ouverte / Etalab 2.0 — crédit : INSEE, IGN, ESS France",
        "Date d'export": fr.date_fr(pd.Timestamp.now()),
    }
    if ctx.is_demo:
        info["Avertissement"] = DEMO_BANNER
    return info


def reference_rows(ctx: logic.Context, parent_level: str, parent: str) -> pd.DataFrame:
    """Rows of the parent territory and its région, used as a reference in comparisons."""
    rows = [loaders.indicator_table(ctx.quarter, parent_level).loc[[parent]]]
    covered, _ = logic._territoire(ctx.snapshot)
    if parent_level != "region" and covered in (None, "region"):
        region = common_region(ctx, parent_level, parent)
        if region is not None:
            rows.append(loaders.indicator_table(ctx.quarter, "region").loc[[region]])
    out = pd.concat(rows)
    out["nom"] = [f"Référence : {n}" for n in out["nom"]]
    return out


def common_region(ctx: logic.Context, level: str, code: str) -> str | None:
    """Région of a territory."""
    layer = ctx.reference.communes if level == "commune" else logic._layer(ctx.reference, level)
    if "region" in layer.columns and code in layer.index:
        return str(layer.at[code, "region"])
    return None


_SHORT = {
    "structures": "Structures actives",
    "structures_per_10k": "Pour 10 000 habitants",
    "structures_per_100km2": "Pour 100 km²",
    "emplois_estimes": "Emplois estimés (salariés)",
}


def short_label(name: str, label: str) -> str:
    """Short label of a key figure (metric cards truncate long labels)."""
    return _SHORT.get(name, label)


def view_title(view: str, parent_name: str) -> str:
    """"EPCI du département Côte-d'Or"-style subtitle of a comparison view."""
    return {
        "departements": f"départements de la région {parent_name}",
        "epci": f"EPCI du département {parent_name}",
        "communes_epci": f"communes de l'EPCI {parent_name}",
        "communes_dep": f"communes du département {parent_name}",
    }[view]


def comparison_table(df: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """Indicators as rows, territories as columns, values written the French way."""
    registry = indicators()
    rows = []
    for name in names:
        ind = registry[name]
        row = {"Indicateur": f"{ind.label_fr} ({ind.unit_fr})"}
        for code, value in df[name].items():
            row[f"{df.at[code, 'nom']} ({code})"] = fr.nombre(value, decimals(ind))
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- page data
@st.cache_data(max_entries=4)
def _territory_index(quarter: str) -> pd.DataFrame:
    return logic.territory_index(loaders.load_reference(), loaders.scope(quarter))


def territory_index(ctx: logic.Context) -> pd.DataFrame:
    """Searchable territories of the snapshot's scope."""
    return _territory_index(ctx.quarter)


def peer_label(ctx: logic.Context, level: str, code: str) -> str:
    """French description of the peers of a territory."""
    parent_level, parent_code = logic.parent_of(ctx.reference, level, code)
    kind = {"commune": "communes", "epci": "EPCI", "departement": "départements",
            "region": "régions"}[level]
    if parent_level is None:
        return f"{kind} de France"
    layer = logic._layer(ctx.reference, parent_level)
    nom = layer.at[parent_code, "nom"] if parent_code in layer.index else parent_code
    return f"{kind} du même {fr.NIVEAUX[parent_level].lower()} : {nom}"


def active_structures(ctx: logic.Context) -> pd.DataFrame:
    """Active structures of the current snapshot (read-only)."""
    return loaders.active(ctx.quarter)


def structures_in(ctx: logic.Context, level: str, code: str) -> pd.DataFrame:
    """Active structures assigned to a territory."""
    structures = loaders.active(ctx.quarter)
    return structures[structures[level].astype("string") == code]


def background_for(ctx: logic.Context, level: str, code: str, sub_level: str):
    """Sub-territories of a territory with their indicators, for the map background."""
    within = None if level == sub_level else (level, code)
    geo = loaders.display_layer(sub_level, within)
    if level == sub_level:
        geo = geo.loc[[code]]
    table = loaders.indicator_table(ctx.quarter, sub_level)
    return geo.join(table[["structures_per_10k", "structures", "population"]], how="left")


def outlines(ctx: logic.Context):
    """EPCI outlines of the snapshot's scope (départements when there are many EPCI)."""
    communes = loaders.scope(ctx.quarter)
    level = "epci" if communes["epci"].nunique() <= 150 else "departement"
    geo = loaders.display_layer(level)
    return geo[geo.index.isin(communes[level].dropna().unique())]


def structures_table(df: pd.DataFrame, extra: dict[str, str] | None = None) -> pd.DataFrame:
    """Structures with French labels (commune names resolved)."""
    return tables.structures_table(df, loaders.load_reference().communes["nom"], extra)


def underserved_communes(ctx: logic.Context, level: str, code: str,
                         max_km: float) -> pd.DataFrame:
    """Communes of a territory farther than ``max_km`` from a structure (French table)."""
    table = loaders.indicator_table(ctx.quarter, "commune")
    scope_ = loaders.scope(ctx.quarter)
    if level == "commune":
        inside = scope_.index[scope_.index == code]
    else:
        inside = scope_.index[(scope_[level].astype("string") == code).fillna(False)]
    sub = table.loc[table.index.intersection(inside)]
    dist = pd.to_numeric(sub["distance_structure_km"], errors="coerce")
    far = sub[(dist > max_km) | dist.isna()].sort_values("population", ascending=False)
    return logic.fr_table(far.reset_index(names="code"), {
        "code": "Code", "nom": "Commune", "population": "Population",
        "distance_structure_km": "Distance à la structure la plus proche (km)"})


@st.cache_resource(max_entries=16, show_spinner="Recherche des zones blanches…")
def _zones_scope(quarter: str, max_km: float, famille: str | None):
    from indicators.zones import zones_blanches as _zones

    return _zones(loaders.scope(quarter), loaders.active(quarter), loaders.density(quarter),
                  distance_km=float(max_km), by="famille_ess" if famille else None,
                  category=famille or None)


def zones_blanches(quarter: str, departement: str, max_km: float,
                   famille: str | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Zones blanches touching a département (:func:`indicators.zones.zones_blanches` over
    the whole scope, so that structures across the border count): (zones, blanche
    communes of the département)."""
    result = _zones_scope(quarter, float(max_km), famille or None)
    scope_ = loaders.scope(quarter)
    inside = set(scope_.index[(scope_["departement"].astype("string") == departement)
                              .fillna(False)])
    communes = result.communes[result.communes.index.isin(inside)]
    zones = result.zones[result.zones.index.isin(communes["zone"].unique())]
    return zones, communes


def zones_by_family(quarter: str, departement: str, max_km: float) -> pd.DataFrame:
    """One row per kind of structure (all, then each famille ESS): zones blanches, communes
    and population concerned in the département at ``max_km``."""
    rows = []
    for famille in (None, *fr.FAMILLES):
        zones, communes = zones_blanches(quarter, departement, max_km, famille)
        rows.append({
            "type": "Toutes les structures de l'ESS" if famille is None
            else fr.FAMILLES[famille],
            "zones": len(zones), "communes": len(communes),
            "population": int(pd.to_numeric(zones["population"]).sum()) if len(zones) else 0,
        })
    return pd.DataFrame(rows)


def nearest_text(nearest: list[dict]) -> str:
    """"Nom (3,2 km); ..." for the nearest structures of a zone."""
    return "; ".join(f"{s.get('nom') or s.get('siret')} ({fr.nombre(s.get('distance_km'), 1)}"
                     " km)" for s in nearest)


def rural_flags(table: pd.DataFrame) -> pd.Series | None:
    """Rural communes (dens3 = 3) when the density grid is in the table, else None."""
    if "dens3" not in table.columns or table["dens3"].isna().all():
        return None
    return pd.to_numeric(table["dens3"], errors="coerce") == 3


def density_note(table: pd.DataFrame) -> str | None:
    """Warn when the density grid is an approximation."""
    if "densite_source" in table.columns and (table["densite_source"] == "approximation").any():
        return ("Grille de densité **approchée** (densité de population de la commune), la "
                "grille officielle de l'INSEE n'étant pas chargée.")
    return None


def sections(structures: pd.DataFrame) -> list[str]:
    """NAF sections present (labels)."""
    return tables.sections(structures)


def filter_structures(structures, texte, familles, secteurs, epci, commune) -> pd.DataFrame:
    """Directory filter (see :func:`app_pages.tables.filter_structures`)."""
    return tables.filter_structures(structures, texte, familles, secteurs, epci or None,
                                    commune or None)


def export_columns(df: pd.DataFrame) -> pd.DataFrame:
    """Public columns for downloads."""
    return tables.export_columns(df)


def snapshots_table(ctx: logic.Context) -> pd.DataFrame:
    """Snapshots with their vintages."""
    return tables.snapshots_table(ctx.snapshots)


@st.cache_data(max_entries=8)
def snapshot_diff(previous: str, current: str, level: str) -> pd.DataFrame:
    """New / closed / moved structures per territory between two snapshots
    (:func:`indicators.change.change_by_territory`), territories of the scope only."""
    from indicators.change import change_by_territory

    scope_ = loaders.scope(current)
    out = change_by_territory(loaders.load_snapshot(previous).structures,
                              loaders.load_snapshot(current).structures, level, scope_)
    keep = scope_.index if level == "commune" else scope_[level].dropna().unique()
    return out[out.index.isin(keep)].drop(columns=["motif_na"], errors="ignore")


def accounting_table(ctx: logic.Context) -> pd.DataFrame:
    """Row accounting of the current snapshot."""
    return tables.accounting_table(ctx.manifest)


def precision_table(ctx: logic.Context) -> pd.DataFrame:
    """Location precision breakdown of the active structures."""
    return tables.precision_table(loaders.active(ctx.quarter))


def disagreements(ctx: logic.Context) -> pd.DataFrame:
    """Active structures whose assigned commune differs from the declared one."""
    structures = loaders.active(ctx.quarter)
    return structures[structures["commune_desaccord"].fillna(False).astype(bool)]


def indicator_definitions() -> pd.DataFrame:
    """Definitions of every indicator."""
    return tables.indicator_definitions(indicators())


def sources_table(ctx: logic.Context) -> pd.DataFrame:
    """Catalog sources with vintages and licences."""
    from observatory import catalog

    return tables.sources_table(catalog.list_sources(), ctx.manifest)


def geography_limits(ctx: logic.Context) -> list[str]:
    """Limits of the embedded geography."""
    return tables.geography_limits(ctx.reference)


def fiche_pdf(ctx: logic.Context, level: str, code: str):
    """A callable producing the PDF (generated only when the user clicks)."""
    quarter = ctx.quarter

    def build() -> bytes:
        return _fiche_pdf(quarter, level, code)

    return build


@st.cache_data(max_entries=16, show_spinner="Préparation de la fiche…")
def _fiche_pdf(quarter: str, level: str, code: str) -> bytes:
    from render import pdf

    ctx = loaders.data_context()
    table = loaders.indicator_table(quarter, level)
    previous = loaders.indicator_table(ctx.previous, level) if ctx.previous else None
    peers = logic.peers_of(ctx.reference, level, code)
    figures = logic.key_figures(table, previous, code, peers, indicators())
    sub_level = "epci" if level == "region" else "commune"
    background = background_for(ctx, level, code, sub_level)
    return pdf.fiche_territoire(
        nom=str(table.at[code, "nom"]), niveau=fr.NIVEAUX[level], code=code,
        figures=figures.drop(columns=["indicateur", "valeur", "unite", "nombre"]),
        territoires=background, structures=structures_in(ctx, level, code),
        source=logic.source_text(ctx), demo=ctx.is_demo, trimestre=quarter,
        comparables=peer_label(ctx, level, code),
        underserved=underserved_communes(ctx, level, code, 10),
    )
