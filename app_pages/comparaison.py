"""The parts of the page « Comparer les territoires » (the page itself stays a list of steps).

* classification: quantiles, natural breaks or manual thresholds (default: the current
  quantile breaks; checked and sorted by :func:`render.maps.parse_thresholds`);
* ranking: numbers stay numbers (numeric sort); rates per inhabitant on fewer than
  :data:`app_pages.logic.SMALL_POPULATION` inhabitants are flagged « faible effectif » and
  left out of commune rankings unless the user includes them;
* detailed comparison: indicators in rows, the chosen territories and the references (the
  parent territory, its région, France: only when entirely covered) in columns;
* change: map of the change since the previous quarter or over a year, absolute or
  relative, with its table.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages import common, frtable, loaders, logic, territoires, urlstate, widgets
from app_pages.frtable import Col
from observatory.storage import previous_quarter
from render import fr, maps

__all__ = ["change_section", "choropleth", "classification_widgets", "detailed",
           "members_table", "ranking", "show_ranking", "view_title"]


def view_title(view: str, parent_name: str) -> str:
    """« EPCI du département Côte-d'Or »-style subtitle of a comparison view."""
    return {
        "departements": f"départements de la région {parent_name}",
        "epci": f"EPCI du département {parent_name}",
        "communes_epci": f"communes de l'EPCI {parent_name}",
        "communes_dep": f"communes du département {parent_name}",
    }[view]


def members_table(ctx: logic.Context, level: str, parent_level: str,
                  parent: str) -> pd.DataFrame:
    """Indicators of the covered territories of ``level`` inside the parent, with their
    coverage (``complet``, ``part``)."""
    table = loaders.indicator_table(ctx.serie, ctx.quarter, level)
    codes = logic.members(ctx.reference, level, parent_level, parent,
                          loaders.scope(ctx.serie, ctx.quarter))
    cov = loaders.coverage_of(ctx.serie, ctx.quarter, level)
    sub = table[logic.among(table.index, codes) & logic.among(table.index, cov.index)]
    return sub.join(cov[["complet", "part"]], how="left")


def classification_widgets(values: pd.Series, dec: int, basis: str):
    """Classification, number of classes (not in manual mode, where it does nothing) and
    manual thresholds; returns (scheme, k, thresholds or None)."""
    c1, c2, c3 = st.columns([2, 1, 2])
    scheme = widgets.radio("classification", "Classification", list(maps.SCHEMES),
                           default="quantiles", what="la classification",
                           format_func=maps.SCHEMES.get, where=c1)
    if scheme != "manuel":
        k = widgets.slider("classes", "Nombre de classes", 3, 7, default=5,
                           what="le nombre de classes", where=c2)
        urlstate.write("seuils", None)
        return scheme, k, None
    urlstate.write("classes", None)
    base_key = f"{urlstate.page()}._seuils_base"
    if st.session_state.get(base_key) not in (None, basis):  # other data: other thresholds
        st.session_state.pop(urlstate.key("seuils"), None)
    st.session_state[base_key] = basis
    default = maps.default_thresholds(values, 5, dec)
    text = widgets.text_input("seuils", "Seuils (bornes hautes des classes, séparées par « ; »)",
                              where=c3, default=default,
                              help="Par défaut, les bornes des quantiles actuels. Les seuils "
                                   "sont remis dans l'ordre ; une classe vide est signalée "
                                   "dans la légende.")
    thresholds, notes = maps.parse_thresholds(text)
    if not thresholds:
        c3.error((notes[0] if notes else "Saisissez au moins un seuil.")
                 + f" Seuils utilisés : {default}.")
        thresholds, _ = maps.parse_thresholds(default)
    return scheme, 5, thresholds


def choropleth(ctx: logic.Context, sub: pd.DataFrame, level: str, within: tuple[str, str],
               indicator: str, scheme: str, k: int, thresholds, title: str) -> None:
    """The map of the indicator over the compared territories (its table: the ranking)."""
    ind = common.indicators()[indicator]

    def build():
        geo = loaders.display_layer(level, within)
        gdf = geo[logic.among(geo.index, sub.index)].join(
            sub[list(dict.fromkeys([indicator, "structures", "population"]))], how="left")
        return maps.choropleth_map(
            gdf, indicator, label=ind.label_fr, unit=ind.unit_fr, scheme=scheme, k=k,
            thresholds=thresholds, decimales=common.decimals(ind),
            extra_fields={"structures": "Structures", "population": "Population"},
            tiles=loaders.tiles(), assets=loaders.map_assets(),
            context=common.context_layer(level), noun=common.NOUNS[level])

    key = ("choropleth", ctx.serie, ctx.quarter, level, within, indicator, scheme, k,
           tuple(thresholds or ()), tuple(sub.index))
    common.show_cached_map(key, build, alt=f"Carte : {title}")
    common.source_caption(ctx, "Le tableau du classement ci-dessous donne les mêmes valeurs.")


def ranking(sub: pd.DataFrame, level: str, indicator: str) -> tuple[pd.DataFrame, int]:
    """Territories ranked by the indicator (1 = highest, or lowest for distances), and the
    number of small populations left out."""
    ind = common.indicators()[indicator]
    rate = logic.is_population_rate(ind)
    small = logic.small_population(sub) if rate else pd.Series(False, index=sub.index)
    include = True
    if rate and level == "commune" and small.any():
        include = widgets.checkbox(
            "petites", f"Inclure dans le classement les communes de moins de "
                       f"{fr.entier(logic.SMALL_POPULATION)} habitants (faible effectif)",
            default=False, what="l'option des petites communes",
            help="Sur une petite population, une structure de plus ou de moins fait varier "
                 "fortement le taux : ces communes sont signalées et, par défaut, exclues "
                 "du classement (voir la page Méthode).")
    else:
        urlstate.write("petites", None)
    ascending = indicator.startswith("distance") or indicator.startswith("part_population_plus")
    ranked = (sub if include else sub[~small.to_numpy(dtype=bool)]).copy()
    ranked["faible_effectif"] = small.reindex(ranked.index)
    ranked = ranked.sort_values(indicator, ascending=ascending, na_position="last")
    ranked["rang"] = ranked[indicator].rank(ascending=ascending, method="min").astype("Int64")
    return ranked, 0 if include else int(small.sum())


def show_ranking(ctx: logic.Context, ranked: pd.DataFrame, indicator: str, excluded: int,
                 view: str, parent_name: str) -> None:
    """The ranking table (numeric columns, French formats), its notes and downloads."""
    ind = common.indicators()[indicator]
    frame = ranked.reset_index(names="code")
    frame["couverture"] = [("complète" if bool(c) else f"partielle ({fr.pourcentage(p)})")
                           for c, p in zip(frame["complet"].fillna(True), frame["part"],
                                           strict=True)]
    cols = {"rang": Col("Rang", "int"), "nom": Col("Nom"), "code": Col("Code"),
            "structures": Col("Structures", "int"), "population": Col("Population", "int")}
    cols = {**{k: v for k, v in cols.items() if k in ("rang", "nom", "code")},
            indicator: Col(common.label_unit(ind), "dec", common.decimals(ind)),
            **{k: v for k, v in cols.items() if k in ("structures", "population")
               and k != indicator}}
    if logic.is_population_rate(ind) and frame["faible_effectif"].any():
        cols["faible_effectif"] = Col(
            "Faible effectif", "bool",
            help=f"Moins de {fr.entier(logic.SMALL_POPULATION)} habitants : taux fragile.")
    if not frame["complet"].fillna(True).all():
        cols["couverture"] = Col("Couverture par l'instantané")
    frtable.show(frame, cols, key="classement", alt="Classement des territoires")
    note = None
    if excluded:
        note = (f"{fr.compte(excluded, 'commune')} de moins de "
                f"{fr.entier(logic.SMALL_POPULATION)} habitants (faible effectif) "
                f"{'est exclue' if excluded == 1 else 'sont exclues'} du classement ; cochez "
                "la case ci-dessus pour les inclure.")
    common.source_caption(ctx, note)
    export = frame.drop(columns=["complet", "part"], errors="ignore")
    common.download_buttons(
        export, f"classement {indicator} {parent_name}", key="classement",
        about=common.about(ctx, f"Classement : {ind.label_fr}", {
            "Territoires": view_title(view, parent_name), "Indicateur": ind.label_fr,
            "Petites communes": "exclues" if excluded else "incluses"}))


def detailed(ctx: logic.Context, sub: pd.DataFrame, picked: list[str], parent_level: str,
             parent: str, choices: list[str]) -> None:
    """Indicators in rows; the chosen territories, then the references, in columns."""
    registry = common.indicators()
    refs, notes = territoires.reference_rows(ctx, parent_level, parent)
    compared = pd.concat([sub.loc[picked], refs]) if len(refs) else sub.loc[picked]
    columns = {code: f"{compared.at[code, 'nom']}" + ("" if code in refs.index else f" ({code})")
               for code in dict.fromkeys(compared.index)}
    wide = pd.DataFrame({"indicateur": [common.label_unit(registry[n]) for n in choices]})
    for code in columns:
        wide[code] = [compared.at[code, n] if n in compared.columns else None for n in choices]
    cols = {"indicateur": Col("Indicateur")}
    cols.update({code: Col(label, "dec") for code, label in columns.items()})
    frtable.show(wide, cols, key="comparaison_table",
                 row_decimals=[common.decimals(registry[n]) for n in choices],
                 alt="Comparaison détaillée")
    common.source_caption(ctx, " ".join(["Références : le territoire parent, sa région et la "
                                         "France, quand l'instantané les couvre entièrement.",
                                         *notes]))
    common.download_buttons(compared.drop(columns=["complet", "part"], errors="ignore")
                            .reset_index(names="code"), "comparaison", key="comparaison",
                            about=common.about(ctx, "Comparaison de territoires",
                                               {"Territoires": ", ".join(columns.values())}))


def _periods(ctx: logic.Context) -> dict[str, str]:
    """Available periods of change: key -> earlier quarter."""
    out = {}
    if ctx.previous:
        out["trimestre"] = ctx.previous
    year_before = ctx.quarter
    for _ in range(4):
        year_before = previous_quarter(year_before)
    if year_before in ctx.quarters:
        out["annee"] = year_before
    return out


def change_section(ctx: logic.Context, sub: pd.DataFrame, level: str,
                   within: tuple[str, str], view: str, parent_name: str) -> None:
    """Map of the change in the number of structures (absolute or relative) and its table."""
    periods = _periods(ctx)
    if not periods:
        st.info("Un seul instantané est disponible : l'évolution sera calculée au prochain "
                "trimestre.")
        return
    labels = {"trimestre": "Depuis le trimestre précédent", "annee": "Sur un an"}
    c1, c2 = st.columns(2)
    period = widgets.radio("evolution", "Période", list(periods), default="trimestre",
                           what="la période", format_func=labels.get, where=c1)
    measure = widgets.radio("mesure", "Mesure", ["absolue", "relative"], default="absolue",
                            what="la mesure", where=c2,
                            format_func={"absolue": "En nombre de structures",
                                         "relative": "En pourcentage"}.get)
    before_q = periods[period]
    before = loaders.table_at(ctx.serie, before_q, level)["structures"]
    frame = pd.DataFrame({"nom": sub["nom"], "avant": before.reindex(sub.index),
                          "apres": sub["structures"]})
    frame["variation"] = frame["apres"] - frame["avant"]
    base = pd.to_numeric(frame["avant"], errors="coerce")
    frame["variation_pct"] = (frame["variation"] / base.where(base > 0) * 100)
    relative = measure == "relative"
    since = f"depuis le {fr.trimestre_fr(before_q)}"
    values = frame["variation_pct" if relative else "variation"]

    def build():
        geo = loaders.display_layer(level, within)
        geo = geo[logic.among(geo.index, frame.index)].join(sub[["population"]], how="left")
        return maps.change_map(geo, values, relative=relative,
                               label="Évolution du nombre de structures", period=since,
                               tiles=loaders.tiles(), assets=loaders.map_assets(),
                               context=common.context_layer(level), noun=common.NOUNS[level])

    common.show_cached_map(("change", ctx.serie, ctx.quarter, before_q, level, within,
                            relative, tuple(frame.index)), build,
                           alt=f"Carte de l'évolution {since} : {view_title(view, parent_name)}")
    common.source_caption(ctx, f"Instantanés du {fr.trimestre_fr(before_q)} et du "
                               f"{fr.trimestre_fr(ctx.quarter)}.")
    with st.expander("Voir les données sous forme de tableau"):
        shown = frame.reset_index(names="code").sort_values("variation", ascending=False)
        frtable.show(shown, {
            "nom": Col("Nom"), "code": Col("Code"),
            "avant": Col(f"Structures ({fr.trimestre_fr(before_q)})", "int"),
            "apres": Col(f"Structures ({fr.trimestre_fr(ctx.quarter)})", "int"),
            "variation": Col("Évolution (structures)", "signed"),
            "variation_pct": Col("Évolution (%)", "signed", 1)}, key="evolution_table",
            alt="Évolution du nombre de structures")
        common.download_buttons(shown, f"evolution {view} {parent_name} {before_q}",
                                key="evolution", about=common.about(
                                    ctx, f"Évolution du nombre de structures {since}",
                                    {"Territoires": view_title(view, parent_name)}))
