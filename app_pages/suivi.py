"""The parts of the staff page « Actualisation et qualité »: change between snapshots
(new, closed, moved in, moved out, net), row accounting, rejects, location precision."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages import common, frtable, loaders, logic, tables, widgets
from app_pages.frtable import Col
from render import fr

__all__ = ["change_table", "changes_section", "rejects_section"]

#: Columns of the change table, in the order that adds up:
#: actives before + new - closed + moved in - moved out = actives after.
CHANGE_COLUMNS = ("structures_avant", "nouveaux", "fermes", "entrees_deplacement",
                  "sorties_deplacement", "variation_nette", "structures_apres",
                  "taux_evolution")


def change_table(serie: str, previous: str, current: str, level: str) -> pd.DataFrame:
    """New / closed / moved structures per territory of the scope
    (:func:`indicators.change.change_by_levels`, the one change engine)."""
    return loaders.changes_by_level(serie, previous, current)[level]


def _identity(frame: pd.DataFrame) -> str:
    """« 8 860 + 300 − 139 + 2 − 2 = 9 021 » for the totals of the table."""
    total = frame[list(CHANGE_COLUMNS[:-1])].sum()
    return (f"{fr.entier(total['structures_avant'])} + {fr.entier(total['nouveaux'])} "
            f"− {fr.entier(total['fermes'])} + {fr.entier(total['entrees_deplacement'])} "
            f"− {fr.entier(total['sorties_deplacement'])} = "
            f"{fr.entier(total['structures_apres'])}")


def changes_section(ctx: logic.Context) -> None:
    """The change table since the previous quarter, per territory of a chosen level."""
    if ctx.previous is None:
        st.info("Un seul instantané : pas encore de comparaison possible.")
        return
    level = widgets.selectbox("niveau", "Niveau", ["region", "departement", "epci", "commune"],
                              default="epci", what="le niveau", format_func=fr.NIVEAUX.get)
    diff = change_table(ctx.serie, ctx.previous, ctx.quarter, level)
    names = logic.layer(ctx.reference, level)["nom"] if level != "commune" \
        else ctx.reference.communes["nom"]
    diff = diff.join(names.rename("nom"), how="left").reset_index(names="code")
    moved = diff[list(CHANGE_COLUMNS[1:6])].abs().sum(axis=1) > 0
    shown = diff[moved] if level == "commune" else diff
    before, after = fr.trimestre_fr(ctx.previous), fr.trimestre_fr(ctx.quarter)
    frtable.show(shown.sort_values("variation_nette", ascending=False), {
        "nom": Col("Territoire"), "code": Col("Code"),
        "structures_avant": Col(f"Actives ({before})", "int"),
        "nouveaux": Col("Nouvelles", "int", help="Actives maintenant, absentes ou fermées "
                                                    "avant."),
        "fermes": Col("Fermées", "int", help="Actives avant, fermées ou absentes maintenant."),
        "entrees_deplacement": Col("Arrivées", "int", help="Déplacées depuis un autre "
                                                          "territoire."),
        "sorties_deplacement": Col("Départs", "int", help="Déplacées vers un autre territoire."),
        "variation_nette": Col("Variation nette", "signed"),
        "structures_apres": Col(f"Actives ({after})", "int"),
        "taux_evolution": Col("Évolution (%)", "signed", 1)}, key="evolution_qualite",
        alt="Évolution depuis le trimestre précédent")
    st.caption("Le tableau s'additionne : actives avant + nouvelles − fermées + arrivées − "
               f"départs = actives après. Total du périmètre : {_identity(diff)}."
               + (f" Seules les {fr.compte(int(moved.sum()), 'commune')} touchées par un "
                  "changement sont listées." if level == "commune" else ""))
    common.download_buttons(diff, f"evolution {ctx.previous} {ctx.quarter} {level}",
                            key="diff", about=common.about(
                                ctx, f"Évolution entre les instantanés {ctx.previous} et "
                                     f"{ctx.quarter}", {"Niveau": fr.NIVEAUX[level]}))


def rejects_section(ctx: logic.Context, staff: bool) -> None:
    """Reasons of rejection, and the raw rejected rows (personal fields masked unless a
    signed-in staff member is reading)."""
    rejects = ctx.snapshot.rejects
    if rejects is None or len(rejects) == 0:
        st.success("Aucune ligne rejetée.")
        return
    reasons = rejects["raison"].astype("string").str.split(":").str[0].str.strip() \
        .value_counts()
    frtable.show(pd.DataFrame({"libelle": [fr.libelle_raison(r) for r in reasons.index],
                               "raison": reasons.index, "lignes": reasons.to_numpy()}),
                 {"libelle": Col("Raison"), "raison": Col("Code"),
                  "lignes": Col("Lignes", "int")}, key="raisons")
    shown = rejects if staff else tables.mask_personal(rejects)
    st.markdown("**Lignes rejetées, telles que lues dans la source**"
                + ("" if staff else " (champs personnels masqués : e-mail, téléphone, nom "
                                    "d'une personne physique)"))
    detail = shown.head(500).assign(libelle=lambda f: f["raison"].map(fr.libelle_raison))
    frtable.show(detail, {"source": Col("Source"), "ligne": Col("Ligne", "int"),
                          "siret": Col("SIRET"), "libelle": Col("Raison"),
                          "raison": Col("Détail"), "donnees": Col("Ligne brute")},
                 key="rejets")
    if len(shown) > 500:
        st.caption(f"Les 500 premières lignes sur {fr.entier(len(shown))} ; l'export les "
                   "contient toutes.")
    common.download_buttons(shown, f"rejets {ctx.quarter}", key="rejets", kind="rejects",
                            about=common.about(ctx, "Lignes rejetées"))

