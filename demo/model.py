"""Statistical model behind the demonstration SIRENE files (a model, not facts).

The demo generator (:mod:`demo.files`) writes synthetic SIRENE stock files over the *real*
commune geography.  Every number below is either a published national figure (cited) or a
model choice (said so).  Nothing here describes a real establishment.

Counts per commune
------------------
* **Employer ESS establishments**: 221 325 for about 66 million inhabitants, i.e. about
  **33.5 per 10 000 inhabitants** (Observatoire national de l'ESS / CNCRES, *Panorama de
  l'économie sociale et solidaire en France*, édition 2015, "chiffres clés").
* **All ESS establishments registered in SIRENE** (employers and non-employers, mostly
  associations without staff that hold a SIRET): "seul un établissement sur trois est
  employeur" (INSEE Bourgogne, *L'économie sociale et solidaire en Bourgogne*, 2004), so the
  active rate is ``33.5 / (1/3) = 100.5`` per 10 000 inhabitants (:data:`ACTIVE_RATE_PER_10K`).
* Urban/rural factor (model choice, no density grid offline): by population density of the
  commune, ``>= 1 500 inh/km2`` x1.3, ``300-1 500`` x1.1, ``60-300`` x1.0, ``< 60`` x0.8
  (ESS employers concentrate in towns: services, head offices).
* Floor effect (model choice): ``lambda = max(rate x population x factor, 0.2)``; the count is
  Poisson(lambda).  A hamlet of 20 inhabitants still has about an 18 % chance of one ESS
  establishment and most tiny communes get none: these are the *zones blanches*.
  Check (measured, not calibrated): for Côte-d'Or the model puts at least one *employer* ESS
  establishment in 48 % of the 698 communes and no ESS establishment at all in 26 % of them;
  nationally the Panorama 2015 says "deux tiers des communes" host an employer ESS
  establishment (Côte-d'Or has many very small communes: its median commune has about 200
  inhabitants).
* Closed establishments kept in the stock (etat ``F``): 0.5 per active one (model choice; in the
  real stock closed establishments outnumber active ones).  Non-ESS units: 3 establishment rows
  per ESS row (model choice: "several times more", they must be filtered out).

Families (shares of *employer* ESS establishments)
-------------------------------------------------
associations 80 %, coopératives 12.5 %, mutuelles 4 %, fondations 1.5 %, sociétés commerciales
de l'ESS 2 % (:data:`FAMILY_SHARES_EMPLOYER`).  Sources: associations are "83 % des
établissements" of the social economy in 2015 (Recherches & Solidarités, *Économie sociale :
bilan de l'emploi en 2015*, June 2016), lowered to 80 % to leave room for the commercial ESS
companies of the 2014 law; coopératives about 1/8, mutuelles about 4 %, fondations 1-2 % are
the orders of magnitude of the Panorama / Atlas commenté de l'ESS (ESS France), rounded — we
could not re-read the exact tables offline, so treat them as rounded model inputs.
Non-employer ESS establishments (model choice): associations 93 %, coopératives 3 %,
sociétés commerciales 3 %, mutuelles 0.5 %, fondations 0.5 %.

Legal forms, NAF codes and headcount bands follow :data:`PROFILES` and :data:`BANDS_EMPLOYER`
(plausible, not calibrated).  Points are uniform inside the commune polygon (rejection
sampling, :func:`sample_points`).
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from geodata.crs import LOCAL_EPSG
from observatory.text import fold_accents

__all__ = [
    "ACTIVE_RATE_PER_10K",
    "BANDS_EMPLOYER",
    "EMPLOYER_RATE_PER_10K",
    "EMPLOYER_SHARE",
    "FAMILY_SHARES_EMPLOYER",
    "FAMILY_SHARES_NON_EMPLOYER",
    "NON_ESS_PROFILES",
    "PROFILES",
    "DemoModel",
    "Profile",
    "build_departement",
    "build_rows",
    "density_factor",
    "expected_active_ess",
    "luhn_key",
    "luhn_valid",
    "sample_points",
    "stable_seed",
]

#: Panorama de l'ESS 2015: 221 325 employer establishments / ~66 M inhabitants.
EMPLOYER_RATE_PER_10K = 221_325 / 66_000_000 * 10_000  # 33.53
#: INSEE Bourgogne 2004: one ESS establishment in three is an employer.
EMPLOYER_SHARE = 1 / 3
ACTIVE_RATE_PER_10K = EMPLOYER_RATE_PER_10K / EMPLOYER_SHARE  # 100.6

FAMILY_SHARES_EMPLOYER = {
    "association": 0.80,
    "cooperative": 0.125,
    "mutuelle": 0.04,
    "fondation": 0.015,
    "societe_commerciale_ess": 0.02,
}
FAMILY_SHARES_NON_EMPLOYER = {
    "association": 0.93,
    "cooperative": 0.03,
    "mutuelle": 0.005,
    "fondation": 0.005,
    "societe_commerciale_ess": 0.03,
}

#: SIRENE headcount bands of employer establishments (model choice: many 0-9, few 50+).
BANDS_EMPLOYER = {
    "00": 10.0, "01": 27.0, "02": 20.0, "03": 14.0, "11": 12.0, "12": 10.0, "21": 4.0,
    "22": 2.0, "31": 0.5, "32": 0.35, "41": 0.1, "42": 0.04, "51": 0.01,
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
    """Parameters of the demo model (defaults = the documented model above).

    ``scale`` multiplies every count (used by the national benchmark to reach a target size;
    the demo territory keeps 1.0).
    """

    active_rate_per_10k: float = ACTIVE_RATE_PER_10K
    employer_share: float = EMPLOYER_SHARE
    floor_lambda: float = 0.2
    closed_per_active: float = 0.5
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
    quarterly_creations: float = 0.03
    quarterly_closures: float = 0.02
    quarterly_moves: float = 0.015
    families_employer: dict = field(default_factory=lambda: dict(FAMILY_SHARES_EMPLOYER))
    families_non_employer: dict = field(
        default_factory=lambda: dict(FAMILY_SHARES_NON_EMPLOYER))


def stable_seed(*parts: object) -> list[int]:
    """Seed material for :func:`numpy.random.default_rng` that is stable across runs.

    Python's ``hash`` of a string changes per process; CRC-32 does not.
    """
    return [zlib.crc32(str(p).encode("utf-8")) for p in parts]


def density_factor(population: np.ndarray, area_km2: np.ndarray) -> np.ndarray:
    """Urban/rural factor of each commune from its population density (model choice)."""
    density = np.asarray(population, dtype=float) / np.maximum(np.asarray(area_km2, float), 0.01)
    factor = np.full(density.shape, DENSITY_CLASSES[-1][1])
    for threshold, value in reversed(DENSITY_CLASSES[:-1]):
        factor[density >= threshold] = value
    return factor


def expected_active_ess(population: np.ndarray, area_km2: np.ndarray,
                        model: DemoModel) -> np.ndarray:
    """Poisson mean of active ESS establishments per commune (see module docstring)."""
    pop = np.nan_to_num(np.asarray(population, dtype=float), nan=0.0)
    lam = model.active_rate_per_10k / 10_000 * pop * density_factor(pop, area_km2)
    return np.maximum(lam, model.floor_lambda) * model.scale


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


# --------------------------------------------------------------------------- row builder
# Everything below turns the model into the columns of the three SIRENE files, one
# département at a time (bounded memory at national scale).

ESS_SERIAL_LIMIT = 2_000_000  # ESS units: 8-digit bodies 00000000-01999999
OTHER_SERIAL_BASE = 2_000_000  # other units: 02000000-09999999
OTHER_SERIAL_LIMIT = 8_000_000
#: Local projection of the stock's Lambert columns and of the géolocalisé x/y.
OVERSEAS_EPSG = LOCAL_EPSG  # the reference geography's table (geodata.crs)
ALSACE_MOSELLE = {"57", "67", "68"}
STREETS = ("DE LA REPUBLIQUE", "DES TILLEULS", "DU MOULIN", "DE LA GARE", "DE L EGLISE",
           "PRINCIPALE", "DES ECOLES", "DU STADE", "DES VIGNES", "DU LAVOIR", "DE LA MAIRIE",
           "DU CHATEAU", "DES JARDINS", "DE LA FONTAINE", "DU COMMERCE", "DE LA PAIX",
           "DES PRES", "DU PONT", "DES ACACIAS", "DU CENTRE")
STREET_TYPES = ("RUE", "RUE", "RUE", "AV", "BD", "PL", "CHE", "RTE", "IMP", "ALL", "QUA", "GR")
FIRST_NAMES = ("CAMILLE", "DOMINIQUE", "CLAUDE", "SACHA", "ALIX", "MORGAN", "LOU", "EDEN")
QUALITE_XY = {"11": 75.0, "12": 10.0, "21": 8.0, "22": 7.0}
ND = "[ND]"
_TRANSFORMERS: dict[int, object] = {}


def ascii_upper(text: str) -> str:
    """SIRENE style of a commune name: upper case, no accents ("SAINT-APOLLINAIRE")."""
    text = fold_accents(text, lower=False).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Z0-9 \-]", " ", text.upper()).strip()


def postcode_of(code: str) -> str:
    """A fictitious but well-formed postcode for a commune (no postcode table offline)."""
    number = sum(ord(ch) for ch in code) * 37
    if code.startswith("97"):
        return code[:3] + f"{number % 90 + 10:02d}"
    return code[:2].replace("2A", "20").replace("2B", "20") + f"{number % 900 + 100:03d}"


def epsg_of(dep: str) -> int:
    return OVERSEAS_EPSG.get(dep, 2154)


def project_points(lon: np.ndarray, lat: np.ndarray, epsg: int) -> tuple[np.ndarray, np.ndarray]:
    from pyproj import Transformer

    if epsg not in _TRANSFORMERS:
        _TRANSFORMERS[epsg] = Transformer.from_crs(4326, epsg, always_xy=True)
    return _TRANSFORMERS[epsg].transform(lon, lat)


def _pick(options, idx) -> pa.Array:
    """Strings ``options[idx]`` as an Arrow array (fast dictionary decode)."""
    return pa.DictionaryArray.from_arrays(
        pa.array(np.asarray(idx, dtype=np.int32)), pa.array(list(options), pa.string())
    ).dictionary_decode()


def _choice(rng: np.random.Generator, weights: dict, size: int) -> np.ndarray:
    """Indexes into ``list(weights)`` drawn with the given (unnormalised) weights."""
    p = np.asarray(list(weights.values()), dtype=float)
    return rng.choice(len(p), size=size, p=p / p.sum())


def _zfill(values: np.ndarray, width: int) -> pa.Array:
    return pc.utf8_lpad(pa.array(np.asarray(values, dtype=np.int64)).cast(pa.string()),
                        width, "0")


def fixed_width(values: np.ndarray, decimals: int) -> pa.Array:
    """Fixed-decimal text of floats ("845623.4"), vectorised."""
    scaled = np.rint(np.abs(values) * 10 ** decimals).astype(np.int64)
    digits = _zfill(scaled, decimals + 1)
    text = pc.binary_join_element_wise(pc.utf8_slice_codeunits(digits, 0, -decimals),
                                       pc.utf8_slice_codeunits(digits, -decimals), ".")
    return pc.if_else(pa.array(values < 0), pc.binary_join_element_wise("-", text, ""), text)


def _dates(days: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(days, dtype="datetime64[D]")).cast(pa.string())


def _stamps(seconds: np.ndarray) -> pa.Array:
    """``YYYY-MM-DDTHH:MM:SS`` (cast + replace: much faster than Arrow's strftime)."""
    text = pa.array(np.asarray(seconds, dtype="datetime64[s]")).cast(pa.string())
    return pc.replace_substring(text, " ", "T")


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (np.asarray(values, dtype=np.int64)[:, None] // powers) % 10


def _group_units(profile: np.ndarray, active: np.ndarray, extra: np.ndarray,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group establishments of the same profile into units (1 + Poisson(extra) each).

    Returns ``order`` (row permutation: rows of a unit contiguous, the siège first, active
    establishments before closed ones), ``unit`` (unit id per sorted row) and ``seq``
    (rank within the unit, 0 = siège).
    """
    n = profile.size
    order = np.lexsort((rng.random(n), profile))
    unit = np.empty(n, dtype=np.int64)
    next_id = 0
    for p in np.unique(profile):
        rows = np.flatnonzero(profile[order] == p)
        sizes = 1 + rng.poisson(extra[p], size=rows.size)
        ends = np.cumsum(sizes)
        k = int(np.searchsorted(ends, rows.size)) + 1
        starts = np.concatenate([[0], ends[:k - 1]])
        ids = np.searchsorted(starts, np.arange(rows.size), side="right") - 1
        unit[rows] = next_id + ids
        next_id += int(ids.max()) + 1 if rows.size else 0
    # put active establishments first inside each unit, then a random order
    order = order[np.lexsort((rng.random(n), ~active[order], unit))]
    unit = np.sort(unit)
    first = np.searchsorted(unit, unit, side="left")
    return order, unit, np.arange(n) - first


def build_departement(communes, changes, date, rng: np.random.Generator, model: DemoModel,
                      serials: dict[str, int]):
    """Draw the rows of one département (see the module docstring for the model).

    Returns ``({file key: (columns dict, n rows)}, counts)``; ``serials`` (next ESS / other
    unit serial) is advanced in place.
    """
    population = communes["population"].fillna(0).to_numpy(dtype=float)
    area = area_km2(communes)
    lam = expected_active_ess(population, area, model)
    total = lam * (1 + model.closed_per_active)
    n_other = rng.poisson(total * model.non_ess_per_ess)
    n_other_closed = rng.binomial(n_other, model.non_ess_closed_share)
    return build_rows(communes, changes, date, rng, model, serials,
                      ess_active=rng.poisson(lam),
                      ess_closed=rng.poisson(lam * model.closed_per_active),
                      other_active=n_other - n_other_closed, other_closed=n_other_closed)


def area_km2(communes) -> np.ndarray:
    if "superficie_km2" in communes.columns:
        return communes["superficie_km2"].to_numpy(dtype=float)
    geoms = communes.geometry.to_numpy()
    lat = shapely.get_y(shapely.centroid(geoms))
    return shapely.area(geoms) * 111.32 ** 2 * np.cos(np.radians(lat))


def _declared_codes(codes: np.ndarray, changes, rng: np.random.Generator,
                    share: float) -> tuple[np.ndarray, np.ndarray]:
    """Commune code as SIRENE writes it: arrondissement for Paris/Lyon/Marseille (always),
    an old code (ancienne / déléguée / associée) for ``share`` of the rows of communes that
    have one.  Returns ``(declared, kind)`` with kind 0 current, 1 old, 2 arrondissement."""
    declared = codes.astype(object).copy()
    kind = np.zeros(codes.size, dtype=np.int8)
    if len(changes) == 0 or codes.size == 0:
        return declared, kind
    # same département only: e.g. the pre-1976 Corsican codes 20xxx never appear in SIRENE
    changes = changes[(changes["ancien_code"] != changes["code"])
                      & (changes["ancien_code"].str.slice(0, 2) == changes["code"].str.slice(0, 2))]
    for nature_is_arr, k in ((True, 2), (False, 1)):
        sub = changes[(changes["nature"] == "arrondissement_municipal") == nature_is_arr]
        sub = sub.sort_values(["code", "ancien_code"])
        targets = sub["code"].to_numpy(dtype=object)
        olds = sub["ancien_code"].to_numpy(dtype=object)
        uniq, first, count = np.unique(targets, return_index=True, return_counts=True)
        pos = np.searchsorted(uniq, codes) if uniq.size else np.zeros(codes.size, int)
        pos = np.minimum(pos, max(uniq.size - 1, 0))
        has = (uniq.size > 0) & (uniq[pos] == codes) if uniq.size else np.zeros(codes.size, bool)
        if k == 1:
            has &= (rng.random(codes.size) < share) & (kind == 0)
        rows = np.flatnonzero(has)
        pick = first[pos[rows]] + (rng.random(rows.size) * count[pos[rows]]).astype(np.int64)
        declared[rows] = olds[pick]
        kind[rows] = k
    return declared, kind


def _neighbour_codes(declared: np.ndarray, kind: np.ndarray, commune: np.ndarray, communes,
                     rng: np.random.Generator, share: float) -> None:
    """For ``share`` of the rows declared with their current code, declare a neighbouring
    commune of the same département instead (kind 3), as when a point geocoded near a border
    falls in the next commune: the ETL keeps the assigned commune and flags the disagreement.
    Modifies ``declared`` and ``kind`` in place."""
    rows = np.flatnonzero((kind == 0) & (rng.random(kind.size) < share))
    if rows.size == 0 or len(communes) < 2:
        return
    geoms = communes.geometry.to_numpy()
    tree = shapely.STRtree(geoms)
    codes = communes.index.to_numpy(dtype=object)
    wanted = np.unique(commune[rows])
    pairs = tree.query(geoms[wanted], predicate="touches")
    neighbours: dict[int, np.ndarray] = {}
    for w in range(wanted.size):
        neighbours[int(wanted[w])] = pairs[1][pairs[0] == w]
    for row in rows:
        options = neighbours[int(commune[row])]
        if options.size:
            declared[row] = codes[options[rng.integers(0, options.size)]]
            kind[row] = 3


def build_rows(communes, changes, date, rng: np.random.Generator, model: DemoModel,
               serials: dict[str, int], *, ess_active, ess_closed, other_active, other_closed,
               created_after=None):
    """Rows for given counts per commune (arrays aligned with ``communes``).

    ``created_after`` (a date) makes every unit a creation of the period
    ``(created_after, date)``: used for the creations between two quarters.
    """
    nc = len(communes)
    codes = communes.index.to_numpy(dtype=object)
    dep = str(communes["departement"].iloc[0]) if nc else ""
    names = communes["nom"].astype(str).to_numpy() if "nom" in communes.columns else codes
    counts = np.stack([ess_active, ess_closed, other_active, other_closed]).astype(np.int64)
    per_commune = counts.sum(axis=0)
    n = int(per_commune.sum())
    commune = np.repeat(np.tile(np.arange(nc), 4), counts.ravel())
    kind = np.repeat(np.repeat(np.arange(4), nc), counts.ravel())  # 0/1 ESS, 2/3 other
    ess = kind < 2
    active = (kind % 2) == 0

    # family, profile, employer -------------------------------------------------------
    profiles = PROFILES + NON_ESS_PROFILES
    employer = np.where(ess, rng.random(n) < model.employer_share,
                        rng.random(n) < model.non_ess_employer_share)
    fam_names = list(FAMILY_SHARES_EMPLOYER)
    fam = np.where(employer, _choice(rng, model.families_employer, n),
                   _choice(rng, model.families_non_employer, n))
    profile = np.empty(n, dtype=np.int64)
    for f, family in enumerate(fam_names):
        idx = [i for i, p in enumerate(PROFILES) if p.family == family]
        rows = np.flatnonzero(ess & (fam == f))
        pick = _choice(rng, {i: PROFILES[i].weight for i in idx}, rows.size)
        profile[rows] = np.asarray(idx)[pick]
    rows = np.flatnonzero(~ess)
    profile[rows] = len(PROFILES) + _choice(rng, {p.name: p.weight for p in NON_ESS_PROFILES},
                                            rows.size)
    extra = np.array([p.extra_establishments for p in profiles])
    order, unit, seq = _group_units(profile, active, extra, rng)
    commune, kind, ess, active, employer, profile = (
        a[order] for a in (commune, kind, ess, active, employer, profile))

    # units -----------------------------------------------------------------------------
    heads = np.flatnonzero(seq == 0)
    n_units = heads.size
    u_ess = ess[heads]
    u_profile = profile[heads]
    u_serial = np.empty(n_units, dtype=np.int64)
    for flag, key, base, limit in ((True, "ess", 0, ESS_SERIAL_LIMIT),
                                   (False, "other", OTHER_SERIAL_BASE, OTHER_SERIAL_LIMIT)):
        sel = np.flatnonzero(u_ess == flag)
        start = serials[key]
        if start + sel.size > limit:
            raise ValueError(f"demo SIREN serials exhausted for {key} units ({limit})")
        u_serial[sel] = base + start + np.arange(sel.size)
        serials[key] = start + sel.size
    siren_int = u_serial * 10 + luhn_key(_digits(u_serial, 8))
    u_siren = _zfill(siren_int, 9)
    siret_body = siren_int[unit] * 10_000 + (seq + 1)
    nic_int = (seq + 1) * 10 + luhn_key(_digits(siret_body, 13))
    nic = _zfill(nic_int, 5)
    siret = pc.binary_join_element_wise(pc.take(u_siren, pa.array(unit)), nic, "")

    u_cj = np.empty(n_units, dtype=object)
    u_naf = np.empty(n_units, dtype=object)
    for p in np.unique(u_profile):
        sel = np.flatnonzero(u_profile == p)
        prof = profiles[p]
        u_cj[sel] = np.asarray(list(prof.legal_forms), dtype=object)[
            _choice(rng, prof.legal_forms, sel.size)]
        u_naf[sel] = np.asarray(list(prof.naf), dtype=object)[_choice(rng, prof.naf, sel.size)]
    if dep in ALSACE_MOSELLE:
        u_cj[u_cj == "9220"] = "9260"  # associations de droit local
    person = u_cj == "1000"
    partial = person & (rng.random(n_units) < model.partial_diffusion_share)

    today = np.datetime64(date, "D")
    if created_after is None:
        age = np.minimum(rng.exponential(12 * 365.25, n_units), 75 * 365.25).astype(np.int64)
        u_created = today - 30 - age
    else:
        span = max(int((today - np.datetime64(created_after, "D")).astype(int)), 1)
        u_created = np.datetime64(created_after, "D") + rng.integers(0, span, n_units)
    est_created = u_created[unit] + (
        rng.random(n) * (today - u_created[unit]).astype(float)).astype(np.int64)
    est_created[seq == 0] = u_created[unit][seq == 0]
    gap = (today - est_created).astype(np.int64)
    closed_on = est_created + (rng.random(n) * np.maximum(gap - 1, 1)).astype(np.int64)
    period_start = np.where(active, est_created + (rng.random(n) * gap * 0.5).astype(np.int64),
                            closed_on)
    processed = np.maximum(period_start, today - 5 * 365).astype("datetime64[s]") + (
        rng.random(n) * np.maximum((today - np.maximum(period_start, today - 5 * 365))
                                   .astype(np.int64), 1) * 86400).astype(np.int64)

    band_names = list(BANDS_EMPLOYER)
    band = np.where(active & employer, _choice(rng, BANDS_EMPLOYER, n), -1)
    u_band = np.full(n_units, -1)
    np.maximum.at(u_band, unit, band)
    u_employer = u_band >= 0
    u_active = active[heads]  # active establishments sort first: siège closed => unit closed
    u_label = np.array([profiles[p].label for p in u_profile], dtype=object)
    number = u_serial - np.where(u_ess, 0, OTHER_SERIAL_BASE) + 1
    denomination = pc.binary_join_element_wise(
        pa.array(u_label, pa.string()), _zfill(number, 4), " ")
    denomination = pc.if_else(pa.array(person), pa.scalar(None, pa.string()), denomination)
    assoc = np.isin(u_cj, ["9210", "9220", "9230", "9260"])
    rna = pc.binary_join_element_wise("W", (dep + "0")[:3], _zfill(number, 6), "")
    sigle = pc.binary_join_element_wise("D", _zfill(number, 4), "")
    u_band_txt = pc.if_else(pa.array(u_band >= 0), _pick(band_names, np.maximum(u_band, 0)),
                            pa.scalar("NN"))
    category = np.where(~u_active, "", np.where(u_band >= band_names.index("51"), "GE",
                        np.where(u_band >= band_names.index("32"), "ETI", "PME")))
    flag = np.where(u_ess, "O", np.where(rng.random(n_units) < model.non_ess_flag_empty_share,
                                         "", "N"))
    head_closed = closed_on[heads]
    u_processed = processed[heads]
    sex = rng.integers(0, 2, n_units)

    def masked(values, mask, fill=ND):
        return pc.if_else(pa.array(mask), pa.scalar(fill, pa.string()), values)

    unite_legale = {
        "siren": u_siren,
        "statutDiffusionUniteLegale": _pick(["O", "P"], partial.astype(int)),
        "dateCreationUniteLegale": _dates(u_created),
        "sigleUniteLegale": pc.if_else(pa.array(u_ess & (rng.random(n_units) < 0.08)), sigle,
                                       pa.scalar(None, pa.string())),
        "sexeUniteLegale": masked(pc.if_else(pa.array(person), _pick("MF", sex),
                                             pa.scalar(None, pa.string())), partial),
        "prenom1UniteLegale": masked(pc.if_else(
            pa.array(person), _pick(FIRST_NAMES, rng.integers(0, len(FIRST_NAMES), n_units)),
            pa.scalar(None, pa.string())), partial),
        "prenomUsuelUniteLegale": None,
        "identifiantAssociationUniteLegale": pc.if_else(
            pa.array(assoc & (rng.random(n_units) < 0.6)), rna, pa.scalar(None, pa.string())),
        "trancheEffectifsUniteLegale": u_band_txt,
        "anneeEffectifsUniteLegale": pc.if_else(pa.array(u_band >= 0), pa.scalar("2024"),
                                                pa.scalar(None, pa.string())),
        "dateDernierTraitementUniteLegale": _stamps(u_processed),
        "nombrePeriodesUniteLegale": pa.array((1 + rng.poisson(1.5, n_units)).astype(str)),
        "categorieEntreprise": pa.array(category),
        "anneeCategorieEntreprise": pc.if_else(pa.array(category != ""), pa.scalar("2023"),
                                               pa.scalar(None, pa.string())),
        "dateDebut": _dates(np.where(u_active, u_created, head_closed)),
        "etatAdministratifUniteLegale": _pick(["C", "A"], u_active.astype(int)),
        "nomUniteLegale": masked(pc.if_else(pa.array(person), pa.scalar("PERSONNE-DEMO"),
                                            pa.scalar(None, pa.string())), partial),
        "denominationUniteLegale": denomination,
        "categorieJuridiqueUniteLegale": pa.array(u_cj, pa.string()),
        "activitePrincipaleUniteLegale": pa.array(u_naf, pa.string()),
        "nomenclatureActivitePrincipaleUniteLegale": "NAFRev2",
        "nicSiegeUniteLegale": pc.take(nic, pa.array(heads)),
        "economieSocialeSolidaireUniteLegale": pa.array(flag),
        "societeMissionUniteLegale": pc.if_else(pa.array(u_ess), pa.scalar("N"),
                                                pa.scalar(None, pa.string())),
        "caractereEmployeurUniteLegale": _pick(["N", "O"], u_employer.astype(int)),
    }

    # establishments: place, address, coordinates -------------------------------------------
    order_c = np.argsort(commune, kind="stable")
    geoms = communes.geometry.to_numpy()
    lon_s, lat_s = sample_points(geoms, np.bincount(commune, minlength=nc), rng)
    lon = np.empty(n)
    lat = np.empty(n)
    lon[order_c], lat[order_c] = lon_s, lat_s
    code = codes[commune]
    declared, declared_kind = _declared_codes(code, changes, rng, model.old_code_share)
    _neighbour_codes(declared, declared_kind, commune, communes, rng, model.neighbour_share)
    epsg = epsg_of(dep)
    x, y = project_points(lon, lat, epsg)
    broken = np.where(rng.random(n) < model.broken_share, rng.integers(1, 4, n), 0)
    sea = broken == 1
    if dep in OVERSEAS_EPSG:
        lat = np.where(sea, lat + (2.5 if dep == "973" else -2.0), lat)
    else:
        lon = np.where(sea, -5.5 + rng.random(n) - 0.5, lon)
        lat = np.where(sea, 46.0 + rng.random(n) - 0.5, lat)
    if sea.any():
        x[sea], y[sea] = project_points(lon[sea], lat[sea], epsg)
    swapped = broken == 2
    x, y = np.where(swapped, y, x), np.where(swapped, x, y)
    lon, lat = np.where(swapped, lat, lon), np.where(swapped, lon, lat)
    coord_nd = (broken == 3) | partial[unit]
    e_partial = partial[unit]

    lambert = rng.random(n) < model.lambert_coverage
    xs, ys = fixed_width(x, 1), fixed_width(y, 1)
    no_lambert = pa.array(~lambert & ~e_partial)
    lambert_x = pc.if_else(no_lambert, pa.scalar(None, pa.string()), masked(xs, coord_nd))
    lambert_y = pc.if_else(no_lambert, pa.scalar(None, pa.string()), masked(ys, coord_nd))
    postcode = np.array([postcode_of(c) for c in codes], dtype=object)
    city = np.array([ascii_upper(v) for v in names], dtype=object)
    city_of_row = city[commune].copy()
    arr_rows = np.flatnonzero(declared_kind == 2)
    if arr_rows.size:
        city_of_row[arr_rows] = [f"{city_of_row[i]} {int(declared[i][-2:])}" for i in arr_rows]
    next_door = np.flatnonzero(declared_kind == 3)
    if next_door.size:
        city_of = dict(zip(codes, city, strict=True))
        city_of_row[next_door] = [city_of[declared[i]] for i in next_door]
    street_no = rng.integers(1, 150, n)
    has_no = rng.random(n) < 0.85
    site_sign = (~ess | (seq == 0) | (rng.random(n) < 0.5))

    etablissement = {
        "siren": pc.take(u_siren, pa.array(unit)),
        "nic": nic,
        "siret": siret,
        "statutDiffusionEtablissement": _pick(["O", "P"], e_partial.astype(int)),
        "dateCreationEtablissement": _dates(est_created),
        "trancheEffectifsEtablissement": pc.if_else(
            pa.array(band >= 0), _pick(band_names, np.maximum(band, 0)), pa.scalar("NN")),
        "anneeEffectifsEtablissement": pc.if_else(pa.array(band >= 0), pa.scalar("2024"),
                                                  pa.scalar(None, pa.string())),
        "dateDernierTraitementEtablissement": _stamps(processed),
        "etablissementSiege": _pick(["false", "true"], (seq == 0).astype(int)),
        "nombrePeriodesEtablissement": pa.array((1 + rng.poisson(1.0, n)).astype(str)),
        "complementAdresseEtablissement": masked(pc.if_else(
            pa.array(rng.random(n) < 0.05), pa.scalar("BATIMENT DEMO"),
            pa.scalar(None, pa.string())), e_partial),
        "numeroVoieEtablissement": masked(pc.if_else(
            pa.array(has_no), pa.array(street_no.astype(str)), pa.scalar(None, pa.string())),
            e_partial),
        "indiceRepetitionEtablissement": masked(pc.if_else(
            pa.array(has_no & (rng.random(n) < 0.03)), pa.scalar("B"),
            pa.scalar(None, pa.string())), e_partial),
        "typeVoieEtablissement": masked(_pick(STREET_TYPES, rng.integers(0, len(STREET_TYPES),
                                                                         n)), e_partial),
        "libelleVoieEtablissement": masked(_pick(STREETS, rng.integers(0, len(STREETS), n)),
                                           e_partial),
        "codePostalEtablissement": pa.array(postcode[commune], pa.string()),
        "libelleCommuneEtablissement": pa.array(city_of_row, pa.string()),
        "codeCommuneEtablissement": pa.array(declared, pa.string()),
        "coordonneeLambertAbscisseEtablissement": lambert_x,
        "coordonneeLambertOrdonneeEtablissement": lambert_y,
        "dateDebut": _dates(period_start),
        "etatAdministratifEtablissement": _pick(["F", "A"], active.astype(int)),
        "enseigne1Etablissement": masked(pc.if_else(
            pa.array(site_sign), pa.scalar(None, pa.string()),
            pc.binary_join_element_wise("SITE DEMO", pa.array((seq + 1).astype(str)), " ")),
            e_partial & ~site_sign, ND),
        "activitePrincipaleEtablissement": pa.array(u_naf[unit], pa.string()),
        "nomenclatureActivitePrincipaleEtablissement": "NAFRev2",
        "caractereEmployeurEtablissement": _pick(["N", "O"], (band >= 0).astype(int)),
    }

    # géolocalisé file ----------------------------------------------------------------------
    coverage = np.where(ess, model.geoloc_coverage_ess, model.geoloc_coverage_other)
    in_geo = np.flatnonzero(rng.random(n) < coverage)
    g = in_geo.size
    q33 = rng.random(g) < model.qualite_33_share
    quality = pc.if_else(pa.array(q33), pa.scalar("33"),
                         _pick(list(QUALITE_XY), _choice(rng, QUALITE_XY, g)))
    g_nd = coord_nd[in_geo]
    outside = (broken[in_geo] == 1) | (broken[in_geo] == 2) | g_nd
    distance = np.where(q33, 0.0, rng.gamma(2.0, 15.0, g))
    plg_code = pa.array(np.where(declared_kind[in_geo] == 2, declared[in_geo], code[in_geo]),
                        pa.string())
    geolocalisation = {
        "siret": pc.take(siret, pa.array(in_geo)),
        "x": masked(pc.take(xs, pa.array(in_geo)), g_nd),
        "y": masked(pc.take(ys, pa.array(in_geo)), g_nd),
        "qualite_xy": masked(quality, g_nd),
        "epsg": str(epsg),
        "plg_qp24": "HZ", "plg_iris": "0000", "plg_zus": "HZ", "plg_qva": "HZ",
        "plg_code_commune": masked(plg_code, outside),
        "distance_precision": masked(fixed_width(distance, 1), q33 | g_nd),
        "qualite_qp": "1", "qualite_iris": "1", "qualite_zus": "1", "qualite_qva": "1",
        "y_latitude": masked(pc.take(fixed_width(lat, 6), pa.array(in_geo)), g_nd),
        "x_longitude": masked(pc.take(fixed_width(lon, 6), pa.array(in_geo)), g_nd),
    }
    stats = {
        "ess_actifs": int((ess & active).sum()), "ess_fermes": int((ess & ~active).sum()),
        "hors_ess_actifs": int((~ess & active).sum()),
        "hors_ess_fermes": int((~ess & ~active).sum()),
        "unites_ess": int(u_ess.sum()), "unites_hors_ess": int((~u_ess).sum()),
        "personnes_physiques": int(person.sum()), "diffusion_partielle": int(partial.sum()),
        "qualite_33": int(q33.sum()), "coord_en_mer": int(sea.sum()),
        "coord_inversees": int(swapped.sum()), "coord_nd": int((broken == 3).sum()),
        "codes_anciens": int((declared_kind == 1).sum()),
        "codes_arrondissement": int((declared_kind == 2).sum()),
        "codes_commune_voisine": int((declared_kind == 3).sum()),
        "lignes_geoloc": g, "lignes_lambert": int(lambert.sum()),
    }
    return {"unite_legale": (unite_legale, n_units), "etablissement": (etablissement, n),
            "geolocalisation": (geolocalisation, g)}, stats
