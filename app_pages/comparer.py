"""Page « Comparer les territoires »: choropleth, ranking and side-by-side comparison."""

import pandas as pd
import streamlit as st

from app_pages import common, logic
from render import fr, maps

common.page_setup("Comparer les territoires")
ctx = common.data_context()
common.demo_banner(ctx)
common.coverage_note(ctx)
INDICATORS = common.indicators()

views = list(logic.COMPARISONS)
view = common.param("vue", "epci")
view = st.selectbox("Territoires à comparer", views, index=views.index(view) if view in views
                    else 1, format_func=lambda v: logic.COMPARISONS[v][0], key="vue")
_, level, parent_level = logic.COMPARISONS[view]

parents = common.territories_in_scope(ctx, parent_level)
default_parent = common.param("parent") or common.default_territory(ctx, parent_level)
parent = st.selectbox(f"{fr.NIVEAUX[parent_level]} de référence", list(parents.index),
                      index=list(parents.index).index(default_parent)
                      if default_parent in parents.index else 0,
                      format_func=lambda c: f"{parents.at[c, 'nom']} ({c})", key="parent")

table = common.indicator_table(ctx.quarter, level)
codes = logic.members(ctx.reference, level, parent_level, parent, common.scope(ctx))
sub = table[table.index.isin(codes)]
choices = common.indicator_choices(sub)
indicator = common.param("indicateur", "structures_per_10k")
indicator = st.selectbox("Indicateur", choices, index=choices.index(indicator)
                         if indicator in choices else 0,
                         format_func=lambda n: INDICATORS[n].label_fr, key="indicateur")
common.set_params(vue=view, parent=parent, indicateur=indicator)
ind = INDICATORS[indicator]

c1, c2, c3 = st.columns([2, 1, 2])
scheme = c1.radio("Classification", list(maps.SCHEMES), format_func=maps.SCHEMES.get,
                  horizontal=True, key="scheme")
k = c2.slider("Nombre de classes", 3, 7, 5, key="k")
thresholds = None
if scheme == "manuel":
    raw = c3.text_input("Seuils (bornes hautes, séparées par « ; »)", "5 ; 10 ; 20",
                        key="seuils")
    thresholds = common.parse_thresholds(raw)
    if not thresholds:
        st.error("Saisissez au moins un seuil numérique, par exemple « 5 ; 10 ; 20 ».")
        st.stop()

title = f"{ind.label_fr} — {common.view_title(view, parents.at[parent, 'nom'])}"
st.subheader(title)
geo = common.display_layer(level, (parent_level, parent))
gdf = geo.join(sub[list(dict.fromkeys([indicator, "structures", "population"]))], how="left")
try:
    m = maps.choropleth_map(gdf, indicator, label=ind.label_fr, unit=ind.unit_fr,
                            scheme=scheme, k=k, thresholds=thresholds,
                            decimales=common.decimals(ind),
                            extra_fields={"structures": "Structures", "population": "Population"},
                            tiles=common.tiles(), assets=common.map_assets())
except ValueError as exc:
    st.error(f"Classification impossible : {exc}")
    st.stop()
common.show_map(m, alt=f"Carte : {title}")
common.source_caption(ctx)

ranking = sub.sort_values(indicator, ascending=indicator.startswith("distance"))
ranking = ranking.assign(rang=ranking[indicator].rank(
    ascending=indicator.startswith("distance"), method="min").astype("Int64"))
labels = {"rang": "Rang", "nom": "Nom", indicator: f"{ind.label_fr} ({ind.unit_fr})",
          "structures": "Structures", "population": "Population"}
shown = logic.fr_table(ranking.reset_index(names="code"), {"code": "Code", **labels},
                       {indicator: common.decimals(ind)})
shown["Rang"] = ranking["rang"].to_numpy()
with st.expander("Voir les données sous forme de tableau", expanded=False):
    st.dataframe(shown, hide_index=True)
st.markdown("#### Classement")
st.dataframe(shown, hide_index=True, key="classement")
common.source_caption(ctx)
common.download_buttons(ranking.reset_index(names="code"), f"classement {indicator} {parent}",
                        key="classement", about=common.about(ctx, ind.label_fr))

st.markdown("#### Comparaison détaillée")
picked = st.multiselect("Choisissez de deux à quatre territoires", list(sub.index),
                        default=list(ranking.index[:2]), max_selections=4,
                        format_func=lambda c: f"{sub.at[c, 'nom']} ({c})", key="comparaison",
                        placeholder="Choisissez des territoires")
if len(picked) < 2:
    st.info("Choisissez au moins deux territoires pour les comparer.")
else:
    refs = common.reference_rows(ctx, parent_level, parent)
    compared = pd.concat([sub.loc[picked], refs])
    wide = common.comparison_table(compared, choices)
    st.dataframe(wide, hide_index=True)
    common.source_caption(ctx, "Référence : le territoire parent et sa région.")
    common.download_buttons(compared.reset_index(names="code"), "comparaison", key="comp",
                            about=common.about(ctx, "Comparaison de territoires"))
