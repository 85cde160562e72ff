"""Page « Méthode et sources »: perimeters, definitions, small numbers, sources, licences,
limits, and how staff load real data."""

import streamlit as st

from app_pages import common, frtable, loaders, logic, perimetre, tables
from app_pages.frtable import Col
from indicators.hotspots import METHOD_FR as HOT_SPOTS_METHOD
from observatory import catalog
from observatory.wording import REAL_DATA_COMMAND
from render import fr

ctx = common.start("methode", "Méthode et sources", ())

st.markdown("""
#### Périmètres
L'observatoire présente deux périmètres, au choix dans le panneau latéral de chaque page :

- **Économie sociale et solidaire** : les établissements actifs des entreprises de l'ESS au
  sens de la loi du 31 juillet 2014 (associations, coopératives, mutuelles, fondations et
  sociétés commerciales de l'ESS). Une unité légale entre dans le périmètre si son indicateur
  ESS du répertoire SIRENE vaut « O » ou si elle figure dans la liste des entreprises de l'ESS
  publiée par ESS France ; sa famille est déduite de sa catégorie juridique.
- **Insertion par l'activité économique et travail protégé** : les structures d'insertion
  (ACI, AI, EI, ETTI, EITI), les groupements d'employeurs pour l'insertion et la
  qualification (GEIQ) et les établissements et services d'aide par le travail (ESAT), d'après
  les listes publiques : fiches des SIAE et GEIQ de la plateforme « Les emplois de
  l'inclusion » (fiches de 2019 à 2021) et liste officielle des ESAT (2026). Les structures
  gérées par une personne publique (commune, CCAS...) en font partie mais ne relèvent pas de
  l'ESS au sens légal : elles sont signalées et peuvent être écartées dans l'annuaire.

Chaque page indique le périmètre affiché et si les données sont réelles ou de démonstration.
""")
available = ", ".join(perimetre.label(s) for s in loaders.series_quarters()) or "–"
st.caption(f"Périmètres disponibles dans cette installation : {available}.")

st.markdown(f"""
#### Localisation et rattachement
Chaque établissement est placé par ses coordonnées (géolocalisation INSEE, coordonnées SIRENE,
API Recherche d'entreprises, coordonnées de la liste source si elles sont plausibles, ou
géocodage de l'adresse par la Base Adresse Nationale), puis rattaché à la commune qui contient
le point, à son EPCI, son département et sa région. Quand seule la commune est connue, le
point est une **approximation** (centre ou point aléatoire de la commune), signalée comme
telle.

#### Couverture d'un instantané
Un instantané couvre un territoire (la France, une région, un département). Un territoire
qu'il ne couvre pas n'est jamais remplacé par un autre : la page le dit et propose les
territoires couverts. Un territoire couvert en partie (par exemple une région dont un seul
département est couvert) est calculé sur sa seule partie couverte et signalé comme tel ; il
n'est pas utilisé comme référence.

#### Petits effectifs
Un taux rapporté à la population (structures pour 10 000 habitants, parts de la population)
est fragile sur une petite population : dans une commune de 12 habitants, une seule
structure donne 833 structures pour 10 000 habitants. Les territoires de **moins de
{fr.entier(logic.SMALL_POPULATION)} habitants** sont donc signalés « faible effectif » ; dans
les classements de communes, ils sont exclus par défaut (une case permet de les inclure) et ne
reçoivent pas de rang pour ces taux.

#### Emplois estimés
Les emplois sont **estimés** à partir des tranches d'effectif salarié de SIRENE (milieu de
tranche, avec une borne basse et une borne haute) : ce sont des ordres de grandeur.
""")

st.markdown("#### Définition des indicateurs")
definitions = tables.indicator_definitions(common.indicators())
frtable.show(definitions, {"Indicateur": Col("Indicateur"), "Unité": Col("Unité"),
                           "Nature": Col("Nature"), "Définition": Col("Définition"),
                           "Nom technique": Col("Nom technique")}, key="definitions")

st.markdown("#### Points chauds et points froids")
st.markdown(HOT_SPOTS_METHOD)

st.markdown("#### Sources, millésimes et licences")
sources = tables.sources_table(catalog.list_sources(), ctx.manifest)
frtable.show(sources, {c: Col(c) for c in sources.columns}, key="sources")
st.markdown("Données publiées sous **Licence Ouverte / Etalab 2.0** : crédit **INSEE** "
            "(répertoire SIRENE, populations légales, code officiel géographique), **IGN** "
            "(ADMIN EXPRESS), **ESS France** (liste des entreprises de l'ESS), plateforme "
            "**Les emplois de l'inclusion** (SIAE et GEIQ) et liste officielle des **ESAT**.")

st.markdown("#### Limites de la géographie embarquée")
for line in tables.geography_limits(ctx.reference):
    st.markdown(f"- {line}")
vintages = getattr(ctx.reference, "vintages", {}) or {}
st.caption("Millésimes de la géographie embarquée : " + tables.vintages_text(vintages) + ".")

st.markdown("#### Pour le personnel : charger les données réelles")
st.code(REAL_DATA_COMMAND.replace(", puis ", "\n"), language="bash")
