"""Statistical model behind the demonstration SIRENE files (a model, not facts).

The demo generator (:mod:`demo.rows`, :mod:`demo.files`) writes synthetic SIRENE stock files
over the *real* commune geography.  Every number below is a published figure (source, year,
what it is), a figure derived from published ones, or a model choice (said so).  Nothing here
describes a real establishment.

Published figures (targets of the calibration)
----------------------------------------------
* **Employer ESS establishments in France: 210 000 to 221 000**; the model aims at the middle,
  :data:`EMPLOYER_ESTABLISHMENTS_FRANCE` = 215 500.  Range as given by issue 12 from the
  Panorama / Atlas de l'ESS (ESS France / CNCRESS).  Editions read for this model:
  *Panorama de l'économie sociale et solidaire en France*, édition 2015 (Observatoire national
  de l'ESS, CNCRES; data of 2013): 221 325 employer establishments; *Atlas commenté de l'ESS*
  2014 (CNCRES; data of 2011): 222 869; *Panorama de l'économie sociale en France et dans
  les régions* (CNCRES, 2010-2011): 215 000.
* **ESS employees: 2.4 to 2.6 million**, about 10 % of salaried employment; the model aims at
  :data:`EMPLOYEES_FRANCE` = 2 500 000 (Panorama 2015: 2 370 301 employees, 10.5 % of French
  employment; Atlas 2014: 2.3 million, 10.3 %).  The observatory estimates jobs from SIRENE
  headcount bands (:mod:`indicators.employment`: central value of each band), so the target is
  met through the band distribution (:data:`BANDS_EMPLOYER`), mean 2 500 000 / 215 500 = 11.6
  jobs per employer establishment (Panorama 2015: 2 370 301 / 221 325 = 10.7).
* **Population: 68 350 798** (:data:`POPULATION_FRANCE`): population municipale 2023 (INSEE,
  populations légales in force on 1 January 2026) summed over the communes of the COG 2026,
  i.e. the reference geography's ``population`` column, France entière with Mayotte.

Counts per commune
------------------
* **Employer rate**: 215 500 / 68 350 798 = **31.5 employer ESS establishments per 10 000
  inhabitants** (:data:`EMPLOYER_RATE_PER_10K`), the same in every département, so that a
  département's figures are its population share of the national ones (Côte-d'Or, 540 000
  inhabitants: about 1 700 employer establishments and 19 800 jobs, against 18 700-20 500
  for its population share of the published range).
* **All ESS establishments registered in SIRENE** (employers and non-employers, mostly
  associations without staff that hold a SIRET): "seul un établissement sur trois est
  employeur" (INSEE Bourgogne, *L'économie sociale et solidaire en Bourgogne*, 2004):
  :data:`EMPLOYER_SHARE` = 1/3, so the active rate is 31.5 x 3 = **94.6 per 10 000**
  (:data:`ACTIVE_RATE_PER_10K`).
* Urban/rural factor (model choice, no density grid offline): by population density of the
  commune, ``>= 1 500 inh/km2`` x1.3, ``300-1 500`` x1.1, ``60-300`` x1.0, ``< 60`` x0.8 (ESS
  employers concentrate in towns: services, head offices), **divided by its
  population-weighted mean over the département**, so that it moves establishments from the
  countryside to the towns of a département without changing the département's total.
* Floor effect (model choice): ``lambda = max(rate x population x factor, 0.2)``.  A hamlet of
  20 inhabitants still has about an 18 % chance of one ESS establishment and most tiny
  communes get none: these are the *zones blanches*.
* Draw (model choice): the département's total, ``sum(lambda)`` rounded, is spread over its
  communes by a multinomial draw in proportion to ``lambda`` (each commune's count is then
  close to Poisson(lambda)), and exactly one active ESS establishment in three (rounded at
  random) is an employer (:func:`allocate_bands`).  A département's totals are thus its
  expected ones, not the luck of a draw.
* Closed establishments kept in the stock (etat ``F``): 0.1 per active one (model choice,
  :attr:`DemoModel.closed_per_active`; the real stock holds more closed than active rows, the
  demo keeps few so that the national demo stays light).  Non-ESS units, which the ETL must
  filter out: 3 establishment rows per ESS row at the scale of a département, 0.25 in the
  national demo (:data:`NATIONAL_MODEL`; model choices).

Families (shares of *employer* ESS establishments)
-------------------------------------------------
Panorama 2015 (data of 2013), employer establishments by family: associations 185 378,
coopératives 26 460, mutuelles 8 062, fondations 1 425 (total 221 325), i.e. 83.8 %, 12.0 %,
3.6 %, 0.6 %.  The model keeps 2 % for the commercial companies of the ESS (art. 1 II of the
2014 law, absent from the 2013 figures; model choice) and scales the four statutory families
by 0.98 (:data:`FAMILY_SHARES_EMPLOYER`).  Non-employer ESS establishments (model choice):
associations 93 %, coopératives 3 %, sociétés commerciales 3 %, mutuelles 0.5 %, fondations
0.5 %.  (Employees per establishment differ by family in the Panorama - associations 10.0,
coopératives 11.7, mutuelles 14.1, fondations 54.4 - the model uses one band distribution.)

Headcount bands of employer establishments (:data:`BANDS_EMPLOYER`)
-------------------------------------------------------------------
Calibrated so that the mean central value of the bands (:mod:`indicators.employment`) is 11.6
jobs, with the shape published in the Panorama 2015: "les trois quarts des établissements de
l'ESS comptent moins de 10 salariés" (model: 75 %), who "ne regroupent que 15 % des salariés"
(model: 17.7 %, the central value 1.5 of the band "1 or 2" is above the real mean);
establishments of 250 employees or more "emploient plus de 12 % des salariés" (model: 0.32 %
of the employer establishments holding 12.5 % of the jobs).  No band above 999 employees:
a single establishment of that size would shift a département's figure by several percent.
Bands are allocated in these proportions within each call (systematic sampling with a random
start, :func:`allocate_bands`), so that a département's estimated jobs follow its number of
employer establishments instead of the luck of a few large draws.

Everything else (legal forms, NAF codes: :data:`PROFILES`; the shares of special rows of
:class:`DemoModel`; quarterly creations 2.2 %, closures 2 %, moves 1.5 % of active
establishments) is a model choice.  Points are uniform inside the commune polygon (rejection
sampling, :func:`sample_points`).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field, replace

import numpy as np
import shapely

__all__ = [
    "ACTIVE_RATE_PER_10K",
    "BANDS_EMPLOYER",
    "EMPLOYEES_FRANCE",
    "EMPLOYER_ESTABLISHMENTS_FRANCE",
    "EMPLOYER_RATE_PER_10K",
    "EMPLOYER_SHARE",
    "FAMILY_SHARES_EMPLOYER",
    "FAMILY_SHARES_NON_EMPLOYER",
    "NATIONAL_MODEL",
    "NON_ESS_PROFILES",
    "POPULATION_FRANCE",
    "PROFILES",
    "DemoModel",
    "Profile",
    "allocate_bands",
    "area_km2",
    "draw_counts",
    "density_factor",
    "expected_active_ess",
    "luhn_key",
    "luhn_valid",
    "sample_points",
    "stable_seed",
]

#: Middle of the published range 210 000-221 000 employer ESS establishments (see above).
EMPLOYER_ESTABLISHMENTS_FRANCE = 215_500
#: Middle of the published range 2.4-2.6 million ESS employees (see above).
EMPLOYEES_FRANCE = 2_500_000
#: Population municipale 2023 of the communes of the COG 2026 (INSEE, PL 2023).
POPULATION_FRANCE = 68_350_798
EMPLOYER_RATE_PER_10K = EMPLOYER_ESTABLISHMENTS_FRANCE / POPULATION_FRANCE * 10_000  # 31.53
#: INSEE Bourgogne 2004: one ESS establishment in three is an employer.
EMPLOYER_SHARE = 1 / 3
ACTIVE_RATE_PER_10K = EMPLOYER_RATE_PER_10K / EMPLOYER_SHARE  # 94.58

#: Panorama 2015 by family (x 0.98), plus 2 % of commercial ESS companies (model choice).
FAMILY_SHARES_EMPLOYER = {
    "association": 0.821,
    "cooperative": 0.117,
    "mutuelle": 0.0357,
    "fondation": 0.0063,
    "societe_commerciale_ess": 0.02,
}
FAMILY_SHARES_NON_EMPLOYER = {
    "association": 0.93,
    "cooperative": 0.03,
    "mutuelle": 0.005,
    "fondation": 0.005,
    "societe_commerciale_ess": 0.03,
}

#: Headcount bands of employer establishments, in % (calibrated above: mean 11.6 jobs).
BANDS_EMPLOYER = {
    "00": 14.0, "01": 32.0, "02": 17.0, "03": 12.0, "11": 13.4, "12": 8.0, "21": 2.2,
    "22": 0.88, "31": 0.2, "32": 0.25, "41": 0.07,
}

@dataclass(frozen=True)
class Profile:
    """A kind of unit: family, legal forms, NAF codes (weights), establishments per unit."""

    name: str
    family: str  # one of FAMILY_SHARES_* keys, or "hors_ess"
    weight: float  # share within its family (or among non-ESS units)
    legal_forms: dict[str, float]
    naf: dict[str, float]
    extra_establishments: float = 0.1  # mean of the Poisson number of secondary establishments
    label: str = "Structure"  # start of the fictitious name


PROFILES: tuple[Profile, ...] = (
    Profile("association", "association", 1.0,
            {"9220": 0.97, "9230": 0.02, "9210": 0.01},
            {"94.99Z": 22, "93.12Z": 16, "88.99B": 10, "93.29Z": 6, "90.01Z": 6, "85.59B": 4,
             "85.59A": 3, "88.10A": 4, "88.91A": 3, "94.91Z": 3, "88.10B": 2, "88.10C": 2,
             "87.10A": 2, "87.90B": 2, "85.51Z": 2, "85.52Z": 2, "87.20A": 1, "55.20Z": 1,
             "91.02Z": 1, "90.04Z": 1, "86.10Z": 1, "56.10A": 1, "68.20B": 1, "72.19Z": 1},
            0.15, "Association démo"),
    Profile("cooperative_travail", "cooperative", 0.35,
            {"5458": 0.4, "5460": 0.25, "5560": 0.1, "5558": 0.05, "5710": 0.2},
            {"43.21A": 12, "43.22A": 10, "41.20A": 8, "71.12B": 10, "62.01Z": 10, "70.22Z": 10,
             "56.10A": 8, "58.14Z": 4, "81.21Z": 8, "81.30Z": 8, "38.32Z": 6, "49.32Z": 6},
            0.1, "Coopérative démo"),
    Profile("cooperative_agricole", "cooperative", 0.30,
            {"6316": 0.45, "6317": 0.45, "6318": 0.10},
            {"01.61Z": 40, "46.21Z": 30, "11.02B": 15, "10.51C": 10, "01.50Z": 5},
            0.3, "Coopérative agricole démo"),
    Profile("banque_cooperative", "cooperative", 0.25,
            {"5192": 0.5, "5196": 0.5}, {"64.19Z": 1}, 6.0, "Banque coopérative démo"),
    Profile("cooperative_commerce", "cooperative", 0.10,
            {"5552": 0.5, "5451": 0.2, "5460": 0.3},
            {"47.11D": 50, "47.11B": 30, "47.19B": 20}, 0.5, "Coopérative de commerçants démo"),
    Profile("mutuelle", "mutuelle", 1.0,
            {"8210": 0.7, "6411": 0.15, "8250": 0.10, "8290": 0.05},
            {"65.12Z": 50, "65.11Z": 10, "66.22Z": 10, "86.23Z": 10, "47.78A": 10,
             "86.10Z": 5, "87.10A": 5}, 3.0, "Mutuelle démo"),
    Profile("fondation", "fondation", 1.0, {"9300": 1.0},
            {"88.99B": 20, "87.10A": 20, "86.10Z": 15, "72.19Z": 15, "94.99Z": 15,
             "85.42Z": 5, "91.02Z": 5, "87.30A": 5}, 1.0, "Fondation démo"),
    Profile("societe_commerciale_ess", "societe_commerciale_ess", 1.0,
            {"5710": 0.7, "5499": 0.3},
            {"62.01Z": 10, "70.22Z": 10, "47.19B": 10, "56.10A": 10, "81.30Z": 10, "38.32Z": 10,
             "88.99B": 10, "43.39Z": 5, "35.11Z": 10, "85.59A": 10, "96.01B": 5},
            0.05, "Société ESS démo"),
)

#: Non-ESS units (flag ``N`` or empty): filtered out by the ETL.
NON_ESS_PROFILES: tuple[Profile, ...] = (
    Profile("entrepreneur_individuel", "hors_ess", 0.45, {"1000": 1.0},
            {"86.21Z": 10, "96.02A": 12, "49.32Z": 8, "01.11Z": 12, "43.22A": 12, "90.03A": 8,
             "74.10Z": 8, "47.91B": 10, "62.02A": 10, "85.59B": 10}, 0.02, ""),
    Profile("sas", "hors_ess", 0.18, {"5710": 1.0},
            {"62.02A": 15, "70.22Z": 15, "56.10A": 15, "47.11B": 10, "45.20A": 10, "43.21A": 10,
             "70.10Z": 15, "68.10Z": 10}, 0.15, "Société démo"),
    Profile("sarl", "hors_ess", 0.15, {"5499": 1.0},
            {"56.10A": 15, "43.22A": 15, "45.20A": 15, "10.71C": 10, "47.24Z": 10, "69.20Z": 10,
             "49.41B": 10, "41.20A": 15}, 0.1, "SARL démo"),
    Profile("sci", "hors_ess", 0.15, {"6540": 1.0}, {"68.20A": 50, "68.20B": 50}, 0.0,
            "SCI démo"),
    Profile("sa", "hors_ess", 0.04, {"5599": 0.7, "5202": 0.3},
            {"70.10Z": 40, "47.30Z": 30, "47.11D": 30}, 0.5, "Entreprise démo"),
    Profile("gie", "hors_ess", 0.03, {"6220": 1.0}, {"70.10Z": 60, "82.99Z": 40}, 0.0,
            "GIE démo"),
)


DENSITY_CLASSES = ((1500.0, 1.3), (300.0, 1.1), (60.0, 1.0), (0.0, 0.8))


@dataclass(frozen=True)
class DemoModel:
    """Parameters of the demo model (defaults = the documented model, at département scale).

    ``scale`` multiplies every count (used by tests and by the national benchmark input to
    reach a target size; the demo itself keeps 1.0).
    """

    active_rate_per_10k: float = ACTIVE_RATE_PER_10K
    employer_share: float = EMPLOYER_SHARE
    floor_lambda: float = 0.2
    closed_per_active: float = 0.1
    non_ess_per_ess: float = 3.0
    non_ess_closed_share: float = 0.5
    non_ess_employer_share: float = 0.3
    scale: float = 1.0
    # Share of rows that exercise the ETL's special cases.
    geoloc_coverage_ess: float = 0.97
    geoloc_coverage_other: float = 0.85
    lambert_coverage: float = 0.90
    qualite_33_share: float = 0.05
    broken_share: float = 0.004
    old_code_share: float = 0.15  # of the rows of a commune that has old codes
    neighbour_share: float = 0.003  # declared commune = a neighbour of the point's commune
    partial_diffusion_share: float = 0.2  # of natural persons (statutDiffusion "P")
    non_ess_flag_empty_share: float = 0.2
    bad_rows_per_departement: int = 1  # of each kind: invalid SIRET, unknown code, outside
    quarterly_creations: float = 0.022
    quarterly_closures: float = 0.02
    quarterly_moves: float = 0.015
    families_employer: dict = field(default_factory=lambda: dict(FAMILY_SHARES_EMPLOYER))
    families_non_employer: dict = field(
        default_factory=lambda: dict(FAMILY_SHARES_NON_EMPLOYER))
    bands_employer: dict = field(default_factory=lambda: dict(BANDS_EMPLOYER))

    def with_(self, **changes) -> DemoModel:
        """A copy with some parameters changed."""
        return replace(self, **changes)


#: The national demo: fewer non-ESS filler rows (still read and filtered out by the ETL).
NATIONAL_MODEL = DemoModel(non_ess_per_ess=0.25)


def stable_seed(*parts: object) -> list[int]:
    """Seed material for :func:`numpy.random.default_rng` that is stable across runs.

    Python's ``hash`` of a string changes per process; CRC-32 does not.
    """
    return [zlib.crc32(str(p).encode("utf-8")) for p in parts]


def area_km2(communes) -> np.ndarray:
    """Area of each commune (``superficie_km2`` when present, else from the polygons)."""
    if "superficie_km2" in communes.columns:
        return communes["superficie_km2"].to_numpy(dtype=float)
    geoms = communes.geometry.to_numpy()
    lat = shapely.get_y(shapely.centroid(geoms))
    return shapely.area(geoms) * 111.32 ** 2 * np.cos(np.radians(lat))


def density_factor(population: np.ndarray, area: np.ndarray,
                   groups: np.ndarray | None = None) -> np.ndarray:
    """Urban/rural factor of each commune, normalised within each group (département).

    The raw factor follows :data:`DENSITY_CLASSES`; it is then divided by its
    population-weighted mean over the commune's group, so that the factor reshapes a
    département without changing its total.  ``groups=None``: one group.
    """
    pop = np.nan_to_num(np.asarray(population, dtype=float), nan=0.0)
    density = pop / np.maximum(np.asarray(area, float), 0.01)
    raw = np.full(density.shape, DENSITY_CLASSES[-1][1])
    for threshold, value in reversed(DENSITY_CLASSES[:-1]):
        raw[density >= threshold] = value
    if groups is None:
        groups = np.zeros(pop.size, dtype=np.int64)
    _, key = np.unique(np.asarray(groups, dtype=object).astype(str), return_inverse=True)
    weight = np.bincount(key, weights=pop)
    mean = np.bincount(key, weights=pop * raw) / np.where(weight > 0, weight, 1)
    mean = np.where(weight > 0, mean, 1.0)
    return raw / mean[key]


def expected_active_ess(population: np.ndarray, area: np.ndarray, model: DemoModel,
                        groups: np.ndarray | None = None) -> np.ndarray:
    """Expected active ESS establishments per commune (see the module docstring)."""
    pop = np.nan_to_num(np.asarray(population, dtype=float), nan=0.0)
    lam = model.active_rate_per_10k / 10_000 * pop * density_factor(pop, area, groups)
    return np.maximum(lam, model.floor_lambda) * model.scale


def draw_counts(rng: np.random.Generator, expected: np.ndarray) -> np.ndarray:
    """Counts per commune: ``round(sum(expected))`` spread by a multinomial draw in
    proportion to ``expected``."""
    expected = np.asarray(expected, dtype=float)
    total = expected.sum()
    if total <= 0:
        return np.zeros(expected.size, dtype=np.int64)
    return rng.multinomial(int(round(total)), expected / total)


def allocate_bands(rng: np.random.Generator, n: int, shares: dict) -> np.ndarray:
    """Indexes into ``list(shares)`` for ``n`` establishments, in the given proportions
    (headcount bands, or employer / not employer).

    Systematic sampling with a random start: band ``k`` gets
    ``floor(C_k n + u) - floor(C_(k-1) n + u)`` establishments (``C`` cumulative shares,
    ``u`` uniform in [0, 1)), i.e. ``n x share`` rounded up or down, unbiased; then shuffled.
    """
    p = np.asarray(list(shares.values()), dtype=float)
    cumulative = np.concatenate([[0.0], np.cumsum(p / p.sum())])
    edges = np.floor(cumulative * n + rng.random()).astype(np.int64)
    counts = np.diff(edges)
    counts[-1] += n - counts.sum()  # float rounding at the last edge
    return rng.permutation(np.repeat(np.arange(p.size), counts))


def luhn_key(bodies: np.ndarray) -> np.ndarray:
    """Luhn check digit for each row of a (n, L) array of digits (vectorised).

    The key is appended on the right, so the rightmost body digit is doubled.

    >>> int(luhn_key(np.array([[7, 3, 2, 8, 2, 9, 3, 2]]))[0])  # SIREN 732829320
    0
    """
    digits = np.asarray(bodies, dtype=np.int64)
    length = digits.shape[1]
    doubled = ((length - 1 - np.arange(length)) % 2) == 0
    values = np.where(doubled, digits * 2, digits)
    values = np.where(values > 9, values - 9, values)
    return (10 - values.sum(axis=1) % 10) % 10


def luhn_valid(numbers: list[str] | np.ndarray) -> np.ndarray:
    """True for each digit string whose Luhn checksum is valid (any mix of lengths)."""
    numbers = [str(s) for s in numbers]
    out = np.zeros(len(numbers), dtype=bool)
    for length in {len(s) for s in numbers}:
        idx = [i for i, s in enumerate(numbers) if len(s) == length and s.isdigit()]
        if not idx or length < 2:
            continue
        arr = np.array([[int(c) for c in numbers[i]] for i in idx], dtype=np.int64)
        out[idx] = luhn_key(arr[:, :-1]) == arr[:, -1]
    return out


def sample_points(geometries: np.ndarray, counts: np.ndarray,
                  rng: np.random.Generator, max_rounds: int = 50
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Uniform random points inside each polygon, ``counts[i]`` for ``geometries[i]``.

    Vectorised rejection sampling: candidates are drawn in every bounding box at once (more
    for polygons that fill their box poorly) and tested with one ``shapely.contains_xy``
    call per round.  Returns ``x, y`` ordered as ``np.repeat(arange(n), counts)``.
    """
    geometries = np.asarray(geometries, dtype=object)
    counts = np.asarray(counts, dtype=np.int64)
    n = len(geometries)
    xs = np.empty(int(counts.sum()))
    ys = np.empty(int(counts.sum()))
    if n == 0 or counts.sum() == 0:
        return xs, ys
    shapely.prepare(geometries)
    bounds = shapely.bounds(geometries)
    box_area = np.maximum((bounds[:, 2] - bounds[:, 0]) * (bounds[:, 3] - bounds[:, 1]), 1e-12)
    fill = np.clip(shapely.area(geometries) / box_area, 0.02, 1.0)
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    filled = np.zeros(n, dtype=np.int64)
    for _ in range(max_rounds):
        remaining = counts - filled
        todo = np.flatnonzero(remaining > 0)
        if todo.size == 0:
            break
        draws = np.ceil(remaining[todo] / fill[todo] * 1.25).astype(np.int64) + 2
        idx = np.repeat(todo, draws)
        b = bounds[idx]
        x = b[:, 0] + rng.random(idx.size) * (b[:, 2] - b[:, 0])
        y = b[:, 1] + rng.random(idx.size) * (b[:, 3] - b[:, 1])
        ok = shapely.contains_xy(geometries[idx], x, y)
        idx, x, y = idx[ok], x[ok], y[ok]
        # rank of each accepted candidate within its polygon (idx is sorted by construction)
        first = np.searchsorted(idx, idx, side="left")
        rank = np.arange(idx.size) - first
        keep = rank < remaining[idx]
        idx, x, y, rank = idx[keep], x[keep], y[keep], rank[keep]
        pos = start[idx] + filled[idx] + rank
        xs[pos], ys[pos] = x, y
        filled += np.bincount(idx, minlength=n)
    missing = np.flatnonzero(filled < counts)
    if missing.size:  # degenerate slivers: fall back on a point surely inside
        inner = shapely.point_on_surface(geometries[missing])
        for i, p in zip(missing, inner, strict=True):
            sl = slice(start[i] + filled[i], start[i] + counts[i])
            xs[sl], ys[sl] = shapely.get_x(p), shapely.get_y(p)
    return xs, ys
