"""Page « Zones blanches »: communes far from any ESS structure, grouped into zones."""

import streamlit as st

from app_pages import common, logic
from observatory import fr, maps

common.page_setup("Zones blanches")
ctx = common.data_context()
common.demo_banner(ctx)
st.markdown("Une **zone blanche** regroupe des communes voisines dont le centre est à plus "
            "d'une distance donnée de la structure de l'ESS active la plus proche.")

departements = common.territories_in_scope(ctx, "departement")
default = common.param("code") or common.default_territory(ctx, "departement")
codes = list(departements.index)
dep = st.selectbox("Département", codes, index=codes.index(default) if default in codes else 0,
                   format_func=lambda c: f"{departements.at[c, 'nom']} ({c})", key="dep_zb")
c1, c2 = st.columns(2)
max_km = c1.slider("Distance minimale à la structure la plus proche (km)", 2, 30,
                   int(common.param("km", "10")) if str(common.param("km", "10")).isdigit()
                   else 10, key="km_zb")
familles = ["", *fr.FAMILLES]
famille = c2.selectbox("Type de structure", familles,
                       format_func=lambda f: "Toutes les structures de l'ESS" if not f
                       else fr.FAMILLES[f], key="famille_zb")
common.set_params(code=dep, km=str(max_km), niveau=None, indicateur=None)

table = common.indicator_table(ctx.quarter, "commune", famille or None)
communes = common.display_layer("commune", ("departement", dep))
info = common.scope(ctx)
communes = communes.join(info[["population", "superficie_km2"]], how="left")
rural = common.rural_flags(table)
only_rural = False
if rural is not None:
    only_rural = st.checkbox("Seulement les communes rurales (grille communale de densité)",
                             value=True, key="rural_zb")
flags, zones = logic.underserved_zones(communes, table["distance_structure_km"], max_km,
                                       rural if only_rural else None)
communes = communes.join(table[["distance_structure_km"]], how="left")
label_type = "structure" if not famille else fr.FAMILLES[famille].lower()
st.subheader(f"{fr.entier(int(flags.sum()))} communes à plus de {max_km} km d'une "
             f"{label_type} — {departements.at[dep, 'nom']}")
structures = common.structures_in(ctx, "departement", dep)
if famille:
    structures = structures[structures["famille_ess"] == famille]
m = maps.zones_map(communes, flags, distance_column="distance_structure_km",
                   structures=structures, tiles=common.tiles(),
                   assets=common.map_assets())
common.show_map(m, alt=f"Carte des zones blanches : {departements.at[dep, 'nom']}")
common.source_caption(ctx, "Distance à vol d'oiseau du centre de la commune à la structure "
                           "active la plus proche (approximation de l'accessibilité).")
note = common.density_note(table)
if note:
    st.caption(note)

st.markdown("#### Zones")
zones_fr = logic.fr_table(zones, {"zone": "Zone", "communes": "Communes",
                                  "nb_communes": "Nombre de communes",
                                  "population": "Population",
                                  "superficie_km2": "Superficie (km²)",
                                  "distance_max_km": "Distance maximale (km)"})
if zones.empty:
    st.info(f"Aucune zone blanche à {max_km} km pour ce type de structure : essayez une "
            "distance plus faible ou un type de structure plus rare.")
else:
    st.dataframe(zones_fr, hide_index=True)
common.source_caption(ctx)
common.download_buttons(zones, f"zones blanches {dep} {max_km} km", key="zones",
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
