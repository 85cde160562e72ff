"""Change between two snapshots (e.g. since the last quarter): new, closed, moved structures.

:func:`structure_changes` compares two structures frames structure by structure, matched on
their ``identifiant`` (:func:`indicators.prepare.structure_keys`: the SIRET for SIRENE
establishments, a stable identifier of its own for a structure without SIRET; the SIRET in
snapshots written before that column existed);
:func:`change_by_territory` counts the changes per territory. The command
``python -m observatory diff``
calls both.

Status of a structure (``statut``):

* ``nouveau``  — active in the new snapshot, absent or closed in the old one;
* ``ferme``    — active in the old snapshot, closed or absent in the new one;
* ``deplace``  — active in both, and its commune changed or it moved more than 100 m;
* ``modifie``  — active in both, not moved, but a descriptive field changed (name, family,
  NAF, headcount band...);
* ``inchange`` — everything else (including a structure closed in both snapshots).

Per territory: ``variation_nette = structures_apres - structures_avant`` and the identity
``structures_apres = structures_avant + nouveaux - fermes + entrees_deplacement -
sorties_deplacement`` holds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from indicators.checks import require_columns
from indicators.prepare import (
    arrow,
    duplicated_values,
    encode,
    siret_numbers,
    structure_keys,
    territory_index,
)
from observatory.errors import DataValidationError, explain
from observatory.vocabulary import check_level

__all__ = ["MOVE_THRESHOLD_M", "STATUSES", "TRACKED_FIELDS", "change_by_levels",
           "change_by_territory", "structure_changes"]

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


def _check(frame: pd.DataFrame, which: str) -> tuple[pd.Series, pa.ChunkedArray]:
    """The keys of ``frame`` (unique, none missing) and their Arrow view."""
    require_columns(frame, ["etat_administratif", "commune"], f"{which} structures")
    keys = structure_keys(frame)
    missing = int(keys.isna().sum())
    if missing:
        raise DataValidationError(explain(
            f"{missing} structure(s) of the {which} snapshot have neither identifiant nor "
            "SIRET.",
            "Changes are matched structure by structure; a row without a key cannot be "
            "followed from one quarter to the next.",
            "Rebuild that snapshot with python -m observatory refresh --replace, which gives "
            "each structure its own identifiant."))
    dup = duplicated_values(keys)
    if dup:
        raise DataValidationError(explain(
            f"The {which} snapshot has duplicated identifiants (or SIRET).",
            "Changes are matched structure by structure; a duplicate makes the match "
            "ambiguous.",
            "Rebuild that snapshot with python -m observatory refresh --replace.", dup), dup)
    return keys, arrow(keys)


def _positions(keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Position of each of ``values`` in the unique ``keys`` (-1 absent), by sorting."""
    if len(keys) == 0:
        return np.full(len(values), -1, dtype="int64")
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    pos = np.clip(np.searchsorted(ordered, values), 0, len(keys) - 1)
    return np.where(ordered[pos] == values, order[pos], -1).astype("int64")


def _match(old_keys, new_keys, s_old, s_new) -> tuple[np.ndarray, np.ndarray]:
    """(position in old of each new key, position in new of each old key); all-digit keys
    (SIRET only) take the integer fast path."""
    a, b = siret_numbers(old_keys), siret_numbers(new_keys)
    if a is not None and b is not None:
        return _positions(a, b), _positions(b, a)
    in_old = pc.fill_null(pc.index_in(s_new, value_set=s_old.combine_chunks()), -1)
    in_new = pc.fill_null(pc.index_in(s_old, value_set=s_new.combine_chunks()), -1)
    return in_old.to_numpy().astype("int64"), in_new.to_numpy().astype("int64")


def _take(frame: pd.DataFrame, column: str, idx: np.ndarray) -> pa.ChunkedArray:
    """Values of ``column`` at positions ``idx`` (null where idx < 0 or column absent)."""
    if column not in frame:
        return pa.chunked_array([pa.nulls(len(idx), type=pa.string())])
    arr = arrow(frame[column].astype("string"))
    indices = pa.array(np.maximum(idx, 0), mask=idx < 0)
    return arr.take(indices)


def _at(values: np.ndarray, idx: np.ndarray, fill) -> np.ndarray:
    """``values[idx]`` with ``fill`` where ``idx < 0`` (works on empty ``values``)."""
    out = np.full(len(idx), fill, dtype=values.dtype)
    ok = idx >= 0
    out[ok] = values[idx[ok]]
    return out


def _floats(frame: pd.DataFrame, column: str, idx: np.ndarray) -> np.ndarray:
    if column not in frame:
        return np.full(len(idx), np.nan)
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype="float64",
                                                                   na_value=np.nan)
    return _at(values, idx, np.nan)


def _differs(a: pa.ChunkedArray, b: pa.ChunkedArray) -> np.ndarray:
    a = pc.fill_null(a.cast(pa.large_string()), "")
    b = pc.fill_null(b.cast(pa.large_string()), "")
    return pc.not_equal(a, b).to_numpy(zero_copy_only=False).astype(bool)


def structure_changes(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Status of every structure between two snapshots.

    Parameters
    ----------
    old, new : DataFrame
        Structures frames (``identifiant`` or ``siret``, ``etat_administratif``, ``commune``,
        ``longitude``, ``latitude``, and the :data:`TRACKED_FIELDS` when present).

    Returns
    -------
    DataFrame
        Indexed by ``identifiant`` (the keys of ``new`` in their order, then those found only
        in ``old``; :func:`indicators.prepare.structure_keys`): ``statut`` (categorical,
        :data:`STATUSES`), ``commune_avant``, ``commune_apres``, ``distance_m`` (NaN when a
        position is missing), ``actif_avant``, ``actif_apres`` and ``champs_modifies``
        ("nom|naf", empty when none).
    """
    (k_old, s_old), (k_new, s_new) = _check(old, "old"), _check(new, "new")
    in_old, in_new = _match(k_old, k_new, s_old, s_new)
    only_old = np.flatnonzero(in_new < 0)
    old_idx = np.concatenate([in_old, only_old])
    new_idx = np.concatenate([np.arange(len(new)), np.full(len(only_old), -1)])
    act_old = encode(old["etat_administratif"], ["A"]) == 0
    act_new = encode(new["etat_administratif"], ["A"]) == 0
    act_a = _at(act_old, old_idx, False)
    act_b = _at(act_new, new_idx, False)
    ca, cb = _take(old, "commune", old_idx), _take(new, "commune", new_idx)
    commune_changed = _differs(ca, cb)
    dist = _haversine_m(_floats(old, "longitude", old_idx), _floats(old, "latitude", old_idx),
                        _floats(new, "longitude", new_idx), _floats(new, "latitude", new_idx))
    with np.errstate(invalid="ignore"):
        far = dist > MOVE_THRESHOLD_M
    both = act_a & act_b
    changed_fields = np.full(len(old_idx), "", dtype=object)
    for fld in TRACKED_FIELDS:
        if fld not in old and fld not in new:
            continue
        diff = _differs(_take(old, fld, old_idx), _take(new, fld, new_idx)) & (
            (old_idx >= 0) & (new_idx >= 0))
        changed_fields[diff] = np.where(changed_fields[diff] == "", fld,
                                        changed_fields[diff] + "|" + fld)
    status = np.full(len(old_idx), STATUSES.index("inchange"), dtype="int8")
    status[both & (changed_fields != "")] = STATUSES.index("modifie")
    status[both & (commune_changed | far)] = STATUSES.index("deplace")
    status[act_b & ~act_a] = STATUSES.index("nouveau")
    status[act_a & ~act_b] = STATUSES.index("ferme")
    keys = pa.chunked_array([
        s_new.combine_chunks().cast(pa.large_string()),
        s_old.take(pa.array(only_old, type=pa.int64())).combine_chunks().cast(
            pa.large_string())])
    index = pd.Index(pd.arrays.ArrowStringArray(keys), name="identifiant")
    return pd.DataFrame({
        "statut": pd.Categorical.from_codes(status, categories=list(STATUSES)),
        "commune_avant": pd.arrays.ArrowStringArray(ca.cast(pa.large_string())),
        "commune_apres": pd.arrays.ArrowStringArray(cb.cast(pa.large_string())),
        "distance_m": dist, "actif_avant": act_a, "actif_apres": act_b,
        "champs_modifies": pd.array(changed_fields, dtype="string"),
    }, index=index)


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
    return change_by_levels(old, new, communes, (level,), changes=changes)[level]


def change_by_levels(old: pd.DataFrame, new: pd.DataFrame, communes: pd.DataFrame,
                     levels=("commune", "epci", "departement", "region"), *,
                     changes: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """:func:`change_by_territory` for several levels, matching structures and communes
    once.

    Returns
    -------
    dict level -> DataFrame (same columns as :func:`change_by_territory`).
    """
    for level in levels:
        check_level(level)
    ch = structure_changes(old, new) if changes is None else changes
    pos_a = encode(ch["commune_avant"], communes.index)
    pos_b = encode(ch["commune_apres"], communes.index)
    return {level: _count_changes(ch, pos_a, pos_b, communes, level) for level in levels}


def _count_changes(ch: pd.DataFrame, pos_a: np.ndarray, pos_b: np.ndarray,
                   communes: pd.DataFrame, level: str) -> pd.DataFrame:
    terr, codes = territory_index(communes, level)
    n = len(codes)
    t_a = np.where(pos_a >= 0, terr[np.maximum(pos_a, 0)], -1)
    t_b = np.where(pos_b >= 0, terr[np.maximum(pos_b, 0)], -1)

    def count(mask, keys) -> np.ndarray:
        sel = np.asarray(mask, dtype=bool) & (keys >= 0)
        return np.bincount(keys[sel], minlength=n).astype("int64")

    st = ch["statut"].to_numpy(dtype=object)
    moved = st == "deplace"
    across = moved & (t_a != t_b)
    out = pd.DataFrame({
        "structures_avant": count(ch["actif_avant"].to_numpy(dtype=bool), t_a),
        "structures_apres": count(ch["actif_apres"].to_numpy(dtype=bool), t_b),
        "nouveaux": count(st == "nouveau", t_b),
        "fermes": count(st == "ferme", t_a),
        "deplaces": count(moved, t_b),
        "entrees_deplacement": count(across, t_b),
        "sorties_deplacement": count(across, t_a),
    }, index=pd.Index(codes, name="code"))
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
