"""Page « Annuaire des acteurs »: searchable directory with map and exports of the filter."""

import streamlit as st

from app_pages import common
from render import fr, maps

common.page_setup("Annuaire des acteurs")
ctx = common.data_context()
common.demo_banner(ctx)

structures = common.active_structures(ctx)
c1, c2 = st.columns(2)
texte = c1.text_input("Nom, SIRET ou adresse contient", common.param("q", "") or "",
                      key="q_annuaire")
familles = c2.multiselect("Famille de l'ESS", list(fr.FAMILLES), format_func=fr.FAMILLES.get,
                          key="familles_annuaire", placeholder="Toutes les familles")
c3, c4, c5 = st.columns(3)
secteurs = c3.multiselect("Secteur d'activité (section NAF)", common.sections(structures),
                          key="secteurs_annuaire", placeholder="Tous les secteurs")
epcis = common.territories_in_scope(ctx, "epci")
epci = c4.selectbox("EPCI", ["", *epcis.index], key="epci_annuaire",
                    format_func=lambda c: "Tous les EPCI" if not c
                    else f"{epcis.at[c, 'nom']} ({c})")
communes = common.territories_in_scope(ctx, "commune")
commune = c5.selectbox("Commune", ["", *communes.index], key="commune_annuaire",
                       format_func=lambda c: "Toutes les communes" if not c
                       else f"{communes.at[c, 'nom']} ({c})")
common.set_params(q=texte or None)

filtered = common.filter_structures(structures, texte, familles, secteurs, epci, commune)
st.subheader(f"{fr.entier(len(filtered))} structures trouvées")
if filtered.empty:
    st.info("Aucune structure ne correspond à ces critères.")
    st.stop()
limit = 10_000
m = maps.structures_map(filtered, max_points=limit, background=common.outlines(ctx),
                        background_label="Limites des EPCI", tiles=common.tiles(),
                        assets=common.map_assets())
common.show_map(m, alt="Carte des structures de l'annuaire")
approx = int(filtered["location_precision"].isin(["commune_aleatoire",
                                                  "centroide_commune"]).sum())
common.source_caption(ctx, f"{fr.entier(approx)} structures localisées approximativement "
                           "(point placé dans la commune)."
                      + (f" La carte montre un échantillon de {fr.entier(limit)} structures ; "
                         "le tableau et les exports les contiennent toutes."
                         if len(filtered) > limit else ""))
shown = common.structures_table(filtered)
with st.expander("Voir les données sous forme de tableau", expanded=True):
    st.dataframe(shown, hide_index=True)
common.source_caption(ctx)
st.markdown("**Exporter exactement les structures filtrées**")
common.download_buttons(common.export_columns(filtered), "annuaire des acteurs",
                        key="annuaire", about=common.about(ctx, "Annuaire des acteurs"),
                        geo=True)
