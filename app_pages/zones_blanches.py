"""Page « Zones blanches »: rural communes far from any ESS structure, grouped into zones."""

import pandas as pd
import streamlit as st

from app_pages import common, logic
from render import fr, maps

common.page_setup("Zones blanches")
ctx = common.data_context()
common.demo_banner(ctx)
st.markdown("Une **zone blanche** regroupe des communes **rurales** voisines sans structure de "
            "l'ESS du type choisi, dont le centre est à plus d'une distance donnée de la "
            "structure active la plus proche.")

departements = common.territories_in_scope(ctx, "departement")
default = common.param("code") or common.default_territory(ctx, "departement")
codes = list(departements.index)
dep = st.selectbox("Département", codes, index=codes.index(default) if default in codes else 0,
                   format_func=lambda c: f"{departements.at[c, 'nom']} ({c})", key="dep_zb")
c1, c2 = st.columns(2)
km_param = str(common.param("km", "10"))
max_km = c1.slider("Distance minimale à la structure la plus proche (km)", 2, 30,
                   int(km_param) if km_param.isdigit() and 2 <= int(km_param) <= 30 else 10,
                   key="km_zb")
familles = ["", *fr.FAMILLES]
famille = c2.selectbox("Type de structure", familles,
                       format_func=lambda f: "Toutes les structures de l'ESS" if not f
                       else fr.FAMILLES[f], key="famille_zb")
common.set_params(code=dep, km=str(max_km), niveau=None, indicateur=None)

table = common.indicator_table(ctx.quarter, "commune", famille or None)
communes = common.display_layer("commune", ("departement", dep))
communes = communes.join(common.scope(ctx)[["population", "superficie_km2"]], how="left")
communes = communes.join(table[["distance_structure_km"]], how="left")
zones, blanches = common.zones_blanches(ctx.quarter, dep, max_km, famille or None)
flags = pd.Series(communes.index.isin(blanches.index), index=communes.index)
zones_view = pd.DataFrame({
    "zone": zones.index, "communes": [", ".join(n) for n in zones["noms"]],
    "nb_communes": zones["nb_communes"].to_numpy(),
    "population": zones["population"].to_numpy(),
    "superficie_km2": zones["superficie_km2"].to_numpy(),
    "distance_min_km": zones["distance_min_km"].to_numpy(),
    "structures_proches": [common.nearest_text(near) for near in zones["structures_proches"]],
})
approx = bool((zones["densite_source"].astype(str).str.contains("approximation")).any()
              or (common.density(ctx.quarter)["source"] == "approximation").any())

label_type = "structure de l'ESS" if not famille else fr.FAMILLES[famille].lower()
st.subheader(f"{fr.entier(int(flags.sum()))} communes en zone blanche à plus de {max_km} km "
             f"d'une {label_type} — {departements.at[dep, 'nom']}")
structures = common.structures_in(ctx, "departement", dep)
if famille:
    structures = structures[structures["famille_ess"] == famille]
m = maps.zones_map(communes, flags, distance_column="distance_structure_km",
                   structures=structures, tiles=common.tiles(),
                   assets=common.map_assets())
common.show_map(m, alt=f"Carte des zones blanches : {departements.at[dep, 'nom']}")
common.source_caption(ctx, "Distance à vol d'oiseau du centre de la commune à la structure "
                           "active la plus proche (approximation de l'accessibilité).")
if approx:
    st.caption("Communes rurales : grille de densité **approchée** à partir de la densité de "
               "population (la grille communale de densité de l'INSEE n'est pas chargée).")

summary = common.zones_by_family(ctx.quarter, dep, max_km)
if len(summary):
    st.markdown(f"#### Zones blanches par type de structure, à plus de {max_km} km")
    st.dataframe(logic.fr_table(summary, {
        "type": "Type de structure", "zones": "Zones blanches",
        "communes": "Communes concernées",
        "population": "Population concernée (zones touchant le département)"}),
        hide_index=True)
    common.source_caption(ctx)

st.markdown("#### Zones")
labels = {"zone": "Zone", "communes": "Communes", "nb_communes": "Nombre de communes",
          "population": "Population", "superficie_km2": "Superficie (km²)",
          "distance_min_km": "Distance minimale (km)", "distance_max_km": "Distance maximale (km)",
          "structures_proches": "Structures les plus proches"}
if zones_view.empty:
    st.info(f"Aucune zone blanche à {max_km} km pour ce type de structure : essayez une "
            "distance plus faible ou un type de structure plus rare (voir le tableau par type "
            "ci-dessus).")
else:
    st.dataframe(logic.fr_table(zones_view, labels), hide_index=True)
common.source_caption(ctx)
common.download_buttons(zones_view, f"zones blanches {dep} {max_km} km", key="zones",
                        about=common.about(ctx, "Zones blanches"))
with st.expander("Voir les données sous forme de tableau"):
    detail = communes.drop(columns="geometry").assign(zone_blanche=flags)
    st.dataframe(logic.fr_table(detail.reset_index(names="code"), {
        "code": "Code", "nom": "Commune", "population": "Population",
        "superficie_km2": "Superficie (km²)",
        "distance_structure_km": "Distance à la structure la plus proche (km)",
        "zone_blanche": "Zone blanche"}), hide_index=True)
    common.download_buttons(detail, f"communes {dep} distance", key="communes_zb",
                            about=common.about(ctx, "Distance des communes"))
