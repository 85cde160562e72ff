"""The perimeter (series of snapshots) shown by every page: choice, labels, provenance.

Two series (SERIES_API): ``ess`` (default) and ``insertion``.  The choice sits in the
sidebar of every page and in the URL (``?serie=``); with a single series the sidebar just
names it.  Every page says which perimeter it shows, whether the data are real or
demonstration, and, for real data, their sources and vintages.
"""

from __future__ import annotations

import streamlit as st

from app_pages import loaders, logic, urlstate, widgets
from observatory.vocabulary import SERIES
from observatory.wording import DEMO_BANNER
from render import fr

__all__ = ["KIND_COLUMN", "choose", "label", "show_status", "sources_text", "status_text"]

#: French labels of the series (observatory.vocabulary.SERIES).
LABELS: dict[str, str] = dict(SERIES)
#: Column that tells the kinds of structures apart in each series.
KIND_COLUMN = {"ess": "famille_ess", "insertion": "type_structure"}


def label(serie: str) -> str:
    """French label of a series (its name when unknown)."""
    return LABELS.get(serie, serie)


def choose() -> str:
    """The perimeter shown: a choice in the sidebar bound to ``?serie=`` (a caption when a
    single series exists).  An unknown series in the URL falls back to ``ess`` with a
    French notice."""
    series = list(loaders.series_quarters()) or [loaders.DEFAULT_SERIE]
    if len(series) == 1:
        raw = urlstate.incoming("serie")
        if raw is not None and raw != series[0]:
            urlstate.notice(f"Le périmètre « {raw} » n'est pas disponible dans cet "
                            f"observatoire. La page affiche à la place : {label(series[0])}.")
        st.session_state["serie"] = series[0]
        st.sidebar.caption(f"Périmètre : **{label(series[0])}**")
        urlstate.write("serie", series[0])
        return series[0]
    return widgets.radio("serie", "Périmètre", series, default=loaders.DEFAULT_SERIE,
                         what="le périmètre", format_func=label, where=st.sidebar,
                         horizontal=False,
                         help="L'ESS entière (répertoire SIRENE et listes de l'ESS), ou "
                              "l'offre d'insertion et de travail protégé (SIAE, GEIQ, ESAT).")


def _source_title(name: str) -> str:
    from observatory import catalog

    try:
        return catalog.get_source(name).title
    except (KeyError, ValueError, OSError):
        return name


def sources_text(manifest: dict) -> str:
    """« Titre de la source (millésime) ; ... » from a manifest's ``sources``."""
    parts = []
    for name, info in (manifest.get("sources") or {}).items():
        if not isinstance(info, dict):
            continue
        notes = info.get("notes") if isinstance(info.get("notes"), dict) else {}
        if notes.get("titre"):  # a list shipped with its own title and vintage
            parts.append(str(notes["titre"]))
            continue
        vintage = info.get("vintage")
        parts.append(f"{_source_title(name)}" + (f" ({vintage})" if vintage else ""))
    return " ; ".join(parts)


def status_text(ctx: logic.Context) -> str:
    """One French sentence: perimeter, real or demonstration data, snapshot, sources."""
    head = f"Périmètre : **{label(ctx.serie)}** — instantané du {fr.trimestre_fr(ctx.quarter)}"
    if ctx.is_demo:
        return f"{head}. **Données fictives de démonstration.**"
    sources = sources_text(ctx.manifest)
    return f"{head}. **Données réelles**" + (f" : {sources}." if sources else ".")


def show_status(ctx: logic.Context) -> None:
    """Perimeter and provenance line at the top of a page, and the demo banner."""
    st.markdown(status_text(ctx))
    if ctx.is_demo:
        st.warning(f"**{DEMO_BANNER}.** Aucune de ces structures n'existe : noms, adresses et "
                   "SIRET sont inventés.", icon=":material/warning:")
