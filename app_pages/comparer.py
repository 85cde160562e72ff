"""Page « Comparer les territoires »: choropleth, ranking, detailed comparison with
references, map of change.  Every choice is in the URL (app_pages.urlstate)."""

import streamlit as st

from app_pages import common, comparaison, logic, territoires, widgets
from render import fr

PARAMS = ("vue", "parent", "indicateur", "classification", "classes", "seuils", "petites",
          "territoires", "evolution", "mesure")

ctx = common.start("comparer", "Comparer les territoires", PARAMS)
INDICATORS = common.indicators()

view = widgets.selectbox("vue", "Territoires à comparer", list(logic.COMPARISONS),
                         default="epci", what="la vue",
                         format_func=lambda v: logic.COMPARISONS[v][0])
_, level, parent_level = logic.COMPARISONS[view]
parents = territoires.territories_in_scope(ctx, parent_level)
parent = widgets.selectbox(
    "parent", f"{fr.NIVEAUX[parent_level]} de référence", list(parents.index),
    default=territoires.default_territory(ctx, parent_level), what="le territoire de référence",
    format_func=territoires.option_label(parents), refuse=territoires.refusal(ctx, parent_level))
partial = territoires.partial_message(ctx, parent_level, parent)
if partial:
    st.warning(partial, icon=":material/crop:")

sub = comparaison.members_table(ctx, level, parent_level, parent)
choices = common.indicator_choices(sub)
indicator = widgets.selectbox("indicateur", "Indicateur", choices, default="structures_per_10k",
                              what="l'indicateur", format_func=lambda n: INDICATORS[n].label_fr)
ind = INDICATORS[indicator]
dec = common.decimals(ind)
parent_name = str(parents.at[parent, "nom"])
title = f"{ind.label_fr} — {comparaison.view_title(view, parent_name)}"

scheme, k, thresholds = comparaison.classification_widgets(sub[indicator], dec,
                                                           f"{view}|{parent}|{indicator}")
st.subheader(title)
comparaison.choropleth(ctx, sub, level, (parent_level, parent), indicator, scheme, k,
                       thresholds, title)

st.markdown("#### Classement")
ranking, excluded = comparaison.ranking(sub, level, indicator)
comparaison.show_ranking(ctx, ranking, indicator, excluded, view, parent_name)

st.markdown("#### Comparaison détaillée")
picked = widgets.multiselect(
    "territoires", "Territoires comparés (quatre au plus)", list(sub.index),
    default=list(ranking.index[:2]), what="les territoires comparés", limit=4,
    format_func=lambda c: f"{sub.at[c, 'nom']} ({c})",
    placeholder="Choisissez des territoires à comparer")
if len(picked) < 2:
    st.info("Choisissez au moins deux territoires pour les comparer.")
else:
    comparaison.detailed(ctx, sub, picked, parent_level, parent, choices)

st.markdown("#### Évolution")
comparaison.change_section(ctx, sub, level, (parent_level, parent), view, parent_name)
