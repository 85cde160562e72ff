"""Page « Zones blanches »: rural communes far from any structure of a kind, grouped into
zones.  Opens on the kind with the most zones at the default distance; the kind, the
distance and the département are in the URL."""

import pandas as pd
import streamlit as st

from app_pages import blanches, common, frtable, loaders, logic, territoires, urlstate, widgets
from app_pages.frtable import Col
from render import fr, maps

PARAMS = ("code", "km", "type", "par_type", "communes")
DEFAULT_KM = 10

ctx = common.start("zones_blanches", "Zones blanches", PARAMS)
st.markdown("Une **zone blanche** regroupe des communes **rurales** voisines sans structure du "
            "type choisi, dont le centre est à plus d'une distance donnée de la structure "
            "active la plus proche.")

departements = territoires.territories_in_scope(ctx, "departement")
dep = widgets.selectbox("code", "Département", list(departements.index),
                        default=territoires.default_territory(ctx, "departement"),
                        what="le département", format_func=territoires.option_label(departements),
                        refuse=territoires.refusal(ctx, "departement"))
dep_name = str(departements.at[dep, "nom"])
options = blanches.kind_options(ctx)
column = common.kind_column(ctx)
c1, c2 = st.columns(2)
km = widgets.slider("km", "Distance minimale à la structure la plus proche (km)", 2, 30,
                    default=DEFAULT_KM, what="la distance", where=c1)
if urlstate.key("type") not in st.session_state and st.query_params.get("type") is None:
    # first visit: a kind that has zones blanches at the default distance shows something
    st.session_state[urlstate.key("type")] = blanches.default_kind(ctx, dep, DEFAULT_KM,
                                                                   options)
kind = widgets.selectbox("type", "Type de structure", list(options), default=blanches.ALL,
                         what="le type de structure", format_func=options.get, where=c2)
label = options[kind]

result = blanches.zones(ctx.serie, ctx.quarter, dep, km, column, kind)
communes = loaders.display_layer("commune", ("departement", dep))
communes = communes.join(loaders.scope(ctx.serie, ctx.quarter)[["population"]], how="left")
communes["distance_structure_km"] = result.distance.reindex(communes.index)
flags = pd.Series(logic.among(communes.index, result.communes.index), index=communes.index)
what = "structure de l'ESS" if kind == blanches.ALL and ctx.serie == "ess" else (
    "structure du périmètre" if kind == blanches.ALL else f"structure « {label} »")
n_zones = len(result.zones)
st.subheader(f"{fr.compte(int(flags.sum()), 'commune')} en zone blanche "
             f"({fr.compte(n_zones, 'zone')}) à plus de {km} km d'une {what} — {dep_name}")
structures = territoires.structures_in(ctx, "departement", dep)
if kind != blanches.ALL:
    structures = structures[(structures[column].astype("string") == kind).fillna(False)
                            .to_numpy(dtype=bool)]
common.show_cached_map(
    ("zones", ctx.serie, ctx.quarter, dep, km, kind),
    lambda: maps.zones_map(communes, flags, distance_column="distance_structure_km",
                           structures=structures, tiles=loaders.tiles(),
                           assets=loaders.map_assets(), zone_ids=result.communes["zone"],
                           context=common.context_layer("commune")),
    alt=f"Carte des zones blanches : {dep_name}")
common.source_caption(ctx, "Distance à vol d'oiseau du centre de la commune à la structure "
                           "active la plus proche (approximation de l'accessibilité).")
if (loaders.density(ctx.serie, ctx.quarter)["source"] == "approximation").any():
    st.caption("Communes rurales : grille de densité **approchée** à partir de la densité de "
               "population (la grille communale de densité de l'INSEE n'est pas chargée).")

st.markdown(f"#### Zones blanches par type de structure, à plus de {km} km")
if widgets.checkbox("par_type", "Comparer tous les types de structure à cette distance",
                    default=False, what="la comparaison des types",
                    help="Calcule les zones blanches de chaque type (quelques secondes)."):
    summary = blanches.summary(ctx, dep, km, options)
    frtable.show(summary, {"type": Col("Type de structure"),
                           "zones": Col("Zones blanches", "int"),
                           "communes": Col("Communes concernées", "int"),
                           "population": Col("Population concernée (dans le département)",
                                             "int")}, key="par_type_table",
                 alt="Zones blanches par type de structure")
common.source_caption(ctx, "Seuls les types présents dans le périmètre sont proposés.")

st.markdown(f"#### Les zones ({label}), à plus de {km} km")
names = loaders.load_reference().communes["nom"]
table = pd.DataFrame({
    "zone": result.zones.index.astype(str),
    "communes": [", ".join(n) for n in result.zones["noms"]],
    "nb_communes": result.zones["nb_communes"].to_numpy(),
    "population": result.zones["population"].to_numpy(),
    "superficie_km2": result.zones["superficie_km2"].to_numpy(),
    "distance_min_km": result.zones["distance_min_km"].to_numpy(),
    "structures_proches": [blanches.nearest_text(result.nearest.get(z, []), names)
                           for z in result.zones.index],
})
if table.empty:
    st.info(f"Aucune zone blanche à {km} km pour ce type de structure : essayez une distance "
            "plus faible ou un autre type (voir le tableau par type ci-dessus).")
else:
    frtable.show(table, {
        "zone": Col("Zone"), "communes": Col("Communes"),
        "nb_communes": Col("Nombre de communes (zone entière)", "int"),
        "population": Col("Population de la zone", "int"),
        "superficie_km2": Col("Superficie (km²)", "dec", 1),
        "distance_min_km": Col("Distance minimale (km)", "dec", 1,
                               help="Du centre de la commune de la zone la plus proche d'une "
                                    "structure à cette structure."),
        "structures_proches": Col("Structures les plus proches (distance au centre de la "
                                  "commune la plus proche de la zone)")}, key="zones",
        alt="Zones blanches")
common.source_caption(ctx, "Une zone qui déborde sur un département voisin est montrée en "
                           "entier. La première structure listée est à la distance minimale "
                           "de la zone.")
filtres = {"Département": f"{dep_name} ({dep})", "Type de structure": label,
           "Distance": f"plus de {km} km"}
common.download_buttons(table, f"zones blanches {dep} {label} {km} km", key="zones",
                        about=common.about(ctx, "Zones blanches", filtres))
# a check box, not an expander: a closed expander still builds its table at every run
# (700 formatted rows cost about 0.4 s on each step of the distance slider)
if widgets.checkbox("communes", "Voir le tableau de toutes les communes du département",
                    default=False, what="le tableau des communes"):
    detail = communes.drop(columns="geometry").assign(
        zone_blanche=flags, zone=result.communes["zone"].reindex(communes.index))
    detail = detail.reset_index(names="code")
    frtable.show(detail, {"nom": Col("Commune"), "code": Col("Code"),
                          "population": Col("Population", "int"),
                          "distance_structure_km": Col("Distance à la structure la plus "
                                                       "proche (km)", "dec", 1),
                          "zone_blanche": Col("Zone blanche", "bool"), "zone": Col("Zone")},
                 key="communes_zb", alt="Communes du département")
    common.download_buttons(detail, f"communes {dep} {label} {km} km", key="communes_zb",
                            about=common.about(ctx, "Distance des communes", filtres))
