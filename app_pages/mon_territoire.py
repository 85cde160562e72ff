"""Page « Mon territoire »: key figures, map of structures, underserved communes, PDF sheet."""

import streamlit as st

from app_pages import common, logic
from render import fr, maps

common.page_setup("Mon territoire")
ctx = common.data_context()
common.demo_banner(ctx)
INDICATORS = common.indicators()

index = common.territory_index(ctx)
level = common.param("niveau", "departement")
code = common.param("code") or common.default_territory(ctx, level)
query = st.text_input("Rechercher une commune, un EPCI, un département ou une région "
                      "(nom ou code, accents et majuscules indifférents)", key="recherche")
found = logic.search_territories(index, query) if query else index[
    (index["niveau"] == level) & (index["code"] == code)]
if found.empty:
    st.warning("Aucun territoire ne correspond à cette recherche dans le périmètre de "
               "l'instantané. Essayez un autre nom ou un code INSEE/SIREN.")
    st.stop()
options = [f"{r.niveau}|{r.code}" for r in found.itertuples()]
labels = dict(zip(options, found["libelle"], strict=True))
choice = st.selectbox("Territoire", options, format_func=labels.get, key="territoire")
level, code = choice.split("|")
common.set_params(niveau=level, code=code)

table = common.indicator_table(ctx.quarter, level)
if code not in table.index:
    st.error(f"Pas d'indicateurs pour le territoire {code} dans l'instantané {ctx.quarter}.")
    st.stop()
nom = str(table.at[code, "nom"])
niveau = fr.NIVEAUX[level] if level == "epci" else fr.NIVEAUX[level].lower()  # « EPCI »
st.header(f"{nom} ({niveau}, {code})")
previous = common.indicator_table(ctx.previous, level) if ctx.previous else None
peers = logic.peers_of(ctx.reference, level, code)
figures = logic.key_figures(table, previous, code, peers, INDICATORS)

change_col = "Évolution depuis le trimestre précédent"
cols = st.columns(4)
for col, (_, row) in zip(cols, figures.head(4).iterrows(), strict=False):
    col.metric(common.short_label(row["indicateur"], row["Indicateur"]), row["nombre"],
               delta=None if row[change_col] == "–" else f"{row[change_col]} depuis "
               f"{ctx.previous}", delta_color="off",
               help=f"Rang parmi les territoires comparables : {row['Rang']}")
st.markdown("#### Chiffres clés")
shown_figures = figures.drop(columns=["indicateur", "valeur", "unite", "nombre"])
st.dataframe(shown_figures, hide_index=True)
n_peers = int(table.index.isin(peers).sum())
rank_note = (f"Rang parmi les {n_peers} territoires comparables couverts par l'instantané "
             f"({common.peer_label(ctx, level, code)})." if n_peers > 1 else
             "Pas de rang : l'instantané ne couvre aucun autre territoire comparable "
             f"({common.peer_label(ctx, level, code)}).")
st.caption(f"{rank_note} Les emplois sont **estimés** à partir des tranches d'effectif SIRENE "
           "(approximation). " + logic.source_text(ctx))
common.download_buttons(shown_figures, f"chiffres cles {nom}", key="chiffres",
                        about=common.about(ctx, f"Chiffres clés : {nom}"))

st.markdown("#### Les structures de l'ESS du territoire")
structures = common.structures_in(ctx, level, code)
communes_level = "epci" if level == "region" else "commune"
background = common.background_for(ctx, level, code, communes_level)
m = maps.structures_map(structures, background=background, background_column="structures_per_10k",
                        background_label="Structures pour 10 000 habitants",
                        highlight=[code] if level == communes_level else [],
                        tiles=common.tiles(), assets=common.map_assets())
common.show_map(m, height=600, alt=f"Carte des structures de l'ESS : {nom}")
approx = int(structures["location_precision"].isin(
    ["commune_aleatoire", "centroide_commune"]).sum())
common.source_caption(ctx, f"{fr.entier(len(structures))} structures actives, dont "
                           f"{fr.entier(approx)} localisées approximativement (au niveau de la "
                           "commune). Fond : " + ("EPCI" if level == "region" else "communes")
                           + ".")
with st.expander("Voir les données sous forme de tableau"):
    shown = common.structures_table(structures)
    st.dataframe(shown, hide_index=True)
    common.download_buttons(structures, f"structures {nom}", key="structures_mt",
                            about=common.about(ctx, f"Structures : {nom}"), geo=True)

st.markdown("#### Communes peu desservies")
max_km = st.slider("Distance à la structure la plus proche au-delà de laquelle une commune est "
                   "peu desservie (km)", 2, 30, 10, key="distance_mt")
under = common.underserved_communes(ctx, level, code, max_km)
if under.empty:
    st.success(f"Toutes les communes du territoire ont une structure à moins de {max_km} km.")
else:
    st.dataframe(under, hide_index=True)
    common.download_buttons(under, f"communes peu desservies {nom}", key="under",
                            about=common.about(ctx, "Communes peu desservies"))
common.source_caption(ctx, "Distance mesurée du centre de la commune à la structure active "
                           "la plus proche.")

st.markdown("#### Fiche territoire")
st.download_button("Télécharger la fiche territoire (PDF)",
                   data=common.fiche_pdf(ctx, level, code),
                   file_name=f"fiche-territoire-{code}.pdf", mime="application/pdf",
                   key="fiche", on_click="ignore")
