"""Page « Mon territoire »: search any territory of France; key figures, charts of change and
of the split, structures, underserved communes, PDF fiche.  The view is in the URL."""

import streamlit as st

from app_pages import common, loaders, logic, portrait, territoires
from render import fr

PARAMS = ("q", "niveau", "code", "courbe", "km", "tableau")

ctx = common.start("mon_territoire", "Mon territoire", PARAMS)
level, code, state = portrait.choose_territory(ctx)
if state == "absent":
    portrait.not_covered_panel(ctx, level, code)
    st.stop()

name = str(loaders.indicator_table(ctx.serie, ctx.quarter, level).at[code, "nom"])
st.header(f"{name} ({logic.niveau_fr(level)}, {code})")
partial = territoires.partial_message(ctx, level, code)
if partial:
    st.warning(partial, icon=":material/crop:")
figures = portrait.key_figures(ctx, level, code)
portrait.territory_charts(ctx, level, code, name)

st.markdown("#### Les structures du territoire")
portrait.structures_section(ctx, level, code, name)

st.markdown("#### Communes peu desservies")
portrait.underserved_section(ctx, level, code, name)

st.markdown("#### Fiche territoire")
st.download_button("Télécharger la fiche territoire (PDF)",
                   data=portrait.fiche_pdf(ctx, level, code, figures),
                   file_name=f"fiche-territoire-{code}.pdf", mime="application/pdf",
                   key="fiche", on_click="ignore")
st.caption(f"Fiche du {fr.trimestre_fr(ctx.quarter)} : chiffres clés, carte, communes peu "
           "desservies, méthode et sources.")
