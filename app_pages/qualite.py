"""Page « Actualisation et qualité » (staff): snapshots, change between snapshots that adds
up, row accounting, rejects, location precision, and how to load real data.  Reserved to
staff when the deployment configures it (app_pages/access.py)."""

import streamlit as st

from app_pages import access, common, frtable, loaders, suivi, tables
from app_pages.frtable import Col
from observatory.wording import REAL_DATA_COMMAND
from render import fr

PARAMS = ("niveau",)

ctx = common.start("qualite", "Actualisation et qualité", PARAMS)
gate = access.staff_gate()
if not gate.granted:
    st.stop()

st.markdown("#### Instantanés disponibles")
snapshots = tables.snapshots_table(ctx.snapshots)
frtable.show(snapshots, {"instantane": Col("Instantané"), "cree_le": Col("Créé le"),
                         "territoire": Col("Territoire"), "nature": Col("Nature"),
                         "lignes": Col("Lignes conservées", "int"),
                         "millesimes": Col("Millésimes des sources"), "cog": Col("COG")},
             key="instantanes")
vintages = getattr(ctx.reference, "vintages", {}) or {}
st.caption("Géographie de référence : " + tables.vintages_text(vintages) + ".")

st.markdown(f"#### Évolution depuis le trimestre précédent "
            f"({fr.trimestre_fr(ctx.previous) if ctx.previous else 'aucun'})")
suivi.changes_section(ctx)

st.markdown("#### Comptabilité des lignes de la dernière actualisation")
accounting = tables.accounting_table(ctx.manifest)
frtable.show(accounting, {"source": Col("Source"), "lues": Col("Lues", "int"),
                          "conservees": Col("Conservées", "int"),
                          "rejetees": Col("Rejetées", "int"),
                          "filtrees": Col("Hors périmètre (filtrées)", "int"),
                          "equilibre": Col("Équilibre"), "raisons": Col("Raisons de rejet")},
             key="comptabilite")
st.caption("Chaque ligne lue est soit conservée, soit rejetée avec sa raison : "
           "lues = conservées + rejetées.")

st.markdown("#### Lignes rejetées")
suivi.rejects_section(ctx, gate.staff)

st.markdown("#### Précision de la localisation")
precision = tables.precision_table(loaders.active(ctx.serie, ctx.quarter))
frtable.show(precision, {"precision": Col("Précision"), "structures": Col("Structures", "int"),
                         "part": Col("Part", "pct", 1),
                         "approximation": Col("Approximation", "bool")}, key="precision")
common.source_caption(ctx, "Les localisations « approximation » placent la structure dans sa "
                           "commune sans l'adresse exacte.")

st.markdown("#### Rattachement aux communes et désaccords")
assignment = tables.assignment_table(ctx.manifest)
if len(assignment):
    frtable.show(assignment, {"etape": Col("Étape"), "structures": Col("Structures", "int")},
                 key="rattachement")
active = loaders.active(ctx.serie, ctx.quarter)
disagree = active[active["commune_desaccord"].fillna(False).astype(bool).to_numpy()]
if len(disagree) == 0:
    st.markdown("Aucune structure n'est localisée dans une autre commune que celle déclarée "
                "dans la source.")
else:
    st.markdown(f"{fr.compte(len(disagree), 'structure active', 'structures actives')} "
                f"{'est localisée' if len(disagree) == 1 else 'sont localisées'} dans une "
                "autre commune que celle déclarée dans la source (point hors de la commune "
                "déclarée, fusion de communes ou erreur d'adresse).")
    table = common.structures_table(ctx, disagree)
    table["commune_declaree"] = disagree["commune_declaree"].astype("string").to_numpy()
    frtable.show(table, {**common.structure_columns(ctx),
                         "commune_declaree": Col("Commune déclarée")}, key="desaccords")
    common.download_buttons(tables.export_columns(disagree), f"desaccords {ctx.quarter}",
                            key="desaccords", kind="structures", geo=True,
                            about=common.about(ctx, "Structures en désaccord de commune"))

st.markdown("#### Charger les données réelles")
st.markdown("Les données de démonstration sont remplacées par un instantané réel avec les "
            "commandes suivantes (poste du personnel, avec accès à internet) :")
st.code(REAL_DATA_COMMAND.replace(", puis ", "\n"), language="bash")
