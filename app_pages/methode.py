"""Page « Méthode et sources »: definitions, ESS perimeter, sources, licences, limits."""

import streamlit as st

from app_pages import common, tables
from indicators.hotspots import METHOD_FR as HOT_SPOTS_METHOD

common.page_setup("Méthode et sources")
ctx = common.data_context()
common.demo_banner(ctx)

st.markdown("""
#### Périmètre de l'ESS
L'observatoire retient les établissements actifs des entreprises de l'économie sociale et
solidaire au sens de la loi du 31 juillet 2014 : associations, coopératives, mutuelles,
fondations et sociétés commerciales de l'ESS. Une unité légale entre dans le périmètre si son
indicateur ESS du répertoire SIRENE vaut « O » ou si elle figure dans la liste des entreprises
de l'ESS publiée par ESS France ; sa famille est déduite de sa catégorie juridique.

#### Localisation et rattachement
Chaque établissement est placé par ses coordonnées (géolocalisation INSEE, coordonnées SIRENE,
API Recherche d'entreprises ou géocodage de l'adresse par la Base Adresse Nationale), puis
rattaché à la commune qui contient le point (point dans polygone), à son EPCI, son département
et sa région. Quand seule la commune est connue, le point est une **approximation** (centre ou
point aléatoire de la commune) et il est signalé comme tel.

#### Emplois estimés
Les emplois sont **estimés** à partir des tranches d'effectif salarié de SIRENE (milieu de
tranche, avec une borne basse et une borne haute) : ce sont des ordres de grandeur.
""")

st.markdown("#### Définition des indicateurs")
definitions = common.indicator_definitions()
st.dataframe(definitions, hide_index=True)
common.download_buttons(definitions, "definitions des indicateurs", key="definitions")

st.markdown("#### Points chauds et points froids")
st.markdown(HOT_SPOTS_METHOD)

st.markdown("#### Sources, millésimes et licences")
sources = common.sources_table(ctx)
st.dataframe(sources, hide_index=True)
st.markdown("Données publiées sous **Licence Ouverte / Etalab 2.0** : crédit **INSEE** "
            "(répertoire SIRENE, populations légales, code officiel géographique), **IGN** "
            "(ADMIN EXPRESS), **ESS France** (liste des entreprises de l'ESS).")
common.download_buttons(sources, "sources", key="sources")

st.markdown("#### Limites de la géographie embarquée")
limits = common.geography_limits(ctx)
for line in limits:
    st.markdown(f"- {line}")
vintages = getattr(ctx.reference, "vintages", {}) or {}
st.caption("Millésimes de la géographie embarquée : " + tables.vintages_text(vintages) + ".")
