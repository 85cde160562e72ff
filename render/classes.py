"""Classes of a mapped value: quantiles, natural breaks, manual thresholds, and diverging
classes of a change, with French labels that say plainly when a class is empty.

Conventions (mapclassify's, checked against it in the tests): class ``i`` holds
``bins[i-1] < y <= bins[i]``; the maximum closes the last class; missing values get ``-1``.

Manual thresholds are read the French way (``5 ; 10,5 ; 20``), checked (numbers only),
sorted and deduplicated; every correction and every class left empty is written in
:attr:`Classification.notes`, in French, for the legend and the page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from render import fr

__all__ = [
    "DIVERGING",
    "SCHEMES",
    "Classification",
    "classify",
    "default_thresholds",
    "diverging_classes",
    "jenks_breaks",
    "parse_thresholds",
    "quantile_breaks",
    "thresholds_text",
]

#: Classification schemes offered to users: key -> French label.
SCHEMES = {
    "quantiles": "Quantiles (effectifs égaux)",
    "jenks": "Seuils naturels (Jenks)",
    "manuel": "Seuils manuels",
}
#: ColorBrewer YlGnBu (9 classes), sampled for fewer classes; readable by colour-blind users.
_PALETTE = ("#ffffd9", "#edf8b1", "#c7e9b4", "#7fcdbb", "#41b6c4",
            "#1d91c0", "#225ea8", "#253494", "#081d58")
#: ColorBrewer RdBu (7 classes, colour-blind safe): falls red, stable near white, rises blue.
DIVERGING = ("#b2182b", "#ef8a62", "#fddbc7", "#f7f7f7", "#d1e5f0", "#67a9cf", "#2166ac")


@dataclass(frozen=True)
class Classification:
    """Classes of a numeric column: ``classes`` is -1 for missing values; ``notes`` are
    French sentences about the classes (thresholds corrected, classes left empty)."""

    classes: np.ndarray
    bins: tuple[float, ...]
    labels: tuple[str, ...]
    colours: tuple[str, ...]
    scheme: str
    counts: tuple[int, ...]
    notes: tuple[str, ...] = ()


def _palette(k: int) -> tuple[str, ...]:
    if k <= 1:
        return (_PALETTE[5],)
    idx = np.linspace(1, len(_PALETTE) - 1, k).round().astype(int)
    return tuple(_PALETTE[i] for i in idx)


def parse_thresholds(text: str) -> tuple[list[float], list[str]]:
    """Read manual thresholds typed the French way; return (sorted unique values, notes).

    >>> parse_thresholds("20 ; 5 ; 10,5 ; 5")
    ([5.0, 10.5, 20.0], ['Seuils remis dans l’ordre croissant.', 'Seuil en double retiré : 5.'])
    >>> parse_thresholds("5 ; abc")
    ([], ['« abc » n’est pas un nombre : écrivez les seuils comme « 5 ; 10,5 ; 20 ».'])
    """
    values: list[float] = []
    for part in str(text or "").replace("\u00a0", " ").replace("\u202f", " ").split(";"):
        raw = part.strip()
        if not raw:
            continue
        try:
            value = float(raw.replace(" ", "").replace(",", "."))
        except ValueError:
            return [], [f"« {raw} » n’est pas un nombre : écrivez les seuils comme "
                        "« 5 ; 10,5 ; 20 »."]
        if not np.isfinite(value):
            return [], [f"« {raw} » n’est pas un seuil utilisable."]
        values.append(value)
    notes = []
    if values != sorted(values):
        notes.append("Seuils remis dans l’ordre croissant.")
    unique = sorted(set(values))
    doubles = sorted({v for v in values if values.count(v) > 1})
    if doubles:
        notes.append("Seuil en double retiré : " + ", ".join(fr.nombre(v, _dec(v))
                                                              for v in doubles) + ".")
    return unique, notes


def _dec(value: float) -> int:
    return 0 if float(value).is_integer() else min(3, len(repr(float(value)).split(".")[1]))


def thresholds_text(bins: Sequence[float], decimales: int = 1) -> str:
    """Upper bounds written for the thresholds field: ``5,0 ; 10,0 ; 20,0``."""
    return " ; ".join(fr.nombre(b, decimales) for b in bins)


def default_thresholds(values: pd.Series | Sequence[float], k: int = 5,
                       decimales: int = 1) -> str:
    """The manual thresholds to offer first: the current quantile breaks (without the
    maximum, which always closes the last class), written the French way."""
    cls = classify(values, "quantiles", k, decimales=decimales)
    inner = cls.bins[:-1] if len(cls.bins) > 1 else cls.bins
    return thresholds_text([float(fr.arrondi(b, decimales)) for b in inner], decimales)


def _manual_notes(bins: Sequence[float], low: float, high: float, counts: Sequence[int],
                  decimales: int, noun: str) -> list[str]:
    notes = []
    span = f"de {fr.nombre(low, decimales)} à {fr.nombre(high, decimales)}"
    if bins and bins[0] < low and len(bins) > 1 and bins[-2] < low:
        notes.append(f"Tous les seuils sont inférieurs à la plus petite valeur "
                     f"({fr.nombre(low, decimales)}) : {fr.tous(noun)} sont dans la même "
                     f"classe. Choisissez des seuils entre les valeurs observées ({span}).")
    empty = sum(1 for n in counts if n == 0)
    if empty and not notes:
        notes.append(f"{fr.compte(empty, 'classe vide', 'classes vides')} ({fr.aucun(noun)}) : "
                     f"rapprochez les seuils des valeurs observées ({span}).")
    return notes


def classify(values: pd.Series | Sequence[float], scheme: str = "quantiles", k: int = 5,
             thresholds: Sequence[float] | None = None, decimales: int = 1,
             noun: str = "territoire") -> Classification:
    """Classify values (mapclassify's schemes and conventions) and write French labels.

    The breaks are those of :class:`mapclassify.Quantiles`, :class:`mapclassify.FisherJenks`
    and :class:`mapclassify.UserDefined` (checked against mapclassify in the tests), computed
    with numpy: importing mapclassify costs ~2 s (scikit-learn, scipy.stats, pyplot) on the
    app's first page, and its pure-Python Fisher-Jenks takes seconds without numba.

    Parameters
    ----------
    values : Series or sequence of float
        Values; missing ones get class ``-1`` ("Donnée manquante").
    scheme : {"quantiles", "jenks", "manuel"}
        Quantiles, Fisher-Jenks natural breaks, or user-defined upper bounds.
    k : int
        Number of classes (reduced when there are fewer distinct values).
    thresholds : sequence of float
        Upper bounds of the classes for ``scheme="manuel"``, in any order (sorted and
        deduplicated here); the maximum is added when above the last one.
    decimales : int
        Decimals in the labels.
    noun : str
        What is counted, for the notes ("territoire", "commune").
    """
    if scheme not in SCHEMES:
        raise ValueError(
            f"Unknown classification scheme {scheme!r}. Valid schemes: {', '.join(SCHEMES)}. "
            "How to fix: pass one of them."
        )
    y = pd.to_numeric(pd.Series(values), errors="coerce").astype("float64").to_numpy()
    valid = np.isfinite(y)
    classes = np.full(len(y), -1, dtype=int)
    if not valid.any():
        return Classification(classes, (), (), (), scheme, ())
    yv = y[valid]
    distinct = np.unique(yv)
    notes: list[str] = []
    if scheme == "manuel":
        clean = [float(t) for t in thresholds or () if np.isfinite(float(t))]
        if not clean:
            raise ValueError(
                "Manual classification needs thresholds. How to fix: give at least one "
                "upper bound, e.g. thresholds=[5, 10, 20]."
            )
        if clean != sorted(clean) or len(set(clean)) < len(clean):
            notes.append("Seuils remis dans l’ordre croissant, doublons retirés.")
        bins = sorted(set(clean))
    elif len(distinct) <= max(1, k) or len(distinct) < 3:
        bins = [float(v) for v in distinct[: max(1, k)]]
    elif scheme == "quantiles":
        bins = quantile_breaks(yv, k)
    else:
        bins = jenks_breaks(yv, min(k, len(distinct)))
    if bins[-1] < yv.max():
        bins.append(float(yv.max()))
    bins_arr = np.asarray(bins, dtype=float)
    # class i holds bins[i-1] < y <= bins[i] (mapclassify's convention)
    classes[valid] = np.searchsorted(bins_arr, yv, side="left")
    low = float(yv.min())
    labels = []
    for i, high in enumerate(bins_arr):
        if i == 0 and np.isclose(low, high):
            labels.append(fr.nombre(high, decimales))
        elif i == 0 and low < high:
            labels.append(f"de {fr.nombre(low, decimales)} à {fr.nombre(high, decimales)}")
        elif i == 0:  # every value is above the first threshold: an empty class, said so
            labels.append(f"jusqu’à {fr.nombre(high, decimales)}")
        else:
            labels.append(f"plus de {fr.nombre(bins_arr[i - 1], decimales)} "
                          f"à {fr.nombre(high, decimales)}")
    counts = tuple(int((classes == i).sum()) for i in range(len(bins_arr)))
    if scheme == "manuel":
        notes += _manual_notes(list(bins_arr), low, float(yv.max()), counts, decimales, noun)
    return Classification(classes, tuple(float(b) for b in bins_arr), tuple(labels),
                          _palette(len(bins_arr)), scheme, counts, tuple(notes))


def quantile_breaks(values: np.ndarray, k: int) -> list[float]:
    """Upper bounds of ``k`` quantile classes, as :class:`mapclassify.Quantiles` computes them
    (linear percentiles at 100/k, 200/k ... 100, duplicates removed)."""
    step = 100.0 / k
    pct = np.minimum(np.arange(step, 100 + step, step)[:k], 100.0)
    return [float(v) for v in np.unique(np.percentile(np.asarray(values, dtype=float), pct))]


def jenks_breaks(values: np.ndarray, k: int, max_points: int = 1000) -> list[float]:
    """Upper bounds of the ``k`` Fisher-Jenks natural-break classes (exact dynamic programme).

    Vectorised with numpy (mapclassify's pure-Python version takes seconds on a few hundred
    values without numba).  Above ``max_points`` values, the breaks are computed on
    ``max_points`` evenly spaced quantiles of the data (deterministic approximation).
    """
    x = np.sort(np.asarray(values, dtype=float))
    if len(x) > max_points:
        x = np.quantile(x, np.linspace(0, 1, max_points))
    n = len(x)
    k = max(1, min(k, n))
    s1 = np.concatenate([[0.0], np.cumsum(x)])
    s2 = np.concatenate([[0.0], np.cumsum(x * x)])
    start = np.arange(n)[:, None]
    end = np.arange(n)[None, :]
    count = end - start + 1
    with np.errstate(divide="ignore", invalid="ignore"):
        cost = (s2[end + 1] - s2[start]) - (s1[end + 1] - s1[start]) ** 2 / count
    cost[count <= 0] = np.inf
    best = cost[0].copy()  # one class covering x[0..i]
    starts = []
    for _ in range(1, k):
        total = best[:-1, None] + cost[1:, :]  # last class starts at m = row + 1
        arg = np.argmin(total, axis=0)
        best = total[arg, np.arange(n)]
        starts.append(arg + 1)
    breaks = [float(x[-1])]
    i = n - 1
    for step in reversed(starts):
        m = int(step[i])
        breaks.append(float(x[m - 1]))
        i = m - 1
    return sorted(set(breaks))


# --------------------------------------------------------------------------- change
def _nice(value: float, decimales: int) -> float:
    """A round bound: two significant digits, at the displayed precision (at least one unit
    of it)."""
    if value <= 0:
        return 10.0 ** -decimales
    digits = max(0, 1 - int(np.floor(np.log10(value))))
    return max(float(fr.arrondi(round(value, digits), decimales)), 10.0 ** -decimales)


def _side_labels(bounds: Sequence[float], relative: bool) -> list[str]:
    """What follows « Baisse » / « Hausse » for each class, smallest change first:
    ``de 1 structure``, ``de 2 à 3 structures``, ``de plus de 3 structures`` for counts,
    ``jusqu’à 2,0 %``, ``de plus de 2,0 à 5,0 %``, ``de plus de 5,0 %`` for rates."""
    n = len(bounds) + 1
    if n == 1:
        return [""]
    if relative:
        e = [fr.nombre(b, 1) for b in bounds]
        return ([f"jusqu’à {e[0]}\u00a0%"]
                + [f"de plus de {e[j - 1]} à {e[j]}\u00a0%" for j in range(1, n - 1)]
                + [f"de plus de {e[-1]}\u00a0%"])
    out = []
    low = 1
    for b in bounds:
        high = int(b)
        out.append(f"de {fr.compte(high, 'structure')}" if high == low
                   else f"de {fr.entier(low)} à {fr.compte(high, 'structure')}")
        low = high + 1
    out.append(f"de plus de {fr.compte(int(bounds[-1]), 'structure')}")
    return out


def diverging_classes(values: pd.Series | Sequence[float], *, relative: bool,
                      k_side: int = 3) -> Classification:
    """Classes of a change centred on 0: ``k_side`` falls, « stable », ``k_side`` rises.

    The same bounds serve both sides (quantiles of the absolute non-zero changes, rounded),
    so that a fall and a rise of the same size get the same intensity.  « Stable » holds the
    changes that round to 0 at the displayed precision (0 structure; 0,0 %).  ``bins`` are
    the positive bounds; ``classes`` run from 0 (largest fall) to ``2 * k_side`` (largest
    rise), -1 when the change is missing (a rate from zero structures).
    """
    decimales = 1 if relative else 0
    y = pd.to_numeric(pd.Series(values), errors="coerce").astype("float64").to_numpy()
    valid = np.isfinite(y)
    tolerance = 0.5 * 10.0 ** -decimales
    moving = np.abs(y[valid & (np.abs(y) >= tolerance)])
    if len(moving):
        raw = quantile_breaks(moving, k_side)[:-1]
        bounds = sorted({_nice(b, decimales) for b in raw if b > 0})
    else:
        bounds = []
    bounds = bounds[: k_side - 1]
    n = len(bounds) + 1  # classes per side
    centre = k_side
    classes = np.full(len(y), -1, dtype=int)
    magnitude = np.searchsorted(np.asarray(bounds, dtype=float), np.abs(y[valid]), side="left")
    signed = np.where(np.abs(y[valid]) < tolerance, 0,
                      np.where(y[valid] > 0, magnitude + 1, -(magnitude + 1)))
    classes[valid] = centre + signed
    side_labels = _side_labels(bounds, relative)
    labels = [f"Baisse {t}".rstrip() for t in side_labels[::-1]] + ["Stable"]
    labels += [f"Hausse {t}".rstrip() for t in side_labels]
    # colours: the strongest at the ends, the lightest next to « stable »
    colours = list(DIVERGING[3 - n:3]) + [DIVERGING[3]] + list(DIVERGING[4:4 + n])
    index = {c: i for i, c in enumerate(range(centre - n, centre + n + 1))}
    classes = np.array([index.get(c, -1) if c >= 0 else -1 for c in classes])
    counts = tuple(int((classes == i).sum()) for i in range(len(labels)))
    notes = []
    if relative:
        notes.append("Évolution relative : peu fiable quand le nombre de départ est petit.")
    return Classification(classes, tuple(bounds), tuple(labels), tuple(colours), "divergent",
                          counts, tuple(notes))
