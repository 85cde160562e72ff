"""The parts of the page « Mon territoire »: search and choice of the territory, key figures,
charts of change and of the split by kind and sector, structures, underserved communes.

The search covers all of France (every région, département, EPCI and commune, accents and
case ignored).  A territory the snapshot does not cover is still found and chosen, and the
page says so and offers covered territories instead of showing another one.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages import (
    common,
    coverage,
    frtable,
    loaders,
    logic,
    perimetre,
    territoires,
    urlstate,
    widgets,
)
from app_pages.frtable import Col
from observatory.vocabulary import LEVELS
from render import charts, fr

__all__ = ["choose_territory", "evolution_frame", "key_figures", "not_covered_panel",
           "split_frame", "territory_charts"]


@st.cache_resource(max_entries=4, show_spinner=False)
def _index(serie: str, quarter: str) -> tuple[pd.DataFrame, dict[str, str], dict[str, str]]:
    """Every territory of France with its coverage, and, by « level|code », its label and
    its coverage status (read-only)."""
    cov = {level: loaders.coverage_of(serie, quarter, level) for level in LEVELS}
    index = logic.territory_index(loaders.load_reference(), cov)
    keys = index["niveau"] + "|" + index["code"]
    return (index, dict(zip(keys, index["libelle"], strict=True)),
            dict(zip(keys, index["couverture"], strict=True)))


def _seed_choice(ctx: logic.Context, key: str, default: str) -> None:
    """Seed the chosen territory from ``?niveau=&code=`` (checked, French notices)."""
    new_level, new_code = urlstate.incoming("niveau"), urlstate.incoming("code")
    if new_level is None and new_code is None:
        if key not in st.session_state:
            st.session_state[key] = default
        return
    level = st.query_params.get("niveau", "departement")
    code = str(st.query_params.get("code", "")).strip()
    if level not in LEVELS:
        urlstate.notice(f"Le niveau « {level} » n'existe pas (commune, epci, departement ou "
                        "region). La page affiche à la place le territoire par défaut.")
        st.session_state[key] = default
        return
    lay = ctx.reference.communes if level == "commune" else logic.layer(ctx.reference, level)
    if code not in lay.index:
        urlstate.notice(coverage.unknown_code(level, code)
                        + " La page affiche à la place le territoire par défaut.")
        st.session_state[key] = default
        return
    st.session_state[key] = f"{level}|{code}"


def choose_territory(ctx: logic.Context) -> tuple[str, str, str]:
    """Search box and choice; returns (level, code, coverage status)."""
    index, labels, states = _index(ctx.serie, ctx.quarter)
    key = urlstate.key("choix")
    default_code = territoires.default_territory(ctx, "departement")
    _seed_choice(ctx, key, f"departement|{default_code}")
    query = widgets.text_input(
        "q", "Rechercher une commune, un EPCI, un département ou une région",
        placeholder="Nom ou code, par exemple : Caen, Métropole européenne de Lille, 21231",
        help="Les accents, les majuscules et les tirets sont indifférents.")
    options = [st.session_state[key]]
    if query:
        found = logic.search_territories(index, query)
        if found.empty:
            st.warning(f"Aucun territoire de France ne correspond à « {query} ». Essayez un "
                       "autre nom ou un code INSEE (commune, département, région) ou SIREN "
                       "(EPCI).")
        else:
            options = list(found["niveau"] + "|" + found["code"])
            st.caption(fr.compte(len(found), "territoire trouvé", "territoires trouvés")
                       + (" (les 30 premiers)" if len(found) == 30 else "") + ".")
    if st.session_state[key] not in options:
        st.session_state[key] = options[0]

    def label(option: str) -> str:
        text = labels.get(option, option)
        state = states.get(option)
        return text + {"absent": " — hors de l'instantané",
                       "partiel": " — couverture partielle"}.get(state, "")

    choice = st.selectbox("Territoire", options, key=key, format_func=label,
                          filter_mode="contains" if len(options) > 12 else None)
    level, code = choice.split("|", 1)
    urlstate.write("niveau", level)
    urlstate.write("code", code)
    return level, code, states.get(choice, "absent")


def not_covered_panel(ctx: logic.Context, level: str, code: str) -> None:
    """Say that the territory is not covered, and offer covered territories."""
    lay = ctx.reference.communes if level == "commune" else logic.layer(ctx.reference, level)
    st.error(coverage.not_covered(coverage.territory_name(lay, level, code),
                                  perimetre.label(ctx.serie), ctx.quarter,
                                  logic.covers_text(ctx.reference, ctx.snapshot)),
             icon=":material/travel_explore:")
    offers = []
    top_level, top_code = logic.territoire(ctx.snapshot)
    if top_level is not None:
        offers.append((top_level, top_code))
    same = territoires.default_territory(ctx, level)
    if same:
        offers.append((level, same))
    for lvl, cde in dict.fromkeys(offers):
        other = ctx.reference.communes if lvl == "commune" else logic.layer(ctx.reference, lvl)
        name = coverage.territory_name(other, lvl, cde)
        st.button(f"Voir {name}", key=f"offre_{lvl}_{cde}", on_click=_go_to,
                  args=(f"{lvl}|{cde}",))


def _go_to(choice: str) -> None:
    """Button callback (runs before the widgets are drawn): choose another territory."""
    st.session_state[urlstate.key("choix")] = choice
    st.session_state[urlstate.key("q")] = ""


def key_figures(ctx: logic.Context, level: str, code: str) -> pd.DataFrame:
    """Metrics (with their change when not zero) and the table of key figures."""
    registry = common.indicators()
    table = loaders.indicator_table(ctx.serie, ctx.quarter, level)
    previous = loaders.table_at(ctx.serie, ctx.previous, level) if ctx.previous else None
    peers = logic.peers_of(ctx.reference, level, code)
    peers = peers[logic.among(peers, table.index)]
    figures = logic.key_figures(table, previous, code, peers, registry,
                                exclude_small=level == "commune")
    since = fr.trimestre_fr(ctx.previous) if ctx.previous else ""
    for col, row in zip(st.columns(4), figures.head(4).itertuples(), strict=False):
        change = row.variation
        moved = pd.notna(change) and fr.variation(change, row.decimales) != fr.nombre(
            0, row.decimales)
        col.metric(common.short_label(row.indicateur, row.Indicateur), row.nombre,
                   delta=fr.variation(change, row.decimales) if moved else None,
                   delta_arrow="up" if moved and change > 0 else "down" if moved else "off",
                   delta_color="off", delta_description=f"depuis le {since}" if moved else None,
                   help=f"Rang parmi les territoires comparables : {row.Rang}")
    st.markdown("#### Chiffres clés")
    cols = {"Indicateur": Col("Indicateur"), "valeur": Col("Valeur", "dec"),
            "unite": Col("Unité"), "Rang": Col("Rang"),
            "variation": Col(f"Évolution depuis le {since}" if since else "Évolution",
                             "signed"),
            "remarque": Col("Remarque")}
    if not figures["remarque"].astype(bool).any():
        cols.pop("remarque")
    frtable.show(figures, cols, key="chiffres_cles",
                 row_decimals=list(figures["decimales"]), alt="Chiffres clés")
    n_peers = int(len(peers))
    note = (f"Rang parmi les {n_peers} territoires comparables couverts par l'instantané "
            f"({territoires.peer_label(ctx, level, code)})" if n_peers > 1 else
            "Pas de rang : l'instantané ne couvre aucun autre territoire comparable "
            f"({territoires.peer_label(ctx, level, code)})")
    if level == "commune":
        note += (f" ; pour les taux par habitant, les communes de moins de "
                 f"{fr.entier(logic.SMALL_POPULATION)} habitants ne sont pas classées "
                 "(faible effectif)")
    common.source_caption(ctx, f"{note}. Les emplois sont **estimés** à partir des tranches "
                               "d'effectif SIRENE (approximation).")
    return figures


def _reference(ctx: logic.Context, level: str, code: str) -> tuple[str, str] | None:
    """(level, code) of the reference territory when entirely covered (France: "FR")."""
    parent_level, parent_code = logic.parent_of(ctx.reference, level, code)
    if parent_level is None:
        return ("france", "FR") if territoires.france_row(ctx) is not None else None
    cov = loaders.coverage_of(ctx.serie, ctx.quarter, parent_level)
    return (parent_level, parent_code) if coverage.status(cov, parent_code) == "complet" \
        else None


def evolution_frame(tables: dict[str, pd.DataFrame], rows: dict[str, str],
                    column: str) -> pd.DataFrame:
    """``trimestre``, ``territoire``, ``valeur`` of ``column`` for each (name -> code) of
    ``rows`` in each quarter's table (quarters in order; missing values left out)."""
    data = [{"trimestre": quarter, "territoire": name, "valeur": float(table.at[code, column])}
            for quarter, table in tables.items() for name, code in rows.items()
            if code in table.index and pd.notna(table.at[code, column])]
    return pd.DataFrame(data, columns=["trimestre", "territoire", "valeur"])


def split_frame(counts: pd.Series, labels: dict[str, str]) -> pd.DataFrame:
    """``categorie``, ``valeur`` of the non-zero counts, largest first."""
    counts = pd.to_numeric(counts, errors="coerce").fillna(0)
    counts = counts[counts > 0].sort_values(ascending=False)
    return pd.DataFrame({"categorie": [labels.get(str(c), str(c)) for c in counts.index],
                         "valeur": counts.to_numpy(dtype=float)})


def _unvalidated():
    """Altair without its schema validation (half a second a chart on every rerun;
    render.charts' own tests validate these charts)."""
    from altair.utils import schemapi

    return schemapi.debug_mode(False)


def _chart_with_table(build, frame: pd.DataFrame, key: str, decimals: int) -> None:
    with _unvalidated():
        spec = build().to_dict(validate=False)
    st.vega_lite_chart(spec, width="stretch")
    with st.expander("Voir le tableau"):
        table = charts.chart_table(frame)
        cols = {c: Col(c) if i == 0 else Col(c, "dec", decimals)
                for i, c in enumerate(table.columns)}
        frtable.show(table, cols, key=key)


def history_frame(ctx: logic.Context, level: str, code: str, name: str,
                  measure: str) -> tuple[pd.DataFrame, str]:
    """Values of ``measure`` over every quarter for the territory, and for its reference
    territory when it is a rate and the reference is entirely covered; (frame, note)."""
    tables = {q: loaders.table_at(ctx.serie, q, level) for q in ctx.quarters}
    frame = evolution_frame(tables, {name: code}, measure)
    if measure == "structures":
        return frame, (" Le nombre de structures est montré pour le seul territoire ; la "
                       "densité, avec son territoire de référence.")
    ref = _reference(ctx, level, code)
    if ref is None:
        return frame, (" Pas de territoire de référence : l'instantané ne le couvre qu'en "
                       "partie.")
    if ref[0] == "france":
        ref_tables = {q: territoires.france_row(ctx, q) for q in ctx.quarters}
        ref_tables = {q: t for q, t in ref_tables.items() if t is not None}
        ref_name = "France"
    else:
        ref_tables = {q: loaders.table_at(ctx.serie, q, ref[0]) for q in ctx.quarters}
        ref_name = str(ref_tables[ctx.quarter].at[ref[1], "nom"])
    reference = evolution_frame(ref_tables, {ref_name: ref[1]}, measure)
    return pd.concat([frame, reference], ignore_index=True), ""


def _history(ctx: logic.Context, level: str, code: str, name: str) -> None:
    measure = widgets.radio("courbe", "Mesure", ["structures", "structures_per_10k"],
                            default="structures", what="la mesure",
                            format_func={"structures": "Nombre de structures",
                                         "structures_per_10k": "Structures pour 10 000 "
                                                               "habitants"}.get)
    frame, note = history_frame(ctx, level, code, name, measure)
    ind = common.indicators()[measure]
    _chart_with_table(lambda: charts.evolution_chart(
        frame, measure_label=ind.label_fr, unit="" if measure == "structures" else ind.unit_fr),
        frame, "evolution_table", common.decimals(ind))
    st.caption(f"{fr.compte(len(ctx.quarters), 'instantané')} du périmètre.{note}")


def territory_charts(ctx: logic.Context, level: str, code: str, name: str) -> None:
    """Change over the quarters, and the split by kind and by sector, with their tables."""
    st.markdown("#### Évolution du nombre de structures")
    _history(ctx, level, code, name)
    st.markdown("#### Répartition des structures")
    column = common.kind_column(ctx)
    structures = territoires.structures_in(ctx, level, code)
    counts = structures[column].value_counts()
    kinds = split_frame(counts, {str(k): common.kind_label(column, str(k))
                                 for k in counts.index})
    registry = common.indicators()
    table = loaders.indicator_table(ctx.serie, ctx.quarter, level)
    sector_cols = [c for c in table.columns if c.startswith("n_secteur_") and c in registry
                   and registry[c].kind == "extensive"]
    sectors = split_frame(table.loc[code, sector_cols],
                          {c: registry[c].label_fr for c in sector_cols})
    left, right = st.columns(2)
    kind_label = "Famille de l'ESS" if column == "famille_ess" else "Type de structure"
    with left:
        st.markdown("**Par famille de l'ESS**" if column == "famille_ess"
                    else "**Par type de structure**")
        if kinds.empty:
            st.info("Aucune structure active.")
        else:
            _chart_with_table(lambda: charts.split_chart(kinds, category_label=kind_label),
                              kinds, "repartition_type", 0)
    with right:
        st.markdown("**Par secteur d'activité**")
        if sectors.empty:
            st.info("Aucune structure active.")
        else:
            _chart_with_table(lambda: charts.split_chart(sectors, category_label="Secteur"),
                              sectors, "repartition_secteur", 0)
    common.source_caption(ctx, "Secteurs regroupés à partir du code d'activité (NAF).")


def structures_section(ctx: logic.Context, level: str, code: str, name: str) -> None:
    """Map of the structures over the sub-territories, and their table."""
    from render import maps

    structures = territoires.structures_in(ctx, level, code)
    sub_level = "epci" if level == "region" else "commune"

    def build():
        background = territoires.background_for(ctx, level, code, sub_level)
        return maps.structures_map(structures, background=background,
                                   background_column="structures_per_10k",
                                   background_label="Structures pour 10 000 habitants",
                                   highlight=[code] if level == sub_level else [],
                                   tiles=loaders.tiles(), assets=loaders.map_assets(),
                                   context=common.context_layer(sub_level),
                                   kind_column=common.kind_column(ctx))

    common.show_cached_map(("structures", ctx.serie, ctx.quarter, level, code), build,
                           height=600, alt=f"Carte des structures : {name}")
    approx = int(structures["location_precision"].isin(
        ["commune_aleatoire", "centroide_commune"]).sum())
    counted = fr.compte(len(structures), "structure active", "structures actives")
    common.source_caption(ctx, f"{counted}, dont {fr.entier(approx)} "
                               f"localisée{'s' if approx > 1 else ''} approximativement (au "
                               "niveau de la commune). Fond : "
                               + ("EPCI" if level == "region" else "communes") + ".")
    # a check box, not an expander: a closed expander still builds and sends its table at
    # every run (the Nord's 24 853 structures: a 5 MB table)
    if widgets.checkbox("tableau", "Voir les structures sous forme de tableau", default=False,
                        what="le tableau des structures"):
        frtable.show(common.structures_table(ctx, structures), common.structure_columns(ctx),
                     key="structures_mt", alt=f"Structures : {name}")
    common.download_buttons(structures, f"structures {name}", key="structures_mt",
                            kind="structures", geo=True,
                            about=common.about(ctx, f"Structures : {name}"))


def underserved_section(ctx: logic.Context, level: str, code: str, name: str) -> int:
    """Communes farther than a chosen distance from any structure; returns the distance."""
    max_km = widgets.slider("km", "Distance à la structure la plus proche au-delà de laquelle "
                            "une commune est peu desservie (km)", 2, 30, default=10,
                            what="la distance")
    under = territoires.underserved_communes(ctx, level, code, max_km)
    if under.empty:
        st.success(f"Toutes les communes du territoire ont une structure à moins de "
                   f"{max_km} km.")
    else:
        st.markdown(f"{fr.compte(len(under), 'commune')} à plus de {max_km} km d'une "
                    "structure active :")
        frtable.show(under, {"nom": Col("Commune"), "code": Col("Code"),
                             "population": Col("Population", "int"),
                             "distance_structure_km": Col("Distance à la structure la plus "
                                                          "proche (km)", "dec", 1)},
                     key="peu_desservies")
        common.download_buttons(under, f"communes peu desservies {name} {max_km} km",
                                key="under", about=common.about(
                                    ctx, f"Communes à plus de {max_km} km d'une structure : "
                                         f"{name}", {"Distance": f"{max_km} km"}))
    common.source_caption(ctx, "Distance à vol d'oiseau du centre de la commune à la structure "
                               "active la plus proche.")
    return max_km


def fiche_pdf(ctx: logic.Context, level: str, code: str, figures: pd.DataFrame):
    """A callable producing the PDF fiche (built only when the user clicks)."""
    serie, quarter = ctx.serie, ctx.quarter
    text_figures = figures[["Indicateur", "Valeur", "Rang",
                            "Évolution depuis le trimestre précédent"]].copy()

    def build() -> bytes:
        return _fiche_pdf(serie, quarter, level, code, text_figures)

    return build


@st.cache_data(max_entries=16, show_spinner="Préparation de la fiche…")
def _fiche_pdf(serie: str, quarter: str, level: str, code: str,
               figures: pd.DataFrame) -> bytes:
    from render import pdf

    ctx = loaders.data_context(serie)
    table = loaders.indicator_table(serie, quarter, level)
    sub_level = "epci" if level == "region" else "commune"
    under = territoires.underserved_communes(ctx, level, code, 10)
    name = str(table.at[code, "nom"])
    evolution, _ = history_frame(ctx, level, code, name, "structures_per_10k")
    return pdf.fiche_territoire(
        nom=str(table.at[code, "nom"]), niveau=fr.NIVEAUX[level], code=code, figures=figures,
        territoires=territoires.background_for(ctx, level, code, sub_level),
        structures=territoires.structures_in(ctx, level, code),
        source=logic.source_text(ctx), demo=ctx.is_demo, trimestre=quarter,
        comparables=territoires.peer_label(ctx, level, code),
        underserved=territoires.fr_underserved(under), perimetre=perimetre.label(serie),
        evolution=evolution, evolution_label="Structures pour 10 000 habitants",
        kind_column=common.kind_column(ctx))
