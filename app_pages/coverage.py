"""Which territories a snapshot covers, and what the pages say about it (no Streamlit).

A snapshot covers a set of communes (its ``territoire``: France, a région, a département...).
For a territory of any level:

* **complet**: all its communes are covered: its figures are its own;
* **partiel**: some are: its figures are computed on the covered part only, and labelled so
  (a région covered by one of its départements never shows as the région);
* **absent**: none is: the territory is never replaced by another; the page says so and
  offers what is covered.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from render import fr

__all__ = [
    "coverage_table",
    "not_covered",
    "partial_note",
    "status",
    "territory_name",
    "unknown_code",
]


def coverage_table(communes: pd.DataFrame, covered: pd.Index, level: str) -> pd.DataFrame:
    """Coverage of every territory of ``level`` that has at least one covered commune.

    Returns a frame indexed by code: ``communes``, ``communes_couvertes``,
    ``population`` (whole territory), ``population_couverte``, ``part`` (covered share of the
    population, 0–1; share of communes when the population is 0) and ``complet`` (bool).
    """
    key = (pd.Series(communes.index, index=communes.index) if level == "commune"
           else communes[level]).astype("string")
    pop = pd.to_numeric(communes["population"], errors="coerce").astype("float64").fillna(0)
    inside = communes.index.isin(covered)
    frame = pd.DataFrame({"key": key.to_numpy(), "pop": pop.to_numpy(), "inside": inside})
    frame = frame.dropna(subset=["key"])
    frame["pop_in"] = np.where(frame["inside"], frame["pop"], 0.0)
    out = frame.groupby("key", sort=True).agg(
        communes=("inside", "size"), communes_couvertes=("inside", "sum"),
        population=("pop", "sum"), population_couverte=("pop_in", "sum"))
    out = out[out["communes_couvertes"] > 0]
    share = out["population_couverte"] / out["population"].where(out["population"] > 0)
    out["part"] = share.fillna(out["communes_couvertes"] / out["communes"])
    out["complet"] = out["communes_couvertes"] == out["communes"]
    out.index = pd.Index(out.index.astype("string"), name="code")
    return out


def status(table: pd.DataFrame, code: str) -> str:
    """``complet``, ``partiel`` or ``absent`` for a territory code."""
    if code not in table.index:
        return "absent"
    return "complet" if bool(table.at[code, "complet"]) else "partiel"


def territory_name(layer: pd.DataFrame, level: str, code: str) -> str:
    """« Normandie (région 28) »: name, level and code, for messages."""
    nom = str(layer.at[code, "nom"]) if code in layer.index else code
    niveau = fr.NIVEAUX[level] if level == "epci" else fr.NIVEAUX[level].lower()
    return f"{nom} ({niveau} {code})"


def unknown_code(level: str, code: str) -> str:
    """Message for a code that exists nowhere in the reference geography."""
    niveau = fr.NIVEAUX[level] if level == "epci" else fr.NIVEAUX[level].lower()
    return f"Le code « {code} » ne correspond à aucun territoire de niveau {niveau}."


def not_covered(name: str, perimetre: str, quarter: str, covers: str) -> str:
    """Message for a real territory outside the snapshot's coverage."""
    return (f"L'instantané du {fr.trimestre_fr(quarter)} (périmètre « {perimetre} ») ne "
            f"couvre pas {name} : il couvre {covers}. Les chiffres de ce territoire ne sont "
            "pas disponibles ici ; choisissez un territoire couvert.")


def partial_note(name: str, share: float, covered_parts: str) -> str:
    """Label of a territory computed on its covered part only."""
    return (f"Couverture partielle : les chiffres de {name} sont calculés sur la seule partie "
            f"couverte par l'instantané ({covered_parts}, soit "
            f"{fr.pourcentage(share)} de sa population). Ce ne sont pas les chiffres du "
            "territoire entier.")
