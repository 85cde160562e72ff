"""Change between two snapshots (e.g. since the last quarter): new, closed, moved structures.

:func:`structure_changes` compares two structures frames SIRET by SIRET;
:func:`change_by_territory` counts the changes per territory. The ETL command ``etl diff``
calls both.

Status of a SIRET (``statut``):

* ``nouveau``  — active in the new snapshot, absent or closed in the old one;
* ``ferme``    — active in the old snapshot, closed or absent in the new one;
* ``deplace``  — active in both, and its commune changed or it moved more than 100 m;
* ``modifie``  — active in both, not moved, but a descriptive field changed (name, family,
  NAF, headcount band...);
* ``inchange`` — everything else (including a SIRET closed in both snapshots).

Per territory: ``variation_nette = structures_apres - structures_avant`` and the identity
``structures_apres = structures_avant + nouveaux - fermes + entrees_deplacement -
sorties_deplacement`` holds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from indicators.checks import check_level, require_columns, require_string_codes
from observatory.errors import DataValidationError, explain

__all__ = ["MOVE_THRESHOLD_M", "STATUSES", "TRACKED_FIELDS", "change_by_territory",
           "structure_changes"]

STATUSES = ("nouveau", "ferme", "deplace", "modifie", "inchange")
MOVE_THRESHOLD_M = 100.0
TRACKED_FIELDS = ("nom", "famille_ess", "naf", "tranche_effectif", "adresse",
                  "categorie_juridique")
_EARTH_RADIUS_M = 6_371_008.8


def _haversine_m(lon1, lat1, lon2, lat2) -> np.ndarray:
    lon1, lat1, lon2, lat2 = (np.radians(np.asarray(v, dtype="float64"))
                              for v in (lon1, lat1, lon2, lat2))
    a = (np.sin((lat2 - lat1) / 2) ** 2
         + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2)
    return 2 * _EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def _prepare(frame: pd.DataFrame, which: str) -> pd.DataFrame:
    require_columns(frame, ["siret", "etat_administratif", "commune"], f"{which} structures")
    require_string_codes(frame["siret"], f"{which} siret")
    if frame["siret"].duplicated().any():
        dup = frame.loc[frame["siret"].duplicated(), "siret"].unique().tolist()
        raise DataValidationError(explain(
            f"The {which} snapshot has duplicated SIRET.",
            "Changes are matched SIRET by SIRET; a duplicate makes the match ambiguous.",
            "Deduplicate the snapshot on siret.", dup), dup)
    cols = ["siret", "etat_administratif", "commune", "longitude", "latitude",
            *TRACKED_FIELDS]
    out = pd.DataFrame({c: frame.get(c, pd.NA) for c in cols})
    out["actif"] = out["etat_administratif"].astype("string").eq("A").fillna(False)
    return out


def structure_changes(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Status of every SIRET between two snapshots.

    Parameters
    ----------
    old, new : DataFrame
        Structures frames (``siret``, ``etat_administratif``, ``commune``, ``longitude``,
        ``latitude``, and the :data:`TRACKED_FIELDS` when present).

    Returns
    -------
    DataFrame
        Indexed by ``siret``: ``statut``, ``commune_avant``, ``commune_apres``,
        ``distance_m`` (NaN when a position is missing), ``actif_avant``, ``actif_apres`` and
        ``champs_modifies`` ("nom|naf", empty when none).
    """
    a, b = _prepare(old, "old"), _prepare(new, "new")
    m = a.merge(b, on="siret", how="outer", suffixes=("_avant", "_apres"), validate="1:1",
                indicator=True)
    act_a = m["actif_avant"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    act_b = m["actif_apres"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    dist = _haversine_m(m["longitude_avant"].astype("Float64").to_numpy(na_value=np.nan),
                        m["latitude_avant"].astype("Float64").to_numpy(na_value=np.nan),
                        m["longitude_apres"].astype("Float64").to_numpy(na_value=np.nan),
                        m["latitude_apres"].astype("Float64").to_numpy(na_value=np.nan))
    ca = m["commune_avant"].astype("string")
    cb = m["commune_apres"].astype("string")
    commune_changed = (ca.fillna("") != cb.fillna("")).to_numpy(dtype=bool)
    with np.errstate(invalid="ignore"):
        far = dist > MOVE_THRESHOLD_M
    changed_fields = np.full(len(m), "", dtype=object)
    for field in TRACKED_FIELDS:
        va = m[f"{field}_avant"].astype("string").fillna("")
        vb = m[f"{field}_apres"].astype("string").fillna("")
        diff = (va != vb).to_numpy(dtype=bool)
        changed_fields[diff] = np.where(changed_fields[diff] == "", field,
                                        changed_fields[diff] + "|" + field)
    both = act_a & act_b
    status = np.full(len(m), "inchange", dtype=object)
    status[both & (changed_fields != "")] = "modifie"
    status[both & (commune_changed | far)] = "deplace"
    status[act_b & ~act_a] = "nouveau"
    status[act_a & ~act_b] = "ferme"
    out = pd.DataFrame({
        "statut": pd.array(status, dtype="string"),
        "commune_avant": ca.to_numpy(), "commune_apres": cb.to_numpy(),
        "distance_m": dist, "actif_avant": act_a, "actif_apres": act_b,
        "champs_modifies": pd.array(changed_fields, dtype="string"),
    }, index=pd.Index(m["siret"].astype("string"), name="siret"))
    return out.sort_index()


def change_by_territory(old: pd.DataFrame, new: pd.DataFrame, level: str,
                        communes: pd.DataFrame, changes: pd.DataFrame | None = None
                        ) -> pd.DataFrame:
    """New, closed and moved structures per territory, net change and growth rate.

    Parameters
    ----------
    old, new : DataFrame
        Structures of the previous and the current snapshot.
    level : {"commune", "epci", "departement", "region"}
    communes : DataFrame
        Reference communes (their ``epci``/``departement``/``region`` place each structure).
    changes : DataFrame, optional
        Output of :func:`structure_changes` if already computed.

    Returns
    -------
    DataFrame
        Indexed by territory ``code`` (every territory of the reference at that level):
        ``structures_avant``, ``structures_apres``, ``nouveaux``, ``fermes``, ``deplaces``
        (moves ending in the territory, within or from elsewhere), ``entrees_deplacement``,
        ``sorties_deplacement``, ``variation_nette``, ``taux_evolution`` (%, ``pd.NA`` when
        there was no structure before) and ``motif_na``.
    """
    check_level(level)
    ch = structure_changes(old, new) if changes is None else changes
    if level == "commune":
        mapping = pd.Series(communes.index, index=communes.index).astype("string")
    else:
        mapping = communes[level].astype("string")
    t_a = ch["commune_avant"].astype("string").map(mapping)
    t_b = ch["commune_apres"].astype("string").map(mapping)
    territories = pd.Index(sorted(mapping.dropna().unique()), name="code", dtype="string")

    def count(mask, keys) -> pd.Series:
        return keys[np.asarray(mask, dtype=bool)].value_counts().reindex(
            territories, fill_value=0).astype("int64")

    st = ch["statut"].to_numpy(dtype=object)
    moved = st == "deplace"
    across = moved & (t_a.fillna("") != t_b.fillna("")).to_numpy(dtype=bool)
    out = pd.DataFrame({
        "structures_avant": count(ch["actif_avant"], t_a),
        "structures_apres": count(ch["actif_apres"], t_b),
        "nouveaux": count(st == "nouveau", t_b),
        "fermes": count(st == "ferme", t_a),
        "deplaces": count(moved, t_b),
        "entrees_deplacement": count(across, t_b),
        "sorties_deplacement": count(across, t_a),
    }, index=territories)
    out["variation_nette"] = out["structures_apres"] - out["structures_avant"]
    before = out["structures_avant"].to_numpy(dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = out["variation_nette"].to_numpy(dtype="float64") / before * 100
    out["taux_evolution"] = pd.array(np.where(before > 0, rate, np.nan), dtype="Float64")
    out["taux_evolution"] = out["taux_evolution"].mask(before == 0)
    out["motif_na"] = pd.array(np.where(before > 0, None,
                                        "aucune structure au trimestre précédent : "
                                        "taux d'évolution non défini"), dtype="string")
    return out
