"""Page « Annuaire des acteurs »: searchable directory with map and exports of exactly the
structures filtered.  Every filter is in the URL."""

import streamlit as st

from app_pages import common, frtable, loaders, tables, territoires, urlstate, widgets
from render import fr, maps

PARAMS = ("q", "types", "secteurs", "departement", "epci", "commune", "gestion")
MAP_LIMIT = 10_000
#: Rows shown in the table (in name order); the exports hold every structure filtered.
TABLE_LIMIT = 5_000

ctx = common.start("annuaire", "Annuaire des acteurs", PARAMS)
structures = loaders.active(ctx.serie, ctx.quarter)
scope = loaders.scope(ctx.serie, ctx.quarter)

texte = widgets.text_input("q", "Nom, SIRET ou adresse contient",
                           placeholder="Par exemple : crèche, 21231, rue de la Liberté")
kinds = common.kinds(ctx)
kind_column = common.kind_column(ctx)
picked = widgets.pills("types", "Famille de l'ESS" if kind_column == "famille_ess"
                       else "Type de structure", list(kinds), what="le type",
                       format_func=kinds.get, help="Aucun choix : toutes les structures.")

c3, c4, c5 = st.columns(3)
deps = territoires.territories_in_scope(ctx, "departement")
dep_label = territoires.option_label(deps)
dep = widgets.selectbox("departement", "Département", ["", *deps.index], default="",
                        what="le département", where=c3,
                        format_func=lambda c: dep_label(c) if c else "Tous les départements",
                        refuse=territoires.refusal(ctx, "departement"))
inside = scope if not dep else scope[(scope["departement"].astype("string") == dep)
                                     .fillna(False).to_numpy(dtype=bool)]
epcis = territoires.territories_in_scope(ctx, "epci")
epcis = epcis[epcis.index.isin(inside["epci"].dropna().unique())]
epci_label = territoires.option_label(epcis)
epci = widgets.selectbox("epci", "EPCI", ["", *epcis.index], default="", what="l'EPCI",
                         where=c4, format_func=lambda c: epci_label(c) if c else "Tous les EPCI",
                         refuse=territoires.refusal(ctx, "epci"))
if epci:
    inside = inside[(inside["epci"].astype("string") == epci).fillna(False).to_numpy(dtype=bool)]
if dep or epci:
    names = inside["nom"].astype(str).sort_values()
    commune = widgets.selectbox("commune", "Commune", ["", *names.index], default="",
                                what="la commune", where=c5,
                                format_func=lambda c: f"{names[c]} ({c})" if c
                                else "Toutes les communes",
                                refuse=territoires.refusal(ctx, "commune"))
else:
    c5.selectbox("Commune", ["Choisissez d'abord un département ou un EPCI"], disabled=True,
                 key="annuaire.commune_inactive")
    commune = ""
    urlstate.write("commune", None)

c6, c7 = st.columns([2, 1])
sections = tables.sections(structures)
secteurs = []
if sections:  # the insertion lists mostly carry no activity code
    secteurs = widgets.multiselect("secteurs", "Secteur d'activité (section NAF)",
                                   list(sections), what="les secteurs",
                                   format_func=sections.get, where=c6,
                                   placeholder="Tous les secteurs")
gestion = "toutes"
if "gestion_publique" in structures and structures["gestion_publique"].notna().any():
    gestion = widgets.radio("gestion", "Gestion publique", ["toutes", "hors", "seulement"],
                            default="toutes", what="le filtre de gestion", where=c7,
                            horizontal=False,
                            format_func={"toutes": "Toutes les structures",
                                         "hors": "Hors gestion publique",
                                         "seulement": "Gestion publique seulement"}.get)

territory = (("commune", commune) if commune else ("epci", epci) if epci
             else ("departement", dep) if dep else None)
filtered = tables.filter_structures(structures, texte, kinds=picked, kind_column=kind_column,
                                    secteurs=secteurs, territory=territory, public=gestion,
                                    haystack=common.search_haystack(ctx) if texte else None)
st.subheader(fr.compte(len(filtered), "structure trouvée", "structures trouvées"))
if filtered.empty:
    st.info("Aucune structure ne correspond à ces critères : retirez un filtre ou changez la "
            "recherche.")
    st.stop()
common.show_cached_map(
    ("annuaire", ctx.serie, ctx.quarter, texte, tuple(picked), tuple(secteurs), territory,
     gestion),
    lambda: maps.structures_map(filtered, max_points=MAP_LIMIT,
                                backdrop_made=territoires.outlines_backdrop(ctx, dep or None),
                                tiles=loaders.tiles(), assets=loaders.map_assets(),
                                kind_column=kind_column),
    alt="Carte des structures de l'annuaire")
approx = int(filtered["location_precision"].isin(["commune_aleatoire",
                                                  "centroide_commune"]).sum())
common.source_caption(
    ctx, f"{fr.compte(approx, 'structure localisée', 'structures localisées')} "
         "approximativement (point placé dans la commune)."
    + (f" La carte montre un échantillon de {fr.entier(MAP_LIMIT)} structures ; le tableau "
       "et les exports les contiennent toutes." if len(filtered) > MAP_LIMIT else ""))
shown = filtered if len(filtered) <= TABLE_LIMIT else tables.first_by_name(
    filtered, TABLE_LIMIT, rank=loaders.name_rank(ctx.serie, ctx.quarter))
frtable.show(common.structures_table(ctx, shown), common.structure_columns(ctx),
             key="annuaire_table", alt="Structures trouvées")
if len(filtered) > TABLE_LIMIT:
    st.caption(f"Le tableau montre les {fr.entier(TABLE_LIMIT)} premières structures par "
               "ordre alphabétique : précisez la recherche ou un territoire, ou exportez-les "
               "toutes ci-dessous.")
st.markdown("**Exporter exactement les structures filtrées**")
filtres = {"Recherche": texte, "Types": ", ".join(kinds[k] for k in picked),
           "Secteurs": ", ".join(sections[s] for s in secteurs),
           "Territoire": f"{territory[0]} {territory[1]}" if territory else "",
           "Gestion publique": {"hors": "exclue", "seulement": "seulement"}.get(gestion, "")}
common.download_buttons(tables.export_columns(filtered), "annuaire des acteurs",
                        key="annuaire", kind="structures", geo=True,
                        about=common.about(ctx, "Annuaire des acteurs", filtres))
