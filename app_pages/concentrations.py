"""Page « Concentrations »: location quotients and hot and cold spots by commune."""

import streamlit as st

from app_pages import common, logic
from app_pages import concentration_logic as conc
from render import concentration_maps, fr

common.page_setup("Concentrations")
ctx = common.data_context()
common.demo_banner(ctx)
st.markdown("Où les structures de l'ESS se concentrent-elles ? Deux lectures par commune, "
            "pour un département ou une région : le **poids** d'une famille ou d'un secteur "
            "(quotient de localisation) et les **regroupements** de communes aux valeurs "
            "élevées ou faibles (points chauds et froids).")


def _choice(label, options, names, key, param, default, where=st, **kwargs):
    """A radio or selectbox whose value comes from, and goes back to, the URL."""
    wanted = common.param(param, default)
    widget = where.selectbox if kwargs.pop("select", False) else where.radio
    return widget(label, list(options), format_func=names.get, key=key,
                  index=list(options).index(wanted) if wanted in options else 0, **kwargs)


c1, c2 = st.columns([1, 2])
level = _choice("Territoire étudié", conc.LEVELS, conc.LEVELS, "niveau_conc", "niveau",
                "departement", c1, horizontal=True)
areas = common.territories_in_scope(ctx, level)
names = {c: f"{areas.at[c, 'nom']} ({c})" for c in areas.index}
code = _choice(conc.LEVELS[level], areas.index, names, "code_conc", "code",
               common.default_territory(ctx, level), c2, select=True)
c3, c4 = st.columns([1, 2])
by = _choice("Catégories", conc.BY, conc.BY, "par_conc", "par", "famille_ess", c3,
             horizontal=True)
labels = conc.categories(by)
category = _choice("Catégorie", labels, labels, "categorie_conc", "categorie", None, c4,
                   select=True)
nom, label = str(areas.at[code, "nom"]), labels[category]
geo, context = conc.area_layers(common.display_layer("commune", (level, code)),
                                common.display_layer("departement"),
                                common.indicator_table(ctx.quarter, "commune"),
                                conc.departements_of(ctx.reference, level, code))
reference = conc.reference_text(logic.coverage_text(ctx.reference, ctx.snapshot))

tab_lq, tab_hot = st.tabs(["Quotients de localisation", "Points chauds et froids"])
with tab_lq:
    st.markdown(conc.QUOTIENT_TEXT.format(reference=reference))
    lq = conc.quotients(common.indicator_table(ctx.quarter, "commune"), geo.index, by, category)
    m = concentration_maps.quotient_map(geo, lq["quotient"], label=label,
                                        structures=lq["structures"], reason=lq["motif"],
                                        reference=reference, context=context,
                                        tiles=common.tiles(), assets=common.map_assets())
    common.show_map(m, alt=f"Carte des quotients de localisation : {label}, {nom}")
    common.source_caption(ctx, f"Référence du quotient : {reference}.")
    shown = conc.quotient_rows(lq, geo["nom"])
    with st.expander("Voir les données sous forme de tableau"):
        st.dataframe(logic.fr_table(shown, {
            "code": "Code", "nom": "Commune", "structures": "Structures de l'ESS",
            "structures_categorie": f"Dont : {label}", "quotient": "Quotient de localisation",
            "motif": "Remarque"}, {"quotient": 2}), hide_index=True)
        common.download_buttons(shown, f"quotients {category} {code}", key="lq",
                                about=common.about(ctx, f"Quotients de localisation : {label} "
                                                        f"— {nom}"))


@st.cache_data(max_entries=16, show_spinner="Recherche des points chauds et froids…")
def _hot_spots(quarter: str, level: str, code: str, by: str, category: str | None,
               measure: str):
    from indicators.hotspots import hot_spots

    table = common.indicator_table(quarter, "commune")
    area, _ = conc.area_layers(common.display_layer("commune", (level, code)), None, table)
    result = hot_spots(area, conc.hotspot_values(table.loc[area.index], by, category, measure))
    return result, dict(result.attrs)


with tab_hot:
    st.markdown(conc.HOT_SPOT_TEXT)
    c5, c6 = st.columns(2)
    scope = {"toutes": "Toutes les structures de l'ESS", "categorie": label}
    which = _choice("Structures analysées", scope, scope, "champ_conc", "champ", "toutes", c5,
                    horizontal=True)
    measure = _choice("Valeur analysée", conc.MEASURES, conc.MEASURES, "mesure_conc",
                      "mesure", "structures", c6, horizontal=True)
    common.set_params(niveau=level, code=code, par=by, categorie=category, champ=which,
                      mesure=measure)
    tested = category if which == "categorie" else None
    what = conc.measure_label(measure, label if tested else None)
    decimales = 0 if measure == "structures" else 1
    try:
        result, attrs = _hot_spots(ctx.quarter, level, code, by, tested, measure)
    except ValueError as exc:  # fewer than 3 communes with a value
        st.info(f"Pas d'analyse possible sur ce territoire : {exc}")
        st.stop()
    threshold = conc.threshold_text(attrs)
    st.markdown(threshold)
    st.caption(conc.MEASURE_NOTES[measure])
    m = concentration_maps.hotspot_map(geo, result, label=what, decimales=decimales,
                                       context=context, tiles=common.tiles(),
                                       assets=common.map_assets())
    common.show_map(m, alt=f"Carte des points chauds et froids : {what}, {nom}")
    common.source_caption(ctx)
    spots = conc.hotspot_table(result, geo["nom"], decimales)
    counts = spots["resultat"].value_counts()
    st.markdown(f"**{fr.compte(counts.get('Point chaud', 0), 'point chaud', 'points chauds')}"
                f"** et **{fr.compte(counts.get('Point froid', 0), 'point froid', 'points froids')}"
                f"** parmi {fr.compte(len(geo), 'commune')} ({nom}).")
    if len(spots):
        st.dataframe(logic.fr_table(spots, {
            "code": "Code", "nom": "Commune", "resultat": "Résultat", "valeur": what,
            "score_z": "Score z (Gi*)", "p": "Probabilité critique (p)"},
            {"valeur": decimales, "score_z": 2, "p": 3}), hide_index=True)
        common.download_buttons(spots, f"points chauds {code}", key="gi",
                                about={**common.about(ctx, f"Points chauds et froids : {what}"
                                                           f" — {nom}"),
                                       "Seuil de significativité": threshold})
