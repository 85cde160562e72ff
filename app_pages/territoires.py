"""Territories of the pages: which are covered, labels, refusals, references, structures.

A territory the snapshot does not cover is never replaced silently by another: the pages
get a French refusal (:func:`refusal`) naming it and what the snapshot covers.  A territory
covered in part is offered, computed on its covered part and labelled
(:func:`partial_message`).  References in comparisons (the parent territory, its région,
France) are shown only when the snapshot covers them entirely.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from app_pages import coverage, loaders, logic, perimetre

__all__ = [
    "background_for",
    "default_territory",
    "france_row",
    "option_label",
    "outlines_backdrop",
    "partial_message",
    "peer_label",
    "reference_rows",
    "refusal",
    "structures_in",
    "territories_in_scope",
    "underserved_communes",
]


def territories_in_scope(ctx: logic.Context, level: str) -> pd.DataFrame:
    """Territories of ``level`` with at least one covered commune: index code, ``nom``,
    ``complet``, ``part`` (covered share of the population), sorted by name."""
    return _territories(ctx.serie, ctx.quarter, level)


@st.cache_data(max_entries=32, show_spinner=False)
def _territories(serie: str, quarter: str, level: str) -> pd.DataFrame:
    cov = loaders.coverage_of(serie, quarter, level)
    lay = logic.layer(loaders.load_reference(), level)
    out = pd.DataFrame({"nom": lay["nom"].reindex(cov.index).astype(str),
                        "complet": cov["complet"], "part": cov["part"]})
    return out.sort_values("nom")


def option_label(table: pd.DataFrame) -> Callable[[str], str]:
    """« Côte-d'Or (21) », « Bourgogne-Franche-Comté (27) — couverture partielle »."""
    texts = table["nom"].astype(str) + " (" + table.index.astype(str) + ")"
    texts = texts.where(table["complet"].astype(bool), texts + " — couverture partielle")
    labels = dict(zip(table.index.astype(str), texts, strict=True))
    return lambda code: labels.get(str(code), str(code))


def refusal(ctx: logic.Context, level: str) -> Callable[[str], str | None]:
    """French reason why a code cannot be shown: unknown, or not covered by the snapshot."""
    def why(raw: str) -> str | None:
        code = str(raw).strip()
        lay = ctx.reference.communes if level == "commune" else logic.layer(ctx.reference,
                                                                              level)
        if code not in lay.index:
            return coverage.unknown_code(level, code)
        if code in loaders.coverage_of(ctx.serie, ctx.quarter, level).index:
            return None
        return coverage.not_covered(coverage.territory_name(lay, level, code),
                                    perimetre.label(ctx.serie), ctx.quarter,
                                    logic.covers_text(ctx.reference, ctx.snapshot))
    return why


def default_territory(ctx: logic.Context, level: str) -> str | None:
    """The territory a page opens on: the entirely covered one with the most structures."""
    table = territories_in_scope(ctx, level)
    if table.empty:
        return None
    structures = loaders.active(ctx.serie, ctx.quarter)
    counts = structures[level].astype("string").value_counts() if level in structures else None
    complete = table.index[table["complet"].to_numpy(dtype=bool)]
    candidates = complete if len(complete) else table.index
    if counts is not None:
        ranked = counts.reindex(candidates).fillna(0).sort_values(ascending=False, kind="stable")
        return str(ranked.index[0])
    return str(candidates[0])


def partial_message(ctx: logic.Context, level: str, code: str) -> str | None:
    """Label of a territory covered in part (None when entirely covered)."""
    cov = loaders.coverage_of(ctx.serie, ctx.quarter, level)
    if coverage.status(cov, code) != "partiel":
        return None
    lay = ctx.reference.communes if level == "commune" else logic.layer(ctx.reference, level)
    return coverage.partial_note(coverage.territory_name(lay, level, code),
                                 float(cov.at[code, "part"]),
                                 logic.covers_text(ctx.reference, ctx.snapshot))


def france_row(ctx: logic.Context, quarter: str | None = None) -> pd.DataFrame | None:
    """Indicators of France as a whole in ``quarter`` (default: the current one); None
    unless the snapshot covers all of France."""
    return loaders.france_at(ctx.serie, quarter or ctx.quarter)


def reference_rows(ctx: logic.Context, level: str, code: str) -> tuple[pd.DataFrame, list[str]]:
    """Reference rows of a comparison inside ``(level, code)``: that territory, its région,
    France; each only when entirely covered.  Returns (rows, French notes on those left
    out)."""
    rows, notes = [], []
    wanted = [(level, code)]
    if level in ("commune", "epci", "departement"):
        lay = ctx.reference.communes if level == "commune" else logic.layer(ctx.reference,
                                                                              level)
        if code in lay.index and "region" in lay.columns:
            wanted.append(("region", str(lay.at[code, "region"])))
    for lvl, cde in dict.fromkeys(wanted):
        cov = loaders.coverage_of(ctx.serie, ctx.quarter, lvl)
        state = coverage.status(cov, cde)
        table = loaders.indicator_table(ctx.serie, ctx.quarter, lvl)
        if state == "complet" and cde in table.index:
            row = table.loc[[cde]].copy()
            row["nom"] = [f"{n} ({logic.niveau_fr(lvl)})" for n in row["nom"]]
            rows.append(row)
        elif cde in table.index:
            notes.append(f"L'instantané ne couvre qu'une partie de {table.at[cde, 'nom']} "
                         f"({logic.niveau_fr(lvl)}) : ce territoire n'est pas montré en "
                         "référence.")
    france = france_row(ctx)
    if france is not None:
        rows.append(france)
    else:
        notes.append("La France entière n'est pas en référence : l'instantané ne couvre que "
                     f"{logic.covers_text(ctx.reference, ctx.snapshot)}.")
    return (pd.concat(rows) if rows else pd.DataFrame()), notes


def peer_label(ctx: logic.Context, level: str, code: str) -> str:
    """French description of the peers of a territory."""
    parent_level, parent_code = logic.parent_of(ctx.reference, level, code)
    kind = {"commune": "communes", "epci": "EPCI", "departement": "départements",
            "region": "régions"}[level]
    if parent_level is None:
        return f"{kind} de France"
    lay = logic.layer(ctx.reference, parent_level)
    nom = lay.at[parent_code, "nom"] if parent_code in lay.index else parent_code
    article = {"departement": "du même département", "region": "de la même région"}
    return f"{kind} {article.get(parent_level, 'du même territoire')} : {nom}"


def structures_in(ctx: logic.Context, level: str, code: str) -> pd.DataFrame:
    """Active structures assigned to a territory."""
    structures = loaders.active(ctx.serie, ctx.quarter)
    return structures[(structures[level].astype("string") == code).fillna(False)
                      .to_numpy(dtype=bool)]


def background_for(ctx: logic.Context, level: str, code: str, sub_level: str):
    """Sub-territories of a territory with their indicators, for the map background."""
    within = None if level == sub_level else (level, code)
    geo = loaders.display_layer(sub_level, within)
    if level == sub_level:
        geo = geo.loc[[code]]
    table = loaders.indicator_table(ctx.serie, ctx.quarter, sub_level)
    return geo.join(table[["structures_per_10k", "structures", "population"]], how="left")


def _outlines(serie: str, quarter: str, departement: str):
    """(level, outlines): the EPCI of the scope (of a département when given), or its
    départements when the scope has many EPCI."""
    communes = loaders.scope(serie, quarter)
    if departement:
        communes = communes[(communes["departement"].astype("string") == departement)
                            .fillna(False).to_numpy(dtype=bool)]
    level = "epci" if communes["epci"].nunique() <= 150 else "departement"
    geo = loaders.display_layer(level)
    return level, geo[geo.index.isin(communes[level].dropna().unique())]


@st.cache_resource(max_entries=32, show_spinner=False)
def _outlines_backdrop(serie: str, quarter: str, departement: str):
    from render import maps

    level, geo = _outlines(serie, quarter, departement)
    return maps.backdrop(geo, name="Limites des EPCI" if level == "epci"
                         else "Limites des départements",
                         context=loaders.display_layer("region" if level == "departement"
                                                       else "departement"))


def outlines_backdrop(ctx: logic.Context, departement: str | None = None):
    """The EPCI outlines of the scope (of a département when given; départements when the
    scope has many EPCI) with their neighbours and names, made once per place for every map
    of the directory (render.maps.Backdrop)."""
    return _outlines_backdrop(ctx.serie, ctx.quarter, departement or "")


def underserved_communes(ctx: logic.Context, level: str, code: str,
                         max_km: float) -> pd.DataFrame:
    """Communes of a territory farther than ``max_km`` from a structure: ``code``, ``nom``,
    ``population``, ``distance_structure_km`` (numbers), most populated first."""
    table = loaders.indicator_table(ctx.serie, ctx.quarter, "commune")
    scope = loaders.scope(ctx.serie, ctx.quarter)
    if level == "commune":
        inside = scope.index[scope.index == code]
    else:
        inside = scope.index[(scope[level].astype("string") == code).fillna(False)
                             .to_numpy(dtype=bool)]
    sub = table.loc[table.index.intersection(inside)]
    dist = pd.to_numeric(sub["distance_structure_km"], errors="coerce")
    far = sub[(dist > max_km) | dist.isna()].sort_values("population", ascending=False)
    return far.reset_index(names="code")[["code", "nom", "population",
                                          "distance_structure_km"]]


def fr_underserved(frame: pd.DataFrame) -> pd.DataFrame:
    """The same communes written in French (for the PDF fiche)."""
    return logic.fr_table(frame, {
        "code": "Code", "nom": "Commune", "population": "Population",
        "distance_structure_km": "Distance à la structure la plus proche (km)"})

