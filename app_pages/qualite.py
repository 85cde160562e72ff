"""Page « Actualisation et qualité »: snapshots, diff, accounting, rejects, precision."""

import pandas as pd
import streamlit as st

from app_pages import common, logic, tables
from render import fr

common.page_setup("Actualisation et qualité")
ctx = common.data_context()
common.demo_banner(ctx)

st.markdown("#### Instantanés disponibles")
snapshots = common.snapshots_table(ctx)
st.dataframe(snapshots, hide_index=True)
vintages = getattr(ctx.reference, "vintages", {}) or {}
st.caption("Géographie de référence : " + tables.vintages_text(vintages) + ".")
common.download_buttons(snapshots, "instantanes", key="instantanes")

st.markdown(f"#### Évolution depuis le trimestre précédent ({ctx.previous or 'aucun'})")
if ctx.previous is None:
    st.info("Un seul instantané : pas encore de comparaison possible.")
else:
    level = st.selectbox("Niveau", ["epci", "commune", "departement"], key="niveau_diff",
                         format_func=fr.NIVEAUX.get)
    diff = common.snapshot_diff(ctx.previous, ctx.quarter, level)
    names = common.territories_in_scope(ctx, level)["nom"]
    diff = diff.join(names, how="left")
    shown = logic.fr_table(diff.reset_index(names="code"), {
        "code": "Code", "nom": "Territoire", "structures_avant": f"Actives {ctx.previous}",
        "structures_apres": f"Actives {ctx.quarter}", "nouveaux": "Nouvelles",
        "fermes": "Fermées", "deplaces": "Déplacées", "variation_nette": "Variation nette",
        "taux_evolution": "Évolution (%)"})
    st.dataframe(shown, hide_index=True)
    common.source_caption(ctx)
    common.download_buttons(diff, f"evolution {ctx.previous} {ctx.quarter}", key="diff",
                            about=common.about(ctx, "Évolution entre instantanés"))

st.markdown("#### Comptabilité des lignes de la dernière actualisation")
accounting = common.accounting_table(ctx)
st.dataframe(accounting, hide_index=True)
st.caption("Chaque ligne lue est soit conservée, soit rejetée avec sa raison : "
           "lues = conservées + rejetées.")
common.download_buttons(accounting, f"comptabilite {ctx.quarter}", key="compta")

st.markdown("#### Lignes rejetées")
rejects = ctx.snapshot.rejects
if rejects is None or len(rejects) == 0:
    st.success("Aucune ligne rejetée.")
else:
    reasons = rejects["raison"].astype("string").str.split(":").str[0].value_counts()
    st.dataframe(pd.DataFrame({"Raison": reasons.index,
                               "Lignes": [fr.entier(v) for v in reasons.to_numpy()]}),
                 hide_index=True)
    st.dataframe(rejects.head(200).astype("string"), hide_index=True)
    common.download_buttons(rejects, f"rejets {ctx.quarter}", key="rejets")

st.markdown("#### Précision de la localisation")
precision = common.precision_table(ctx)
st.dataframe(precision, hide_index=True)
common.source_caption(ctx, "Les localisations « approximation » placent la structure dans sa "
                           "commune sans l'adresse exacte.")
common.download_buttons(precision, f"precision {ctx.quarter}", key="precision")

st.markdown("#### Rattachement aux communes et désaccords")
assignment = tables.assignment_table(ctx.manifest)
if len(assignment):
    st.dataframe(assignment, hide_index=True)
    common.download_buttons(assignment, f"rattachement {ctx.quarter}", key="rattachement")
disagree = common.disagreements(ctx)
if len(disagree) == 0:
    st.markdown("Aucune structure n'est localisée dans une autre commune que celle déclarée "
                "dans la source.")
else:
    st.markdown(f"{fr.entier(len(disagree))} structures **actives** sont localisées dans une "
                "autre commune que celle déclarée dans la source (point situé hors de la commune "
                "déclarée, fusion de communes ou erreur d'adresse). Le tableau de rattachement "
                "ci-dessus compte toutes les lignes, établissements fermés compris.")
if len(disagree):
    st.dataframe(common.structures_table(disagree, extra={
        "commune_declaree": "Commune déclarée"}), hide_index=True)
    common.download_buttons(common.export_columns(disagree), f"desaccords {ctx.quarter}",
                            key="desaccords", geo=True)
